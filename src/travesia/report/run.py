"""The run report: a run folder (``travesia run``) as map, charts, validation, needs, parameters.

The validation table is :func:`travesia.analysis.observe.compare_run`'s, the function
``travesia validate`` calls, so the two always agree. ``plans.csv`` (daily caravan plans:
``date, caravan, target, hold, route``), when the run has it, is drawn on the map.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from travesia.analysis.observe import compare_run, place_members, read_run_places, read_totals
from travesia.errors import UserError
from travesia.report import components as C
from travesia.report.page import esc

STATES = ("waiting", "travelling", "resting", "detained", "asylum_pending", "settled", "arrived", "returned",
          "deported")
STATE_COLORS = {"waiting": "#9e9e9e", "travelling": "#1f77b4", "resting": "#17becf", "detained": "#d62728",
                "asylum_pending": "#9467bd", "settled": "#2ca02c", "arrived": "#ff7f0e", "returned": "#8c564b",
                "deported": "#e377c2"}
MAX_PLACE_SERIES = 8
MAJOR_KINDS = ("destination", "shelter", "camp")
PLACE_COLUMNS = ("id", "name", "country", "lat", "lon", "kind", "capacity")


def read_csv(folder: Path, name: str, required: bool = True, columns: tuple[str, ...] = (),
             numeric: tuple[str, ...] = (), dates: tuple[str, ...] = (), what: str = "run") -> pd.DataFrame | None:
    """A table of a result folder, read by :func:`travesia.output.read_result_csv` (which blames a
    file that is empty, cut short, not UTF-8 or not CSV); ``columns`` must be there, ``numeric``
    ones hold numbers (or nothing) and ``dates`` ones dates YYYY-MM-DD, or a UserError names the
    file (and the line of the first bad value)."""
    from travesia.output import read_result_csv

    p = folder / name
    if not p.exists():
        if required:
            raise UserError(f"not a {what} folder: {name} is missing (make one with: travesia {what} SCENARIO --out DIR)",
                            where=str(folder))
        return None
    df = read_result_csv(p, [], what=what, numbers=numeric, blank=(*numeric, "people"), dates=dates)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UserError(f"lacks the column(s) {', '.join(missing)} (a damaged result folder? make it again)",
                        where=str(p))
    if "people" in df.columns:
        df["people"] = df["people"].fillna(0.0)
    return df


class RunData:
    """A run folder read into arrays: dates, places, present (days × places), flows, states."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        read_run_places(run_dir)  # says what is missing in a folder that is not a run
        self.places = read_csv(run_dir, "places.csv", columns=PLACE_COLUMNS, numeric=("lat", "lon", "capacity"))
        self.totals = read_totals(run_dir)
        need = {"date", "quantity", "place", "people"}
        if not need <= set(self.totals.columns) or self.totals.empty:
            raise UserError("totals.csv is empty or lacks the columns date, quantity, place, people "
                            "(a truncated run folder?)", where=str(run_dir / "totals.csv"))
        self.totals["date"] = self.totals["date"].astype(str)
        self.totals["people"] = pd.to_numeric(self.totals["people"], errors="coerce").fillna(0.0)
        self.dates = sorted(self.totals["date"].unique())
        self.legs = read_csv(run_dir, "legs.csv", columns=("from", "to", "km"), numeric=("km",))
        self.daily = read_csv(run_dir, "daily.csv", required=False, columns=("date", "place", "state", "people"),
                              numeric=("people",))
        self.flows = read_csv(run_dir, "flows.csv", required=False, columns=("date", "from", "to", "people"),
                              numeric=("people",))
        self.names = [str(n) for n in self.places["name"]]
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
        if self.daily is None or self.daily.empty:
            return {}
        d = self.daily.copy()
        d["date"] = d["date"].astype(str)
        pv = d.pivot_table(index="date", columns="state", values="people", aggfunc="sum").reindex(self.dates).fillna(0)
        return {s: pv[s].to_numpy() for s in STATES if s in pv.columns}

    def leg_flows(self) -> tuple[list[list], list[list[list[int]]]]:
        """Legs as [from index, to index, km] and, per day, [[leg index, people both ways], ...]."""
        legs, key = C.legs_data(self.places, self.legs)
        idx_by_name = {n: i for i, n in enumerate(self.names)}
        per_day: list[dict[int, int]] = [dict() for _ in self.dates]
        if self.flows is not None and len(self.flows):
            di = {d: i for i, d in enumerate(self.dates)}
            for r in self.flows.itertuples(index=False):
                d, a, b, n = str(r[0]), idx_by_name.get(r[1]), idx_by_name.get(r[2]), int(r[3])
                k = key.get(frozenset((a, b)))
                if d in di and k is not None:
                    per_day[di[d]][k] = per_day[di[d]].get(k, 0) + n
        return legs, [[[k, v] for k, v in sorted(m.items())] for m in per_day]

    def plans(self) -> list[dict]:
        """plans.csv (``date, caravan, target, hold, route`` and optionally ``people, stage_km``; ``hold``:
        the days of a hold left, 0 on the move, or true/false) as map markers; [] when absent."""
        df = read_csv(self.dir, "plans.csv", required=False)
        if df is None or df.empty or not {"date", "caravan", "target"} <= set(df.columns):
            return []
        di = {d: i for i, d in enumerate(self.dates)}
        idx = {n: i for i, n in enumerate(self.names)}
        idx.update({str(pid): i for i, pid in enumerate(self.places["id"])})
        out = []
        for r in df.to_dict("records"):
            d, t = di.get(str(r["date"])[:10]), idx.get(str(r["target"]))
            if d is None or t is None:
                continue
            h = str(r.get("hold", "")).strip().lower()
            try:
                days_left = max(0, int(float(h)))  # days of the hold left, today included (0: on the move)
            except ValueError:
                days_left = 1 if h in ("true", "yes", "hold") else 0
            item = {"d": d, "caravan": str(r["caravan"]), "target": t, "hold": days_left > 0,
                    "route": str(r.get("route", "") or "")}
            if days_left > 1:
                item["hold_days"] = days_left
            for k in ("people", "stage_km"):
                if k in r and str(r[k]) != "":
                    item[k] = C.num(pd.to_numeric(r[k], errors="coerce"))
            out.append(item)
        return out


