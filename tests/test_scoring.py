"""Scoring on hand-worked cases, the observation model's likelihood, and the backtest summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from travesia.analysis.scoring import covers, crps, pit_bin, scored_value, score_table, summarise, wis
from travesia.ensemble.backtest import parse_origins, summary_of
from travesia.ensemble.obsmodel import PRIOR_SIGMA, ErrorModel, fit_errors, log_likelihood, reported
from travesia.errors import UserError

E = np.expm1  # counts whose log1p are the hand-worked numbers


def test_wis_by_hand_on_the_log_scale():
    # Bracher et al. (2021): y = 10, median 8, 50% interval [5, 9], 90% interval [2, 12]:
    # (0.5·|10−8| + 0.25·(4 + 4·1) + 0.05·10) / 2.5 = 1.4 (all on ln(1 + count))
    q = E(np.array([[2.0, 5.0, 8.0, 9.0, 12.0]]))
    assert wis(E(np.array([10.0])), q)[0] == pytest.approx(1.4)
    # a point forecast's WIS is its absolute log error
    assert wis(np.array([99.0]), np.full((1, 5), 9.0))[0] == pytest.approx(math.log(10))


def test_crps_by_hand():
    # two members at log values 0 and 2, observation 1: E|X−y| − ½E|X−X'| = 1 − ½·1 = 0.5
    assert crps(E(np.array([1.0])), E(np.array([[0.0, 2.0]])))[0] == pytest.approx(0.5)


def test_a_range_is_scored_at_its_geometric_middle_and_an_open_one_at_the_nearest_point():
    y = scored_value([99.0, 99.0, 99.0, 5.0], [9999.0, np.nan, np.nan, 5.0], [10.0, 50.0, 500.0, 1.0])
    assert y == pytest.approx([999.0, 99.0, 500.0, 5.0])


def test_coverage_is_overlap():
    assert covers([10, 10, 10], [20, np.nan, 20], [15, 25, 21], [30, 30, 30]).tolist() == [True, True, False]


def test_pit_bins():
    q = np.array([[10.0, 20, 30, 40, 50]] * 5)
    low = np.array([1.0, 1.0, 35.0, 60.0, 45.0])
    high = np.array([2.0, 12.0, 35.0, 70.0, np.nan])
    y = scored_value(low, high, q[:, 2])
    # wholly below; below p05 but overlapping the band -> p05_p25; p50-p75; wholly above; open, median -> p50
    assert pit_bin(y, low, high, q).tolist() == [0, 1, 3, 5, 4]
    # ties: all quantiles 0 and a report of 0 sit in the middle
    assert pit_bin(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.zeros((1, 5))).tolist() == [2]


def test_summary_relative_wis():
    t = pd.DataFrame({"origin": ["a", "a", "b"], "quantity": ["present"] * 3, "wis": [1.0, 1.0, 4.0],
                      "crps": [0.5, 0.5, 2.0], "cover50": [1, 0, 0], "cover90": [1, 1, 0], "pit": [2, 3, 5],
                      "wis_persistence": [4.0, 4.0, 4.0], "wis_constant_velocity": [2.0, 2.0, 8.0]})
    s = summary_of(t)
    o = s[s["level"] == "overall"].iloc[0]
    assert o["wis"] == pytest.approx(2.0) and o["relative_wis"] == pytest.approx(2.0 / 4.0)
    a = s[(s["level"] == "origin") & (s["origin"] == "a")].iloc[0]
    assert a["relative_wis"] == pytest.approx(0.5) and a["cover50"] == 0.5 and a["pit_above_p95"] == 0.0
    assert summarise(t)["n"].iloc[0] == 3


def test_score_table_perfect_and_poor():
    q = np.array([[90.0, 95, 100, 105, 110]])
    good = score_table([100.0], [100.0], q)
    bad = score_table([1000.0], [1000.0], q)
    assert good["wis"][0] < bad["wis"][0] and good["cover50"][0] and not bad["cover90"][0]


def test_origins_parse():
    assert [str(d) for d in parse_origins("2018-10-19, 2018-10-16")] == ["2018-10-16", "2018-10-19"]
    with pytest.raises(UserError, match="--origins"):
        parse_origins("2018-13-01")


# --------------------------------------------------------------------------- the observation model


def test_likelihood_by_hand():
    s = 0.5
    x = np.array([99.0])
    mu = math.log(100)
    # a single figure: normal density on ln(1 + count), up to a constant
    assert log_likelihood(x, 199.0, 199.0, s)[0] == pytest.approx(-0.5 * ((math.log(200) - mu) / s) ** 2 - math.log(s))
    # a range: the chance the report falls in it
    p = norm.cdf((math.log(300) - mu) / s) - norm.cdf((math.log(50) - mu) / s)
    assert log_likelihood(x, 49.0, 299.0, s)[0] == pytest.approx(math.log(p))
    # at least: the upper tail
    assert log_likelihood(x, 199.0, np.nan, s)[0] == pytest.approx(norm.logsf((math.log(200) - mu) / s))
    # the likelihood prefers members near the report
    ll = log_likelihood(np.array([10.0, 100.0, 1000.0, 10000.0]), 800.0, 1200.0, 0.4)
    assert np.argmax(ll) == 2 and np.all(np.isfinite(ll))


def test_student_t_likelihood_by_hand():
    from scipy.stats import t

    s, nu = 0.5, 3.0
    x = np.array([99.0])
    mu = math.log(100)
    assert log_likelihood(x, 199.0, 199.0, s, nu)[0] == pytest.approx(t.logpdf((math.log(200) - mu) / s, nu) - math.log(s))
    p = t.cdf((math.log(300) - mu) / s, nu) - t.cdf((math.log(50) - mu) / s, nu)
    assert log_likelihood(x, 49.0, 299.0, s, nu)[0] == pytest.approx(math.log(p))
    assert log_likelihood(x, 199.0, np.nan, s, nu)[0] == pytest.approx(t.logsf((math.log(200) - mu) / s, nu))
    # a log bias shifts the count: a report 10% high is likelier with bias ln 1.1
    assert log_likelihood(x, 109.0, 109.0, s, nu, math.log(1.1))[0] > log_likelihood(x, 109.0, 109.0, s, nu)[0]
    # heavy tails: a report 20 scales off costs the t far less than the normal
    far = math.expm1(mu + 20 * s)
    assert log_likelihood(x, far, far, s, nu)[0] > log_likelihood(x, far, far, s)[0] + 100


def _history(rng, n, scale, bias, nu=None, particles=64, spread=0.2):
    """Reports of a quantity and the particles that predicted them: particles ~ truth·exp(N(0, spread²)) around
    a member mean, the report = truth·exp(bias + scale·ε)."""
    out = []
    for _ in range(n):
        truth = math.log(rng.uniform(100, 5000))
        lx = truth + spread * rng.standard_normal(particles)
        e = rng.standard_normal() if nu is None else rng.standard_t(nu)
        r = float(np.expm1(truth + spread * rng.standard_normal() + bias + scale * e))
        out.append(("present", r, r, lx.astype(np.float32), 1.0))
    return out


def test_error_model_learns_scale_and_bias_from_one_step_ahead_misses():
    rng = np.random.default_rng(4)
    # reports 0.5 off in the log beyond the particles' own spread, and 30% high on average
    em = fit_errors(_history(rng, 60, 0.5, math.log(1.3)))
    assert em.scale("present") == pytest.approx(0.5, rel=0.3)
    assert em.bias("present") == pytest.approx(math.log(1.3), abs=0.12)
    assert em.scale("asylum_applied") == PRIOR_SIGMA["tally"]  # no tallies: the prior
    # particles that already explain the misses by their spread leave a small scale
    em2 = fit_errors(_history(rng, 60, 0.05, 0.0))
    assert em2.scale("present") < 0.15 and abs(em2.bias("present")) <= 0.05
    # one report far off does not blow the scale up: the t error takes it in its tail
    h = _history(rng, 40, 0.2, 0.0)
    q, lo, hi, lx, g = h[0]
    h[0] = (q, float(np.expm1(np.median(lx) + 4.0)), float(np.expm1(np.median(lx) + 4.0)), lx, g)
    em3 = fit_errors(h)
    assert em3.nu <= 5 and em3.scale("present") < 0.4
    # no reports: the priors
    assert fit_errors([]) == ErrorModel()


def test_reported_counts_scatter_around_the_truth():
    z = np.random.default_rng(1).standard_normal(200000)
    r = reported(np.full(z.shape, 999.0), np.full(z.shape, 0.4), z)
    assert np.median(np.log1p(r)) == pytest.approx(math.log(1000), abs=0.01)
    assert np.std(np.log1p(r)) == pytest.approx(0.4, abs=0.01)


def test_default_priors_for_builtin_and_flee_scenarios(tmp_path):
    from pathlib import Path

    from travesia.ensemble.priors import scenario_priors
    from travesia.flee.convert import import_flee
    from travesia.scenario.load import load_scenario

    # the structural guesses that act after an as-of date carry priors (transport offers replaced fixed buses)
    car = scenario_priors(load_scenario("caravan-2018"), default=True)
    assert {"offers.seats", "offers.prob_per_day", "countries.Mexico.asylum.min_wait_days",
            "populations.first.destinations.tijuana"} <= set(car)
    assert scenario_priors(load_scenario("caravan-2018")) == {}  # only by default, where asked for
    import_flee(Path(__file__).parent / "data" / "flee_mali2012", tmp_path / "mali")
    fl = scenario_priors(load_scenario(tmp_path / "mali"), default=True)
    assert "flee.max_walk_speed" in fl and all(k.startswith("flee.") for k in fl)


def test_cli_backtest_writes_its_tables(tmp_path):
    import json

    from typer.testing import CliRunner

    from travesia.cli import app

    out = tmp_path / "bt"
    res = CliRunner().invoke(app, ["backtest", "caravan-2018", "--origins", "2018-10-15,2018-10-16", "--members", "3",
                                   "--days", "8", "--workers", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "overall" in res.output and "rel. WIS" in res.output
    t = pd.read_csv(out / "backtest.csv", keep_default_na=False)
    assert set(t["origin"]) == {"2018-10-15", "2018-10-16"} and (t["date"] > t["origin"]).all()
    assert {"wis", "crps", "cover50", "cover90", "pit", "wis_persistence", "wis_constant_velocity"} <= set(t.columns)
    meta = json.loads((out / "backtest.json").read_text())
    assert meta["scale"] == "log1p" and meta["overall"]["n"] == len(t)
    assert (out / "origin-2018-10-16" / "forecast.csv").exists()
    bad = CliRunner().invoke(app, ["backtest", "caravan-2018", "--origins", "2018-10-32", "--members", "3",
                                   "--out", str(tmp_path / "x")])
    assert isinstance(bad.exception, UserError) and "--origins" in str(bad.exception)
