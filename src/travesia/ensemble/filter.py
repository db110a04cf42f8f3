"""Sequential assimilation of reports: a particle filter over whole simulation states.

The posterior of a forecast is built by sequential Monte Carlo over trajectories (a bootstrap
particle filter with Liu–West parameter jitter):

1. ``N`` particles start from the scenario's start, each with its own parameter draw from the
   priors (keyed by (seed, member, path), as ensemble members) and its own run seed;
2. for each date that has reports (on or before the as-of date), in order, every particle runs
   to the end of that day; it is weighted by the likelihood of that day's reports under the
   observation model of :mod:`.obsmodel` (the product over the reports; a report whose ``caravan``
   names one of the run's caravans is read from that caravan's own count, as ``travesia run``'s
   validation reads it, else from everyone's): a Student-t error on
   ``ln(1 + count)`` whose scale per kind of count, bias per quantity and degrees of freedom are
   learnt, before each date, from the one-step-ahead misses of the reports before it
   (:func:`.obsmodel.fit_errors`); a report at a site (a camp) is read against the count plus the
   site's last residual (:mod:`.obsmodel`, *sites*), updated after each of its reports;
3. the particles are resampled in tempered stages (:func:`tempered`: each stage takes as much of
   the day's log-likelihood as keeps the effective sample size at half the particles; systematic
   resampling, its uniform keyed by (seed, step)): a chosen particle's whole state is copied (a
   pickle of the :class:`~travesia.engine.sim.Sim`: people arrays, record, policies, timeline
   position), and each copy gets a new run seed keyed by (seed, step, slot), so its random streams
   branch from there while the result stays a pure function of the seed and the inputs;
4. after each stage, the uncertain parameters that act through the processes (all but
   ``populations.*``, which shaped the people at the start and live on in the state) are
   jittered by Liu–West shrinkage (``a = 0.98``) in the priors' normal scores
   (``Φ⁻¹(CDF(value))``), so the ensemble does not collapse onto a few parameter values; the new
   values take effect as a timeline event's would (parameters revalidated, policies recompiled,
   processes set up). Resampling once per date with 100 particles, a parameter's 90% band held a
   synthetic truth about 75% of the time; in tempered stages, about 90% (``tests/test_filter.py``);
5. after the last report date the particles run on to the end of the forecast.

The particle states travel between the client and the Dask workers as compressed pickles; the
client only chooses which to copy, so the result does not depend on the number of workers.
``particles.pkl`` keeps the states after the last report, for ``--resume``: a later forecast
assimilates the reports that came after them (and the timeline events dated after the earlier
as-of date) without starting over.

Per report date, ``filter.csv`` records the effective sample size before resampling
(``ess``), the number of distinct particles kept (``unique``), the tempered stages, the mean
log-likelihood and the error model used (``scale_crowd``, ``scale_tally``, ``nu``); and
``filter_checks.csv`` is the sequential posterior predictive check: for each report, the
one-step-ahead predictive band of what would be reported (p05, p50, p95, from the particles
before they saw it, with observation error) and whether the report's range overlaps it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import types
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from travesia.ensemble.obsmodel import (
    ErrorModel, copies, figure, fit_errors, log_likelihood, noise, picks, range_bands, site_places, weighted_median,
)
from travesia.ensemble.priors import cdf, member_seed, ppf, to_value
from travesia.scenario.load import LoadedScenario, place_members, set_path, validate_params
from travesia.scenario.schema import Prior

LIU_WEST_A = 0.98
FORMAT = 2


# --------------------------------------------------------------------------- worker side


def _pack(sim) -> bytes:
    return zlib.compress(pickle.dumps(sim, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(blob: bytes):
    return safe_loads(zlib.decompress(blob))


# What a particles file may name when it is read back (a pickle can name any callable, and calling it is how
# it builds objects: ``os.system`` in a crafted ``particles.pkl`` would run on ``--resume``). Classes of the
# project's own data and of numpy / pandas / pyarrow / the standard library's plain values, and the few
# functions those libraries' pickles rebuild their objects with; nothing else.
_SAFE_FUNCTIONS = {
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("pandas._libs.internals", "_unpickle_block"), ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.internals.blocks", "new_block"), ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
    ("pyarrow.lib", "_restore_array"), ("pyarrow.lib", "type_for_alias"), ("pyarrow.lib", "py_buffer"),
    ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
}
_SAFE_CLASS_MODULES = ("travesia.", "numpy", "pandas", "pyarrow", "scipy.sparse", "datetime", "pathlib", "collections",
                       "enum")
_SAFE_BUILTINS = {"slice", "set", "frozenset", "complex", "range", "bytearray", "object", "tuple", "list", "dict",
                  "int", "float", "str", "bytes", "bool"}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_FUNCTIONS or (module == "builtins" and name in _SAFE_BUILTINS):
            return super().find_class(module, name)
        if module == "travesia" or module.startswith(_SAFE_CLASS_MODULES):
            obj = super().find_class(module, name)
            if isinstance(obj, type) and not issubclass(obj, BaseException):
                return obj
        raise pickle.UnpicklingError(f"it names {module}.{name}, which a particles file does not hold")


def safe_loads(data: bytes):
    """Unpickle a particles file or a particle's state, refusing anything but the data they are made of
    (:class:`_SafeUnpickler`): reading a crafted file runs nothing."""
    import io

    return _SafeUnpickler(io.BytesIO(data)).load()


def branch(sim, seed: int) -> None:
    """Give a copied state its own random streams from here on (``seed`` keys every later draw)."""
    from travesia.engine.rng import KeyedRNG

    sim.raw["seed"] = int(seed)
    sim.initial_raw["seed"] = int(seed)
    sim.seed = int(seed)
    sim.rng = KeyedRNG(int(seed))
    sim.params = validate_params(sim.raw, where="particle")


def set_params(sim, values: dict[str, Any]) -> None:
    """Change parameters mid-run, as a timeline event does."""
    from travesia.engine.policy import Policy

    for k, v in values.items():
        set_path(sim.raw, k, v)
    sim.params = validate_params(sim.raw, where="particle")
    sim.policy = Policy(sim.params, sim.net, sim.scale)
    for proc in sim.processes:
        proc.setup(sim)


def _day_quantities(sim, day: int, pop: int | None = None) -> dict[str, np.ndarray]:
    from travesia.output import quantity_arrays

    rec = sim.record
    if pop is None:
        one = types.SimpleNamespace(counts=rec.counts[day:day + 1], cum={k: v[day:day + 1] for k, v in rec.cum.items()})
    else:
        one = types.SimpleNamespace(counts_pop=rec.counts_pop[day:day + 1],
                                    cum_pop={k: v[day:day + 1] for k, v in rec.cum_pop.items()})
    return {q: a[0] for q, a in quantity_arrays(types.SimpleNamespace(record=one), pop=pop).items()}


def observe(sim, day: int, needs: Sequence[tuple]) -> np.ndarray:
    """The true counts the reports ``needs`` ((quantity, weights over places, caravan)) read on ``day``: a report
    naming one of the run's caravans reads that caravan's own count (as a run's validation does), else everyone's."""
    names = list(getattr(sim, "pop_names", ())) if getattr(sim.record, "n_pops", 0) else []
    qa: dict[int | None, dict[str, np.ndarray]] = {}
    out = []
    for q, w, *rest in needs:
        c = rest[0] if rest else ""
        pop = names.index(c) if c in names else None
        if pop not in qa:
            qa[pop] = _day_quantities(sim, day, pop)
        out.append(float(qa[pop][q] @ w))
    return np.array(out, dtype=np.float64)


def advance_batch(base_blob: bytes, items: list[tuple], to_day: int, needs: list, cfg) -> list[tuple]:
    """A Dask task: start or restore particles, branch/jitter them, run them to the end of ``to_day``
    (``None``: to the end of the run), return (slot, state, counts read) — or the member vector."""
    from travesia.engine.sim import Result, Sim
    from travesia.ensemble.runner import _unpickle, member_scenario
    from travesia.output import totals_frame

    base = _unpickle(base_blob)
    out = []
    for slot, kind, payload, seed, params, events in items:
        if kind == "new":
            sim = Sim(member_scenario(base, params, where=f"particle {slot}"), seed=seed, days=cfg.days,
                      scale=cfg.scale)
        else:
            sim = _unpack(payload)
            branch(sim, seed)
            if params:
                set_params(sim, params)
        if events:
            sim.events = sorted(list(sim.events) + list(events), key=lambda e: e.date)
        if to_day is None:
            while sim.day < sim.days:
                sim.step()
            tf = totals_frame(Result(sim=sim, wall_s=0.0), quantities=cfg.quantities,
                              places=None if cfg.places is None else list(cfg.places))
            out.append((slot, None, tf["people"].to_numpy(dtype=np.int32)))
            continue
        while sim.day <= to_day:
            sim.step()
        out.append((slot, _pack(sim), observe(sim, to_day, needs)))
    return out


# --------------------------------------------------------------------------- client side


def needs_for(base: LoadedScenario, obs: pd.DataFrame) -> list[tuple[str, np.ndarray, str]]:
    """(quantity, weights over places, caravan) of each report: the place, its ``place (…)`` members, or an
    aggregate; the report's ``caravan`` column ("" when none)."""
    from travesia.network import Network
    from travesia.output import totals_projection

    net = Network.from_tables(base.places, base.legs)
    out = []
    cache: dict[str, tuple[list[str], np.ndarray]] = {}
    cars = obs["caravan"].fillna("").astype(str) if "caravan" in obs else pd.Series([""] * len(obs), index=obs.index)
    for q, place, car in zip(obs["quantity"], obs["place"], cars):
        if q not in cache:
            cache[q] = totals_projection(net, q)
        names, proj = cache[q]
        cols = ([names.index(place)] if place in names else []) if str(place).startswith("(") else \
            [names.index(n) for n in place_members(place, [n for n in names if not n.startswith("(")])]
        out.append((q, proj[:, cols].sum(axis=1).astype(np.float64), car))
    return out


def jitterable(priors) -> list[str]:
    """Parameters that can change mid-run (not the populations, fixed in the state at the start)."""
    return sorted(p for p in priors if not p.startswith("populations."))


def jitterable_paths(parts: Particles) -> list[str]:
    return jitterable(parts.params[0]) if parts.params else []


def liu_west(params: list[dict], priors: dict[str, Prior], paths: list[str], seed: int, step: int) -> list[dict]:
    """Jittered copies of resampled parameters: Liu–West shrinkage in the priors' normal scores."""
    if not paths or not params:
        return [dict(p) for p in params]
    n = len(params)
    z = np.empty((n, len(paths)))
    for j, k in enumerate(paths):
        u = np.array([cdf(priors[k], float(p[k])) for p in params])
        z[:, j] = ndtri(np.clip(u, 1e-9, 1 - 1e-9))
    mean, sd = z.mean(axis=0), z.std(axis=0)
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0x1157, step))))
    eta = g.standard_normal(z.shape)
    z2 = LIU_WEST_A * z + (1 - LIU_WEST_A) * mean + np.sqrt(1 - LIU_WEST_A ** 2) * sd * eta
    out = []
    for i, p in enumerate(params):
        q = dict(p)
        for j, k in enumerate(paths):
            q[k] = to_value(k, priors[k], float(ppf(priors[k], float(ndtr(z2[i, j])))))
        out.append(q)
    return out


