"""``travesia ensemble | calibrate | forecast | sensitivity``: thin commands over the library."""

from __future__ import annotations

import contextlib

from pathlib import Path
from typing import List, Optional

import typer

from travesia.ensemble.cluster import start_worker_server
from travesia.term import out  # markup off: user text printed as written
from travesia.toolkit.commands import DROP_EVENT_HELP, EVENT_HELP

SCHED_HELP = "address of an existing Dask scheduler, tcp://HOST:PORT (default: $TRAVESIA_SCHEDULER, else a local cluster)"
WORKERS_HELP = "local Dask worker processes (default: the CPU count); ignored with --scheduler"
PRIORS_HELP = "YAML of priors laid over the scenario's (path: {dist, low, high, ...}); 'caravan-2018' names the shipped one"


@contextlib.contextmanager
def stage_bars():
    """On a terminal, Rich progress bars (one per stage) fed by ``cb(stage, done, total)``; else None."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from travesia.cli import err

    if not err.is_terminal:
        yield None
        return
    prog = Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)
    tasks: dict[str, int] = {}

    def cb(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = prog.add_task(stage, total=total)
        prog.update(tasks[stage], completed=done, total=total)

    with prog:
        yield cb


@contextlib.contextmanager
def _progress(label: str):
    """``cb(done, total)`` for one stage's bar on a terminal, else None."""
    with stage_bars() as cb:
        yield None if cb is None else (lambda done, total: cb(label, done, total))


