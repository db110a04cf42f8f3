"""Borders: each crossing's rule, processing capacity, breaches, bypasses and detention.

A person arriving at a crossing whose rule is not ``open`` is held there (``resting``) until
cleared; people going home pass freely, and an ``exit_only`` rule holds only people from that
country. Each day at each such crossing:

- ``documents``: holders of documents pass; of the others, the post processes
  ``capacity_per_day`` a day, first come first served; a processed person applies for asylum at
  the post with chance ``apply_at_post`` (then waits in the station) or is turned back (heads home);
- ``closed``: nobody passes through the post;
- breach: when the crowd held is at least ``breach_crowd``, it pushes through the line with
  chance ``breach_prob`` a day; police catch ``enforcement · min(1, breach_crowd / crowd)`` of it;
- bypass: each held person fords the river or walks around the post with chance
  ``bypass_prob`` a day, and is caught with chance ``enforcement``.
Caught people are detained. Everyone who passes counts as ``crossed`` at the crossing.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.actions import detain, start_asylum
from travesia.engine.core import CLEARED, DOCS, IRREGULAR, Intent, State, held_kernel
from travesia.engine.policy import RULE_DOCUMENTS
from travesia.engine.processes.base import Process


def held_mask(sim, idx: np.ndarray) -> np.ndarray:
    """Which of ``idx`` (people on the move) are held at a border post today
    (:func:`~travesia.engine.core.held_at_post`)."""
    pp = sim.people
    out = np.zeros(idx.size, dtype=np.bool_)
    held_kernel(idx, pp.place, pp.km_left, pp.flags, pp.intent, pp.origin, sim.policy.place, out)
    return out


class Borders(Process):
    name = "borders"
    params = "crossings"
    reads = ("state", "place", "flags", "km_left", "intent", "origin", "since", "pop")
    writes = ("flags", "state", "intent", "dest", "since", "until", "place", "next", "km_left")

    def step(self, sim) -> None:
        pp, pol, day, rec = sim.people, sim.policy, sim.day, sim.record
        if not pol.blocked.any():
            return
        idx = sim.on_the_move()
        idx = idx[held_mask(sim, idx)]
        if idx.size == 0:
            return
        pp.state[idx] = State.RESTING
        place = pp.place[idx].astype(np.int64)
        cleared = np.zeros(idx.size, dtype=bool)
        irregular = np.zeros(idx.size, dtype=bool)
        caught = np.zeros(idx.size, dtype=bool)
        rule = pol.rule[place]
        # the post: documents pass; the rest queue for processing, first come first served
        docs_rule = rule == RULE_DOCUMENTS
        has_docs = (pp.flags[idx] & DOCS) != 0
        cleared |= docs_rule & has_docs
        queue = np.nonzero(docs_rule & ~has_docs)[0]
        if queue.size:
            tie = sim.rng.random("borders.queue", day, idx[queue])
            order = np.lexsort((tie, pp.since[idx[queue]], place[queue]))
            q = queue[order]
            qp = place[q]
            seg_start = np.r_[0, np.nonzero(np.diff(qp))[0] + 1]
            counts = np.diff(np.r_[seg_start, qp.size])
            rank = np.arange(qp.size) - np.repeat(seg_start, counts)
            served = q[rank < pol.capacity[qp]]
            if served.size:
                sp = place[served]
                asks = sim.rng.random("borders.apply", day, idx[served]) < pol.apply_at_post[sp]
                start_asylum(sim, idx[served[asks]], sp[asks])
                back = idx[served[~asks]]
                pp.intent[back] = Intent.HOME
                pp.dest[back] = sim.home_dest(back)
                done = np.zeros(idx.size, dtype=bool)
                done[served] = True
                # those served are no longer held here
                queue_left = ~done
            else:
                queue_left = np.ones(idx.size, dtype=bool)
        else:
            queue_left = np.ones(idx.size, dtype=bool)
        # breaches: the whole crowd at a post pushes through
        crowd = np.bincount(place[queue_left & ~cleared], minlength=sim.net.n_places)
        bc = pol.breach_crowd
        cand = np.nonzero((bc > 0) & (crowd >= bc) & (pol.breach_prob > 0))[0]
        if cand.size:
            ub = sim.rng.random("borders.breach", day, cand)
            breached = np.zeros(sim.net.n_places, dtype=bool)
            breached[cand[ub < pol.breach_prob[cand]]] = True
            b = breached[place] & queue_left & ~cleared
            if b.any():
                share = pol.enforcement[place] * np.minimum(1.0, bc[place] / np.maximum(crowd[place], 1))
                uc = sim.rng.random("borders.breach_caught", day, idx)
                caught |= b & (uc < share)
                cleared |= b
                irregular |= b
        # bypass: fording the river, paths around the post
        by = queue_left & ~cleared & (sim.rng.random("borders.bypass", day, idx) < pol.bypass_prob[place])
        if by.any():
            uc = sim.rng.random("borders.bypass_caught", day, idx)
            caught |= by & (uc < pol.enforcement[place])
            cleared |= by
            irregular |= by
        # closed: nobody else
        passed = cleared & ~caught
        pp.flags[idx[passed]] |= CLEARED
        pp.flags[idx[irregular & passed]] |= IRREGULAR
        rec.add("crossed", place[passed], pp.pop[idx[passed]])
        detain(sim, idx[caught], place[caught])
