"""The forecast report (a ``travesia forecast`` folder) and the ensemble report (``travesia ensemble``).

Both are bands over members: ``forecast.csv`` (the dates after the as-of date) or
``ensemble.csv`` (every date), ``date, place, quantity, p05, p25, p50, p75, p95``. The page has:

- the map with each place's median (filled circle) and 90% band (dashed ring: p95; thin ring:
  p05) on a day slider (past the as-of date for a forecast);
- fan charts (50% and 90% bands, the median) with the reports used by the forecast (black) and the
  later reports (orange) drawn as ranges;
- for each destination and major shelter, first and half arrival dates and the peak present in
  the next 7 / 14 / 30 days, with bands (``outlook.csv``);
- needs with bands: the Sphere minimums per place per day at p05 / p50 / p95, as printable tables;
- the scores against later reports (``validation.json``, when ``travesia validate`` has run) and
  the backtest scores (a backtest folder, :mod:`travesia.report.backtest`).

Everything is read from the folder's files, so the report can be rebuilt at any time.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from travesia.errors import UserError
from travesia.report import components as C
from travesia.report.page import esc
from travesia.report.run import PLACE_COLUMNS, read_csv, read_json

PCOLS = ("p05", "p25", "p50", "p75", "p95")
MAX_FANS = 6
NEEDS_DAYS = 30
NEEDS_PLACES = 12


def _dates(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _bands(folder: Path, name: str, kind: str) -> pd.DataFrame:
    from travesia.analysis.observe import read_bands

    return read_bands(folder / name, kind)


OUTLOOK_DATES = tuple(f"{w}_p{p:02d}" for w in ("first", "half") for p in (5, 50, 95))
OUTLOOK_NUMBERS = ("members_with_arrivals", "members") + tuple(f"peak{w}_p{p:02d}" for w in (7, 14, 30)
                                                               for p in (5, 50, 95))


def _outlook(folder: Path) -> pd.DataFrame | None:
    """``outlook.csv``: its dates YYYY-MM-DD or empty (no arrival), its counts numbers (checked where the
    columns are this version's; another version's table is shown as written)."""
    ol = read_csv(folder, "outlook.csv", required=False, what="forecast")
    if ol is not None and {"place", "kind", *OUTLOOK_DATES, *OUTLOOK_NUMBERS} <= set(ol.columns):
        from travesia.output import check_values

        check_values(ol, folder / "outlook.csv", dates=OUTLOOK_DATES, numbers=OUTLOOK_NUMBERS, blank=OUTLOOK_DATES)
    return ol


def _meta_date(meta: dict, key: str, path: Path) -> str | None:
    """``meta[key]`` (forecast.json, ensemble.json) as a date YYYY-MM-DD; None when absent; a UserError
    naming the file and the key when it is no date."""
    v = meta.get(key)
    if v is None or v == "":
        return None
    s = str(v)[:10]
    try:
        dt.date.fromisoformat(s)
        if len(s) != 10:
            raise ValueError
    except ValueError:
        raise UserError(f"key {key}: expected a date YYYY-MM-DD, got {json.dumps(v, default=str)[:60]} (a damaged "
                        "result folder? make it again)", where=str(path)) from None
    return s


def _observations(folder: Path, places: pd.DataFrame | None) -> pd.DataFrame | None:
    p = folder / "observations.csv"
    if not p.exists():
        return None
    from travesia.analysis.observe import load_observations

    obs = load_observations(p, places)
    return obs.assign(date=obs["date"].astype(str).str[:10])


def _grid(df: pd.DataFrame, quantity: str, names: list[str], dates: list[str], col: str) -> np.ndarray:
    sub = df[(df["quantity"] == quantity) & df["place"].isin(names)]
    pv = sub.pivot_table(index="date", columns="place", values=col, aggfunc="sum")
    return pv.reindex(index=dates, columns=names).fillna(0.0).to_numpy()


def _fan_targets(df: pd.DataFrame, places: pd.DataFrame, obs: pd.DataFrame | None,
                 outlook: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(quantity, place) of the fan charts: everyone on the move, the places with reports (last
    reported first), the outlook's places, then every other reported series (so that every report is
    drawn somewhere)."""
    have = set(zip(df["quantity"], df["place"]))
    out: list[tuple[str, str]] = []
    if ("travelling", "(all)") in have:
        out.append(("travelling", "(all)"))
    names: list[str] = []
    if obs is not None and len(obs):
        pres = obs[obs["quantity"] == "present"].sort_values("date", ascending=False, kind="stable")
        names += list(dict.fromkeys(pres["place"]))
    if outlook is not None and "place" in outlook:
        names += [str(p) for p in outlook["place"] if str(p) not in names]
    if not names:  # the busiest places by median peak
        pres = df[(df["quantity"] == "present") & ~df["place"].str.startswith("(")]
        names = list(pres.groupby("place")["p50"].max().sort_values(ascending=False, kind="stable").index[:4])
    kinds = dict(zip(places["name"], places["kind"]))
    for n in names[:MAX_FANS]:
        if ("present", n) in have:
            out.append(("present", n))
        if kinds.get(n) == "destination" and ("arrived", n) in have:
            out.append(("arrived", n))
    if obs is not None and len(obs):
        for q, p in dict.fromkeys(zip(obs["quantity"], obs["place"])):
            if (q, p) in have and (q, p) not in out and len(out) < 2 * MAX_FANS:
                out.append((q, p))
    return out


