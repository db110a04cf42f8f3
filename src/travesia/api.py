"""The library functions the command line calls: everything it does is available from Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from travesia.engine.sim import Result, Sim
from travesia.output import check_out_dir, summary, write_run
from travesia.scenario.load import LoadedScenario, load_scenario, parse_overrides


def simulate(scenario: str | Path | LoadedScenario, *, seed: int | None = None, days: int | None = None,
             scale: float = 1.0, overrides: dict[str, Any] | Iterable[str] | None = None,
             params_file: str | Path | None = None, check: bool = False,
             progress: Callable[[int, int], None] | None = None) -> Result:
    """Load (if needed) and run a scenario once; return the :class:`~travesia.engine.sim.Result`.

    ``overrides`` is a dict of parameter paths to values, or ``["path=value", ...]`` as on the
    command line.
    """
    if isinstance(scenario, LoadedScenario):
        loaded = scenario
        if overrides or params_file:
            raise ValueError("pass overrides when loading: load_scenario(..., overrides)")
    else:
        ov = parse_overrides(overrides) if overrides is not None and not isinstance(overrides, dict) else overrides
        loaded = load_scenario(scenario, ov or None, params_file=params_file)
    return Sim(loaded, seed=seed, days=days, scale=scale, check=check).run(progress)


def run_scenario(scenario: str | Path, *, out_dir: str | Path, days: int | None = None, seed: int | None = None,
                 scale: float = 1.0, overrides: Iterable[str] | dict | None = None,
                 params_file: str | Path | None = None, force: bool = False, check: bool = False,
                 progress=None, threads: int = 1) -> dict:
    """``travesia run``: run once and write the run folder. Returns {"out": path, "summary": dict}.
    ``threads``: numba threads of the engine's kernels (the same bytes on any number)."""
    from travesia.engine.core import set_threads, threads as threads_now
    from travesia.errors import doing
    from travesia.options import check_days, check_period, check_scale, check_seed, check_threads

    out_dir = Path(out_dir)
    check_days(days)
    check_seed(seed)
    check_scale(scale)
    check_threads(threads)
    check_out_dir(out_dir, force)  # fail before spending time on the run
    with doing("loading the scenario"):
        ov = parse_overrides(overrides) if overrides is not None and not isinstance(overrides, dict) else overrides
        loaded = load_scenario(scenario, ov or None, params_file=params_file)
    check_period(loaded.params.start, days)
    with doing("setting up the simulation"):
        sim = Sim(loaded, seed=seed, days=days, scale=scale, check=check)
    before = threads_now()
    set_threads(threads)
    try:
        with doing(f"simulating {loaded.name}"):
            if progress is not None:
                cb, ctx = progress(f"{loaded.name}", sim.days)
                with ctx:
                    result = sim.run(cb)
            else:
                result = sim.run()
    finally:
        set_threads(before)
    with doing(f"writing the results to {out_dir}"):
        write_run(result, out_dir, force=force)
    return {"out": out_dir, "summary": summary(result), "result": result}
