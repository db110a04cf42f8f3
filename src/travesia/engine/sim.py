"""Sim: scenario + network + people + keyed random numbers + clock, one step a day.

A day, in order (the order of the processes is declared in
:mod:`travesia.engine.processes`, nowhere else):

0. timeline events dated today change parameters; policies are recompiled;
1. each process of the rule set runs ``step(sim)`` on whole arrays;
2. the record closes the day (people per place × state, flows, cumulative sinks);
3. with ``check=True``, the invariants are checked (nobody lost or created), raising
   :class:`~travesia.engine.core.SimulationError`.

A run is a pure function of (scenario, parameters, seed): :func:`run`.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from travesia.engine.attributes import draw_attributes
from travesia.engine.core import N_STATES, SimulationError, State, scaled_count
from travesia.engine.people import People, merge_fields
from travesia.engine.policy import Policy
from travesia.engine.record import Record
from travesia.engine.rng import KeyedRNG
from travesia.errors import UserError
from travesia.network import Network, RouteTable
from travesia.scenario.load import LoadedScenario, set_path, validate_params
from travesia.scenario.schema import Scenario


MAX_CARAVANS_RECORDED = 16  # per-caravan tables are kept for up to this many populations
MAX_PEOPLE = 2**31 - 1  # people are numbered and counted per place in int32


@dataclass
class Segment:
    """People ``start:stop`` of population ``pop`` who wait at ``place`` to set out."""

    pop: int
    place: int
    start: int
    stop: int
    joiner: bool


class Sim:
    """One simulation run. ``Sim(loaded, seed=..., days=..., scale=...).run()``."""

    # set by the rule set's people creation (the caravan rules route with them; see processes/population.py)
    routes: RouteTable | None = None
    dest_places: np.ndarray
    dest_index: np.ndarray
    via_table: np.ndarray
    n_via: np.ndarray
    pop_dest: list[tuple[np.ndarray, np.ndarray]]

    def __init__(self, loaded: LoadedScenario, *, seed: int | None = None, days: int | None = None,
                 scale: float = 1.0, check: bool = False):
        from travesia.engine.processes import make_processes

        from travesia.options import check_days, check_scale, check_seed

        scale = check_scale(scale)
        check_seed(seed)
        check_days(days)
        self.loaded = loaded
        self.raw = copy.deepcopy(loaded.raw)
        if seed is not None:
            self.raw["seed"] = int(seed)
        if days is not None:
            self.raw["days"] = int(days)
        self.params: Scenario = validate_params(self.raw, where="scenario")
        self._check_size(scale)
        self.initial_raw = copy.deepcopy(self.raw)
        self.seed = self.params.seed
        self.days = self.params.days
        self.scale = float(scale)
        self.check = check
        self.net = Network.from_tables(loaded.places, loaded.legs)
        self.rng = KeyedRNG(self.seed)
        self.day = 0
        self.start = self.params.start
        self.events = sorted(self.params.timeline, key=lambda e: e.date)
        self.policy = Policy(self.params, self.net, self.scale)
        self.processes = make_processes(self.params.rules)
        n_pop = len(self.params.populations)
        per_caravan = self.params.rules == "caravan" and 1 < n_pop <= MAX_CARAVANS_RECORDED
        self.record = Record(self.days, self.net.n_places, self.net.n_edges, n_pop if per_caravan else 0,
                             attributes={a: len(at.values) for a, at in self.params.attributes.items()})
        self.next_group = 0
        self.shared: dict[str, object] = {}  # per-run state that the processes of one rule set share
        self._moving_key: tuple = (-1, -1)
        self._moving = np.zeros(0, dtype=np.int64)
        self._create_people()
        for proc in self.processes:
            proc.create(self)
        self.people.attrs = draw_attributes(self)  # after the households are formed (per-household attributes)
        for proc in self.processes:
            proc.setup(self)
        self.timings = {p.name: 0.0 for p in self.processes}

    # ------------------------------------------------------------------ creation

    def _check_size(self, scale: float) -> None:
        """Refuse, before allocating, a run whose people or record do not fit (say what fits)."""
        from travesia.engine.processes import make_processes
        from travesia.options import memory_budget

        p = self.params
        n = sum(int(round(pop.size * scale)) + sum(int(round(j.size * scale)) for j in pop.joiners)
                for pop in p.populations)
        base = sum(pop.size + sum(j.size for j in pop.joiners) for pop in p.populations)
        if n > MAX_PEOPLE:
            raise UserError(f"{n:,} people (populations × --scale {scale:g}); a run holds at most {MAX_PEOPLE:,}",
                            where="--scale" if scale != 1 else None)
        n_pl, n_legs, n_pop = len(self.loaded.places), len(self.loaded.legs), len(p.populations)
        per_caravan = min(n_pop, MAX_CARAVANS_RECORDED) if n_pop > 1 else 0
        record = p.days * n_pl * (N_STATES * 4 + 8 * 8) * (1 + per_caravan) + p.days * 2 * n_legs * 4
        fields = merge_fields(*(proc.fields for proc in make_processes(p.rules)))
        # the arrays and a day's temporaries
        per_person = 3 * (sum(np.dtype(f.dtype).itemsize for f in fields.values()) + len(p.attributes))
        need = n * per_person + record
        avail = memory_budget()
        if avail is not None and need > avail:
            fit = max(0, avail - record) // per_person
            raise UserError(f"{n:,} people over {p.days} days would need about {need / 2**30:,.1f} GiB of memory; "
                            f"{avail / 2**30:,.1f} GiB are available, enough for about {fit:,} people"
                            + (f" (--scale {fit / base:.3g} or less)" if base else ""),
                            where="--scale" if scale != 1 else None)


    def _create_people(self) -> None:
        """Allocate the People arrays (core fields and those the processes declare) and place
        everyone of every population ``waiting`` at their origin or joining town."""
        p = self.params
        net = self.net
        segs: list[Segment] = []
        n = 0
        self.pop_names = [pop.name for pop in p.populations]
        for k, pop in enumerate(p.populations):
            m = scaled_count(pop.size, self.scale)
            segs.append(Segment(k, net.index[pop.origin], n, n + m, False))
            n += m
            for j in pop.joiners:
                m = scaled_count(j.size, self.scale)
                segs.append(Segment(k, net.index[j.place], n, n + m, True))
                n += m
        self.segments = segs
        self.n = n
        fields = merge_fields(*(proc.fields for proc in self.processes))
        people = self.people = People(n, fields)
        for s in segs:
            sl = slice(s.start, s.stop)
            people.place[sl] = s.place
            people.origin[sl] = s.place
            people.pop[sl] = s.pop
            people.state[sl] = State.WAITING

    # ------------------------------------------------------------------ helpers for processes

    def new_groups(self, count: int) -> int:
        """Reserve ``count`` new group ids; return the first."""
        g = self.next_group
        self.next_group += int(count)
        return g

    def group_pace(self, groups: np.ndarray) -> np.ndarray:
        """A group's pace multiplier (lognormal, mean 1): a pure function of (seed, group id)."""
        sd = self.params.groups.pace_sd
        z = self.rng.normal("groups.pace", 0, groups)
        return np.exp(sd * z - sd * sd / 2)

    def home_dest(self, idx: np.ndarray) -> np.ndarray:
        """Route-table index of the homes of people ``idx``."""
        return self.dest_index[self.people.origin[idx]]

    @property
    def date(self) -> dt.date:
        return self.start + dt.timedelta(days=self.day)

    def on_the_move(self) -> np.ndarray:
        """Ids of people travelling or resting now (sorted).

        People enter these states only through ``People.set_state``, which bumps a version; so a
        superset computed once is reused until then, and only filtered by current state.
        """
        pp = self.people
        key = (self.day, pp.version)
        if self._moving_key != key:
            s = pp.state
            self._moving = np.nonzero((s == State.TRAVELLING) | (s == State.RESTING))[0]
            self._moving_key = key
        idx = self._moving
        st = pp.state[idx]
        keep = (st == State.TRAVELLING) | (st == State.RESTING)
        if not keep.all():
            idx = self._moving = idx[keep]
        return idx

    # ------------------------------------------------------------------ the loop

    def apply_events(self) -> bool:
        today = self.date
        changed = False
        while self.events and self.events[0].date <= today:
            ev = self.events.pop(0)
            for k, v in ev.set.items():
                set_path(self.raw, k, v)
            changed = True
        if changed:
            keep = (self.raw.get("seed"), self.raw.get("days"))
            self.params = validate_params(self.raw, where="timeline")
            if (self.params.seed, self.params.days) != keep:
                raise UserError("timeline: an event may not change the seed or the number of days")
            self.policy = Policy(self.params, self.net, self.scale)
            for proc in self.processes:
                proc.setup(self)
        return changed

    def step(self) -> None:
        """Advance one day."""
        self.apply_events()
        for proc in self.processes:
            t0 = time.perf_counter()
            proc.step(self)
            self.timings[proc.name] += time.perf_counter() - t0
        self.record.close_day(self.day, self.people)
        if self.check:
            self.check_invariants()
        self.day += 1

    def check_invariants(self) -> None:
        """Nobody lost, nobody created: every person in exactly one state at a valid place.
        Raises :class:`~travesia.engine.core.SimulationError` (a bug, not a user error)."""
        c = self.record.counts[self.day]
        if int(c.sum()) != self.n:
            raise SimulationError(f"day {self.day}: {int(c.sum())} people counted, {self.n} created")
        pp = self.people
        if pp.state.max(initial=0) >= N_STATES:
            raise SimulationError(f"day {self.day}: a state number out of range")
        if pp.place.min(initial=0) < 0 or pp.place.max(initial=0) >= self.net.n_places:
            raise SimulationError(f"day {self.day}: a place index out of range")
        if not np.all(pp.next[pp.km_left > 0] >= 0):
            raise SimulationError(f"day {self.day}: someone on a leg with no place ahead")

    # ------------------------------------------------------------------ saving and restoring

    _SHARED = ("loaded", "net", "routes", "dest_places", "dest_index", "via_table", "n_via", "pop_dest",
               "segments", "pop_names", "start", "initial_raw")

    def save_state(self) -> dict:
        """Everything that changes as the run goes on (people, record, policies, parameters in
        force, timeline position, the processes' own arrays, group counter, day), as a deep copy:
        :meth:`restore_state` continues from it with the same bytes as an uninterrupted run.
        The scenario, network and route table are shared, not copied (they never change)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._SHARED}

    def restore_state(self, state: dict) -> None:
        """Go back to a state from :meth:`save_state` (of this Sim or of one built the same way)."""
        for k, v in state.items():
            setattr(self, k, copy.deepcopy(v))

    def run(self, progress: Callable[[int, int], None] | None = None) -> "Result":
        """Advance to the last day (from wherever the run is)."""
        t0 = time.perf_counter()
        while self.day < self.days:
            self.step()
            if progress is not None:
                progress(self.day, self.days)
        wall = time.perf_counter() - t0
        return Result(sim=self, wall_s=wall)


@dataclass
class Result:
    """The outcome of a run: the record and what is needed to read it."""

    sim: Sim
    wall_s: float
    extra: dict = field(default_factory=dict)

    @property
    def record(self) -> Record:
        return self.sim.record

    @property
    def net(self) -> Network:
        return self.sim.net

    @property
    def params(self) -> Scenario:
        return self.sim.params

    @property
    def live_agent_steps(self) -> int:
        """Person-days of people who exist and have set out: on each day, everyone not ``waiting``
        at the end of the day (people in final states included: they exist and are counted)."""
        c = self.sim.record.counts
        return int(c.sum(dtype=np.int64) - c[:, :, State.WAITING].sum(dtype=np.int64))

    @property
    def live_agent_steps_per_second(self) -> float:
        """Live agent-steps (see :attr:`live_agent_steps`) per second of the daily loop."""
        return self.live_agent_steps / max(self.wall_s, 1e-9)

    def dates(self) -> list[dt.date]:
        return [self.sim.start + dt.timedelta(days=d) for d in range(self.sim.days)]


def run(loaded: LoadedScenario, *, seed: int | None = None, days: int | None = None, scale: float = 1.0,
        check: bool = False, progress: Callable[[int, int], None] | None = None) -> Result:
    """Run a loaded scenario once. Same (scenario, parameters, seed) → same result, byte for byte."""
    return Sim(loaded, seed=seed, days=days, scale=scale, check=check).run(progress)
