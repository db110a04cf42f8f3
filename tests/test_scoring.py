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
    # a single figure: the chance of it to the nearest person; for 199, the density on ln(1 + count) times the
    # person's width ln(200.5) − ln(199.5)
    w = math.log(200.5 / 199.5)
    assert log_likelihood(x, 199.0, 199.0, s)[0] == pytest.approx(norm.logpdf((math.log(200) - mu) / s) + math.log(w / s),
                                                                  abs=1e-5)
    p = norm.cdf((math.log(200.5) - mu) / s) - norm.cdf((math.log(199.5) - mu) / s)
    assert log_likelihood(x, 199.0, 199.0, s)[0] == pytest.approx(math.log(p), abs=1e-5)
    # near 0 the exact chance, at most 1: an empty camp that every member has empty does not reward a scale near 0
    assert log_likelihood(np.array([0.0]), 0.0, 0.0, 0.01)[0] == pytest.approx(math.log(0.5))
    assert log_likelihood(np.array([0.0]), 0.0, 0.0, 0.5)[0] == pytest.approx(math.log(norm.cdf(math.log(1.5) / 0.5) - 0.5))
    # a range: the chance of its figure, the geometric middle (ln 50 + ln 300) / 2 on ln(1 + count)
    m = math.expm1((math.log(300) + math.log(50)) / 2)
    p = norm.cdf((math.log1p(m + 0.5) - mu) / s) - norm.cdf((math.log1p(m - 0.5) - mu) / s)
    assert log_likelihood(x, 49.0, 299.0, s)[0] == pytest.approx(math.log(p), abs=1e-5)
    # the range's width says nothing about the count: a wider range around the same middle weighs the same
    assert log_likelihood(np.array([10.0, 500.0]), 9.0, 39999.0, s) == pytest.approx(
        log_likelihood(np.array([10.0, 500.0]), 631.45553, 631.45553, s), abs=1e-6)
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
    p = t.cdf((math.log(200.5) - mu) / s, nu) - t.cdf((math.log(199.5) - mu) / s, nu)
    assert log_likelihood(x, 199.0, 199.0, s, nu)[0] == pytest.approx(math.log(p), abs=1e-5)
    m = math.expm1((math.log(300) + math.log(50)) / 2)
    p = t.cdf((math.log1p(m + 0.5) - mu) / s, nu) - t.cdf((math.log1p(m - 0.5) - mu) / s, nu)
    assert log_likelihood(x, 49.0, 299.0, s, nu)[0] == pytest.approx(math.log(p), abs=1e-5)
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


