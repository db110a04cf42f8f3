"""The run report: one self-contained HTML file (map, charts, validation, humanitarian needs).

``build_report(run_dir)`` reads a run folder and writes ``report.html``: every script, style and
datum is inline, so the file works opened from disk with no network (no CDN, no map tiles).

The map's country borders are ``assets/borders.geojson``, made once from Natural Earth's 1:50m
Admin 0 countries (public domain) by ``scripts/make_borders.py`` (see its docstring: decoded from
the ``world-atlas`` TopoJSON, clipped to Central America, Mexico and the southern United States,
simplified). The report carries the credit "Made with Natural Earth".

Humanitarian needs use the Sphere minimum standards (``SPHERE``) on the people ``present`` at a
place at the end of each day.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from travesia.analysis.observe import (compare, load_observations, place_members,
                                       read_run_places, read_totals, score)
from travesia.errors import UserError

STATES = ("waiting", "travelling", "resting", "detained", "asylum_pending", "settled", "arrived", "returned",
          "deported")
STATE_COLORS = {"waiting": "#9e9e9e", "travelling": "#1f77b4", "resting": "#17becf", "detained": "#d62728",
                "asylum_pending": "#9467bd", "settled": "#2ca02c", "arrived": "#ff7f0e", "returned": "#8c564b",
                "deported": "#e377c2"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939"]

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
MAX_PLACE_SERIES = 8
CREDIT = "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com."


def _asset(name: str) -> str:
    return resources.files("travesia.report").joinpath("assets", name).read_text(encoding="utf-8")


def _read_csv(run_dir: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    p = run_dir / name
    if not p.exists():
        if required:
            raise UserError(f"not a run folder: {name} is missing (make one with: travesia run SCENARIO --out DIR)",
                            where=str(run_dir))
        return None
    return pd.read_csv(p, keep_default_na=False)


def _num(x):
    """JSON-friendly number: NaN -> None, floats that are whole -> int."""
    if x is None:
        return None
    if isinstance(x, (np.integer,)):
        return int(x)
    x = float(x)
    if math.isnan(x):
        return None
    return int(x) if x == int(x) else round(x, 4)


class RunData:
    """A run folder read into arrays: dates, places, present (days × places), flows, states."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.places = read_run_places(run_dir)
        self.totals = read_totals(run_dir)
        self.totals["date"] = self.totals["date"].astype(str)
        self.dates = sorted(self.totals["date"].unique())
        self.legs = _read_csv(run_dir, "legs.csv")
        self.daily = _read_csv(run_dir, "daily.csv", required=False)
        self.flows = _read_csv(run_dir, "flows.csv", required=False)
        self.names = list(self.places["name"])
        self._pivot = {q: g.pivot_table(index="date", columns="place", values="people", aggfunc="sum")
                       .reindex(self.dates).fillna(0.0) for q, g in self.totals.groupby("quantity")}
        pres = self._pivot.get("present")
        self.present = (pres.reindex(columns=self.names).fillna(0.0).to_numpy() if pres is not None
                        else np.zeros((len(self.dates), len(self.names))))

    def series(self, quantity: str, place: str) -> np.ndarray | None:
        """Values over the run's dates, with the prefix rule; None when the run has no such series."""
        p = self._pivot.get(quantity)
        if p is None:
            return None
        cols = [place] if place.startswith("(") else place_members(place, [c for c in p.columns
                                                                           if not str(c).startswith("(")])
        cols = [c for c in cols if c in p.columns]
        if not cols:
            return None
        return p[cols].sum(axis=1).to_numpy()

    def state_totals(self) -> dict[str, np.ndarray]:
        if self.daily is None:
            return {}
        d = self.daily.copy()
        d["date"] = d["date"].astype(str)
        pv = d.pivot_table(index="date", columns="state", values="people", aggfunc="sum").reindex(self.dates).fillna(0)
        return {s: pv[s].to_numpy() for s in STATES if s in pv.columns}

    def leg_flows(self) -> tuple[list[list[int]], list[list[list[int]]]]:
        """Legs as [from index, to index, km] and, per day, [[leg index, people both ways], ...]."""
        idx_by_id = {pid: i for i, pid in enumerate(self.places["id"])}
        idx_by_name = {n: i for i, n in enumerate(self.names)}
        legs, key = [], {}
        for r in self.legs.itertuples(index=False):
            a, b = idx_by_id.get(r[0]), idx_by_id.get(r[1])
            if a is None or b is None:
                continue
            key[frozenset((a, b))] = len(legs)
            legs.append([a, b, _num(r[2])])
        per_day: list[dict[int, int]] = [dict() for _ in self.dates]
        if self.flows is not None and len(self.flows):
            di = {d: i for i, d in enumerate(self.dates)}
            for r in self.flows.itertuples(index=False):
                d, a, b, n = str(r[0]), idx_by_name.get(r[1]), idx_by_name.get(r[2]), int(r[3])
                k = key.get(frozenset((a, b)))
                if d in di and k is not None:
                    per_day[di[d]][k] = per_day[di[d]].get(k, 0) + n
        return legs, [[[k, v] for k, v in sorted(m.items())] for m in per_day]


