"""Movement: on foot, by hitch-hiked rides, by buses; route choice toward each person's destination.

Each day every person on the move who is not held at a border post, waiting at a rally point
or resting gets a distance budget for one mode:

- **bus**: a bus service (``buses``) leaving their place today takes up to ``seats_per_day``
  (first come first served) ``km`` along their route; anyone may also take a bus on their own
  with chance ``solo_bus_prob`` (``bus_km_per_day``) — they run ahead of their group;
- **ride**: with chance ``ride_prob · (1 − ride_block_share)`` a group gets rides that day (not
  where the country's police stop trucks, ``rides_blocked``): up to ``ride_km_per_day``, the
  group's draw scaling it between 30 % and 100 %; a day of rides ends at the first rally point
  reached after a day's walking distance (the trucks drop people where the caravan stops);
- **foot**: the person's walking distance, no more than their group's pace allows.

A group rests with chance ``rest_prob`` (``shelter_rest_prob`` at a shelter); with chance
``groups.cohesion`` it follows its caravan's collective decision of the day instead of its own.
People then move leg by leg: at a place they choose the next leg toward their destination (see
:mod:`travesia.network`), stop at a border post not yet cleared, at their destination (``arrived``)
or at home (``returned``); a leg that does not allow their mode ends their day there. Walkers
who have already walked today do not start a leg they cannot finish (``stage_walking``): they
sleep in a town, not by the road. People on a leg when the day ends count at the place they left.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.core import BUS, FOOT, RIDE, SimulationError, records, scaled_count, thread_rows
from travesia.engine.people import Field
from travesia.engine.processes.base import Process
from travesia.network import MODE_BITS

_MODE_BIT = np.array([MODE_BITS["foot"], MODE_BITS["ride"], MODE_BITS["bus"]], dtype=np.uint8)
MAX_HOPS = 256
_ROUTE = tuple(f"movement.route{h}" for h in range(MAX_HOPS))  # the route choice at the h-th place of a day
_DECIDE = ("movement.rest", "movement.cohesion", "movement.ride", "movement.ride_km", "movement.solo_bus")
__all__ = ["Movement", "FOOT", "RIDE", "BUS", "MAX_HOPS"]


class Movement(Process):
    name = "movement"
    params = "movement, buses, groups.cohesion"
    batched = True
    fields = {"km_today": Field(np.float32, 0, "km moved today (checked against each mode's limit)"),
              "detour": Field(np.int16, -1, "route-table index of an open crossing rerouted to (processes/reroute.py), "
                              "else -1")}
    reads = ("state", "place", "next", "km_left", "dest", "wp", "pop", "speed", "group", "flags", "intent", "origin",
             "since", "member", "detour", "household")
    writes = ("place", "next", "km_left", "state", "since", "flags", "km_today", "wp", "detour")

    _no_plan: tuple | None = None

    def setup(self, sim) -> None:
        self.m = sim.params.movement
        self._pace = None  # groups' paces (groups.pace_sd may change)
        par = self.par = records(sim.M, kernels.MOVE_PAR)
        for name, get in (
                ("rest_prob", lambda p: p.movement.rest_prob),
                ("shelter_rest_prob", lambda p: p.movement.shelter_rest_prob),
                ("cohesion", lambda p: p.groups.cohesion),
                ("ride_prob", lambda p: p.movement.ride_prob * (1.0 - p.movement.ride_block_share)),
                ("ride_km", lambda p: p.movement.ride_km_per_day),
                ("solo_bus_prob", lambda p: p.movement.solo_bus_prob),
                ("bus_km", lambda p: p.movement.bus_km_per_day),
                ("foot_km", lambda p: p.movement.foot_km_per_day),
                ("max_foot_km", lambda p: p.movement.max_foot_km_per_day),
                ("stage_walking", lambda p: bool(p.movement.stage_walking))):
            par[name] = sim.per_member(get, par.dtype[name])

    def step(self, sim) -> None:
        pp = sim.people
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        # decide each one's day, with their caravan's plan (processes/plan.py, every member's), and move
        # them in one pass, except those at a place where a bus may leave today (organised, or an offer
        # accepted): they are decided in it and moved once the buses took their seats
        T = thread_rows()  # a row of the counters per numba thread, summed below
        flows = np.zeros((T, sim.M, sim.net.n_edges), dtype=np.int64)
        shape = (T, sim.M, max(len(sim.pop_names), 1), sim.net.n_places)
        counts = tuple(np.zeros(shape, dtype=np.int64) for _ in range(3))  # arrived, crossed, ended
        defer = self._bus_places(sim)
        n = idx.size if defer.any() else 0
        who = np.empty(n, dtype=np.int64)
        mode = np.empty(n, dtype=np.int8)
        budget = np.empty(n, dtype=np.float64)
        go = np.empty(n, dtype=np.bool_)
        prev = np.empty(n, dtype=np.uint8)
        n_def = np.zeros(T, dtype=np.int64)
        args = (self._paces(sim), self._caravan_draws(sim), pp.place, pp.next, pp.km_left, pp.dest, pp.wp, pp.flags,
                pp.intent, pp.origin, pp.group, pp.pop, pp.speed, pp.household, pp.detour, pp.state, pp.since,
                pp.km_today, sim.day, sim.place_rec, sim.country_rec, *self._plan(sim), sim.routes.dests,
                sim.routes.cum, sim.routes.hop, sim.net.e_to, sim.net.e_km, sim.net.e_modes, _MODE_BIT, sim.via_table,
                sim.n_via, defer)
        keys = (sim.keys_many(_DECIDE, sim.day), sim.keys_many(_ROUTE, sim.day), self.par)
        kernels.move_kernel(kernels.DECIDE_AND_MOVE, idx, pp.member, sim.offsets, *keys, *args, who, mode, budget, go,
                            prev, n_def, flows, *counts)
        if n_def.any():
            # each chunk's deferred, from its own start
            keep = np.concatenate([np.arange(n * t // T, n * t // T + n_def[t]) for t in range(T)])
            who, mode, budget, go, prev = who[keep], mode[keep], budget[keep], go[keep], prev[keep]
            self._organised_buses(sim, who, mode, budget)
            self._offered_buses(sim, who, mode, budget)
            kernels.move_kernel(kernels.MOVE, who, pp.member, sim.offsets, *keys, *args, who, mode, budget, go, prev,
                                n_def, flows, *counts)
        if T > 1:
            flows, *counts = (a.sum(axis=0, keepdims=True) for a in (flows, *counts))
        sim.add_flow_counts(flows[0])
        for what, c in zip(("arrived", "crossed", "ended"), counts):
            sim.add_arrays(what, c[0])
        pp.changed += 1  # journeys ended (arrived, returned)

    @staticmethod
    def _buses_today(sim) -> list:
        """(index, bus service) of the services leaving today (their places and dates are every member's)."""
        return [(bi, b) for bi, b in enumerate(sim.params.buses) if b.start <= sim.date <= b.end]

    def _bus_places(self, sim) -> np.ndarray:
        """Where a bus may leave today, ``[m * P + place]``: the places of the bus services running
        today (every member's) and of the transport offers each member's caravans accepted today."""
        P = sim.net.n_places
        defer = np.zeros(sim.M * P, dtype=np.bool_)
        for _, b in self._buses_today(sim):
            defer[sim.net.index[b.place]::P] = True
        defer[self._offer_places(sim)] = True
        return defer

    @staticmethod
    def _offer_places(sim) -> np.ndarray:
        """``m * P + place`` of each transport offer a caravan accepted today
        (``sim.shared["offers"].today``, processes/offers.py), in its order."""
        offers = sim.shared.get("offers")
        today = offers.today if offers is not None else []
        return np.array([m * sim.net.n_places + p for m, p, _, _, _ in today], dtype=np.int64)

    def _plan(self, sim) -> tuple:
        """Today's plans of every caravan of every member for the decisions (target -1: no plan):
        target, hold, stage km, route progress per place (rows ``m * K + caravan``), the keys of
        plan.follow, cohesion and ride stage km per member."""
        plan = sim.shared.get("plan")
        K = max(len(sim.pop_names), 1)
        if plan is None or not plan.active:
            if self._no_plan is None or self._no_plan[0].size != sim.M * K:
                G = sim.M * K
                self._no_plan = (np.full(G, -1, dtype=np.int64), np.zeros(G, dtype=np.bool_), np.zeros(G),
                                 np.zeros((G, 1)), np.zeros(sim.M, dtype=np.uint64), np.zeros(sim.M), np.zeros(sim.M))
            return self._no_plan
        if plan.K != K:
            raise SimulationError(f"the plans have {plan.K} caravans a member, movement {K}")
        return (plan.target, plan.hold, plan.stage_km, plan.progress, sim.keys("plan.follow", sim.day),
                plan.cohesion, plan.ride_stage_km)

    def _paces(self, sim) -> np.ndarray:
        """The pace multiplier of every group of every member, ``[m, g]`` (:meth:`Sim.group_pace`, a
        pure function of the member's seed and the group id): computed once for each group."""
        G = max(int(sim.next_groups.max(initial=0)), 1)
        old = self._pace
        n0 = 0 if old is None else old.shape[1]
        if n0 < G:
            cap = max(G, 2 * n0)
            new = np.empty((sim.M, cap))
            if n0:
                new[:, :n0] = old
            gm, gg = np.repeat(np.arange(sim.M), cap - n0), np.tile(np.arange(n0, cap), sim.M)
            new[:, n0:] = sim.group_pace(gg, gm).reshape(sim.M, cap - n0)
            self._pace = new
        return self._pace

    def _caravan_draws(self, sim) -> np.ndarray:
        """Today's draw of each caravan of each member (its collective rest decision), ``[m, k]``."""
        n_pop = max(len(sim.pop_names), 1)
        cm, ck = np.repeat(np.arange(sim.M), n_pop), np.tile(np.arange(n_pop), sim.M)
        return sim.draw_for("movement.rest_caravan", sim.day, ck, cm).reshape(sim.M, n_pop)

    def _organised_buses(self, sim, movers, mode, budget) -> None:
        """Buses leaving a place today take the first ``seats_per_day`` there (by arrival day), in each member."""
        pp, net, day = sim.people, sim.net, sim.day
        for bi, b in self._buses_today(sim):
            at_b = np.nonzero((pp.place[movers] == net.index[b.place]) & (pp.km_left[movers] == 0))[0]
            if at_b.size == 0:
                continue
            seats = np.array([scaled_count(q.buses[bi].seats_per_day, sim.scale) for q in sim.member_params])
            km = sim.per_member(lambda q, bi=bi: q.buses[bi].km)
            tie = sim.draw("movement.bus_seat", day, movers[at_b])
            mb = pp.member[movers[at_b]].astype(np.int64)
            order = np.lexsort((tie, pp.since[movers[at_b]], mb))
            ms = mb[order]
            rank = np.arange(ms.size) - np.searchsorted(ms, ms)  # place in its member's queue
            take = at_b[order[rank < seats[ms]]]
            mode[take] = BUS
            budget[take] = km[pp.member[movers[take]]]

    def _offered_buses(self, sim, movers, mode, budget) -> None:
        """Transport offers a caravan accepted today (``sim.shared["offers"].today``, processes/offers.py,
        every member's): each takes its first ``seats`` people of that caravan at the place ``km`` on."""
        pp, day = sim.people, sim.day
        offers = sim.shared.get("offers")
        if offers is None or not offers.today:
            return
        P, K = sim.net.n_places, max(len(sim.pop_names), 1)
        where = self._offer_places(sim)
        offered = np.zeros(sim.M * P, dtype=bool)
        offered[where] = True
        # those at a place offered to them today (positions in movers) and their (member, place, caravan)
        cand = np.empty(movers.size, dtype=np.int64)
        ckey = np.empty(movers.size, dtype=np.int64)
        nc = kernels.offered_kernel(movers, pp.member, pp.place, pp.km_left, pp.pop, offered, P, K, cand, ckey)
        cand, ckey = cand[:nc], ckey[:nc]
        order = np.argsort(ckey, kind="stable")  # by (member, place, caravan), in order within each
        skey = ckey[order]
        for (_, _, seats, km, _), key in zip(offers.today, where * K + [o[4] for o in offers.today]):
            lo, hi = np.searchsorted(skey, (key, key + 1))
            at_b = cand[order[lo:hi]]
            at_b = at_b[mode[at_b] != BUS]
            if at_b.size == 0 or seats <= 0:
                continue
            tie = sim.draw("movement.offer_seat", day, movers[at_b])
            take = at_b[np.lexsort((tie, pp.since[movers[at_b]]))[:seats]]
            mode[take] = BUS
            budget[take] = km
