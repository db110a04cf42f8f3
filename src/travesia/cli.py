"""The command line: a thin layer over the library. Each command parses its options and calls one
library function. User errors print one message and exit with code 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from travesia.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="travesia: simulate and forecast migrant caravans and refugee flows, person by person.")
err = Console(stderr=True)
out = Console()


def progress_bar(label: str, total: int):
    """A Rich progress bar on a terminal, nothing otherwise; returns (callback, context manager)."""
    from contextlib import nullcontext

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err.is_terminal:
        return None, nullcontext()
    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True)
    task = prog.add_task(label, total=total)

    def cb(done: int, tot: int) -> None:
        prog.update(task, completed=done, total=tot)

    return cb, prog


@app.command()
def run(
    scenario: str = typer.Argument(..., help="scenario folder, its scenario.yaml, or a built-in name (caravan-2018)"),
    out_dir: Path = typer.Option(..., "--out", "-o", help="folder for the results (created)"),
    days: Optional[int] = typer.Option(None, help="days to simulate (default: the scenario's)"),
    seed: Optional[int] = typer.Option(None, help="random seed (default: the scenario's)"),
    scale: float = typer.Option(1.0, help="multiply every population, capacity and crowd threshold by K"),
    set_: List[str] = typer.Option([], "--set", help="override a parameter: --set movement.foot_km_per_day=40"),
    params: Optional[Path] = typer.Option(None, "--params", help="overlay YAML of parameter values (from calibrate)"),
    force: bool = typer.Option(False, "--force", help="replace an earlier run in --out"),
    check: bool = typer.Option(False, "--check", help="assert the invariants (nobody lost) after every day"),
) -> None:
    """Run a scenario once and write daily.csv, flows.csv, totals.csv, summary.json, scenario.resolved.yaml."""
    from travesia.api import run_scenario

    res = run_scenario(scenario, out_dir=out_dir, days=days, seed=seed, scale=scale, overrides=set_,
                       params_file=params, force=force, check=check, progress=progress_bar)
    s = res["summary"]
    fs = s["final_states"]
    out.print(f"[bold]{s['scenario']}[/bold]: {s['people_created']:,} people, {s['days']} days "
              f"({s['start']} to {s['end']}), seed {s['seed']}")
    out.print("  final: " + ", ".join(f"{k} {v:,}" for k, v in fs.items() if v))
    for name, d in s["destinations"].items():
        if d["arrived"]:
            out.print(f"  {name}: {d['arrived']:,} arrived, first {d['first_arrival']}, median {d['median_arrival']}")
    out.print(f"  {s['live_agent_steps_per_second']:,.0f} live agent-steps/s, {s['wall_time_s']:.2f} s")
    out.print(f"results in {res['out']}/")


@app.command()
def init(
    name: str = typer.Argument(..., help="built-in scenario to copy (caravan-2018)"),
    folder: Path = typer.Argument(..., help="new folder to copy it into"),
) -> None:
    """Copy a built-in scenario into a folder, to edit and run."""
    from travesia.scenario.builtin import init_scenario

    p = init_scenario(name, folder)
    out.print(f"copied built-in scenario {name} to {p}/ ; run it with: travesia run {p} --out RESULTS")


@app.command("list")
def list_() -> None:
    """List the built-in scenarios."""
    from travesia.scenario.builtin import builtin_names
    from travesia.scenario.load import load_scenario

    for n in builtin_names():
        s = load_scenario(n).params
        out.print(f"{n}: {s.description}")


@app.command()
def check(
    scenario: str = typer.Argument(..., help="scenario folder or built-in name"),
    set_: List[str] = typer.Option([], "--set", help="override a parameter"),
) -> None:
    """Load and check a scenario without running it."""
    from travesia.scenario.load import load_scenario, parse_overrides

    s = load_scenario(scenario, parse_overrides(set_))
    p = s.params
    out.print(f"{p.name}: OK — {len(s.places)} places, {len(s.legs)} legs, {len(p.populations)} populations, "
              f"{sum(x.size + sum(j.size for j in x.joiners) for x in p.populations):,} people, "
              f"{len(p.timeline)} events, {0 if s.observations is None else len(s.observations)} observations")


def _register_optional_commands() -> None:
    """Commands that live in their own modules add themselves here (import errors are bugs: re-raised)."""
    import importlib

    for mod in ("travesia.analysis.commands", "travesia.report.commands", "travesia.flee.commands",
                "travesia.ensemble.commands"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod or (e.name and mod.startswith(e.name + ".")):
                continue
            raise
        m.register(app)


_register_optional_commands()


def main() -> None:
    try:
        app(standalone_mode=False)
    except UserError as e:
        err.print(f"[bold red]error:[/bold red] {e}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    except Exception as e:  # usage errors from (Typer's) click: missing argument, bad option value ...
        if type(e).__name__ == "Exit" and hasattr(e, "exit_code"):
            sys.exit(e.exit_code)
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
