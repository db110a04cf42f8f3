"""The engine's shared vocabulary, written once: the jit switch, the counter-based draw, and the
numbers of states, intentions, motives, flag bits and travel modes that the kernels use.

Everything that compiles with numba imports its decorator, its random draw and its constants from
here, so a kernel, a process and a rule set cannot disagree about what ``2`` means.

**The jit switch.** numba is a dependency; kernels are compiled on first use and cached on disk.
``NUMBA_DISABLE_JIT=1`` (numba's own switch) runs every kernel as plain Python, for debugging
with pdb or coverage; the results are the same bytes, only slower.

**The counter-based draw.** A draw for person (or group) ``i`` on ``day`` in stream ``name`` is
a pure function of (seed, stream, day, i): the 64-bit key of (seed, stream, day) is a SplitMix64
chain (:func:`key_for`), and the draw is SplitMix64(key + golden·(i + 1) + k·step), top 53 bits
(:func:`uniform_k`; draw number ``k`` = 0 for one draw per person and day). So results do not
depend on the order people are stored in, on which subset is drawn for, on threads or on workers,
and adding a stream changes no one else's draws.
"""

from __future__ import annotations

import functools
import types
import zlib
from enum import IntEnum

import numba
import numpy as np

njit = numba.njit  # the one jit decorator of the engine (NUMBA_DISABLE_JIT=1 runs kernels as Python)

_threads = 1  # numba threads the kernels use (set_threads); 1: the plain compiled kernels


def set_threads(n: int) -> None:
    """Run the engine's parallel kernels on ``n`` numba threads (1: no threads, the default; inside
    a Dask worker keep 1). Counter-based draws make the results the same bytes on any number."""
    global _threads
    n = int(n)
    if n < 1:
        raise ValueError("threads must be at least 1")
    if n > numba.config.NUMBA_NUM_THREADS:
        n = numba.config.NUMBA_NUM_THREADS
    _threads = n
    if n > 1:
        numba.set_num_threads(n)


def threads() -> int:
    """The numba threads the kernels run on (:func:`set_threads`)."""
    return _threads


def threaded(f):
    """A kernel written with ``numba.prange``, compiled twice: plain (one thread, the default: no
    threading overhead for small runs and Dask workers) and parallel (while :func:`set_threads` is
    above 1). Each iteration of its prange loop touches only its own person's entries, or its own
    row of a table the caller sums (the loop runs over :func:`thread_rows` chunks of people; not
    ``numba.get_thread_id()``, which crashes code loaded from the cache before numba's thread pool
    has started), so the result is the same bytes on any number of threads."""
    plain = njit(cache=True)(f)
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + "_threads", f.__defaults__, f.__closure__)
    g.__qualname__ = f.__qualname__ + "_threads"  # its own on-disk cache entry
    g.__module__ = f.__module__
    par = njit(cache=True, parallel=True)(g)

    @functools.wraps(f)
    def kernel(*args):
        return (par if _threads > 1 else plain)(*args)

    kernel.plain, kernel.parallel, kernel.py_func = plain, par, f
    return kernel


def thread_rows() -> int:
    """Rows of a table a :func:`threaded` kernel fills a chunk of people per row (1 without threads)."""
    return numba.get_num_threads() if _threads > 1 else 1


# --------------------------------------------------------------------------- states, intentions, flags, modes


class State(IntEnum):
    """Every person is in exactly one state (MODEL.md)."""

    WAITING = 0  # not yet set out
    TRAVELLING = 1  # on a leg or passing through a place today
    RESTING = 2  # stopped at a place or shelter for the day (incl. held at a border)
    DETAINED = 3
    ASYLUM_PENDING = 4  # applied, waiting for a decision (in a migration station)
    SETTLED = 5  # stopped for good with a permit or asylum
    ARRIVED = 6  # at a destination (waiting at the border city)
    RETURNED = 7  # back home of their own will or with assistance
    DEPORTED = 8
    PERMIT_PENDING = 9  # applied to a permit programme, waiting in the town (present there)


