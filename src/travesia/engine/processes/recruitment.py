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

from travesia.engine.core import WAITING, State, njit, scaled_count, uniform
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
    batched = True
    reads = ("state", "household", "member")
    writes = ("state", "since", "group", "household", "intent", "motive", "flags", "dest", "wp", "speed")

    def create(self, sim) -> None:
        create_caravan_people(sim)
        # the people of each segment (segment k of every member), still waiting: shrinks as they set out
        self._waiting = [np.concatenate([np.arange(ms[k].start, ms[k].stop, dtype=np.int64)
                                         for ms in sim.member_segments])
                         for k in range(len(sim.member_segments[0]))]

    def setup(self, sim) -> None:
        self.r = sim.params.recruitment
        pm = sim.per_member
        self.innovation = pm(lambda p: p.recruitment.innovation)
        self.imitation = pm(lambda p: p.recruitment.imitation)
        self.deterrence = pm(lambda p: p.recruitment.deterrence)
        self.join_prob = pm(lambda p: p.recruitment.join_prob)
        self.join_window = pm(lambda p: p.recruitment.join_window_days, np.int64)
        # households per group, by population and member
        self.per = [pm(lambda p, k=k: max(1, int(round(p.populations[k].group_size / p.populations[k].household_size))),
                       np.int64) for k in range(len(sim.params.populations))]

    def step(self, sim) -> None:
        pp = sim.people
        day = sim.day
        M = sim.M
        for k, s in enumerate(sim.member_segments[0]):
            pop = sim.params.populations[s.pop]
            start_day = (pop.start - sim.start).days
            if day < start_day:
                continue
            # those still waiting (one pass: some may have left waiting otherwise), per member
            left = np.zeros(M, dtype=np.int64)
            waiting = self._waiting[k] = self._waiting[k][:_still_waiting(self._waiting[k], pp.state, pp.member, left)]
            if waiting.size == 0:
                continue
            segs = [ms[k] for ms in sim.member_segments]
            core = np.full(M, -1, dtype=np.int64)  # households up to core[m] set out, without a draw
            if s.joiner:
                if day == 0:
                    continue
                lo = np.maximum(0, day - 1 - self.join_window)
                # people on the move at their town on days lo .. day-1, each member its own window
                moving = sim.member_counts()[:, :day, s.place, State.TRAVELLING:State.RESTING + 1].sum(axis=2,
                                                                                                      dtype=np.int64)
                cum = np.concatenate((np.zeros((M, 1), dtype=np.int64), np.cumsum(moving, axis=1)), axis=1)
                seen = cum[:, day] - cum[np.arange(M), np.minimum(lo, day)]
                chance = np.where(seen > 0, self.join_prob, -1.0)  # -1: nobody (a draw is >= 0)
                stream = "recruitment.join"
            elif day == start_day:
                # the core: the first households of the origin, whole
                n_core = [scaled_count(sim.member_params[m].populations[s.pop].core, sim.scale) for m in range(M)]
                core = np.array([pp.household[g.start + c - 1] if c > 0 else -1 for g, c in zip(segs, n_core)],
                                dtype=np.int64)
                chance, stream = None, ""
            else:
                size = np.array([g.stop - g.start for g in segs], dtype=np.int64)
                gone = size - left
                chance = (self.innovation + self.imitation * gone / np.maximum(size, 1)) * (1.0 - self.deterrence)
                stream = "recruitment.depart"
            dep = np.empty(waiting.size, dtype=np.int64)
            dep = dep[:_departures(waiting, pp.member, pp.household, core, chance is not None,
                                   sim.keys(stream, day) if chance is not None else np.zeros(M, dtype=np.uint64),
                                   chance if chance is not None else np.zeros(M), dep)]
            if dep.size == 0:
                continue
            pp.set_state(dep, State.TRAVELLING, day)
            # groups of about group_size, households whole (each member numbers its own groups)
            counts = np.zeros(M, dtype=np.int64)
            _form_groups(dep, pp.member, pp.household, self.per[s.pop], pp.group, counts)
            _number_groups(dep, pp.member, sim.new_groups_of(counts), pp.group)


@njit(cache=True)
def _still_waiting(waiting, state, member, left):
    """Keep those of ``waiting`` still ``waiting`` (in place, in order; returns how many), counting
    them per member in ``left``."""
    n = 0
    for j in range(waiting.shape[0]):
        i = waiting[j]
        if state[i] == WAITING:
            waiting[n] = i
            n += 1
            left[member[i]] += 1
    return n


@njit(cache=True)
def _departures(waiting, member, household, core, drawn, keys, chance, dep):
    """Who of ``waiting`` sets out today (their ids in ``dep``, in order; returns how many): the
    households up to ``core[m]`` of member ``m``; and, with ``drawn``, each household whose draw
    (``keys[m]``, keyed by household id) is below ``chance[m]``."""
    n = 0
    for j in range(waiting.shape[0]):
        i = waiting[j]
        m = member[i]
        h = household[i]
        if h <= core[m] or (drawn and uniform(keys[m], h) < chance[m]):
            dep[n] = i
            n += 1
    return n


@njit(cache=True)
def _form_groups(dep, member, household, per, group, counts):
    """Travelling groups of the people ``dep`` who set out today (ids in order: each member's people,
    and a household's, side by side): each member's households in turn, ``per[m]`` households to a
    group, households whole. Writes each person's group number within their member's day in
    ``group`` (0, 1 ...; :func:`_number_groups` makes them ids) and the number of groups of each
    member in ``counts``."""
    m0 = np.int64(-1)
    h0 = np.int64(-1)
    rank = np.int64(-1)  # of the household among the member's of today
    for j in range(dep.shape[0]):
        i = dep[j]
        m = np.int64(member[i])
        h = np.int64(household[i])
        if m != m0:
            m0 = m
            h0 = h
            rank = 0
        elif h != h0:
            h0 = h
            rank += 1
        g = rank // per[m]
        group[i] = g
        counts[m] = g + 1


@njit(cache=True)
def _number_groups(dep, member, first, group):
    """The group numbers of :func:`_form_groups` made ids: member ``m``'s first new id ``first[m]`` on."""
    for j in range(dep.shape[0]):
        i = dep[j]
        group[i] += first[member[i]]
