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
Accepted offers of the day are on ``sim.offers_today`` as (place, seats, km, caravan); every
offer, accepted or not, is kept in ``sim.offers_log``.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import Intent, State, scaled_count
from travesia.engine.processes.base import Process


class Offers(Process):
    name = "offers"
    params = "offers"
    reads = ("state", "place", "km_left", "pop", "intent")
    writes = ()
    state = ("offers_today", "offers_log")

    def setup(self, sim) -> None:
        o = sim.params.offers
        net = sim.net
        self.sites = [(net.index[s.place],
                       o.prob_per_day if s.prob_per_day is None else s.prob_per_day,
                       o.seats if s.seats is None else s.seats,
                       o.km if s.km is None else s.km) for s in o.sites]
        self.o = o
        if not hasattr(sim, "offers_log"):
            sim.offers_log = []
        sim.offers_today = []

    def _counts(self, sim) -> np.ndarray:
        """People of each caravan on the move at each place [K, P]: from the record of yesterday's
        end when it is kept per caravan (the population is not scanned again), else counted."""
        pp, rec, day = sim.people, sim.record, sim.day
        P, K = sim.net.n_places, max(len(sim.pop_names), 1)
        if day > 0 and (rec.n_pops == K or K == 1):
            c = rec.counts_pop[day - 1] if rec.n_pops == K else rec.counts[day - 1][None]
            return (c[..., State.TRAVELLING] + c[..., State.RESTING]).astype(np.int64)
        idx = sim.on_the_move()
        idx = idx[(pp.km_left[idx] == 0) & (pp.intent[idx] != Intent.HOME)]
        return np.bincount(pp.pop[idx].astype(np.int64) * P + pp.place[idx], minlength=K * P).reshape(K, P)

    def step(self, sim) -> None:
        sim.offers_today = []
        if not self.sites or sim.params.rules != "caravan":
            return
        _pp, day, o = sim.people, sim.day, self.o
        site = np.array([s[0] for s in self.sites], dtype=np.int64)
        prob = np.array([s[1] for s in self.sites])
        if not (prob > 0).any():
            return
        u = sim.rng.random("offers.made", day, np.arange(site.size))
        made = np.nonzero(u < prob)[0]
        if made.size == 0:
            return
        counts = self._counts(sim)
        z = sim.rng.normal("offers.seats", day, made)
        sd = o.seats_sd
        for j, zj in zip(made, z):
            p, _, seats_mean, km = self.sites[j]
            crowd = counts[:, p]
            cands = np.nonzero(crowd >= max(o.min_crowd * sim.scale, 1))[0]
            if cands.size == 0:
                continue
            k = int(cands[np.argmax(crowd[cands])])  # made to the caravan that is there in numbers
            seats = scaled_count(seats_mean * np.exp(sd * zj - sd * sd / 2), sim.scale)
            accepted = bool(sim.rng.random("offers.accept", day, np.array([j * 64 + k]))[0] < o.accept)
            sim.offers_log.append((day, k, p, seats, float(km), accepted))
            if accepted and seats > 0:
                sim.offers_today.append((p, seats, float(km), k))
