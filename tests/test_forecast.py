"""Forecasts: nothing dated after the as-of date changes them; naive forecasts; scoring with band coverage."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from travesia.ensemble.forecast import forecast, known_on, validate_forecast
from travesia.ensemble.naive import constant_velocity_forecast, persistence_forecast
from travesia.ensemble.runner import dask_client
from travesia.errors import UserError
from travesia.scenario.builtin import init_scenario
from travesia.scenario.load import load_scenario

AS_OF = dt.date(2018, 10, 20)
PRIORS = """
priors:
  movement.foot_km_per_day: {dist: uniform, low: 35, high: 65}
  intentions.give_up_per_day: {dist: loguniform, low: 0.008, high: 0.04}
"""
LATER_EVENT = """  - date: 2018-10-22
    set:
      movement.foot_km_per_day: 5
    note: a later event that the forecast must not see
"""


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


def scenario_copy(folder: Path, later_event: bool = False, later_obs: bool = False) -> Path:
    init_scenario("caravan-2018", folder)
    y = folder / "scenario.yaml"
    text = y.read_text(encoding="utf-8")
    if later_event:
        text = text.replace("\nsources:\n", "\n" + LATER_EVENT + "\nsources:\n", 1)
        assert LATER_EVENT in text
    y.write_text(text + PRIORS, encoding="utf-8")
    if later_obs:
        with open(folder / "observations.csv", "a", encoding="utf-8") as f:
            f.write("2018-10-21,Tapachula,present,9999,9999,first,a later report,test\n")
    return folder


def run_fc(scen: Path, out: Path, client, **kw):
    return forecast(scen, as_of=AS_OF, members=4, out=out, trials=2, seeds=1, days=16, scale=0.2, client=client, **kw)


def test_forecast_uses_nothing_after_its_date(tmp_path, client):
    base = run_fc(scenario_copy(tmp_path / "s0"), tmp_path / "f0", client)
    ev = run_fc(scenario_copy(tmp_path / "s1", later_event=True), tmp_path / "f1", client, report=False)
    run_fc(scenario_copy(tmp_path / "s2", later_obs=True), tmp_path / "f2", client, report=False)
    for f in ("forecast.csv", "members.csv", "half_arrival.csv", "naive.csv", "outlook.csv"):
        ref = (tmp_path / "f0" / f).read_bytes()
        assert (tmp_path / "f1" / f).read_bytes() == ref, f
        assert (tmp_path / "f2" / f).read_bytes() == ref, f
    assert ev["meta"]["events_dropped"] == base["meta"]["events_dropped"] + 1
    k0, k1 = (known_on(load_scenario(tmp_path / s), AS_OF) for s in ("s0", "s1"))
    assert k0.params.timeline == k1.params.timeline and all(e.date <= AS_OF for e in k1.params.timeline)
    assert (k1.observations["date"] <= AS_OF).all()
    fc = pd.read_csv(tmp_path / "f0" / "forecast.csv")
    assert list(fc.columns) == ["date", "place", "quantity", "p05", "p25", "p50", "p75", "p95"]
    assert pd.to_datetime(fc["date"]).min().date() == AS_OF + dt.timedelta(days=1)
    assert pd.to_datetime(fc["date"]).max().date() == dt.date(2018, 10, 27)
    # the report is the report family's forecast report: one self-contained file (tests/test_report.py)
    html = (tmp_path / "f0" / "report.html").read_text()
    assert not re.search(r"<script[^>]+src=", html) and 'id="report-data"' in html
    assert "Arrivals and crowds ahead" in html and "needs-band" in html
    outlook = pd.read_csv(tmp_path / "f0" / "outlook.csv")
    assert {"place", "first_p50", "half_p50", "peak7_p50", "peak30_p95"} <= set(outlook.columns) and len(outlook)
    half = pd.read_csv(tmp_path / "f0" / "half_arrival.csv")
    assert {"destination", "half_date_p05", "half_date_p50", "half_date_p95"} <= set(half.columns)
    assert (tmp_path / "f0" / "calibration" / "posterior.csv").exists()
    meta = json.loads((tmp_path / "f0" / "forecast.json").read_text())
    assert meta["as_of"] == AS_OF.isoformat() and meta["observations_used"] > 0

    # scoring against the later observations: the median, the band coverage, the naive forecasts
    comp, sc = validate_forecast(tmp_path / "f0", tmp_path / "f0" / "observations.csv")
    assert len(comp) > 0 and (pd.to_datetime(comp["date"]).dt.date > AS_OF).all()
    assert 0 <= sc["band_coverage"] <= 1 and sc["n"] == len(comp)
    assert set(sc["naive"]) == {"persistence", "constant_velocity"}
    assert all(np.isfinite(v["objective"]) for v in sc["naive"].values())
    assert {"p05", "p50", "p95", "in_band", "persistence", "constant_velocity"} <= set(comp.columns)
    assert ((comp["p05"] <= comp["p50"]) & (comp["p50"] <= comp["p95"])).all()
    assert (tmp_path / "f0" / "validation.json").exists()


def test_builtin_forecasts_with_its_shipped_priors_by_default(tmp_path, client):
    with pytest.raises(UserError, match="--as-of"):
        forecast("caravan-2018", as_of="2018-01-01", members=2, out=tmp_path / "f", client=client)
    r = forecast("caravan-2018", as_of=AS_OF, members=2, out=tmp_path / "f", days=12, scale=0.2,
                 client=client, report=False)
    assert "priors" in r["meta"]["calibration_note"]
    assert (tmp_path / "f" / "forecast_true.csv").exists()
    rep = pd.read_csv(tmp_path / "f" / "forecast.csv")
    true = pd.read_csv(tmp_path / "f" / "forecast_true.csv")
    assert len(rep) == len(true) and (rep["p95"] >= rep["p05"]).all()


# --------------------------------------------------------------------------- naive forecasts


@pytest.fixture()
def line():
    """A straight road A–B–C–D–E, 50 km a leg, E a destination."""
    places = pd.DataFrame({"id": list("abcde"), "name": list("ABCDE"), "country": "X", "region": "",
                           "lat": 0.0, "lon": [0.0, 0.5, 1.0, 1.5, 2.0],
                           "kind": ["origin", "town", "town", "town", "destination"], "capacity": -1})
    legs = pd.DataFrame({"a": list("abcd"), "b": list("bcde"), "km": 50.0, "modes": "foot|ride|bus"})
    d0 = dt.date(2020, 1, 1)
    obs = pd.DataFrame({"date": [d0, d0 + dt.timedelta(days=4), d0 + dt.timedelta(days=2), d0 + dt.timedelta(days=3)],
                        "place": ["A", "B", "(X)", "B"], "quantity": ["present", "present", "returned", "crossed"],
                        "low": [100.0, 80.0, 10.0, 70.0], "high": [np.nan, 120.0, 10.0, np.nan],
                        "caravan": ["c", "c", "c", "c"]})
    dates = [d0 + dt.timedelta(days=k) for k in range(5, 20)]
    names = list("ABCDE") + ["(X)", "(all)"]
    keys = pd.DataFrame([(d, q, p) for q in ("present", "arrived", "returned", "crossed", "travelling")
                         for d in dates for p in names], columns=["date", "quantity", "place"])
    return places, legs, obs, keys, d0


def _at(f, d, q, p):
    return float(f[(f["date"] == d) & (f["quantity"] == q) & (f["place"] == p)]["people"].iloc[0])


def test_persistence_stays_where_last_seen(line):
    places, legs, obs, keys, d0 = line
    f = persistence_forecast(obs, d0 + dt.timedelta(days=4), keys)
    later = d0 + dt.timedelta(days=10)
    assert _at(f, later, "present", "B") == 100.0  # middle of 80–120
    assert _at(f, later, "present", "C") == 0.0
    assert _at(f, later, "travelling", "(all)") == 100.0
    assert _at(f, later, "returned", "(X)") == 10.0 and _at(f, later, "crossed", "B") == 70.0


def test_constant_velocity_keeps_moving(line):
    places, legs, obs, keys, d0 = line
    # seen at A on day 0 and at B (50 km on) on day 4: 12.5 km a day toward E
    f = constant_velocity_forecast(obs, d0 + dt.timedelta(days=4), keys, places, legs)
    assert _at(f, d0 + dt.timedelta(days=8), "present", "C") == 100.0  # 50 km on
    assert _at(f, d0 + dt.timedelta(days=8), "present", "B") == 0.0
    assert _at(f, d0 + dt.timedelta(days=16), "present", "E") == 100.0  # 150 km on: arrived
    assert _at(f, d0 + dt.timedelta(days=16), "arrived", "E") == 100.0
    assert _at(f, d0 + dt.timedelta(days=15), "arrived", "E") == 0.0
    assert _at(f, d0 + dt.timedelta(days=15), "returned", "(X)") == 10.0
    # an observation after the as-of date changes neither naive forecast
    more = pd.concat([obs, pd.DataFrame({"date": [d0 + dt.timedelta(days=6)], "place": ["D"], "quantity": ["present"],
                                         "low": [500.0], "high": [500.0], "caravan": ["c"]})], ignore_index=True)
    g = constant_velocity_forecast(more, d0 + dt.timedelta(days=4), keys, places, legs)
    pd.testing.assert_frame_equal(f, g)
    pd.testing.assert_frame_equal(persistence_forecast(obs, d0 + dt.timedelta(days=4), keys),
                                  persistence_forecast(more, d0 + dt.timedelta(days=4), keys))


def test_camps_are_series_of_their_own(line):
    """Reports at camps (FLEE's refugee camps) are counts at a site: persistence keeps each camp's
    last count, constant velocity its drift; they are not part of a caravan's track."""
    places, legs, obs, keys, d0 = line
    places = places.copy()
    places.loc[places["name"] == "D", "kind"] = "camp"
    places.loc[places["name"] == "C", "kind"] = "camp"
    day = lambda k: d0 + dt.timedelta(days=k)  # noqa: E731
    camp = pd.DataFrame({"date": [day(0), day(4), day(2), day(6)], "place": ["D", "D", "C", "C"],
                         "quantity": "present", "low": [200.0, 240.0, 50.0, 30.0],
                         "high": [np.nan, np.nan, 50.0, 30.0], "caravan": ""})
    both = pd.concat([obs, camp], ignore_index=True)
    f = persistence_forecast(both, day(4), keys, places)
    assert _at(f, day(10), "present", "D") == 240.0  # its last count, the caravan's track unchanged
    assert _at(f, day(10), "present", "C") == 50.0  # the report of day 6 is after the as-of date
    assert _at(f, day(10), "present", "B") == 100.0 and _at(f, day(10), "travelling", "(all)") == 100.0
    g = constant_velocity_forecast(both, day(4), keys, places, legs)
    assert _at(g, day(10), "present", "D") == 240.0 + 10.0 * 6  # +40 in 4 days: 10 a day, 6 days on
    assert _at(g, day(8), "present", "C") == 100.0 + 50.0  # the caravan (50 km on from B) and the camp
    h = constant_velocity_forecast(both, day(6), keys, places, legs)  # C: 50 on day 2, 30 on day 6
    assert _at(h, day(9), "present", "C") == 30.0 - 5.0 * 3 + 100.0  # the camp's drift and the caravan (62.5 km on)
    assert _at(h, day(12), "present", "C") == 0.0  # never below 0; the caravan at D (100 km on)
    assert _at(h, day(12), "present", "D") == 240.0 + 10.0 * 8 + 100.0
    # without the places' kinds, the camps' reports are caravan "" and its track: the old behaviour
    p = persistence_forecast(both, day(4), keys)
    assert _at(p, day(10), "present", "D") == 240.0 and _at(p, day(10), "travelling", "(all)") == 100.0 + 240.0
