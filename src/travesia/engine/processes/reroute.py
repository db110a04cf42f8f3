"""Rerouting around closed posts: people held at a post whose rule is ``closed`` learn it stays
closed (from those turned back, the news) and head for an open crossing the network holds, or
give up and head home.

Each day, each person held at a closed post (after :mod:`borders`) reroutes with chance
``reroute.reroute_prob``; of the others, each gives up (heads home) with chance
``reroute.give_up_prob``. A rerouting person skips the closed waypoint and chooses, among the
crossings into the same country (the country of the post's place) not closed in their run today (``crossings.X.rule`` ``open`` or ``documents``, where they
queue, or a ``border_crossing`` place without a rule), the one of least cost

    km back onto their side of the post + km from there to the crossing + km from the crossing to
    where they head next + ``crowd_km_per_1000`` · (people present at the crossing) / 1000

where "their side" is a neighbour of the post that is no closer to where they head next and closer
to the crossing than the post is (so the way there, hop by hop strictly closer, never re-enters the
post); a crossing whose shortest way on runs through the closed post is no alternative. They set
out on that leg today and head for the crossing (``detour``); once there they go on along their
route. They know the post is closed: the strictly-closer route rule keeps them from walking back
to it. No open crossing reachable: they stay held (and may give up).
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import CLEARED, Intent, State, select_held
from travesia.engine.policy import RULE_CLOSED
from travesia.engine.processes.base import Process


class Reroute(Process):
    name = "reroute"
    params = "reroute"
    batched = True
    reads = ("state", "place", "flags", "km_left", "intent", "origin", "member", "pop", "wp", "dest", "detour")
    writes = ("detour", "next", "km_left", "flags", "state", "intent", "dest")

    def setup(self, sim) -> None:
        self.reroute = sim.per_member(lambda p: p.reroute.reroute_prob)
        self.give_up = sim.per_member(lambda p: p.reroute.give_up_prob)
        self.crowd = sim.per_member(lambda p: p.reroute.crowd_km_per_1000)

    def step(self, sim) -> None:
        if not (self.reroute.any() or self.give_up.any()):
            return
        pp, day = sim.people, sim.day
        rule = sim.pol("rule")
        if not (rule == RULE_CLOSED).any():
            return
        moving = sim.on_the_move()
        idx = np.empty(moving.size, dtype=np.int64)
        idx = idx[:select_held(moving, pp.member, pp.place, pp.km_left, pp.flags, pp.intent, pp.origin, sim.place_rec,
                               idx)]
        mem = pp.member[idx].astype(np.int64)
        place = pp.place[idx].astype(np.int64)
        closed = rule[mem, place] == RULE_CLOSED
        idx, mem, place = idx[closed], mem[closed], place[closed]
        if idx.size == 0:
            return
        go = sim.draw("reroute.reroute", day, idx) < self.reroute[mem]
        rerouted = np.zeros(idx.size, dtype=bool)
        if go.any():
            rerouted[go] = self._reroute(sim, moving, idx[go], mem[go], place[go])
        quit_ = ~rerouted & (sim.draw("reroute.give_up", day, idx) < self.give_up[mem])
        back = idx[quit_]
        pp.intent[back] = Intent.HOME
        pp.dest[back] = sim.home_dest(back)
        pp.detour[back] = -1

    def _reroute(self, sim, moving, idx, mem, place) -> np.ndarray:
        """Send people ``idx`` held at closed posts ``place`` toward an open crossing; which did."""
        pp, net, rt = sim.people, sim.net, sim.routes
        rule = sim.pol("rule")
        P = net.n_places
        ok = np.zeros(idx.size, dtype=bool)
        # where each heads next past the post: the next waypoint of the announced route, else the destination
        k = pp.pop[idx].astype(np.int64)
        w = pp.wp[idx].astype(np.int64)
        has_via = w < sim.n_via[k]
        tgt = np.where(has_via, sim.via_table[k, np.minimum(w, sim.via_table.shape[1] - 1)], pp.dest[idx]).astype(np.int64)
        # candidate crossings: route-table targets that are crossings, not closed in the member's run
        cand = np.nonzero(sim.place_rec.counts_crossing[0][rt.dests])[0]
        at = pp.km_left[moving] == 0
        present = np.bincount(pp.member[moving[at]].astype(np.int64) * P + pp.place[moving[at]],
                              minlength=sim.M * P).reshape(sim.M, P)
        flows = np.zeros((sim.M, net.n_edges), dtype=np.int64)
        keys = mem * (P * len(rt.dests)) + place * len(rt.dests) + tgt
        for key in np.unique(keys):
            sel = keys == key
            m, p, t = int(mem[sel][0]), int(place[sel][0]), int(tgt[sel][0])
            dt_ = rt.dist[t]
            dp = rt.dist[sim.dest_index[p]]  # km to the closed post
            es = np.arange(net.indptr[p], net.indptr[p + 1])
            es = es[dt_[net.e_to[es]] >= dt_[p]]  # back onto their side of the post
            best, best_e, best_q = np.inf, -1, -1
            for qi in cand:
                q = int(rt.dests[qi])
                if q == p or net.country[q] != net.country[p] or rule[m, q] == RULE_CLOSED or not np.isfinite(dt_[q]):
                    continue
                if dp[q] + dt_[p] <= dt_[q] + 1e-3:  # its way on runs through the closed post
                    continue
                if es.size == 0:
                    break
                dq = rt.dist[qi]
                # a first step from which the way to the crossing cannot lead back into the post:
                # the route rule only takes hops that bring them strictly closer to it
                n_ok = dq[net.e_to[es]] < dq[p]
                if not n_ok.any():
                    continue
                via_e = np.where(n_ok, net.e_km[es] + dq[net.e_to[es]], np.inf)
                j = int(np.argmin(via_e))
                cost = float(via_e[j]) + float(dt_[q]) + self.crowd[m] * present[m, q] / 1000.0
                if cost < best:
                    best, best_e, best_q = cost, int(es[j]), int(qi)
            if best_e < 0:
                continue
            who = idx[sel]
            pp.detour[who] = best_q
            pp.next[who] = net.e_to[best_e]
            pp.km_left[who] = net.e_km[best_e]
            pp.flags[who] &= ~CLEARED
            pp.state[who] = State.TRAVELLING
            flows[m, best_e] += who.size
            ok[sel] = True
        sim.add_flow_counts(flows)
        return ok
