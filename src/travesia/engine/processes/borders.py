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
    CLEARED, DOCS, IRREGULAR, RESTING, U, Intent, first_come, njit, select_held, uniform,
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
    writes = ("flags", "state", "intent", "dest", "since", "until", "wake", "place", "next", "km_left")

    batched = True

    def step(self, sim) -> None:
        pp, day, pol = sim.people, sim.day, sim.pol
        if not pol("blocked").any():
            return
        idx = held(sim, sim.on_the_move())
        if idx.size == 0:
            return
        M, P = sim.M, sim.net.n_places
        # the post: documents pass; the rest queue for processing, first come first served (they rest
        # here today); the crowd held at each post, less those served below
        post = np.empty(idx.size, dtype=np.uint8)
        queue = np.empty(idx.size, dtype=np.int64)
        key = np.empty(idx.size, dtype=np.int64)
        since = np.empty(idx.size, dtype=pp.since.dtype)
        cap = np.empty(idx.size, dtype=np.int64)
        crowd = np.zeros((M, P), dtype=np.int64)
        nq = _post_kernel(idx, pp.member, pp.place, pp.origin, pp.flags, pp.state, pp.since, sim.net.country,
                          pol("rule"), pol("accepts"), pol("capacity"), post, queue, key, since, cap, crowd)
        if nq:
            # a queue per (member, post), capacity a day
            queue, key = queue[:nq], key[:nq]
            got = first_come(key, since[:nq], cap[:nq], lambda pos: sim.draw("borders.queue", day, idx[queue[pos]]))
            served = queue[got]
            if served.size:
                post[served] = _SERVED  # no longer held here
                crowd -= np.bincount(key[got], minlength=M * P).reshape(M, P)
                si = idx[served]
                sp = pp.place[si].astype(np.int64)
                asks = sim.draw("borders.apply", day, si) < pol("apply_at_post")[pp.member[si], sp]
                back = si[~asks]
                start_asylum(sim, si[asks], sp[asks])
                pp.intent[back] = Intent.HOME
                pp.dest[back] = sim.home_dest(back)
        # breaches: the whole crowd at a post pushes through
        bc = pol("breach_crowd")
        bp = pol("breach_prob")
        breached = np.zeros((M, P), dtype=bool)
        cm, cp = np.nonzero((bc > 0) & (crowd >= bc) & (bp > 0))
        if cm.size:
            hit = sim.draw_for("borders.breach", day, cp, cm) < bp[cm, cp]
            breached[cm[hit], cp[hit]] = True
        # breaches, bypasses (fording the river, paths around the post; more often for those whose
        # caravan has gone on without them), who is caught: one pass
        st = sim.shared.get("plan")
        if st is None:  # no plans (-1: none today): nobody is left behind
            K = max(len(sim.pop_names), 1)
            target = np.full(M * K, -1, dtype=np.int64)
            body, progress = target, np.zeros((target.size, P))
        else:
            K, target, body, progress = st.K, st.target, st.body, st.progress
        out = np.empty((3, idx.size), dtype=np.int64)
        n = _cross_kernel(idx, pp.member, sim.offsets, pp.place, pp.pop, pp.flags, post, breached, crowd, bc,
                          pol("enforcement"), pol("bypass_prob"), pol("bypass_left_factor"), K, target, body, progress,
                          pol("exit_only") != -1, sim.keys_many(_CROSS, day), out)
        passed, back, caught = (out[k, :n[k]] for k in range(3))
        sim.add_events("crossed", pp.place[passed], passed)
        # an exit-only post turns back those it catches (its own citizens); the others are detained
        pp.intent[back] = Intent.HOME
        pp.dest[back] = sim.home_dest(back)
        detain(sim, caught, pp.place[caught])


_CROSS = ("borders.breach_caught", "borders.bypass", "borders.bypass_caught")

# what the post did today with someone held there (``post`` of Borders.step)
_HELD, _CLEARED, _SERVED = 0, 1, 2  # still held; cleared (documents); processed (served by the queue)


