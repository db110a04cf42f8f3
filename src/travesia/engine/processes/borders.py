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
  ``bypass_prob`` a day, and is caught with chance ``enforcement``; once their caravan's body is
  through the post and its plan of the day sets out further (plan), ``bypass_prob × bypass_left_factor``
  (at most 1): left behind, people go around to keep with it (numbers give safety, MODEL.md; the
  first caravan set off from Ciudad Hidalgo on 21 Oct 2018 while rafts kept crossing, and grew from
  the 900-2,000 who had crossed by 20 Oct to about 5,000 walking into Tapachula).
Caught people are detained — except at an ``exit_only`` post (a country stopping its own citizens
from leaving, as Honduras at Agua Caliente from 16 Oct 2018), which turns those it catches back
home: a state does not detain its citizens for leaving, it holds them back (MODEL.md, deterrence:
"some hundreds were held back at the Honduran post"). Everyone who passes counts as ``crossed`` at
the crossing.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.actions import detain, start_asylum
from travesia.engine.core import (
    CLEARED, DOCS, IRREGULAR, RESTING, Intent, first_come, njit, select_held, uniform,
)
from travesia.engine.policy import RULE_DOCUMENTS
from travesia.engine.processes.base import Process


def held(sim, idx: np.ndarray) -> np.ndarray:
    """Those of ``idx`` (people on the move) held at a border post today
    (:func:`~travesia.engine.core.held_rec`)."""
    pp = sim.people
    out = np.empty(idx.size, dtype=np.int64)
    return out[:select_held(idx, pp.member, pp.place, pp.km_left, pp.flags, pp.intent, pp.origin, sim.place_rec, out)]


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
        idx = held(sim, idx)
        if idx.size == 0:
            return
        P = sim.net.n_places
        # the post: documents pass; the rest queue for processing, first come first served (they rest here today)
        cleared = np.empty(idx.size, dtype=bool)
        queue = np.empty(idx.size, dtype=np.int64)
        queue = queue[:_post_kernel(idx, pp.member, pp.place, pp.origin, pp.flags, pp.state, sim.net.country,
                                    pol("rule"), pol("accepts"), cleared, queue)]
        queue_left = np.ones(idx.size, dtype=bool)
        if queue.size:
            # a queue per (member, post), capacity a day
            qi = idx[queue]
            mq = pp.member[qi].astype(np.int64)
            pq = pp.place[qi].astype(np.int64)
            served = queue[first_come(mq * P + pq, pp.since[qi], pol("capacity")[mq, pq],
                                      lambda pos: sim.draw("borders.queue", day, qi[pos]))]
            if served.size:
                si = idx[served]
                sp = pp.place[si].astype(np.int64)
                asks = sim.draw("borders.apply", day, si) < pol("apply_at_post")[pp.member[si], sp]
                queue_left[served] = False  # those served are no longer held here
                back = si[~asks]
                start_asylum(sim, si[asks], sp[asks])
                pp.intent[back] = Intent.HOME
                pp.dest[back] = sim.home_dest(back)
        # breaches: the whole crowd at a post pushes through
        crowd = np.zeros((sim.M, P), dtype=np.int64)
        _crowd_kernel(idx, pp.member, pp.place, queue_left, cleared, crowd)
        bc = pol("breach_crowd")
        bp = pol("breach_prob")
        breached = np.zeros((sim.M, P), dtype=bool)
        cm, cp = np.nonzero((bc > 0) & (crowd >= bc) & (bp > 0))
        if cm.size:
            hit = sim.draw_for("borders.breach", day, cp, cm) < bp[cm, cp]
            breached[cm[hit], cp[hit]] = True
        # breaches, bypasses (fording the river, paths around the post; more often for those whose
        # caravan has gone on without them), who is caught: one pass
        st = sim.shared.get("plan")
        if st is None:  # no plans (-1: none today): nobody is left behind
            K = max(len(sim.pop_names), 1)
            target = np.full(sim.M * K, -1, dtype=np.int64)
            body, progress = target, np.zeros((target.size, P))
        else:
            K, target, body, progress = st.K, st.target, st.body, st.progress
        out = np.empty((3, idx.size), dtype=np.int64)
        n = np.zeros(3, dtype=np.int64)
        _cross_kernel(idx, pp.member, sim.offsets, pp.place, pp.pop, pp.flags, queue_left, cleared, breached, crowd,
                      bc, pol("enforcement"), pol("bypass_prob"), pol("bypass_left_factor"), K, target, body, progress,
                      pol("exit_only") != -1, sim.keys_many(_CROSS, day), out, n)
        passed, back, caught = (idx[out[k, :n[k]]] for k in range(3))
        sim.add_events("crossed", pp.place[passed], passed)
        # an exit-only post turns back those it catches (its own citizens); the others are detained
        pp.intent[back] = Intent.HOME
        pp.dest[back] = sim.home_dest(back)
        detain(sim, caught, pp.place[caught])


