"""Many runs over Dask distributed: a local cluster by default, an existing one by its scheduler.

A run is a pure function of (scenario, parameter values, seed). Each ensemble member, calibration
trial repeat or sensitivity sample is a :class:`MemberSpec`; members are batched into Dask tasks
(a batch per task), and each task advances its members *together*, in one simulation
(:class:`~travesia.engine.sim.Sim` with ``members``: the people of every member side by side, each
member with its own parameters and random streams, so that a member's result is byte-identical to
its run alone); members whose scenarios differ in structure (see
:func:`~travesia.engine.sim.structure_key`), or a rule set whose processes cannot advance members
together, run in smaller groups or one by one. A task returns only the members' *reduced*
results: one int32 vector per member holding the quantities and places asked for, in the order of
:class:`Layout`. Nothing of the simulation state leaves the worker.

Results are handed to a callback keyed by the member's position, so the caller's output never
depends on the order in which tasks finish. A task whose worker dies is re-run by Dask (the
scheduler reschedules it), a task that raises is retried ``retries`` times; each member's result
is accepted once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import pickle
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from travesia.ensemble.cluster import SCHEDULER_ENV, dask_client, maybe_client, n_threads, n_workers  # noqa: F401 - re-exported
from travesia.errors import UserError
from travesia.output import QUANTITIES
from travesia.scenario.load import LoadedScenario, set_path, validate_params


@dataclass(frozen=True)
class MemberSpec:
    """One run: its position in the output (``member``), its seed and its parameter values."""

    member: int
    seed: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    """What every member runs and keeps: days, scale, and the quantities and places it returns."""

    days: int
    scale: float = 1.0
    quantities: tuple[str, ...] = QUANTITIES
    places: tuple[str, ...] | None = None  # None: every place and aggregate
    threads: int = 1  # numba threads of the engine inside each task (set in the thread that runs it)


@dataclass
class Layout:
    """The order of the values in a member's vector: quantity-major, then date, then place."""

    dates: list[dt.date]
    names: dict[str, list[str]]  # quantity -> place names, in totals_frame order

    @property
    def size(self) -> int:
        return len(self.dates) * sum(len(v) for v in self.names.values())

    def keys(self) -> pd.DataFrame:
        """``date,quantity,place`` for every position of a member vector."""
        frames = []
        for q, names in self.names.items():
            frames.append(pd.DataFrame({
                "date": np.repeat(np.array(self.dates, dtype=object), len(names)),
                "quantity": q,
                "place": np.tile(np.array(names, dtype=object), len(self.dates)),
            }))
        return pd.concat(frames, ignore_index=True)

    def index(self, quantity: str, place: str) -> np.ndarray:
        """Positions of (quantity, place) on every date, in date order."""
        off = 0
        for q, names in self.names.items():
            if q == quantity:
                j = names.index(place)
                return off + np.arange(len(self.dates)) * len(names) + j
            off += len(self.dates) * len(names)
        raise KeyError(quantity)


# --------------------------------------------------------------------------- one member (worker side)


def member_scenario(base: LoadedScenario, params: dict[str, Any], where: str = "member") -> LoadedScenario:
    """``base`` with parameter values set at their paths (checked by the schema). The new tree shares
    its unchanged branches with ``base``'s (:func:`~travesia.scenario.load.set_path` copies what it
    changes)."""
    if not params:
        return base
    raw = dict(base.raw)
    for k, v in params.items():
        set_path(raw, k, v)
    p = validate_params(raw, where=where)
    return dataclasses.replace(base, params=p, raw=raw, overrides={**base.overrides, **params})


def run_member(base: LoadedScenario, spec: MemberSpec, cfg: RunConfig) -> np.ndarray:
    """Run one member; return its reduced result as an int32 vector in :class:`Layout` order."""
    from travesia.engine.sim import Sim

    loaded = member_scenario(base, spec.params, where=f"member {spec.member} ({spec.params})")
    result = Sim(loaded, seed=spec.seed, days=cfg.days, scale=cfg.scale).run()
    return reduce_result(result, cfg)


def reduce_result(result: Any, cfg: RunConfig) -> np.ndarray:
    """A run's totals (``totals.csv``'s ``people`` column for ``cfg``'s quantities and places) as an
    int32 vector in :class:`Layout` order, straight from the record's arrays (no DataFrame)."""
    return reduce_records([result.record], result.net, cfg)[0]


def reduce_records(records: Sequence[Any], net: Any, cfg: RunConfig) -> np.ndarray:
    """:func:`reduce_result` of many members' records at once: a members × layout int32 array."""
    from scipy import sparse

    from travesia.output import QUANTITY_SOURCE, quantity_of, totals_projection

    places = None if cfg.places is None else list(cfg.places)
    n, days = len(records), records[0].counts.shape[0]
    counts = np.stack([r.counts for r in records]) if any(
        not isinstance(QUANTITY_SOURCE[q], str) for q in cfg.quantities) else None
    need = {QUANTITY_SOURCE[q] for q in cfg.quantities if isinstance(QUANTITY_SOURCE[q], str)}
    cum = {k: np.stack([r.cum[k] for r in records]) for k in need}
    parts = []
    for q in cfg.quantities:
        x = quantity_of(q, counts, cum).reshape(n * days, -1)
        # each column sums a few places (a 0/1 projection): a sparse product of the integer counts, exact
        proj = sparse.csr_array(totals_projection(net, q, places)[1].T)
        parts.append((proj @ x.T).T.reshape(n, -1))
    return np.concatenate(parts, axis=1).astype(np.int32)


