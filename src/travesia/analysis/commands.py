"""Command line for the analysis: ``travesia validate``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.table import Table
from rich.text import Text

from travesia.errors import UserError

if TYPE_CHECKING:  # pandas is imported where a table is read, not by the command line's start
    import pandas as pd


def _fmt(x, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if pct:
        return f"{100 * x:.0f}%"
    if isinstance(x, float) and x != int(x):
        return f"{x:.2f}" if abs(x) < 10 else f"{x:,.0f}"
    return f"{int(x):,}"


def _range(low, high) -> str:
    if high is None or (isinstance(high, float) and math.isnan(high)):
        return f"≥ {_fmt(low)}"
    return _fmt(low) if low == high else f"{_fmt(low)}–{_fmt(high)}"


def comparison_table(comp: pd.DataFrame, sc: dict, title: str) -> list:
    """Rich renderables: one row per observation, then the summaries."""
    t = Table(title=title, title_justify="left", header_style="bold")
    for col, j in (("date", "left"), ("place", "left"), ("quantity", "left"), ("observed", "right"),
                   ("run", "right"), ("hit", "center"), ("rel. err", "right"), ("log err", "right")):
        t.add_column(col, justify=j, no_wrap=col not in ("place", "quantity"),
                     min_width={"place": 12, "quantity": 10}.get(col))
    for r in comp.to_dict("records"):
        sim = r["simulated"]
        if isinstance(sim, float) and math.isnan(sim):
            hit, err, lerr = Text("outside run", style="dim"), "–", "–"
        else:
            hit = Text("✓", style="green") if r["hit"] else Text("✗", style="red")
            err = _fmt(r["rel_error"])
            lerr = _fmt(r.get("log_error"))
        t.add_row(str(r["date"])[:10], str(r["place"]), str(r["quantity"]), _range(r["low"], r["high"]),
                  _fmt(sim), hit, err, lerr)
    s = Table(title="summary", title_justify="left", header_style="bold")
    for col in ("quantity", "n", "hit share", "median rel. err", "mean rel. err", "FLEE ARD"):
        s.add_column(col, justify="left" if col == "quantity" else "right")
    for q, v in sc["by_quantity"].items():
        s.add_row(q, str(v["n"]), _fmt(v["hit_share"], pct=True), _fmt(v["median_rel_error"]),
                  _fmt(v["mean_rel_error"]), _fmt(v.get("flee_ard")))
    o = sc["overall"]
    s.add_row(Text("overall", style="bold"), str(o["n"]), _fmt(o["hit_share"], pct=True), _fmt(o["median_rel_error"]),
              _fmt(o["mean_rel_error"]), _fmt(sc.get("flee_ard")), end_section=True)
    return [t, s]


def _forecast_table(df: pd.DataFrame, title: str) -> Table:
    """One row per observation: the observed range, the forecast band and median, hit and error."""
    import numpy as np

    t = Table(title=title, title_justify="left", header_style="bold")
    cols = [c for c in ("date", "place", "quantity") if c in df.columns]
    bands = [c for c in ("p50",) if c in df.columns]
    band90 = "p05" in df.columns and "p95" in df.columns
    extra = [c for c in ("hit", "in_band", "rel_error") if c in df.columns]
    for c in cols:
        t.add_column(c, no_wrap=c == "date", min_width={"place": 10, "quantity": 8}.get(c))
    t.add_column("observed", justify="right", no_wrap=True)
    for c in bands:
        t.add_column(c, justify="right")
    if band90:
        t.add_column("p05–p95", justify="right")
    for c in extra:
        t.add_column({"in_band": "in band", "rel_error": "err"}.get(c, c), justify="right")
    for r in df.to_dict("records"):
        row = [str(r[c])[:10] if c == "date" else str(r[c]) for c in cols]
        row.append(_range(r.get("low"), r.get("high")) if "low" in r else "–")
        row += [_fmt(r[c]) for c in bands]
        if band90:
            row.append(f"{_fmt(r['p05'])}–{_fmt(r['p95'])}")
        for c in extra:
            v = r[c]
            row.append(("✓" if v else "✗") if isinstance(v, (bool, np.bool_)) else _fmt(v))
        t.add_row(*row)
    return t


def validate_command(run_dir: Path, observations: Optional[Path]) -> None:
    from travesia.term import out

    if (run_dir / "forecast.csv").exists() and not (run_dir / "totals.csv").exists():
        try:
            from travesia.ensemble.forecast import validate_forecast
        except ImportError:
            raise UserError("this is a forecast folder (forecast.csv), and forecast validation is not available "
                            "in this installation (travesia.ensemble.forecast)", where=str(run_dir)) from None
        obs = observations if observations is not None else run_dir / "observations.csv"
        df, sc = validate_forecast(run_dir, obs)
        out.print(_forecast_table(df, f"forecast {run_dir} against {obs}"))
        scalars = {k: v for k, v in (sc or {}).items()
                   if isinstance(v, (int, float, str)) and k not in ("observations", "written")}
        if scalars:
            out.print("  ".join(f"{k} {_fmt(v) if isinstance(v, (int, float)) else v}" for k, v in scalars.items()))
        out.print(_wrote(sc, observations))
        return
    from travesia.analysis.observe import validate_run

    comp, sc = validate_run(run_dir, observations)
    for r in comparison_table(comp, sc, f"{run_dir} against {sc['observations']}"):
        out.print(r)
    if sc.get("n_outside_run"):
        out.print(f"{sc['n_outside_run']} observation(s) dated outside the run are not scored", style="dim")
    obj = sc.get("objective")
    out.print(f"objective (mean log error): {_fmt(obj)}")
    out.print(_wrote(sc, observations))


def _wrote(sc: dict, observations: Optional[Path]) -> str:
    a, b = sc["written"]
    if Path(a).name == "validation.csv":
        return f"wrote {a} and {b}"
    return (f"wrote {a} and {b} (other observations than the run's own: its validation.csv and "
            "validation.json are left as they were)")


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the travesia command line."""

    @app.command("validate")
    def validate(
        run_dir: Path = typer.Argument(..., help="a run folder (from travesia run) or a forecast folder"),
        observations: Optional[Path] = typer.Option(
            None, "--observations", "-O", help="observations CSV (default: the run's observations.csv)"),
    ) -> None:
        """Compare a run with observations: hits, relative errors, FLEE's averaged relative difference.

        Prints a table and writes validation.csv and validation.json into RUN_DIR; with --observations
        OTHER.csv, validation-OTHER.csv and validation-OTHER.json beside them (the run's own are kept).
        """
        validate_command(run_dir, observations)
