"""FLEE 3.1's model as arrays: the day-by-day schedule and the movement kernel.

**The schedule** (:func:`build_schedule`, a pure function of the ``flee:`` parameters, the
network and the number of days) replays FLEE's bookkeeping of locations day by day, in FLEE's
order: conflict zones appear and disappear (``conflicts``), people are injected in conflict zones
(weights: population × intensity × conflict decay), closures are enacted (``closures``), and the
location scores are updated. It yields days × places arrays (move chance, camp and town flags,
score), days × edges arrays (open, day of the last closure), the candidate routes of each
location for each set of open links, and the number of people injected per conflict zone per day.

**The movement kernel** (:func:`move_day`) is FLEE's ``Ecosystem.evolve`` for one day, over
people in id order, sequentially (as FLEE does: a camp filling up during the day repels those
who decide after), in two passes:

1. everyone at a location draws against the location's move chance; one who leaves picks a route
   (or follows the one picked earlier) with weight
   ``((weight_softening + score(end)) / (softening + km) ** distance_power × cap(end)) ** weight_power``,
   where ``cap`` falls from 1 to 0 as the end fills from ``capacity_buffer`` to 100 % of its
   capacity; a route whose end is a camp with ``cap < 0.5`` is abandoned (no move that day);
2. everyone on a link moves ``max_move_speed`` km along it (``max_walk_speed`` on the first link
   with ``start_on_foot``); who reaches the end (strictly passes it, as in FLEE) with less than
   a day's distance moved decides again at the new location (a town always lets them through
   under ``avoid_short_stints`` if they moved less than half a day's distance on average over
   the last two days) and, if they leave, moves up to another full ``max_move_speed`` on the
   next link (FLEE's rule); someone on a link that was closed after they set out is sent back to
   the start of the link.

People in a camp (whose daily chance to leave is small, 0.001 by default) do not draw every day:
when they are first in the camp to decide, they draw once the day they will leave, the first day
t on which the cumulative hazard Σ -log(1 - movechance) of the camp since then exceeds an Exp(1)
draw (stream ``flee.stay``), kept in ``until``. That day has exactly the law of FLEE's daily
draws, movechance changes included; someone sent back, arriving, or in a place that becomes a
camp draws afresh.

Random numbers: the engine's counter-based hash (:func:`travesia.engine.core.uniform_k`) of
(seed, stream ``flee.move``, day, person id, draw number), draw 0 being exactly
``sim.rng.random``; so results do not depend on threads or on the order people are stored in.

People fields used: ``place, next, km_left, state, flags, since`` (the day someone set out or
came to where they are), ``until`` (the day someone in a camp leaves, -1 not drawn).
State owned by the rule set, per person (bytes): ``edge`` int32 (4: the link someone is on),
``recent`` float32 (4: FLEE's recent travel distance, as of the last day they moved: FLEE
halves it every day someone stays put, which the kernel applies when they set out again),
``rem`` int32 × (route length - 1) (4 per link beyond the first, none with awareness_level 1:
the rest of a route chosen several links ahead), ``rem_len`` uint8 (1); for the list of who has
something to do, kept from day to day (:func:`list_active`), ``act`` uint32 (4) and
``wake_next`` int32 (4).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from travesia.engine.core import njit, uniform, uniform_k
from travesia.engine.people import State
from travesia.errors import UserError
from travesia.engine.processes.flee_rules import counts as fcounts
from travesia.engine.processes.flee_rules.params import FleeParams

HAVE_NUMBA = True  # numba is a dependency; NUMBA_DISABLE_JIT=1 runs the kernels as Python

ST_WAIT = np.uint8(State.WAITING)
ST_TRAVEL = np.uint8(State.TRAVELLING)
ST_REST = np.uint8(State.RESTING)
ST_CAMP = np.uint8(State.ARRIVED)
NEVER = 32767  # ``until`` of someone who stays in their camp to the end of the run
HOPPED = np.uint8(16)
NOT_LISTED = -2  # ``wake_next`` of someone on no wake-up list (-1: the last on one)
_POW2NEG = np.concatenate([np.ldexp(1.0, -np.arange(1075)), [0.0]])  # 2^-k, exact (k >= 1075: 0)  # flag bit: has finished at least one link (FLEE's places_travelled > 1)


# --------------------------------------------------------------------------- the schedule


@dataclass
class Routes:
    """Candidate routes of every place for one set of open links (CSR over places)."""

    ptr: np.ndarray  # int64 [P+1]
    end: np.ndarray  # int32 [R] the place the route leads to (its weight uses this place's score)
    base: np.ndarray  # float64 [R] 1 / (softening + km) ** distance_power
    path: np.ndarray  # int32 [R, L] the places after the origin, -1 padded
    length: np.ndarray  # int32 [R]
    edge: np.ndarray | None = None  # int32 [R] the first open edge from the origin to path[:, 0]


@dataclass
class Schedule:
    """Everything in FLEE's model that does not depend on where the people are."""

    days: int
    movechance: np.ndarray  # float64 [D, P]
    is_camp: np.ndarray  # bool [D, P]
    is_town: np.ndarray  # bool [D, P]
    score: np.ndarray  # float64 [D, P]
    edge_open: np.ndarray  # bool [D, E]
    last_closed: np.ndarray  # int32 [D, E] day the edge was last closed (<= that day), -1 never
    epoch: np.ndarray  # int32 [D] index into ``routes``
    routes: list[Routes]
    capacity: np.ndarray  # float64 [P] camp capacities × capacity_scaling, -1 none
    injected: np.ndarray  # int64 [D] people injected each day
    zones: np.ndarray  # int32 [Z] places that receive injected people
    zone_cum: np.ndarray  # int64 [D, Z] people injected there up to and including each day
    prefill: dict[int, int]  # camp place -> day-0 count
    daily_counts: dict[str, np.ndarray] = field(default_factory=dict)  # series name -> int64 [D]
    notes: list[str] = field(default_factory=list)


