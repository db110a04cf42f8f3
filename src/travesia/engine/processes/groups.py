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
from travesia.engine.core import RALLY, State
from travesia.engine.processes.base import Process


class Groups(Process):
    name = "groups"
    params = "groups"
    reads = ("state", "group", "household", "place", "km_left", "pop", "dest", "intent", "flags", "origin", "since")
    writes = ("group", "flags")

    def create(self, sim) -> None:
        self._flagged = np.zeros(0, dtype=np.int64)  # people told to wait at a rally point yesterday

    def setup(self, sim) -> None:
        self.g = sim.params.groups
        self.rally = sim.policy.place["rally"]
        self._order = None

    def _dist_order(self, dv: np.ndarray) -> np.ndarray:
        """Order of the finite route-table distances (computed once)."""
        if self._order is None:
            o = np.argsort(dv, kind="stable")
            self._order = o[np.isfinite(dv[o])]
        return self._order

    def step(self, sim) -> None:
        pp, day = sim.people, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        grp = pp.group[idx].astype(np.int64)
        # splits
        if self.g.split_prob > 0:
            gs = np.nonzero(np.bincount(grp, minlength=sim.next_group))[0]
            split = gs[sim.rng.random("groups.split", day, gs) < self.g.split_prob]
            if split.size:
                first = sim.new_groups(split.size)
                pos = np.full(sim.next_group, -1, dtype=np.int64)
                pos[split] = np.arange(split.size)
                members = np.nonzero(pos[grp] >= 0)[0]
                half = sim.rng.random("groups.split_half", day, pp.household[idx[members]].astype(np.int64)) < 0.5
                move = members[half]
                pp.group[idx[move]] = first + pos[grp[move]]
                grp[move] = first + pos[grp[move]]
        if not self.rally.any():
            return
        # rally points: wait for the main body, then merge
        if self._flagged.size:
            pp.flags[self._flagged] &= ~RALLY  # yesterday's waits are decided anew
            self._flagged = self._flagged[:0]
        # each caravan's median distance to go (lower median), from a histogram over (caravan, dest, place)
        rt = sim.routes
        D, Pn = rt.dist.shape
        n_pop = max(len(sim.pop_names), 1)
        hist = np.zeros((n_pop * D, Pn), dtype=np.int64)
        at_pos = np.empty(idx.size, dtype=np.int64)
        n_at = kernels.rally_kernel(idx, pp.place, pp.intent, pp.km_left, pp.flags, pp.origin, pp.pop, pp.dest,
                                    sim.policy.place, D, hist, at_pos)
        ai = at_pos[:n_at]
        if ai.size == 0:
            return
        hist = hist.reshape(n_pop, D * Pn)
        pops = pp.pop[idx[ai]].astype(np.int64)
        place_at = pp.place[idx[ai]]
        dv = rt.dist.reshape(-1)
        order = self._dist_order(dv)
        median = np.full(n_pop, np.inf)
        for k in np.unique(pops):
            c = np.cumsum(hist[k][order])
            if c[-1] > 0:
                median[k] = dv[order][np.searchsorted(c, (c[-1] + 1) // 2)]
        m_idx = idx[ai]
        d_at = rt.dist[pp.dest[m_idx], place_at]
        wait = d_at < median[pops] - self.g.rally_gap_km
        # a group waits at most rally_max_wait_days (counted from when it stopped there)
        st = pp.state[m_idx]
        waited = day - pp.since[m_idx]
        wait &= ((waited < self.g.rally_max_wait_days) & (st == State.RESTING)) | (st == State.TRAVELLING)
        self._flagged = m_idx[wait]
        pp.flags[self._flagged] |= RALLY
        # merge: one group per (caravan, rally point)
        m = ai
        key = pops * sim.net.n_places + place_at
        order = np.lexsort((grp[m], key))
        ks = key[order]
        starts = np.r_[0, np.nonzero(np.diff(ks))[0] + 1]
        gmin = grp[m][order][starts]
        lens = np.diff(np.r_[starts, ks.size])
        pp.group[idx[m[order]]] = np.repeat(gmin, lens).astype(np.int32)
