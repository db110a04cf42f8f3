"""An approximate Bayesian posterior of the priors' parameters: ABC-SMC with pyabc.

``calibrate(..., method="abc")`` (``travesia calibrate SCENARIO --method abc``) runs pyabc's
sequential Monte Carlo ABC (Del Moral et al. 2012; Klinger et al. 2018) over the scenario's
priors:

- **parameters** are searched in each prior's probability scale ``u = CDF(value)``, ``u ~
  Uniform(0, 1)`` (so every kind of prior, uniform, log-uniform, normal or truncated normal, is
  the same to pyabc); a particle's values are ``ppf(u)``, clipped and rounded as an ensemble
  member's draws (:func:`.priors.to_value`);
- **the model** runs the scenario with those values up to the last observation used, with a run
  seed that is a function of the values (a pure function: the same particle gives the same run);
  its summary statistics are the simulated counts at the observations;
- **the distance** is the project's validation metric (:func:`travesia.analysis.observe.objective`):
  the mean log error against the reported ranges (0 inside a range, ``|ln((1 + x)/(1 + bound))|``
  outside); the tolerance of each generation is the median of the previous generation's
  distances (pyabc's default), the perturbation kernel a multivariate normal fitted to the
  previous population (pyabc's default);
- **the sampler** is pyabc's ``DaskDistributedSampler`` on travesia's Dask cluster (``--workers`` /
  ``--scheduler``), and the **history** lives in ``DIR/abc.db`` (SQLite): running the same command
  again with a larger ``--generations`` resumes from the last generation.

Outputs in DIR: ``posterior.csv`` (``--population`` rows, drawn from the last generation by its
importance weights with systematic resampling keyed by the seed: equally weighted, so that
``ensemble --posterior DIR`` and ``forecast --calibration DIR`` take its rows in turn),
``abc_generations.csv`` (per generation: tolerance ``epsilon``, simulations, accepted particles,
acceptance rate, effective sample size of the weights), ``abc_particles.csv`` (the last
generation with weights and distances), ``ppc.csv`` (the posterior predictive check: for each
observation used, the 5th, 50th and 95th percentiles of ``--check-members`` runs drawn from the
posterior, and whether the reported range overlaps that band), ``best_params.yaml`` (the
posterior's weighted medians) and ``calibration.json`` (the method, ESS, acceptance, the
check's coverage).

**Reproducible**: pyabc's Dask sampler seeds each particle's draws (its proposal from the prior or
the perturbation kernel) from fresh entropy, and the number of simulations it records depends on
how fast the workers are. The sampler here (:func:`_seeded_sampler`) keeps pyabc's sampler and seeds each
particle's draws by (seed, generation, job number) instead, and records the simulations up to the
last particle taken (pyabc takes the first ``population`` accepted in job order, whatever order
they finish in): the same seed gives the same generations, particles and posterior, byte for
byte, on any number of workers, and a run resumed from its history is the run made in one go.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.ensemble.files import atomic_write, csv_text
from travesia.ensemble.priors import member_seed, ppf, to_value
from travesia.ensemble.runner import RunConfig, maybe_client
from travesia.errors import UserError
from travesia.scenario.load import LoadedScenario
from travesia.scenario.schema import Prior

DB = "abc.db"
_BASES: dict[str, Any] = {}  # per worker process: unpickled scenarios by digest


def values_of(u: dict[str, float], priors: dict[str, Prior], names: list[str]) -> dict[str, int | float]:
    """A particle's parameter values from its probability-scale coordinates ``u`` (``p0``, ``p1``, ...)."""
    out = {}
    for i, path in enumerate(names):
        ui = min(max(float(u[f"p{i}"]), 1e-9), 1 - 1e-9)
        out[path] = to_value(path, priors[path], float(ppf(priors[path], ui)))
    return out


def run_seed(values: dict[str, Any], seed: int) -> int:
    """The run seed of a particle: a function of (seed, its values)."""
    h = hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).digest()
    return member_seed(seed, int.from_bytes(h[:4], "little"))