def decay_factor(fp: FleeParams, since: int) -> float:
    """FLEE's conflict decay multiplier ``since`` days after a conflict began."""
    d = fp.conflict_spawn_decay
    if not d:
        return 1.0
    return float(d[min(int(since / fp.conflict_spawn_decay_interval), len(d) - 1)])


def _conflict_series(fp: FleeParams, index: dict[str, int], days: int) -> dict[int, np.ndarray]:
    out = {}
    for name, pts in fp.conflicts.items():
        if name not in index:
            raise UserError(f"flee.conflicts: unknown place name '{name}'")
        v = np.zeros(days)
        for day, val in sorted(pts):
            if day < days:
                v[max(day, 0):] = val
        out[index[name]] = v
    return out


def _counts_daily(fp: FleeParams, start, days: int) -> dict[str, np.ndarray]:
    out = {}
    for name, pts in fp.counts.items():
        if not pts:
            continue
        tab = np.array([((d - start).days, c) for d, c in pts], dtype=np.float64)
        out[name] = fcounts.daily(tab, days)
    return out


def build_schedule(fp: FleeParams, net, days: int, start) -> Schedule:
    """Replay FLEE's location bookkeeping for ``days`` days (see the module docstring)."""
    P, E = net.n_places, net.n_edges
    names = list(net.names)
    index = {n: i for i, n in enumerate(names)}
    notes: list[str] = []
    from travesia.network import KINDS

    kinds = [KINDS[k] for k in net.kind]
    default_type = {"conflict_zone": "conflict_zone", "camp": "camp", "forwarding_hub": "forwarding_hub",
                    "marker": "marker"}
    ftype, cdate, pop = [], np.zeros(P, dtype=np.int64), np.zeros(P)
    for i, n in enumerate(names):
        loc = fp.locations.get(n)
        if loc is None:
            ftype.append(default_type.get(kinds[i], "town"))
        else:
            ftype.append(loc.type.lower())
            cdate[i] = loc.conflict_date
            pop[i] = loc.population
    for n in fp.locations:
        if n not in index:
            raise UserError(f"flee.locations: unknown place name '{n}' (not a name in the places table)")
    home = fp.home_country or net.countries[int(net.country[0])]
    foreign = np.array([net.countries[int(c)] != home for c in net.country])

    cap = net.capacity.astype(np.float64)
    capacity = np.where(cap >= 0, cap * fp.capacity_scaling, -1.0)
    camp0 = np.array(["camp" in t for t in ftype])
    pop = np.where(camp0, 0.0, pop)

    # initial state (FLEE: a conflict zone with a later conflict date starts as a town)
    mc = np.zeros(P)
    camp = np.zeros(P, bool)
    idp = np.zeros(P, bool)
    town = np.zeros(P, bool)
    marker = np.zeros(P, bool)
    conflict = np.full(P, -1.0)
    tconf = np.full(P, -1, dtype=np.int64)
    for i, t in enumerate(ftype):
        if "conflict" in t and cdate[i] > 0:
            t = "town"
        if "camp" in t:
            camp[i] = True
            mc[i] = fp.camp_movechance
            if "idp" in t:
                idp[i] = True
                mc[i] = fp.idpcamp_movechance
        elif "conflict" in t:
            mc[i] = fp.conflict_movechance
            conflict[i] = 1.0
        elif "forward" in t:
            mc[i] = 1.0
        elif "marker" in t:
            mc[i] = 1.0
            marker[i] = True
        else:
            town[i] = True
            mc[i] = fp.default_movechance
        if mc[i] < 0.005 and not camp[i]:
            camp[i], town[i] = True, False

    series = _conflict_series(fp, index, days)
    daily_counts = _counts_daily(fp, start, days)
    if fp.sum_from_camps:
        camp_series = [v for k, v in daily_counts.items() if k != "total"]
        totals = np.sum(camp_series, axis=0) if camp_series else np.zeros(days, dtype=np.int64)
    else:
        if "total" not in daily_counts:
            raise UserError("flee.counts: no 'total' series (needed when flee.sum_from_camps is false)")
        totals = daily_counts["total"]
    injected = fcounts.injection_counts(np.asarray(totals, dtype=np.int64), fp.insert_day0) if days else np.zeros(0, np.int64)
    prefill = {}
    if fp.insert_day0:
        for i in np.nonzero(camp0)[0]:
            s = daily_counts.get(names[i])
            if s is not None and s[0] > 0:
                prefill[int(i)] = int(s[0])
            elif s is None:
                notes.append(f"camp '{names[i]}' has no count series: it starts empty (FLEE stops with an error)")

    is_open = np.ones(E, bool)
    lastc = np.full(E, -1, dtype=np.int32)
    countries = net.countries
    cfrom = np.array([countries[int(c)] for c in net.country], dtype=object)

    def edges_of(cl) -> np.ndarray:
        if cl.type == "country":
            ca, cb = cfrom[net.e_from], cfrom[net.e_to]
            return ((ca == cl.a) & (cb == cl.b)) | ((ca == cl.b) & (cb == cl.a))
        if cl.type == "location":
            p = index[cl.a]
            return (net.e_from == p) | (net.e_to == p)
        if cl.type == "link":
            a, b = index[cl.a], index[cl.b]
            return ((net.e_from == a) & (net.e_to == b)) | ((net.e_from == b) & (net.e_to == a))
        return np.zeros(E, bool)

    for cl in fp.closures:
        for nm in ((cl.a, cl.b) if cl.type in ("link",) else (cl.a,) if cl.type != "country" else ()):
            if nm not in index:
                raise UserError(f"flee.closures: unknown place name '{nm}'")
        if cl.type == "country":
            for c in (cl.a, cl.b):
                if c not in countries:
                    raise UserError(f"flee.closures: unknown country '{c}'")

    D = days
    S_mc = np.zeros((D, P))
    S_camp = np.zeros((D, P), bool)
    S_town = np.zeros((D, P), bool)
    S_score = np.zeros((D, P))
    S_open = np.zeros((D, E), bool)
    S_last = np.zeros((D, E), dtype=np.int32)
    zone_alloc = np.zeros((D, P), dtype=np.int64)
    carry = np.zeros(P)
    popx = pop.copy()
    for t in range(D):
        # 1. conflicts (FLEE: AddNewConflictZones)
        for p, v in series.items():
            if v[t] > 1e-6 and (t == 0 or v[t - 1] < 1e-6):
                mc[p] = fp.conflict_movechance
                conflict[p] = v[t]
                town[p] = False
                tconf[p] = t
            if v[t] < 1e-6 and t > 0 and v[t - 1] == 1:
                mc[p] = fp.default_movechance
                conflict[p] = -1.0
                town[p] = True
        # 2. injection, shared among conflict zones by population × intensity × decay
        k = int(injected[t])
        if k > 0:
            w = np.zeros(P)
            for p in np.nonzero(conflict > 0)[0]:
                w[p] = popx[p] * conflict[p] * (decay_factor(fp, t - tconf[p]) if fp.conflict_spawn_decay else 1.0)
            W = w.sum()
            if W <= 0:
                raise UserError(f"day {t} ({start}+{t}): {k} people to inject but no conflict zone with a "
                                f"population > 0 (check locations.csv populations and conflicts.csv)")
            x = k * w / W + carry
            a = np.floor(x).astype(np.int64)
            left = k - int(a.sum())
            if left > 0:
                order = np.argsort(-(x - a), kind="stable")[:left]
                a[order] += 1
            carry = np.where(w > 0, x - a, 0.0)
            zone_alloc[t] = a
            if fp.take_from_population:
                popx = np.maximum(popx - a, 0.0)
        # 3. closures (FLEE: enact_border_closures)
        for cl in fp.closures:
            if t == cl.start:
                if cl.type in ("camp", "idpcamp"):
                    p = index[cl.a]
                    mc[p], camp[p], idp[p], conflict[p], town[p], marker[p] = fp.default_movechance, False, False, -1.0, True, False
                else:
                    m = edges_of(cl)
                    is_open[m] = False
                    lastc[m] = t
            if t == cl.end:
                if cl.type in ("camp", "idpcamp"):
                    p = index[cl.a]
                    isidp = cl.type == "idpcamp"
                    mc[p] = fp.idpcamp_movechance if isidp else fp.camp_movechance
                    camp[p], idp[p], conflict[p], town[p], marker[p] = True, isidp, -1.0, False, False
                else:
                    is_open[edges_of(cl)] = True
        # 4. scores
        sc = np.ones(P)
        sc[foreign] *= fp.foreign_weight
        sc[camp] *= fp.camp_weight
        for p in np.nonzero(conflict > 0)[0]:
            sc[p] *= fp.conflict_weight ** (decay_factor(fp, t - tconf[p]) * conflict[p])
        factor = (np.maximum(pop, capacity) / fp.movechance_pop_base) ** fp.movechance_pop_scale_factor \
            if fp.movechance_pop_scale_factor != 0 else 1.0
        S_mc[t] = mc * factor
        S_camp[t], S_town[t], S_score[t] = camp, town, sc
        S_open[t], S_last[t] = is_open, lastc

    # routes for each distinct set of open links
    epoch = np.zeros(D, dtype=np.int32)
    keys: dict[bytes, int] = {}
    raw_routes = []
    for t in range(D):
        kb = S_open[t].tobytes()
        if kb not in keys:
            keys[kb] = len(raw_routes)
            raw_routes.append(_enumerate_routes(fp, net, S_open[t], marker))
        epoch[t] = keys[kb]
    L = max((len(pth) for rr in raw_routes for lst in rr for pth, _ in lst), default=1)
    routes = [_pack_routes(rr, P, L) for rr in raw_routes]
    for rt, kb in zip(routes, keys):
        rt.edge = _first_edges(rt, net, np.frombuffer(kb, dtype=bool))
    zones = np.nonzero(zone_alloc.sum(axis=0) > 0)[0].astype(np.int32)
    zone_cum = np.cumsum(zone_alloc[:, zones], axis=0)
    return Schedule(days=D, movechance=S_mc, is_camp=S_camp, is_town=S_town, score=S_score, edge_open=S_open,
                    last_closed=S_last, epoch=epoch, routes=routes, capacity=capacity, injected=injected,
                    zones=zones, zone_cum=zone_cum, prefill=prefill, daily_counts=daily_counts, notes=notes)


