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
assistance is offered, or they walk). Each member of a batch has its own rates, pressure and
plans; a person's draw is keyed by (member seed, day, their own id), as in a run alone.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import GOING_HOME, U, Intent, njit, uniform
from travesia.engine.processes.base import Process


class Leaving(Process):
    name = "leaving"
    params = "leaving"
    batched = True  # per-member rates and pressure; each member's own plan (sim.shared["plan"], row m * K + k)
    reads = ("state", "place", "km_left", "pop", "intent", "origin", "member")
    writes = ("intent", "dest")

    def setup(self, sim) -> None:
        net = sim.net
        lvs = [q.leaving for q in sim.member_params]
        pres = np.array([[lv.pressure.get(c, 0.0) for c in net.countries] for lv in lvs]).reshape(sim.M, -1)
        ra = sim.pol("return_assistance")  # members × countries
        ppd = sim.per_member(lambda q: q.leaving.pressure_per_day)[:, None]
        opd = sim.per_member(lambda q: q.leaving.offer_pull_per_day)[:, None]
        # the daily chance by member and country (police pressure, offers of rides home); holds come on top
        self.by_country = ppd * pres + opd * (ra > 0)
        self.place_chance = np.ascontiguousarray(self.by_country[:, net.country])  # members × places
        self.hold_p = sim.per_member(lambda q: q.leaving.hold_per_day)

    def step(self, sim) -> None:
        plan = sim.shared.get("plan")
        holds = plan is not None and (self.hold_p > 0).any() and plan.hold.any()
        if not holds and not (self.by_country > 0).any():
            return
        pp, day = sim.people, sim.day
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        G = sim.M * max(len(sim.pop_names), 1)
        hold_place = plan.target if holds else np.full(G, -1, dtype=np.int64)
        hold_on = plan.hold if holds else np.zeros(G, dtype=bool)
        out = np.zeros(idx.size, dtype=np.bool_)
        _leaving_kernel(idx.astype(np.int64, copy=False), pp.member, sim.offsets, sim.keys("leaving.home", day),
                        max(len(sim.pop_names), 1), pp.intent, pp.place, pp.pop, self.place_chance, hold_on,
                        hold_place, self.hold_p, out)
        q = idx[out]
        if q.size:
            pp.intent[q] = Intent.HOME
            pp.dest[q] = sim.home_dest(q)


@njit(cache=True)
def _leaving_kernel(idx, mem, offs, keys, K, intent, place, pop, place_chance, hold_on, hold_place, hold_p, out):
    """Who turns home today: the chance at their place, plus ``hold_p`` where their caravan holds.
    Person ``i`` of member ``m = mem[i]`` (own id ``i - offs[m]``, key ``keys[m]``), caravan row
    ``m * K + pop[i]``."""
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (core.U)
        if intent[iu] == GOING_HOME:
            continue
        m = mem[iu]
        p = place[iu]
        c = place_chance[m, U(p)]
        k = U(m * K + pop[iu])
        if hold_on[k] and hold_place[k] == p:
            c = c + hold_p[m]
        if c > 0 and uniform(keys[m], i - offs[m]) < c:
            out[U(j)] = True
