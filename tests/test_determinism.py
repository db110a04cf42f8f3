"""Same seed, same bytes; randomness keyed by (seed, stream, day, id); numba and NumPy agree."""

from __future__ import annotations

import json

import numpy as np

from travesia.api import simulate
from travesia.engine import kernels
from travesia.engine.rng import KeyedRNG
from travesia.engine.sim import Sim
from travesia.output import write_run
from travesia.scenario.load import load_scenario


def test_draws_do_not_depend_on_which_or_how_many_ids_are_drawn():
    rng = KeyedRNG(42)
    ids = np.arange(1000)
    full = rng.random("s", 3, ids)
    sub = ids[::7][::-1]  # another subset, another order
    assert np.array_equal(rng.random("s", 3, sub), full[sub])
    assert not np.array_equal(rng.random("t", 3, ids), full)  # another stream
    assert not np.array_equal(rng.random("s", 4, ids), full)  # another day
    assert not np.array_equal(KeyedRNG(43).random("s", 3, ids), full)  # another seed
    u = KeyedRNG(1).random("uniformity", 0, np.arange(200_000))
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.005


def test_numba_and_numpy_paths_give_identical_results():
    if not kernels.HAVE_NUMBA:
        return
    out = []
    try:
        for use in (True, False):
            kernels.ENABLED = use
            out.append(Sim(load_scenario("caravan-2018"), days=45).run().record)
    finally:
        kernels.ENABLED = True
    a, b = out
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.flows, b.flows)
    assert all(np.array_equal(a.cum[k], b.cum[k]) for k in a.cum)


def test_same_seed_writes_byte_identical_tables(tmp_path):
    paths = []
    for name in ("a", "b"):
        r = simulate("caravan-2018", days=30, seed=5)
        paths.append(write_run(r, tmp_path / name))
    for f in ("daily.csv", "flows.csv", "totals.csv", "scenario.resolved.yaml", "places.csv", "legs.csv"):
        assert (paths[0] / f).read_bytes() == (paths[1] / f).read_bytes(), f
    sa, sb = (json.loads((p / "summary.json").read_text()) for p in paths)
    for s in (sa, sb):  # only the timing differs between two runs
        s.pop("wall_time_s"), s.pop("live_agent_steps_per_second"), s.pop("process_seconds")
    assert sa == sb


def test_per_caravan_record_adds_up_to_the_whole(tmp_path):
    from travesia.engine.people import State

    for use in (True, False):
        kernels.ENABLED = use
        try:
            r = simulate("caravan-2018", days=35).record
        finally:
            kernels.ENABLED = True
        assert r.n_pops == 4
        assert np.array_equal(r.counts_pop.sum(axis=1), r.counts)
        assert all(np.array_equal(r.cum_pop[k].sum(axis=1), r.cum[k]) for k in r.cum)
    # the Salvadorans start on 28 Oct (day 16): none of them is anywhere but waiting before
    assert r.counts_pop[:16, 2][:, :, State.WAITING + 1:].sum() == 0
