"""Permit programmes with a quota (``permits:``): apply, queue, get a card, stay or travel on.

A programme is taken at its ``places`` from ``start`` to ``end``. Each day, in this order:

1. **applications**: a traveller at an office (on the move, standing at the place, not going
   home, not a national of the issuing ``country``, never applied before) applies with chance
   ``apply_per_day``. Applicants wait in the town in state ``permit_pending``: they are *present*
   there (in ``present`` and in the needs), and counted as ``permit_applied`` (cumulative) at the
   place;
2. **processing**: each office processes ``capacity_per_day`` waiting applications a day (0: all),
   the oldest first (ties broken by a keyed draw). Of those processed, ``grant_rate`` are granted,
   while the ``quota`` lasts (0: no quota); the others (and everyone still in line when the quota
   is used up or the programme ends) travel on as before;
3. **cards**: a granted applicant gets the card ``wait_days`` after processing (the same day with
   0), counted as ``permit_granted`` at the place. Then, by ``holders``: ``stay`` — settled in the
   country (``settled``); ``travel`` — back on the road, and the issuing country's border posts let
   them through (a holder held at such a post is cleared the next day, counted as ``crossed``);
4. when the quota is used up the programme takes no more applications.

Hand-worked example (tests/test_permits.py): ten people reach an office on day 1 with
``apply_per_day: 1``, ``capacity_per_day: 3``, ``quota: 5``, ``wait_days: 2``: all ten apply on
day 1; 3 are processed on day 1, 2 on day 2 (the quota of 5 is then used up), the other 5 travel
on from day 2; cards on days 3 (3) and 4 (2).

Not modelled: rides and buses stay blocked for holders where ``rides_blocked`` is set.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.people import CLEARED, PERMIT, PERMIT_OK, PERMIT_TRIED, Intent, State
from travesia.engine.processes.base import Process


class Permits(Process):
    name = "permits"
    params = "permits"
    reads = ("state", "place", "km_left", "intent", "origin", "flags", "since", "until")
    writes = ("state", "flags", "since", "until")

    def setup(self, sim) -> None:
        progs = sim.params.permits
        net = sim.net
        self.names = list(progs)
        P = net.n_places
        self.office = np.full(P, -1, dtype=np.int64)  # place -> programme index
        k = len(self.names)
        self.country = np.zeros(k, dtype=np.int64)
        self.first = np.zeros(k, dtype=np.int64)
        self.last = np.zeros(k, dtype=np.int64)
        self.apply_p = np.zeros(k)
        self.capacity = np.zeros(P, dtype=np.int64)
        self.quota = np.zeros(k, dtype=np.int64)
        self.wait = np.zeros(k, dtype=np.int64)
        self.grant = np.zeros(k)
        self.travel = np.zeros(k, dtype=bool)
        for j, (name, pr) in enumerate(progs.items()):
            self.country[j] = net.countries.index(pr.country) if pr.country in net.countries else -1
            self.first[j] = 0 if pr.start is None else (pr.start - sim.start).days
            self.last[j] = 10**9 if pr.end is None else (pr.end - sim.start).days
            self.apply_p[j] = pr.apply_per_day
            self.quota[j] = int(round(pr.quota * sim.scale)) if pr.quota else 0
            self.wait[j] = pr.wait_days
            self.grant[j] = pr.grant_rate
            self.travel[j] = pr.holders == "travel"
            for pid in pr.places:
                i = net.index[pid]
                self.office[i] = j
                self.capacity[i] = int(round(pr.capacity_per_day * sim.scale)) if pr.capacity_per_day else 0
        # granted so far per programme: kept across timeline events (setup runs again after each)
        old = getattr(self, "granted", {})
        self.granted = {n: old.get(n, 0) for n in self.names}
        self.active = k > 0

    def _release(self, sim, idx: np.ndarray) -> None:
        """Back on the road: applicants refused, or still in line when the programme stops."""
        pp = sim.people
        pp.set_state(idx, State.RESTING, sim.day)
        pp.until[idx] = -1
        pp.flags[idx] &= ~PERMIT_OK

    def step(self, sim) -> None:
        if not self.active:
            return
        pp, day, rec, net = sim.people, sim.day, sim.record, sim.net
        quota_left = np.array([(self.quota[j] - self.granted[n]) if self.quota[j] else 1 << 62
                               for j, n in enumerate(self.names)], dtype=np.int64)
        open_today = (self.first <= day) & (day <= self.last) & (quota_left > 0)
        # 1. applications
        idx = sim.on_the_move()
        if idx.size:
            place = pp.place[idx]
            j = self.office[place]
            ok = (j >= 0) & (pp.km_left[idx] == 0) & (pp.intent[idx] != Intent.HOME)
            ok &= (pp.flags[idx] & (PERMIT_TRIED | PERMIT)) == 0
            jj = np.where(j >= 0, j, 0)
            ok &= open_today[jj] & (net.country[pp.origin[idx]] != self.country[jj])
            u = sim.rng.random("permits.apply", day, idx)
            a = idx[ok & (u < self.apply_p[jj])]
            if a.size:
                pp.set_state(a, State.PERMIT_PENDING, day)
                pp.until[a] = -1
                pp.flags[a] |= PERMIT_TRIED
                rec.add("permit_applied", pp.place[a], pp.pop[a])
        pend = np.nonzero(pp.state == State.PERMIT_PENDING)[0]
        if pend.size:
            # 2. processing: oldest first at each office, capacity a day, while the quota lasts
            line = pend[(pp.until[pend] == -1) & ((pp.flags[pend] & PERMIT_OK) == 0)]
            if line.size:
                lp = pp.place[line].astype(np.int64)
                tie = sim.rng.random("permits.queue", day, line)
                order = np.lexsort((tie, pp.since[line], lp))
                q, qp = line[order], lp[order]
                starts = np.r_[0, np.nonzero(np.diff(qp))[0] + 1]
                rank = np.arange(q.size) - np.repeat(starts, np.diff(np.r_[starts, q.size]))
                cap = self.capacity[qp]
                served = (cap == 0) | (rank < cap)
                s, sp = q[served], qp[served]
                sj = self.office[sp]
                granted = sim.rng.random("permits.grant", day, s) < self.grant[sj]
                # the quota, programme by programme, in line order
                for j in np.unique(sj):
                    m = np.nonzero((sj == j) & granted)[0]
                    if self.quota[j]:
                        keep = max(0, int(quota_left[j]))
                        granted[m[keep:]] = False
                        m = m[:keep]
                    self.granted[self.names[j]] += int(m.size)
                    quota_left[j] -= m.size
                g = s[granted]
                pp.flags[g] |= PERMIT_OK
                pp.until[g] = (day + self.wait[sj[granted]]).astype(np.int16)
                self._release(sim, s[~granted])
            # the line left when a programme is closed or out of quota travels on
            still = pend[(pp.state[pend] == State.PERMIT_PENDING) & ((pp.flags[pend] & PERMIT_OK) == 0)]
            if still.size:
                j = self.office[pp.place[still]]
                shut = ~((self.first[j] <= day) & (day <= self.last[j]) & (quota_left[j] > 0))
                self._release(sim, still[shut])
            # 3. cards in hand
            due = pend[(pp.state[pend] == State.PERMIT_PENDING) & ((pp.flags[pend] & PERMIT_OK) != 0)
                       & (pp.until[pend] >= 0) & (pp.until[pend] <= day)]
            if due.size:
                rec.add("permit_granted", pp.place[due], pp.pop[due])
                j = self.office[pp.place[due]]
                trav = self.travel[j]
                pp.flags[due] &= ~PERMIT_OK
                pp.until[due] = -1
                pp.set_state(due[~trav], State.SETTLED, day)
                t = due[trav]
                pp.set_state(t, State.RESTING, day)
                pp.flags[t] |= PERMIT
        # holders travelling on: the issuing country's posts let them through
        if self.travel.any():
            pol = sim.policy
            idx = sim.on_the_move()
            if idx.size:
                h = idx[(pp.flags[idx] & PERMIT) != 0]
                if h.size:
                    place = pp.place[h]
                    issuing = np.zeros(len(net.countries), dtype=bool)
                    issuing[self.country[self.travel & (self.country >= 0)]] = True
                    at_post = pol.blocked[place] & (pp.km_left[h] == 0) & ((pp.flags[h] & CLEARED) == 0)
                    at_post &= issuing[net.country[place]]
                    c = h[at_post]
                    pp.flags[c] |= CLEARED
                    rec.add("crossed", pp.place[c], pp.pop[c])