class Model:
    """pyabc's model: parameter values -> simulated counts at the observations (picklable; runs on a worker)."""

    def __init__(self, base: LoadedScenario, priors: dict[str, Prior], obs: pd.DataFrame, cfg: RunConfig,
                 seed: int):
        import pickle

        self.blob = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL)
        self.digest = hashlib.sha1(self.blob).hexdigest()
        self.priors, self.names = priors, sorted(priors)
        self.obs = obs[["date", "place", "quantity", "low", "high"]].reset_index(drop=True)
        self.cfg, self.seed = cfg, seed

    def base(self) -> LoadedScenario:
        import pickle

        if self.digest not in _BASES:
            _BASES.clear()
            _BASES[self.digest] = pickle.loads(self.blob)
        return _BASES[self.digest]

    def simulate(self, values: dict[str, Any], seed: int) -> np.ndarray:
        from travesia.engine.sim import Result, Sim
        from travesia.analysis.observe import simulated_values
        from travesia.ensemble.runner import member_scenario
        from travesia.output import totals_frame

        sim = Sim(member_scenario(self.base(), values, where="ABC particle"), seed=seed, days=self.cfg.days,
                  scale=self.cfg.scale)
        while sim.day < sim.days:
            sim.step()
        tf = totals_frame(Result(sim=sim, wall_s=0.0), quantities=self.cfg.quantities)
        return simulated_values(tf, self.obs)

    def __call__(self, par) -> dict:
        values = values_of(par, self.priors, self.names)
        return {"x": self.simulate(values, run_seed(values, self.seed))}


class Distance:
    """The mean log error of simulated counts against the reported ranges (the validation metric)."""

    def __init__(self, obs: pd.DataFrame):
        self.low = np.log1p(obs["low"].to_numpy(dtype=float))
        hi = obs["high"].to_numpy(dtype=float)
        self.high = np.where(np.isnan(hi), np.inf, np.log1p(np.nan_to_num(hi, nan=0.0)))

    def __call__(self, sim: dict, observed: dict | None = None, *args, **kwargs) -> float:
        lx = np.log1p(np.maximum(np.asarray(sim["x"], dtype=float), 0.0))
        err = np.maximum(0.0, np.maximum(self.low - lx, lx - self.high))
        ok = ~np.isnan(err)
        return float(err[ok].mean()) if ok.any() else float("inf")


def _seeded_batch(simulate_one_pickle: bytes, batch_size: int, job_ids: list[int], seed: int, t: int) -> list:
    """pyabc's batch of particles (``eps_mixin._global_full_submit_function_pickle``, the same
    result) with the draws of job ``j`` of generation ``t`` (-1: the calibration sample) seeded by
    ``(seed, t, j)``, not by fresh entropy."""
    import cloudpickle

    simulate_one = cloudpickle.loads(simulate_one_pickle)
    out = []
    for j in job_ids[:batch_size]:
        state = np.random.SeedSequence(entropy=int(seed), spawn_key=(0xABC, t + 1, j)).generate_state(4)
        np.random.seed(state)
        random.seed(int(state[0]))
        r = simulate_one()
        out.append((r, r.accepted, j))
    return out


class _Job:
    """A Dask future as pyabc's sampler sees it; notes (job number, accepted) of what it returns."""

    def __init__(self, future, seen: dict[int, bool]):
        self.future, self.seen = future, seen

    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> None:
        self.future.cancel()

    def result(self) -> list:
        batch = self.future.result()
        self.seen.update({j: bool(ok) for _, ok, j in batch})
        return batch


class _SeedingClient:
    """The Dask client as pyabc's sampler uses it (``submit``, ``ncores``), submitting
    :func:`_seeded_batch` for generation ``t``."""

    def __init__(self, client, seed: int, t: int):
        self.client, self.seed, self.t = client, seed, t
        self.seen: dict[int, bool] = {}

    def ncores(self) -> dict:
        return self.client.ncores()

    def submit(self, fn, simulate_one_pickle: bytes, batch_size: int, job_ids: list[int]) -> _Job:
        from pyabc.sampler import eps_mixin

        if fn is not eps_mixin._global_full_submit_function_pickle:  # pyabc 0.13's call; checked, not assumed
            raise RuntimeError(f"pyabc's sampler submitted {fn!r}, not the batch function this seeding replaces "
                               "(written for pyabc 0.13, the version requirements.txt pins)")
        return _Job(self.client.submit(_seeded_batch, simulate_one_pickle, batch_size, job_ids, self.seed, self.t,
                                       pure=False), self.seen)

    def evaluations(self, n: int) -> int:
        """Jobs up to and including the ``n``-th accepted one (pyabc's sample: one particle a job)."""
        ok = [j for j in sorted(self.seen) if self.seen[j]]
        return ok[n - 1] + 1


def _seeded_sampler(client, seed: int):
    """A :class:`SeededDaskSampler` (built here: pyabc is imported only when ABC runs)."""
    from pyabc.sampler import DaskDistributedSampler

    class SeededDaskSampler(DaskDistributedSampler):
        """pyabc's Dask sampler, reproducible (see the module doc): one particle a job."""

        def sample_until_n_accepted(self, n, simulate_one, t, **kw):
            real = self.client
            self.client = seeding = _SeedingClient(real, seed, t)
            try:
                sample = super().sample_until_n_accepted(n, simulate_one, t, **kw)
            finally:
                self.client = real
            self.nr_evaluations_ = seeding.evaluations(n)
            return sample

    return SeededDaskSampler(dask_client=client, batch_size=1, default_pickle=True)


