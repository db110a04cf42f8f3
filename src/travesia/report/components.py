"""The components every report is made of: map, charts with observations as ranges, tables, needs.

A component is a piece of the report's data (JSON, drawn by ``assets/report.js`` with Vega-Lite)
or of its HTML (tables, escaped with :func:`travesia.report.page.esc`). The run, ensemble and
forecast reports are made of the same components, so they cannot drift apart; the coming web
app can serve the same JSON.

Humanitarian needs use the Sphere minimum standards (``SPHERE``) on the people ``present`` at a
place at the end of each day. Needs are linear in people, so the needs' quantiles over members
are the people's quantiles times the standard.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from travesia.report.page import esc

#: Sphere minimum standards, per person per day (The Sphere Handbook, 2018).
SPHERE = {
    "water_l": 15.0,
    "kcal": 2100.0,
    "covered_m2": 3.5,
    "source": ("Sphere Association. The Sphere Handbook: Humanitarian Charter and Minimum Standards in "
               "Humanitarian Response, fourth edition, Geneva, 2018 (www.spherestandards.org/handbook)"),
    "detail": [
        ("Water", "at least 15 litres per person per day for drinking, cooking and personal hygiene",
         "Water supply standard 2.1: access and water quantity"),
        ("Food", "2,100 kcal per person per day (planning figure for the general population's energy needs)",
         "Food security and nutrition: general nutrition requirements"),
        ("Covered living space", "at least 3.5 m² of covered living space per person",
         "Shelter and settlement standard 3: living space"),
    ],
}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939"]
CREDIT = "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com."
#: What the words mean, everywhere in the reports (MODEL.md's vocabulary).
WORDS = ("<b>arrived</b>: people whose journey ended at the place (a destination); <b>reached</b>: every "
         "arrival at the place, people passing through on the way elsewhere included (the quantity "
         "<code>arrived</code> of totals.csv and of observations counts arrivals this way).")


def num(x):
    """JSON-friendly number: NaN -> None, whole floats -> int, others rounded to 4 decimals."""
    if x is None:
        return None
    if isinstance(x, (np.integer,)):
        return int(x)
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    if math.isnan(x) or math.isinf(x):
        return None
    return int(x) if x == int(x) else round(x, 4)


def fmt(x, digits: int = 2) -> str:
    """A number for a table cell: thousands separated, '–' when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def links(s: str) -> str:
    """Sources as links a reader may follow (the only outside URLs of a report; never loaded)."""
    out = []
    for u in str(s or "").split():
        if u.startswith(("http://", "https://")):
            host = u.split("/")[2]
            out.append(f'<a href="{esc(u)}" rel="noreferrer noopener" target="_blank">{esc(host)}</a>')
        else:
            out.append(esc(u))
    return " ".join(out)


def obs_points(obs: pd.DataFrame, dates: list[str], hits: dict | None = None, as_of: str | None = None) -> list:
    """Observations of one series as ``[date index, low, high|None, hit|None, note, used|None,
    compared|None, caravan]``.

    ``obs`` may be a comparison (:func:`travesia.analysis.observe.compare`: its ``hit`` and
    ``simulated``, the value the report was compared with, are kept); ``hits`` maps (date, place,
    quantity, low, high) to a hit otherwise. ``as_of`` marks each observation as used (on or before
    it) or a later report. ``caravan`` is the caravan the report names ("" if none)."""
    di = {d: i for i, d in enumerate(dates)}
    has_hit = "hit" in obs.columns and "simulated" in obs.columns
    pts = []
    for r in obs.itertuples(index=False):
        d = str(r.date)[:10]
        if d not in di:
            continue
        high = None if pd.isna(r.high) else float(r.high)
        if has_hit:
            sim = num(r.simulated)
            hit = None if sim is None else bool(r.hit)
        else:
            sim = None
            hit = (hits or {}).get((d, r.place, r.quantity, float(r.low), high))
        used = None if as_of is None else d <= as_of
        pts.append([di[d], num(r.low), num(high), hit, str(getattr(r, "note", "") or ""), used, sim,
                    str(getattr(r, "caravan", "") or "")])
    return pts


