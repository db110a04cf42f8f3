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
from travesia.engine.people import CLEARED, RALLY, Intent, State
from travesia.engine.processes.base import Process
from travesia.network import KIND, MODE_BITS

FOOT, RIDE, BUS = 0, 1, 2
_MODE_BIT = np.array([MODE_BITS["foot"], MODE_BITS["ride"], MODE_BITS["bus"]], dtype=np.uint8)
MAX_HOPS = 256


class Movement(Process):
    name = "movement"
    params = "movement, buses"
    reads = ("state", "place", "next", "km_left", "dest", "wp", "pop", "speed", "group", "flags", "intent", "origin")
    writes = ("place", "next", "km_left", "state", "since", "flags", "km_today", "wp")

    _prev_state: np.ndarray

    def setup(self, sim) -> None:
        self.m = sim.params.movement
        self.shelter = sim.net.kind == KIND["shelter"]
        self.cohesion = sim.params.groups.cohesion
        self.rally = np.zeros(sim.net.n_places, dtype=bool)
        for r in sim.params.groups.rally_points:
            self.rally[sim.net.index[r]] = True

    def step(self, sim) -> None:
        pp = sim.people
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        self._prev_state = pp.state[idx].copy()
        g = self._group_draws(sim)
        if kernels.active():
            stay, mode, budget = self._decide_numba(sim, idx, g)
        else:
            stay, mode, budget = self._decide_numpy(sim, idx, g)
        pp.state[idx[stay]] = State.RESTING
        movers = idx[~stay]
        mode, budget = mode[~stay], budget[~stay]
        if movers.size:
            self._organised_buses(sim, movers, mode, budget)
            self._advance(sim, movers, budget, mode)
        moved = pp.km_today[idx] > 0
        st = pp.state[idx]
        done = (st == State.TRAVELLING) | (st == State.RESTING)
        pp.state[idx[done & moved]] = State.TRAVELLING
        pp.state[idx[done & ~moved]] = State.RESTING
        self._fix_since(sim, idx)

    def _group_draws(self, sim) -> dict:
        """Today's draws for every group id (and every caravan): a group decides together."""
        day = sim.day
        G = np.arange(max(sim.next_group, 1))
        return {
            "rest": sim.rng.random("movement.rest", day, G),
            "cohesion": sim.rng.random("movement.cohesion", day, G),
            "ride": sim.rng.random("movement.ride", day, G),
            "ride_km": sim.rng.random("movement.ride_km", day, G),
            "pace": sim.group_pace(G),
            "caravan": sim.rng.random("movement.rest_caravan", day, np.arange(max(len(sim.pop_names), 1))),
        }

    def _decide_numba(self, sim, idx, g):
        pp, pol, net, m, day = sim.people, sim.policy, sim.net, self.m, sim.day
        keys = np.array([sim.rng.key(k, day) for k in
                         ("movement.rest", "movement.cohesion", "movement.ride", "movement.ride_km",
                          "movement.solo_bus")], dtype=np.uint64)
        stay = np.zeros(idx.size, dtype=np.bool_)
        mode = np.zeros(idx.size, dtype=np.int8)
        budget = np.zeros(idx.size, dtype=np.float64)
        par = np.array([m.rest_prob, m.shelter_rest_prob, self.cohesion, m.ride_prob * (1.0 - m.ride_block_share),
                        m.ride_km_per_day, m.solo_bus_prob, m.bus_km_per_day, m.foot_km_per_day,
                        m.max_foot_km_per_day], dtype=np.float64)
        kernels.decide_kernel(idx.astype(np.int64), keys, par, g["rest"], g["cohesion"], g["ride"], g["ride_km"],
                              g["pace"], g["caravan"], pp.place, pp.km_left, pp.flags, pp.intent, pp.origin,
                              pp.group, pp.pop, pp.speed, self.shelter, pol.blocked, pol.exit_only,
                              pol.rides_blocked, net.country, stay, mode, budget)
        return stay, mode, budget

    def _decide_numpy(self, sim, idx, g):
        pp, pol, day, net, m = sim.people, sim.policy, sim.day, sim.net, self.m
        at_place = pp.km_left[idx] == 0
        place = pp.place[idx]
        flags = pp.flags[idx]
        going_home = pp.intent[idx] == Intent.HOME
        held = pol.blocked[place] & at_place & ((flags & CLEARED) == 0) & ~going_home
        eo = pol.exit_only[place]
        held &= (eo == -1) | (eo == net.country[pp.origin[idx]])
        rally = (flags & RALLY) != 0
        grp = pp.group[idx].astype(np.int64)
        home_ids = idx + (1 << 40)

        def per_unit(name: str) -> np.ndarray:
            """The group's draw; people going home draw on their own."""
            u = g[name][grp]
            if going_home.any():
                u[going_home] = sim.rng.random(f"movement.{name}", day, home_ids[going_home])
            return u

        rest_p = np.where(self.shelter[place] & at_place, m.shelter_rest_prob, m.rest_prob)
        u_rest = per_unit("rest")
        if self.cohesion > 0:
            # most groups follow their caravan's collective decision (assemblies decide rest days)
            follow = (per_unit("cohesion") < self.cohesion) & ~going_home
            u_rest = np.where(follow, g["caravan"][pp.pop[idx]], u_rest)
        stay = held | rally | (u_rest < rest_p)
        mode = np.full(idx.size, FOOT, dtype=np.int8)
        budget = np.zeros(idx.size)
        country = net.country[place]
        # rides, per group
        ride_p = m.ride_prob * (1.0 - m.ride_block_share)
        rides = (per_unit("ride") < ride_p) & ~pol.rides_blocked[country] & ~stay
        mode[rides] = RIDE
        budget[rides] = m.ride_km_per_day * (0.3 + 0.7 * per_unit("ride_km")[rides])
        # buses on one's own
        if m.solo_bus_prob > 0:
            sb = (sim.rng.random("movement.solo_bus", day, idx) < m.solo_bus_prob) & ~pol.rides_blocked[country]
            sb &= ~stay
            mode[sb] = BUS
            budget[sb] = m.bus_km_per_day
        # on foot: no faster than the group's pace (alone when going home)
        foot = (mode == FOOT) & ~stay
        walk = np.minimum(pp.speed[idx[foot]], g["pace"][grp[foot]] * m.foot_km_per_day)
        walk = np.where(going_home[foot], pp.speed[idx[foot]], walk)
        budget[foot] = np.minimum(walk, m.max_foot_km_per_day)
        return stay, mode, budget

    def _organised_buses(self, sim, movers, mode, budget) -> None:
        """Buses leaving a place today take the first ``seats_per_day`` there (by arrival day)."""
        pp, net, day = sim.people, sim.net, sim.day
        for b in sim.params.buses:
            if not (b.start <= sim.date <= b.end):
                continue
            at_b = np.nonzero((pp.place[movers] == net.index[b.place]) & (pp.km_left[movers] == 0))[0]
            seats = int(round(b.seats_per_day * sim.scale))
            if at_b.size == 0 or seats <= 0:
                continue
            tie = sim.rng.random("movement.bus_seat", day, movers[at_b])
            order = np.lexsort((tie, pp.since[movers[at_b]]))
            take = at_b[order[:seats]]
            mode[take] = BUS
            budget[take] = b.km

    def _fix_since(self, sim, idx: np.ndarray) -> None:
        """``since`` marks the day a state began: keep it where the state did not change."""
        pp = sim.people
        prev = self._prev_state
        changed = pp.state[idx] != prev
        pp.since[idx[changed]] = sim.day

    def _advance(self, sim, who: np.ndarray, budget: np.ndarray, mode: np.ndarray) -> None:
        """Move people ``who`` along their routes with km ``budget`` by ``mode`` (numba or NumPy)."""
        if kernels.active():
            self._advance_numba(sim, who, budget, mode)
        else:
            self._advance_numpy(sim, who, budget, mode)

    def _advance_numba(self, sim, who, budget, mode) -> None:
        pp, pol, net, rt, rec, day = sim.people, sim.policy, sim.net, sim.routes, sim.record, sim.day
        keys = np.array([sim.rng.key(f"movement.route{h}", day) for h in range(MAX_HOPS)], dtype=np.uint64)
        flows = np.zeros(net.n_edges, dtype=np.int64)
        shape = (max(len(sim.pop_names), 1), net.n_places)
        arrived, crossed, ended = (np.zeros(shape, dtype=np.int64) for _ in range(3))
        kernels.advance_kernel(
            who.astype(np.int64), budget.astype(np.float64), mode.astype(np.int8), bool(self.m.stage_walking),
            np.float32(self.m.foot_km_per_day), keys,
            pp.place, pp.next, pp.km_left, pp.dest, pp.wp, pp.pop, pp.intent, pp.flags, pp.origin, pp.state,
            pp.km_today, rt.dests, rt.cum, rt.hop, net.e_to, net.e_km, net.e_modes, _MODE_BIT,
            pol.blocked, pol.exit_only, pol.counts_crossing, net.country, self.rally, sim.via_table, sim.n_via,
            flows, arrived, crossed, ended)
        rec._flows_today += flows
        rec.add_arrays("arrived", arrived)
        rec.add_arrays("crossed", crossed)
        rec.add_arrays("ended", ended)

    def _advance_numpy(self, sim, who: np.ndarray, budget: np.ndarray, mode: np.ndarray) -> None:
        pp, pol, net, rt, rec, day = sim.people, sim.policy, sim.net, sim.routes, sim.record, sim.day
        stage = self.m.stage_walking
        b = budget.astype(np.float64)
        for _ in range(MAX_HOPS):
            if who.size == 0:
                break
            at = pp.km_left[who] == 0
            stop = np.zeros(who.size, dtype=bool)
            if at.any():
                a = np.nonzero(at)[0]
                ap = pp.place[who[a]]
                # waypoints reached: head for the next one (no budget spent)
                for _w in range(sim.via_table.shape[1]):
                    tg = sim.target(who[a])
                    at_wp = (rt.dests[tg] == ap) & (tg != pp.dest[who[a]])
                    if not at_wp.any():
                        break
                    pp.wp[who[a[at_wp]]] += 1
                dest_place = rt.dests[pp.dest[who[a]]]
                home = pp.intent[who[a]] == Intent.HOME
                reached = ap == dest_place
                if reached.any():
                    r = who[a[reached]]
                    arrived_home = home[reached]
                    pp.state[r[arrived_home]] = State.RETURNED
                    pp.state[r[~arrived_home]] = State.ARRIVED
                    rec.add("ended", pp.place[r[~arrived_home]], pp.pop[r[~arrived_home]])
                    stop[a[reached]] = True
                # border posts not yet cleared
                fl = pp.flags[who[a]]
                blocked = pol.blocked[ap] & ((fl & CLEARED) == 0) & ~home
                eo = pol.exit_only[ap]
                blocked &= (eo == -1) | (eo == net.country[pp.origin[who[a]]])
                stop[a[blocked & ~reached]] = True
                go = ~reached & ~blocked
                g = a[go]
                if g.size:
                    gw = who[g]
                    d = sim.target(gw)
                    p = pp.place[gw].astype(np.int64)
                    u = sim.rng.random(f"movement.route{_}", day, gw)
                    k = (u[:, None] >= rt.cum[d, p]).sum(axis=1)
                    e = rt.hop[d, p, np.minimum(k, rt.hop.shape[2] - 1)]
                    ok = e >= 0
                    e_safe = np.where(ok, e, 0)
                    ok &= (net.e_modes[e_safe] & _MODE_BIT[mode[g]]) != 0
                    if stage:
                        walker = mode[g] == FOOT
                        too_far = walker & (pp.km_today[gw] > 0) & (net.e_km[e_safe] > b[g] + 1e-6)
                        ok &= ~too_far
                    stop[g[~ok]] = True
                    s = g[ok]
                    if s.size:
                        es = e[ok]
                        sw = who[s]
                        pp.next[sw] = net.e_to[es]
                        pp.km_left[sw] = net.e_km[es]
                        pp.flags[sw] &= ~CLEARED
                        rec.add_flows(es)
            keep = ~stop
            who, b = who[keep], b[keep]
            mode = mode[keep]
            if who.size == 0:
                break
            # walk/ride along the current leg
            left = pp.km_left[who].astype(np.float64)
            step = np.minimum(b, left)
            b -= step
            left -= step
            pp.km_today[who] += step.astype(np.float32)
            reach = left <= 1e-6
            pp.km_left[who] = np.where(reach, 0.0, left).astype(np.float32)
            if reach.any():
                r = who[reach]
                np_ = pp.next[r]
                pp.place[r] = np_
                pp.next[r] = -1
                rec.add("arrived", np_, pp.pop[r])
                cnt = pol.counts_crossing[np_] & ~pol.blocked[np_] & (pp.intent[r] != Intent.HOME)
                rec.add("crossed", np_[cnt], pp.pop[r[cnt]])
                # a day of rides ends at a rally point: the trucks go where the caravan is going
                walked = pp.km_today[r] >= np.float32(self.m.foot_km_per_day)
                ride_stop = self.rally[np_] & (mode[reach] == RIDE) & walked
                b[np.nonzero(reach)[0][ride_stop]] = 0.0
                # reaching the destination (or home) ends the journey at once
                fin = np_ == rt.dests[pp.dest[r]]
                if fin.any():
                    f = r[fin]
                    home_f = pp.intent[f] == Intent.HOME
                    pp.state[f[home_f]] = State.RETURNED
                    pp.state[f[~home_f]] = State.ARRIVED
                    rec.add("ended", pp.place[f[~home_f]], pp.pop[f[~home_f]])
                    b[np.nonzero(reach)[0][fin]] = 0.0
            more = b > 1e-6
            # zero-km legs consume no budget: people who reached a place keep going if budget remains
            who, b, mode = who[more], b[more], mode[more]