def test_site_offsets_and_their_growth():
    """At a site (a camp) a report is read against the members' count plus the site's last residual, with a
    scale grown by eta per sqrt(day) since that residual's report; eta is learnt from the sites' misses."""
    import datetime as dt

    from travesia.ensemble.obsmodel import figure, weighted_median

    em = ErrorModel(scales=(("crowd", 0.4), ("tally", 0.1)), offsets=((("present", "Kule"), (48000.0, "2016-06-03")),),
                    eta=0.05)
    day = dt.date(2016, 6, 13)
    assert list(em.offsets_for(["present", "present", "arrived"], ["Kule", "Town", "Kule"])) == [48000.0, 0.0, 0.0]
    s = em.scales_at(["present", "present"], ["Kule", "Town"], [day, day])
    assert s[0] == pytest.approx(math.sqrt(0.4 ** 2 + 0.05 ** 2 * 10)) and s[1] == 0.4
    assert ErrorModel(offsets=em.offsets).scales_at(["present"], ["Kule"], [day])[0] == 0.4  # eta 0: no growth
    assert "site_offsets" in em.as_dict() and "site_offsets" not in ErrorModel().as_dict()
    # the figure of a report and a weighted median, by hand
    assert figure(99.0, 399.0) == pytest.approx(199.0) and figure(5.0, 5.0) == 5.0 and figure(5.0, np.nan) is None
    assert weighted_median(np.array([1.0, 2.0, 3.0, 10.0]), np.array([0.1, 0.1, 0.1, 0.7])) == 10.0
    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.ones(3)) == 2.0
    # eta recovered from site misses that wander as a random walk: sd sqrt(s^2 + eta^2 * days)
    for eta_true, lo, hi in ((0.06, 0.035, 0.09), (0.0, 0.0, 0.015)):
        rng = np.random.default_rng(7)
        hist = []
        for _ in range(80):
            g = float(rng.choice([7, 14, 30, 60]))
            truth = math.log(rng.uniform(1000, 50000))
            lx = truth + 0.01 * rng.standard_normal(64)
            r = float(np.expm1(truth + math.sqrt(0.05 ** 2 + eta_true ** 2 * g) * rng.standard_normal()))
            hist.append(("present", r, r, lx.astype(np.float32), 1.0, g))
        fit = fit_errors(hist, rules="flee")
        assert lo <= fit.eta <= hi, (eta_true, fit.eta, fit.scales)
    # where the reports were read both ways, the record chooses: a miss that persists (a population the model
    # does not have) keeps the offsets; misses that do not persist (carrying them makes things worse) drop them
    for persists in (True, False):
        rng = np.random.default_rng(11)
        hist = []
        for _ in range(40):
            truth = math.log(rng.uniform(1000, 50000))
            r = float(np.expm1(truth + 0.05 * rng.standard_normal()))
            near = (truth + 0.02 * rng.standard_normal(64)).astype(np.float32)
            far = (truth + rng.choice([-1.0, 1.0]) + 0.02 * rng.standard_normal(64)).astype(np.float32)
            shifted, raw = (near, far) if persists else (far, near)
            hist.append(("present", r, r, shifted, 1.0, 14.0, raw))
        fit = fit_errors(hist, rules="flee")
        assert fit.carry is persists and fit.scale("present") < 0.2, (persists, fit)
        if not persists:
            assert not ErrorModel(offsets=((("present", "K"), (5.0, "2020-01-01")),), carry=False).shifts
    # reports not at a site (no sixth item) leave eta at 0 and the fit as before
    rng = np.random.default_rng(4)
    h = _history(rng, 30, 0.3, 0.0)
    assert fit_errors(h).eta == 0.0


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


def test_range_bands_by_hand():
    from travesia.ensemble.obsmodel import range_bands

    # four members at 999 (ln 1000), errors z = -2, -1, 1, 2 at scale 0.5: figures' logs ln 1000 + (-1, -0.5, 0.5, 1)
    x = np.full((4, 2), 999.0)
    z = np.array([[-2.0, -2.0], [-1.0, -1.0], [1.0, 1.0], [2.0, 2.0]])
    u = np.zeros_like(z)
    m, b = range_bands(x, np.array([0.5, 0.5]), np.zeros(2), z, u, [np.zeros(0), np.array([0.1])])
    lm = math.log(1000) + np.array([-1.0, -0.5, 0.5, 1.0])
    assert np.log1p(m[:, 0]) == pytest.approx(lm)
    # no ranges seen: the figures' own percentiles
    assert np.log1p(b[:, 0]) == pytest.approx(np.log1p(np.percentile(np.expm1(lm), [5, 25, 50, 75, 95])))
    # ranges of half-width 0.1: the band's low edges are quantiles of the high end, its high edges of the low end
    q = lambda v, p: float(np.percentile(np.expm1(v), p))  # noqa: E731
    assert b[:, 1] == pytest.approx([q(lm + 0.1, 5), q(lm + 0.1, 25), q(lm, 50), q(lm - 0.1, 75), q(lm - 0.1, 95)])
    # ranges wider than the spread: the central band shrinks to the median, never crosses
    _, b2 = range_bands(x[:, :1], np.array([0.5]), np.zeros(1), z[:, :1], u[:, :1], [np.array([2.0])])
    assert b2[1, 0] == b2[2, 0] == b2[3, 0] and b2[0, 0] <= b2[1, 0] and b2[4, 0] >= b2[3, 0]