def _prior(names: list[str]):
    import pyabc

    return pyabc.Distribution(**{f"p{i}": pyabc.RV("uniform", 0.0, 1.0) for i in range(len(names))})


def _systematic(w: np.ndarray, n: int, seed: int) -> np.ndarray:
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0xABC,))))
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return np.searchsorted(c, (g.random() + np.arange(n)) / n, side="left")


def _weighted_quantile(v: np.ndarray, w: np.ndarray, q: float) -> float:
    o = np.argsort(v)
    c = np.cumsum(w[o]) / w.sum()
    return float(v[o][min(int(np.searchsorted(c, q)), len(v) - 1)])


def _earlier_history(path: Path, db: str):
    """The pyabc History of an earlier run in ``path`` with at least one generation done, or None
    (no file, an empty one, or a run stopped before its first generation); a history that cannot
    be read, or a run whose generations are gone, is :func:`~.calibrate.cannot_resume`."""
    import pyabc
    from sqlalchemy.exc import SQLAlchemyError

    from travesia.ensemble.calibrate import cannot_resume, check_database

    if not path.exists() or path.stat().st_size == 0:
        return None
    check_database(path)
    try:
        h = pyabc.History(db)
        if h.id is None:  # no generation stored: no run at all, or one whose populations are gone
            if h.all_runs():
                raise cannot_resume(path, "holds an ABC run without its generations")
            return None
        return h if h.n_populations > 0 else None
    except (SQLAlchemyError, AssertionError, LookupError, TypeError, ValueError) as e:
        # pyabc's own checks (its format version) are assertions; a table emptied or edited by hand
        # gives None where it expects numbers
        raise cannot_resume(path, f"not a pyabc history that can be read ({type(e).__name__})") from None