# --------------------------------------------------------------------------- charts


def _obs_points(obs: pd.DataFrame, comp: pd.DataFrame | None, dates: list[str]) -> list:
    di = {d: i for i, d in enumerate(dates)}
    pts = []
    hits = {}
    if comp is not None:
        for r in comp.itertuples(index=False):
            hits[(str(r.date)[:10], r.place, r.quantity, r.low, None if pd.isna(r.high) else r.high)] = bool(r.hit)
    for r in obs.itertuples(index=False):
        d = str(r.date)[:10]
        if d not in di:
            continue
        high = None if pd.isna(r.high) else float(r.high)
        pts.append([di[d], _num(r.low), _num(high), hits.get((d, r.place, r.quantity, r.low, high)),
                    str(r.note or "")])
    return pts


def _chart_series(rd: RunData, quantity: str, place: str, label: str, color: str, obs: pd.DataFrame,
                  comp: pd.DataFrame | None) -> dict | None:
    v = rd.series(quantity, place)
    if v is None:
        return None
    o = obs[(obs["quantity"] == quantity) & (obs["place"] == place)] if len(obs) else obs
    return {"name": label, "color": color, "values": [_num(x) for x in v], "obs": _obs_points(o, comp, rd.dates)}


def build_charts(rd: RunData, obs: pd.DataFrame, comp: pd.DataFrame | None) -> list[dict]:
    charts = []
    # 1. people by state
    st = rd.state_totals()
    series = [{"name": s, "color": STATE_COLORS[s], "values": [_num(x) for x in v], "obs": []} for s, v in st.items()]
    trav_all = obs[(obs["quantity"] == "travelling") & (obs["place"] == "(all)")] if len(obs) else obs
    for s in series:
        if s["name"] == "travelling" and len(trav_all):
            s["obs"] = _obs_points(trav_all, comp, rd.dates)
    charts.append({"id": "chart-states", "title": "People by state", "ylabel": "people", "series": series,
                   "note": "Everyone created by the run, by state at the end of each day."})
    # 2. present at major places: observed places first, then the busiest places
    chosen: list[str] = []
    if len(obs):
        for p in obs[obs["quantity"] == "present"]["place"]:
            if p not in chosen:
                chosen.append(p)
    peak = rd.present.max(axis=0) if rd.present.size else np.zeros(len(rd.names))
    for i in np.argsort(-peak, kind="stable"):
        if len(chosen) >= max(MAX_PLACE_SERIES, len(chosen)) or peak[i] <= 0:
            break
        n = rd.names[i]
        if not any(n == c or n.startswith(c + " (") for c in chosen):
            chosen.append(n)
    series = [s for k, p in enumerate(chosen)
              if (s := _chart_series(rd, "present", p, p, PALETTE[k % len(PALETTE)], obs, comp))]
    charts.append({"id": "chart-present", "title": "Present at major places", "ylabel": "people", "series": series,
                   "note": "People of the movement at the place at the end of the day (a city counts its "
                           "shelters: 'Tijuana' includes 'Tijuana (…)'). Places with observations first, then the "
                           "busiest."})
    # 3. cumulative arrivals, returns, asylum applications
    series = []
    k = 0
    for q, label in (("arrived", "arrived at destinations"), ("returned", "returned home"),
                     ("asylum_applied", "asylum applications")):
        places = ["(all)"] + ([p for p in dict.fromkeys(obs[obs["quantity"] == q]["place"]) if p != "(all)"]
                              if len(obs) else [])
        for p in places:
            s = _chart_series(rd, q, p, f"{label} {p}" if p != "(all)" else label, PALETTE[k % len(PALETTE)], obs, comp)
            if s:
                series.append(s)
                k += 1
    charts.append({"id": "chart-cumulative", "title": "Cumulative arrivals, returns and asylum applications",
                   "ylabel": "people", "series": series,
                   "note": "Whole run ('(all)') and every place or country named in the observations."})
    # 4. the other observed quantities, so that every observation is drawn somewhere
    series = []
    if len(obs):
        rest = obs[obs["quantity"].isin(["crossed", "detained", "travelling"]) &
                   ~((obs["quantity"] == "travelling") & (obs["place"] == "(all)"))]
        for k, ((q, p), _) in enumerate(rest.groupby(["quantity", "place"], sort=False)):
            s = _chart_series(rd, q, p, f"{q} {p}", PALETTE[k % len(PALETTE)], obs, comp)
            if s:
                series.append(s)
    if series:
        charts.append({"id": "chart-other", "title": "Other observed quantities", "ylabel": "people",
                       "series": series, "note": "Crossings (cumulative), detention and people on the move at the "
                                                 "places where they were reported."})
    return charts


