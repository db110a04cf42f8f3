"""Command line for the report: ``travesia report``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``report`` to the travesia command line."""

    @app.command("report")
    def report(
        folder: Path = typer.Argument(..., help="a travesia result folder: run, ensemble, forecast or backtest"),
        out: Optional[str] = typer.Option(None, "--out", "-o", help="HTML file to write (default FOLDER/report.html); "
                                          "must be new, or an earlier travesia report with --force; a path "
                                          "ending in / is a folder, to hold report.html"),
        png: bool = typer.Option(False, "--png", help="also write static PNG figures into figures/ beside the report"),
        backtest: Optional[Path] = typer.Option(None, "--backtest", help="a backtest folder whose scores the report "
                                                "shows (travesia backtest)"),
        force: bool = typer.Option(False, "--force", help="replace an earlier travesia report (and figures) at --out"),
    ) -> None:
        """Write one self-contained HTML report that works offline: map, charts, tables, needs.

        Makes the right report for the folder: a run (map, charts with the observations, validation,
        Sphere needs), an ensemble or a forecast (map with bands, fan charts, arrivals ahead, needs
        with bands), or a backtest (scores).
        """
        from travesia.report.build import build_report

        path = build_report(folder, out=out, png=png, force=force, backtest=backtest)
        from travesia.term import out as con

        con.print(f"report: {path}")
        if png:
            con.print(f"figures: {path.parent / 'figures'}/")