_CROSS = ("borders.breach_caught", "borders.bypass", "borders.bypass_caught")


@njit(cache=True)
def _post_kernel(idx, mem, place, origin, flags, state, country, rule, accepts, cleared, queue):
    """People ``idx`` held at a post rest there today; those with documents a documents post takes
    (their own, or the national ID it accepts, ``accepts[m, post, nationality]``) are ``cleared``,
    the others of a documents post queue (their positions in ``queue``; returns how many)."""
    nq = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        m = mem[i]
        p = place[i]
        state[i] = RESTING
        docs_rule = rule[m, p] == RULE_DOCUMENTS
        has_docs = ((flags[i] & DOCS) != 0) | accepts[m, p, country[origin[i]]]
        cleared[j] = docs_rule & has_docs
        queue[nq] = j  # kept when queueing (no branch)
        nq += docs_rule & (not has_docs)
    return nq


@njit(cache=True)
def _crowd_kernel(idx, mem, place, queue_left, cleared, crowd):
    """``crowd[m, post]``: people still held there (not served, not cleared)."""
    for j in range(idx.shape[0]):
        if queue_left[j] and not cleared[j]:
            i = idx[j]
            crowd[mem[i], place[i]] += 1


@njit(cache=True, inline="always")
def _left_behind(K, target, body, progress, m, pop, p):
    """Whether someone of member ``m``'s caravan ``pop`` held at post ``p`` is left behind: the
    caravan's body is through the post (at it or beyond, in km along its route ``progress``) and
    its plan of the day (``target``: -1 none) sets out further: the body goes on without them."""
    g = m * K + pop
    t, b = target[g], body[g]
    if t < 0 or b < 0:
        return False
    at = progress[g, p]
    return progress[g, b] >= at - 1e-6 and progress[g, t] > at + 1e-6


@njit(cache=True)
def _cross_kernel(idx, mem, offs, place, pop, flags, queue_left, cleared, breached, crowd, bc, enforcement, bypass_prob,
                  left_factor, K, target, body, progress, turns_back, keys, out, n):
    """Each one held at a post and not served nor cleared: pushes through with the crowd where it
    breaches today (caught with chance enforcement · min(1, breach_crowd / crowd)), else tries to
    bypass it with chance ``min(1, bypass_prob · f)``, ``f`` the post's ``left_factor`` for those
    left behind by their caravan (:func:`_left_behind`, from the plan's ``K``, ``target``, ``body``,
    ``progress``), else 1 (caught with chance enforcement). Those who pass (with the
    cleared) are flagged cleared (irregular if they did not pass the post); positions in ``out``:
    0 passed, 1 caught at a post that turns back those it catches (``turns_back[m, post]``: exit-only),
    2 caught elsewhere (detained), in order.
    ``keys[m]``: borders.breach_caught, .bypass, .bypass_caught of the day; member ``m``'s tables
    ``[m, place]``."""
    for j in range(idx.shape[0]):
        i = idx[j]
        ok = cleared[j]
        caught = False
        irregular = False
        if queue_left[j] and not ok:
            m = mem[i]
            p = place[i]
            li = i - offs[m]
            if breached[m, p]:
                share = enforcement[m, p] * min(1.0, bc[m, p] / max(crowd[m, p], 1))
                caught = uniform(keys[m, 0], li) < share
                ok = True
                irregular = True
            elif uniform(keys[m, 1], li) < min(1.0, bypass_prob[m, p] * (
                    left_factor[m, p] if _left_behind(K, target, body, progress, np.int64(m), np.int64(pop[i]), p)
                    else 1.0)):
                caught = uniform(keys[m, 2], li) < enforcement[m, p]
                ok = True
                irregular = True
        if ok and not caught:
            flags[i] |= CLEARED
            if irregular:
                flags[i] |= IRREGULAR
            out[0, n[0]] = j
            n[0] += 1
        elif caught:
            k = 1 if turns_back[mem[i], place[i]] else 2
            out[k, n[k]] = j
            n[k] += 1
