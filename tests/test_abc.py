"""ABC-SMC (pyabc): a known parameter recovered from a synthetic run, with bands that cover it; resumed;
the same bytes resumed or in one go, on 2 workers or 1."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from travesia.engine.sim import Sim
from travesia.ensemble import filter as pf
from travesia.ensemble.runner import dask_client, member_scenario
from travesia.scenario.load import load_scenario
from travesia.scenario.schema import Prior

pytest.importorskip("pyabc")

DAYS, SCALE = 8, 0.05
PATH = "intentions.give_up_per_day"
TRUTH = 0.05


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


def _synthetic(base):
    """Reports of a truth run (give-up rate TRUTH): people back in Honduras and on the road, days 3..7."""
    sim = Sim(member_scenario(base, {PATH: TRUTH}), seed=11, days=DAYS, scale=SCALE)
    rows = []
    names = ["(Honduras)", "(all)"]
    needs = pf.needs_for(base, pd.DataFrame({"quantity": ["returned", "travelling"], "place": names}))
    for day in range(DAYS):
        sim.step()
        if day >= 3:
            q = pf._day_quantities(sim, day)
            for (qq, w, _), name in zip(needs, names):
                x = float(q[qq] @ w)
                rows.append((base.params.start + dt.timedelta(days=day), name, qq, round(x * 0.9), round(x * 1.1)))
    return pd.DataFrame(rows, columns=["date", "place", "quantity", "low", "high"])


def test_abc_recovers_a_known_parameter_and_resumes(tmp_path, client):
    from travesia.ensemble.abc import run_abc

    b = load_scenario("caravan-2018")
    base = b.__class__(**{**b.__dict__, "observations": None})
    obs = _synthetic(base)
    prior = {PATH: Prior(dist="loguniform", low=0.005, high=0.2)}
    kw = dict(until=None, seed=3, scale=SCALE, check_members=4, client=client)
    r = run_abc(base, prior, obs, out=tmp_path / "abc", population=12, generations=1, **kw)
    assert list(r["generations"]["generation"]) == [0]
    # resumed: one more generation from the SQLite history, not from the start
    r = run_abc(base, prior, obs, out=tmp_path / "abc", population=12, generations=2, **kw)
    parts = r["particles"]
    w, v = parts["weight"].to_numpy(), parts[PATH].to_numpy()
    o = np.argsort(v)
    c = np.cumsum(w[o])
    lo, hi = v[o][np.searchsorted(c, 0.05)], v[o][min(np.searchsorted(c, 0.95), len(v) - 1)]
    # the truth lies in the posterior's 90% band, and the band is far narrower than the prior's (a factor 40)
    assert lo <= TRUTH <= hi, (lo, hi)
    assert np.log(hi / lo) < np.log(40) / 2, (lo, hi)
    gens = r["generations"]
    assert list(gens["generation"]) == [0, 1]
    assert (gens["acceptance"] > 0).all() and (gens["acceptance"] <= 1).all() and (gens["ess"] >= 1).all()
    assert gens["epsilon"].iloc[1] < gens["epsilon"].iloc[0]  # tolerances shrink
    # posterior.csv is an equally weighted sample for ensemble --posterior / forecast --calibration
    post = pd.read_csv(tmp_path / "abc" / "posterior.csv")
    assert len(post) == 12 and set(post.columns) == {"weight", PATH}
    ppc = pd.read_csv(tmp_path / "abc" / "ppc.csv")
    assert len(ppc) == len(obs) and ppc["cover90"].mean() >= 0.5
    meta = json.loads((tmp_path / "abc" / "calibration.json").read_text())
    assert meta["method"] == "abc" and meta["generations"] == 2 and 0 < meta["acceptance"] <= 1
    # reproducible: the same two generations in one go on one worker give the same bytes (each
    # particle's proposal is seeded by its job number; pyabc takes the first accepted in job order)
    with dask_client(workers=1) as one:
        r1 = run_abc(base, prior, obs, out=tmp_path / "abc1", population=12, generations=2, **{**kw, "client": one})
    for name in ("abc_particles.csv", "abc_generations.csv", "posterior.csv", "ppc.csv", "best_params.yaml"):
        assert (tmp_path / "abc1" / name).read_bytes() == (tmp_path / "abc" / name).read_bytes(), name
    assert r1["meta"]["simulations"] == meta["simulations"]