def register(app: typer.Typer) -> None:
    """Add the ensemble commands to the travesia command line."""

    @app.command()
    def ensemble(
        scenario: str = typer.Argument(..., help="scenario folder or built-in name"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for ensemble.csv, members.csv"),
        members: int = typer.Option(..., "--members", "-n", help="number of members"),
        seed: int = typer.Option(0, help="ensemble seed: member seeds and draws are keyed by (seed, member)"),
        workers: Optional[int] = typer.Option(None, help=WORKERS_HELP),
        scheduler: Optional[str] = typer.Option(None, help=SCHED_HELP),
        days: Optional[int] = typer.Option(None, help="days to simulate (default: the scenario's)"),
        scale: float = typer.Option(1.0, help="multiply every population, capacity and crowd threshold by K"),
        params: Optional[Path] = typer.Option(None, "--params", help="overlay YAML of parameter values (from calibrate)"),
        priors: Optional[str] = typer.Option(None, "--priors", help=PRIORS_HELP),
        posterior: Optional[Path] = typer.Option(None, "--posterior",
                                                 help="calibration folder or its posterior.csv: members take its rows in turn"),
        seeds_only: bool = typer.Option(False, "--seeds-only", help="vary the seed only, draw no parameters"),
        set_: List[str] = typer.Option([], "--set", help="override a parameter: --set movement.foot_km_per_day=40"),
        event: List[str] = typer.Option([], "--event", help=EVENT_HELP),
        drop_event: List[str] = typer.Option([], "--drop-event", help=DROP_EVENT_HELP),
        quantity: List[str] = typer.Option([], "--quantity", help="keep only these quantities (repeatable)"),
        place: List[str] = typer.Option([], "--place", help="keep only these places (repeatable)"),
        batch: Optional[int] = typer.Option(None, help="members per Dask task (default: automatic)"),
        threads: int = typer.Option(1, "--threads", help="numba threads of each worker's engine (default 1; "
                                    "the same results on any number)"),
        force: bool = typer.Option(False, "--force", help="replace an earlier result in --out"),
    ) -> None:
        """Run many members (seeds and parameter draws from the priors); write percentile bands per date, place, quantity."""
        start_worker_server(scheduler)  # the local workers' fork server loads the engine while this process reads
        from travesia.ensemble.ensemble import run_ensemble
        from travesia.scenario.load import parse_overrides

        with _progress("members") as cb:
            r = run_ensemble(scenario, members=members, out=out_dir, seed=seed, workers=workers, scheduler=scheduler,
                             days=days, scale=scale, params_file=params, priors_file=priors, posterior=posterior,
                             seeds_only=seeds_only, overrides=parse_overrides(set_, event, drop_event) or None, quantities=quantity,
                             places=place, force=force, batch_size=batch, progress=cb, threads=threads)
        m = r["meta"]
        for k, v in m["fixed"].items():
            out.print(f"{k} = {v} for every member (given by --set): its prior is not drawn")
        out.print(f"{m['scenario']}: {members} members on {r['workers']} worker(s) in "
                  f"{r['wall_s']:.1f} s ({m['members_per_second']:.2f} members/s), {len(m['priors'])} uncertain parameters")
        out.print(f"results in {r['out']}/ (ensemble.csv, members.csv, ensemble.json)")

    @app.command()
    def calibrate(
        scenario: str = typer.Argument(..., help="scenario folder or built-in name"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for the study (resumed if it exists) and results"),
        trials: Optional[int] = typer.Option(None, "--trials", help="optuna: completed trials in all (a resumed study adds "
                                             "the missing ones)"),
        method: str = typer.Option("optuna", "--method", help="optuna (point estimates, TPE) or abc (an ABC-SMC "
                                   "posterior with pyabc; history in DIR/abc.db, resumed)"),
        population: int = typer.Option(100, "--population", help="abc: particles per generation"),
        generations: int = typer.Option(4, "--generations", help="abc: generations in all (a resumed run adds the rest)"),
        check_members: int = typer.Option(40, "--check-members", help="abc: runs of the posterior predictive check"),
        observations: Optional[Path] = typer.Option(None, help="observations CSV (default: the scenario's)"),
        until: Optional[str] = typer.Option(None, help="use observations up to this date YYYY-MM-DD (runs stop there)"),
        seeds: int = typer.Option(3, help="runs (seeds) per trial; the same seeds for every trial"),
        seed: int = typer.Option(0, help="seed of the sampler and of the runs' seeds"),
        batch: int = typer.Option(8, help="trials asked and run together (independent of --workers)"),
        top: Optional[int] = typer.Option(None, help="trials in posterior.csv (default: max(5, trials/5))"),
        workers: Optional[int] = typer.Option(None, help=WORKERS_HELP),
        scheduler: Optional[str] = typer.Option(None, help=SCHED_HELP),
        params: Optional[Path] = typer.Option(None, "--params", help="overlay YAML of parameter values"),
        priors: Optional[str] = typer.Option(None, "--priors", help=PRIORS_HELP),
        set_: List[str] = typer.Option([], "--set", help="override a parameter"),
        event: List[str] = typer.Option([], "--event", help=EVENT_HELP),
        drop_event: List[str] = typer.Option([], "--drop-event", help=DROP_EVENT_HELP),
        force: bool = typer.Option(False, "--force", help="discard an earlier calibration in --out and start afresh"),
    ) -> None:
        """Fit the priors' parameters to observations: Optuna point estimates (study in DIR/study.db), or an
        ABC-SMC posterior with --method abc (DIR/abc.db); rerun to resume."""
        start_worker_server(scheduler)  # the local workers' fork server loads the engine while this process reads
        from travesia.ensemble.calibrate import calibrate as cal
        from travesia.scenario.load import parse_overrides

        if method == "abc":
            r = cal(scenario, out=out_dir, method="abc", population=population, generations=generations,
                    check_members=check_members, observations=observations, until=until, seed=seed,
                    params_file=params, priors_file=priors, overrides=parse_overrides(set_, event, drop_event) or None,
                    force=force, workers=workers, scheduler=scheduler)
            m = r["meta"]
            out.print(f"ABC-SMC: {m['generations']} generations, {m['simulations']} simulations; last generation: "
                      f"tolerance {m['epsilon']:.4f} (mean log error), acceptance {m['acceptance']:.3f}, "
                      f"ESS {m['ess']:.1f} of {m['population']}")
            out.print(f"posterior predictive check ({m['ppc_members']} runs): {m['ppc_coverage90']:.0%} of the "
                      "observations overlap the 90% band")
            for k, v in r["best_params"].items():
                out.print(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")
            out.print(f"results in {r['out']}/ (posterior.csv for --posterior/--calibration, abc_generations.csv, ppc.csv)")
            return
        if method != "optuna":
            from travesia.errors import UserError

            raise UserError(f"expected optuna or abc, got '{method}'", where="--method")
        if trials is None:
            from travesia.errors import UserError

            raise UserError("give --trials N (completed Optuna trials in all)", where="--trials")
        with _progress("trials") as cb:
            r = cal(scenario, out=out_dir, trials=trials, observations=observations, until=until, seed=seed,
                    seeds=seeds, batch=batch, top=top, params_file=params, priors_file=priors,
                    overrides=parse_overrides(set_, event, drop_event) or None, force=force, workers=workers, scheduler=scheduler,
                    progress=cb)
        out.print(f"best of {r['meta']['trials']} trials: objective (mean log error) {r['best_objective']:.4f}")
        for k, v in r["best_params"].items():
            out.print(f"  {k}: {v:.6g}" if isinstance(v, float) else f"  {k}: {v}")
        out.print(f"results in {r['out']}/ (best_params.yaml for --params, posterior.csv for --posterior, trials.csv)")

    @app.command()
    def forecast(
        scenario: str = typer.Argument(..., help="scenario folder or built-in name"),
        as_of: str = typer.Option(..., "--as-of", help="forecast from this date YYYY-MM-DD: nothing dated later is used"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for forecast.csv, report.html, ..."),
        members: int = typer.Option(..., "--members", "-n", help="ensemble members"),
        observations: Optional[Path] = typer.Option(None, help="observations CSV (default: the scenario's)"),
        calibration: Optional[Path] = typer.Option(None, help="reuse a calibration folder (its posterior.csv)"),
        trials: int = typer.Option(0, help="Optuna calibration trials on the observations up to --as-of before the "
                                   "ensemble (0: none, the members draw from the priors)"),
        seeds: int = typer.Option(2, help="runs (seeds) per calibration trial"),
        seed: int = typer.Option(0, help="seed of calibration and ensemble"),
        days: Optional[int] = typer.Option(None, help="days from the scenario's start (default: the scenario's)"),
        workers: Optional[int] = typer.Option(None, help=WORKERS_HELP),
        scheduler: Optional[str] = typer.Option(None, help=SCHED_HELP),
        params: Optional[Path] = typer.Option(None, "--params", help="overlay YAML of parameter values"),
        priors: Optional[str] = typer.Option(None, "--priors", help=PRIORS_HELP),
        set_: List[str] = typer.Option([], "--set", help="override a parameter"),
        resume: Optional[Path] = typer.Option(None, "--resume", help="an earlier forecast folder: start from its saved "
                                              "particles and assimilate only the reports that came after them"),
        event: List[str] = typer.Option([], "--event", help=EVENT_HELP),
        drop_event: List[str] = typer.Option([], "--drop-event", help=DROP_EVENT_HELP),
        force: bool = typer.Option(False, "--force", help="replace an earlier result in --out"),
    ) -> None:
        """Forecast from an as-of date: assimilate each report up to then (particle filter), write bands and a report."""
        start_worker_server(scheduler)  # the local workers' fork server loads the engine while this process reads
        from travesia.ensemble.forecast import forecast as fc
        from travesia.scenario.load import parse_overrides

        with stage_bars() as prog:
            r = fc(scenario, as_of=as_of, members=members, out=out_dir, observations=observations,
                   calibration=calibration, trials=trials, seeds=seeds, seed=seed, days=days, params_file=params,
                   priors_file=priors, overrides=parse_overrides(set_, event, drop_event) or None, force=force, workers=workers,
                   scheduler=scheduler, progress=prog, resume=resume)
        m = r["meta"]
        for k, v in m.get("fixed", {}).items():
            out.print(f"{k} = {v} for every member (given by --set): its prior is not drawn")
        out.print(f"{m['scenario']} as of {m['as_of']}: {m['members']} members to {m['end']}; "
                  f"{m['events_used']} events and {m['observations_used']} observations used, "
                  f"{m['events_dropped']} later events dropped; {m['calibration_note']}")
        for row in r["half_arrival"].itertuples(index=False):
            if row.members_with_arrivals:
                out.print(f"  {row.destination}: {row.arrived_p50:,.0f} arrive (90%: {row.arrived_p05:,.0f}–"
                          f"{row.arrived_p95:,.0f}); half by {row.half_date_p50} ({row.half_date_p05} – {row.half_date_p95})")
        s = r["scores"]
        if s:
            def f(v):
                return "–" if v is None else f"{v:.3f}"
            out.print(f"  against {s['n']} later observations: objective {f(s['objective'])}, hit share "
                      f"{100 * (s['hit_share'] or 0):.0f}%, 90% band coverage {100 * s['band_coverage']:.0f}%; naive: "
                      + ", ".join(f"{k.replace('_', ' ')} {f(v['objective'])}" for k, v in s["naive"].items()))
        out.print(f"results in {r['out']}/ (forecast.csv, half_arrival.csv, report.html)")

    @app.command()
    def backtest(
        scenario: str = typer.Argument(..., help="scenario folder or built-in name"),
        origins: str = typer.Option(..., "--origins", help="forecast origins YYYY-MM-DD[,YYYY-MM-DD...]"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for backtest.csv, backtest.json, origin folders"),
        members: int = typer.Option(..., "--members", "-n", help="ensemble members per origin"),
        observations: Optional[Path] = typer.Option(None, help="observations CSV to score on (default: the scenario's)"),
        seed: int = typer.Option(0, help="seed of every forecast"),
        trials: int = typer.Option(0, help="Optuna calibration trials per origin before the forecast (0: none)"),
        days: Optional[int] = typer.Option(None, help="days from the scenario's start (default: the scenario's)"),
        workers: Optional[int] = typer.Option(None, help=WORKERS_HELP),
        scheduler: Optional[str] = typer.Option(None, help=SCHED_HELP),
        priors: Optional[str] = typer.Option(None, "--priors", help=PRIORS_HELP),
        force: bool = typer.Option(False, "--force", help="replace an earlier result in --out"),
    ) -> None:
        """Forecast from each origin with what was known then; score every later report (WIS, CRPS, coverage, PIT)."""
        start_worker_server(scheduler)  # the local workers' fork server loads the engine while this process reads
        from rich.table import Table

        from travesia.ensemble.backtest import backtest as bt

        with stage_bars() as prog:
            r = bt(scenario, origins=origins, members=members, out=out_dir, observations=observations, seed=seed,
                   trials=trials, days=days, priors_file=priors, force=force, workers=workers, scheduler=scheduler,
                   progress=prog, report=True)
        s = r["summary"]
        t = Table(title=f"{r['meta']['scenario']}: backtest, {members} members, scores on ln(1 + count)")
        for c in ("origin", "n", "WIS", "rel. WIS", "CRPS", "50% cov", "90% cov", "<p05", ">p95"):
            t.add_column(c, justify="left" if c == "origin" else "right", no_wrap=True)
        for row in s[s["level"] != "quantity"].itertuples(index=False):
            t.add_row(row.origin or "overall", str(row.n), f"{row.wis:.2f}", f"{row.relative_wis:.2f}",
                      f"{row.crps:.2f}", f"{row.cover50:.2f}", f"{row.cover90:.2f}", f"{row.pit_below_p05:.2f}",
                      f"{row.pit_above_p95:.2f}")
        out.print(t)
        o = s[s["level"] == "overall"].iloc[0]
        out.print(f"naive forecasts, mean WIS: persistence {o.wis_persistence:.2f}, constant velocity "
                  f"{o.wis_constant_velocity:.2f}; per quantity in backtest_summary.csv")
        out.print(f"results in {r['out']}/ (backtest.csv, backtest_summary.csv, backtest.json, origin-*/)")

    @app.command()
    def sensitivity(
        scenario: str = typer.Argument(..., help="scenario folder or built-in name"),
        out_dir: Path = typer.Option(..., "--out", "-o", help="folder for sensitivity.csv, sensitivity.png"),
        samples: int = typer.Option(..., "--samples", help="Sobol base sample N, a power of 2 (runs: N·(D+2))"),
        seed: int = typer.Option(0, help="seed of the Sobol sequence and of the runs"),
        days: Optional[int] = typer.Option(None, help="days to simulate (default: the scenario's)"),
        by: Optional[str] = typer.Option(None, help="date of the arrivals and returns outputs (default: the last day)"),
        destination: str = typer.Option("(all)", help="place whose arrivals are an output ((all): all destinations)"),
        shelter: Optional[str] = typer.Option(None, help="place whose peak is an output (default: the busiest shelter)"),
        workers: Optional[int] = typer.Option(None, help=WORKERS_HELP),
        scheduler: Optional[str] = typer.Option(None, help=SCHED_HELP),
        params: Optional[Path] = typer.Option(None, "--params", help="overlay YAML of parameter values"),
        priors: Optional[str] = typer.Option(None, "--priors", help=PRIORS_HELP),
        set_: List[str] = typer.Option([], "--set", help="override a parameter"),
        event: List[str] = typer.Option([], "--event", help=EVENT_HELP),
        drop_event: List[str] = typer.Option([], "--drop-event", help=DROP_EVENT_HELP),
        force: bool = typer.Option(False, "--force", help="replace an earlier result in --out"),
    ) -> None:
        """Sobol sensitivity (SALib) of arrivals, returns and a shelter's peak to the declared priors."""
        start_worker_server(scheduler)  # the local workers' fork server loads the engine while this process reads
        from travesia.ensemble.sensitivity import sensitivity as sens
        from travesia.scenario.load import parse_overrides

        with _progress("runs") as cb:
            r = sens(scenario, samples=samples, out=out_dir, seed=seed, days=days, by=by, destination=destination,
                     shelter=shelter, params_file=params, priors_file=priors, overrides=parse_overrides(set_, event, drop_event) or None,
                     force=force, workers=workers, scheduler=scheduler, progress=cb)
        idx = r["indices"]
        for o, g in idx.groupby("output", sort=False):
            g = g.sort_values("ST", ascending=False)
            top = ", ".join(f"{row.parameter} (S1 {row.S1:.2f}, ST {row.ST:.2f})" for row in g.head(3).itertuples())
            out.print(f"  {o}: {top}")
        out.print(f"{r['meta']['runs']} runs; results in {r['out']}/ (sensitivity.csv, sensitivity.png, samples.csv)")