def systematic(weights: np.ndarray, seed: int, step: int) -> np.ndarray:
    """Ancestor index of each slot (systematic resampling, its offset keyed by (seed, step))."""
    n = len(weights)
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0x5E5, step))))
    u = (g.random() + np.arange(n)) / n
    c = np.cumsum(weights)
    c[-1] = 1.0
    return np.searchsorted(c, u, side="left").astype(np.int64)


TEMPER_ESS = 0.5


def tempered(ll: np.ndarray, params: list[dict], priors: dict[str, Prior], paths: list[str], seed: int,
             step: int) -> tuple[np.ndarray, list[dict], int, int]:
    """Resample on the log-likelihoods ``ll`` in tempered stages: each stage takes the largest share of what
    is left of ``ll`` that keeps the effective sample size at ``TEMPER_ESS`` of the particles, resamples and
    jitters the parameters (Liu–West); the stages' exponents add up to 1. A report that rules out most
    particles then moves the parameters in several small steps instead of collapsing them onto the few
    survivors (adaptive tempering, Del Moral, Doucet & Jasra 2012). Returns (the ancestor of each slot
    among the particles ``ll`` was computed for, the new parameters, the next step, the number of stages)."""
    n = len(ll)
    anc = np.arange(n)
    phi, stages = 0.0, 0
    while phi < 1.0 - 1e-12:
        rem = ll[anc] - ll[anc].max()

        def ess(d: float, rem: np.ndarray = rem) -> float:
            w = np.exp(d * rem)
            return float(w.sum() ** 2 / np.sum(w * w))

        d = 1.0 - phi
        if ess(d) < TEMPER_ESS * n and stages < 50:
            lo, hi = 0.0, d
            for _ in range(40):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if ess(mid) >= TEMPER_ESS * n else (lo, mid)
            d = max(lo, 1e-9)
        w = np.exp(d * rem)
        a = systematic(w / w.sum(), seed, step)
        step += 1
        anc = anc[a]
        params = liu_west([params[i] for i in a], priors, paths, seed, step)
        phi += d
        stages += 1
    return anc, params, step, stages


