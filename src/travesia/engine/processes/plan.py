"""Plan: the caravan as a collective actor — each day one plan per caravan (next stop, hold, route).

Coordinators and evening assemblies announced the next stage of the 2018 caravans (the town to
reach), whether to stay put for some days (to rest, to negotiate, to wait for buses), and which
road to take at a fork; most people followed and slept in the same town (MODEL.md, "Collective
decisions"; events.csv 2018-10-20, 2018-10-26, 2018-10-31). Each day, for each caravan
(population) with at least ``min_body`` people on the move:

- **the body** is the furthest place on the caravan's route (origin → ``via`` → its destination),
  at or ahead of yesterday's body (it never falls back), holding at least ``body_share`` of its
  people on the move who are not held at a border post (stragglers and late leavers do not pull it
  back), else the place at or ahead of yesterday's body holding most of them, else yesterday's body;
- **route decision**: when the body reaches a fork (``plan.forks``), one draw picks a branch (a
  destination) with the fork's shares, and everyone of the caravan still on the way takes it;
- **gathering**: on its start day (``gather_days``) the caravan gathers at its origin;
- **hold**: a scheduled hold (``plan.holds``: an assembly is known to have stayed) or, on reaching
  a hold place (``hold_places``), a drawn one with chance ``hold_prob`` lasting 1 + geometric days
  of mean ``hold_days_mean``; else a rest day with chance ``rest_prob``. During a hold the target is
  the hold place: people behind go there and stop, people there and ahead wait;
- **stage**: otherwise the target is the furthest stop (``stops``: the towns where caravans
  sleep) within a day's walk (``foot_stage_km``) ahead of the body. If the next stop is further,
  the body gets rides there with chance ``ride_day_prob`` (up to ``ride_stage_km``; never on the
  day it leaves its origin, which it leaves on foot, nor where police stop trucks), else it walks
  a day toward it and sleeps by the road.

A household follows its caravan's plan that day with chance ``cohesion`` (one draw per household:
groups merged at rally points can grow to a whole caravan, whose single draw would stop or move
thousands at once): it goes to the target and stops there (however far that is), or waits if it
is already there or ahead.
The others move on their own (:mod:`movement`): a fast head runs ahead, stragglers fall behind,
and both rejoin where the body holds. Movement applies the plan in its decisions
(:func:`~travesia.engine.kernels.follow_plan`, from the tables of :class:`PlanState`).
Every draw is one number per caravan (or household) per day, keyed by (member seed, stream, day,
caravan or household), so runs stay deterministic and a member advanced with others plans as it would
alone. The plans of all members are one :class:`PlanState` in ``sim.shared["plan"]`` (row
``m * K + k``: caravan ``k`` of member ``m``), advanced by numba kernels over all rows at once;
member ``m``'s plans (:meth:`PlanState.member_log`) are written as ``plans.csv``.
"""

from __future__ import annotations

import math

import numpy as np

from travesia.engine.core import (
    GOING_HOME, RESTING, TRAVELLING, WAITING, U, held_rec, njit, records,
)
from travesia.engine.processes.base import Process
from travesia.errors import UserError
from travesia.network import KIND, ROAD



def route_path(net, anchors: list[int]) -> tuple[list[int], list[float]]:
    """Places along the shortest road path through ``anchors`` in order, with cumulative km."""
    places, km = [anchors[0]], [0.0]
    for a, b in zip(anchors[:-1], anchors[1:]):
        if a == b:
            continue
        d = net.distances_to(np.array([b]))[0]
        if not np.isfinite(d[a]):
            break
        p, guard = a, 0
        while p != b and guard < net.n_places:
            guard += 1
            lo, hi = net.indptr[p], net.indptr[p + 1]
            best, best_e = np.inf, -1
            for e in range(lo, hi):
                if (net.e_modes[e] & ROAD) == 0:
                    continue
                v = float(net.e_km[e]) + d[net.e_to[e]]
                if v < best - 1e-9:
                    best, best_e = v, e
            if best_e < 0:
                break
            p = int(net.e_to[best_e])
            places.append(p)
            km.append(km[-1] + float(net.e_km[best_e]))
    return places, km