# --------------------------------------------------------------------------- html pieces


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _fmt(x, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    x = float(x)
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:.{digits}f}"


def _links(s: str) -> str:
    out = []
    for u in str(s or "").split():
        if u.startswith(("http://", "https://")):
            host = u.split("/")[2]
            out.append(f'<a href="{_e(u)}" rel="noreferrer noopener" target="_blank">{_e(host)}</a>')
        else:
            out.append(_e(u))
    return " ".join(out)


def validation_html(comp: pd.DataFrame | None, sc: dict | None, obs_path: Path | None) -> str:
    if comp is None:
        return "<p class='muted'>No observations.csv in the run folder: nothing to compare.</p>"
    rows = []
    for r in comp.to_dict("records"):
        sim = r["simulated"]
        out_of_run = isinstance(sim, float) and math.isnan(sim)
        cls = "na" if out_of_run else ("hit" if r["hit"] else "miss")
        rng = (f"≥ {_fmt(r['low'])}" if pd.isna(r["high"]) else
               _fmt(r["low"]) if r["low"] == r["high"] else f"{_fmt(r['low'])}–{_fmt(r['high'])}")
        rows.append(f"<tr class='{cls}'><td>{_e(str(r['date'])[:10])}</td><td>{_e(r['place'])}</td>"
                    f"<td>{_e(r['quantity'])}</td><td class='n'>{rng}</td><td class='n'>{_fmt(sim)}</td>"
                    f"<td class='c'>{'outside run' if out_of_run else ('✓' if r['hit'] else '✗')}</td>"
                    f"<td class='n'>{_fmt(r['rel_error'])}</td><td>{_e(r.get('caravan', ''))}</td>"
                    f"<td class='small'>{_e(r.get('note', ''))} {_links(r.get('sources', ''))}</td></tr>")
    srows = []
    for q, v in list(sc["by_quantity"].items()) + [("overall", {**sc["overall"], "flee_ard": sc["flee_ard"]})]:
        hs = "–" if v["hit_share"] is None else f"{100 * v['hit_share']:.0f}%"
        srows.append(f"<tr{' class=total' if q == 'overall' else ''}><td>{_e(q)}</td><td class='n'>{v['n']}</td>"
                     f"<td class='n'>{hs}</td><td class='n'>{_fmt(v['median_rel_error'])}</td>"
                     f"<td class='n'>{_fmt(v['mean_rel_error'])}</td><td class='n'>{_fmt(v['mean_log_error'])}</td>"
                     f"<td class='n'>{_fmt(v.get('flee_ard'))}</td></tr>")
    return f"""
<p>Observations: <code>{_e(obs_path)}</code>. A hit is a simulated value inside the reported range
[low, high] (an empty high has no upper bound). The relative error is 0 inside the range, otherwise the
distance to the nearest bound divided by that bound (by 1 if the bound is 0); the log error is
|ln((sim+1)/(bound+1))|. FLEE's averaged relative difference (ARD) uses the places observed on two or
more dates: on each date Σ|sim − obs| / Σ obs over the places observed (obs = middle of the range),
averaged over dates. The caravan column is for reading only: the run counts everyone at a place.</p>
<table class="data" id="validation-summary"><thead><tr><th>quantity</th><th>n</th><th>hit share</th>
<th>median rel. error</th><th>mean rel. error</th><th>mean log error</th><th>FLEE ARD</th></tr></thead>
<tbody>{''.join(srows)}</tbody></table>
<table class="data" id="validation-table"><thead><tr><th>date</th><th>place</th><th>quantity</th><th>observed</th>
<th>simulated</th><th>hit</th><th>rel. error</th><th>caravan</th><th>note and sources</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>"""