# --------------------------------------------------------------------------- charts


def _hits(comp: pd.DataFrame | None) -> dict:
    out = {}
    if comp is not None:
        for r in comp.itertuples(index=False):
            high = None if pd.isna(r.high) else float(r.high)
            out[(str(r.date)[:10], r.place, r.quantity, float(r.low), high)] = bool(r.hit)
    return out


def _series(rd: RunData, quantity: str, place: str, label: str, color: str, obs: pd.DataFrame, hits: dict):
    v = rd.series(quantity, place)
    if v is None:
        return None
    o = obs[(obs["quantity"] == quantity) & (obs["place"] == place)] if len(obs) else obs
    pts = C.obs_points(o, rd.dates, hits)
    for pt in pts:  # name the caravan only where its own count, not everyone's (the line), was compared
        if pt[6] is None or pt[6] == C.num(v[pt[0]]):
            pt[7] = ""
    return C.series(label, color, v, obs=pts)


def build_charts(rd: RunData, obs: pd.DataFrame, comp: pd.DataFrame | None) -> list[dict]:
    hits = _hits(comp)
    charts = []
    st = rd.state_totals()
    trav_all = obs[(obs["quantity"] == "travelling") & (obs["place"] == "(all)")] if len(obs) else obs
    ss = [C.series(s, STATE_COLORS[s], v, obs=[p[:7] + [""] for p in C.obs_points(trav_all, rd.dates, hits)]
                   if s == "travelling" else []) for s, v in st.items()]
    charts.append(C.chart("chart-states", "People by state", ss,
                          "Everyone created by the run, by state at the end of each day."))
    chosen: list[str] = []
    if len(obs):
        for p in obs[obs["quantity"] == "present"]["place"]:
            if p not in chosen:
                chosen.append(p)
    peak = rd.present.max(axis=0) if rd.present.size else np.zeros(len(rd.names))
    for i in np.argsort(-peak, kind="stable"):
        if len(chosen) >= MAX_PLACE_SERIES or peak[i] <= 0:
            break
        n = rd.names[i]
        if not any(n == c or n.startswith(c + " (") for c in chosen):
            chosen.append(n)
    ss = [s for k, p in enumerate(chosen)
          if (s := _series(rd, "present", p, p, C.PALETTE[k % len(C.PALETTE)], obs, hits))]
    charts.append(C.chart("chart-present", "Present at major places", ss,
                          "People of the movement at the place at the end of the day (a city counts its shelters: "
                          "'Tijuana' includes 'Tijuana (…)'). Places with observations first, then the busiest."))
    ss, k = [], 0
    for q, label in (("arrived", "reached destinations"), ("returned", "returned home"),
                     ("asylum_applied", "asylum applications")):
        places = ["(all)"] + ([p for p in dict.fromkeys(obs[obs["quantity"] == q]["place"]) if p != "(all)"]
                              if len(obs) else [])
        for p in places:
            lab = label if p == "(all)" else (f"reached {p}" if q == "arrived" else f"{label} {p}")
            s = _series(rd, q, p, lab, C.PALETTE[k % len(C.PALETTE)], obs, hits)
            if s:
                ss.append(s)
                k += 1
    charts.append(C.chart("chart-cumulative", "Cumulative arrivals, returns and asylum applications", ss,
                          "Whole run ('(all)') and every place or country named in the observations. 'Reached' counts "
                          "every arrival at a destination, people passing through on the way to another included; "
                          "the header's 'arrived' counts journeys that ended there."))
    ss = []
    if len(obs):
        rest = obs[obs["quantity"].isin(["crossed", "detained", "travelling", "present"]) &
                   ~((obs["quantity"] == "travelling") & (obs["place"] == "(all)")) &
                   ~((obs["quantity"] == "present") & obs["place"].isin(chosen))]
        for k, ((q, p), _) in enumerate(rest.groupby(["quantity", "place"], sort=False)):
            s = _series(rd, q, p, f"{q} {p}", C.PALETTE[k % len(C.PALETTE)], obs, hits)
            if s:
                ss.append(s)
    if ss:
        charts.append(C.chart("chart-other", "Other observed quantities", ss,
                              "Crossings (cumulative), detention and people on the move at the places where they "
                              "were reported."))
    return charts


