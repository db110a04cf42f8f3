"""Command line for the report: ``travesia report``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``report`` to the travesia command line."""

    @app.command("report")
    def report(
        run_dir: Path = typer.Argument(..., help="a run folder (from travesia run)"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file to write (default RUN_DIR/report.html)"),
        png: bool = typer.Option(False, "--png", help="also write static PNG figures into figures/ beside the report"),
        force: bool = typer.Option(False, "--force", help="replace an earlier report at --out"),
    ) -> None:
        """Write one self-contained HTML report (map, charts, validation, Sphere needs) that works offline."""
        from travesia.report.build import build_report

        path = build_report(run_dir, out=out, png=png, force=force)
        from travesia.term import out as con

        con.print(f"report: {path}")
        if png:
            con.print(f"figures: {path.parent / 'figures'}/")