def exceedances(rd: RunData) -> list[dict]:
    """Places with a known capacity: peak present, and the dates when present exceeds the capacity."""
    out = []
    for i, r in enumerate(rd.places.itertuples(index=False)):
        cap = float(r.capacity) if str(r.capacity) not in ("", "nan") else -1
        if cap < 0:
            continue
        v = rd.present[:, i] if rd.present.size else np.zeros(0)
        over = [rd.dates[d] for d in np.nonzero(v > cap)[0]]
        pk = int(np.argmax(v)) if len(v) else 0
        out.append({"place": r.name, "capacity": int(cap), "peak": _num(v[pk]) if len(v) else 0,
                    "peak_date": rd.dates[pk] if len(v) else "", "days_over": over,
                    "max_over": _num(max(0.0, float(v.max() - cap))) if len(v) else 0})
    return out


def needs_html(ex: list[dict], rd: RunData) -> str:
    rows = []
    for e in sorted(ex, key=lambda e: (-len(e["days_over"]), -(e["peak"] or 0))):
        over = len(e["days_over"])
        days = ", ".join(d[5:] for d in e["days_over"][:30]) + (" …" if over > 30 else "")
        strip = "".join(f"<i class='{'o' if d in set(e['days_over']) else ''}' title='{d}'></i>" for d in rd.dates)
        rows.append(f"<tr class='{'miss' if over else ''}'><td>{_e(e['place'])}</td><td class='n'>{_fmt(e['capacity'])}"
                    f"</td><td class='n'>{_fmt(e['peak'])}</td><td>{_e(e['peak_date'])}</td>"
                    f"<td class='n'>{over}</td><td class='n'>{_fmt(e['max_over'])}</td>"
                    f"<td><span class='strip'>{strip}</span><div class='small'>{_e(days)}</div></td></tr>")
    src = "".join(f"<li><b>{_e(a)}</b>: {_e(b)} <span class='muted'>({_e(c)})</span></li>"
                  for a, b, c in SPHERE["detail"])
    n_unknown = int(((rd.places["capacity"].astype(float) < 0) & (rd.present.max(axis=0) > 0)).sum()) \
        if rd.present.size else 0
    return f"""
<p>Minimum needs per person per day from the Sphere standards:</p><ul>{src}</ul>
<p class="small">Source: {_e(SPHERE['source'])}. Needs are computed for the people <em>present</em> at a place
at the end of each day (travelling through, resting, or arrived there); people detained or waiting for asylum in
migration stations are left out.</p>
<h3>Shelter capacity</h3>
<p>Places with a known capacity (places.csv); a row in red had more people present than its capacity on the
days marked. {n_unknown} place(s) that held people have no known capacity.</p>
<table class="data" id="capacity-table"><thead><tr><th>place</th><th>capacity</th><th>peak present</th>
<th>peak date</th><th>days over</th><th>largest excess</th><th>days over capacity</th></tr></thead>
<tbody>{''.join(rows) or "<tr><td colspan=7 class='muted'>no place has a known capacity</td></tr>"}</tbody></table>
<h3>Needs on the selected day <span id="needs-day"></span></h3>
<table class="data" id="needs-table"><thead><tr><th>place</th><th>kind</th><th>people</th><th>water (L)</th>
<th>food (kcal)</th><th>covered space (m²)</th><th>capacity</th><th>status</th></tr></thead><tbody></tbody></table>"""


def _reproduce(rd: RunData, resolved: dict) -> str:
    name = resolved.get("name", "SCENARIO")
    parts = [f"travesia run {name} --out RESULTS", f"--seed {resolved.get('seed')}", f"--days {resolved.get('days')}"]
    if resolved.get("scale", 1.0) not in (1, 1.0, None):
        parts.append(f"--scale {resolved['scale']}")
    for k, v in (resolved.get("overrides") or {}).items():
        parts.append(f"--set {k}={v}")
    return " ".join(parts)


