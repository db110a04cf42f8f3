"""The command line: a thin layer over the library. Each command parses its options and calls one
library function.

Exit codes: 0 done; 2 a problem with the input (one message naming the file, line, key or
option); 70 an internal error (one line on the terminal, the traceback in a log file);
130 interrupted."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from travesia.errors import UserError
from travesia.term import err, error, out
from travesia.toolkit.commands import DROP_EVENT_HELP, EVENT_HELP

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="travesia: simulate and forecast migrant caravans and refugee flows, person by person.")
EXIT_USER = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)


def progress_bar(label: str, total: int):
    """A Rich progress bar on a terminal, nothing otherwise; returns (callback, context manager)."""
    from contextlib import nullcontext

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not err.is_terminal:
        return None, nullcontext()
    prog = Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
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
    event: List[str] = typer.Option([], "--event", help=EVENT_HELP),
    drop_event: List[str] = typer.Option([], "--drop-event", help=DROP_EVENT_HELP),
    force: bool = typer.Option(False, "--force", help="replace an earlier run in --out"),
    check: bool = typer.Option(False, "--check", help="assert the invariants (nobody lost) after every day"),
    threads: int = typer.Option(1, "--threads", help="numba threads for the engine's kernels (same results on any number)"),
) -> None:
    """Run a scenario once and write daily.csv, flows.csv, totals.csv, summary.json, scenario.resolved.yaml."""
    from travesia.api import run_scenario

    from travesia.scenario.load import parse_overrides

    res = run_scenario(scenario, out_dir=out_dir, days=days, seed=seed, scale=scale,
                       overrides=parse_overrides(set_, event, drop_event),
                       params_file=params, force=force, check=check, progress=progress_bar, threads=threads)
    s = res["summary"]
    fs = s["final_states"]
    out.print(f"{s['scenario']}: {s['people_created']:,} people, {s['days']} days "
              f"({s['start']} to {s['end']}), seed {s['seed']}")
    out.print("  final: " + (", ".join(f"{k} {v:,}" for k, v in fs.items() if v) or "nobody"))
    if s["people_created"] == 0:
        from rich.text import Text

        err.print(Text.assemble(("warning: ", "yellow"), f"nobody was simulated: at --scale {scale:g} every "
                                "population rounds to 0 people (or the scenario has none)"))
    for name, d in s["destinations"].items():
        if d["arrived"]:
            more = f" (reached by {d['reached']:,} with those passing through)" if d.get("reached", 0) > d["arrived"] else ""
            out.print(f"  {name}: {d['arrived']:,} arrived (journey ended there){more}, first {d['first_arrival']}, "
                      f"median {d['median_arrival']}")
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
    event: List[str] = typer.Option([], "--event", help=EVENT_HELP),
    drop_event: List[str] = typer.Option([], "--drop-event", help=DROP_EVENT_HELP),
    timeline: bool = typer.Option(False, "--timeline", help="list the timeline events, numbered as --drop-event N counts them"),
    strict: bool = typer.Option(False, "--strict", help="exit with code 1 when there are warnings"),
) -> None:
    """Load and check a scenario without running it; warn about what it probably does not mean."""
    from rich.text import Text

    from travesia.scenario.lint import scenario_warnings, timeline_lines
    from travesia.scenario.load import load_scenario, parse_overrides

    s = load_scenario(scenario, parse_overrides(set_, event, drop_event))
    p = s.params
    if p.rules == "flee":  # the flee rule set's own parameters, checked as a run would
        from travesia.engine.processes.flee_rules.params import flee_params

        flee_params(p.flee, where=f"{s.folder / 'scenario.yaml'}" if s.folder else "scenario.yaml")
    out.print(f"{p.name}: OK — {len(s.places)} places, {len(s.legs)} legs, {len(p.populations)} populations, "
              f"{p.people:,} people, "
              f"{len(p.timeline)} events, {0 if s.observations is None else len(s.observations)} observations")
    if timeline:
        for line in timeline_lines(s):
            out.print(line)
    warns = scenario_warnings(s)
    for w in warns:
        err.print(Text.assemble(("warning: ", "yellow"), w))
    if warns and strict:
        sys.exit(1)


def _register_optional_commands() -> None:
    """Commands that live in their own modules add themselves here (import errors are bugs: re-raised)."""
    import importlib

    for mod in ("travesia.analysis.commands", "travesia.report.commands", "travesia.flee.commands",
                "travesia.ensemble.commands", "travesia.toolkit.commands"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod or (e.name and mod.startswith(e.name + ".")):
                continue
            raise
        m.register(app)


_register_optional_commands()


def _crash_log(exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to a log file; return its path (None if impossible)."""
    import datetime as dt
    import os
    import tempfile
    import traceback

    from travesia import __version__

    text = (f"travesia {__version__}, {dt.datetime.now(dt.timezone.utc).isoformat()}\n"
            f"command: {' '.join(sys.argv)}\ncwd: {os.getcwd()}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    name = f"travesia-crash-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{os.getpid()}.log"
    dirs = [os.environ.get("TRAVESIA_LOG_DIR"),
            os.path.join(os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "travesia"),
            tempfile.gettempdir()]
    for d in dirs:
        if not d:
            continue
        try:
            os.makedirs(d, exist_ok=True)
            p = Path(d) / name
            with open(p, "x", encoding="utf-8") as f:
                f.write(text)
            return p
        except OSError:
            continue
    return None


def _os_error_message(e: OSError) -> str:
    """An OS error on a path as one line: the path, then what the system said."""
    what = e.strerror or str(e)
    if e.filename is not None:
        extra = f" -> {e.filename2}" if getattr(e, "filename2", None) else ""
        return f"{e.filename}{extra}: {what}"
    return what


def main() -> None:
    """The ``travesia`` program: run the command; turn every failure into one line and an exit code."""
    from travesia.errors import current_step

    try:
        app(standalone_mode=False)
    except UserError as e:
        error(str(e))
        sys.exit(EXIT_USER)
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    except MemoryError:
        step = current_step()
        error(f"out of memory{' while ' + step if step else ''}; try a smaller --scale, fewer days or members")
        sys.exit(EXIT_USER)
    except SystemExit:
        raise
    except BaseException as e:  # usage errors from (Typer's) click: missing argument, bad option value ...
        if type(e).__name__ == "Exit" and hasattr(e, "exit_code"):
            sys.exit(e.exit_code)
        if hasattr(e, "show") and hasattr(e, "exit_code"):
            e.show()
            sys.exit(EXIT_USER)
        if isinstance(e, OSError) and e.filename is not None:
            # a path the system refused (read-only, no space, name too long ...): the user's to fix
            step = current_step()
            error(f"{_os_error_message(e)}{' (while ' + step + ')' if step else ''}")
            sys.exit(EXIT_USER)
        # the last line of defence: a bug. One line here, the traceback in a log file.
        log = _crash_log(e)
        step = current_step() or f"running 'travesia {' '.join(sys.argv[1:2])}'"
        msg = str(e).splitlines()[0][:200] if str(e) else ""
        error(f"internal error while {step}: {type(e).__name__}{': ' + msg if msg else ''}"
              + (f" (traceback in {log}; please report it)" if log else " (no log file could be written)"))
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