def series(name: str, color: str, values=None, bands: dict | None = None, obs: list | None = None) -> dict:
    """One series of a chart: a line (``values``), bands (``p05 p25 p75 p95``) and observations."""
    s = {"name": name, "color": color, "values": None if values is None else [num(x) for x in values],
         "obs": obs or []}
    for k, v in (bands or {}).items():
        s[k] = [num(x) for x in v]
    return s


def chart(id_: str, title: str, series_: list[dict], note: str = "", ylabel: str = "people") -> dict:
    return {"id": id_, "title": title, "ylabel": ylabel, "series": series_, "note": note}


def map_data(mid: np.ndarray, lo: np.ndarray | None = None, hi: np.ndarray | None = None, flows=None,
             plans=None, first: int = 0, start: int | None = None) -> dict:
    """The map's data: people per day × place (median and band when given), flows per leg, plans;
    ``first`` is the first day the slider shows, ``start`` the day it opens on (default the busiest)."""
    if start is None:
        tot = mid[first:].sum(axis=1) if mid.size else np.zeros(1)
        start = first + int(np.argmax(tot)) if len(tot) else 0
    out = {"mid": [[num(x) for x in row] for row in mid], "first": int(first), "start": int(start)}
    if lo is not None and hi is not None:
        out["lo"] = [[num(x) for x in row] for row in lo]
        out["hi"] = [[num(x) for x in row] for row in hi]
    if flows is not None:
        out["flows"] = flows
    if plans:
        out["plans"] = plans
    return out


def places_data(places: pd.DataFrame) -> list[dict]:
    return [{"name": str(r.name), "country": str(r.country), "kind": str(r.kind), "lat": float(r.lat),
             "lon": float(r.lon), "cap": num(r.capacity)} for r in places.itertuples(index=False)]


def legs_data(places: pd.DataFrame, legs: pd.DataFrame | None) -> tuple[list[list], dict]:
    """Legs as ``[from index, to index, km]`` and the leg index of each unordered pair of places."""
    idx_by_id = {str(pid): i for i, pid in enumerate(places["id"])}
    out, key = [], {}
    if legs is None:
        return out, key
    for r in legs.itertuples(index=False):
        a, b = idx_by_id.get(str(r[0])), idx_by_id.get(str(r[1]))
        if a is None or b is None:
            continue
        key[frozenset((a, b))] = len(out)
        out.append([a, b, num(r[2])])
    return out, key


def map_section(note: str, controls: bool = True) -> str:
    ctrl = """<div class="controls">
    <button id="play" type="button" aria-label="play">▶ play</button>
    <input id="day" type="range" min="0" max="0" value="0" step="1" aria-label="day">
    <span id="day-label"></span>
    <span id="day-total" class="muted"></span>
  </div>""" if controls else ""
    return f"""<section id="map-section">
  <h2>Where people are</h2>
  {ctrl}
  <div id="map" class="vega"></div>
  <p class="small">{note} <span class="credit">{esc(CREDIT)}</span></p>
</section>"""


def charts_section(intro: str, title: str = "Over time") -> str:
    return f"""<section id="charts">
  <h2>{esc(title)}</h2>
  <p class="small">{intro}</p>
  <div id="chart-list"></div>
</section>"""


def sphere_intro() -> str:
    src = "".join(f"<li><b>{esc(a)}</b>: {esc(b)} <span class='muted'>({esc(c)})</span></li>"
                  for a, b, c in SPHERE["detail"])
    return (f"<p>Minimum needs per person per day from the Sphere standards:</p><ul>{src}</ul>"
            f"<p class='small'>Source: {esc(SPHERE['source'])}. Needs are computed for the people <em>present</em> "
            "at a place at the end of each day (travelling through, resting, or arrived there); people detained "
            "or waiting for asylum in migration stations are left out.</p>")