# text every travesia report holds near its top (its title): marks a file a report may replace
REPORT_SIGNATURE = b"travesia report"


def build_report(run_dir, out=None, png: bool = False, force: bool = False) -> Path:
    """Write the report of a run folder (default ``RUN_DIR/report.html``); return its path.

    ``out`` must be a new file, or an earlier report with ``force`` (the default one is replaced freely).

    With ``png``, static figures for papers are written too, into ``figures/`` beside the report.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError("run folder not found", where=str(run_dir))
    rd = RunData(run_dir)
    from travesia.output import may_write_file, write_file

    if out is None:
        out, force = run_dir / "report.html", True
    out = may_write_file(out, force, signature=REPORT_SIGNATURE)  # before any work
    obs_path = run_dir / "observations.csv"
    comp = sc = None
    obs = pd.DataFrame(columns=["date", "place", "quantity", "low", "high", "note"])
    if obs_path.exists():
        obs = load_observations(obs_path, rd.places)
        comp = compare(rd.totals, obs)
        sc = score(comp)
    obs = obs.assign(date=obs["date"].astype(str).str[:10]) if len(obs) else obs
    resolved_text = (run_dir / "scenario.resolved.yaml").read_text(encoding="utf-8") \
        if (run_dir / "scenario.resolved.yaml").exists() else ""
    resolved: dict = {}
    if resolved_text:
        from ruamel.yaml import YAML

        try:
            resolved = dict(YAML(typ="safe").load(resolved_text) or {})
        except Exception:  # the report still works without the parameters
            resolved = {}
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    legs, flows = rd.leg_flows()
    ex = exceedances(rd)
    data = {
        "meta": {"scenario": resolved.get("name", summary.get("scenario", run_dir.name)),
                 "seed": resolved.get("seed", summary.get("seed")), "run": str(run_dir)},
        "dates": rd.dates,
        "places": [{"name": r.name, "country": r.country, "kind": r.kind, "lat": float(r.lat), "lon": float(r.lon),
                    "cap": _num(r.capacity)} for r in rd.places.itertuples(index=False)],
        "legs": legs,
        "present": [[_num(x) for x in row] for row in rd.present],
        "flows": flows,
        "charts": build_charts(rd, obs, comp),
        "sphere": {k: SPHERE[k] for k in ("water_l", "kcal", "covered_m2")},
        "borders": json.loads(_asset("borders.geojson")),
    }
    meta = data["meta"]
    fs = summary.get("final_states", {})
    cards = [("scenario", meta["scenario"]), ("seed", meta["seed"]),
             ("days", f"{len(rd.dates)} ({rd.dates[0]} to {rd.dates[-1]})" if rd.dates else "0"),
             ("people", f"{summary.get('people_created', '–'):,}" if isinstance(summary.get("people_created"), int)
              else "–"),
             ("arrived", f"{fs.get('arrived', 0):,}" if fs else "–")]
    if sc and sc["overall"]["n"]:
        cards.append(("observations hit", f"{100 * sc['overall']['hit_share']:.0f}% of {sc['overall']['n']}"))
    cards_html = "".join(f"<div class='card'><div class='k'>{_e(k)}</div><div class='v'>{_e(v)}</div></div>"
                         for k, v in cards)
    page = _asset("report.html")
    json_text = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    fills = {
        "TITLE": _e(f"travesia report: {meta['scenario']}, seed {meta['seed']}"),
        "CSS": _asset("report.css"),
        "JS": _asset("report.js"),
        "DATA": json_text,
        "CARDS": cards_html,
        "VALIDATION": validation_html(comp, sc, obs_path if comp is not None else None),
        "NEEDS": needs_html(ex, rd),
        "REPRODUCE": _e(_reproduce(rd, resolved)) if resolved else "–",
        "PARAMS": _e(resolved_text or "(scenario.resolved.yaml missing)"),
        "SUMMARY": _e(json.dumps(summary, indent=2, ensure_ascii=False)),
        "CREDIT": _e(CREDIT),
        "GENERATED": _e(f"travesia {summary.get('version', '')}, {dt.datetime.now().isoformat(timespec='seconds')}"),
    }
    for k, v in fills.items():
        page = page.replace("{{" + k + "}}", v)
    write_file(out, page, force, signature=REPORT_SIGNATURE)
    if png:
        from travesia.report.png import write_figures

        write_figures(data, out.parent / "figures")
    return out