# --------------------------------------------------------------------------- tables


def validation_html(comp: pd.DataFrame | None, sc: dict | None) -> str:
    if comp is None:
        return "<p class='muted'>No observations.csv in the run folder: nothing to compare.</p>"
    rows = []
    for r in comp.to_dict("records"):
        sim = r["simulated"]
        out_of_run = isinstance(sim, float) and math.isnan(sim)
        cls = "na" if out_of_run else ("hit" if r["hit"] else "miss")
        rng = (f"≥ {C.fmt(r['low'])}" if pd.isna(r["high"]) else
               C.fmt(r["low"]) if r["low"] == r["high"] else f"{C.fmt(r['low'])}–{C.fmt(r['high'])}")
        rows.append(f"<tr class='{cls}'><td>{esc(str(r['date'])[:10])}</td><td>{esc(r['place'])}</td>"
                    f"<td>{esc(r['quantity'])}</td><td class='n'>{rng}</td><td class='n'>{C.fmt(sim)}</td>"
                    f"<td class='c'>{'outside run' if out_of_run else ('✓' if r['hit'] else '✗')}</td>"
                    f"<td class='n'>{C.fmt(r['rel_error'])}</td><td class='n'>{C.fmt(r['log_error'])}</td>"
                    f"<td>{esc(r.get('caravan', ''))}</td>"
                    f"<td class='small'>{esc(r.get('note', ''))} {C.links(r.get('sources', ''))}</td></tr>")
    srows = []
    for q, v in list(sc["by_quantity"].items()) + [("overall", {**sc["overall"], "flee_ard": sc["flee_ard"]})]:
        hs = "–" if v["hit_share"] is None else f"{100 * v['hit_share']:.0f}%"
        srows.append(f"<tr{' class=total' if q == 'overall' else ''}><td>{esc(q)}</td><td class='n'>{v['n']}</td>"
                     f"<td class='n'>{hs}</td><td class='n'>{C.fmt(v['median_rel_error'])}</td>"
                     f"<td class='n'>{C.fmt(v['mean_rel_error'])}</td><td class='n'>{C.fmt(v['mean_log_error'])}</td>"
                     f"<td class='n'>{C.fmt(v.get('flee_ard'))}</td></tr>")
    return f"""
<p>Observations: <code>{esc(sc.get('observations', ''))}</code> (the same comparison as <code>travesia validate</code>).
A hit is a simulated value inside the reported range [low, high] (an empty high has no upper bound). The relative
error is 0 inside the range, otherwise the distance to the nearest bound divided by that bound (by 1 if the bound is
0); the log error is |ln((sim+1)/(bound+1))|. FLEE's averaged relative difference (ARD) uses the places observed on
two or more dates. An observation whose caravan names one of the run's caravans is compared with that caravan
alone (totals_by_caravan.csv); otherwise with everyone at the place.</p>
<table class="data" id="validation-summary"><thead><tr><th>quantity</th><th>n</th><th>hit share</th>
<th>median rel. error</th><th>mean rel. error</th><th>mean log error</th><th>FLEE ARD</th></tr></thead>
<tbody>{''.join(srows)}</tbody></table>
<table class="data" id="validation-table"><thead><tr><th>date</th><th>place</th><th>quantity</th><th>observed</th>
<th>simulated</th><th>hit</th><th>rel. error</th><th>log error</th><th>caravan</th><th>note and sources</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>"""


