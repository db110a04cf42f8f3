"""Intentions and exits: giving up and going home, permit programmes, assisted return.

Each day a traveller who is not yet going home gives up with chance ``give_up_per_day``
(``give_up_held_per_day`` while held at a border post), times ``exp(-km from home /
give_up_km_scale)`` when that scale is set (the further they have come, the less they turn back);
from then on they head home. Where the
country they are in runs a permit programme, a traveller takes it and stays (``settled``) with
chance ``permit_per_day``. One who is going home, in a country that offers return assistance
(buses organised by a government), is taken home (``returned``) with chance
``return_assistance`` a day; otherwise they walk back and count as ``returned`` on reaching home.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.core import records, thread_rows
from travesia.engine.processes.base import Process

_STREAMS = ("intentions.give_up", "intentions.permit", "intentions.return")


class Intentions(Process):
    name = "intentions"
    params = "intentions, countries.*.permit_per_day, countries.*.return_assistance"
    reads = ("state", "place", "intent", "flags", "km_left", "origin", "member")
    writes = ("intent", "dest", "state", "place", "next", "km_left", "since")

    batched = True

    def setup(self, sim) -> None:
        self.par = records(sim.M, kernels.MOVE_PAR)
        self.par.give_up = sim.per_member(lambda p: p.intentions.give_up_per_day)
        self.par.give_up_held = sim.per_member(lambda p: p.intentions.give_up_held_per_day)
        self.par.give_up_km_scale = sim.per_member(lambda p: p.intentions.give_up_km_scale)
        self.km_factor = np.ones((sim.M, *sim.routes.dist.shape))
        kernels.give_up_km_factor(sim.routes.dist, self.par.give_up_km_scale, self.km_factor)

    def step(self, sim) -> None:
        pp, day = sim.people, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        moving = np.empty(idx.size, dtype=np.int64)
        n_moving = np.zeros(thread_rows(), dtype=np.int64)
        kernels.intentions_kernel(idx, pp.member, sim.offsets, day, sim.keys_many(_STREAMS, day), self.par,
                                  self.km_factor, pp.place, pp.km_left, pp.flags, pp.intent, pp.state, pp.since,
                                  pp.next, pp.origin, pp.dest, sim.dest_index, sim.place_rec, sim.country_rec, moving,
                                  n_moving)
        pp.changed += 1  # the kernel settles and returns people; those still on the move:
        C = n_moving.size
        sim.moved_on(moving[:n_moving[0]] if C == 1 else
                     np.concatenate([moving[idx.size * t // C:][:n_moving[t]] for t in range(C)]))
