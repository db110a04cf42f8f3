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


from travesia.engine import kernels
from travesia.engine.core import record
from travesia.engine.processes.base import Process

_STREAMS = ("intentions.give_up", "intentions.permit", "intentions.return")


class Intentions(Process):
    name = "intentions"
    params = "intentions, countries.*.permit_per_day, countries.*.return_assistance"
    reads = ("state", "place", "intent", "flags", "km_left", "origin")
    writes = ("intent", "dest", "state", "place", "next", "km_left", "since")

    def setup(self, sim) -> None:
        p = sim.params.intentions
        self.par = record(kernels.MOVE_PAR, give_up=p.give_up_per_day, give_up_held=p.give_up_held_per_day,
                          give_up_km_scale=p.give_up_km_scale)

    def step(self, sim) -> None:
        pp, pol, day = sim.people, sim.policy, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        keys = sim.rng.day_keys(_STREAMS, day)
        kernels.intentions_kernel(idx, day, keys, self.par, sim.routes.dist, pp.place, pp.km_left, pp.flags,
                                  pp.intent, pp.state, pp.since, pp.next, pp.origin, pp.dest, sim.dest_index,
                                  pol.place, pol.country)
