"""Recruitment: the caravan forms at its origin from a small core and grows by word of mouth.

At the origin, each day after the start the chance that a waiting household sets out is the
Bass diffusion hazard ``(innovation + imitation · F) · (1 − deterrence)``, with ``F`` the share
of the population already gone (word of mouth) and ``deterrence`` the share stopped by police at
the exit and by campaigns (a timeline event raises it). On the start day the ``core`` sets out.
Joiners waiting in a town on the route set out with chance ``join_prob`` a day while people of
the movement are there or passed within ``join_window_days``. Later waves are populations with a
later start. People set out in travelling groups of about ``group_size``, households kept whole.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import State, scaled_count
from travesia.engine.people import Field
from travesia.engine.processes.base import Process
from travesia.engine.processes.population import create_caravan_people


class Recruitment(Process):
    name = "recruitment"
    params = "recruitment, populations"
    fields = {
        "household": Field(np.int32, 0, "household id (consecutive within a population)"),
        "intent": Field(np.uint8, 0, "Intent: us, stay, home"),
        "motive": Field(np.uint8, 0, "Motive: economic, protection"),
        "dest": Field(np.int16, 0, "route-table index of the destination (home when going home)"),
        "wp": Field(np.uint8, 0, "next waypoint of the population's announced route (via)"),
        "speed": Field(np.float32, 0, "personal walking km/day (household minimum)"),
        "group": Field(np.int32, -1, "travelling group id"),
    }
    reads = ("state", "household")
    writes = ("state", "since", "group", "household", "intent", "motive", "flags", "dest", "wp", "speed")

    def create(self, sim) -> None:
        create_caravan_people(sim)

    def setup(self, sim) -> None:
        self.r = sim.params.recruitment

    def step(self, sim) -> None:
        pp = sim.people
        day = sim.day
        rec = sim.record
        for s in sim.segments:
            if s.stop == s.start:
                continue
            pop = sim.params.populations[s.pop]
            start_day = (pop.start - sim.start).days
            if day < start_day:
                continue
            sl = slice(s.start, s.stop)
            waiting = np.nonzero(pp.state[sl] == State.WAITING)[0] + s.start
            if waiting.size == 0:
                continue
            hh = pp.household[waiting].astype(np.int64)
            if s.joiner:
                w = self.r.join_window_days
                lo = max(0, day - 1 - w)
                if day == 0:
                    continue
                seen = rec.counts[lo:day, s.place, State.TRAVELLING:State.RESTING + 1].sum()
                if seen <= 0:
                    continue
                go = sim.rng.random("recruitment.join", day, hh) < self.r.join_prob
            elif day == start_day:
                core = scaled_count(pop.core, sim.scale)
                # the core: the first households of the origin, whole
                cut = pp.household[s.start + core - 1] if core > 0 else -1
                go = hh <= cut
            else:
                size = s.stop - s.start
                gone = size - waiting.size
                hazard = (self.r.innovation + self.r.imitation * gone / size) * (1.0 - self.r.deterrence)
                go = sim.rng.random("recruitment.depart", day, hh) < hazard
            dep = waiting[go]
            if dep.size == 0:
                continue
            pp.set_state(dep, State.TRAVELLING, day)
            # groups of about group_size, households whole
            hhd = pp.household[dep]
            rank = np.r_[0, np.cumsum(np.diff(hhd) != 0)]
            per = max(1, int(round(pop.group_size / pop.household_size)))
            g = rank // per
            first = sim.new_groups(int(g[-1]) + 1)
            pp.group[dep] = first + g
