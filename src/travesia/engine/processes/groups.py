"""Groups: households travel in groups; the column stretches, splits and re-forms.

A group moves together: its rest days and rides are drawn once per group, and it walks at its
own pace (a lognormal multiplier of the mean walking distance, a pure function of the group id),
no faster than each household's slowest member. Different paces stretch the column into a fast
head, a main body and stragglers. Each day a group splits in two with chance ``split_prob``
(whole households go to the new group, which draws its own pace). At a rally point
(``groups.rally_points``) a group more than ``rally_gap_km`` ahead of its caravan's median waits,
up to ``rally_max_wait_days``; the groups of a caravan that are at the same rally point merge
into one.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.people import RALLY, Intent, State
from travesia.engine.processes.base import Process


class Groups(Process):
    name = "groups"
    params = "groups"
    reads = ("state", "group", "household", "place", "km_left", "pop", "dest", "intent")
    writes = ("group", "flags")

    def setup(self, sim) -> None:
        self.g = sim.params.groups
        self.rally = np.zeros(sim.net.n_places, dtype=bool)
        for r in self.g.rally_points:
            self.rally[sim.net.index[r]] = True

    def step(self, sim) -> None:
        pp, day = sim.people, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        grp = pp.group[idx].astype(np.int64)
        # splits
        if self.g.split_prob > 0:
            gs = np.unique(grp)
            split = gs[sim.rng.random("groups.split", day, gs) < self.g.split_prob]
            if split.size:
                first = sim.new_groups(split.size)
                pos = np.searchsorted(split, grp)
                pos = np.minimum(pos, split.size - 1)
                in_split = split[pos] == grp
                half = sim.rng.random("groups.split_half", day, pp.household[idx].astype(np.int64)) < 0.5
                move = in_split & half
                pp.group[idx[move]] = first + pos[move]
                grp = pp.group[idx].astype(np.int64)
        if not self.rally.any():
            return
        # rally points: wait for the main body, then merge
        pp.flags[idx] &= ~RALLY
        at = (pp.km_left[idx] == 0) & self.rally[pp.place[idx]] & (pp.intent[idx] != Intent.HOME)
        if not at.any():
            return
        dist = sim.routes.dist[pp.dest[idx], pp.place[idx]]
        going = pp.intent[idx] != Intent.HOME
        pops = pp.pop[idx]
        wait = np.zeros(idx.size, dtype=bool)
        for k in np.unique(pops[at]):
            mk = (pops == k) & going & np.isfinite(dist)
            if not mk.any():
                continue
            median = float(np.median(dist[mk]))
            ahead = at & (pops == k) & (dist < median - self.g.rally_gap_km)
            wait |= ahead
        # a group waits at most rally_max_wait_days (counted from when it stopped there)
        waited = day - pp.since[idx]
        wait &= (waited < self.g.rally_max_wait_days) & (pp.state[idx] == State.RESTING) | (
            wait & (pp.state[idx] == State.TRAVELLING))
        pp.flags[idx[wait]] |= RALLY
        # merge: one group per (caravan, rally point)
        m = np.nonzero(at)[0]
        key = pops[m].astype(np.int64) * sim.net.n_places + pp.place[idx[m]]
        order = np.lexsort((grp[m], key))
        ks = key[order]
        starts = np.r_[0, np.nonzero(np.diff(ks))[0] + 1]
        gmin = grp[m][order][starts]
        lens = np.diff(np.r_[starts, ks.size])
        pp.group[idx[m[order]]] = np.repeat(gmin, lens).astype(np.int32)