class Intent(IntEnum):
    US = 0  # aims for the US border
    STAY = 1  # means to stay in Mexico (or the transit country with a programme)
    HOME = 2  # going home


class Motive(IntEnum):
    ECONOMIC = 0
    PROTECTION = 1


STATE_NAMES = tuple(s.name.lower() for s in State)
N_STATES = len(State)

# plain integers for the kernels (numba reads module globals as compile-time constants)
(WAITING, TRAVELLING, RESTING, DETAINED, ASYLUM_PENDING, SETTLED, ARRIVED, RETURNED, DEPORTED,
 PERMIT_PENDING) = (int(s) for s in State)
# the states counted as "present" at a place: the crowd a town sees and feeds
PRESENT = (State.TRAVELLING, State.RESTING, State.ARRIVED, State.PERMIT_PENDING)
GOING_US, GOING_STAY, GOING_HOME = (int(i) for i in Intent)
# the final states: nobody leaves them (a person in one costs no time: see Sim.live)
FINAL = (State.SETTLED, State.RETURNED, State.DEPORTED)


def state_mask(*states) -> int:
    """A bit mask of states (bit ``s`` for state ``s``), for :func:`select_states`."""
    return sum(1 << int(s) for s in set(states))

ECONOMIC, PROTECTION = (int(m) for m in Motive)

# flag bits of ``People.flags``
CLEARED = np.uint8(1)  # has cleared the border post at the current place
IRREGULAR = np.uint8(2)  # crossed the last border irregularly
DOCS = np.uint8(4)  # holds documents a documents-required crossing accepts
RALLY = np.uint8(8)  # waiting at a rally point for the rest of the caravan
HOPPED = np.uint8(16)  # rule set flee: has finished at least one link
PERMIT_OK = np.uint8(32)  # a permit application granted, card not yet in hand (processes.permits)
PERMIT = np.uint8(64)  # holds a permit that lets them travel on legally (permits.<name>.holders: travel)
PERMIT_TRIED = np.uint8(128)  # has applied to a permit programme (applies once)

# travel modes of a day (movement)
FOOT, RIDE, BUS = 0, 1, 2

# An index cast to unsigned (``people.place[U(i)]``): numba fixes up negative indices on every
# access with a signed one, which costs the per-person loops 10-15 %; the kernels' indices are
# never negative.
U = np.uint64


# --------------------------------------------------------------------------- the counter-based draw

_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_KSTEP = np.uint64(0xD6E8FEB86659FD93)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_UNIT = 2.0 ** -53
_MASK = (1 << 64) - 1


@njit(cache=True, inline="always")
def uniform_k(key, i, k):
    """U[0,1) for id ``i``, draw number ``k``, under a (seed, stream, day) ``key``."""
    x = (np.uint64(i) + _ONE) * _GOLD + key + np.uint64(k) * _KSTEP
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return np.float64(x >> _S11) * _UNIT


@njit(cache=True, inline="always")
def uniform(key, i):
    """U[0,1) for id ``i`` under a (seed, stream, day) ``key`` (draw number 0)."""
    return uniform_k(key, i, 0)


@threaded
def uniform_ids(key, ids, out):
    """``out[j] = uniform(key, ids[j])``."""
    for j in numba.prange(ids.shape[0]):
        out[j] = uniform_k(key, ids[j], 0)


@threaded
def uniform_many(keys, which, ids, out):
    """``out[j] = uniform(keys[which[j]], ids[j])``: many ids, each under one of several keys."""
    for j in numba.prange(ids.shape[0]):
        out[j] = uniform_k(keys[which[j]], ids[j], 0)


def _mix(x: int) -> int:
    x &= _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def stream_id(name: str) -> int:
    """A stable 32-bit number for a stream name (independent of Python's hash seed)."""
    return zlib.crc32(name.encode("utf-8"))