def needs_day_table(band: bool) -> str:
    """The table of the selected day (filled by report.js from the map's data)."""
    sub = " <span class='muted small'>(median; 90% band below)</span>" if band else ""
    return f"""<h3>Needs on the selected day <span id="needs-day"></span>{sub}</h3>
<table class="data" id="needs-table"><thead><tr><th>place</th><th>kind</th><th>people</th><th>water (L)</th>
<th>food (kcal)</th><th>covered space (m²)</th><th>capacity</th><th>status</th></tr></thead><tbody></tbody></table>"""


def needs_band_tables(rows: pd.DataFrame) -> str:
    """Printable needs with bands: per place, per day, people and Sphere needs at p05 / p50 / p95.

    ``rows`` has ``place, date, p05, p50, p95`` (people present); days with p95 = 0 are left out."""
    out = []
    for place, g in rows.groupby("place", sort=False):
        g = g[g["p95"] > 0]  # days when nobody is expected there (in 95% of the members) are left out
        if g.empty:
            continue
        body = []
        for r in g.itertuples(index=False):
            cells = []
            for k in (1.0, SPHERE["water_l"], SPHERE["kcal"], SPHERE["covered_m2"]):
                cells += [f"<td class='n'>{fmt(round(r.p05 * k))}</td>", f"<td class='n b'>{fmt(round(r.p50 * k))}</td>",
                          f"<td class='n'>{fmt(round(r.p95 * k))}</td>"]
            body.append(f"<tr><td>{esc(r.date)}</td>{''.join(cells)}</tr>")
        out.append(f"""<div class="needs-place"><h4>{esc(place)}</h4>
<table class="data needs-band" data-place="{esc(place)}"><thead>
<tr><th rowspan=2>date</th><th colspan=3>people present</th><th colspan=3>water (litres)</th>
<th colspan=3>food (kcal)</th><th colspan=3>covered space (m²)</th></tr>
<tr>{'<th>p05</th><th>p50</th><th>p95</th>' * 4}</tr></thead><tbody>{''.join(body)}</tbody></table></div>""")
    return "".join(out)


def generic_table(df: pd.DataFrame, table_id: str, max_rows: int = 400) -> str:
    """Any table (for files whose columns may change): header from the columns, numbers right-aligned."""
    if df is None or df.empty:
        return "<p class='muted'>(empty)</p>"
    cols = list(df.columns)
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = []
    for r in df.head(max_rows).itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
                cells.append(f"<td class='n'>{fmt(v, 3)}</td>")
            else:
                cells.append(f"<td>{esc('' if v is None or (isinstance(v, float) and math.isnan(v)) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='small muted'>{len(df) - max_rows:,} more rows in the file.</p>" if len(df) > max_rows else ""
    return f"<table class='data' id='{esc(table_id)}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def params_section(reproduce: str, resolved_text: str, extra: list[tuple[str, str]]) -> str:
    det = "".join(f"<details><summary>{esc(n)}</summary><pre>{esc(t)}</pre></details>" for n, t in extra)
    return f"""<section id="parameters">
  <h2>Parameters and seed</h2>
  <p>To reproduce: <code id="reproduce">{esc(reproduce)}</code></p>
  <details open><summary>scenario.resolved.yaml</summary><pre>{esc(resolved_text or '(scenario.resolved.yaml missing)')}</pre></details>
  {det}
</section>"""


__all__ = ["SPHERE", "PALETTE", "CREDIT", "WORDS", "num", "fmt", "links", "obs_points", "series", "chart", "map_data",
           "places_data", "legs_data", "map_section", "charts_section", "sphere_intro", "needs_day_table",
           "needs_band_tables", "generic_table", "params_section"]