def _enumerate_routes(fp: FleeParams, net, is_open: np.ndarray, marker: np.ndarray) -> list[list]:
    """Per place, FLEE's candidate routes: (path after origin, km) up to awareness_level links
    ahead (markers are passed through without counting; no route returns to a place on it)."""
    P = net.n_places
    out: list[list] = [[] for _ in range(P)]
    A = fp.awareness_level
    ip, eto, ekm = net.indptr, net.e_to, net.e_km.astype(np.float64)

    def rec(p0: int, e: int, prior: float, origin: list[int], step: int, path: list[int]):
        q = int(eto[e])
        dist = prior + float(ekm[e])
        if not marker[q]:
            out[p0].append((path + [q], dist))
        else:
            step -= 1
        if A > step:
            for e2 in range(ip[q], ip[q + 1]):
                if is_open[e2] and int(eto[e2]) not in origin and int(eto[e2]) != q:
                    rec(p0, e2, dist, origin + [q], step + 1, path + [q])

    for p in range(P):
        for e in range(ip[p], ip[p + 1]):
            if is_open[e]:
                if A == 0:
                    out[p].append(([int(eto[e])], float(ekm[e])))
                else:
                    rec(p, e, 0.0, [p], 1, [])
    return out


def _pack_routes(rr: list[list], P: int, L: int) -> Routes:
    n = sum(len(r) for r in rr)
    ptr = np.zeros(P + 1, dtype=np.int64)
    end = np.zeros(n, dtype=np.int32)
    km = np.zeros(n)
    path = np.full((n, L), -1, dtype=np.int32)
    length = np.zeros(n, dtype=np.int32)
    j = 0
    for p, lst in enumerate(rr):
        for pth, d in lst:
            end[j] = pth[-1]
            km[j] = d
            path[j, : len(pth)] = pth
            length[j] = len(pth)
            j += 1
        ptr[p + 1] = j
    return Routes(ptr=ptr, end=end, base=km, path=path, length=length)