@functools.lru_cache(maxsize=4)
def _unpickle(blob: bytes) -> Any:
    return pickle.loads(blob)


def run_together(base: LoadedScenario, specs: Sequence[MemberSpec], cfg: RunConfig) -> list[tuple[int, np.ndarray]]:
    """Run members advanced together in as few simulations as their scenarios' structure allows;
    return (member, reduced vector) in the order of ``specs``. Same vectors as :func:`run_member`."""
    from travesia.engine.processes import RULESETS, make_processes
    from travesia.engine.sim import Sim, member_setup, structure_key

    groups: dict[str, list[tuple[MemberSpec, tuple]]] = {}
    for s in specs:  # each member's parameters are checked (and named in an error) first, once
        setup = member_setup(base, s.seed, s.params, cfg.days, where=f"member {s.member} ({s.params})")
        rules = setup[1].rules
        make_processes(rules)  # a rule set living in its own module registers on import
        together = all(getattr(c, "batched", False) for c in RULESETS[rules])
        key = structure_key(setup[1]) if together else f"alone-{s.member}"
        groups.setdefault(key, []).append((s, setup))
    out: dict[int, np.ndarray] = {}
    for group in groups.values():
        sim = Sim(base, members=[(s.seed, s.params) for s, _ in group], days=cfg.days, scale=cfg.scale,
                  setups=[setup for _, setup in group])
        sim.run()
        for (s, _), vec in zip(group, reduce_records(sim.records, sim.net, cfg)):
            out[s.member] = vec
    return [(s.member, out[s.member]) for s in specs]


def run_batch(blob: bytes, specs: Sequence[MemberSpec], cfg: RunConfig) -> list[tuple[int, np.ndarray]]:
    """A Dask task: advance a batch of members together (the scenario arrives pickled, once per process).

    With ``cfg.threads`` > 1 the engine's parallel kernels run on that many numba threads for this
    task, set in the thread that runs it (numba's thread count is per thread), then back to 1."""
    try:
        if cfg.threads <= 1:
            return run_together(_unpickle(blob), specs, cfg)
        from travesia.engine.core import set_threads

        set_threads(cfg.threads)
        try:
            return run_together(_unpickle(blob), specs, cfg)
        finally:
            set_threads(1)
    except UserError as e:  # the user's input: an answer (no worker traceback logged, no retries)
        return UserFailure(str(e))


@dataclass(frozen=True)
class UserFailure:
    """What a task returns when the user's input failed it (a UserError's message): raised again in
    the client by :func:`run_members`."""

    message: str


def layout_of(base: LoadedScenario, cfg: RunConfig, option: str = "--place") -> Layout:
    """The vector layout for ``cfg``: the columns of ``totals.csv`` (read off the network); a place
    of ``cfg.places`` that is not there is a UserError blamed on ``option``."""
    from travesia.network import Network
    from travesia.output import totals_projection

    net = Network.from_tables(base.places, base.legs)
    places = None if cfg.places is None else list(cfg.places)
    names = {q: totals_projection(net, q, places)[0] for q in cfg.quantities}
    missing = [p for p in (cfg.places or ()) if not any(p in v for v in names.values())]
    if missing:
        raise UserError(f"unknown place(s) {', '.join(missing)} (place names, or (Country), (Region), (all))",
                        where=option)
    start = base.params.start
    return Layout(dates=[start + dt.timedelta(days=d) for d in range(cfg.days)], names=names)


# --------------------------------------------------------------------------- the cluster (client side)


def _people(p: Any, scale: float) -> int:
    """People of a member's scenario at ``scale`` (as the engine counts them)."""
    return sum(int(round(pop.size * scale)) + sum(int(round(j.size * scale)) for j in pop.joiners)
               for pop in p.populations)


