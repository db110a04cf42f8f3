"""Members advanced together: a member's result in a batch is byte-identical to its run alone."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from travesia.engine.sim import Sim
from travesia.errors import UserError
from travesia.ensemble.priors import draw, scenario_priors
from travesia.ensemble.runner import MemberSpec, RunConfig, member_scenario, run_member, run_together
from travesia.scenario.load import load_scenario

SCALE, DAYS = 0.25, 45  # past the built-in timeline's first events (exit-only rule, rides blocked ...)


@pytest.fixture(scope="module")
def base():
    return load_scenario("caravan-2018")


def _valid(base, params) -> bool:
    try:
        member_scenario(base, params)
        return True
    except UserError:  # a draw the scenario refuses (e.g. a caravan's core larger than its size)
        return False


@pytest.fixture(scope="module")
def members(base):
    pri = scenario_priors(base, "caravan-2018", need="ensemble")
    draws = (draw(pri, 7, i) for i in range(1000))
    out = [(100 + i, d) for i, d in enumerate(d for d in draws if _valid(base, d))][:14]
    # one member at the priors' lower bounds, one at their upper bounds (each bound the scenario accepts)
    for side in ("low", "high"):
        vals: dict = {}
        for k, p in pri.items():
            v = int(getattr(p, side)) if p.integer else float(getattr(p, side))
            if _valid(base, {**vals, k: v}):
                vals[k] = v
        out.append((900 + len(out), vals))
    return out


def _arrays(rec):
    out = [rec.counts, rec.flows, *(rec.cum[k] for k in sorted(rec.cum))]
    if rec.n_pops:
        out += [rec.counts_pop, *(rec.cum_pop[k] for k in sorted(rec.cum_pop))]
    return out


def _logs(sim, m: int) -> tuple[str, str]:
    """Member ``m``'s plans.csv and offers.csv, as written."""
    from travesia.output import offers_frame, plans_frame

    res = sim.member_result(m)
    return tuple(None if f is None else f.to_csv() for f in (plans_frame(res), offers_frame(res)))


def test_each_member_of_a_batch_of_16_is_byte_identical_to_its_run_alone(base, members):
    assert len(members) == 16
    assert base.params.timeline and (base.params.timeline[0].date - base.params.start).days < DAYS
    batch = Sim(base, members=members, days=DAYS, scale=SCALE, check=True)  # check: nobody lost, per member
    batch.run()
    sizes = np.diff(batch.offsets)
    assert len(set(sizes.tolist())) > 1  # members of different sizes, side by side
    made = 0
    for m, (seed, params) in enumerate(members):
        alone = Sim(member_scenario(base, params), seed=seed, days=DAYS, scale=SCALE)
        alone.run()
        for a, b in zip(_arrays(alone.record), _arrays(batch.records[m])):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"member {m}"
        # the collective caravan: the same plans (holds, stages, route decisions) and transport offers
        logs = _logs(batch, m)
        assert _logs(alone, 0) == logs, f"member {m}"
        made += logs[1] is not None
        sl = slice(batch.offsets[m], batch.offsets[m + 1])
        for f in ("place", "state", "group", "household", "dest", "flags"):
            assert np.array_equal(getattr(alone.people, f), getattr(batch.people, f)[sl]), (m, f)
        # conservation, per member: every day's counts add up to the member's people
        c = batch.records[m].counts.sum(axis=(1, 2))
        assert (c == sizes[m]).all()
    assert made >= 8, "most members had transport offers"


def test_the_runner_groups_members_by_structure_and_gives_their_solo_vectors(base, monkeypatch):
    from travesia.engine import sim as sim_mod

    built = []
    monkeypatch.setattr(sim_mod.Sim, "__init__", _counting(sim_mod.Sim.__init__, built))
    _runner_check(base)
    # the three members of one structure advance together, the fourth alone; then one run per member
    assert built[:2] == [3, 1]


def _counting(init, built):
    def wrapped(self, *a, **kw):
        built.append(len(kw["members"]) if kw.get("members") else 1)
        init(self, *a, **kw)
    return wrapped


def _runner_check(base):
    pri = scenario_priors(base, "caravan-2018", need="ensemble")
    specs = [MemberSpec(i, 50 + i, draw(pri, 3, i)) for i in range(3)]
    # a member whose routes differ (another structure) runs in its own simulation
    specs.append(MemberSpec(3, 53, {**draw(pri, 3, 3), "movement.route_detour_km": 30.0}))
    cfg = RunConfig(days=20, scale=0.1, quantities=("present", "arrived"))
    got = run_together(base, specs, cfg)
    assert [m for m, _ in got] == [0, 1, 2, 3]
    for (_, v), s in zip(got, specs):
        assert np.array_equal(v, run_member(base, s, cfg))


def test_a_batch_saved_and_restored_continues_with_the_same_bytes(base, members):
    whole = Sim(base, members=members[:4], days=30, scale=0.1)
    whole.run()
    part = Sim(base, members=members[:4], days=30, scale=0.1)
    for _ in range(12):
        part.step()
    state = part.save_state()
    part.run()
    part.restore_state(state)
    part.run()
    for m in range(4):
        assert all(np.array_equal(a, b) for a, b in zip(_arrays(whole.records[m]), _arrays(part.records[m])))
        assert _logs(whole, m) == _logs(part, m)


