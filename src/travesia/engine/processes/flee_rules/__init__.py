"""Rule set ``flee``: FLEE 3.1's movement model (``rules: flee`` in scenario.yaml).

The whole rule set lives in this package: the processes (here), FLEE's day-by-day schedule and
movement kernel (:mod:`.model`), its parameters (:mod:`.params`) and its daily counts and
injection (:mod:`.counts`). It imports only the engine; the FLEE importer
(:mod:`travesia.flee`) writes scenarios for it.

A day, in FLEE's order (conflict zones and closures of the day are already in the schedule of
:func:`.model.build_schedule`):

1. ``flee.injection``  people set out from WAITING: each population's ``core`` on its start day
                       (the camps' day-0 counts), the rest day by day as FLEE injects displaced
                       people at their conflict zone (the daily increase of the counts, shared
                       among conflict zones by population × intensity × conflict decay);
2. ``flee.movement``   FLEE's ``evolve``: leave with the location's move chance, choose a route
                       by distance and destination score, travel up to ``max_move_speed`` a day,
                       possibly across several links (:func:`.model.move_day`).

States: on a link TRAVELLING (counted at the place left), at a camp ARRIVED, anywhere else
RESTING; not yet displaced WAITING. Nobody leaves the network, so the counts add up to the
people created on every day.

Parameters: the ``flee:`` section (:class:`.params.FleeParams`), FLEE's own names.
Reads/writes People ``place, next, km_left, state, flags, since, until``; owns ``edge, recent, rem,
rem_len`` (see :mod:`.model`). Records ``arrived`` at every place reached and the
flows along every link.

How FLEE's injection maps onto travesia's fixed set of people: ``import-flee`` creates one
population per conflict zone, sized by what the zone receives over the run; the injection
process releases each population's people on the days FLEE would inject them (scaled with
``--scale``; a changed size keeps the shape of the zone's schedule).
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import PRESENT, SimulationError
from travesia.engine.people import N_STATES, Field, State
from travesia.engine.processes import register_ruleset
from travesia.engine.processes.base import Process
from travesia.errors import UserError
from travesia.engine.processes.flee_rules import model as fm
from travesia.engine.processes.flee_rules.params import flee_params


class FleeState:
    """What both flee processes share for one run (kept in ``sim.shared["flee"]``)."""

    relist_daily = False  # True: find who has something to do among everyone live every day (the reference)

    def __init__(self, sim):
        self.params_id = None
        self.fp = None
        self.sched: fm.Schedule | None = None
        n = sim.n
        self.edge = np.full(n, -1, dtype=np.int32)
        self.recent = np.zeros(n, dtype=np.float32)
        self.rem_len = np.zeros(n, dtype=np.uint8)
        self.rem = np.zeros((1, 1), dtype=np.int32)  # grown to (n, longest route - 1) when routes are longer
        self.count = np.zeros(sim.net.n_places, dtype=np.int64)
        self.released = np.zeros(len(sim.segments), dtype=np.int64)  # each population's first ids set out
        self.seg_lo = np.array([g.start for g in sim.segments], dtype=np.int64)
        self.seg_place = np.array([g.place for g in sim.segments], dtype=np.int64)
        self.seg_n = np.array([g.stop - g.start for g in sim.segments], dtype=np.int64)
        self.targets: list[np.ndarray] = []
        pp, P = sim.people, sim.net.n_places
        self.hist = np.zeros(P * N_STATES, dtype=np.int32)  # the day's people per place × state (the kernel's)
        # people present per place × value of each attribute: kept up to date by the kernels as
        # people set out or change place (not recounted each day)
        self.attr_names = list(pp.attrs)
        nv = [len(sim.params.attributes[a].values) for a in self.attr_names]
        self.attr_nv = np.array(nv, dtype=np.int64)
        self.attr_off = np.concatenate([[0], np.cumsum(self.attr_nv * P)]).astype(np.int64)
        self.attrs = (np.stack([pp.attrs[a] for a in self.attr_names]) if self.attr_names
                      else np.zeros((0, n), dtype=np.uint8))
        present = np.isin(pp.state, PRESENT)
        self.attr_hist = np.concatenate(
            [np.bincount(pp.place[present].astype(np.int64) * v + pp.attrs[a][present], minlength=P * v)
             for a, v in zip(self.attr_names, nv)] + [np.zeros(0, np.int64)]).astype(np.int32)
        self.trav = np.zeros(n, dtype=np.uint32)  # the day's travellers (kernel scratch; unsigned: indexing by it needs no wrap-around)
        # who has something to do, kept from day to day (model.list_active): the list, the
        # wake-up lists by day (filled as people in camps draw the day they leave), [day, valid,
        # length], each population's people released as of the list
        self.act = np.zeros(n, dtype=np.uint32)
        self.wake_next = np.full(n, fm.NOT_LISTED, dtype=np.int32)
        self.wake_head = np.full(sim.days + 1, -1, dtype=np.int32)
        self.act_meta = np.zeros(3, dtype=np.int64)
        self.live_prev = np.zeros(len(sim.segments), dtype=np.int64)

    def refresh(self, sim) -> None:
        if self.params_id == id(sim.params):
            return
        self.params_id = id(sim.params)
        self.act_meta[1] = 0  # (new parameters: the list is found afresh)
        self.fp = flee_params(sim.params.flee)
        self.sched = fm.build_schedule(self.fp, sim.net, sim.days, sim.start)
        self.bases = [fm.route_base(r, self.fp) for r in self.sched.routes]
        L = self.sched.routes[0].path.shape[1] if self.sched.routes else 1
        if L > 1 and (self.rem.shape[0] < sim.n or self.rem.shape[1] < L - 1):
            rem = np.zeros((sim.n, L - 1), dtype=np.int32)
            if self.rem.shape[0] == sim.n:
                rem[:, : self.rem.shape[1]] = self.rem
            self.rem = rem
        maxdeg = max([int(np.diff(r.ptr).max(initial=0)) for r in self.sched.routes] + [1])
        self.scratch = np.zeros(maxdeg, dtype=np.float64)
        self.capacity = np.where(self.sched.capacity >= 0, self.sched.capacity * sim.scale, -1.0)
        camp = self.sched.is_camp
        self.camp_changed = np.r_[False, (camp[1:] != camp[:-1]).any(axis=1)] if len(camp) else np.zeros(0, bool)
        s = self.sched
        self.weights = [fm.route_weights(s.routes[s.epoch[d]], self.bases[s.epoch[d]], s.score[d], self.fp)
                        for d in range(sim.days)]
        self.keys = [fm.key_for_day(sim.seed, d) for d in range(sim.days)]
        self.stay_keys = [fm.key_for_day(sim.seed, d, "flee.stay") for d in range(sim.days)]
        self.hazard = fm.camp_hazard(s.movechance)
        fp = self.fp  # the kernel's scalar parameters
        self.capbuf, self.wpow, self.uniform = float(fp.capacity_buffer), float(fp.weight_power), fp.awareness_level == 0
        self.speed, self.walk_speed, self.start_on_foot = float(fp.max_move_speed), float(fp.max_walk_speed), bool(fp.start_on_foot)
        self.avoid_short, self.max_hops = bool(fp.avoid_short_stints), int(fp.max_hops_per_day)
        self._targets(sim)

    def _targets(self, sim) -> None:
        """Cumulative number of each segment's people released by the end of each day."""
        s = self.sched
        zpos = {int(z): j for j, z in enumerate(s.zones)}
        D = sim.days
        self.targets = []
        for seg in sim.segments:
            if seg.joiner:
                raise UserError("rules: flee does not use joiners; remove 'joiners' from the populations")
            pop = sim.params.populations[seg.pop]
            m = seg.stop - seg.start
            core = min(int(round(pop.core * sim.scale)), m)
            s0 = (pop.start - sim.start).days
            rest = m - core
            t = np.zeros(D, dtype=np.int64)
            if seg.place in zpos and rest > 0:
                zc = s.zone_cum[:, zpos[seg.place]].astype(np.float64)
                frac = zc / zc[-1] if zc[-1] > 0 else np.ones(D)
                t[:] = core + np.floor(rest * frac + 0.5).astype(np.int64)
            else:
                t[:] = m
            t[:max(s0, 0)] = 0
            self.targets.append(np.minimum(t, m))
        self.target_days = np.stack(self.targets) if self.targets else np.zeros((0, D), dtype=np.int64)


