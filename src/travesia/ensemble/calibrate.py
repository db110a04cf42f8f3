"""Calibration: fit the declared priors' parameters to observations with Optuna.

The objective of a parameter set is the validation metric
(:func:`travesia.analysis.observe.objective`, the mean log error against the observed ranges)
averaged over ``seeds`` runs. Every trial uses the same seeds (common random numbers: member seeds
:func:`~travesia.ensemble.priors.member_seed` (``seed``, ``r``), r = 0..seeds-1), so two trials
differ by their parameters and not by their luck. Parameters are searched within each prior's
range (uniform, loguniform and truncnormal: [low, high], log-scaled for loguniform; normal: mean ±
3 sd), within the parameter's valid range.

Trials are asked in batches of fixed size (``batch``, independent of the number of workers), run
on Dask, and told back in trial order, so the study depends on ``seed`` and ``batch`` only. The
study lives in ``DIR/study.db`` (SQLite): run the same command again and an interrupted
calibration resumes where it stopped, up to ``trials`` completed trials in all.

Outputs in DIR: ``best_params.yaml`` (an overlay for ``--params``), ``posterior.csv`` (the best
``top`` trials: a posterior-like sample for ``ensemble --posterior``), ``trials.csv`` (every
trial) and ``calibration.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.ensemble.cluster import check_local_workers
from travesia.ensemble.files import atomic_write, csv_text
from travesia.ensemble.priors import member_seed, param_info, prior_source, scenario_priors
from travesia.ensemble.runner import Layout, MemberSpec, RunConfig, layout_of, maybe_client, run_members
from travesia.errors import UserError
from travesia.output import RUN_MARKER, RUN_MARKER_MANIFEST, read_manifest
from travesia.scenario.load import LoadedScenario, load_scenario
from travesia.scenario.schema import Prior

STUDY = "study.db"
CAL_MARKER = "calibration"
MAX_FAILED = 20  # trials in a row that fail (no objective) before a calibration stops (or --batch, if more)


def search_space(priors: dict[str, Prior]) -> dict[str, Any]:
    """Optuna distributions for the priors (see the module doc)."""
    import optuna

    out = {}
    for path, pr in sorted(priors.items()):
        tp, lo_ok, hi_ok = param_info(path)
        if pr.dist == "normal":
            lo, hi = pr.mean - 3 * pr.sd, pr.mean + 3 * pr.sd
        else:
            lo, hi = pr.low, pr.high
        if lo_ok is not None:
            lo = max(lo, lo_ok)
        if hi_ok is not None:
            hi = min(hi, hi_ok)
        if pr.integer or tp is int:
            out[path] = optuna.distributions.IntDistribution(int(math.ceil(lo)), int(math.floor(hi)),
                                                             log=pr.dist == "loguniform")
        else:
            out[path] = optuna.distributions.FloatDistribution(float(lo), float(hi), log=pr.dist == "loguniform")
    return out


def select_observations(obs: pd.DataFrame | None, start: dt.date, until: dt.date | None, *,
                        end: dt.date | None = None, source: str | None = None) -> pd.DataFrame:
    """Observations dated from ``start`` up to ``until`` (inclusive) and, with ``end`` (the last
    day the scenario runs), no later than it; a UserError naming ``source`` (the observations file,
    or --until) if none is left."""
    if obs is None or obs.empty:
        if source is not None:
            raise UserError("no observations to calibrate against (the file has a header and no rows)",
                            where=source)
        raise UserError("no observations to calibrate against: the scenario has none; pass --observations FILE")
    keep = obs[(obs["date"] >= start) & ((obs["date"] <= until) if until is not None else True)
               & ((obs["date"] <= end) if end is not None else True)]
    if keep.empty:
        first, last = min(obs["date"]), max(obs["date"])
        dated = f"the observations are dated {first}..{last}"
        if until is not None and until < start:
            raise UserError(f"no observations between {start} and {until}: {until} is before the scenario's start",
                            where="--until")
        if until is not None and not obs[(obs["date"] >= start) & (obs["date"] <= (end or until))].empty:
            raise UserError(f"no observations between {start} and {until} ({dated})", where="--until")
        raise UserError(f"no observation falls in the run's dates {start}..{end or until} ({dated}); "
                        "calibration compares runs with observations made while they run",
                        where=source or "--observations")
    return keep.reset_index(drop=True)


def trial_objective(layout: Layout, vectors: list[np.ndarray], obs: pd.DataFrame) -> float:
    """The validation objective of one trial: mean over its seeds' runs."""
    from travesia.analysis.observe import compare, objective

    keys = layout.keys()
    vals = []
    for v in vectors:
        vals.append(objective(compare(keys.assign(people=v), obs)))
    return float(np.mean(vals))


