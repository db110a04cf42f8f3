"""Groups: households travel in groups; the column stretches, splits and re-forms.

A group moves together: its rest days and rides are drawn once per group, and it walks at its
own pace (a lognormal multiplier of the mean walking distance, a pure function of the group id),
no faster than each household's slowest member. Different paces stretch the column into a fast
head, a main body and stragglers. Each day a group splits in two with chance ``split_prob``
(whole households go to the new group, which draws its own pace). At a rally point
(``groups.rally_points``) a group more than ``rally_gap_km`` ahead of its caravan's median (of
those going on and not held at a border post) waits,
up to ``rally_max_wait_days``; the groups of a caravan that are at the same rally point merge
into one.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.core import GOING_HOME, RALLY, U, held_rec, njit, uniform
from travesia.engine.processes.base import Process

# empty arguments of _split_and_rally for the half of its work not done
_NONE = np.zeros(0, dtype=np.int64)
_NO_KEYS = np.zeros(0, dtype=np.uint64)
_NO_RANK = np.zeros((0, 0), dtype=np.int64)


class Groups(Process):
    name = "groups"
    params = "groups"
    reads = ("state", "group", "household", "place", "km_left", "pop", "dest", "intent", "flags", "origin", "since",
             "member")
    writes = ("group", "flags")

    batched = True

    def create(self, sim) -> None:
        self._flagged = np.zeros(0, dtype=np.int64)  # people told to wait at a rally point yesterday

    def setup(self, sim) -> None:
        self.g = sim.params.groups
        self.rally = sim.policy.place["rally"]
        self.split_prob = sim.per_member(lambda p: p.groups.split_prob)
        self.gap_km = sim.per_member(lambda p: p.groups.rally_gap_km)
        self.max_wait = sim.per_member(lambda p: p.groups.rally_max_wait_days, np.int64)
        self._rank = None
        self._hist = np.zeros((0, 0), dtype=np.int32)

    def _dist_rank(self, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The route table's finite distances in ascending order, and the rank of each (dest, place)
        among them (-1 where not finite); computed once."""
        if self._rank is None:
            dv = dist.reshape(-1)
            o = np.argsort(dv, kind="stable")
            o = o[np.isfinite(dv[o])]
            rank = np.full(dv.size, -1, dtype=np.int64)
            rank[o] = np.arange(o.size)
            self._rank = (np.ascontiguousarray(dv[o]), rank.reshape(dist.shape))
        return self._rank

    def step(self, sim) -> None:
        pp, day = sim.people, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        # splits: each group of each member, keyed by (member, its own group id)
        Gw = max(int(sim.next_groups.max()), 1)
        new_id = _NONE
        if (self.split_prob > 0).any():
            present = np.zeros(sim.M * Gw, dtype=np.bool_)
            kernels.groups_present(idx, pp.member, pp.group, Gw, present)
            gs = np.nonzero(present)[0]  # the groups on the move, in (member, id) order
            gm, gg = gs // Gw, gs % Gw
            split = gs[sim.draw_for("groups.split", day, gg, gm) < self.split_prob[gm]]
            if split.size:
                sm = split // Gw
                first = sim.new_groups_of(np.bincount(sm, minlength=sim.M))
                block = np.searchsorted(sm, np.arange(sim.M))  # first split group of each member
                new_id = np.full(sim.M * Gw, -1, dtype=np.int64)
                new_id[split] = first[sm] + np.arange(split.size) - block[sm]
        keys = sim.keys("groups.split_half", day) if new_id.size else _NO_KEYS  # whole households split off
        if not self.rally.any():
            if new_id.size:
                _split_and_rally(idx, pp.member, pp.group, pp.household, Gw, new_id, keys, False, pp.place, pp.intent,
                                 pp.km_left, pp.flags, pp.origin, pp.pop, pp.dest, sim.place_rec, 1, _NO_RANK,
                                 self._hist[:0], _NONE, _NONE)
            return
        # rally points: wait for the main body, then merge
        if self._flagged.size:
            pp.flags[self._flagged] &= ~RALLY  # yesterday's waits are decided anew
            self._flagged = self._flagged[:0]
        # each caravan's median distance to go (lower median), from a histogram over (member, caravan)
        # and the rank of the distance to go (a table kept from day to day)
        rt = sim.routes
        Pn = rt.dist.shape[1]
        n_pop = max(len(sim.pop_names), 1)
        dv, rank = self._dist_rank(rt.dist)
        if self._hist.shape != (sim.M * n_pop, dv.size):
            self._hist = np.zeros((sim.M * n_pop, dv.size), dtype=np.int32)  # counts of one member's people fit
        hist = self._hist
        hist.fill(0)
        tot = np.zeros(sim.M * n_pop, dtype=np.int64)
        at_pos = np.empty(idx.size, dtype=np.int64)
        # the day's splits (whole households to the new groups) and the histogram, in one pass
        n_at = _split_and_rally(idx, pp.member, pp.group, pp.household, Gw, new_id, keys, True, pp.place, pp.intent,
                                pp.km_left, pp.flags, pp.origin, pp.pop, pp.dest, sim.place_rec, n_pop, rank, hist, tot,
                                at_pos)
        ai = at_pos[:n_at]
        if ai.size == 0:
            return
        m_idx = idx[ai]
        median = np.full(sim.M * n_pop, np.inf)
        kernels.median_kernel(hist, tot, dv, median)
        gmin = np.full(sim.M * n_pop * Pn, np.iinfo(np.int32).max, dtype=np.int32)
        flagged = np.empty(m_idx.size, dtype=np.int64)
        n_f = kernels.rally_wait_merge_kernel(m_idx, pp.member, pp.pop, pp.dest, pp.place, pp.state, pp.since,
                                              pp.group, pp.flags, rt.dist, median, self.gap_km, self.max_wait, day,
                                              n_pop, Pn, gmin, flagged)
        self._flagged = flagged[:n_f]


