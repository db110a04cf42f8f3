"""Movement: on foot, by hitch-hiked rides, by buses; route choice toward each person's destination.

Each day every person on the move who is not held at a border post, waiting at a rally point
or resting gets a distance budget for one mode:

- **bus**: a bus service (``buses``) leaving their place today takes up to ``seats_per_day``
  (first come first served) ``km`` along their route; anyone may also take a bus on their own
  with chance ``solo_bus_prob`` (``bus_km_per_day``) — they run ahead of their group;
- **ride**: with chance ``ride_prob · (1 − ride_block_share)`` a group gets rides that day (not
  where the country's police stop trucks, ``rides_blocked``): up to ``ride_km_per_day``, the
  group's draw scaling it between 30 % and 100 %; a day of rides ends at the first rally point
  reached after a day's walking distance (the trucks drop people where the caravan stops);
- **foot**: the person's walking distance, no more than their group's pace allows.

A group rests with chance ``rest_prob`` (``shelter_rest_prob`` at a shelter); with chance
``groups.cohesion`` it follows its caravan's collective decision of the day instead of its own.
People then move leg by leg: at a place they choose the next leg toward their destination (see
:mod:`travesia.network`), stop at a border post not yet cleared, at their destination (``arrived``)
or at home (``returned``); a leg that does not allow their mode ends their day there. Walkers
who have already walked today do not start a leg they cannot finish (``stage_walking``): they
sleep in a town, not by the road. People on a leg when the day ends count at the place they left.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.core import BUS, FOOT, RIDE, State, record, scaled_count
from travesia.engine.people import Field
from travesia.engine.processes.base import Process
from travesia.network import MODE_BITS

_MODE_BIT = np.array([MODE_BITS["foot"], MODE_BITS["ride"], MODE_BITS["bus"]], dtype=np.uint8)
MAX_HOPS = 256
_ROUTE = tuple(f"movement.route{h}" for h in range(MAX_HOPS))  # the route choice at the h-th place of a day
_DECIDE = ("movement.rest", "movement.cohesion", "movement.ride", "movement.ride_km", "movement.solo_bus")
__all__ = ["Movement", "FOOT", "RIDE", "BUS", "MAX_HOPS"]


class Movement(Process):
    name = "movement"
    params = "movement, buses, groups.cohesion"
    fields = {"km_today": Field(np.float32, 0, "km moved today (checked against each mode's limit)")}
    reads = ("state", "place", "next", "km_left", "dest", "wp", "pop", "speed", "group", "flags", "intent", "origin",
             "since")
    writes = ("place", "next", "km_left", "state", "since", "flags", "km_today", "wp")

    _prev_state: np.ndarray

    def setup(self, sim) -> None:
        m = self.m = sim.params.movement
        self.par = record(
            kernels.MOVE_PAR, rest_prob=m.rest_prob, shelter_rest_prob=m.shelter_rest_prob,
            cohesion=sim.params.groups.cohesion, ride_prob=m.ride_prob * (1.0 - m.ride_block_share),
            ride_km=m.ride_km_per_day, solo_bus_prob=m.solo_bus_prob, bus_km=m.bus_km_per_day,
            foot_km=m.foot_km_per_day, max_foot_km=m.max_foot_km_per_day, stage_walking=bool(m.stage_walking))

    def step(self, sim) -> None:
        pp = sim.people
        idx = sim.on_the_move()
        if idx.size == 0:
            return
        pp.km_today[idx] = 0
        self._prev_state = pp.state[idx].copy()
        g = self._group_draws(sim)
        stay, mode, budget = self._decide(sim, idx, g)
        pp.state[idx[stay]] = State.RESTING
        movers = idx[~stay]
        mode, budget = mode[~stay], budget[~stay]
        if movers.size:
            self._organised_buses(sim, movers, mode, budget)
            self._advance(sim, movers, budget, mode)
        moved = pp.km_today[idx] > 0
        st = pp.state[idx]
        done = (st == State.TRAVELLING) | (st == State.RESTING)
        pp.state[idx[done & moved]] = State.TRAVELLING
        pp.state[idx[done & ~moved]] = State.RESTING
        self._fix_since(sim, idx)

    def _group_draws(self, sim) -> dict:
        """Today's draws for every group id (and every caravan): a group decides together."""
        day = sim.day
        G = np.arange(max(sim.next_group, 1))
        return {
            "rest": sim.rng.random("movement.rest", day, G),
            "cohesion": sim.rng.random("movement.cohesion", day, G),
            "ride": sim.rng.random("movement.ride", day, G),
            "ride_km": sim.rng.random("movement.ride_km", day, G),
            "pace": sim.group_pace(G),
            "caravan": sim.rng.random("movement.rest_caravan", day, np.arange(max(len(sim.pop_names), 1))),
        }

    def _decide(self, sim, idx, g):
        pp, pol = sim.people, sim.policy
        keys = sim.rng.day_keys(_DECIDE, sim.day)
        stay = np.zeros(idx.size, dtype=np.bool_)
        mode = np.zeros(idx.size, dtype=np.int8)
        budget = np.zeros(idx.size, dtype=np.float64)
        kernels.decide_kernel(idx, keys, self.par, g["rest"], g["cohesion"], g["ride"], g["ride_km"], g["pace"],
                              g["caravan"], pp.place, pp.km_left, pp.flags, pp.intent, pp.origin, pp.group, pp.pop,
                              pp.speed, pol.place, pol.country, stay, mode, budget)
        return stay, mode, budget

    def _organised_buses(self, sim, movers, mode, budget) -> None:
        """Buses leaving a place today take the first ``seats_per_day`` there (by arrival day)."""
        pp, net, day = sim.people, sim.net, sim.day
        for b in sim.params.buses:
            if not (b.start <= sim.date <= b.end):
                continue
            at_b = np.nonzero((pp.place[movers] == net.index[b.place]) & (pp.km_left[movers] == 0))[0]
            seats = scaled_count(b.seats_per_day, sim.scale)
            if at_b.size == 0 or seats <= 0:
                continue
            tie = sim.rng.random("movement.bus_seat", day, movers[at_b])
            order = np.lexsort((tie, pp.since[movers[at_b]]))
            take = at_b[order[:seats]]
            mode[take] = BUS
            budget[take] = b.km

    def _fix_since(self, sim, idx: np.ndarray) -> None:
        """``since`` marks the day a state began: keep it where the state did not change."""
        pp = sim.people
        changed = pp.state[idx] != self._prev_state
        pp.since[idx[changed]] = sim.day

    def _advance(self, sim, who: np.ndarray, budget: np.ndarray, mode: np.ndarray) -> None:
        """Move people ``who`` along their routes with km ``budget`` by ``mode``."""
        pp, pol, net, rt, rec = sim.people, sim.policy, sim.net, sim.routes, sim.record
        keys = sim.rng.day_keys(_ROUTE, sim.day)
        flows = np.zeros(net.n_edges, dtype=np.int64)
        shape = (max(len(sim.pop_names), 1), net.n_places)
        arrived, crossed, ended = (np.zeros(shape, dtype=np.int64) for _ in range(3))
        kernels.advance_kernel(
            who, budget, mode, self.par, keys, pp.place, pp.next, pp.km_left, pp.dest, pp.wp, pp.pop, pp.intent,
            pp.flags, pp.origin, pp.state, pp.km_today, rt.dests, rt.cum, rt.hop, net.e_to, net.e_km, net.e_modes,
            _MODE_BIT, pol.place, sim.via_table, sim.n_via, flows, arrived, crossed, ended)
        rec.add_flows_counts(flows)
        rec.add_arrays("arrived", arrived)
        rec.add_arrays("crossed", crossed)
        rec.add_arrays("ended", ended)
