"""``travesia import-flee``: the command line over :func:`travesia.flee.convert.import_flee`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("import-flee")
    def import_flee_cmd(
        flee_dir: Path = typer.Argument(..., help="FLEE folder: input_csv/, source_data/, [simsetting.yml]"),
        out: Path = typer.Option(..., "--out", "-o", help="scenario folder to write (created)"),
        name: Optional[str] = typer.Option(None, help="scenario name (default: the FLEE folder's name)"),
        force: bool = typer.Option(False, "--force", help="overwrite the scenario files in a non-empty --out"),
        as_written: bool = typer.Option(False, "--as-written", help="also apply simsetting.yml keys FLEE 3.1 does not "
                                        "read (sum_from_camps, capacity_scaling, conflict_spawn_decay_interval)"),
    ) -> None:
        """Convert a FLEE input folder into a travesia scenario (rules: flee); run it with travesia run."""

        from travesia.flee.convert import import_flee

        res = import_flee(flee_dir, out, force=force, name=name, as_written=as_written)
        from travesia.term import out as c
        c.print(f"imported {flee_dir} → {res['out']}/: {res['places']} places, {res['legs']} legs, "
                f"{res['people']:,} people, {res['days']} days, {res['observations']} observations")
        for n in res["notes"]:
            c.print(f"  note: {n}", highlight=False, soft_wrap=True, markup=False)
        c.print(f"run it with: travesia run {res['out']} --out RESULTS")