def _child_seed(seed: int, step: int, slot: int) -> int:
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(0xB4A, int(step), int(slot)))
    a, b = (int(x) for x in ss.generate_state(2, np.uint32))
    return ((a << 32) | b) >> 1


@dataclass
class Particles:
    """The filter's state after its last report date: particle states, parameters and seeds."""

    day: int  # the last day assimilated (index from the scenario's start); -1: none yet
    states: list[tuple] = field(default_factory=list)  # (kind, payload) per slot: ("new", None) or ("state", blob)
    params: list[dict] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    step: int = 0
    log: list[dict] = field(default_factory=list)
    checks: list[pd.DataFrame] = field(default_factory=list)
    as_of: str = ""
    events: list = field(default_factory=list)  # timeline events the states have not been given yet
    errors: ErrorModel = field(default_factory=ErrorModel)  # the report error learnt from the reports so far
    made_for: dict = field(default_factory=dict)  # what the states were made for (forecast.made_for: a resume checks it)
    history: list = field(default_factory=list)  # per report: (quantity, low, high, ln(1 + x) of the particles
    #                                              before it, days since they last saw a report[, days since
    #                                              the site's last report, where read with its offset])
    format: int = FORMAT


def start(n: int, seed: int, priors: dict[str, Prior]) -> Particles:
    from travesia.ensemble.priors import draw

    return Particles(day=-1, states=[("new", None)] * n, params=[draw(priors, seed, i) for i in range(n)],
                     seeds=[member_seed(seed, i) for i in range(n)])