def exceedances(rd: RunData) -> list[dict]:
    """Places with a known capacity: peak present, and the dates when present exceeds the capacity."""
    out = []
    for i, r in enumerate(rd.places.itertuples(index=False)):
        try:
            cap = float(r.capacity)
        except (TypeError, ValueError):
            cap = -1.0
        if not cap >= 0:
            continue
        v = rd.present[:, i] if rd.present.size else np.zeros(0)
        over = [rd.dates[d] for d in np.nonzero(v > cap)[0]]
        pk = int(np.argmax(v)) if len(v) else 0
        out.append({"place": r.name, "capacity": int(cap), "peak": C.num(v[pk]) if len(v) else 0,
                    "peak_date": rd.dates[pk] if len(v) else "", "days_over": over,
                    "max_over": C.num(max(0.0, float(v.max() - cap))) if len(v) else 0})
    return out


def needs_html(ex: list[dict], rd: RunData) -> str:
    rows = []
    for e in sorted(ex, key=lambda e: (-len(e["days_over"]), -(e["peak"] or 0))):
        over = len(e["days_over"])
        days = ", ".join(d[5:] for d in e["days_over"][:30]) + (" …" if over > 30 else "")
        dover = set(e["days_over"])
        strip = "".join(f"<i class='{'o' if d in dover else ''}' title='{d}'></i>" for d in rd.dates)
        rows.append(f"<tr class='{'miss' if over else ''}'><td>{esc(e['place'])}</td><td class='n'>{C.fmt(e['capacity'])}"
                    f"</td><td class='n'>{C.fmt(e['peak'])}</td><td>{esc(e['peak_date'])}</td>"
                    f"<td class='n'>{over}</td><td class='n'>{C.fmt(e['max_over'])}</td>"
                    f"<td><span class='strip'>{strip}</span><div class='small'>{esc(days)}</div></td></tr>")
    cap = pd.to_numeric(rd.places["capacity"], errors="coerce").fillna(-1).to_numpy()
    n_unknown = int(((cap < 0) & (rd.present.max(axis=0) > 0)).sum()) if rd.present.size else 0
    return f"""{C.sphere_intro()}
<h3>Shelter capacity</h3>
<p>Places with a known capacity (places.csv); a row in red had more people present than its capacity on the
days marked. {n_unknown} place(s) that held people have no known capacity.</p>
<table class="data" id="capacity-table"><thead><tr><th>place</th><th>capacity</th><th>peak present</th>
<th>peak date</th><th>days over</th><th>largest excess</th><th>days over capacity</th></tr></thead>
<tbody>{''.join(rows) or "<tr><td colspan=7 class='muted'>no place has a known capacity</td></tr>"}</tbody></table>
{C.needs_day_table(band=False)}"""


def reproduce(resolved: dict, summary: dict) -> str:
    """The command that reproduces the run: the scenario's folder or built-in name (as the run
    recorded it), the seed, days, scale and overrides."""
    src = summary.get("source") or resolved.get("source")
    parts = ["travesia", "run", shlex.quote(str(src)) if src else "SCENARIO_FOLDER", "--out", "RESULTS",
             "--seed", str(resolved.get("seed", summary.get("seed"))),
             "--days", str(resolved.get("days", summary.get("days")))]
    if resolved.get("scale", 1.0) not in (1, 1.0, None):
        parts += ["--scale", str(resolved["scale"])]
    for k, v in (resolved.get("overrides") or {}).items():
        parts += ["--set", shlex.quote(f"{k}={json.dumps(v) if isinstance(v, (list, dict)) else v}")]
    return " ".join(parts)