def _first_edges(rt: Routes, net, is_open: np.ndarray) -> np.ndarray:
    """For each route, the first open edge from its origin to its first place (as the kernel's
    link search would find it: with a route linked twice, the first of the two)."""
    out = np.full(len(rt.end), -1, dtype=np.int32)
    for p in range(len(rt.ptr) - 1):
        for j in range(rt.ptr[p], rt.ptr[p + 1]):
            t = rt.path[j, 0]
            for e in range(net.indptr[p], net.indptr[p + 1]):
                if is_open[e] and net.e_to[e] == t:
                    out[j] = e
                    break
    return out


def route_weights(routes: Routes, base: np.ndarray, score: np.ndarray, fp: FleeParams) -> np.ndarray:
    """Each route's weight before the capacity factor and ``weight_power``:
    (weight_softening + score(end)) × 1 / (softening + km) ** distance_power."""
    return (fp.weight_softening + score[routes.end]) * base


def camp_hazard(movechance: np.ndarray) -> np.ndarray:
    """[P, D + 1] cumulative hazard of leaving each place: hazard[p, t + 1] - hazard[p, t] =
    -log(1 - movechance[t, p]) (a chance of 1 counts as nearly 1)."""
    h = -np.log1p(-np.minimum(movechance, 1.0 - 1e-12))
    out = np.zeros((movechance.shape[1], movechance.shape[0] + 1))
    out[:, 1:] = np.cumsum(h, axis=0).T
    return out


