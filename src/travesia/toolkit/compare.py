"""``travesia compare``: runs side by side, the first one the baseline.

For each run folder (from ``travesia run``) it reads ``summary.json`` and ``totals.csv`` and
compares, row by row:

- ``arrived``: people whose journey ended at each destination (``summary.json``), and by each
  Monday (weekly dates) the cumulative count (``totals.csv`` quantity ``arrived``);
- ``final``: people in each final state (returned, deported, settled ...);
- ``present``: people present at each place on the comparison date (the runs' last common day
  unless ``date`` is given), every place where any run has someone, busiest first; and the peak;
- ``needs``: Sphere minimum needs per day for the people present on that date, summed over all
  places: water (L), food (kcal), covered space (m²), as the report computes them.

Every row has one value per run and, for each run after the first, its difference from the
first. The table is written as CSV and as a Markdown page beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd

from travesia.errors import UserError
from travesia.output import may_write_file, write_file

COLUMNS = ["section", "item", "date"]


def _read_run(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("run folder not found", where=str(folder))
    for need in ("summary.json", "totals.csv", "places.csv"):
        if not (folder / need).exists():
            raise UserError(f"not a run folder: {need} is missing (make one with: travesia run SCENARIO --out DIR)",
                            where=str(folder))
    from travesia.output import read_result_csv

    summ = _read_summary(folder / "summary.json")
    totals = read_result_csv(folder / "totals.csv", ["date", "quantity", "place", "people"], whole_days=True,
                             dates=("date",))
    places = read_result_csv(folder / "places.csv", ["name"], dtype={"region": str})
    return summ, totals, places


def _read_summary(p: Path) -> dict:
    """A run's summary.json, or a UserError naming it when it is damaged."""
    damaged = "(a damaged run folder: run it again)"
    try:
        summ = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"not UTF-8 text at byte {e.start} {damaged}", where=str(p)) from None
    except ValueError as e:
        raise UserError(f"not valid JSON ({e}) {damaged}", where=str(p)) from None
    if not isinstance(summ, dict):
        raise UserError(f"expected a JSON object {damaged}", where=str(p))
    for k in ("start", "end"):
        try:
            dt.date.fromisoformat(summ.get(k))
        except (TypeError, ValueError):
            raise UserError(f"'{k}': expected a date YYYY-MM-DD, got {summ.get(k)!r} {damaged}", where=str(p)) from None
    for k in ("destinations", "final_states"):
        if not isinstance(summ.get(k, {}), dict):
            raise UserError(f"'{k}': expected a JSON object {damaged}", where=str(p))
    return summ


def _labels(runs: list[Path]) -> list[str]:
    names = [Path(r).name or str(r) for r in runs]
    if len(set(names)) < len(names):
        names = [str(r) for r in runs]
    return names


