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
import gc
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from travesia.engine.attributes import draw_attributes
from travesia.engine.core import (
    N_STATES, PRESENT, SimulationError, State, day_keys, merge_sorted, scaled_count, select_states, state_mask,
    stream_key, uniform_many,
)
from travesia.engine.people import People, merge_fields
from travesia.engine.policy import Policy
from travesia.engine.record import Record, Records, close_scan, dormant_uncount, queue_recount
from travesia.engine.rng import KeyedRNG, normal_of
from travesia.errors import UserError
from travesia.network import Network, RouteTable
from travesia.scenario.load import LoadedScenario, revalidate, set_path, validate_params
from travesia.scenario.schema import Scenario


MAX_CARAVANS_RECORDED = 16  # per-caravan tables are kept for up to this many populations
MAX_PEOPLE = 2**31 - 1  # people are numbered and counted per place in int32
_MOVING = state_mask(State.TRAVELLING, State.RESTING)


@dataclass
class Segment:
    """People ``start:stop`` of population ``pop`` who wait at ``place`` to set out."""

    pop: int
    place: int
    start: int
    stop: int
    joiner: bool


class Sim:
    """A simulation of one member (``Sim(loaded, seed=..., days=..., scale=...).run()``) or of M
    members advanced together (``Sim(loaded, members=[(seed, {path: value}), ...])``).

    Members side by side: the people of member ``m`` are ids ``offsets[m]:offsets[m+1]`` of the
    People arrays (``people.member`` says whose each person is); each member has its own
    parameters (``member_params[m]``), policies, random generator (keyed by its seed), group
    counter and record (``records[m]``). Every draw of member ``m`` is keyed by (its seed, stream,
    day, its own person, group or household id), so a member's record is the same, byte for byte,
    whatever batch it runs in. Members of a batch share the scenario's structure (network,
    populations' places and dates, timeline dates, routes, rally points, buses): see
    :func:`structure_key`. With one member, ``sim.params``, ``sim.rng``, ``sim.policy``,
    ``sim.record`` are that member's. A caller that has validated the members' parameters already
    passes them as ``setups`` (each member's :func:`member_setup`, with the same ``days``).
    """

    # set by the rule set's people creation (the caravan rules route with them; see processes/population.py)
    routes: RouteTable | None = None
    dest_places: np.ndarray
    dest_index: np.ndarray
    via_table: np.ndarray
    n_via: np.ndarray
    pop_dest: list[tuple[np.ndarray, np.ndarray]]

    def __init__(self, loaded: LoadedScenario, *, seed: int | None = None, days: int | None = None,
                 scale: float = 1.0, check: bool = False,
                 members: Sequence[tuple[int | None, dict[str, Any]]] | None = None,
                 setups: Sequence[tuple[dict, Scenario]] | None = None):
        from travesia.engine.processes import make_processes
        from travesia.options import check_days, check_scale, check_seed

        scale = check_scale(scale)
        check_seed(seed)
        check_days(days)
        self.loaded = loaded
        if members is None:
            members = [(seed, {})]
        if not members:
            raise ValueError("a Sim needs at least one member")
        self.member_raw: list[dict] = []
        self.member_params: list[Scenario] = []
        for i, (s, overrides) in enumerate(members):
            raw, p = setups[i] if setups is not None else member_setup(loaded, s, overrides, days)
            self.member_raw.append(raw)
            self.member_params.append(p)
        self.M = len(members)
        for p in self.member_params:
            self._check_size(p, scale)
        keys = {structure_key(p) for p in self.member_params}
        if len(keys) > 1:
            raise ValueError("members advanced together must share the scenario's structure (see structure_key)")
        # the parameters at the start: the trees change only through set_path, which copies what it changes
        self.member_initial_raw = [dict(r) for r in self.member_raw]
        self.seeds = np.array([p.seed for p in self.member_params], dtype=np.int64)
        self.days = self.params.days
        self.scale = float(scale)
        self.check = check
        self.net = Network.from_tables(loaded.places, loaded.legs)
        self.rngs = [KeyedRNG(int(s)) for s in self.seeds]
        self.day = 0
        self.start = self.params.start
        self.events = sorted(self.params.timeline, key=lambda e: e.date)
        self.policies = [Policy(p, self.net, self.scale) for p in self.member_params]
        self._stack_policies()
        self.processes = make_processes(self.params.rules)
        if self.M > 1 and not all(getattr(p, "batched", False) for p in self.processes):
            raise ValueError(f"rule set '{self.params.rules}' has processes that cannot advance members together")
        n_pop = len(self.params.populations)
        per_caravan = self.params.rules == "caravan" and 1 < n_pop <= MAX_CARAVANS_RECORDED
        shape = (self.days, self.net.n_places, self.net.n_edges, n_pop if per_caravan else 0,
                 {a: len(at.values) for a, at in self.params.attributes.items()})
        # members side by side: their records are views of one set of arrays, closed together
        self._recs = Records(self.M, *shape) if self.M > 1 else None
        self.records = self._recs.records if self._recs is not None else [Record(*shape)]
        self.next_groups = np.zeros(self.M, dtype=np.int64)
        self.shared: dict[str, object] = {}  # per-run state that the processes of one rule set share
        self._moving_key: tuple = (-1, -1)
        self._moving = np.zeros(0, dtype=np.int64)
        # who costs time: sorted ids of people waiting, and of people set out and not in a final
        # state (see live()); the counts of people in final states, who never change again
        self._waiting: np.ndarray | None = None
        self._live = np.zeros(0, dtype=np.int64)
        self._final: np.ndarray | None = None
        # asylum applicants with nothing due until a later day (their ``wake``), left out of the live
        # list by the day's close: their ids by the day they wake, and their counts (as _final's)
        self._dormant: dict[int, list[np.ndarray]] = {}
        self._dormant_cnt: np.ndarray | None = None
        self._woken = _NO_IDS  # sorted ids of those who woke for today, not yet merged into the live list
        self.dormancy = True  # False: every applicant visited every day (the same results, slower; for tests)
        self._stream_keys: dict[str | tuple[str, ...], np.ndarray] = {}
        self._run_keys: dict[str, np.ndarray] = {}
        self._create_people()
        for proc in self.processes:
            proc.create(self)
        self.people.attrs = draw_attributes(self)  # after the households are formed (per-household attributes)
        for proc in self.processes:
            proc.setup(self)
        self.timings = {p.name: 0.0 for p in self.processes}

    # ------------------------------------------------------------------ member 0 (the one member of a plain run)

    @property
    def raw(self) -> dict:
        return self.member_raw[0]

    @raw.setter
    def raw(self, v: dict) -> None:
        self.member_raw[0] = v

    @property
    def initial_raw(self) -> dict:
        return self.member_initial_raw[0]

    @initial_raw.setter
    def initial_raw(self, v: dict) -> None:
        self.member_initial_raw[0] = v

    @property
    def params(self) -> Scenario:
        return self.member_params[0]

    @params.setter
    def params(self, v: Scenario) -> None:
        self.member_params[0] = v

    @property
    def seed(self) -> int:
        return int(self.seeds[0])

    @seed.setter
    def seed(self, v: int) -> None:
        self.seeds[0] = int(v)

    @property
    def rng(self) -> KeyedRNG:
        return self.rngs[0]

    @rng.setter
    def rng(self, v: KeyedRNG) -> None:
        self.rngs[0] = v
        self._stream_keys = {}
        self._run_keys = {}
        self._wake_all()  # the days they wake were drawn with the old keys

    @property
    def policy(self) -> Policy:
        return self.policies[0]

    @policy.setter
    def policy(self, v: Policy) -> None:
        self.policies[0] = v
        self._stack_policies()

    @property
    def record(self) -> Record:
        return self.records[0]

    @property
    def segments(self) -> list[Segment]:
        return self.member_segments[0]

    @property
    def next_group(self) -> int:
        return int(self.next_groups[0])

    @property
    def n(self) -> int:
        """People of member 0 (of the only member of a plain run)."""
        return int(self.offsets[1] - self.offsets[0])

    # ------------------------------------------------------------------ per-member parameters and draws

    def _stack_policies(self) -> None:
        """The kernels' records of every member's policies: ``place_rec[m, p]``, ``country_rec[m, c]``.
        Where the rates of abandoning an asylum wait, or the places where a post's crowd is counted,
        changed, the dormant applicants wake (:meth:`_wake_all`)."""
        old = getattr(self, "_pol_cache", None)
        self.place_rec = np.stack([p.place for p in self.policies]).view(np.recarray)
        self.country_rec = np.stack([p.country for p in self.policies]).view(np.recarray)
        self._pol_cache: dict[str, np.ndarray] = {}
        if old is not None and self._dormant and any(k in old and not np.array_equal(old[k], self.pol(k))
                                                     for k in ("abandon", "queue_at")):
            self._wake_all()

    def run_keys(self, stream: str) -> np.ndarray:
        """Every member's keys of ``stream`` on every day of the run, ``[day, member]`` (computed once
        a run): for a kernel that looks days ahead."""
        t = self._run_keys.get(stream)
        if t is None:
            t = np.zeros((self.days, self.M), dtype=np.uint64)
            for d in range(self.days):
                t[d] = self.keys(stream, d)
            self._run_keys[stream] = t
        return t

    def _wake_all(self) -> None:
        """The dormant asylum applicants (see :meth:`live`) back in the live list, the days they wake
        drawn again from today, under the rates and keys now in force; the next close leaves out
        again those with nothing due tomorrow."""
        if not self._dormant:
            return
        from travesia.engine.actions import ABANDON
        from travesia.engine.kernels import wake_kernel

        ids = self.asleep()
        self._dormant = {}
        pp = self.people
        dormant_uncount(ids, pp.member, pp.place, pp.state, pp.pop, self._dormant_cnt.shape[1] > 1, self._dormant_cnt)
        self._woken = _merge(self._woken, [ids])
        wake_kernel(ids, pp.member, self.offsets, self.day, pp.place, self.net.country, pp.until, self.pol("abandon"),
                    self.run_keys(ABANDON), pp.wake)

    def pol(self, name: str) -> np.ndarray:
        """A policy array of every member, stacked: ``sim.pol("capacity")[m, place]``."""
        a = self._pol_cache.get(name)
        if a is None:
            a = self._pol_cache[name] = np.stack([getattr(p, name) for p in self.policies])
        return a

    def per_member(self, get: Callable[[Scenario], Any], dtype=np.float64) -> np.ndarray:
        """A parameter of every member as an array: ``sim.per_member(lambda p: p.groups.split_prob)``."""
        return np.array([get(p) for p in self.member_params], dtype=dtype)

    def keys(self, stream: str, day: int) -> np.ndarray:
        """Every member's key of (its seed, ``stream``, ``day``): uint64 array over members."""
        sk = self._stream_keys.get(stream)
        if sk is None:
            sk = self._stream_keys[stream] = np.array([stream_key(r._seed_key, stream) for r in self.rngs],
                                                      dtype=np.uint64)
        return day_keys(sk, day)

    def keys_many(self, streams: tuple[str, ...], day: int) -> np.ndarray:
        """members × streams keys of ``day`` (for the kernels), in one vectorised hash."""
        sk = self._stream_keys.get(streams)
        if sk is None:
            sk = self._stream_keys[streams] = np.array([[stream_key(r._seed_key, s) for s in streams]
                                                        for r in self.rngs], dtype=np.uint64)
        return day_keys(sk, day)

    def draw_for(self, stream: str, day: int, ids: np.ndarray, members: np.ndarray | None = None) -> np.ndarray:
        """U[0,1) for each (member, id): ids are a member's own (person, group, household, place ...)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.M == 1:
            return self.rngs[0].random(stream, day, ids)
        out = np.empty(ids.shape, dtype=np.float64)
        uniform_many(self.keys(stream, day), np.asarray(members, dtype=np.int64).reshape(-1), ids.reshape(-1),
                     out.reshape(-1))
        return out

    def draw(self, stream: str, day: int, idx: np.ndarray) -> np.ndarray:
        """U[0,1) for each person ``idx`` (ids of the People arrays), keyed by their member's seed
        and their id within their member."""
        if self.M == 1:
            return self.rngs[0].random(stream, day, idx)
        m = self.people.member[idx].astype(np.int64)
        return self.draw_for(stream, day, idx - self.offsets[m], m)

    # ------------------------------------------------------------------ creation

    def _check_size(self, p: Scenario, scale: float) -> None:
        """Refuse, before allocating, a run whose people or record do not fit (say what fits)."""
        from travesia.engine.processes import make_processes
        from travesia.options import memory_budget

        n = sum(int(round(pop.size * scale)) + sum(int(round(j.size * scale)) for j in pop.joiners)
                for pop in p.populations)
        base = p.people
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
        everyone of every population of every member ``waiting`` at their origin or joining town."""
        net = self.net
        self.pop_names = [pop.name for pop in self.params.populations]
        self.member_segments: list[list[Segment]] = []
        n = 0
        offsets = [0]
        for p in self.member_params:
            segs: list[Segment] = []
            for k, pop in enumerate(p.populations):
                m = scaled_count(pop.size, self.scale)
                segs.append(Segment(k, net.index[pop.origin], n, n + m, False))
                n += m
                for j in pop.joiners:
                    m = scaled_count(j.size, self.scale)
                    segs.append(Segment(k, net.index[j.place], n, n + m, True))
                    n += m
            self.member_segments.append(segs)
            offsets.append(n)
        self.offsets = np.array(offsets, dtype=np.int64)
        self.n_all = n
        fields = merge_fields(*(proc.fields for proc in self.processes))
        people = self.people = People(n, fields)
        for m, segs in enumerate(self.member_segments):
            people.member[self.offsets[m]:self.offsets[m + 1]] = m
            for s in segs:
                sl = slice(s.start, s.stop)
                people.place[sl] = s.place
                people.origin[sl] = s.place
                people.pop[sl] = s.pop
                people.state[sl] = State.WAITING

    # ------------------------------------------------------------------ helpers for processes

    def new_groups_of(self, counts: np.ndarray) -> np.ndarray:
        """Reserve ``counts[m]`` new group ids for each member; return each member's first."""
        first = self.next_groups.copy()
        self.next_groups += np.asarray(counts, dtype=np.int64)
        return first

    def group_pace(self, groups: np.ndarray, members: np.ndarray | None = None) -> np.ndarray:
        """A group's pace multiplier (lognormal, mean 1): a pure function of (seed, group id)."""
        members = np.zeros(np.shape(groups), dtype=np.int64) if members is None else members
        sd = self.per_member(lambda p: p.groups.pace_sd)[members]
        z = normal_of(self.draw_for("groups.pace", 0, groups, members))
        return np.exp(sd * z - sd * sd / 2)

    def home_dest(self, idx: np.ndarray) -> np.ndarray:
        """Route-table index of the homes of people ``idx``."""
        return self.dest_index[self.people.origin[idx]]

    @property
    def date(self) -> dt.date:
        return self.start + dt.timedelta(days=self.day)

    def _lists(self) -> None:
        """Start the waiting and live lists (one pass over everyone, once a run)."""
        s = self.people.state
        self._waiting = np.nonzero(s == State.WAITING)[0]
        self._live = np.nonzero(s != State.WAITING)[0]  # final states leave it at the first close
        self._final = np.zeros((self.M, max(self.records[0].n_pops, 1), self.net.n_places, N_STATES), dtype=np.int64)
        self._dormant = {}  # everyone pending is live again: the next close leaves out those asleep
        self._dormant_cnt = np.zeros_like(self._final)
        self._woken = _NO_IDS

    def people_rewritten(self) -> None:
        """Call after writing the People arrays other than through the processes (copying members'
        people, editing states by hand): the live and waiting lists and the counts of people in final
        states are rebuilt from one pass over everyone."""
        self._waiting = None
        self._moving_key = (-1, -1, -1)
        self.people.joined.clear()
        self.people.entered.clear()

    def live(self) -> np.ndarray:
        """Ids (sorted, of every member) of people who have set out and are not in a final state
        (settled, returned, deported), perhaps with some who entered one today: the only people a
        daily pass needs to visit. People not yet set out and people in final states cost no time.

        Kept from day to day: people join it when ``People.set_state`` takes them out of
        ``waiting`` (or, written directly, when the day closes), and leave it when the day closes
        in a final state (:func:`~travesia.engine.record.close_scan`).

        Asylum applicants whose wait has nothing due until a later day (their ``wake``: the decision
        day, or a day they abandon the wait, drawn ahead with the day's keys when they apply,
        :func:`~travesia.engine.kernels.next_due`) are not in it in between: the day's close leaves
        them out (still counted where they wait) and they are back the day they wake. A change of
        the rates of abandoning or of the random streams (a timeline event, a particle's new
        parameters or seed) wakes them all and draws their days again.
        """
        if self._waiting is None:
            self._lists()
        joined = self.people.joined
        if joined or self._woken.size:
            self._live = _merge(self._live, [*joined, self._woken])
            joined.clear()
            self._woken = _NO_IDS
        return self._live

    def asleep(self) -> np.ndarray:
        """Ids (sorted) of the asylum applicants left out of the live list until they wake (see
        :meth:`live`): together with it, everyone set out and not in a final state."""
        parts = [a for p in self._dormant.values() for a in p]
        return np.sort(np.concatenate(parts)) if parts else _NO_IDS

    def select(self, ids: np.ndarray, *states: State) -> np.ndarray:
        """Those of ``ids`` (in order) whose state is one of ``states``."""
        out = np.empty(ids.size, dtype=np.int64)
        n = select_states(ids, self.people.state, state_mask(*states), out)
        return out[:n]

    def in_states(self, *states: State) -> np.ndarray:
        """Ids (sorted) of people now in one of ``states`` (not ``waiting`` nor a final state), found
        among the live people only: those of the live list and, apart, those who joined it or woke
        today (few of them are in the states asked for, so the live list is not merged with them).
        Asylum applicants asleep (see :meth:`live`) are not among them: nothing is due for them."""
        if self._waiting is None:
            self._lists()
        out = self.select(self._live, *states)
        if self.people.joined or self._woken.size:
            new = self.select(np.concatenate([*self.people.joined, self._woken]), *states)
            if new.size:
                out = _merge(out, [new])
        return out

    def on_the_move(self) -> np.ndarray:
        """Ids of people travelling or resting now (sorted), of every member.

        People enter these states only through ``People.set_state``, which bumps a version, and
        leave them through it or through a kernel whose process bumps ``People.changed``; so the
        list is computed once a day (from :meth:`live`), then merged with those who entered when the
        version moved, and filtered by current state when ``changed`` moved (someone may have left).
        """
        pp = self.people
        key = (self.day, pp.version, pp.changed)
        if self._moving_key[0] != self.day:  # a new day: from the live people
            self._moving = self.select(self.live(), State.TRAVELLING, State.RESTING)
            self._moving_key = key
            pp.entered.clear()
            return self._moving
        if self._moving_key == key:
            return self._moving
        idx = self._moving
        if self._moving_key[1] != pp.version:  # and those set_state put on the move since
            idx = _merge(idx, pp.entered)
            pp.entered.clear()
        if self._moving_key[2] != pp.changed:  # without those who left
            out = np.empty(idx.size, dtype=np.int64)
            n = select_states(idx, pp.state, _MOVING, out)
            idx = out[:n] if n < idx.size else idx
        self._moving = idx
        self._moving_key = key
        return idx

    def moved_on(self, idx: np.ndarray) -> None:
        """A process whose kernel took people off the move (and bumped ``People.changed``) tells which
        of :meth:`on_the_move` (as it returned them, unchanged by ``People.set_state`` since) are still
        travelling or resting: ``idx``, in order. The next :meth:`on_the_move` returns them without
        a pass over the states."""
        pp = self.people
        if self._moving_key[:2] == (self.day, pp.version) and not pp.entered:
            self._moving = idx
            self._moving_key = (self.day, pp.version, pp.changed)

    def member_counts(self) -> np.ndarray:
        """Every member's record of people per place and state, ``[member, day, place, state]`` (a view)."""
        return self._recs.counts if self._recs is not None else self.records[0].counts[None]

    def add_events(self, what: str, places: np.ndarray, idx: np.ndarray) -> None:
        """Count one event of kind ``what`` (arrived, crossed, applied, ended) of each person ``idx``
        at ``places``, in their member's record (per caravan too)."""
        if self.M == 1:
            self.records[0].add(what, places, self.people.pop[idx])
            return
        self._recs.add(what, self.people.member[idx], places, self.people.pop[idx])

    def add_arrays(self, what: str, per_member_pop_place: np.ndarray) -> None:
        """Add today's events of kind ``what`` counted by a kernel (members × caravans × places) to
        every member's record."""
        if self._recs is None:
            self.records[0].add_arrays(what, per_member_pop_place[0])
        else:
            self._recs.add_arrays(what, per_member_pop_place)

    def add_flow_counts(self, per_member_edge: np.ndarray) -> None:
        """Add today's people setting out along each edge (members × edges) to every member's record."""
        if self._recs is None:
            self.records[0].add_flow_counts(per_member_edge[0])
        else:
            self._recs.add_flow_counts(per_member_edge)

    # ------------------------------------------------------------------ the loop

    def apply_events(self) -> bool:
        """Apply the timeline's events dated up to today: every member's parameters change at the
        events' paths, and only the sections they touch are validated again
        (:func:`~travesia.scenario.load.revalidate`); the policies are compiled again where an event
        touches what they are compiled from (:attr:`Policy.SECTIONS`); every process's ``setup`` runs
        again. Returns whether any event applied."""
        today = self.date
        paths: list[tuple[str, Any]] = []
        while self.events and self.events[0].date <= today:
            paths.extend(self.events.pop(0).set.items())
        if not paths:
            return False
        for raw in self.member_raw:
            for k, v in paths:
                set_path(raw, k, v)
        sections = {k.split(".")[0] for k, _ in paths}
        for m, raw in enumerate(self.member_raw):
            keep = (raw.get("seed"), raw.get("days"))
            self.member_params[m] = revalidate(self.member_params[m], raw, sections, where="timeline")
            if (self.member_params[m].seed, self.member_params[m].days) != keep:
                raise UserError("timeline: an event may not change the seed or the number of days")
        if sections & Policy.SECTIONS:
            self.policies = [Policy(p, self.net, self.scale) for p in self.member_params]
            self._stack_policies()
        for proc in self.processes:
            proc.setup(self)
        return True

    def step(self) -> None:
        """Advance one day."""
        self.apply_events()
        for proc in self.processes:
            t0 = time.perf_counter()
            proc.step(self)
            self.timings[proc.name] += time.perf_counter() - t0
        self._close_day()
        if self.check:
            self.check_invariants()
        self.day += 1

    def _close_day(self) -> None:
        """Every member's record closes the day. The counts come from one pass over the live people
        and those still waiting (:func:`~travesia.engine.record.close_scan`); people in final
        states are counted once, on the day they enter one."""
        recs, day = self.records, self.day
        counted = all(getattr(r, "_counted_day", -1) == day for r in recs)  # a rule set counted already
        attrs_counted = all(getattr(r, "_attrs_counted_day", -1) == day for r in recs)
        if counted and not recs[0].n_pops and (not recs[0].by_attribute or attrs_counted):
            for rec in recs:
                rec.close_day(day)
            return
        pp = self.people
        if self._waiting is None:
            self._lists()
        live = self._live  # not merged with those who joined today: close_scan finds them among the waiting
        n_pops = recs[0].n_pops
        cnt = np.zeros_like(self._final)
        woken = self._woken
        out = np.empty(self._waiting.size + live.size + woken.size, dtype=np.int64)
        wout = np.empty(self._waiting.size, dtype=np.int64)
        mout = np.empty(out.size, dtype=np.int64)
        dout = np.empty(out.size, dtype=np.int64)
        wake = pp.wake if self.dormancy and "wake" in pp.fields else _NO_WAKE
        nw, nl, nm, nd = close_scan(self._waiting, live, pp.member, pp.place, pp.state, pp.pop, n_pops > 0, cnt,
                                    self._final, wout, out, mout, self.pol("queue_at"), pp.km_left, pp.flags, pp.intent,
                                    pp.origin, self.place_rec, np.empty(self._waiting.size + woken.size, dtype=np.int64),
                                    woken, wake, day, self._dormant_cnt, dout)
        self._waiting = wout[:nw]  # views: the next close writes new arrays
        self._live = out[:nl]
        if nd:  # asleep from tomorrow, by the day they wake (each part in id order)
            self.pol("abandon")  # kept, to tell whether a new policy changes it (_stack_policies)
            dorm = dout[:nd]
            w = pp.wake[dorm]
            o = np.argsort(w, kind="stable")
            ws, ds = w[o], dorm[o]
            cut = np.flatnonzero(ws[1:] != ws[:-1]) + 1
            for part, wd in zip(np.split(ds, cut), ws[np.r_[0, cut]]):
                self._dormant.setdefault(int(wd), []).append(part)
        # tomorrow's people on the move, current until set_state or a kernel changes a state
        self._moving = mout[:nm]
        self._moving_key = (day + 1, pp.version, pp.changed)
        pp.entered.clear()
        pp.joined.clear()
        cnt += self._final
        cnt += self._dormant_cnt
        due = self._dormant.pop(day + 1, None)
        self._woken = _NO_IDS
        if due:  # those with something due tomorrow wake: live again (merged into the list at the next close)
            self._woken = np.sort(np.concatenate(due))
            dormant_uncount(self._woken, pp.member, pp.place, pp.state, pp.pop, n_pops > 0, self._dormant_cnt)
        by_attr = [None] * self.M
        per: dict[str, np.ndarray] = {}
        if recs[0].by_attribute:
            here = self.select(self._live, *PRESENT)
            mem = pp.member[here].astype(np.int64)
            P = self.net.n_places
            for a, arr in recs[0].by_attribute.items():
                v = arr.shape[2]
                per[a] = np.bincount((mem * P + pp.place[here]) * v + pp.attrs[a][here],
                                     minlength=self.M * P * v).reshape(self.M, P, v)
            by_attr = [{a: c[m] for a, c in per.items()} for m in range(self.M)]
        if self._recs is not None and not counted:  # every member's record in one operation
            self._recs.close_day(day, cnt.sum(axis=1), cnt if n_pops else None, per)
            return
        for m, rec in enumerate(recs):
            rec.close_day(day, counts=None if counted else cnt[m].sum(axis=0), counts_pop=cnt[m] if n_pops else None,
                          by_attribute=by_attr[m])

    def _count_queues(self, cnt: np.ndarray) -> None:
        """People held at a post with ``queue_at`` are counted at that place, where its crowd waits
        (``cnt[member, pop, place, state]``); the engine keeps them at the post. The day's close
        counts them so (:func:`~travesia.engine.record.close_scan`); this is for a full recount."""
        pp = self.people
        queue_recount(np.concatenate([self._live, self._woken]), pp.member, pp.place, pp.state, pp.pop, cnt.shape[1] > 1, cnt, self.pol("queue_at"),
                      pp.km_left, pp.flags, pp.intent, pp.origin, self.place_rec)

    def check_invariants(self) -> None:
        """Nobody lost, nobody created: every person in exactly one state at a valid place.
        Raises :class:`~travesia.engine.core.SimulationError` (a bug, not a user error)."""
        for m, rec in enumerate(self.records):
            c = rec.counts[self.day]
            want = int(self.offsets[m + 1] - self.offsets[m])
            if int(c.sum()) != want:
                raise SimulationError(f"day {self.day}, member {m}: {int(c.sum())} people counted, {want} created")
        pp = self.people
        if self._waiting is not None:  # the counts kept without visiting everyone are everyone's
            n_pops = max(self.records[0].n_pops, 1)
            key = (pp.member.astype(np.int64) * n_pops + (pp.pop if n_pops > 1 else 0)) * self.net.n_places + pp.place
            full = np.bincount(key * N_STATES + pp.state, minlength=self._final.size).reshape(self._final.shape)
            self._count_queues(full)  # counted where their post's crowd waits
            for m, rec in enumerate(self.records):
                if getattr(rec, "_counted_day", -1) != self.day and not np.array_equal(full[m].sum(axis=0),
                                                                                        rec.counts[self.day]):
                    raise SimulationError(f"day {self.day}, member {m}: the day's counts differ from a full recount "
                                          "(did someone leave a final state?)")
        if pp.state.max(initial=0) >= N_STATES:
            raise SimulationError(f"day {self.day}: a state number out of range")
        if pp.place.min(initial=0) < 0 or pp.place.max(initial=0) >= self.net.n_places:
            raise SimulationError(f"day {self.day}: a place index out of range")
        if self._moving_key == (self.day, pp.version, pp.changed):  # a process wrote states unannounced?
            s = pp.state
            if not np.array_equal(self._moving, np.nonzero((s == State.TRAVELLING) | (s == State.RESTING))[0]):
                raise SimulationError(f"day {self.day}: people left travelling/resting without People.set_state "
                                      "or a bump of People.changed")
        if not np.all(pp.next[pp.km_left > 0] >= 0):
            raise SimulationError(f"day {self.day}: someone on a leg with no place ahead")

    # ------------------------------------------------------------------ saving and restoring

    _SHARED = ("loaded", "net", "routes", "dest_places", "dest_index", "via_table", "n_via", "pop_dest", "member_pop_dest",
               "member_segments", "pop_names", "start", "member_initial_raw", "offsets")

    def save_state(self) -> dict:
        """Everything that changes as the run goes on (people, records, policies, parameters in
        force, timeline position, the processes' own arrays, group counters, day), as a deep copy:
        :meth:`restore_state` continues from it with the same bytes as an uninterrupted run.
        The scenario, network and route table are shared, not copied (they never change)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._SHARED}

    def restore_state(self, state: dict) -> None:
        """Go back to a state from :meth:`save_state` (of this Sim or of one built the same way)."""
        for k, v in state.items():
            setattr(self, k, copy.deepcopy(v))
        if self._recs is not None:
            self.records = self._recs.relink(self.records)

    def run(self, progress: Callable[[int, int], None] | None = None) -> "Result":
        """Advance to the last day (from wherever the run is).

        The objects that exist when the run starts (modules, the scenario, the simulation's own)
        are kept out of Python's cyclic garbage collector while it goes on (``gc.freeze``; unless
        the caller froze some already): its full collections, triggered by the day's allocations
        (the timeline's parameter checks make many), would visit them all each time, for nothing.
        """
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            t0 = time.perf_counter()
            while self.day < self.days:
                self.step()
                if progress is not None:
                    progress(self.day, self.days)
            wall = time.perf_counter() - t0
        finally:
            if freeze:
                gc.unfreeze()
        return Result(sim=self, wall_s=wall)

    def member_result(self, m: int, wall_s: float = 0.0) -> "Result":
        """The result of member ``m`` (its record, parameters and people)."""
        return Result(sim=self, wall_s=wall_s, member=m)


def _merge(ids: np.ndarray, more: list[np.ndarray]) -> np.ndarray:
    """The sorted ids ``ids`` with those of ``more`` added (each once)."""
    new = np.sort(np.concatenate(more))
    new = new[np.r_[True, new[1:] != new[:-1]]]
    if ids.size == 0:
        return new
    out = np.empty(ids.size + new.size, dtype=np.int64)
    return out[:merge_sorted(ids, new, out)]


_NO_WAKE = np.zeros(0, dtype=np.int16)  # a rule set without asylum: nobody sleeps
_NO_IDS = np.zeros(0, dtype=np.int64)


def member_setup(loaded: LoadedScenario, seed: int | None, overrides: dict[str, Any], days: int | None,
                 where: str | None = None) -> tuple[dict, Scenario]:
    """A member's raw parameters (the scenario's, with ``overrides`` set at their paths and ``seed``
    and ``days`` where given) and their validation (errors located at ``where``). The tree shares
    its unchanged branches with the scenario's: it is changed only through
    :func:`~travesia.scenario.load.set_path`, which copies what it changes."""
    raw = dict(loaded.raw)
    for k, v in overrides.items():
        set_path(raw, k, v)
    if seed is not None:
        raw["seed"] = int(seed)
    if days is not None:
        raw["days"] = int(days)
    return raw, validate_params(raw, where=where or ("scenario" if not overrides else f"member ({overrides})"))


def structure_key(p: Scenario) -> str:
    """What members advanced together must share: everything but the numbers each member may have
    its own (probabilities, rates, km, capacities, sizes ...). Two members with the same key can
    run in one batch."""
    pops = [(q.name, q.origin, sorted(q.destinations), list(q.via), str(q.start),
             [j.place for j in q.joiners]) for q in p.populations]
    return json.dumps({
        "rules": p.rules, "days": p.days, "start": str(p.start), "populations": pops,
        "route_detour_km": p.movement.route_detour_km, "rally_points": list(p.groups.rally_points),
        "buses": [(b.place, str(b.start), str(b.end)) for b in p.buses],
        "timeline": [(str(e.date), sorted(e.set)) for e in p.timeline],
        "attributes": {k: a.model_dump(mode="json") for k, a in p.attributes.items()},
        "crossings": sorted(p.crossings), "countries": sorted(p.countries),
        "permits": {k: (v.country, list(v.places), v.holders) for k, v in p.permits.items()},
    }, sort_keys=True, default=str)


@dataclass
class Result:
    """The outcome of a run: the record and what is needed to read it."""

    sim: Sim
    wall_s: float
    extra: dict = field(default_factory=dict)
    member: int = 0  # which member of the Sim (0 for a plain run)

    @property
    def record(self) -> Record:
        return self.sim.records[self.member]

    @property
    def net(self) -> Network:
        return self.sim.net

    @property
    def params(self) -> Scenario:
        return self.sim.member_params[self.member]

    @property
    def live_agent_steps(self) -> int:
        """Person-days of people who exist and have set out: on each day, everyone not ``waiting``
        at the end of the day (people in final states included: they exist and are counted)."""
        c = self.record.counts
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