def seed_key(seed: int) -> int:
    """The first link of the key chain: a function of the seed alone."""
    return _mix(int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)


def stream_key(seed_k: int, stream: str) -> int:
    """The second link: (seed, stream)."""
    return _mix(seed_k ^ ((stream_id(stream) * 0xD1B54A32D192ED03) & _MASK))


def day_key(stream_k: int, day: int) -> int:
    """The last link: (seed, stream, day)."""
    return _mix(stream_k ^ (((int(day) + 1) * 0xA0761D6478BD642F) & _MASK))


def key_for(seed: int, stream: str, day: int) -> int:
    """The 64-bit key of one (seed, stream, day)."""
    return day_key(stream_key(seed_key(seed), stream), day)


@njit(cache=True)
def _day_keys_kernel(stream_keys, d, out):
    for j in range(stream_keys.shape[0]):
        x = stream_keys[j] ^ d
        x ^= x >> _S30
        x *= _M1
        x ^= x >> _S27
        x *= _M2
        x ^= x >> _S31
        out[j] = x


def day_keys(stream_keys: np.ndarray, day: int) -> np.ndarray:
    """:func:`day_key` for many stream keys at once (uint64 array in, uint64 array out), compiled:
    the processes ask for a day's keys of every member some 40 times a day."""
    sk = np.asarray(stream_keys, dtype=np.uint64)
    out = np.empty(sk.shape, dtype=np.uint64)
    _day_keys_kernel(sk.reshape(-1), np.uint64(((int(day) + 1) * 0xA0761D6478BD642F) & _MASK), out.reshape(-1))
    return out


# --------------------------------------------------------------------------- shared rules


# per place: the crossing rule in force and what the network says about the place
# (compiled by travesia.engine.policy.Policy; read by the kernels as prec[p].blocked ...)
PLACE_REC = np.dtype([
    ("blocked", np.bool_),  # a crossing whose rule is not open
    ("exit_only", np.int16),  # country index an exit-only rule holds; -1 everyone
    ("counts_crossing", np.bool_),  # people passing count as crossed here
    ("rally", np.bool_),  # a rally point of the caravan
    ("shelter", np.bool_),
    ("country", np.int16),
])


@njit(cache=True, inline="always")
def held_rec(r, on_leg, flags, going_home, origin_country):
    """Whether someone at a place whose record is ``r`` (:data:`PLACE_REC`) is held at its border post.

    Held: at the place (not on a leg), the place's crossing rule is not ``open`` (``blocked``),
    they have not cleared it, they are not going home (people going home pass freely), and an
    ``exit_only`` rule (the country index of those it holds; -1 for everyone) holds people of
    their origin country.

    It takes a record and scalars, not arrays: a helper inlined into a loop with an array argument
    pays a reference count per call, which cost the movement kernel half its time. Its arguments are
    computed before the call, so a pass over many people calls it as ``r.blocked and held_rec(r,
    ...)``: the home country is then read only where a post holds people.
    """
    if on_leg or not r.blocked or (flags & CLEARED) != 0 or going_home:
        return False
    return r.exit_only == -1 or r.exit_only == origin_country


@njit(cache=True)
def select_held(idx, mem, place, km_left, flags, intent, origin, prec, out):
    """``out[:n]`` = those of ``idx`` held at a border post (:func:`held_rec`), in order; returns
    ``n``. ``prec[m]``: the place records of member ``m = mem[i]``; someone's home country is read
    only at a blocked post (most people are at none)."""
    n = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = np.uint64(i)  # unsigned: no negative-index fix-up on each access
        m = mem[iu]
        r = prec[m, U(place[iu])]
        out[U(n)] = i  # kept when held (no branch)
        n += r.blocked and held_rec(r, km_left[iu] != 0, flags[iu], intent[iu] == GOING_HOME,
                                    prec[m, U(origin[iu])].country)
    return n


