"""Intentions and exits: giving up and going home, permit programmes, assisted return.

Each day a traveller who is not yet going home gives up with chance ``give_up_per_day``
(``give_up_held_per_day`` while held at a border post), times ``exp(-km from home /
give_up_km_scale)`` when that scale is set (the further they have come, the less they turn back);
from then on they head home. Where the
country they are in runs a permit programme, a traveller takes it and stays (``settled``) with
chance ``permit_per_day``. One who is going home, in a country that offers return assistance
(buses organised by a government), is taken home (``returned``) with chance
``return_assistance`` a day; without it they walk back (``intentions.walk_home``) and count as
``returned`` on reaching home, or wait.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.people import CLEARED, Intent, State
from travesia.engine.processes.base import Process


class Intentions(Process):
    name = "intentions"
    params = "intentions"
    reads = ("state", "place", "intent", "flags", "km_left", "origin")
    writes = ("intent", "dest", "state", "place", "next", "km_left", "since")

    def setup(self, sim) -> None:
        self.p = sim.params.intentions

    def step(self, sim) -> None:
        pp, pol, day = sim.people, sim.policy, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        if kernels.active():
            keys = [sim.rng.key(k, day) for k in ("intentions.give_up", "intentions.permit", "intentions.return")]
            kernels.intentions_kernel(
                idx, day, *(np.uint64(k) for k in keys), self.p.give_up_per_day, self.p.give_up_held_per_day,
                self.p.give_up_km_scale, sim.routes.dist, pp.place, sim.net.country, pp.km_left, pol.blocked, pp.flags, pp.intent, pp.state, pp.since,
                pp.next, pp.origin, pp.dest, sim.dest_index, pol.permit, pol.return_assistance)
            return
        place = pp.place[idx]
        country = sim.net.country[place]
        intent = pp.intent[idx]
        going = intent != Intent.HOME
        # held at a border post: at a blocked place, not cleared
        held = (pp.km_left[idx] == 0) & pol.blocked[place] & ((pp.flags[idx] & CLEARED) == 0)
        u = sim.rng.random("intentions.give_up", day, idx)
        chance = np.where(held, self.p.give_up_held_per_day, self.p.give_up_per_day)
        if self.p.give_up_km_scale > 0:
            km_home = sim.routes.dist[sim.dest_index[pp.origin[idx]], place].astype(np.float64)
            chance = chance * np.exp(-km_home / self.p.give_up_km_scale)
        quit_ = going & (u < chance)
        # a permit programme: stay for good
        permit = pol.permit[country]
        if permit.any():
            takes = going & ~quit_ & (sim.rng.random("intentions.permit", day, idx) < permit)
            if takes.any():
                t = idx[takes]
                pp.set_state(t, State.SETTLED, day)
                pp.next[t] = -1
                pp.km_left[t] = 0
                going &= ~takes
        q = idx[quit_]
        if q.size:
            pp.intent[q] = Intent.HOME
            pp.dest[q] = sim.home_dest(q)
        # going home: assisted return, or walk
        home = pp.intent[idx] == Intent.HOME
        home &= (pp.state[idx] == State.TRAVELLING) | (pp.state[idx] == State.RESTING)
        ra = pol.return_assistance[country]
        bus = np.zeros(idx.size, dtype=bool)
        hi = np.nonzero(home & (ra > 0))[0]
        if hi.size:
            bus[hi] = sim.rng.random("intentions.return", day, idx[hi]) < ra[hi]
        b = idx[bus]
        if b.size:
            pp.set_state(b, State.RETURNED, day)
            pp.place[b] = pp.origin[b]
            pp.next[b] = -1
            pp.km_left[b] = 0
        # at home already (e.g. gave up before leaving the origin town)
        at_home = home & ~bus & (pp.km_left[idx] == 0) & (pp.place[idx] == pp.origin[idx])
        h = idx[at_home]
        if h.size:
            pp.set_state(h, State.RETURNED, day)