def compare_runs(runs: list[Path], out_file: Path | None = None, date: str | None = None,
                 force: bool = False) -> dict:
    """Compare run folders (the first is the baseline); write ``out_file`` (CSV) and a ``.md`` beside it
    (``out_file`` ending in a slash is a folder: ``compare.csv`` and ``compare.md`` in it).

    Returns {"table": DataFrame, "labels": [...], "date": str, "csv": Path, "md": Path}.
    """
    from travesia.report.build import SPHERE

    runs = [Path(r) for r in runs]
    if len(runs) < 2:
        raise UserError("compare needs at least two run folders (the first is the baseline)", where="travesia compare")
    data = [_read_run(r) for r in runs]
    labels = _labels(runs)
    ends = [dt.date.fromisoformat(s["end"]) for s, _, _ in data]
    starts = [dt.date.fromisoformat(s["start"]) for s, _, _ in data]
    if date is not None:
        try:
            when = dt.date.fromisoformat(date)
        except ValueError:
            raise UserError(f"'{date}' is not a date YYYY-MM-DD", where="--date") from None
        if not all(a <= when <= b for a, b in zip(starts, ends)):
            raise UserError(f"{when} is not simulated by every run ({', '.join(f'{a}..{b}' for a, b in zip(starts, ends))})",
                            where="--date")
    else:
        when = min(ends)
    rows: dict[tuple, list] = {}

    def put(key: tuple, k: int, v) -> None:
        rows.setdefault(key, [0] * len(runs))[k] = v

    # journeys ended at each destination, and weekly cumulative arrivals
    for k, (summ, totals, places) in enumerate(data):
        for name, d in summ.get("destinations", {}).items():
            put(("arrived", name, "end of run"), k, int(d.get("arrived", 0)))
        for name, n in summ.get("final_states", {}).items():
            put(("final", name, "end of run"), k, int(n))
        dests = set(summ.get("destinations", {}))
        a = totals[(totals["quantity"] == "arrived") & (totals["place"].isin(dests))]
        for r in a.itertuples(index=False):
            d = dt.date.fromisoformat(str(r.date))
            if d.weekday() == 0 and d <= when:  # Mondays
                put(("arrived by date", r.place, str(d)), k, int(r.people))
        pres = totals[(totals["quantity"] == "present") & (totals["place"].isin(set(places["name"])))]
        today = pres[pres["date"].astype(str) == when.isoformat()]
        for r in today.itertuples(index=False):
            if r.people:
                put(("present", r.place, when.isoformat()), k, int(r.people))
        peak = pres.groupby("place")["people"].max()
        for place, n in peak.items():
            if n:
                put(("peak present", place, "any day"), k, int(n))
        alln = int(today["people"].sum())
        put(("needs", "people present (all places)", when.isoformat()), k, alln)
        put(("needs", "water (L/day)", when.isoformat()), k, round(alln * SPHERE["water_l"]))
        put(("needs", "food (kcal/day)", when.isoformat()), k, round(alln * SPHERE["kcal"]))
        put(("needs", "covered space (m²)", when.isoformat()), k, round(alln * SPHERE["covered_m2"]))
    order = {"arrived": 0, "arrived by date": 1, "final": 2, "present": 3, "peak present": 4, "needs": 5}
    recs = []
    for (sec, item, d), vals in rows.items():
        rec = {"section": sec, "item": item, "date": d}
        rec.update({lab: v for lab, v in zip(labels, vals)})
        for lab, v in zip(labels[1:], vals[1:]):
            rec[f"{lab} − {labels[0]}"] = v - vals[0]
        recs.append(rec)
    table = pd.DataFrame(recs)
    table["_o"] = table["section"].map(order)
    table["_m"] = -table[labels].abs().max(axis=1)
    by_place = table["section"].isin(["present", "peak present"])
    table.loc[~by_place, "_m"] = 0
    table = table.sort_values(["_o", "_m", "item", "date"], kind="stable").drop(columns=["_o", "_m"])
    # rows where every run says 0 are noise (a final state nobody ends in)
    table = table[(table[labels] != 0).any(axis=1)].reset_index(drop=True)
    if out_file is not None and os.fspath(out_file).endswith(("/", os.sep)):  # a folder: compare.csv in it
        out_file = Path(out_file) / "compare.csv"
    csv_path = Path(out_file) if out_file is not None else Path("compare.csv")
    if csv_path.suffix.lower() != ".csv":
        csv_path = csv_path.with_suffix(csv_path.suffix + ".csv") if csv_path.suffix else csv_path.with_suffix(".csv")
    md_path = csv_path.with_suffix(".md")
    # both files start with a mark of their own, so --force may replace an earlier comparison, nothing else
    may_write_file(md_path, force, signature=b"# travesia compare")
    write_file(csv_path, table.to_csv(index=False, lineterminator="\n"), force=force, signature=b"section,item,date,")
    write_file(md_path, markdown(table, labels, runs, when), force=force, signature=b"# travesia compare")
    return {"table": table, "labels": labels, "date": when.isoformat(), "csv": csv_path, "md": md_path}


def markdown(table: pd.DataFrame, labels: list[str], runs: list[Path], when: dt.date) -> str:
    """The comparison as a Markdown page: one table per section."""
    titles = {"arrived": "Journeys ended at each destination", "arrived by date": "Arrivals by date (cumulative, Mondays)",
              "final": "Final states", "present": f"People present on {when}", "peak present": "Peak present (any day)",
              "needs": f"Sphere needs on {when} (all places)"}
    lines = ["# travesia compare", "", "Baseline: " + f"`{runs[0]}`; compared: " + ", ".join(f"`{r}`" for r in runs[1:]),
             "", "Differences are each run minus the baseline.", ""]
    cols = [c for c in table.columns if c not in ("section",)]
    for sec, g in table.groupby("section", sort=False):
        lines += [f"## {titles.get(sec, sec)}", "", "| " + " | ".join(cols) + " |",
                  "| " + " | ".join("---" for _ in cols) + " |"]
        for r in g[cols].itertuples(index=False):
            lines.append("| " + " | ".join(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
                                           for v in r) + " |")
        lines.append("")
    return "\n".join(lines)


def render(r: dict) -> list:
    """Rich tables for the terminal, one per section (present: the ten busiest places)."""
    from rich.table import Table

    out = []
    t = r["table"]
    cols = [c for c in t.columns if c != "section"]
    for sec, g in t.groupby("section", sort=False):
        if sec in ("present", "peak present"):
            g = g.head(10)
        tab = Table(title=sec, title_justify="left", header_style="bold")
        for c in cols:
            tab.add_column(c, justify="left" if c in ("item", "date") else "right", no_wrap=True)
        for row in g[cols].itertuples(index=False):
            tab.add_row(*[(f"{v:+,}" if c.endswith(r["labels"][0]) and " − " in c else f"{v:,}")
                          if isinstance(v, (int,)) or hasattr(v, "dtype") else str(v) for c, v in zip(cols, row)])
        out.append(tab)
    return out