def route_base(routes: Routes, fp: FleeParams) -> np.ndarray:
    """1 / (softening + km) ** distance_power (1 for every route at awareness level 0)."""
    if fp.awareness_level == 0:
        return np.ones_like(routes.base)
    return 1.0 / (fp.softening + routes.base) ** fp.distance_power


# --------------------------------------------------------------------------- the kernel

_u01 = uniform_k  # the engine's one counter-based draw (k = 0 is exactly ``KeyedRNG.random``)


@njit(cache=True)
def _stay_until(stay_key, i, p, day, hazard):
    """The day person ``i``, in camp ``p`` and deciding from ``day`` on, leaves: the first day t >= day
    with hazard[p, t + 1] - hazard[p, day] >= an Exp(1) draw (NEVER if not within the run)."""
    e = -math.log(1.0 - uniform(stay_key, i))
    row = hazard[p]
    j = np.searchsorted(row, row[day] + e, side="left")
    if j < day + 1:
        j = day + 1
    if j >= row.shape[0]:
        return NEVER
    return j - 1


@njit(cache=True, inline="always")
def _capmult(p, count, capacity, capbuf):
    cap = capacity[p]
    if cap < 1.0:
        return 1.0
    n = count[p]
    if n <= capbuf * cap:
        return 1.0
    if n >= cap:
        return 0.0
    return 1.0 - (n - capbuf * cap) / (cap * (1.0 - capbuf))


@njit(cache=True)
def list_active(day, n_days, seg_lo, live, live_prev, state, until, act, wake_head, wake_next, meta, trav):
    """``trav[:n]`` = the live people with something to do today, in id order: everyone but those in
    a camp who already know they leave on another day (``until`` > today); returns n.

    Kept from day to day rather than found among everyone live: yesterday's list (``act``), less
    those who went to sleep in a camp (drew an ``until`` after today), plus those who wake today
    (``wake_head[day]``: a list linked through ``wake_next``, filled as ``until`` is drawn) and
    those released since (``live_prev`` → ``live``). ``meta`` = [day of ``act``, whether it is
    valid, its length]; when it is not (first day, a place became a camp, new parameters, a day
    skipped), everyone live is scanned and the wake-up lists are rebuilt."""
    N = trav.shape[0]
    G = seg_lo.shape[0]
    if meta[1] == 1 and meta[0] == day - 1:
        m = 0
        for j in range(meta[2]):  # yesterday's list, less who went to sleep (no branches)
            i = act[j]
            act[m] = i
            m += np.int64((state[i] != ST_CAMP) | (until[i] < 0))
        nb = 0  # who wakes today and who was released since: at the end of ``trav``, sorted
        i = wake_head[day]
        while i >= 0:
            if state[i] == ST_CAMP and until[i] == day:
                nb += 1
                trav[N - nb] = i
            nx = wake_next[i]
            wake_next[i] = NOT_LISTED
            i = nx
        wake_head[day] = -1
        for g in range(G):
            for i in range(seg_lo[g] + live_prev[g], seg_lo[g] + live[g]):
                nb += 1
                trav[N - nb] = i
        b = trav[N - nb:]
        b.sort()
        # merge the two sorted lists into ``act``, from the end (in place: act[:m] is read below
        # where it is written)
        a = m
        k = m + nb
        while nb > 0:
            k -= 1
            if a > 0 and act[a - 1] > b[nb - 1]:
                a -= 1
                act[k] = act[a]
            else:
                nb -= 1
                act[k] = b[nb]
        n = m + b.shape[0]
    else:
        n = 0
        wake_head[:] = -1
        wake_next[:] = NOT_LISTED
        for g in range(G):
            for i in range(seg_lo[g], seg_lo[g] + live[g]):
                w = until[i]
                act[n] = i
                n += np.int64((state[i] != ST_CAMP) | (w < 0) | (w == day))
                if state[i] == ST_CAMP and w > day and w < n_days:
                    wake_next[i] = wake_head[w]
                    wake_head[w] = i
    trav[:n] = act[:n]
    meta[0] = day
    meta[1] = 1
    meta[2] = n
    live_prev[:] = live
    return n


