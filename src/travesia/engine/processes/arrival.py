"""Arrival: at the destination border city, queue for a port of entry or cross irregularly.

People who reach their destination wait there (``arrived``). The port of entry beside it (a
neighbouring border-crossing place in another country) admits ``port_admits_per_day`` of them a
day (the port country's policy), first come first served: they present themselves for asylum
there (``asylum_pending`` in that country) and count as ``crossed`` at the port. Each day a
waiting person crosses irregularly with chance ``arrival.irregular_per_day``; a share
``arrival.apprehension`` is caught and detained, the others stay (``settled``) beyond the border.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.actions import detain, start_asylum
from travesia.engine.core import State, first_come
from travesia.engine.processes.base import Process
from travesia.network import KIND


class Arrival(Process):
    name = "arrival"
    params = "arrival, countries.*.port_admits_per_day"
    batched = True
    reads = ("state", "place", "since", "pop", "member")
    writes = ("state", "place", "since", "until", "next", "km_left")

    def setup(self, sim) -> None:
        net = sim.net
        self.a = sim.params.arrival
        self.irregular = sim.per_member(lambda p: p.arrival.irregular_per_day)
        self.apprehension = sim.per_member(lambda p: p.arrival.apprehension)
        self.port = np.full(net.n_places, -1, dtype=np.int32)
        for p in sim.dest_places:
            e = np.arange(net.indptr[p], net.indptr[p + 1])
            q = net.e_to[e]
            cand = q[(net.kind[q] == KIND["border_crossing"]) & (net.country[q] != net.country[p])]
            if cand.size:
                self.port[p] = cand[0]

    def step(self, sim) -> None:
        pp, day = sim.people, sim.day
        idx = sim.in_states(State.ARRIVED)
        if idx.size == 0:
            return
        port = self.port[pp.place[idx]]
        has = port >= 0
        idx, port = idx[has], port[has]
        if idx.size == 0:
            return
        mem = pp.member[idx].astype(np.int64)
        admits = sim.pol("port_admits")[mem, sim.net.country[port]]
        if admits.any():
            # a queue per (member, port), first come first served
            admitted = first_come(mem * sim.net.n_places + port, pp.since[idx], admits,
                                  lambda pos: sim.draw("arrival.queue", day, idx[pos]))
            a = idx[admitted]
            sim.add_events("crossed", port[admitted], a)
            start_asylum(sim, a, port[admitted])
            idx, port, mem = idx[~admitted], port[~admitted], mem[~admitted]
        if self.irregular.any() and idx.size:
            go = sim.draw("arrival.irregular", day, idx) < self.irregular[mem]
            g, gp = idx[go], port[go]
            sim.add_events("crossed", gp, g)
            caught = sim.draw("arrival.caught", day, g) < self.apprehension[mem[go]]
            detain(sim, g[caught], gp[caught])
            free = g[~caught]
            pp.set_state(free, State.SETTLED, day)
            pp.place[free] = gp[~caught]
