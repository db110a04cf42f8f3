"""Leaving: going home at rates that depend on conditions — holds, police pressure, return offers.

People left the 2018 caravans in numbers that changed with conditions: about 2,000 Hondurans had
returned by 21 October and about 5,000 by 27 October (observations.csv), after long waits at
the Suchiate bridge, police roadblocks and Guatemala's and Mexico's offers of rides home
(events.csv 2018-10-16, 2018-10-20, 2018-10-27). On top of the everyday chance of giving up
(:mod:`intentions`), each day a traveller who is not yet going home turns home with chance

    hold_per_day · [their caravan holds where they are]
  + pressure_per_day · pressure[country they are in]
  + offer_pull_per_day · [that country offers rides home]

``leaving.pressure`` (0–1 per country) is police pressure on the caravan, which timeline events
raise and lower. From then on they head home (``intentions`` takes them home by bus where return
assistance is offered, or they walk).
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import GOING_HOME, Intent, njit, uniform
from travesia.engine.processes.base import Process


class Leaving(Process):
    name = "leaving"
    params = "leaving"
    reads = ("state", "place", "km_left", "pop", "intent", "origin")
    writes = ("intent", "dest")

    def setup(self, sim) -> None:
        lv = sim.params.leaving
        net = sim.net
        self.lv = lv
        pres = np.array([lv.pressure.get(c, 0.0) for c in net.countries])
        ra = sim.policy.return_assistance
        # the daily chance by country (police pressure, offers of rides home); holds come on top
        self.by_country = lv.pressure_per_day * pres + lv.offer_pull_per_day * (ra > 0)

    def step(self, sim) -> None:
        lv = self.lv
        plan = getattr(sim, "plan", None)
        holds = plan is not None and lv.hold_per_day > 0 and plan.hold.any()
        if not holds and not (self.by_country > 0).any():
            return
        pp, day = sim.people, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        K = max(len(sim.pop_names), 1)
        hold_place = plan.target if holds else np.full(K, -1, dtype=np.int64)
        hold_on = plan.hold if holds else np.zeros(K, dtype=bool)
        place_chance = self.by_country[sim.net.country]  # per place
        out = np.zeros(idx.size, dtype=np.bool_)
        _leaving_kernel(idx.astype(np.int64), np.uint64(sim.rng.key("leaving.home", day)), pp.intent, pp.place,
                        pp.pop, place_chance, hold_on, hold_place, float(lv.hold_per_day), out)
        q = idx[out]
        if q.size:
            pp.intent[q] = Intent.HOME
            pp.dest[q] = sim.home_dest(q)


@njit(cache=True)
def _leaving_kernel(idx, key, intent, place, pop, place_chance, hold_on, hold_place, hold_p, out):
    """Who turns home today: the chance at their place, plus ``hold_p`` where their caravan holds."""
    for j in range(idx.shape[0]):
        i = idx[j]
        if intent[i] == GOING_HOME:
            continue
        p = place[i]
        c = place_chance[p]
        k = pop[i]
        if hold_on[k] and hold_place[k] == p:
            c = c + hold_p
        if c > 0 and uniform(key, i) < c:
            out[j] = True