def run_abc(base: LoadedScenario, priors: dict[str, Prior], obs: pd.DataFrame, *, out: Path, population: int,
            generations: int, until: dt.date | None, seed: int, scale: float, check_members: int,
            force: bool = False, client: Any = None, workers: int | None = None, scheduler: str | None = None,
            progress=None, source: str | None = None) -> dict:
    """ABC-SMC of the priors against ``obs`` (see the module doc); resumes an earlier ``DIR/abc.db``."""
    import pyabc
    from sqlalchemy.exc import SQLAlchemyError

    from travesia.ensemble.calibrate import _prepare_dir, best_params_text, cannot_resume, select_observations
    from travesia.output import QUANTITIES

    if population < 10:
        raise UserError(f"--population must be at least 10, got {population}", where="--population")
    if generations < 1:
        raise UserError(f"--generations must be at least 1, got {generations}", where="--generations")
    if not priors:
        raise UserError("ABC needs priors: the scenario declares none; give --priors FILE")
    start = base.params.start
    obs = select_observations(obs, start, until, end=start + dt.timedelta(days=base.params.days - 1), source=source)
    last = max(obs["date"]) if until is None else until
    days = min((last - start).days + 1, base.params.days)
    quantities = tuple(q for q in QUANTITIES if q in set(obs["quantity"]))
    cfg = RunConfig(days=days, scale=scale, quantities=quantities)
    names = sorted(priors)
    obs_key = csv_text(obs[["date", "place", "quantity", "low", "high"]])
    config = {"method": "abc", "scenario": base.name, "priors": {k: v.model_dump() for k, v in sorted(priors.items())},
              "until": last.isoformat(), "seed": seed, "population": population, "scale": scale,
              "overrides": {k: str(v) for k, v in sorted(base.overrides.items())}, "observations": len(obs)}
    config["config_key"] = hashlib.sha1((json.dumps(config, sort_keys=True, default=str) + obs_key).encode()
                                        ).hexdigest()
    out = Path(out)
    _prepare_dir(out, force, config, db=DB)
    db = f"sqlite:///{(out / DB).resolve()}"
    h = _earlier_history(out / DB, db)  # before anything in the folder changes
    atomic_write(out / "calibration.json", json.dumps({**config, "status": "running"}, indent=2, default=str) + "\n")
    model, distance = Model(base, priors, obs, cfg, seed), Distance(obs)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)
    np.random.seed(seed % 2**32)  # pyabc draws from NumPy's global generator (its particles: seeded apart)
    with maybe_client(client, workers, scheduler) as c:
        sampler = _seeded_sampler(c, seed)
        abc = pyabc.ABCSMC(model, _prior(names), distance, population_size=population, sampler=sampler)
        if h is not None:
            done = h.n_populations
            try:
                abc.load(db, h.id)
            except (SQLAlchemyError, AssertionError, LookupError, TypeError, ValueError) as e:
                raise cannot_resume(out / DB, f"not a pyabc history that can be read ({type(e).__name__})") from None
        else:
            abc.new(db, {"x": np.zeros(len(obs))})
            done = 0
        if generations > done:
            history = abc.run(max_nr_populations=generations - done, min_acceptance_rate=1e-3)
        else:
            history = pyabc.History(db)
        df, w = history.get_distribution(m=0, t=history.max_t)
        pops = history.get_all_populations()
        particles = df.reset_index(drop=True)
        w = np.asarray(w, dtype=float)
        vals = [values_of(r, priors, names) for r in particles.to_dict("records")]
        # the last generation's distances
        wd = history.get_weighted_distances(t=history.max_t)
        gens = []
        for _, r in pops.iterrows():
            t = int(r["t"])
            if t < 0:
                continue
            pw = np.asarray(history.get_distribution(m=0, t=t)[1], dtype=float)
            gens.append({"generation": t, "epsilon": float(r["epsilon"]), "simulations": int(r["samples"]),
                         "accepted": int(r["particles"]),
                         "acceptance": round(float(r["particles"]) / max(1, int(r["samples"])), 4),
                         "ess": round(float(pyabc.weighted_statistics.effective_sample_size(pw)), 2)})
        gen_df = pd.DataFrame(gens)
        part_df = pd.DataFrame(vals)[names]
        part_df.insert(0, "weight", w / w.sum())
        part_df.insert(1, "distance", wd["distance"].to_numpy()[:len(part_df)])
        idx = _systematic(w, population, seed)
        post = part_df.iloc[idx][names].reset_index(drop=True)
        post.insert(0, "weight", 1.0 / population)
        best = {n: _weighted_quantile(part_df[n].to_numpy(float), w, 0.5) for n in names}
        best = {n: to_value(n, priors[n], v) for n, v in best.items()}
        ppc, ppc_cov = _check(c, model, post, names, obs, check_members, seed)
    text = best_params_text(f"--method abc, posterior weighted medians after {len(gens)} generations", "",
                            config, best)
    atomic_write(out / "posterior.csv", csv_text(post))
    atomic_write(out / "abc_particles.csv", csv_text(part_df))
    atomic_write(out / "abc_generations.csv", csv_text(gen_df))
    atomic_write(out / "ppc.csv", csv_text(ppc))
    atomic_write(out / "best_params.yaml", text)
    last_gen = gens[-1]
    meta = {**config, "status": "done", "generations": len(gens), "epsilon": last_gen["epsilon"],
            "ess": last_gen["ess"], "acceptance": last_gen["acceptance"],
            "simulations": int(sum(g["simulations"] for g in gens)), "best_params": best,
            "posterior_rows": len(post), "ppc_coverage90": ppc_cov, "ppc_members": check_members,
            "version": __version__}
    atomic_write(out / "calibration.json", json.dumps(meta, indent=2, default=str) + "\n")
    return {"out": out, "best_params": best, "posterior": post, "particles": part_df, "generations": gen_df,
            "ppc": ppc, "meta": meta}


def _check(client, model: Model, post: pd.DataFrame, names: list[str], obs: pd.DataFrame, members: int,
           seed: int) -> tuple[pd.DataFrame, float]:
    """The posterior predictive check: ``members`` runs of posterior rows (in turn) with fresh seeds;
    per observation, their 5/50/95th percentiles and whether the reported range overlaps the band."""
    rows = [post.iloc[i % len(post)][names].to_dict() for i in range(members)]
    rows = [{k: (int(v) if float(v).is_integer() and isinstance(v, (int, np.integer)) else v) for k, v in r.items()}
            for r in rows]
    futures = [client.submit(model.simulate, r, member_seed(seed + 1, i), pure=False) for i, r in enumerate(rows)]
    x = np.stack(client.gather(futures)) if futures else np.zeros((0, len(obs)))
    df = obs[["date", "place", "quantity", "low", "high"]].copy().reset_index(drop=True)
    df["date"] = df["date"].astype(str)
    if len(x):
        p05, p50, p95 = np.nanpercentile(x, [5, 50, 95], axis=0)
    else:
        p05 = p50 = p95 = np.full(len(obs), np.nan)
    df["p05"], df["p50"], df["p95"] = np.round(p05, 1), np.round(p50, 1), np.round(p95, 1)
    hi = df["high"].to_numpy(float)
    df["cover90"] = ((np.where(np.isnan(hi), np.inf, hi) >= p05) & (df["low"].to_numpy(float) <= p95)).astype(int)
    ok = ~np.isnan(p50)
    return df, (float(df.loc[ok, "cover90"].mean()) if ok.any() else math.nan)
