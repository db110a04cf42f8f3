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


PIT_BINS = ("below_p05", "p05_p25", "p25_p50", "p50_p75", "p75_p95", "above_p95")
PIT_EXPECTED = (0.05, 0.20, 0.25, 0.25, 0.20, 0.05)  # the shares a calibrated forecast puts in each bin


def pit_chart(summ: pd.DataFrame | None, meta: dict) -> dict | None:
    """The PIT histogram: the share of reports in each band of the forecast, per origin and overall,
    beside the share a calibrated forecast would put there."""
    if summ is None or summ.empty:
        return None
    cols = [f"pit_{b}" for b in PIT_BINS]
    if not set(cols) <= set(summ.columns):
        return None
    lvl = summ["level"].astype(str) if "level" in summ.columns else pd.Series(["overall"] * len(summ))
    rows = summ[lvl.isin(["origin", "overall"])]
    exp = meta.get("pit_expected") if isinstance(meta.get("pit_expected"), dict) else {}
    expected = [float(exp.get(b, exp.get(f"pit_{b}", e))) for b, e in zip(PIT_BINS, PIT_EXPECTED)]
    series = []
    for k, r in enumerate(rows.to_dict("records")):
        name = "overall" if str(r.get("level")) == "overall" else f"from {r.get('origin', '')}"
        color = "#333333" if name == "overall" else C.PALETTE[k % len(C.PALETTE)]
        series.append({"name": name, "color": color, "values": [C.num(r[c]) for c in cols]})
    if not series:
        return None
    return {"id": "chart-pit", "title": "Where the later reports fell among the forecast's quantiles (PIT)",
            "ylabel": "share of reports", "note": "A calibrated forecast puts 5% of reports below p05, 20% between "
            "p05 and p25, 25% in each half of the 50% band, 20% between p75 and p95 and 5% above p95 (black ticks).",
            "bars": {"categories": ["< p05", "p05–p25", "p25–p50", "p50–p75", "p75–p95", "> p95"],
                     "series": series, "expected": expected, "percent": True}, "series": []}


def _summary_table(df: pd.DataFrame, table_id: str = "backtest-summary") -> str:
    cols = [c for c, _ in HEAD if c in df.columns] + [c for c in df.columns if c not in dict(HEAD)]
    labels = dict(HEAD)

    def label(c: str) -> str:
        if c in labels:
            return labels[c]
        words = c.replace("_", " ").split()
        return " ".join({"wis": "WIS", "crps": "CRPS", "pit": "PIT"}.get(w, w) for w in words)

    head = "".join(f"<th>{esc(label(c))}</th>" for c in cols)
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
    return (f"<div class='scroll'><table class='data' id='{esc(table_id)}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


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


def _summary(folder: Path) -> pd.DataFrame | None:
    summ = read_csv(folder, "backtest_summary.csv", required=False)
    return _from_json(read_json(folder / "backtest.json")) if summ is None or summ.empty else summ


def section(folder: Path, charts: bool = True) -> str:
    """The backtest section (``<section id="backtest">``) of a backtest folder (with the place of its
    charts when ``charts``)."""
    meta = read_json(folder / "backtest.json")
    summ = _summary(folder)
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
        pit = [c for c in summ.columns if c.startswith("pit_")]
        keys = [c for c in ("level", "origin", "quantity", "n") if c in summ.columns]
        parts.append(_summary_table(summ.drop(columns=pit)))
        if charts:
            parts.append("<div id='chart-list'></div>")
        if pit:
            parts.append("<details><summary>PIT shares (table)</summary>"
                         + _summary_table(summ[keys + pit], "backtest-pit") + "</details>")
    elif rows is None:
        parts.append("<p class='muted'>The backtest folder has no scores yet.</p>")
    if rows is not None and not rows.empty:
        parts.append(f"<details><summary>every scored report ({len(rows):,} rows of backtest.csv)</summary>"
                     f"{C.generic_table(rows, 'backtest-rows')}</details>")
    origins = sorted(p.name for p in folder.glob("origin-*") if (p / "report.html").exists())
    if origins:
        parts.append("<p>Each origin's forecast report: " + ", ".join(
            f"<a href='{esc(o)}/report.html'>{esc(o)}</a>" for o in origins) + " (in the backtest folder).</p>")
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
                     "map": None, "charts": [c for c in [pit_chart(_summary(folder), meta)] if c]},
            "version": meta.get("version", "")}