TITLES = {"present": "present at {p}", "travelling": "on the move ({p})", "arrived": "reached {p}",
          "returned": "returned home ({p})", "asylum_applied": "asylum applications at {p}", "crossed": "crossed at {p}",
          "detained": "detained at {p}"}


def fan_charts(df: pd.DataFrame, dates: list[str], targets, obs: pd.DataFrame | None, as_of: str | None) -> list[dict]:
    charts = []
    for k, (q, p) in enumerate(targets):
        g = df[(df["quantity"] == q) & (df["place"] == p)].set_index("date").reindex(dates)
        bands = {c: g[c].to_numpy() for c in ("p05", "p25", "p75", "p95")}
        o = obs[(obs["quantity"] == q) & (obs["place"] == p)] if obs is not None else None
        pts = C.obs_points(o, dates, as_of=as_of) if o is not None else []
        title = TITLES.get(q, q + " {p}").format(p="everyone" if p == "(all)" else p)
        s = C.series("median", C.PALETTE[0], g["p50"].to_numpy(), bands, pts)
        charts.append(C.chart(f"fan-{k}", title[:1].upper() + title[1:], [s]))
    return charts


def outlook_html(ol: pd.DataFrame | None, half: pd.DataFrame | None, as_of: str | None) -> str:
    need = ["place", "kind", "members_with_arrivals", "members"] + [f"{w}_p{p:02d}" for w in
                                                                    ("first", "half", "peak7", "peak14", "peak30")
                                                                    for p in (5, 50, 95)]
    if ol is not None and not ol.empty and not set(need) <= set(ol.columns):
        return "<p>outlook.csv (as written):</p>" + C.generic_table(ol, "outlook-table")
    if ol is None or ol.empty:
        if half is not None and not half.empty:
            return ("<p>Half-arrival dates per destination (half_arrival.csv; this folder has no outlook.csv):</p>"
                    + C.generic_table(half, "half-arrival-table"))
        return "<p class='muted'>No outlook.csv in this folder.</p>"

    def band(r, what, date=False):
        a, b, c = (r.get(f"{what}_p{p:02d}") for p in (5, 50, 95))
        if date:
            if not b or (isinstance(b, float) and np.isnan(b)):
                return "<td class='c muted'>none</td>"
            return f"<td class='c'><b>{esc(b)}</b><div class='band'>{esc(a)} – {esc(c)}</div></td>"
        return f"<td class='n'><b>{C.fmt(round(b))}</b><div class='band'>{C.fmt(round(a))}–{C.fmt(round(c))}</div></td>"

    rows = []
    for r in ol.to_dict("records"):
        rows.append(f"<tr><td>{esc(r['place'])}</td><td>{esc(r['kind'])}</td>"
                    f"<td class='n'>{C.fmt(r['members_with_arrivals'])}/{C.fmt(r['members'])}</td>"
                    + band(r, "first", True) + band(r, "half", True)
                    + "".join(band(r, f"peak{w}") for w in (7, 14, 30)) + "</tr>")
    after = f" after {esc(as_of)}" if as_of else ""
    return f"""<p>Dates and counts are medians over the members, with the 90% band (p05 – p95) below. <b>First
arrival</b>: the first day anyone reaches the place; <b>half</b>: the day by which half of the people who reach it
within the run have come (both over the members in which anyone reaches it). <b>Peak present</b>: the most people at
the place on any day of the next 7, 14 or 30 days{after} — what a shelter must be ready to hold.</p>
<table class="data" id="outlook-table"><thead><tr><th>place</th><th>kind</th><th>members with arrivals</th>
<th>first arrival</th><th>half arrived by</th><th>peak present, next 7 days</th><th>next 14 days</th>
<th>next 30 days</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"""