@njit(cache=True)
def _split_and_rally(idx, mem, group, household, Gw, new_id, keys, rally, place, intent, km_left, flags, origin, pop,
                     dest, prec, n_pop, rank, hist, tot, at_pos):
    """One pass over the people on the move ``idx`` (person ``i`` of member ``m = mem[i]``):

    - **splits** (``new_id`` not empty): person ``i`` of a group with a new id (``new_id[m * Gw +
      g] >= 0``) moves to it when their household's draw (``keys[m]``: groups.split_half of the
      day) is below one half;
    - **the caravans' distances to go** (``rally``): a histogram of those going on and not held at
      a post by (member, caravan) row ``m * n_pop + caravan`` and by their distance to go, as its
      rank ``rank[dest, place]`` among the route table's finite distances (-1: not counted), with
      each row's total in ``tot``; the positions (in ``idx``) of those at rally points go to
      ``at_pos``; returns how many.

    The two share the pass, not their fields: the histogram reads no group."""
    split = new_id.shape[0] > 0
    n_at = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (core.U)
        m = mem[iu]
        if split:
            g = new_id[np.int64(m) * Gw + group[iu]]  # signed: a person written by hand may have no group (-1)
            if g >= 0 and uniform(keys[m], household[iu]) < 0.5:
                group[iu] = g
        if not rally or intent[iu] == GOING_HOME:
            continue
        p = U(place[iu])
        at = km_left[iu] == 0
        pr = prec[m, p]
        if pr.blocked and held_rec(pr, not at, flags[iu], False, prec[m, U(origin[iu])].country):
            continue
        r = rank[U(dest[iu]), p]
        if r >= 0:
            row = U(np.int64(m) * n_pop + pop[iu])
            hist[row, U(r)] += 1
            tot[row] += 1
        at_pos[n_at] = j  # kept when at a rally point (no branch)
        n_at += pr.rally and at
    return n_at
