"""Offers: transport offered to a caravan as a stochastic process (buses, trucks), accepted or not.

In 2018 local governments, churches and volunteers offered buses and trucks now and then, some
taking hundreds at once, and caravans accepted or refused them in assemblies (MODEL.md,
"Movement", "Collective decisions"; events.csv 2018-10-16, 2018-10-31). Their timing and size
were not known in advance, so offers are drawn: each day, at each offer site (``offers.sites``:
large cities, state capitals) where a caravan has at least ``min_crowd`` people on the move, an
offer is made with chance ``prob_per_day`` (one draw per site and day); its size is lognormal
with mean ``seats`` and log-spread ``seats_sd``; the caravan accepts it with chance ``accept``
(one draw per site, caravan and day). An accepted offer takes up to its seats of that caravan's
people at the site, first come first served, ``km`` along their route by bus (movement does
the moving). A scenario that knows its buses can still list them in ``buses:``.
Every draw is keyed by (member seed, stream, day, site or site and caravan), so a member advanced
with others gets the offers it would get alone. The offers of all members are one
:class:`OffersState` in ``sim.shared["offers"]``: the accepted offers of the day in ``today`` as
(member, place, seats, km, caravan), every offer of member ``m``, accepted or not, in ``log[m]``.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import Intent, State, scaled_count
from travesia.engine.processes.base import Process
from travesia.engine.rng import normal_of


class OffersState:
    """The offers of every member: today's accepted ones and the log of all (``sim.shared["offers"]``)."""

    def __init__(self, n_members: int):
        self.today: list[tuple[int, int, int, float, int]] = []  # (member, place, seats, km, caravan)
        self.log: list[list[tuple]] = [[] for _ in range(n_members)]  # per member: (day, caravan, place, seats, km, accepted)


class Offers(Process):
    name = "offers"
    params = "offers"
    batched = True  # per-member sites' chances, sizes and acceptance; one log per member
    reads = ("state", "place", "km_left", "pop", "intent")
    writes = ()

    def setup(self, sim) -> None:
        net, M = sim.net, sim.M
        self.os = [q.offers for q in sim.member_params]
        # per member: (place, chance a day, mean seats, km) of each site
        self.sites = [[(net.index[s.place],
                        o.prob_per_day if s.prob_per_day is None else s.prob_per_day,
                        o.seats if s.seats is None else s.seats,
                        o.km if s.km is None else s.km) for s in o.sites] for o in self.os]
        S = max((len(x) for x in self.sites), default=0)
        self.prob = np.zeros((M, S))  # members × sites (0: no such site)
        for m, (sites, q) in enumerate(zip(self.sites, sim.member_params)):
            if q.rules == "caravan":
                self.prob[m, :len(sites)] = [x[1] for x in sites]
        if sim.shared.get("offers") is None:
            sim.shared["offers"] = OffersState(M)
        sim.shared["offers"].today = []

    def _crowd(self, sim, m: int, place: int) -> np.ndarray:
        """People of each caravan of member ``m`` on the move at ``place``: from the record of
        yesterday's end when it is kept per caravan (the population is not scanned again), else
        counted."""
        pp, rec, day = sim.people, sim.records[m], sim.day
        K = max(len(sim.pop_names), 1)
        if day > 0 and (rec.n_pops == K or K == 1):
            c = rec.counts_pop[day - 1, :, place] if rec.n_pops == K else rec.counts[day - 1, place][None]
            return (c[:, State.TRAVELLING] + c[:, State.RESTING]).astype(np.int64)
        idx = sim.on_the_move()
        idx = idx[(idx >= sim.offsets[m]) & (idx < sim.offsets[m + 1])]
        idx = idx[(pp.km_left[idx] == 0) & (pp.intent[idx] != Intent.HOME) & (pp.place[idx] == place)]
        return np.bincount(pp.pop[idx].astype(np.int64), minlength=K)

    def step(self, sim) -> None:
        st = sim.shared["offers"]
        st.today = []
        if not (self.prob > 0).any():
            return
        day, M, S = sim.day, sim.M, self.prob.shape[1]
        u = sim.draw_for("offers.made", day, np.tile(np.arange(S), M), np.repeat(np.arange(M), S)).reshape(M, S)
        mm, jj = np.nonzero(u < self.prob)  # member by member, sites in order
        if mm.size == 0:
            return
        z = normal_of(sim.draw_for("offers.seats", day, jj, mm))
        # made to the caravan that is there in numbers (the first of the largest), if one is
        crowd = np.stack([self._crowd(sim, m, self.sites[m][j][0]) for m, j in zip(mm.tolist(), jj.tolist())])
        thr = np.array([max(self.os[m].min_crowd * sim.scale, 1) for m in mm.tolist()])
        ok = crowd >= thr[:, None]
        kk = np.where(ok, crowd, -1).argmax(axis=1)
        made = np.nonzero(ok.any(axis=1))[0]
        u = sim.draw_for("offers.accept", day, jj[made] * 64 + kk[made], mm[made])
        for i, ui in zip(made.tolist(), u):
            m, j, k = int(mm[i]), int(jj[i]), int(kk[i])
            o = self.os[m]
            p, _, seats_mean, km = self.sites[m][j]
            sd = o.seats_sd
            seats = scaled_count(seats_mean * np.exp(sd * z[i] - sd * sd / 2), sim.scale)
            accepted = bool(ui < o.accept)
            st.log[m].append((day, k, p, seats, float(km), accepted))
            if accepted and seats > 0:
                st.today.append((m, p, seats, float(km), k))
