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

from travesia.engine.core import CLEARED, PERMIT, PERMIT_OK, PERMIT_TRIED, Intent, State
from travesia.engine.people import Field
from travesia.engine.processes.base import Process


class Permits(Process):
    name = "permits"
    params = "permits"
    fields = {"until": Field(np.int16, -1, "day a timed state ends (asylum decision, detention end); -1 none")}
    reads = ("state", "place", "km_left", "intent", "origin", "flags", "since", "until", "pop", "member")
    writes = ("state", "flags", "since", "until")

    batched = True  # every array below has a member axis: members may differ in rates, quotas, capacities

    def setup(self, sim) -> None:
        net = sim.net
        names = list(sim.params.permits)  # the programmes and their offices are shared by the members
        self.names = names
        P, k, M = net.n_places, len(names), sim.M
        self.office = np.full(P, -1, dtype=np.int64)  # place -> programme index
        self.country = np.full(k, -1, dtype=np.int64)
        self.travel = np.zeros(k, dtype=bool)
        for j, pr in enumerate(sim.params.permits.values()):
            self.country[j] = net.countries.index(pr.country) if pr.country in net.countries else -1
            self.travel[j] = pr.holders == "travel"
            for pid in pr.places:
                self.office[net.index[pid]] = j
        self.first = np.zeros((M, k), dtype=np.int64)
        self.last = np.zeros((M, k), dtype=np.int64)
        self.apply_p = np.zeros((M, k))
        self.quota = np.zeros((M, k), dtype=np.int64)
        self.wait = np.zeros((M, k), dtype=np.int64)
        self.grant = np.zeros((M, k))
        self.capacity = np.zeros((M, P), dtype=np.int64)
        for m, params in enumerate(sim.member_params):
            for j, name in enumerate(names):
                pr = params.permits[name]
                self.first[m, j] = 0 if pr.start is None else (pr.start - sim.start).days
                self.last[m, j] = 10**9 if pr.end is None else (pr.end - sim.start).days
                self.apply_p[m, j] = pr.apply_per_day
                self.quota[m, j] = max(1, int(round(pr.quota * sim.scale))) if pr.quota else 0
                self.wait[m, j] = pr.wait_days
                self.grant[m, j] = pr.grant_rate
                for pid in pr.places:
                    c = pr.capacity_per_day
                    self.capacity[m, net.index[pid]] = max(1, int(round(c * sim.scale))) if c else 0
        # granted so far, per member and programme: kept across timeline events (setup runs again)
        old = getattr(self, "granted", None)
        self.granted = old if old is not None and old.shape == (M, k) else np.zeros((M, k), dtype=np.int64)
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
        pp, day, net = sim.people, sim.day, sim.net
        P = net.n_places
        unlimited = self.quota == 0
        quota_left = np.where(unlimited, 1 << 62, self.quota - self.granted)  # members × programmes
        open_today = (self.first <= day) & (day <= self.last) & (quota_left > 0)
        # 1. applications
        idx = sim.on_the_move()
        if idx.size:
            place = pp.place[idx]
            mem = pp.member[idx].astype(np.int64)
            j = self.office[place]
            ok = (j >= 0) & (pp.km_left[idx] == 0) & (pp.intent[idx] != Intent.HOME)
            ok &= (pp.flags[idx] & (PERMIT_TRIED | PERMIT)) == 0
            jj = np.where(j >= 0, j, 0)
            ok &= open_today[mem, jj] & (net.country[pp.origin[idx]] != self.country[jj])
            a = idx[ok & (sim.draw("permits.apply", day, idx) < self.apply_p[mem, jj])]
            if a.size:
                pp.set_state(a, State.PERMIT_PENDING, day)
                pp.until[a] = -1
                pp.flags[a] |= PERMIT_TRIED
                sim.add_events("permit_applied", pp.place[a], a)
        pend = sim.in_states(State.PERMIT_PENDING)
        if pend.size:
            # 2. processing: oldest first at each (member, office), capacity a day, while the quota lasts
            line = pend[(pp.until[pend] == -1) & ((pp.flags[pend] & PERMIT_OK) == 0)]
            if line.size:
                lm = pp.member[line].astype(np.int64)
                lp = pp.place[line].astype(np.int64)
                tie = sim.draw("permits.queue", day, line)
                order = np.lexsort((tie, pp.since[line], lp, lm))
                q, qp, qm = line[order], lp[order], lm[order]
                qk = qm * P + qp
                starts = np.r_[0, np.nonzero(np.diff(qk))[0] + 1]
                rank = np.arange(q.size) - np.repeat(starts, np.diff(np.r_[starts, q.size]))
                cap = self.capacity[qm, qp]
                served = (cap == 0) | (rank < cap)
                s, sp, sm = q[served], qp[served], qm[served]
                sj = self.office[sp]
                granted = sim.draw("permits.grant", day, s) < self.grant[sm, sj]
                # the quota of each (member, programme), in line order (s is sorted by member, then place)
                key = sm * len(self.names) + sj
                for kk in np.unique(key[granted]):
                    m, j = divmod(int(kk), len(self.names))
                    hit = np.nonzero((key == kk) & granted)[0]
                    if not unlimited[m, j]:
                        keep = max(0, int(quota_left[m, j]))
                        granted[hit[keep:]] = False
                        hit = hit[:keep]
                    self.granted[m, j] += hit.size
                    quota_left[m, j] -= hit.size
                g = s[granted]
                pp.flags[g] |= PERMIT_OK
                pp.until[g] = (day + self.wait[sm[granted], sj[granted]]).astype(np.int16)
                self._release(sim, s[~granted])
            # the line left when a programme is closed or out of quota travels on
            still = pend[(pp.state[pend] == State.PERMIT_PENDING) & ((pp.flags[pend] & PERMIT_OK) == 0)]
            if still.size:
                m = pp.member[still].astype(np.int64)
                j = self.office[pp.place[still]]
                shut = ~((self.first[m, j] <= day) & (day <= self.last[m, j]) & (quota_left[m, j] > 0))
                self._release(sim, still[shut])
            # 3. cards in hand
            due = pend[(pp.state[pend] == State.PERMIT_PENDING) & ((pp.flags[pend] & PERMIT_OK) != 0)
                       & (pp.until[pend] >= 0) & (pp.until[pend] <= day)]
            if due.size:
                sim.add_events("permit_granted", pp.place[due], due)
                trav = self.travel[self.office[pp.place[due]]]
                pp.flags[due] &= ~PERMIT_OK
                pp.until[due] = -1
                pp.set_state(due[~trav], State.SETTLED, day)
                t = due[trav]
                pp.set_state(t, State.RESTING, day)
                pp.flags[t] |= PERMIT
        # holders travelling on: the issuing country's posts let them through
        if self.travel.any():
            idx = sim.on_the_move()
            if idx.size:
                h = idx[(pp.flags[idx] & PERMIT) != 0]
                if h.size:
                    place = pp.place[h]
                    issuing = np.zeros(len(net.countries), dtype=bool)
                    issuing[self.country[self.travel & (self.country >= 0)]] = True
                    blocked = sim.pol("blocked")[pp.member[h].astype(np.int64), place]
                    at_post = blocked & (pp.km_left[h] == 0) & ((pp.flags[h] & CLEARED) == 0)
                    at_post &= issuing[net.country[place]]
                    c = h[at_post]
                    pp.flags[c] |= CLEARED
                    sim.add_events("crossed", pp.place[c], c)