def test_range_bands_are_calibrated_under_overlap_scoring_by_construction():
    """Reports drawn from the observation model (a figure around the truth, a range of an earlier half-width
    around it) overlap the bands at the nominal rates when the members know the truth."""
    from travesia.analysis.scoring import covers
    from travesia.ensemble.obsmodel import range_bands

    rng = np.random.default_rng(7)
    n, members, s, nu = 4000, 400, 0.3, 3.0
    widths = np.array([0.0, 0.0, 0.1, 0.25, 0.5, 0.9])
    truth = np.exp(rng.uniform(np.log(100), np.log(10000), n))
    fig = np.expm1(np.log1p(truth) + s * rng.standard_t(nu, n))
    h = rng.choice(widths, n)
    low, high = np.expm1(np.log1p(fig) - h), np.expm1(np.log1p(fig) + h)
    x = np.broadcast_to(truth, (members, n))
    _, b = range_bands(x, np.full(n, s), np.zeros(n), rng.standard_t(nu, (members, n)), rng.random((members, n)),
                       [widths] * n)
    assert covers(low, high, b[0], b[4]).mean() == pytest.approx(0.90, abs=0.02)
    assert covers(low, high, b[1], b[3]).mean() == pytest.approx(0.50, abs=0.03)
    assert (high < b[0]).mean() == pytest.approx(0.05, abs=0.015)
    assert (low > b[4]).mean() == pytest.approx(0.05, abs=0.015)
    # the figure's own bands (ranges ignored) overlap far more often than they promise
    _, b0 = range_bands(x, np.full(n, s), np.zeros(n), rng.standard_t(nu, (members, n)), rng.random((members, n)),
                        [np.zeros(0)] * n)
    assert covers(low, high, b0[1], b0[3]).mean() > 0.6


def test_half_widths_of_the_earlier_reports():
    from travesia.ensemble.obsmodel import half_widths

    hist = [("present", 99.0, 399.0, None, 1.0), ("asylum_applied", 5.0, 5.0, None, 1.0),
            ("crossed", 1000.0, np.nan, None, 1.0), ("present", 50.0, 50.0, None, 1.0)]
    w = dict(half_widths(hist))
    # an open range: the figure is its lower bound, no upper end (an infinite half-width upward)
    assert w["crowd"] == pytest.approx((0.5 * math.log(4), math.inf, 0.0)) and w["tally"] == (0.0,)


def test_forecast_bands_of_rows_where_members_agree_and_differ():
    """forecast.csv's bands: the same bytes for the same seed; a row where every member has the same count (drawn
    once per quantity and count) has the bands of a direct draw at that count, within Monte Carlo error."""
    import datetime as dt
    import types

    from travesia.ensemble.forecast import reported_quantiles
    from travesia.ensemble.obsmodel import copies, noise, picks, range_bands

    rng = np.random.default_rng(0)
    k, members = 300, 40
    qs = np.array(["present", "asylum_applied"])[rng.integers(0, 2, k)]
    keys = pd.DataFrame({"date": [dt.date(2018, 10, 20)] * k, "place": [f"p{i}" for i in range(k)], "quantity": qs})
    vals = np.zeros((members, k), dtype=np.int32)
    vals[:, ::3] = rng.integers(0, 5000, (members, len(range(0, k, 3))))
    vals[:, 1] = 700
    em = ErrorModel(scales=(("crowd", 0.3), ("tally", 0.1)), nu=3.0, widths=(("crowd", (0.0, 0.2, np.inf)),))
    run = types.SimpleNamespace(layout=types.SimpleNamespace(keys=lambda: keys), values=vals, errors=em, seed=3)
    f = reported_quantiles(run)
    assert f.equals(reported_quantiles(run)) and len(f) == k
    q = np.array(["p05", "p25", "p50", "p75", "p95"])
    assert (np.diff(f[q].to_numpy(), axis=1) >= 0).all()  # never crossed
    shape = (members * copies(members), 1)
    _, b = range_bands(np.full(shape, 700.0), np.array([em.scale(qs[1])]), np.zeros(1), noise(9, shape, 1, 3.0),
                       picks(9, shape, 1), [em.widths_of(qs[1])])
    assert np.log1p(f.loc[1, q].to_numpy(dtype=float)) == pytest.approx(np.log1p(b[:, 0]), abs=0.15)
    # rows where members differ: the members' own spread widens the bands beyond the report error alone
    x = vals[:, 0].astype(float)
    assert f.loc[0, "p95"] / max(f.loc[0, "p05"], 1) > np.percentile(x, 95) / max(np.percentile(x, 5), 1)
