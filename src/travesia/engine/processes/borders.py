"""Borders: each crossing's rule, processing capacity, breaches, bypasses and detention.

A person arriving at a crossing whose rule is not ``open`` is held there (``resting``) until
cleared; people going home pass freely, and an ``exit_only`` rule holds only people from that
country. Each day at each such crossing:

- ``documents``: holders of documents pass (papers every post accepts, ``populations.X.documents``,
  or a national ID card of a nationality the post ``accepts``, e.g. the CA-4 countries); of the others, the post processes
  ``capacity_per_day`` a day, first come first served; a processed person applies for asylum at
  the post with chance ``apply_at_post`` (then waits in the station) or is turned back (heads home);
- ``closed``: nobody passes through the post;
- breach: when the crowd held is at least ``breach_crowd``, it pushes through the line with
  chance ``breach_prob`` a day; police catch ``enforcement · min(1, breach_crowd / crowd)`` of it;
- bypass: each held person fords the river or walks around the post with chance
  ``bypass_prob`` a day, and is caught with chance ``enforcement``.
Caught people are detained — except at an ``exit_only`` post (a country stopping its own citizens
from leaving, as Honduras at Agua Caliente from 16 Oct 2018), which turns those it catches back
home: a state does not detain its citizens for leaving, it holds them back (MODEL.md, deterrence:
"some hundreds were held back at the Honduran post"). Everyone who passes counts as ``crossed`` at
the crossing.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.actions import detain, start_asylum
from travesia.engine.core import CLEARED, DOCS, IRREGULAR, Intent, State, first_come, held_kernel
from travesia.engine.policy import RULE_DOCUMENTS
from travesia.engine.processes.base import Process


def held_mask(sim, idx: np.ndarray) -> np.ndarray:
    """Which of ``idx`` (people on the move) are held at a border post today
    (:func:`~travesia.engine.core.held_at_post`)."""
    pp = sim.people
    out = np.zeros(idx.size, dtype=np.bool_)
    held_kernel(idx, pp.member, pp.place, pp.km_left, pp.flags, pp.intent, pp.origin, sim.place_rec, out)
    return out


class Borders(Process):
    name = "borders"
    params = "crossings"
    reads = ("state", "place", "flags", "km_left", "intent", "origin", "since", "pop", "member", "household")
    writes = ("flags", "state", "intent", "dest", "since", "until", "place", "next", "km_left")

    batched = True

    def step(self, sim) -> None:
        pp, day, pol = sim.people, sim.day, sim.pol
        if not pol("blocked").any():
            return
        idx = sim.on_the_move()
        idx = idx[held_mask(sim, idx)]
        if idx.size == 0:
            return
        pp.state[idx] = State.RESTING
        P = sim.net.n_places
        place = pp.place[idx].astype(np.int64)
        mem = pp.member[idx].astype(np.int64)
        cleared = np.zeros(idx.size, dtype=bool)
        irregular = np.zeros(idx.size, dtype=bool)
        caught = np.zeros(idx.size, dtype=bool)
        rule = pol("rule")[mem, place]
        # the post: documents pass; the rest queue for processing, first come first served
        docs_rule = rule == RULE_DOCUMENTS
        has_docs = (pp.flags[idx] & DOCS) != 0
        has_docs |= pol("accepts")[mem, place, sim.net.country[pp.origin[idx]]]  # national IDs it accepts (CA-4)
        cleared |= docs_rule & has_docs
        queue = np.nonzero(docs_rule & ~has_docs)[0]
        queue_left = np.ones(idx.size, dtype=bool)
        if queue.size:
            # a queue per (member, post), first come first served, capacity a day
            served = queue[first_come(mem[queue] * P + place[queue], pp.since[idx[queue]],
                                      pol("capacity")[mem[queue], place[queue]],
                                      lambda pos: sim.draw("borders.queue", day, idx[queue[pos]]))]
            if served.size:
                sp = place[served]
                asks = sim.draw("borders.apply", day, idx[served]) < pol("apply_at_post")[mem[served], sp]
                start_asylum(sim, idx[served[asks]], sp[asks])
                back = idx[served[~asks]]
                pp.intent[back] = Intent.HOME
                pp.dest[back] = sim.home_dest(back)
                queue_left[served] = False  # those served are no longer held here
        # breaches: the whole crowd at a post pushes through
        crowd = np.bincount((mem * P + place)[queue_left & ~cleared], minlength=sim.M * P).reshape(sim.M, P)
        bc = pol("breach_crowd")
        bp = pol("breach_prob")
        cm, cp = np.nonzero((bc > 0) & (crowd >= bc) & (bp > 0))
        if cm.size:
            ub = sim.draw_for("borders.breach", day, cp, cm)
            breached = np.zeros((sim.M, P), dtype=bool)
            hit = ub < bp[cm, cp]
            breached[cm[hit], cp[hit]] = True
            b = breached[mem, place] & queue_left & ~cleared
            if b.any():
                share = pol("enforcement")[mem, place] * np.minimum(
                    1.0, bc[mem, place] / np.maximum(crowd[mem, place], 1))
                uc = sim.draw("borders.breach_caught", day, idx)
                caught |= b & (uc < share)
                cleared |= b
                irregular |= b
        # bypass: fording the river, paths around the post
        by = queue_left & ~cleared & (sim.draw("borders.bypass", day, idx) < pol("bypass_prob")[mem, place])
        if by.any():
            uc = sim.draw("borders.bypass_caught", day, idx)
            caught |= by & (uc < pol("enforcement")[mem, place])
            cleared |= by
            irregular |= by
        # closed: nobody else
        passed = cleared & ~caught
        pp.flags[idx[passed]] |= CLEARED
        pp.flags[idx[irregular & passed]] |= IRREGULAR
        sim.add_events("crossed", place[passed], idx[passed])
        # an exit-only post turns back those it catches (its own citizens); the others are detained
        exit_post = pol("exit_only")[mem, place] != -1
        back = idx[caught & exit_post]
        pp.intent[back] = Intent.HOME
        pp.dest[back] = sim.home_dest(back)
        detain(sim, idx[caught & ~exit_post], place[caught & ~exit_post])