@njit(cache=True)
def move_day(day, key, stay_key, hazard, place, nxt, km_left, state, flags, since, until, edge, recent, rem, rem_len,
             count, flows, arrivals, indptr, e_to, e_km, e_open_all, last_closed_all,
             movechance_all, is_town_all, is_camp_all, capacity, capbuf,
             r_ptr, r_end, r_w0, r_edge, r_path, r_len, wpow, uniform,
             speed, walk_speed, start_on_foot, avoid_short, max_hops, scratch, hist, n_states,
             seg_lo, seg_n, seg_place, live, trav, attrs, attr_off, attr_nv, attr_hist,
             act, wake_head, wake_next, meta, live_prev):
    """One day of FLEE's movement for every person (see the module docstring).

    ``hist`` (place × state) is filled with the day's counts, from FLEE's ``count`` per location
    and the travellers; ``attr_hist`` (per attribute, place × value, people present) is kept up to
    date as people change place (see :func:`release_day`); ``trav`` is scratch space for the
    day's travellers, in id order. ``*_all`` are the schedule's days × places (edges) arrays."""
    e_open = e_open_all[day]
    last_closed = last_closed_all[day]
    movechance = movechance_all[day]
    is_town = is_town_all[day]
    is_camp = is_camp_all[day]

    # Route choice without capacity (most places: no route ends at a place with a capacity):
    # each place's cumulative route weights, in route order, padded with +inf to the widest
    # place, so the choice is a fixed-length count, without branches (same sums, same order, so
    # the same route as the general loop below picks)
    P = r_ptr.shape[0] - 1
    W = 1
    for p in range(P):
        W = max(W, r_ptr[p + 1] - r_ptr[p])
    Wf = min(W, 8)
    capped = np.zeros(P, np.bool_)
    cpad = np.full((P, W), np.inf)
    for p in range(P):
        c = 0.0
        for j in range(r_ptr[p], r_ptr[p + 1]):
            if capacity[r_end[j]] >= 1.0:
                capped[p] = True
            w = r_w0[j]
            if wpow != 1.0:
                w = w ** wpow
            c += w
            cpad[p, j - r_ptr[p]] = c

    def choose(i, p, k):
        """Person ``i`` at place ``p`` has decided to move: pick (or continue) a route, with their
        draw number ``k`` if there is a choice, and take its first link (``count``, ``flows`` and
        the rest of the route, ``rem``, follow). Returns (place the link leads to, link), link -1
        if they do not set out."""
        L = rem_len[i]
        if L == 0:
            a = r_ptr[p]
            b = r_ptr[p + 1]
            if a == b:
                return -1, -1
            nr = b - a
            r = a
            if nr == 1:  # one way out: no choice to draw (draw k is left unused)
                pass
            elif uniform:
                u = _u01(key, i, k)
                r = a + min(int(u * nr), nr - 1)
            elif not capped[p]:
                u = _u01(key, i, k)
                tot = cpad[p, nr - 1]
                if tot > 0.0:
                    x = u * tot
                    n = 0
                    if nr <= Wf:
                        for j in range(Wf):
                            n += np.int64(cpad[p, j] <= x)
                    else:
                        while n < nr - 1 and cpad[p, n] <= x:
                            n += 1
                    r = a + min(n, nr - 1)
                else:  # FLEE: all weights zero -> equal weights
                    r = a + min(int(u * nr), nr - 1)
            else:
                u = _u01(key, i, k)
                tot = 0.0
                for j in range(a, b):
                    w = r_w0[j]
                    q = r_end[j]
                    if capacity[q] >= 1.0:
                        w = w * _capmult(q, count, capacity, capbuf)
                    if wpow != 1.0:
                        w = w ** wpow
                    scratch[j - a] = w
                    tot += w
                if tot > 0.0:
                    x = u * tot
                    c = 0.0
                    r = b - 1
                    for j in range(a, b):
                        c += scratch[j - a]
                        if c > x:
                            r = j
                            break
                else:  # FLEE: all weights zero -> equal weights
                    r = a + min(int(u * nr), nr - 1)
            r = np.uint64(r)
            L = r_len[r]
            target = r_path[r, 0]
            final = r_end[r]  # (= r_path[r, L - 1])
            e = r_edge[r]  # the first open link towards the route's first place (open today)
            if is_camp[final] and _capmult(final, count, capacity, capbuf) < 0.5:
                return -1, -1
            for h in range(L - 1):
                rem[i, h] = r_path[r, h + 1]
        else:  # continuing a route chosen earlier: its next link may have closed since
            target = rem[i, 0]
            final = rem[i, L - 1]
            e = -1
            for j in range(indptr[p], indptr[p + 1]):
                if e_open[j] and e_to[j] == target:
                    e = j
                    break
            if e < 0:  # the link has vanished (closed): the route is dropped
                rem_len[i] = 0
                return -1, -1
            if is_camp[final] and _capmult(final, count, capacity, capbuf) < 0.5:
                rem_len[i] = 0
                return -1, -1
            for h in range(L - 1):
                rem[i, h] = rem[i, h + 1]
        rem_len[i] = L - 1
        count[p] -= 1
        flows[e] += 1
        return target, e

    # Only people who have been injected are visited: each population's are the first ``live``
    # of its ids (the injection releases them in id order); the rest wait at its origin.
    # pass 1: who is at a location decides whether to leave; who is on a link (from before, or
    # setting out now) is listed, in id order, for pass 2
    # First, without branches (people of every kind are mixed in id order), list who has something
    # to do today: everyone but those in a camp who already know they leave on another day.
    n_days = movechance_all.shape[0]
    n_c = list_active(day, n_days, seg_lo, live, live_prev, state, until, act, wake_head, wake_next, meta, trav)
    # Those at a location other than a camp draw whether they leave, again without branches (the
    # draw does not depend on anyone else): only those who leave stay listed
    n_d = 0
    for j in range(n_c):
        i = trav[j]
        mc = movechance[np.uint32(place[i])]
        trav[n_d] = i
        n_d += np.int64((state[i] != ST_REST) | (mc >= 1.0) | (_u01(key, i, 0) < mc))
    # Then each of them in turn (``trav`` is rewritten in place with the travellers: n_tr <= j)
    n_tr = 0
    for j in range(n_d):
        i = trav[j]
        s = state[i]
        if s == ST_TRAVEL:
            trav[n_tr] = i
            n_tr += 1
            continue
        if s == ST_WAIT:
            continue
        if s == ST_CAMP:
            # in a camp the daily chance to leave is small: rather than a draw every day, the day
            # they leave is drawn once (``until``), from the same law (see the module docstring)
            w = until[i]
            if w < 0:
                w = _stay_until(stay_key, i, np.uint32(place[i]), day, hazard)
                until[i] = w
                if w != day and w < n_days:  # asleep until then: on that day's wake-up list
                    if wake_next[i] != NOT_LISTED:  # (on a list already: cannot be; find the lists afresh tomorrow)
                        meta[1] = 0
                    else:
                        wake_next[i] = wake_head[w]
                        wake_head[w] = i
            if w != day:
                continue
            until[i] = -1
        # (else at a location, and leaving: drawn above)
        p = np.uint32(place[i])
        target, e = choose(i, p, 1)  # (draw 1: the route)
        if e >= 0:
            # FLEE halves ``recent`` every day someone does not move; it is folded in here, when
            # they set out again (``since``: the day they came to this place), not every day
            idle = day - 1 - since[i]
            if idle > 0:  # (r0 × 2^-idle, exactly as ldexp: the float64 product is exact, one rounding to float32)
                recent[i] = np.float32(np.float64(recent[i]) * _POW2NEG[min(idle, 1075)])
            state[i] = ST_TRAVEL
            nxt[i] = target
            edge[i] = e
            km_left[i] = e_km[e]
            since[i] = day
            trav[n_tr] = i
            n_tr += 1
    # pass 2: who is on a link travels (those at a place have not moved: nothing to do). Each
    # traveller's fields are held in locals for their whole day and written back once.
    n_attr = attrs.shape[0]
    for j in range(n_tr):
        i = trav[j]
        moved = 0.0
        k = 2
        hops = 0
        p = np.uint32(place[i])
        nx = nxt[i]
        kl = np.float32(km_left[i])
        e = edge[i]
        st = state[i]
        sn = since[i]
        un = until[i]
        fl = flags[i]
        rc = recent[i]
        while True:
            sp = speed
            if start_on_foot and (fl & HOPPED) == 0:
                sp = walk_speed
            left = np.float32(kl - sp)
            kl = left
            moved += sp
            if left >= 0:
                break
            fl |= HOPPED
            moved += left
            if last_closed[np.uint32(e)] > sn:  # the link closed behind them: back to its start
                nx = -1
                kl = np.float32(0)
                e = -1
                count[p] += 1
                st = ST_CAMP if is_camp[p] else ST_REST
                sn = day
                un = -1
                break
            sn = day
            q = np.uint32(nx)
            nx = -1
            kl = np.float32(0)
            e = -1
            count[q] += 1
            arrivals[q] += 1
            st = ST_CAMP if is_camp[q] else ST_REST
            for a in range(n_attr):  # people present by attribute: they are now at q
                v = attr_nv[a]
                c = attrs[a, i]
                attr_hist[attr_off[a] + p * v + c] -= 1
                attr_hist[attr_off[a] + q * v + c] += 1
            p = q
            un = -1
            if moved < sp and hops < max_hops:
                # (without branches: the draw is made whether or not it is needed; forced: a
                # town lets them through under avoid_short_stints)
                mc = movechance[q]
                forced = avoid_short & is_town[q] & ((rc + moved / speed) / 2.0 < 0.5)
                leaves = forced | (mc >= 1.0) | (_u01(key, i, k) < mc)
                k += 1
                if leaves:
                    k += 1
                    target, e2 = choose(i, q, k - 1)
                    if e2 >= 0:
                        st = ST_TRAVEL
                        nx = target
                        e = e2
                        kl = np.float32(e_km[e2])  # (km_left is float32)
                        sn = day
                        hops += 1
                        continue
            break
        place[i] = p
        nxt[i] = nx
        km_left[i] = kl
        edge[i] = e
        state[i] = st
        since[i] = sn
        until[i] = un
        flags[i] = fl
        recent[i] = np.float32((rc + moved / speed) / 2.0)
    # the day's counts by place × state: at a location (ARRIVED in a camp, else RESTING) FLEE's own
    # count; on a link, at the place they left; waiting, at their population's place
    hist[:] = 0
    for p in range(count.shape[0]):
        hist[p * n_states + (ST_CAMP if is_camp[p] else ST_REST)] = count[p]
    for j in range(n_tr):
        i = trav[j]
        if state[i] == ST_TRAVEL:
            hist[place[i] * n_states + ST_TRAVEL] += 1
    for g in range(seg_lo.shape[0]):
        hist[seg_place[g] * n_states + ST_WAIT] += seg_n[g] - live[g]