def best_params_text(what: str, extra: str, config: dict, params: dict) -> str:
    """``best_params.yaml``: a header saying where the values come from, and a ``params:`` section
    that ``--params`` reads (calibration by trials and by ABC write the same form)."""
    lines = [f"# travesia calibrate: {what}",
             f"# scenario {config['scenario']}, observations up to {config['until']}" + (f", {extra}" if extra else ""),
             "# use with: travesia run|ensemble|forecast SCENARIO --params best_params.yaml", "params:"]
    lines += [f"  {n}: {v!r}" for n, v in params.items()]
    return "\n".join(lines) + "\n"


SQLITE_HEADER = b"SQLite format 3\x00"


def cannot_resume(path: Path, why: str) -> UserError:
    """The error of an earlier calibration that is broken: it names the file and how to start over
    (the file itself is left as it is)."""
    return UserError(f"{why}: this calibration cannot be resumed (the file was left as it is); choose another "
                     "--out to start afresh, or --force to discard this one", where=str(path))


def check_database(path: Path) -> None:
    """An SQLite history (study.db, abc.db) that can be opened: an empty file or one with SQLite's
    header; anything else is :func:`cannot_resume`, before SQLite or Optuna opens (or writes) it."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as e:
        raise cannot_resume(path, f"cannot be read ({e.strerror})") from None
    if head and head != SQLITE_HEADER:
        raise cannot_resume(path, "not an SQLite database")


def _earlier_record(out: Path, db: str) -> dict:
    """The calibration.json of an earlier calibration in ``out`` ({} if there is none), its history
    file checked (:func:`check_database`); a broken record is :func:`cannot_resume`."""
    check_database(out / db)
    path = out / "calibration.json"
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise cannot_resume(path, f"not a calibration record (not JSON: {str(e).splitlines()[0]})") from None
    except OSError as e:
        raise cannot_resume(path, f"cannot be read ({e.strerror})") from None
    if not isinstance(old, dict):
        raise cannot_resume(path, f"not a calibration record (a JSON {type(old).__name__}, expected an object)")
    return old


def _prepare_dir(out: Path, force: bool, config: dict, db: str = STUDY) -> None:
    """A new folder, or an earlier calibration with the same settings (resumed), or --force."""
    if out.exists():
        if not out.is_dir():
            raise UserError("exists and is not a folder; choose another --out", where=str(out))
        if any(out.iterdir()):
            marker = out / RUN_MARKER
            if not marker.exists():
                raise UserError("exists, is not empty and is not a travesia result folder; choose another --out "
                                "(nothing was overwritten)", where=str(out))
            is_cal = (out / db).exists() and CAL_MARKER in marker.read_text()
            old = {} if force or not is_cal else _earlier_record(out, db)
            same = is_cal and old.get("config_key") == config["config_key"]
            if force:
                from travesia.output import foreign_files

                foreign = foreign_files(out)
                if foreign:
                    raise UserError(f"holds files travesia did not write ({', '.join(foreign[:5])}); move them "
                                    "out of the folder or choose another --out (nothing was replaced)", where=str(out))
                shutil.rmtree(out)
            elif not is_cal:
                raise UserError("holds an earlier result that is not a calibration; use --force to replace it",
                                where=str(out))
            elif not same:
                raise UserError("holds a calibration with other settings (scenario, priors, observations, seeds); "
                                "use --force to start afresh", where=str(out))
    out.mkdir(parents=True, exist_ok=True)
    if not (out / RUN_MARKER).exists() or read_manifest(out) is None:
        # the files travesia writes here are listed (atomic_write adds the others): --force never
        # deletes a file the user put in the folder
        (out / RUN_MARKER).write_text(f"travesia {__version__} {CAL_MARKER}\n{RUN_MARKER_MANIFEST}\n"
                                      + "".join(f"{db}{x}\n" for x in ("", "-journal", "-wal", "-shm"))
                                      + "".join(f"{e.name}\n" for e in out.iterdir() if e.name != RUN_MARKER))


def run_calibration(base: LoadedScenario, priors: dict[str, Prior], obs: pd.DataFrame, *, out: Path,
                    trials: int, until: dt.date | None = None, seed: int = 0, seeds: int = 3, batch: int = 8,
                    top: int | None = None, scale: float = 1.0, force: bool = False, client: Any = None,
                    workers: int | None = None, scheduler: str | None = None,
                    progress: Callable[[int, int], None] | None = None, source: str | None = None,
                    blame: Callable[[str], str] | None = None) -> dict:
    """Calibrate a loaded scenario against ``obs`` (already read from ``source``, the file named in
    errors); see the module doc. ``blame(path)``: where a prior comes from (for a trial's values
    that cannot run)."""
    import optuna
    from optuna.trial import TrialState
    from sqlalchemy.exc import SQLAlchemyError

    if trials < 1:
        raise UserError(f"--trials must be >= 1, got {trials}")
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    start = base.params.start
    obs = select_observations(obs, start, until, end=start + dt.timedelta(days=base.params.days - 1),
                              source=source)
    last = max(obs["date"]) if until is None else until
    days = (last - start).days + 1
    if days > base.params.days:
        days = base.params.days
    space = search_space(priors)
    from travesia.output import QUANTITIES

    quantities = tuple(q for q in QUANTITIES if q in set(obs["quantity"]))
    cfg = RunConfig(days=days, scale=scale, quantities=quantities)
    obs_key = csv_text(obs[["date", "place", "quantity", "low", "high"]])
    config = {"scenario": base.name, "priors": {k: v.model_dump() for k, v in sorted(priors.items())},
              "until": last.isoformat(), "seed": seed, "seeds": seeds, "batch": batch, "scale": scale,
              "overrides": {k: str(v) for k, v in sorted(base.overrides.items())},
              "observations": len(obs)}
    config["config_key"] = hashlib.sha1((json.dumps(config, sort_keys=True, default=str) + obs_key).encode()
                                        ).hexdigest()
    out = Path(out)
    _prepare_dir(out, force, config)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    storage = f"sqlite:///{(out / STUDY).resolve()}"
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(4, min(10, trials // 3)))
    try:
        study = optuna.create_study(study_name="travesia", storage=storage, sampler=sampler, direction="minimize",
                                    load_if_exists=True)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            study.tell(t.number, state=TrialState.FAIL)  # left running by an interrupted calibration
    except (SQLAlchemyError, optuna.exceptions.OptunaError) as e:
        raise cannot_resume(out / STUDY, f"not an Optuna study ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else 'no message'})") from None
    atomic_write(out / "calibration.json", json.dumps({**config, "status": "running"}, indent=2, default=str) + "\n")
    seeds_list = [member_seed(seed, r) for r in range(seeds)]
    layout = layout_of(base, cfg)

    def n_complete() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    failed = 0  # trials in a row whose objective could not be computed
    with maybe_client(client, workers, scheduler) as c:
        while (done := n_complete()) < trials:
            if failed >= max(MAX_FAILED, batch):
                raise UserError(f"the last {failed} trials all failed: their runs gave no value to compare with "
                                f"any of the {len(obs)} observations used (the study so far is kept in "
                                f"{out / STUDY})", where=source or "--observations")
            if progress is not None:
                progress(done, trials)
            asked = [study.ask(space) for _ in range(min(batch, trials - done))]
            specs = []
            for t in asked:
                params = {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in t.params.items()}
                for r, s in enumerate(seeds_list):
                    specs.append(MemberSpec(member=t.number * seeds + r, seed=s, params=params))
            vectors: dict[int, np.ndarray] = {}
            run_members(c, base, specs, cfg, vectors.__setitem__, blame=blame)
            for j, t in enumerate(asked):
                vs = [vectors[j * seeds + r] for r in range(seeds)]
                try:
                    value = trial_objective(layout, vs, obs)
                except ValueError:
                    value = float("nan")
                if math.isfinite(value):
                    study.tell(t, value)
                    failed = 0
                else:
                    study.tell(t, state=TrialState.FAIL)
                    failed += 1
        if progress is not None:
            progress(n_complete(), trials)
    return write_calibration(study, priors, out, config, top)


def write_calibration(study: Any, priors: dict[str, Prior], out: Path, config: dict, top: int | None) -> dict:
    """Write trials.csv, posterior.csv, best_params.yaml and calibration.json from the study."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = sorted(priors)
    rows = [{"trial": t.number, "objective": t.value, **{k: t.params[k] for k in names}} for t in done]
    trials_df = pd.DataFrame(rows, columns=["trial", "objective", *names]).sort_values("trial")
    k = top or max(5, len(done) // 5)
    post = trials_df.sort_values(["objective", "trial"]).head(k).reset_index(drop=True)
    post.insert(2, "rank", np.arange(1, len(post) + 1))
    best = post.iloc[0]
    best_params = {n: (int(best[n]) if param_info(n)[0] is int else float(best[n])) for n in names}
    text = best_params_text(f"best of {len(done)} trials, objective (mean log error) {best['objective']:.6g}",
                            f"{config['seeds']} seeds a trial", config, best_params)
    atomic_write(out / "trials.csv", csv_text(trials_df))
    atomic_write(out / "posterior.csv", csv_text(post))
    atomic_write(out / "best_params.yaml", text)
    meta = {**config, "status": "done", "trials": len(done), "best_objective": float(best["objective"]),
            "best_params": best_params, "posterior_rows": len(post), "version": __version__}
    atomic_write(out / "calibration.json", json.dumps(meta, indent=2, default=str) + "\n")
    return {"out": out, "best_params": best_params, "best_objective": float(best["objective"]),
            "trials": trials_df, "posterior": post, "meta": meta}


def calibrate(scenario: str | Path | LoadedScenario, *, out: str | Path, trials: int | None = None,
              method: str = "optuna", population: int = 100, generations: int = 4, check_members: int = 40,
              observations: str | Path | pd.DataFrame | None = None, until: dt.date | str | None = None,
              seed: int = 0, seeds: int = 3, batch: int = 8, top: int | None = None,
              params_file: str | Path | None = None, priors_file: str | Path | None = None,
              overrides: dict[str, Any] | None = None, scale: float = 1.0, force: bool = False,
              client: Any = None, workers: int | None = None, scheduler: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """``travesia calibrate``: load the scenario and observations, then :func:`run_calibration` (Optuna) or,
    with ``method="abc"``, :func:`travesia.ensemble.abc.run_abc` (an ABC-SMC posterior)."""
    from travesia.analysis.observe import load_observations
    from travesia.options import _int, check_common

    check_common(seed=seed, scale=scale, batch=batch, workers=workers, scheduler=scheduler)
    check_local_workers(workers, scheduler)
    if method not in ("optuna", "abc"):
        raise UserError(f"expected optuna or abc, got '{method}'", where="--method")
    if method == "optuna":
        _int(trials, "--trials", 1, 10**7)
    else:
        _int(population, "--population", 10, 10**6)
        _int(generations, "--generations", 1, 1000)
        _int(check_members, "--check-members", 0, 10**5)
    _int(seeds, "--seeds", 1, 10**4)
    if top is not None:
        _int(top, "--top", 1, 10**7)

    base = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario, overrides,
                                                                                params_file=params_file)
    priors = scenario_priors(base, priors_file, need="calibrate")
    if isinstance(until, str):
        try:
            until = dt.date.fromisoformat(until)
        except ValueError:
            raise UserError(f"expected a date YYYY-MM-DD, got '{until}'", where="--until") from None
    source = None
    if isinstance(observations, pd.DataFrame):
        obs = observations
    elif observations is not None:
        obs = load_observations(observations, base.places)
        source = str(observations)
    else:
        obs = base.observations
        if obs is not None and base.folder is not None and base.params.observations:
            source = str(base.folder / base.params.observations)
    if method == "abc":
        from travesia.ensemble.abc import run_abc

        return run_abc(base, priors, obs, out=Path(out), population=population, generations=generations, until=until,
                       seed=seed, scale=scale, check_members=check_members, force=force, client=client,
                       workers=workers, scheduler=scheduler, source=source)
    return run_calibration(base, priors, obs, out=Path(out), trials=trials, until=until, seed=seed, seeds=seeds,
                           batch=batch, top=top, scale=scale, force=force, client=client, workers=workers,
                           scheduler=scheduler, progress=progress, source=source,
                           blame=prior_source(base, priors_file))