def _scatter(client, base_blob: bytes, batches: list[list]) -> tuple[Any, list]:
    """The scenario (to every worker) and each batch of particle states put on the cluster as data, so a
    task's graph holds only their keys (not megabytes of states, which Dask warns about on the terminal)."""
    return client.scatter(base_blob, broadcast=True, hash=False), client.scatter(batches, hash=False)


def _run(client, base_blob: bytes, items: list[tuple], to_day, needs, cfg, batch: int) -> dict[int, tuple]:
    from distributed import as_completed

    base_f, parts_f = _scatter(client, base_blob, [items[b:b + batch] for b in range(0, len(items), batch)])
    futures = [client.submit(advance_batch, base_f, p, to_day, needs, cfg, pure=False, retries=2) for p in parts_f]
    got: dict[int, tuple] = {}
    for _, res in as_completed(futures, with_results=True):
        for slot, blob, x in res:
            got.setdefault(slot, (blob, x))
    return got


def assimilate(client, base: LoadedScenario, parts: Particles, obs: pd.DataFrame, priors: dict[str, Prior],
               cfg, seed: int, *, errors: ErrorModel | None = None, events: Sequence = (), batch: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> Particles:
    """Assimilate the reports ``obs`` dated after ``parts.day``, date by date (module doc). The report error
    is learnt from the earlier reports' one-step-ahead misses (:func:`.obsmodel.fit_errors`) before each
    date, unless a fixed ``errors`` model is given."""
    from travesia.ensemble.runner import n_workers

    base_blob = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL)
    n = len(parts.params)
    batch = batch or max(1, min(16, n // (4 * n_workers(client))))
    start_date = base.params.start
    rules = base.params.rules
    sites = site_places(base.places)
    named = dict(zip(base.places["id"].astype(str), base.places["name"].astype(str)))  # a report may name a place by id
    offs = dict(parts.errors.offsets)  # a site's last residual (obsmodel, *sites*), carried from date to date
    obs = obs.copy()
    obs["_day"] = [(d - start_date).days for d in obs["date"]]
    obs = obs[(obs["_day"] > parts.day) & (obs["_day"] < cfg.days)].sort_values("_day", kind="stable")
    days = sorted(set(obs["_day"]))
    paths = jitterable(priors)
    states, params, seeds = list(parts.states), [dict(p) for p in parts.params], list(parts.seeds)
    log, checks = list(parts.log), list(parts.checks)
    step = parts.step
    pending_events = list(parts.events) + list(events)
    history = list(parts.history)
    em = parts.errors
    for k, day in enumerate(days):
        o = obs[obs["_day"] == day]
        needs = needs_for(base, o)
        items = _items(states, params, seeds, paths, pending_events)
        pending_events = []
        got = _run(client, base_blob, items, day, needs, cfg, batch)
        x = np.stack([got[i][1] for i in range(n)])  # particles × reports
        em = errors if errors is not None else fit_errors(history, rules)
        em = dataclasses.replace(em, offsets=tuple(sorted(offs.items())))
        qs, lows, highs = list(o["quantity"]), o["low"].to_numpy(float), o["high"].to_numpy(float)
        pls = [named.get(str(v), str(v)) for v in o["place"]]
        today = start_date + dt.timedelta(days=int(day))
        at_site = [pl in sites for pl in pls]
        # a report at a site with an offset: the offset, and the days since the site's report it comes from
        last = [offs.get((str(q), pl)) for q, pl in zip(qs, pls)]
        site_gap = [None if o is None else (today - dt.date.fromisoformat(o[1])).days for o in last]
        raw = x
        # the reports at sites read with the offsets, whether or not the error model uses them now (the next fit
        # compares the two readings: obsmodel.fit_errors)
        shifted = np.maximum(x + np.array([0.0 if o is None else o[0] for o in last])[None, :], 0.0) if offs else x
        if em.shifts:
            x = shifted
        gap = float(day - parts.day) if parts.day >= 0 else 1.0  # days since the particles last saw a report
        sig, bias = em.scales_at(qs, pls, [today] * len(qs)), em.biases_for(qs)
        ll = np.zeros(n)
        for j, (lo, hi) in enumerate(zip(lows, highs)):
            ll += log_likelihood(x[:, j], lo, hi, sig[j], em.nu, bias[j])
        # the one-step-ahead predictive check, before the particles see these reports
        xr = np.repeat(x, copies(n), axis=0)
        _, pq = range_bands(xr, sig, bias, noise(seed, xr.shape, 0xC4E0000 + step, em.nu),
                            picks(seed, xr.shape, 0xC4E0000 + step), [em.widths_of(q) for q in qs])
        pq = pq[[0, 2, 4]]
        chk = o[["date", "place", "quantity", "low", "high"]].copy()
        chk["p05"], chk["p50"], chk["p95"] = np.round(pq[0], 1), np.round(pq[1], 1), np.round(pq[2], 1)
        chk["cover90"] = (np.where(np.isnan(highs), np.inf, highs) >= pq[0]) & (lows <= pq[2])
        checks.append(chk)
        for j, (q, lo, hi) in enumerate(zip(qs, lows, highs)):
            history.append((str(q), float(lo), float(hi), np.log1p(np.maximum(shifted[:, j], 0.0)).astype(np.float32),
                            gap) + ((site_gap[j], np.log1p(np.maximum(raw[:, j], 0.0)).astype(np.float32))
                                    if site_gap[j] is not None else ()))
        w = np.exp(ll - ll.max())
        w /= w.sum()
        ess = float(1.0 / np.sum(w * w))
        for j, (q, lo, hi) in enumerate(zip(qs, lows, highs)):  # each site's residual, after the particles saw it
            fig = figure(lo, hi) if at_site[j] else None
            if fig is not None:
                offs[(str(q), pls[j])] = (fig - weighted_median(raw[:, j], w), today.isoformat())
        anc, params, step, stages = tempered(ll, params, priors, paths, seed, step)
        states = [("state", got[a][0]) for a in anc]
        seeds = [_child_seed(seed, step, i) for i in range(n)]
        scales = dict(em.scales)
        log.append({"date": (start_date + dt.timedelta(days=int(day))).isoformat(), "reports": int(len(o)),
                    "ess": round(ess, 2), "unique": int(len(set(anc.tolist()))), "stages": stages,
                    "mean_loglik": round(float(np.mean(ll)), 4), "max_loglik": round(float(ll.max()), 4),
                    "scale_crowd": round(scales["crowd"], 4), "scale_tally": round(scales["tally"], 4),
                    "nu": em.nu})
        parts = Particles(day=int(day), states=states, params=params, seeds=seeds, step=step, log=log, checks=checks,
                          as_of=parts.as_of, errors=em, history=history)
        if progress:
            progress(k + 1, len(days))
    # the error model of every report seen, for the forecast's bands
    em = errors if errors is not None else fit_errors(history, rules)
    em = dataclasses.replace(em, offsets=tuple(sorted(offs.items())))
    # events not yet handed to the states (no report after them) go with the next advance
    return dataclasses.replace(parts, events=pending_events, errors=em)


def _items(states, params, seeds, paths, events) -> list[tuple]:
    """Task items: a new particle gets all its parameters; a copied state only the ones that change mid-run."""
    return [(i, st[0], st[1], seeds[i], params[i] if st[0] == "new" else {k: params[i][k] for k in paths if k in
             params[i]}, events) for i, st in enumerate(states)]


def finish(client, base: LoadedScenario, parts: Particles, cfg, *, events: Sequence = (), batch: int | None = None,
           on_result: Callable[[int, np.ndarray], None], progress: Callable[[int, int], None] | None = None) -> None:
    """Run every particle on to the end of the run; ``on_result(slot, member vector)``."""
    from distributed import as_completed

    from travesia.ensemble.runner import n_workers

    base_blob = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL)
    n = len(parts.params)
    batch = batch or max(1, min(16, n // (4 * n_workers(client))))
    items = _items(parts.states, parts.params, parts.seeds, jitterable_paths(parts), list(parts.events) + list(events))
    base_f, parts_f = _scatter(client, base_blob, [items[b:b + batch] for b in range(0, n, batch)])
    futures = [client.submit(advance_batch, base_f, p, None, [], cfg, pure=False, retries=2) for p in parts_f]
    done = np.zeros(n, dtype=bool)
    for _, res in as_completed(futures, with_results=True):
        for slot, _, vec in res:
            if not done[slot]:
                done[slot] = True
                on_result(slot, vec)
        if progress:
            progress(int(done.sum()), n)


def save(parts: Particles, path) -> None:
    from travesia.output import atomic_write

    atomic_write(path, pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))


def load(path) -> Particles:
    from travesia.errors import UserError

    try:
        with open(path, "rb") as f:
            parts = safe_loads(f.read())
    except Exception as e:  # noqa: BLE001 - any damage to the file: a pickle may fail in any way
        raise UserError(f"not a travesia particles file (particles.pkl of a forecast): {type(e).__name__}: {e}",
                        where=str(path)) from None
    if not isinstance(parts, Particles) or getattr(parts, "format", None) != FORMAT:
        raise UserError("not a travesia particles file (particles.pkl of a forecast)", where=str(path))
    for st in parts.states:  # every state must read back as what it is: checked here, not on a worker
        if not (isinstance(st, tuple) and len(st) == 2 and (st == ("new", None) or (
                st[0] == "state" and isinstance(st[1], bytes)))):
            raise UserError("not a travesia particles file (a particle's state is damaged)", where=str(path))
    return parts
