"""The backtest page: how far the forecasting method has been right before (``travesia backtest``).

Reads what a backtest folder has, and tolerates what it lacks: ``backtest_summary.csv`` (one row
per origin, quantity and overall: WIS, CRPS, coverage of the 50% and 90% intervals, PIT shares,
the naive forecasts' scores and the relative WIS), ``backtest.json`` (the same summaries and the
settings) and ``backtest.csv`` (one row per origin and later observation). Each origin's forecast
folder (``origin-YYYY-MM-DD/``) keeps its own report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from travesia.errors import UserError
from travesia.report import components as C
from travesia.report.page import esc
from travesia.report.run import read_csv, read_json

FILES = ("backtest.csv", "backtest.json", "backtest_summary.csv")
#: headline columns, in the order shown, with their labels (others follow as they come)
HEAD = [("level", "level"), ("origin", "origin"), ("quantity", "quantity"), ("n", "n"), ("wis", "WIS"),
        ("crps", "CRPS"), ("relative_wis", "relative WIS"), ("cover50", "50% coverage"),
        ("cover90", "90% coverage")]


def is_backtest(folder: Path) -> bool:
    return any((folder / f).exists() for f in FILES)


def find_backtest(folder: Path, given: Path | None) -> Path | None:
    """The backtest folder to show: ``given`` (checked), or ``folder``'s parent when ``folder`` is one
    of a backtest's origin folders."""
    if given is not None:
        given = Path(given)
        if not given.is_dir() or not is_backtest(given):
            raise UserError("not a backtest folder (no backtest.csv, backtest.json or backtest_summary.csv)",
                            where=str(given))
        return given
    parent = folder.resolve().parent
    return parent if folder.name.startswith("origin-") and is_backtest(parent) else None


def _summary_table(df: pd.DataFrame) -> str:
    cols = [c for c, _ in HEAD if c in df.columns] + [c for c in df.columns if c not in dict(HEAD)]
    labels = dict(HEAD)
    head = "".join(f"<th>{esc(labels.get(c, c))}</th>" for c in cols)
    body = []
    for r in df[cols].to_dict("records"):
        cls = " class='total'" if str(r.get("level", "")) == "overall" else ""
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v)):
                pct = c.startswith(("cover", "pit_"))
                cells.append(f"<td class='n'>{f'{100 * v:.0f}%' if pct else C.fmt(v, 3)}</td>")
            else:
                cells.append(f"<td>{esc('' if v is None or (isinstance(v, float) and math.isnan(v)) else v)}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f"<table class='data' id='backtest-summary'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _from_json(meta: dict) -> pd.DataFrame | None:
    rows = []
    for key, level in (("by_origin", "origin"), ("by_quantity", "quantity")):
        for r in meta.get(key) or []:
            if isinstance(r, dict):
                rows.append({"level": level, **{k: v for k, v in r.items() if not isinstance(v, (dict, list))}})
    ov = meta.get("overall")
    if isinstance(ov, dict):
        rows.append({"level": "overall", **{k: v for k, v in ov.items() if not isinstance(v, (dict, list))}})
    return pd.DataFrame(rows) if rows else None


def section(folder: Path) -> str:
    """The backtest section (``<section id="backtest">``) of a backtest folder."""
    meta = read_json(folder / "backtest.json")
    summ = read_csv(folder, "backtest_summary.csv", required=False)
    if summ is None or summ.empty:
        summ = _from_json(meta)
    rows = read_csv(folder, "backtest.csv", required=False)
    settings = {k: meta[k] for k in ("scenario", "origins", "members", "seed", "scale", "observations") if k in meta}
    parts = ["<section id='backtest'><h2>Backtest: how the method did before</h2>",
             f"<p>From <code>{esc(folder)}</code>. Each origin is a forecast made with only what was known on that "
             "date, scored on every later report: the weighted interval score (WIS) and CRPS (lower is better; "
             "scored on the scale the backtest names), the share of reports inside the 50% and 90% intervals "
             "(nominal: 50% and 90%), the PIT shares (where the reports fall among the quantiles) and the relative "
             "WIS (travesia's over the better naive forecast's; below 1 beats it).</p>"]
    if settings:
        parts.append("<p class='small'>" + "; ".join(f"{esc(k)}: {esc(v if not isinstance(v, list) else ', '.join(map(str, v)))}"
                                                    for k, v in settings.items()) + "</p>")
    if summ is not None and not summ.empty:
        parts.append(_summary_table(summ))
    elif rows is None:
        parts.append("<p class='muted'>The backtest folder has no scores yet.</p>")
    if rows is not None and not rows.empty:
        parts.append(f"<details><summary>every scored report ({len(rows):,} rows of backtest.csv)</summary>"
                     f"{C.generic_table(rows, 'backtest-rows')}</details>")
    origins = sorted(p.name for p in folder.glob("origin-*") if (p / "report.html").exists())
    if origins:
        parts.append("<p>Each origin's forecast report: " + ", ".join(
            f"<code>{esc(o)}/report.html</code>" for o in origins) + " (open from the backtest folder).</p>")
    parts.append("</section>")
    return "".join(parts)


def backtest_report(folder: Path) -> dict:
    meta = read_json(folder / "backtest.json")
    scen = meta.get("scenario", folder.name)
    ov = meta.get("overall") if isinstance(meta.get("overall"), dict) else {}
    cards = [("scenario", scen), ("origins", len(meta.get("origins") or []) or "–"),
             ("members", meta.get("members", "–"))]
    for k, lab in (("cover90", "90% coverage"), ("cover50", "50% coverage"), ("relative_wis", "relative WIS")):
        v = ov.get(k)
        if isinstance(v, (int, float)):
            cards.append((lab, f"{100 * v:.0f}%" if k.startswith("cover") else f"{v:.2f}"))
    body = section(folder) + (f"<section id='parameters'><h2>Settings</h2><pre>{esc(json.dumps(meta, indent=2, default=str))}"
                              "</pre></section>" if meta else "")
    return {"title": f"travesia backtest: {scen}", "kind": "backtest", "cards": cards,
            "nav": [("backtest", "scores"), ("parameters", "settings")], "body": body,
            "data": {"kind": "backtest", "meta": {"scenario": scen}, "dates": [], "places": [], "legs": [],
                     "map": None, "charts": []},
            "version": meta.get("version", "")}
