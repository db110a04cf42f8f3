"""Sim: scenario + network + people + keyed random numbers + clock, one step a day.

A day, in order (the order of the processes is declared in
:mod:`travesia.engine.processes`, nowhere else):

0. timeline events dated today change parameters; policies are recompiled;
1. each process of the rule set runs ``step(sim)`` on whole arrays;
2. the record closes the day (people per place × state, flows, cumulative sinks);
3. with ``check=True``, the invariants are asserted (nobody lost or created).

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
from travesia.engine.people import DOCS, N_STATES, Intent, Motive, People, State
from travesia.engine.policy import Policy
from travesia.engine.record import Record
from travesia.engine.rng import KeyedRNG
from travesia.errors import UserError
from travesia.network import KIND, Network
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
        self._moving_key: tuple = (-1, -1)
        self._moving = np.zeros(0, dtype=np.int64)
        self._create_people()
        self.people.attrs = draw_attributes(self)
        for proc in self.processes:
            proc.setup(self)
        self.timings = {p.name: 0.0 for p in self.processes}

    # ------------------------------------------------------------------ creation

    def _check_size(self, scale: float) -> None:
        """Refuse, before allocating, a run whose people or record do not fit (say what fits)."""
        from travesia.engine.people import People
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
        per_person = 3 * People.bytes_per_person()  # the arrays and a day's temporaries
        need = n * per_person + record
        avail = memory_budget()
        if avail is not None and need > avail:
            fit = max(0, avail - record) // per_person
            raise UserError(f"{n:,} people over {p.days} days would need about {need / 2**30:,.1f} GiB of memory; "
                            f"{avail / 2**30:,.1f} GiB are available, enough for about {fit:,} people"
                            + (f" (--scale {fit / base:.3g} or less)" if base else ""),
                            where="--scale" if scale != 1 else None)


    def _create_people(self) -> None:
        """Create every person of every population, all ``waiting`` at their origin or joining town."""
        p = self.params
        net = self.net
        segs: list[Segment] = []
        n = 0
        self.pop_names = [pop.name for pop in p.populations]
        for k, pop in enumerate(p.populations):
            m = int(round(pop.size * self.scale))
            segs.append(Segment(k, net.index[pop.origin], n, n + m, False))
            n += m
            for j in pop.joiners:
                m = int(round(j.size * self.scale))
                segs.append(Segment(k, net.index[j.place], n, n + m, True))
                n += m
        self.segments = segs
        people = self.people = People(n)
        self.n = n

        # destinations: every place someone aims at, and every home (for those who turn back)
        dest_places: list[int] = []
        self.pop_dest: list[tuple[np.ndarray, np.ndarray]] = []
        all_dest = [i for i in range(net.n_places) if net.kind[i] == KIND["destination"]]
        for pop in p.populations:
            if pop.destinations:
                ids = [net.index[d] for d in pop.destinations]
                w = np.array(list(pop.destinations.values()), dtype=np.float64)
            else:
                o = net.index[pop.origin]
                d = net.distances_to(np.array(all_dest, dtype=np.int32))[:, o] if all_dest else np.array([])
                ids = [a for a, x in zip(all_dest, d) if np.isfinite(x)]
                w = np.ones(len(ids))
            if not ids and p.rules != "caravan":
                ids, w = [net.index[pop.origin]], np.ones(1)  # other rule sets route on their own
            if not ids:
                raise UserError(f"population '{pop.name}': no destination (no place of kind 'destination' "
                                f"is reachable from '{pop.origin}', and none is given)")
            if w.sum() <= 0:
                raise UserError(f"population '{pop.name}': destination weights must not all be zero")
            self.pop_dest.append((np.array(ids, dtype=np.int32), w / w.sum()))
            dest_places.extend(ids)
        for s in segs:
            dest_places.append(s.place)
        for pop in p.populations:
            dest_places.extend(net.index[v] for v in pop.via)
        self.dest_places = np.array(sorted(set(dest_places)), dtype=np.int32)
        self.dest_index = np.full(net.n_places, -1, dtype=np.int16)
        self.dest_index[self.dest_places] = np.arange(len(self.dest_places), dtype=np.int16)
        self.routes = net.route_table(self.dest_places, p.movement.route_detour_km)
        # announced routes: route-table indices of each population's waypoints, -1 padded
        nv = max([len(pop.via) for pop in p.populations] + [0])
        self.via_table = np.full((max(len(p.populations), 1), nv + 1), -1, dtype=np.int16)
        self.n_via = np.zeros(max(len(p.populations), 1), dtype=np.int64)
        for k, pop in enumerate(p.populations):
            self.n_via[k] = len(pop.via)
            for j, v in enumerate(pop.via):
                self.via_table[k, j] = self.dest_index[net.index[v]]

        hh_next = 0
        rng = self.rng
        for s in segs:
            pop = p.populations[s.pop]
            idx = np.arange(s.start, s.stop, dtype=np.int64)
            m = idx.size
            if m == 0:
                continue
            people.place[idx] = s.place
            people.origin[idx] = s.place
            people.pop[idx] = s.pop
            people.state[idx] = State.WAITING
            # households: geometric sizes with the population's mean, consecutive ids
            pgeo = 1.0 / pop.household_size
            hid = np.arange(hh_next, hh_next + m, dtype=np.int64)
            u = rng.random("create.household", 0, hid)
            if pgeo >= 1.0:
                sizes = np.ones(m, dtype=np.int64)
            else:
                sizes = 1 + np.floor(np.log1p(-u) / np.log1p(-pgeo)).astype(np.int64)
            ends = np.cumsum(sizes)
            hh_local = np.searchsorted(ends, np.arange(m), side="right")
            people.household[idx] = hh_next + hh_local
            hh_next += int(hh_local[-1]) + 1
            hh = people.household[idx].astype(np.int64)
            # intentions and motives are a household's; documents and speed a person's
            shares = np.array([pop.intentions.get("us", 0.0), pop.intentions.get("mexico", 0.0)])
            people.intent[idx] = np.where(
                rng.choice("create.intent", 0, hh, shares / shares.sum()) == 1, Intent.STAY, Intent.US)
            people.motive[idx] = np.where(
                rng.random("create.motive", 0, hh) < pop.protection, Motive.PROTECTION, Motive.ECONOMIC)
            docs = rng.random("create.documents", 0, idx) < pop.documents
            people.flags[idx] = np.where(docs, DOCS, 0).astype(np.uint8)
            ids, w = self.pop_dest[s.pop]
            people.dest[idx] = self.dest_index[ids[rng.choice("create.destination", 0, hh, w)]]
            # the first waypoint still ahead of where they start (joiners skip those behind them)
            wp = np.zeros(m, dtype=np.int64)
            if pop.via:
                d = people.dest[idx].astype(np.int64)
                here = self.routes.dist[d, s.place]
                behind = np.ones(m, dtype=bool)
                for j in range(len(pop.via)):
                    vj = self.via_table[s.pop, j]
                    ahead = (self.routes.dist[d, self.dest_places[vj]] < here) & behind
                    wp = np.where(behind & ~ahead, j + 1, wp)
                    behind &= ~ahead
            people.wp[idx] = wp.astype(np.uint8)
            mv = p.movement
            sd = mv.foot_km_sd
            z = rng.normal("create.speed", 0, idx)
            speed = mv.foot_km_per_day * np.exp(sd * z - sd * sd / 2)
            speed = np.minimum(speed, mv.max_foot_km_per_day)
            # a household walks at its slowest member's pace
            first = np.r_[0, np.nonzero(np.diff(hh_local))[0] + 1]
            hmin = np.minimum.reduceat(speed, first)
            people.speed[idx] = hmin[hh_local].astype(np.float32)
        people.group[:] = -1

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

    def target(self, idx: np.ndarray) -> np.ndarray:
        """Route-table index each person heads for now: the next waypoint, else the destination."""
        pp = self.people
        pop = pp.pop[idx].astype(np.int64)
        wp = pp.wp[idx].astype(np.int64)
        on_route = (wp < self.n_via[pop]) & (pp.intent[idx] != Intent.HOME)
        return np.where(on_route, self.via_table[pop, np.minimum(wp, self.via_table.shape[1] - 1)],
                        pp.dest[idx]).astype(np.int64)

    def home_dest(self, idx: np.ndarray) -> np.ndarray:
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
            assert (self.params.seed, self.params.days) == keep
            self.policy = Policy(self.params, self.net, self.scale)
            for proc in self.processes:
                proc.setup(self)
        return changed

    def step(self) -> None:
        """Advance one day."""
        self.apply_events()
        self.people.km_today[:] = 0
        for proc in self.processes:
            t0 = time.perf_counter()
            proc.step(self)
            self.timings[proc.name] += time.perf_counter() - t0
        self.record.close_day(self.day, self.people)
        if self.check:
            self.check_invariants()
        self.day += 1

    def check_invariants(self) -> None:
        """Nobody lost, nobody created: every person in exactly one state at a valid place."""
        c = self.record.counts[self.day]
        assert int(c.sum()) == self.n, f"day {self.day}: {int(c.sum())} people counted, {self.n} created"
        pp = self.people
        assert pp.state.max(initial=0) < N_STATES
        assert pp.place.min(initial=0) >= 0 and pp.place.max(initial=0) < self.net.n_places
        on_leg = pp.km_left > 0
        assert np.all(pp.next[on_leg] >= 0), "someone on a leg with no place ahead"

    def run(self, progress: Callable[[int, int], None] | None = None) -> "Result":
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
