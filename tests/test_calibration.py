"""Calibration: recovers a known parameter from a synthetic run's own outputs; resumes an
interrupted study; writes an overlay usable with --params and a posterior sample for ensembles."""

from __future__ import annotations


import pandas as pd
import pytest

from travesia.api import simulate
from travesia.ensemble.calibrate import calibrate, run_calibration
from travesia.ensemble.ensemble import run_ensemble
from travesia.ensemble.runner import dask_client
from travesia.errors import UserError
from travesia.output import totals_frame
from travesia.scenario.load import load_scenario
from travesia.scenario.schema import Prior

TRUTH = 42.0
SCALE = 0.25
PRI = {"movement.foot_km_per_day": Prior(dist="uniform", low=25, high=75)}
OWN_PACE = {"plan.cohesion": 0.0, "plan.holds": []}  # groups walk at their own pace (no caravan plan, no
# scheduled holds, which pull everyone behind to the hold place by rides), so the walking speed shows


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def synthetic_obs() -> pd.DataFrame:
    """Observations made from a run with foot_km_per_day = TRUTH: people present at places every other
    day, reported as ranges of ±20%."""
    truth = load_scenario("caravan-2018", {"movement.foot_km_per_day": TRUTH, **OWN_PACE})
    t = totals_frame(simulate(truth, seed=99, days=15, scale=SCALE), quantities=("present",))
    day = pd.to_datetime(t["date"]).dt.day
    t = t[~t["place"].str.startswith("(") & (t["people"] >= 40) & (day >= 16) & (day % 2 == 0)]
    return pd.DataFrame({"date": t["date"], "place": t["place"], "quantity": "present", "low": t["people"] * 0.8,
                         "high": t["people"] * 1.2, "caravan": "", "note": "", "sources": ""}).reset_index(drop=True)


def test_recovers_a_known_parameter(tmp_path, client, synthetic_obs):
    base = load_scenario("caravan-2018", OWN_PACE)  # its own foot_km_per_day (50) is not the truth
    res = run_calibration(base, PRI, synthetic_obs, out=tmp_path / "cal", trials=12, seeds=1, batch=4, scale=SCALE,
                          client=client)
    best = res["best_params"]["movement.foot_km_per_day"]
    assert abs(best - TRUTH) < 8, res["trials"].sort_values("objective").head()
    # the outputs: an overlay for --params, a posterior sample for --posterior, every trial, the study
    out = tmp_path / "cal"
    for f in ("best_params.yaml", "posterior.csv", "trials.csv", "calibration.json", "study.db"):
        assert (out / f).exists(), f
    loaded = load_scenario("caravan-2018", params_file=out / "best_params.yaml")
    assert loaded.params.movement.foot_km_per_day == pytest.approx(best)
    post = pd.read_csv(out / "posterior.csv")
    assert len(post) == 5 and post["objective"].is_monotonic_increasing and post["rank"].tolist() == [1, 2, 3, 4, 5]
    r = run_ensemble("caravan-2018", members=3, days=3, scale=SCALE, posterior=out, client=client)
    assert list(r["members"]["movement.foot_km_per_day"]) == list(post["movement.foot_km_per_day"][:3])


def test_interrupted_calibration_resumes(tmp_path, client, synthetic_obs):
    base = load_scenario("caravan-2018")
    out = tmp_path / "cal"
    kw = dict(seeds=1, batch=2, scale=SCALE, client=client)
    first = run_calibration(base, PRI, synthetic_obs, out=out, trials=2, **kw)["trials"]
    # an interruption leaves a trial RUNNING in the study: it is closed as failed on resume
    import optuna

    study = optuna.load_study(study_name="travesia", storage=f"sqlite:///{out / 'study.db'}")
    study.ask()
    res = run_calibration(base, PRI, synthetic_obs, out=out, trials=4, **kw)
    trials = res["trials"]
    assert len(trials) == 4  # 2 more completed trials, not 4 more
    pd.testing.assert_frame_equal(trials.head(2).reset_index(drop=True), first.reset_index(drop=True))
    # other settings do not silently mix into the study
    with pytest.raises(UserError, match="other settings.*--force"):
        run_calibration(base, PRI, synthetic_obs, out=out, trials=4, seed=1, **kw)
    res = run_calibration(base, PRI, synthetic_obs, out=out, trials=2, seed=1, force=True, **kw)
    assert len(res["trials"]) == 2
    # a user's folder is never touched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "x.txt").write_text("keep")
    with pytest.raises(UserError, match="not a travesia result folder"):
        run_calibration(base, PRI, synthetic_obs, out=mine, trials=1, **kw)


def test_calibrate_needs_priors_and_observations(tmp_path, client):
    with pytest.raises(UserError, match="calibrate needs uncertain parameters.*declares no priors"):
        calibrate("caravan-2018", out=tmp_path / "c", trials=2, client=client)
    with pytest.raises(UserError, match="no observations between"):
        calibrate("caravan-2018", out=tmp_path / "c", trials=2, until="2018-10-11", priors_file="caravan-2018",
                  client=client)