def check_members(base: LoadedScenario, specs: Sequence[MemberSpec], cfg: RunConfig | None = None,
                  blame: Callable[[str], str] | None = None) -> None:
    """Check every member's parameters with the scenario's schema (about 1 ms each): a UserError
    naming the member, before any work is sent.

    With ``cfg``, the member with the most people must also fit in a run (the engine's own check
    of people and memory, here in the client, not in a worker): a UserError that names the
    parameter responsible: a member's drawn size, at ``blame(path)`` (the priors file, say), or a
    size given by --set or --params, or else --scale."""
    biggest, most = None, -1
    for s in specs:
        loaded = member_scenario(base, s.params, where=f"member {s.member} ({s.params})")
        if cfg is not None and (n := _people(loaded.params, cfg.scale)) > most:
            biggest, most = (s, loaded), n
    if biggest is None:
        return
    from travesia.engine.sim import Sim

    s, loaded = biggest
    p = loaded.params.model_copy(update={"days": cfg.days})
    try:
        Sim._check_size(SimpleNamespace(loaded=loaded), p, cfg.scale)  # noqa: SLF001 - the engine's check, run early
    except UserError as e:
        msg = str(e).split(": ", 1)[1] if e.where else str(e)
        sizes = [k for k in s.params if k.startswith("populations.")]
        if sizes:
            k = max(sizes, key=lambda k: abs(float(s.params[k])))
            raise UserError(f"{k}: member {s.member} draws {s.params[k]:,}: {msg}",
                            where=blame(k) if blame is not None else f"member {s.member}") from None
        given = [k for k in base.overrides if k.startswith("populations.")]
        if given:
            raise UserError(f"{', '.join(f'{k}={base.overrides[k]:,}' for k in given)}: {msg}",
                            where="--set/--params") from None
        raise


BATCH_MAX = 64  # members advanced together in one task, at most (128 together cost 7-20% more CPU than 2 x 64)


def batch_sizes(n: int, workers: int) -> list[int]:
    """Members per task: rounds of one task per worker (thread: ``workers``), as few rounds as keep every task to at most
    :data:`BATCH_MAX` members, the members shared out as evenly as the rounds allow (sizes differ by
    at most one, largest first). Tasks go out one per worker, the next to whichever worker frees up
    first (:func:`run_members`), so on workers of one speed they all finish together: large batches
    cost least per member (a batch of 16 costs about 20 % more a member than one of 64, and each
    task builds its own Sim), and an uneven last round (64, 32, 16, 16 where 64, 64 would do) left
    a worker idle for a quarter of a 128-member ensemble."""
    w = max(1, workers)
    if n <= 0:
        return []
    tasks = min(n, w * -(-n // (w * BATCH_MAX)))
    base, extra = divmod(n, tasks)
    return [base + 1] * extra + [base] * (tasks - extra)


def run_members(client: Any, base: LoadedScenario, specs: Sequence[MemberSpec], cfg: RunConfig,
                on_result: Callable[[int, np.ndarray], None], *, batch_size: int | None = None,
                progress: Callable[[int, int], None] | None = None, retries: int = 3,
                batch_fn: Callable = run_batch, checked: bool = False,
                blame: Callable[[str], str] | None = None) -> None:
    """Run every spec on the cluster; call ``on_result(position, vector)`` exactly once per spec.

    ``position`` is the spec's index in ``specs``. Batching, worker count and completion order do
    not change any member's result. ``batch_fn`` is the task function (tests wrap it). Every
    member's parameters are checked (:func:`check_members`) before any work is sent, unless the
    caller did (``checked``: before the cluster was up, say); ``blame``: see :func:`check_members`.
    A task that the user's input fails (:class:`UserFailure`) is its UserError, here.
    """
    from distributed import as_completed

    if not specs:
        return
    blob = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL)
    slots = n_threads(client)  # tasks the cluster runs at once
    sizes = batch_sizes(len(specs), slots) if batch_size is None else \
        [min(batch_size, len(specs) - b) for b in range(0, len(specs), batch_size)]
    pos_of = {s.member: i for i, s in enumerate(specs)}
    if len(pos_of) != len(specs):
        raise ValueError("member numbers must be unique")
    if not checked:
        check_members(base, specs, cfg, blame)
    token = f"{hashlib.sha1(blob).hexdigest()[:8]}-{uuid.uuid4().hex[:8]}"
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)

    def submit(t: int) -> Any:
        b, size = int(starts[t]), sizes[t]
        return client.submit(batch_fn, blob, list(specs[b:b + size]), cfg, key=f"travesia-{token}-{b}",
                             pure=False, retries=retries)

    # one task per worker thread in flight, the next submitted as one finishes: it goes to the
    # worker that freed up (the scheduler's own queueing holds back only large groups of tasks; a
    # few tasks it would place at once, two on one worker while another idles)
    futures = [submit(t) for t in range(min(slots, len(sizes)))]
    ac = as_completed(futures)
    done = np.zeros(len(specs), dtype=bool)
    n_done = 0
    try:
        for fut in ac:
            if len(futures) < len(sizes):  # the next task before this one's result travels here
                nxt = submit(len(futures))
                futures.append(nxt)
                ac.add(nxt)
            res = fut.result()
            if isinstance(res, UserFailure):
                raise UserError(res.message)
            for member, vec in res:
                i = pos_of[member]
                if done[i]:
                    continue  # a retried task's second answer: already counted
                done[i] = True
                on_result(i, vec)
                n_done += 1
            if progress is not None:
                progress(n_done, len(specs))
            fut.release()
    finally:
        for f in futures:
            f.release()
    if not done.all():  # pragma: no cover - Dask raises before this
        raise RuntimeError(f"{int((~done).sum())} members produced no result")