@njit(cache=True)
def select_states(ids, state, mask, out):
    """``out[:n]`` = those of ``ids`` whose state is in the bit ``mask`` (:func:`state_mask`), in
    order; returns ``n``. One pass, no temporaries."""
    n = 0
    for j in range(ids.shape[0]):
        i = ids[j]
        iu = np.uint64(i)  # unsigned: no negative-index fix-up on each access
        out[n] = i  # kept when its state is in the mask (no branch: states mix)
        n += (mask >> np.int64(state[iu])) & 1
    return n


@njit(cache=True)
def merge_sorted(a, b, out):
    """``out[:n]`` = the ids of ``a`` and ``b`` (each sorted, without repeats) in order, each once;
    returns ``n``. ``b`` is the short list: each of its ids is found in ``a`` by galloping from the
    last one (steps 1, 2, 4 ..., then bisection), and the runs of ``a`` between them are copied."""
    n = 0
    ia = 0
    na = a.shape[0]
    for jb in range(b.shape[0]):
        y = b[U(jb)]
        lo = ia  # the first of a[ia:] not below y lies in [lo, hi]
        hi = ia
        step = 1
        while hi < na and a[U(hi)] < y:
            lo = hi + 1
            hi = ia + step
            step *= 2
        hi = min(hi, na)
        while lo < hi:
            mid = (lo + hi) >> 1
            if a[U(mid)] < y:
                lo = mid + 1
            else:
                hi = mid
        for k in range(ia, lo):
            out[U(n)] = a[U(k)]
            n += 1
        ia = lo
        if ia < na and a[U(ia)] == y:
            continue  # in both: copied with the next run of a
        out[U(n)] = y
        n += 1
    for k in range(ia, na):
        out[U(n)] = a[U(k)]
        n += 1
    return n


def first_come(queue: np.ndarray, since: np.ndarray, cap: np.ndarray, tie_of) -> np.ndarray:
    """First come, first served: which people are served, ``cap[j]`` (their queue's capacity, the
    same for everyone in a queue) in each queue (``queue[j]``: small non-negative numbers), the
    earliest ``since`` (day of arrival) first, ties broken by a keyed draw (``tie_of(positions)``
    gives the draws of those positions), then by position: the order of
    ``np.lexsort((tie, since, queue))``. Only a queue's last day that does not all fit is drawn for
    and ordered by the draw (no sort: counts per (queue, day), then a selection on that
    day). Returns a bool mask."""
    served = np.zeros(queue.size, dtype=bool)
    if queue.size == 0:
        return served
    part = np.empty(queue.size, dtype=np.int64)
    bounds = np.empty(queue.size + 1, dtype=np.int64)
    room = np.empty(queue.size, dtype=np.int64)
    n_days = _whole_days(queue, since, cap, served, part, bounds, room)
    if n_days:
        bounds = bounds[:n_days + 1]
        e = part[:bounds[-1]]
        _part_days(e, bounds, room, np.asarray(tie_of(e), dtype=np.float64), served)
    return served