def test_rule_sets_that_cannot_batch_say_so(tmp_path):
    from pathlib import Path

    from travesia.flee.convert import import_flee

    sc = load_scenario(import_flee(Path(__file__).parent / "data" / "flee_mali2012", tmp_path / "m")["out"])
    with pytest.raises(ValueError, match="cannot advance members together"):
        Sim(sc, members=[(1, {}), (2, {})], days=5, scale=0.01)


def test_the_timeline_gives_every_member_the_parameters_and_policies_of_a_full_validation(base, members):
    """An event validates again only the sections it touches and compiles the policies again only
    where it touches what they are compiled from: every member's parameters and policies, on every
    event date, are those a full validation of its parameter tree and a fresh compilation give."""
    from travesia.engine.policy import Policy
    from travesia.scenario.load import validate_params

    sim = Sim(base, members=[(s, p) for s, p in members[:4] + members[-2:]], days=DAYS, scale=SCALE)
    dates = sorted({e.date for e in sim.events})
    assert len(dates) >= 5
    while sim.events:
        sim.day = (sim.events[0].date - sim.start).days
        assert sim.apply_events()
        for m, raw in enumerate(sim.member_raw):
            full = validate_params(raw, where="timeline")
            assert sim.member_params[m] == full
            assert sim.member_params[m].model_dump() == full.model_dump()
            fresh, kept = Policy(full, sim.net, sim.scale), sim.policies[m]
            for k, v in vars(fresh).items():
                assert np.array_equal(getattr(kept, k), v), (sim.date, m, k)


def test_members_parameter_trees_share_branches_but_events_change_no_other_tree(base, members):
    """A member's tree shares its unchanged branches with the scenario's (no deep copy per member);
    an event, a member's overrides and a particle's new parameters are set by copying what they
    change, so the scenario's tree, the other members' and each member's tree at the start stay as
    they were."""
    import copy

    from travesia.scenario.load import set_path

    before = copy.deepcopy(base.raw)
    sim = Sim(base, members=[(s, p) for s, p in members[:3]], days=DAYS, scale=SCALE)
    assert sim.member_raw[0]["sources"] is base.raw["sources"]  # shared, not copied
    starts = [copy.deepcopy(r) for r in sim.member_initial_raw]
    while sim.events:
        sim.day = (sim.events[0].date - sim.start).days
        sim.apply_events()
    assert base.raw == before
    assert [r for r in sim.member_initial_raw] == starts
    path = next(iter(sim.params.timeline[0].set))  # a path the timeline changed: the trees now differ there
    assert sim.member_raw[0] != sim.member_initial_raw[0]
    set_path(sim.member_raw[1], path, "changed")
    assert sim.member_raw[0] != sim.member_raw[1] and base.raw == before
    # a list item by name, and a branch not there yet
    tree = {"populations": [{"name": "a", "size": 1}], "countries": None}
    other = {"populations": tree["populations"], "countries": None}
    set_path(tree, "populations.a.size", 2)
    set_path(tree, "countries.Mexico.rides_blocked", True)
    assert tree == {"populations": [{"name": "a", "size": 2}], "countries": {"Mexico": {"rides_blocked": True}}}
    assert other == {"populations": [{"name": "a", "size": 1}], "countries": None}


def test_asylum_applicants_asleep_change_nothing_even_when_rates_and_seeds_change(base, members):
    """Applicants with nothing due until a later day leave the daily passes (Sim.live): the same
    bytes as visiting them every day, in a batch with the priors' extremes, when an event changes
    the rate of abandoning the wait mid-run (from 0: nobody abandons, to a high rate), and when a
    particle's state continues on a new seed (the days they wake are drawn again)."""
    from travesia.engine.rng import KeyedRNG
    from travesia.scenario.schema import Event

    def run(dormancy: bool, branch_at: int | None = None) -> Sim:
        sim = Sim(base, members=members[-4:], days=DAYS, scale=SCALE, check=True)
        sim.dormancy = dormancy
        d0 = sim.start + dt.timedelta(days=20)
        sim.events = sorted([*sim.events,
                             Event(date=sim.start + dt.timedelta(days=5),
                                   set={"countries.Mexico.asylum.abandon_per_day": 0.0}),
                             Event(date=d0, set={"countries.Mexico.asylum.abandon_per_day": 0.2})],
                            key=lambda e: e.date)
        sim.slept = []  # applicants asleep after each day's close
        while sim.day < sim.days:
            if sim.day == branch_at:
                sim.rng = KeyedRNG(12345)  # member 0 continues on a new seed (filter.branch)
            sim.step()
            sim.slept.append(sum(a.size for p in sim._dormant.values() for a in p))
        return sim

    for branch_at in (None, 30):
        asleep, awake = run(True, branch_at), run(False, branch_at)
        for m in range(4):
            assert all(np.array_equal(a, b) for a, b in zip(_arrays(asleep.records[m]), _arrays(awake.records[m])))
        assert np.array_equal(asleep.people.state, awake.people.state)
        # thousands slept while nobody abandoned (days 5-19), fewer under the high rate; nobody in the reference
        assert min(asleep.slept[12:19]) > 1000 and max(asleep.slept[25:]) < max(asleep.slept[12:19])
        assert max(awake.slept) == 0
