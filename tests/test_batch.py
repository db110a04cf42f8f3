"""Members advanced together: a member's result in a batch is byte-identical to its run alone."""

from __future__ import annotations

import numpy as np
import pytest

from travesia.engine.sim import Sim
from travesia.ensemble.priors import draw, scenario_priors
from travesia.ensemble.runner import MemberSpec, RunConfig, member_scenario, run_member, run_together
from travesia.scenario.load import load_scenario

SCALE, DAYS = 0.25, 45  # past the built-in timeline's first events (exit-only rule, rides blocked ...)


@pytest.fixture(scope="module")
def base():
    return load_scenario("caravan-2018")


@pytest.fixture(scope="module")
def members(base):
    pri = scenario_priors(base, "caravan-2018", need="ensemble")
    out = [(100 + i, draw(pri, 7, i)) for i in range(14)]
    # one member at the priors' lower bounds, one at their upper bounds
    for side in ("low", "high"):
        vals = {k: (int(getattr(p, side)) if p.integer else float(getattr(p, side))) for k, p in pri.items()}
        out.append((900 + len(out), vals))
    return out


def _arrays(rec):
    out = [rec.counts, rec.flows, *(rec.cum[k] for k in sorted(rec.cum))]
    if rec.n_pops:
        out += [rec.counts_pop, *(rec.cum_pop[k] for k in sorted(rec.cum_pop))]
    return out


def test_each_member_of_a_batch_of_16_is_byte_identical_to_its_run_alone(base, members):
    assert len(members) == 16
    assert base.params.timeline and (base.params.timeline[0].date - base.params.start).days < DAYS
    batch = Sim(base, members=members, days=DAYS, scale=SCALE, check=True)  # check: nobody lost, per member
    batch.run()
    sizes = np.diff(batch.offsets)
    assert len(set(sizes.tolist())) > 1  # members of different sizes, side by side
    for m, (seed, params) in enumerate(members):
        alone = Sim(member_scenario(base, params), seed=seed, days=DAYS, scale=SCALE)
        alone.run()
        for a, b in zip(_arrays(alone.record), _arrays(batch.records[m])):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"member {m}"
        sl = slice(batch.offsets[m], batch.offsets[m + 1])
        for f in ("place", "state", "group", "household", "dest", "flags"):
            assert np.array_equal(getattr(alone.people, f), getattr(batch.people, f)[sl]), (m, f)
        # conservation, per member: every day's counts add up to the member's people
        c = batch.records[m].counts.sum(axis=(1, 2))
        assert (c == sizes[m]).all()


def test_the_runner_groups_members_by_structure_and_gives_their_solo_vectors(base):
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


def test_rule_sets_that_cannot_batch_say_so(tmp_path):
    from pathlib import Path

    from travesia.flee.convert import import_flee

    sc = load_scenario(import_flee(Path(__file__).parent / "data" / "flee_mali2012", tmp_path / "m")["out"])
    with pytest.raises(ValueError, match="cannot advance members together"):
        Sim(sc, members=[(1, {}), (2, {})], days=5, scale=0.01)