@njit(cache=True)
def _whole_days(queue, since, cap, served, part, bounds, room):
    """The counting of :func:`first_come`: ``served[j]`` when everyone of ``j``'s queue who came by
    ``j``'s day fits in the queue's ``cap``. A queue's day that fits in part (those of earlier days
    leave ``room`` for some of it, not all) is a day in part: day ``g``'s people are
    ``part[bounds[g]:bounds[g + 1]]`` in order of position, ``room[g]`` of them to be served.
    Returns the days in part. Two passes over the people: one counts each (queue, day), one serves."""
    n = queue.shape[0]
    s0 = np.int64(since.min())
    S = np.int64(since.max()) - s0 + 1
    q_of = np.full(queue.max() + 1, -1, dtype=np.int64)  # queue -> 0, 1 ... in order of appearance
    q_cap = np.empty(n, dtype=np.int64)
    nq = 0
    for j in range(n):
        q = U(queue[j])
        if q_of[q] < 0:
            q_of[q] = nq
            q_cap[nq] = cap[j]
            nq += 1
    cell = np.empty(n, dtype=np.int64)  # each one's (queue, day): q_of · S + day
    count = np.zeros(nq * S, dtype=np.int64)
    for j in range(n):
        c = q_of[U(queue[j])] * S + (np.int64(since[j]) - s0)
        cell[j] = c
        count[U(c)] += 1
    fits = np.empty(nq * S, dtype=np.bool_)  # the whole (queue, day) is served
    slot = np.full(nq * S, -1, dtype=np.int64)  # a day in part: where its next one goes in ``part``
    g = 0
    bounds[0] = 0
    for q in range(nq):
        before = 0  # in the queue, arrived on an earlier day
        for c in range(q * S, (q + 1) * S):
            after = before + count[c]
            fits[c] = after <= q_cap[q]
            if before < q_cap[q] < after:
                slot[c] = bounds[g]
                room[g] = q_cap[q] - before
                bounds[g + 1] = bounds[g] + count[c]
                g += 1
            before = after
    for j in range(n):
        c = U(cell[j])
        if fits[c]:
            served[j] = True
        elif slot[c] >= 0:
            part[slot[c]] = j
            slot[c] += 1
    return g


@njit(cache=True)
def _part_days(part, bounds, room, tie, served):
    """The days in part of :func:`first_come` (:func:`_whole_days`): on day ``g``, the ``room[g]``
    first by (``tie``, position) are ``served``: those whose draw is below the ``room[g]``-th lowest
    draw of the day (:func:`_kth_lowest`), then those whose draw equals it, in order of position."""
    for g in range(bounds.shape[0] - 1):
        a, b = bounds[g], bounds[g + 1]
        left = room[g]
        t = _kth_lowest(tie[a:b], left - 1)
        for k in range(a, b):
            if tie[k] < t:
                served[part[k]] = True
                left -= 1
        for k in range(a, b):
            if left == 0:
                break
            if tie[k] == t:
                served[part[k]] = True
                left -= 1


@njit(cache=True)
def _kth_lowest(x, k):
    """The ``k``-th lowest (from 0) of draws ``x`` in [0, 1), by counting: the draws are counted in
    as many bins of equal width as there are draws (values outside [0, 1) in the end bins: right,
    only slower), and the few of the bin where the count passes ``k`` are sorted. Two passes over
    ``x``, no sort of it (numba's ``np.partition`` costs some 5 times as much)."""
    n = x.shape[0]
    count = np.zeros(n, dtype=np.int64)
    for v in x:
        count[min(max(np.int64(v * n), 0), n - 1)] += 1
    h = 0
    below = 0  # draws in the bins below h
    while below + count[h] <= k:
        below += count[h]
        h += 1
    in_h = np.empty(count[h], dtype=np.float64)
    m = 0
    for v in x:
        if min(max(np.int64(v * n), 0), n - 1) == h:
            in_h[m] = v
            m += 1
    return np.sort(in_h)[k - below]


def records(n: int, dtype: np.dtype) -> np.recarray:
    """``n`` zeroed records of ``dtype`` (field access ``r[i].name`` works compiled and as Python)."""
    return np.zeros(n, dtype=dtype).view(np.recarray)


def record(dtype: np.dtype, **values) -> np.record:
    """One parameter record of ``dtype`` with ``values`` (the others zero)."""
    r = records(1, dtype)
    for k, v in values.items():
        r[k] = v
    return r[0]


def scaled_count(x, scale: float):
    """A count from the scenario (people, seats, a capacity, a crowd threshold) at ``--scale``:
    ``round(x · scale)``, as an int (or an int64 array); negative values (no limit) stay."""
    if np.ndim(x) == 0:
        return int(round(float(x) * scale)) if x >= 0 else int(x)
    a = np.asarray(x, dtype=np.float64)
    return np.where(a >= 0, np.round(a * scale), a).astype(np.int64)


class SimulationError(RuntimeError):
    """An invariant of the simulation broke (someone lost or created, a state out of range): a bug."""