def scores_html(folder: Path, meta: dict) -> str:
    sc = read_json(folder / "validation.json") or meta.get("scores_after_as_of") or {}
    if not sc:
        return ("<p class='muted'>Not yet scored: <code>travesia validate FORECAST_DIR --observations LATER.csv</code> "
                "scores the forecast against later reports.</p>")

    def f(v, pct=False):
        return "–" if v is None else (f"{100 * v:.0f}%" if pct else f"{v:.3f}")

    rows = [f"<tr><td>travesia (median)</td><td class='n'>{f(sc.get('objective'))}</td>"
            f"<td class='n'>{f(sc.get('hit_share'), True)}</td><td class='n'>{f(sc.get('band_coverage'), True)}</td></tr>"]
    for m, s in (sc.get("naive") or {}).items():
        rows.append(f"<tr><td>naive: {esc(m.replace('_', ' '))}</td><td class='n'>{f(s.get('objective'))}</td>"
                    f"<td class='n'>{f(s.get('hit_share'), True)}</td><td class='n'>–</td></tr>")
    return (f"<p>{esc(sc.get('n', '?'))} later reports. Objective: mean log error against the reported ranges (lower "
            "is better); hit share: the median inside the range; band coverage: the range overlaps p05–p95.</p>"
            f"<table class='data' id='scores-table'><thead><tr><th>forecast</th><th>objective</th><th>hit share</th>"
            f"<th>90% band coverage</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def bands_report(folder: Path, kind: str, backtest: Path | None = None) -> dict:
    """The forecast (``kind="forecast"``) or ensemble report of a folder."""
    from travesia.report import backtest as B

    fname = "forecast.csv" if kind == "forecast" else "ensemble.csv"
    meta = read_json(folder / f"{kind}.json")
    df = _bands(folder, fname, kind)
    places = read_csv(folder, "places.csv", required=False, columns=PLACE_COLUMNS,
                      numeric=("lat", "lon", "capacity"), what=kind)
    if places is None:
        raise UserError(f"places.csv is missing: rebuild the {kind} with this version of travesia to get its map",
                        where=str(folder))
    legs = read_csv(folder, "legs.csv", required=False, columns=("from", "to", "km"), numeric=("km",), what=kind)
    obs = _observations(folder, places)
    as_of = _meta_date(meta, "as_of", folder / f"{kind}.json") if kind == "forecast" else None
    fdates = sorted(df["date"].unique())
    first = dt.date.fromisoformat(_meta_date(meta, "start", folder / f"{kind}.json") or fdates[0])
    if obs is not None and len(obs):
        first = min(first, dt.date.fromisoformat(min(obs["date"])))
    last = dt.date.fromisoformat(fdates[-1])
    if as_of:  # the reports used and the weeks before the as-of date, not the whole history
        first = max(first, dt.date.fromisoformat(as_of) - dt.timedelta(days=21))
        if obs is not None and len(obs):
            first = min(first, dt.date.fromisoformat(min(obs["date"])))
    dates = _dates(first, last)
    if obs is not None:
        obs = obs[(obs["date"] >= dates[0]) & (obs["date"] <= dates[-1])]
    names = [str(n) for n in places["name"]]
    # people on the ground (map, needs): the true counts when the folder has them apart from what
    # will be reported (forecast_true.csv); the fan charts compare what will be reported with reports
    true = _bands(folder, "forecast_true.csv", kind) if (folder / "forecast_true.csv").exists() else df
    mid, lo, hi = (_grid(true, "present", names, dates, c) for c in ("p50", "p05", "p95"))
    f0 = dates.index(fdates[0]) if fdates[0] in dates else 0
    legs_, _ = C.legs_data(places, legs)
    ol = _outlook(folder)
    half = read_csv(folder, "half_arrival.csv", required=False, what=kind)
    charts = fan_charts(df, dates, _fan_targets(df, places, obs, ol), obs, as_of)
    data = {"kind": kind, "meta": meta, "dates": dates, "as_of": as_of, "places": C.places_data(places), "legs": legs_,
            "map": C.map_data(mid, lo, hi, first=f0), "charts": charts,
            "sphere": {k: C.SPHERE[k] for k in ("water_l", "kcal", "covered_m2")}}
    # needs with bands: the outlook's places (or the busiest), the next NEEDS_DAYS days
    need_places = [p for p in (list(ol["place"]) if ol is not None and len(ol) else []) if p in names]
    peak = hi[f0:].max(axis=0) if hi.size else np.zeros(len(names))
    need_places += [names[i] for i in np.argsort(-peak, kind="stable")
                    if peak[i] > 0 and names[i] not in need_places][:max(0, NEEDS_PLACES - len(need_places))]
    nd = true[(true["quantity"] == "present") & true["place"].isin(need_places)]
    nd = nd[nd["date"].isin(fdates[:NEEDS_DAYS])]
    nd = nd.assign(order=nd["place"].map({p: i for i, p in enumerate(need_places)})).sort_values(
        ["order", "date"], kind="stable")
    scen = meta.get("scenario", folder.name)
    members = meta.get("members")
    cards = [("scenario", scen)]
    if as_of:
        cards.append(("as of", as_of))
    cards += [("members", members if members is not None else "–"), ("seed", meta.get("seed", "–")),
              ("forecast days" if as_of else "days", f"{len(fdates)} ({fdates[0]} to {fdates[-1]})")]
    if as_of:
        cards.append(("reports used", meta.get("observations_used", "–")))
    what = "forecast" if as_of else "ensemble"
    reported = (" Where the forecast models how reports err (forecast_true.csv beside forecast.csv), the fan "
                "charts show what will be reported — bands that a reported range (its sources' low to high) overlaps "
                "with the chance shown — and the map and the needs the true counts.") \
        if true is not df else ""
    used = ("Black ranges are the reports the forecast used (dated on or before the as-of date, the red dashed "
            "line); orange ones are later reports, which it did not see. ") if as_of else ""
    sections = [
        C.map_section(f"Filled circles: the median number of people present at each place at the end of the day "
                      f"(area ∝ people; red: over capacity); dashed ring: p95; thin ring: p05 (the 90% band over the "
                      f"members). The slider runs over the {what}'s days."),
        C.charts_section(f"Fan charts: the median (line), the 50% band (p25–p75, darker) and the 90% band (p05–p95, "
                         f"lighter) over the {members or ''} members. {used}{C.WORDS}{reported}", "Fan charts"),
    ]
    if kind == "forecast":
        sections.append(f"<section id='outlook'><h2>Arrivals and crowds ahead</h2>{outlook_html(ol, half, as_of)}"
                        "</section>")
        sections.append(f"<section id='scores'><h2>Against the later reports</h2>{scores_html(folder, meta)}</section>")
    sections.append(
        f"<section id='needs'><h2>Humanitarian needs with bands (Sphere minimum standards)</h2>{C.sphere_intro()}"
        f"<p>For the destinations and shelters above and the places most likely to hold many people, each day of the next {min(NEEDS_DAYS, len(fdates))} days: people present and their "
        "minimum needs at p05 / p50 (bold) / p95 over the members. Needs are proportional to people, so each band "
        "is the people's band times the standard. Print this section for a shelter coordinator.</p>"
        f"{C.needs_band_tables(nd) if len(nd) else '<p class=muted>No place holds people in the forecast.</p>'}"
        f"{C.needs_day_table(band=True)}</section>")
    bt = B.find_backtest(folder, backtest)
    if bt is not None:
        sections.append(B.section(bt, charts=False))
    note = meta.get("calibration_note")
    sections.append(
        "<section id='parameters'><h2>How this was made</h2>"
        + (f"<p>{esc(note)}.</p>" if note else "")
        + (f"<p>Only events and observations dated on or before {esc(as_of)} were used.</p>" if as_of else "")
        + f"<details><summary>{esc(kind)}.json</summary><pre>{esc(json.dumps(meta, indent=2, default=str))}</pre>"
        "</details></section>")
    nav = [("map-section", "map"), ("charts", "fan charts")]
    if kind == "forecast":
        nav += [("outlook", "arrivals ahead"), ("scores", "scores")]
    nav.append(("needs", "needs"))
    if bt is not None:
        nav.append(("backtest", "backtest"))
    nav.append(("parameters", "how it was made"))
    title = f"travesia forecast: {scen} as of {as_of}" if as_of else f"travesia ensemble: {scen}, {members} members"
    return {"title": title, "kind": kind, "cards": cards, "nav": nav, "body": "".join(sections), "data": data,
            "version": meta.get("version", "")}