def read_resolved(folder: Path) -> tuple[str, dict]:
    p = folder / "scenario.resolved.yaml"
    try:
        text = p.read_text(encoding="utf-8") if p.exists() else ""
    except UnicodeDecodeError:  # as an unreadable YAML below: the report still works without the parameters
        text = ""
    if not text:
        return "", {}
    from ruamel.yaml import YAML

    try:
        return text, dict(YAML(typ="safe").load(text) or {})
    except Exception:  # the report still works without the parameters
        return text, {}


def read_json(p: Path) -> dict:
    if not p.exists():
        return {}
    try:
        v = json.loads(p.read_text(encoding="utf-8"))
        return v if isinstance(v, dict) else {}
    except (ValueError, UnicodeDecodeError):
        return {}


def run_report(run_dir: Path) -> dict:
    """Everything the page needs for a run folder: title, cards, nav, body HTML, data, footer."""
    rd = RunData(run_dir)
    comp = sc = None
    obs = pd.DataFrame(columns=["date", "place", "quantity", "low", "high", "note"])
    if (run_dir / "observations.csv").exists():
        comp, sc = compare_run(run_dir)
        obs = comp.assign(date=comp["date"].astype(str).str[:10])
    resolved_text, resolved = read_resolved(run_dir)
    summary = read_json(run_dir / "summary.json")
    legs, flows = rd.leg_flows()
    ex = exceedances(rd)
    scen = resolved.get("name", summary.get("scenario", run_dir.name))
    seed = resolved.get("seed", summary.get("seed"))
    data = {
        "kind": "run", "meta": {"scenario": scen, "seed": seed, "run": str(run_dir)}, "dates": rd.dates,
        "as_of": None, "places": C.places_data(rd.places), "legs": legs,
        "map": C.map_data(rd.present, flows=flows, plans=rd.plans()),
        "charts": build_charts(rd, obs, comp),
        "sphere": {k: C.SPHERE[k] for k in ("water_l", "kcal", "covered_m2")},
    }
    dests = summary.get("destinations") or {}
    arrived = sum(int(d.get("arrived") or 0) for d in dests.values()) if dests else None
    reached = sum(int(d.get("reached") or 0) for d in dests.values()) if dests else None
    cards = [("scenario", scen), ("seed", seed),
             ("days", f"{len(rd.dates)} ({rd.dates[0]} to {rd.dates[-1]})" if rd.dates else "0"),
             ("people", f"{summary['people_created']:,}" if isinstance(summary.get("people_created"), int) else "–"),
             *([("arrived", f"{arrived:,}"), ("reached", f"{reached:,}")] if dests else [])]
    if sc and sc["overall"]["n"]:
        cards.append(("observations hit", f"{100 * sc['overall']['hit_share']:.0f}% of {sc['overall']['n']}"))
    plans_note = (" Diamonds: each caravan's plan that day (yellow: its target; orange: it holds there), from "
                  "plans.csv.") if data["map"].get("plans") else ""
    body = "".join([
        C.map_section("Circles: people present at each place at the end of the day (area ∝ people; red: over the "
                      "place's capacity). Lines: the route network; orange lines show the people who set out along a "
                      "leg that day (both ways). Hover for counts." + plans_note),
        C.charts_section("Lines are the run; vertical bars are observations (low to high; dashed: no upper bound; a "
                         "dot: one figure); green = the run falls inside, red = outside, as in the validation table: "
                         "a report that names a caravan is held against that caravan's own count, which may differ "
                         "from the line of everyone at the place (hover a bar for the value compared). The grey "
                         "dashed line is the day on the map. " + C.WORDS),
        f"<section id='validation'><h2>Validation against the record</h2>{validation_html(comp, sc)}</section>",
        f"<section id='needs'><h2>Humanitarian needs (Sphere minimum standards)</h2>{needs_html(ex, rd)}</section>",
        C.params_section(reproduce(resolved, summary) if (resolved or summary) else "–", resolved_text,
                         [("summary.json", json.dumps(summary, indent=2, ensure_ascii=False))]),
    ])
    return {"title": f"travesia report: {scen}, seed {seed}", "kind": "run", "cards": cards,
            "nav": [("map-section", "map"), ("charts", "charts"), ("validation", "validation"),
                    ("needs", "humanitarian needs"), ("parameters", "parameters")],
            "body": body, "data": data, "version": summary.get("version", "")}