class PlanState:
    """Each caravan's plan today and what carries over (holds, route decisions), for every member:
    row ``g = m * K + k`` is caravan ``k`` of member ``m`` (``K`` caravans). Kept in
    ``sim.shared["plan"]``: the plan process writes it, movement and leaving read it."""

    def __init__(self, n_members: int, n_pop: int, n_places: int, days: int):
        K = max(n_pop, 1)
        G = n_members * K
        self.M, self.K = n_members, K
        self.target = np.full(G, -1, dtype=np.int64)  # place the body heads for today (-1: no plan)
        self.body = np.full(G, -1, dtype=np.int64)
        self.hold = np.zeros(G, dtype=bool)
        self.hold_until = np.full(G, -1, dtype=np.int64)  # the body holds while day < hold_until
        self.hold_place = np.full(G, -1, dtype=np.int64)
        self.last_hold_draw = np.full(G, -1, dtype=np.int64)  # place where a hold was last drawn
        self.stage_km = np.zeros(G)  # km the body covers today (0 on a hold day)
        self.body_pos = np.zeros(G)  # km along the route where the body sleeps (by the road after a partial stage)
        self.partial = np.zeros(G, dtype=bool)  # yesterday's stage ended by the road, short of the target
        self.branch = np.full(G, -1, dtype=np.int64)  # destination place chosen at a fork
        self.progress = np.zeros((G, n_places))  # km along each caravan's route, per place
        self.on_path = np.zeros((G, n_places), dtype=bool)
        self.hold_done = np.zeros((G, 0), dtype=np.bool_)  # scheduled holds (plan.holds) already used
        self.fork_done = np.zeros((G, 0), dtype=np.bool_)  # route decisions (plan.forks) already taken
        self.cohesion = np.zeros(n_members)  # per member
        self.ride_stage_km = np.full(n_members, 250.0)
        self.carried_km = np.zeros(G)  # km the longest transport offer the caravan accepted today takes it
        # the plans of each day [day, g]: target -1 on a day without a plan (see :meth:`member_log`)
        self.log_target = np.full((days, G), -1, dtype=np.int64)
        self.log_body = np.zeros((days, G), dtype=np.int64)
        self.log_left = np.zeros((days, G), dtype=np.int64)
        self.log_dest = np.zeros((days, G), dtype=np.int64)
        self.log_stage = np.zeros((days, G))
        self.log_n = np.zeros((days, G), dtype=np.int64)
        self._paths: dict = {}

    def member_log(self, m: int) -> list[tuple]:
        """Member ``m``'s plans, day by day and caravan by caravan: (day, caravan, body, target,
        days of the hold left, route's destination, stage km, people on the move)."""
        sl = slice(m * self.K, (m + 1) * self.K)
        d, k = np.nonzero(self.log_target[:, sl] >= 0)
        g = m * self.K + k
        cols = (self.log_body, self.log_target, self.log_left, self.log_dest)
        return [(int(a), int(b), *(int(c[a, x]) for c in cols), float(self.log_stage[a, x]), int(self.log_n[a, x]))
                for a, b, x in zip(d, k, g)]

    @property
    def active(self) -> bool:
        return bool((self.target >= 0).any())


@njit(cache=True)
def _take_branch(lo, hi, k, pop, intent, state, dest, dest_places, is_dest, di):
    """People ``lo:hi`` of caravan ``k`` not going home, waiting or on the move, whose destination
    (a route-table index) is a place with ``is_dest``, head for route-table index ``di``."""
    for i in range(lo, hi):
        s = state[i]
        if (pop[i] == k and intent[i] != GOING_HOME and (s == WAITING or s == TRAVELLING or s == RESTING)
                and is_dest[dest_places[dest[i]]]):
            dest[i] = di


@njit(cache=True)
def _count_kernel(idx, mem, K, pop, intent, place, km_left, flags, origin, prec, counts):
    """People per (member, caravan) row × place, not going home and not held at a border post."""
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = np.uint64(i)  # unsigned: no negative-index fix-up on each access
        if intent[iu] == GOING_HOME:
            continue
        p = U(place[iu])
        m = mem[iu]
        r = prec[m, p]
        if r.blocked and held_rec(r, km_left[iu] != 0, flags[iu], False, prec[m, U(origin[iu])].country):
            continue
        counts[U(m * K + pop[iu]), p] += 1