def flee_state(sim) -> FleeState:
    st = sim.shared.get("flee")
    if st is None:
        st = sim.shared["flee"] = FleeState(sim)
    st.refresh(sim)
    return st


class FleeInjection(Process):
    """Release people from WAITING on the days FLEE injects them (see the module docstring)."""

    name = "flee.injection"
    params = "flee"
    reads = ("state",)
    writes = ("state", "since")

    def setup(self, sim) -> None:
        flee_state(sim)

    def step(self, sim) -> None:
        st = flee_state(sim)
        d = sim.day
        pp = sim.people
        fm.release_day(d, st.target_days, st.released, st.seg_lo, st.seg_place, st.sched.is_camp, pp.state,
                       pp.since, st.count, st.attrs, st.attr_off, st.attr_nv, st.attr_hist)


class FleeMovement(Process):
    """FLEE's daily movement (see :mod:`.model`)."""

    name = "flee.movement"
    params = "flee"
    fields = {"until": Field(np.int16, -1, "day someone in a camp leaves it (model.NEVER: not in this run); -1 none")}
    reads = ("place", "next", "km_left", "state", "flags", "since", "until")
    writes = ("place", "next", "km_left", "state", "flags", "since", "until")

    def setup(self, sim) -> None:
        flee_state(sim)

    def step(self, sim) -> None:
        st = flee_state(sim)
        s, net, pp = st.sched, sim.net, sim.people
        d = sim.day
        if st.camp_changed[d]:
            at = (pp.state == State.RESTING) | (pp.state == State.ARRIVED)
            pp.state[at] = np.where(s.is_camp[d][pp.place[at]], State.ARRIVED, State.RESTING).astype(np.uint8)
            pp.until[at] = -1  # a place that became a camp: its people draw their stay afresh
            st.act_meta[1] = 0  # (and the list of who has something to do is found afresh)
        if st.relist_daily:
            st.act_meta[1] = 0
        r = s.routes[s.epoch[d]]
        rec = sim.record
        flows, arrivals, hist = rec.flows_today(), rec.today("arrived"), st.hist  # the kernel adds to the first two, fills the third
        fm.run_move_day(
            d, st.keys[d], st.stay_keys[d], st.hazard, pp.place, pp.next, pp.km_left, pp.state, pp.flags, pp.since,
            pp.until, st.edge, st.recent, st.rem, st.rem_len, st.count, flows, arrivals,
            net.indptr, net.e_to, net.e_km, s.edge_open, s.last_closed, s.movechance, s.is_town, s.is_camp,
            st.capacity, st.capbuf, r.ptr, r.end, st.weights[d], r.edge, r.path, r.length, st.wpow, st.uniform,
            st.speed, st.walk_speed, st.start_on_foot, st.avoid_short, st.max_hops, st.scratch, hist, N_STATES,
            st.seg_lo, st.seg_n, st.seg_place, st.released, st.trav, st.attrs, st.attr_off, st.attr_nv, st.attr_hist,
            st.act, st.wake_head, st.wake_next, st.act_meta, st.live_prev)
        rec.set_counts(d, hist)
        for a, name in enumerate(st.attr_names):
            rec.set_by_attribute(d, name, st.attr_hist[st.attr_off[a]:st.attr_off[a + 1]])
        if sim.check:
            pp = sim.people
            if not np.array_equal(hist, np.bincount(pp.place.astype(np.int64) * N_STATES + pp.state,
                                                    minlength=hist.size)):
                raise SimulationError(f"day {d}: the flee kernel's counts by place and state drifted")


FLEE: tuple[type[Process], ...] = (FleeInjection, FleeMovement)
register_ruleset("flee", FLEE)
