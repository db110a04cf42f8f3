"""Movement: on foot, by hitch-hiked rides, by buses; route choice toward each person's destination.

Each day every person on the move who is not held at a border post, waiting at a rally point
or resting gets a distance budget for one mode:

- **bus**: a bus service (``buses``) leaving their place today takes up to ``seats_per_day``
  (first come first served) ``km`` along their route; anyone may also take a bus on their own
  with chance ``solo_bus_prob`` (``bus_km_per_day``) — they run ahead of their group;
- **ride**: with chance ``ride_prob · (1 − ride_block_share)`` a group gets rides that day (not
  where the country's police stop trucks, ``rides_blocked``): up to ``ride_km_per_day``, the
  group's draw scaling it between 30 % and 100 %; a day of rides ends at the next rally point;
- **foot**: the person's walking distance, no more than their group's pace allows.

A group rests with chance ``rest_prob`` (``shelter_rest_prob`` at a shelter); with chance
``groups.cohesion`` it follows its caravan's collective decision of the day instead of its own. People then move
leg by leg: at a place they choose the next leg toward their destination (see
:mod:`travesia.network`), stop at a border post not yet cleared, at their destination (``arrived``)
or at home (``returned``); a leg that does not allow their mode ends their day there. Walkers
who have already walked today do not start a leg they cannot finish (``stage_walking``): they
sleep in a town, not by the road. People on a leg when the day ends count at the place they left.
"""

from __future__ import annotations

import numpy as np

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
        self.is_dest = np.zeros(sim.net.n_places, dtype=bool)
        self.is_dest[sim.dest_places] = True
        self.cohesion = sim.params.groups.cohesion
        self.rally = np.zeros(sim.net.n_places, dtype=bool)
        for r in sim.params.groups.rally_points:
            self.rally[sim.net.index[r]] = True

    def step(self, sim) -> None:
        pp, pol, day, net = sim.people, sim.policy, sim.day, sim.net
        m = self.m
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        self._prev_state = pp.state[idx].copy()
        at_place = pp.km_left[idx] == 0
        place = pp.place[idx]
        flags = pp.flags[idx]
        going_home = pp.intent[idx] == Intent.HOME
        held = pol.blocked[place] & at_place & ((flags & CLEARED) == 0) & ~going_home
        eo = pol.exit_only[place]
        held &= (eo == -1) | (eo == net.country[pp.origin[idx]])
        rally = (flags & RALLY) != 0
        grp = pp.group[idx].astype(np.int64)
        # rest days, drawn per group (returning people are on their own)
        unit = np.where(going_home, idx + (1 << 40), grp)
        rest_p = np.where(self.shelter[place] & at_place, m.shelter_rest_prob, m.rest_prob)
        u_rest = sim.rng.random("movement.rest", day, unit)
        if self.cohesion > 0:
            # most groups follow their caravan's collective decision (assemblies decide rest days)
            pops = pp.pop[idx].astype(np.int64)
            follow = (sim.rng.random("movement.cohesion", day, unit) < self.cohesion) & ~going_home
            u_rest = np.where(follow, sim.rng.random("movement.rest_caravan", day, pops), u_rest)
        rests = u_rest < rest_p
        stay = held | rally | rests
        movers = idx[~stay]
        pp.state[idx[stay]] = State.RESTING
        if movers.size == 0:
            self._fix_since(sim, idx)
            return
        mplace = pp.place[movers]
        munit = unit[~stay]
        mode = np.full(movers.size, FOOT, dtype=np.int8)
        budget = np.zeros(movers.size)
        # rides, per group
        country = net.country[mplace]
        ride_p = m.ride_prob * (1.0 - m.ride_block_share)
        ur = sim.rng.random("movement.ride", day, munit)
        rides = (ur < ride_p) & ~pol.rides_blocked[country]
        mode[rides] = RIDE
        frac = 0.3 + 0.7 * sim.rng.random("movement.ride_km", day, munit)
        budget[rides] = m.ride_km_per_day * frac[rides]
        # buses on one's own
        if m.solo_bus_prob > 0:
            sb = sim.rng.random("movement.solo_bus", day, movers) < m.solo_bus_prob
            sb &= ~pol.rides_blocked[country]
            mode[sb] = BUS
            budget[sb] = m.bus_km_per_day
        # organised buses, first come first served
        for b in sim.params.buses:
            if not (b.start <= sim.date <= b.end):
                continue
            at_b = np.nonzero((mplace == net.index[b.place]) & (pp.km_left[movers] == 0))[0]
            seats = int(round(b.seats_per_day * sim.scale))
            if at_b.size == 0 or seats <= 0:
                continue
            tie = sim.rng.random("movement.bus_seat", day, movers[at_b])
            order = np.lexsort((tie, pp.since[movers[at_b]]))
            take = at_b[order[:seats]]
            mode[take] = BUS
            budget[take] = b.km
        # on foot
        foot = mode == FOOT
        if foot.any():
            pace = sim.group_pace(grp[~stay][foot]) * m.foot_km_per_day
            walk = np.minimum(pp.speed[movers[foot]], pace)
            walk = np.where(going_home[~stay][foot], pp.speed[movers[foot]], walk)
            budget[foot] = np.minimum(walk, m.max_foot_km_per_day)
        self._advance(sim, movers, budget, mode)
        moved = pp.km_today[idx] > 0
        done = (pp.state[idx] == State.TRAVELLING) | (pp.state[idx] == State.RESTING)
        pp.state[idx[done & moved]] = State.TRAVELLING
        pp.state[idx[done & ~moved]] = State.RESTING
        self._fix_since(sim, idx)

    def _fix_since(self, sim, idx: np.ndarray) -> None:
        """``since`` marks the day a state began: keep it where the state did not change."""
        pp = sim.people
        prev = self._prev_state
        changed = pp.state[idx] != prev
        pp.since[idx[changed]] = sim.day

    def _advance(self, sim, who: np.ndarray, budget: np.ndarray, mode: np.ndarray) -> None:
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
                rec.add("arrived", np_)
                cnt = pol.counts_crossing[np_] & ~pol.blocked[np_] & (pp.intent[r] != Intent.HOME)
                rec.add("crossed", np_[cnt])
                # a day of rides ends at a rally point: the trucks go where the caravan is going
                b[np.nonzero(reach)[0][self.rally[np_] & (mode[reach] == RIDE)]] = 0.0
                # reaching the destination (or home) ends the journey at once
                fin = np_ == rt.dests[pp.dest[r]]
                if fin.any():
                    f = r[fin]
                    home_f = pp.intent[f] == Intent.HOME
                    pp.state[f[home_f]] = State.RETURNED
                    pp.state[f[~home_f]] = State.ARRIVED
                    b[np.nonzero(reach)[0][fin]] = 0.0
            more = b > 1e-6
            # zero-km legs consume no budget: people who reached a place keep going if budget remains
            who, b, mode = who[more], b[more], mode[more]