@njit(cache=True)
def release_day(day, target, released, seg_lo, seg_place, is_camp_all, state, since, count,
                attrs, attr_off, attr_nv, attr_hist):
    """FLEE's injection of the day: population ``j`` has its first ``target[j, day]`` people out
    (they set out from WAITING, in id order, at its place: ARRIVED in a camp, else RESTING);
    ``count`` and ``attr_hist`` follow."""
    n_attr = attrs.shape[0]
    for j in range(target.shape[0]):
        want = target[j, day]
        r = released[j]
        if want <= r:
            continue
        k = want - r
        p = seg_place[j]
        s = ST_CAMP if is_camp_all[day, p] else ST_REST
        for i in range(seg_lo[j] + r, seg_lo[j] + want):
            state[i] = s
            since[i] = day
            for a in range(n_attr):
                attr_hist[attr_off[a] + p * attr_nv[a] + attrs[a, i]] += 1
        count[p] += k
        released[j] = want


def run_move_day(*args):
    """:func:`move_day`, with uint64 wrap-around warnings silenced when running without numba."""
    if HAVE_NUMBA:
        return move_day(*args)
    with np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return move_day(*args)


def key_for_day(seed: int, day: int, stream: str = "flee.move") -> np.uint64:
    from travesia.engine.rng import key_for

    return np.uint64(key_for(seed, stream, day))


__all__ = ["Schedule", "Routes", "build_schedule", "route_base", "move_day", "list_active", "run_move_day", "release_day", "decay_factor",
           "key_for_day", "HAVE_NUMBA", "math"]