@njit(cache=True)
def _body_kernel(gs, K, counts, n, on_path, progress, body_share, prev_body, prev_target, reach, body):
    """``body[g]`` of caravan rows ``gs``: the furthest place on the route, at or ahead of
    yesterday's body ``prev_body[g]`` (-1: none yet) and within a day's reach of it (not beyond
    yesterday's target ``prev_target[g]`` nor ``reach[g]`` km along the route: where the body set out
    from yesterday plus a day's rides or an accepted offer's km; no limit without a plan yesterday,
    ``prev_target[g]`` -1), holding at least ``body_share`` of the caravan's free people; else the
    place between the two holding most of them; else (all of them behind it) yesterday's body, or
    (all of them beyond it) yesterday's target. So the body never falls back: stragglers, and late
    leavers still streaming out of the origin, do not pull it back however many they are; nor does
    it leap ahead: a head that rode far ahead and waits at a rally point does not pull the body (and
    so its followers) there in one day. -1 when none of its people is on the route."""
    P = counts.shape[1]
    for g in gs:
        share = body_share[g // K] * n[g]
        pb = prev_body[g]
        floor = progress[g, pb] - 1e-6 if (pb >= 0 and on_path[g, pb]) else -1.0
        pt = prev_target[g]
        ceil = np.inf
        if pt >= 0 and on_path[g, pt]:
            ceil = max(progress[g, pt], reach[g], floor) + 1e-6
        best_c, best_p, far_p, anyone, beyond = 0, -1, -1, False, False
        for p in range(P):
            c = counts[g, p] if on_path[g, p] else 0
            if c <= 0:
                continue
            anyone = True
            if progress[g, p] < floor:
                continue
            if progress[g, p] > ceil:
                beyond = True
                continue
            if c > best_c:
                best_c, best_p = c, p
            if c >= share and (far_p < 0 or progress[g, p] > progress[g, far_p]):
                far_p = p
        if not anyone:
            body[g] = -1
        elif best_c <= 0:
            body[g] = pt if beyond else pb
        else:
            body[g] = far_p if far_p >= 0 else best_p


@njit(cache=True)
def _stage_kernel(day, gs, K, body, dest, n, progress, on_path, prev_target, u_rest, u_ride, u_hold, u_len,
                  par, stop, hold_at, rides_blocked, country, start_day, origin, holds, hold_done,
                  target, hold, hold_until, hold_place, last_hold_draw, stage_km, body_pos, partial, prev_body,
                  log_target, log_body, log_left, log_dest, log_stage, log_n):
    """The plan of the day of caravan rows ``gs`` whose body is known (see the module's doc):
    ``par[m]`` member ``m``'s :data:`PLAN_PAR`, ``holds[m, h]`` its scheduled holds (:data:`HOLD`)."""
    P = progress.shape[1]
    for g in gs:
        m = g // K
        k = g % K
        pm = par[m]
        b = body[g]
        prog = progress[g]
        # where the body sleeps: its place, or by the road after a stage that fell short
        pos = prog[b]
        if partial[g] and prev_body[g] == b:
            if prev_target[g] >= 0:
                pos = min(body_pos[g] + stage_km[g], prog[prev_target[g]])
        prev_body[g] = b
        body_pos[g] = pos
        partial[g] = False
        # holds: one in progress, a scheduled one, one drawn on reaching a hold place, a rest day
        t = -1
        h = False
        if day < hold_until[g]:
            t = hold_place[g]
            h = True
        if not h and day < start_day[k] + pm.gather_days and b == origin[k]:
            t = origin[k]  # gathering at the origin (the day it was called for)
            h = True
        if not h:
            for j in range(holds.shape[1]):
                hd = holds[m, j]
                if not hd.valid or (hd.caravan >= 0 and hd.caravan != k):
                    continue
                hp = hd.place
                if hd.dated:
                    if hd.start <= day < hd.start + hd.days and not hold_done[g, hd.key] and prog[b] <= prog[hp] + 1e-6:
                        hold_done[g, hd.key] = True  # from its first day the hold lasts to its end
                        hold_until[g] = hd.start + hd.days
                        hold_place[g] = hp
                        t = hp
                        h = True
                        break
                elif not hold_done[g, hd.key] and b == hp:
                    hold_done[g, hd.key] = True
                    hold_until[g] = day + hd.days
                    hold_place[g] = hp
                    t = hp
                    h = True
                    break
        if not h and hold_at[m, b] and last_hold_draw[g] != b:
            last_hold_draw[g] = b
            if u_hold[g] < pm.hold_prob:
                mean = pm.hold_days_mean
                days = 1
                if mean > 1:
                    days = 1 + int(math.floor(math.log(max(u_len[g], 1e-300)) / math.log(1 - 1 / mean)))
                hold_until[g] = day + days
                hold_place[g] = b
                t = b
                h = True
        if not h and stop[m, b] and u_rest[g] < pm.rest_prob:
            t = b
            h = True
        reach = 0.0
        if not h:
            # the stops ahead on the route, then the route's end (its destination) when no stop is before it
            d = dest[g]
            lo = np.inf
            for p in range(P):
                if on_path[g, p] and stop[m, p] and prog[p] > pos + 1e-6 and prog[p] < lo:
                    lo = prog[p]
            with_dest = lo == np.inf or prog[d] <= lo
            far, far_x, near, near_x = -1, -np.inf, -1, np.inf
            for q in range(P + 1):
                if q < P:
                    p = q
                    if not (on_path[g, p] and stop[m, p] and prog[p] > pos + 1e-6):
                        continue
                else:
                    p = d
                    if not with_dest or not prog[p] > pos + 1e-6:
                        continue
                x = prog[p]
                if x <= pos + pm.foot_stage_km and x > far_x:
                    far, far_x = p, x
                if x < near_x:
                    near, near_x = p, x
            if near < 0:
                continue  # at the end of the route: no plan
            if far >= 0:  # a walking stage: the furthest stop within a day's walk
                t = far
                reach = pm.foot_stage_km
            else:  # the next stop is further: rides (not out of the origin, not where police stop
                # trucks), else a day's walk toward it, sleeping by the road
                t = near
                rides = (u_ride[g] < pm.ride_day_prob and day > start_day[k] + pm.gather_days
                         and not rides_blocked[m, country[b]])
                reach = pm.ride_stage_km if rides else pm.foot_stage_km
        target[g] = t
        hold[g] = h
        gap = max(0.0, prog[t] - pos)
        stage_km[g] = 0.0 if h else min(gap, reach)
        partial[g] = not h and gap > reach + 1e-6
        left = hold_until[g] - day if day < hold_until[g] else (1 if h else 0)
        log_target[day, g] = t
        log_body[day, g] = b
        log_left[day, g] = left
        log_dest[day, g] = dest[g]
        log_stage[day, g] = stage_km[g]
        log_n[day, g] = n[g]


# a member's plan parameters, for the kernels
PLAN_PAR = np.dtype([("gather_days", np.int64), ("hold_prob", np.float64), ("hold_days_mean", np.float64),
                     ("rest_prob", np.float64), ("foot_stage_km", np.float64), ("ride_stage_km", np.float64),
                     ("ride_day_prob", np.float64)])
# a scheduled hold (plan.holds): caravan index (-1: every caravan), place, dated (start day) or on
# reaching the place, days, and ``key``: the first hold with the same place, days and start (they
# are used once together)
HOLD = np.dtype([("valid", np.bool_), ("caravan", np.int64), ("place", np.int64), ("dated", np.bool_),
                 ("start", np.int64), ("days", np.int64), ("key", np.int64)])


class Plan(Process):
    name = "plan"
    params = "plan"
    batched = True  # one plan per (member, caravan): row g = m * K + k of the PlanState
    reads = ("state", "place", "km_left", "pop", "intent", "flags", "origin", "member")
    writes = ("dest",)  # a route decision sends the whole body down one branch

    def setup(self, sim) -> None:
        net, M, P = sim.net, sim.M, sim.net.n_places
        self.ps = [q.plan for q in sim.member_params]
        st = sim.shared.get("plan")
        if st is None:
            st = sim.shared["plan"] = PlanState(M, len(sim.pop_names), P, sim.days)
        st.cohesion[:] = [p.cohesion for p in self.ps]
        st.ride_stage_km[:] = [p.ride_stage_km for p in self.ps]
        # organised buses (``buses:``) can carry the body further than a day's rides
        self.bus_km = np.array([max((b.km for b in q.buses), default=0.0) for q in sim.member_params])
        self.enabled = np.array([bool(p.stops) and q.rules == "caravan" for p, q in zip(self.ps, sim.member_params)])
        self.min_body = np.array([max(p.min_body * sim.scale, 1) for p in self.ps])
        self.body_share = np.array([p.body_share for p in self.ps])
        self.par = records(M, PLAN_PAR)
        for name in PLAN_PAR.names:
            self.par[name] = [getattr(p, name) for p in self.ps]
        self.stop = np.zeros((M, P), dtype=bool)
        self.hold_at = np.zeros((M, P), dtype=bool)  # hold places
        pop_index = {name: k for k, name in enumerate(sim.pop_names)}
        H = max(len(p.holds) for p in self.ps)
        self.holds = records(M * H, HOLD).reshape(M, H)
        for m, p in enumerate(self.ps):
            self.stop[m, [net.index[s] for s in p.stops]] = True
            self.hold_at[m, [net.index[s] for s in p.hold_places]] = True
            keys: dict[tuple, int] = {}
            for j, h in enumerate(p.holds):
                d0 = None if h.start is None else (h.start - sim.start).days
                self.holds[m, j] = (True, -1 if h.caravan is None else pop_index[h.caravan], net.index[h.place],
                                    d0 is not None, d0 or 0, h.days, keys.setdefault((h.place, h.days, d0), j))
            for f in p.forks:
                for d in f.options:
                    if sim.dest_index[net.index[d]] < 0:
                        raise UserError(f"plan.forks: '{d}' is not a destination of any population (add it to a "
                                        "population's destinations, even with weight 0)")
        # a fork is taken once per caravan: forks at the same place are one decision
        self.fork_key = [[next(i for i, e in enumerate(p.forks) if e.place == f.place) for f in p.forks]
                         for p in self.ps]
        F = max(len(p.forks) for p in self.ps)
        self.fork_place = np.full((M, F), -1, dtype=np.int64)  # members × forks: place (-1: none)
        self.fork_keys = np.zeros((M, F), dtype=np.int64)
        for m, p in enumerate(self.ps):
            self.fork_place[m, :len(p.forks)] = [net.index[f.place] for f in p.forks]
            self.fork_keys[m, :len(p.forks)] = self.fork_key[m]
        for name, width in (("hold_done", self.holds.shape[1]), ("fork_done", max(len(p.forks) for p in self.ps))):
            old = getattr(st, name)
            if old.shape[1] < width:
                setattr(st, name, np.pad(old, ((0, 0), (0, width - old.shape[1]))))
        pops = sim.params.populations  # the caravans' origins and start days are shared by the members
        self.start_day = np.array([(pop.start - sim.start).days for pop in pops], dtype=np.int64)
        self.origin = np.array([net.index[pop.origin] for pop in pops], dtype=np.int64)
        self.rides_blocked = sim.pol("rides_blocked")
        self.first_dest = np.array([sim.member_pop_dest[m][k][0][int(np.argmax(sim.member_pop_dest[m][k][1]))]
                                    for m in range(M) for k in range(len(pops))], dtype=np.int64)
        for g in range(M * st.K if pops else 0):
            self._set_path(sim, st, g)

    def _main_dest(self, sim, st: PlanState, g: int) -> int:
        """The destination of caravan row ``g``'s route: the branch taken at a fork, else its main one."""
        return int(st.branch[g]) if st.branch[g] >= 0 else int(self.first_dest[g])

    def _set_path(self, sim, st: PlanState, g: int) -> None:
        """Progress (km along the caravan's route) of every place: on the route, its km; off it,
        that of the nearest place on the route."""
        net = sim.net
        pop = sim.params.populations[g % st.K]
        anchors = [net.index[pop.origin]] + [net.index[v] for v in pop.via] + [self._main_dest(sim, st, g)]
        key = tuple(anchors)
        if key not in st._paths:
            places, km = route_path(net, anchors)
            prog = np.zeros(net.n_places)
            on = np.zeros(net.n_places, dtype=bool)
            seen: dict[int, float] = {}
            for p, x in zip(places, km):
                seen.setdefault(p, x)
            pl = np.array(list(seen), dtype=np.int64)
            kms = np.array(list(seen.values()))
            on[pl] = True
            d = net.distances_to(pl)  # [len(path), P]
            near = np.argmin(np.where(np.isfinite(d), d, np.inf), axis=0)
            prog[:] = kms[near]
            prog[pl] = kms
            st._paths[key] = (prog, on)
        st.progress[g], st.on_path[g] = st._paths[key]

    def step(self, sim) -> None:
        st = sim.shared.get("plan")
        prev_target = st.target.copy()
        st.target[:] = -1
        st.hold[:] = False
        if not self.enabled.any():
            return
        counts = self._counts(sim, st)
        if counts is None:
            return
        day, K = sim.day, st.K
        gm, gk = np.repeat(np.arange(sim.M), K), np.tile(np.arange(K), sim.M)
        n = counts.sum(axis=1)
        gs = np.nonzero(self.enabled[gm] & (n >= self.min_body[gm]))[0]
        if gs.size == 0:
            return
        body = np.full(gm.size, -1, dtype=np.int64)
        # how far the body can have gone since it set out yesterday: a day's rides, or an offer's km
        reach = st.body_pos + np.maximum(st.ride_stage_km[gm], np.maximum(st.carried_km, self.bus_km[gm]))
        st.carried_km[:] = 0.0
        offers = sim.shared.get("offers")
        for m, _p, _seats, km, k in (offers.today if offers is not None else ()):
            st.carried_km[m * K + k] = max(st.carried_km[m * K + k], km)
        _body_kernel(gs, K, counts, n, st.on_path, st.progress, self.body_share, st.body, prev_target, reach, body)
        gs = gs[body[gs] >= 0]
        if self.fork_place.shape[1]:  # a route decision when the body has reached a fork not yet taken
            fm = gm[gs]
            fp = self.fork_place[fm]  # [rows, forks] (-1: none)
            due = (fp >= 0) & ~st.fork_done[gs[:, None], self.fork_keys[fm]]
            due &= st.progress[gs, body[gs]][:, None] >= st.progress[gs[:, None], np.maximum(fp, 0)] - 1e-6
            for g in gs[due.any(axis=1)].tolist():
                if self._fork(sim, st, g, int(body[g])):
                    _body_kernel(np.array([g]), K, counts, n, st.on_path, st.progress, self.body_share, st.body,
                                 prev_target, reach, body)
        dest = np.where(st.branch >= 0, st.branch, self.first_dest)
        u = [sim.draw_for(f"plan.{s}", day, gk, gm) for s in ("rest", "ride", "hold", "hold_days")]
        _stage_kernel(day, gs, K, body, dest, n, st.progress, st.on_path, prev_target, *u, self.par, self.stop,
                      self.hold_at, self.rides_blocked, sim.net.country, self.start_day, self.origin, self.holds,
                      st.hold_done, st.target, st.hold, st.hold_until, st.hold_place, st.last_hold_draw, st.stage_km,
                      st.body_pos, st.partial, st.body, st.log_target, st.log_body, st.log_left, st.log_dest,
                      st.log_stage, st.log_n)

    def _counts(self, sim, st: PlanState) -> np.ndarray | None:
        """People of each (member, caravan) row on the move at each place [M·K, P], not going home
        and not held at a border post (one pass over the people on the move)."""
        pp = sim.people
        idx = sim.on_the_move()
        if idx.size == 0:
            return None
        counts = np.zeros((sim.M * st.K, sim.net.n_places), dtype=np.int64)
        _count_kernel(idx.astype(np.int64, copy=False), pp.member, st.K, pp.pop, pp.intent, pp.place, pp.km_left, pp.flags,
                      pp.origin, sim.place_rec, counts)
        return counts

    def _fork(self, sim, st: PlanState, g: int, body: int) -> bool:
        """A route decision when the body has reached a fork: the whole caravan takes one branch."""
        net, pp = sim.net, sim.people
        m, k = divmod(g, st.K)
        name = sim.pop_names[k]
        for i, f in enumerate(self.ps[m].forks):
            if f.caravan not in (None, name):
                continue
            fp = net.index[f.place]
            key = self.fork_key[m][i]
            if st.fork_done[g, key] or st.progress[g][body] < st.progress[g][fp] - 1e-6:
                continue
            st.fork_done[g, key] = True
            ids = [net.index[d] for d in f.options]
            w = np.array(list(f.options.values()), dtype=np.float64)
            j = int(sim.rngs[m].choice("plan.fork", sim.day, np.array([k * 64 + i]), w / w.sum())[0])
            st.branch[g] = ids[j]
            di = sim.dest_index[ids[j]]
            # the member's people of the caravan, not going home, waiting or on the move, whose
            # destination is a US-border city take the branch (not those staying in Mexico)
            _take_branch(int(sim.offsets[m]), int(sim.offsets[m + 1]), k, pp.pop, pp.intent, pp.state, pp.dest,
                         sim.dest_places, net.kind == KIND["destination"], di)
            self._set_path(sim, st, g)
            return True
        return False
