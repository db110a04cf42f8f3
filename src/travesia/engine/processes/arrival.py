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
from travesia.engine.core import U, State, first_come, njit, uniform
from travesia.engine.processes.base import Process
from travesia.network import KIND


class Arrival(Process):
    name = "arrival"
    params = "arrival, countries.*.port_admits_per_day"
    batched = True
    reads = ("state", "place", "since", "pop", "member")
    writes = ("state", "place", "since", "until", "wake", "next", "km_left")

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
        arrived = sim.in_states(State.ARRIVED)
        if arrived.size == 0:
            return
        # those at a destination with a port of entry: a queue per (member, port)
        idx = np.empty(arrived.size, dtype=np.int64)
        port = np.empty(arrived.size, dtype=np.int64)
        key = np.empty(arrived.size, dtype=np.int64)
        since = np.empty(arrived.size, dtype=pp.since.dtype)
        admits = np.empty(arrived.size, dtype=np.int64)
        n = _queue_kernel(arrived, pp.member, pp.place, pp.since, self.port, sim.net.country, sim.pol("port_admits"),
                          idx, port, key, since, admits)
        if n == 0:
            return
        idx, port = idx[:n], port[:n]
        admitted = np.zeros(n, dtype=bool)
        if admits[:n].any():  # first come first served
            admitted = first_come(key[:n], since[:n], admits[:n], lambda pos: sim.draw("arrival.queue", day, idx[pos]))
            a = idx[admitted]
            sim.add_events("crossed", port[admitted], a)
            start_asylum(sim, a, port[admitted])
        if self.irregular.any():
            g = np.empty(n, dtype=np.int64)
            gp = np.empty(n, dtype=np.int64)
            caught = np.empty(n, dtype=bool)
            ng = _irregular_kernel(idx, port, admitted, pp.member, sim.offsets, self.irregular, self.apprehension,
                                   sim.keys_many(_IRREGULAR, day), g, gp, caught)
            g, gp, caught = g[:ng], gp[:ng], caught[:ng]
            sim.add_events("crossed", gp, g)
            detain(sim, g[caught], gp[caught])
            free = g[~caught]
            pp.set_state(free, State.SETTLED, day)
            pp.place[free] = gp[~caught]


_IRREGULAR = ("arrival.irregular", "arrival.caught")


@njit(cache=True)
def _queue_kernel(arrived, mem, place, since, port_of, country, port_admits, idx, port, key, q_since, admits):
    """Those of ``arrived`` whose destination has a port of entry (``port_of[place]``, -1 none) go
    to ``idx``, in order, with their ``port``, their queue ``key`` (``m · places + port``), their
    ``since`` and the port's admissions a day (``port_admits[m, country of the port]``:
    ``admits``). Returns how many."""
    P = port_of.shape[0]
    n = 0
    for j in range(arrived.shape[0]):
        i = arrived[j]
        p = port_of[U(place[U(i)])]
        if p < 0:
            continue
        m = mem[U(i)]
        idx[n] = i
        port[n] = p
        key[n] = np.int64(m) * P + p
        q_since[n] = since[U(i)]
        admits[n] = port_admits[m, country[p]]
        n += 1
    return n


@njit(cache=True)
def _irregular_kernel(idx, port, admitted, mem, offs, irregular, apprehension, keys, g, gp, caught):
    """Each one of ``idx`` waiting at a port (not ``admitted`` today) crosses irregularly with chance
    ``irregular[m]``: their ids to ``g`` in order, with the ``port`` (``gp``) and whether they are
    ``caught`` (chance ``apprehension[m]``). ``keys[m]``: arrival.irregular, .caught of the day,
    drawn by the person's id within member ``m`` (``offs[m]`` the first). Returns how many."""
    n = 0
    for j in range(idx.shape[0]):
        if admitted[j]:
            continue
        i = idx[j]
        m = mem[U(i)]
        li = i - offs[m]
        if uniform(keys[m, 0], li) < irregular[m]:
            g[n] = i
            gp[n] = port[j]
            caught[n] = uniform(keys[m, 1], li) < apprehension[m]
            n += 1
    return n