@njit(cache=True)
def _post_kernel(idx, mem, place, origin, flags, state, since, country, rule, accepts, capacity, post, queue, key,
                 q_since, q_cap, crowd):
    """People ``idx`` held at a post rest there today. At a documents post those with documents it
    takes (their own, or the national ID it accepts, ``accepts[m, post, nationality]``) are
    ``_CLEARED`` (``post[j]``), the others queue: their positions in ``queue``, with their queue
    ``key`` (``m · places + post``), their ``since`` and the post's ``capacity`` (``q_since``,
    ``q_cap``); returns how many. Everyone not cleared is ``_HELD`` and counts in ``crowd[m, post]``."""
    P = rule.shape[1]
    nq = 0
    for j in range(idx.shape[0]):
        i = U(idx[j])
        m = U(mem[i])
        p = U(place[i])
        state[i] = RESTING
        docs_rule = rule[m, p] == RULE_DOCUMENTS
        if docs_rule and ((flags[i] & DOCS) != 0 or accepts[m, p, U(country[U(origin[i])])]):
            post[U(j)] = _CLEARED
            continue
        post[U(j)] = _HELD
        crowd[m, p] += 1
        if docs_rule:
            q = U(nq)
            queue[q] = j
            key[q] = np.int64(m) * P + np.int64(p)
            q_since[q] = since[i]
            q_cap[q] = capacity[m, p]
            nq += 1
    return nq


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
def _cross_kernel(idx, mem, offs, place, pop, flags, post, breached, crowd, bc, enforcement, bypass_prob, left_factor,
                  K, target, body, progress, turns_back, keys, out):
    """Each one held at a post (``post[j]``: still ``_HELD`` there after the post's work of the day):
    pushes through with the crowd where it breaches today (caught with chance enforcement ·
    min(1, breach_crowd / crowd)), else tries to bypass it with chance ``min(1, bypass_prob · f)``,
    ``f`` the post's ``left_factor`` for those left behind by their caravan (:func:`_left_behind`,
    from the plan's ``K``, ``target``, ``body``, ``progress``), else 1 (caught with chance
    enforcement). Those who pass (with the ``_CLEARED``) are flagged cleared (irregular if they did
    not pass the post); their ids in ``out``, in order: row 0 passed, 1 caught at a post that turns
    back those it catches (``turns_back[m, post]``: exit-only), 2 caught elsewhere (detained);
    returns how many in each row. ``keys[m]``: borders.breach_caught, .bypass, .bypass_caught of
    the day; member ``m``'s tables ``[m, place]``; indices unsigned (:data:`~travesia.engine.core.U`)."""
    n_pass = n_back = n_caught = 0
    for j in range(idx.shape[0]):
        st = post[U(j)]
        if st == _SERVED:
            continue
        i = idx[j]
        iu = U(i)
        m = U(mem[iu])
        p = U(place[iu])
        caught = False
        if st == _HELD:
            li = i - offs[m]
            if breached[m, p]:  # through with the crowd
                share = enforcement[m, p] * min(1.0, bc[m, p] / max(crowd[m, p], 1))
                caught = uniform(keys[m, 0], li) < share
            else:  # around the post, or held another day
                left = _left_behind(K, target, body, progress, np.int64(m), np.int64(pop[iu]), np.int64(p))
                if not uniform(keys[m, 1], li) < min(1.0, bypass_prob[m, p] * (left_factor[m, p] if left else 1.0)):
                    continue
                caught = uniform(keys[m, 2], li) < enforcement[m, p]
        if not caught:
            flags[iu] |= CLEARED if st == _CLEARED else CLEARED | IRREGULAR
            out[0, U(n_pass)] = i
            n_pass += 1
        elif turns_back[m, p]:
            out[1, U(n_back)] = i
            n_back += 1
        else:
            out[2, U(n_caught)] = i
            n_caught += 1
    return n_pass, n_back, n_caught
