"""Same seed, same bytes; randomness keyed by (seed, stream, day, id); compiled and Python kernels agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from travesia.api import simulate
from travesia.engine.rng import KeyedRNG
from travesia.output import write_run


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


def test_kernels_run_as_python_under_numba_disable_jit_with_the_same_bytes():
    """The numba kernels are the one implementation; NUMBA_DISABLE_JIT=1 runs them as Python."""
    code = ("import hashlib, warnings; warnings.simplefilter('ignore'); import numpy as np; "
            "from travesia.api import simulate; r = simulate('caravan-2018', seed=4, days=20, scale=0.03).record; "
            "print(hashlib.sha256(r.counts.tobytes() + r.flows.tobytes()).hexdigest())")
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "NUMBA_DISABLE_JIT": v}).stdout for v in ("0", "1")]
    assert out[0] == out[1] and len(out[0]) > 60


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

    r = simulate("caravan-2018", days=35).record
    assert r.n_pops == 4
    assert np.array_equal(r.counts_pop.sum(axis=1), r.counts)
    assert all(np.array_equal(r.cum_pop[k].sum(axis=1), r.cum[k]) for k in r.cum)
    # the Salvadorans start on 28 Oct (day 16): none of them is anywhere but waiting before
    assert r.counts_pop[:16, 2][:, :, State.WAITING + 1:].sum() == 0
