"""Observations and validation metrics on a hand-made run folder with known answers."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from travesia.analysis.observe import (compare, flee_ard, load_observations, objective, score, simulated_values,
                                       validate_run)
from travesia.errors import UserError

DATES = ["2018-10-12", "2018-10-13", "2018-10-14"]
PLACES = """id,name,country,region,lat,lon,kind,capacity
origin,Origin,Honduras,Cortés,15.5,-88.0,origin,-1
tij,Tijuana,Mexico,Baja California,32.5,-117.0,destination,-1
tij_sh,Tijuana (Shelter),Mexico,Baja California,32.4,-116.9,shelter,50
tijuanita,Tijuanita,Mexico,Baja California,32.0,-116.0,town,-1
"""
LEGS = "from,to,km,modes\norigin,tij,3000,foot|ride|bus\ntij,tij_sh,10,foot\ntij,tijuanita,80,foot\n"


def make_run(folder: Path, observations: str | None = None) -> Path:
    """A tiny run folder: 3 days, 4 places; every number chosen by hand."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "places.csv").write_text(PLACES)
    (folder / "legs.csv").write_text(LEGS)
    present = {"Origin": [300, 100, 0], "Tijuana": [0, 20, 100], "Tijuana (Shelter)": [0, 0, 60],
               "Tijuanita": [0, 0, 1000]}
    rows = []
    for q in ("present", "travelling", "arrived", "crossed", "returned", "asylum_applied", "detained"):
        for d, date in enumerate(DATES):
            vals = {p: (v[d] if q in ("present", "travelling") else 0) for p, v in present.items()}
            if q == "asylum_applied":
                vals["Tijuana"] = [0, 5, 9][d]
            if q == "returned":
                vals["Origin"] = [0, 10, 30][d]
            for p, v in vals.items():  # a town's row counts its "Tijuana (…)" places (output.py)
                rows.append((date, q, p, v + (vals["Tijuana (Shelter)"] if p == "Tijuana" else 0)))
            mex = sum(v for p, v in vals.items() if p != "Origin")
            rows += [(date, q, "(Mexico)", mex), (date, q, "(Honduras)", vals["Origin"]),
                     (date, q, "(Baja California)", mex), (date, q, "(Cortés)", vals["Origin"]),
                     (date, q, "(all)", mex + vals["Origin"])]
    pd.DataFrame(rows, columns=["date", "quantity", "place", "people"]).to_csv(folder / "totals.csv", index=False)
    daily = []
    for d, date in enumerate(DATES):
        for p, v in present.items():
            if v[d]:
                daily.append((date, p, "travelling" if p == "Origin" else "arrived", v[d]))
        daily.append((date, "Origin", "waiting", 500 - 100 * d))
    pd.DataFrame(daily, columns=["date", "place", "state", "people"]).to_csv(folder / "daily.csv", index=False)
    pd.DataFrame([(DATES[1], "Origin", "Tijuana", 20), (DATES[2], "Tijuana", "Tijuana (Shelter)", 60),
                  (DATES[2], "Tijuana", "Tijuanita", 1000)],
                 columns=["date", "from", "to", "people"]).to_csv(folder / "flows.csv", index=False)
    (folder / "summary.json").write_text(json.dumps({"scenario": "tiny", "seed": 7, "people_created": 1400,
                                                     "final_states": {"arrived": 1160}, "version": "test"}))
    (folder / "scenario.resolved.yaml").write_text("name: tiny\nseed: 7\ndays: 3\nscale: 1.0\noverrides: {}\n")
    (folder / ".travesia-run").write_text("travesia test run\n")
    if observations is None:
        observations = OBS
    (folder / "observations.csv").write_text(observations)
    return folder


OBS = """date,place,quantity,low,high,caravan,note,sources
2018-10-14,Tijuana,present,150,170,first,city and its shelter,https://example.org/a
2018-10-14,Tijuana,present,200,,first,at least 200,
2018-10-14,Tijuana (Shelter),present,10,40,,,
2018-10-13,(Mexico),asylum_applied,0,0,,none reported,
2018-11-01,Tijuana,present,1,,,after the run,
"""


@pytest.fixture()
def run(tmp_path):
    return make_run(tmp_path / "run")


def test_prefix_aggregation_and_parenthesised_aggregates(run):
    totals = pd.read_csv(run / "totals.csv")
    obs = load_observations(run / "observations.csv", pd.read_csv(run / "places.csv"))
    sim = simulated_values(totals, obs)
    # Tijuana's row is the town (Tijuana + Tijuana (Shelter)), not Tijuanita; (Mexico) read as written
    assert sim[:4].tolist() == [160.0, 160.0, 60.0, 5.0]
    assert math.isnan(sim[4])  # outside the run


def test_hits_and_relative_errors(run):
    comp = compare(pd.read_csv(run / "totals.csv"), load_observations(run / "observations.csv"))
    assert comp["hit"].tolist() == [True, False, False, False, False]
    rel = comp["rel_error"].tolist()
    assert rel[0] == 0.0
    assert rel[1] == pytest.approx(40 / 200)  # below low: |160-200|/200
    assert rel[2] == pytest.approx(20 / 40)  # above high: |60-40|/40
    assert rel[3] == pytest.approx(5.0)  # bound 0: |5-0|/max(0,1)
    assert math.isnan(rel[4])
    assert comp["log_error"].iloc[1] == pytest.approx(math.log(201 / 161))


def test_score_and_objective(run):
    comp = compare(pd.read_csv(run / "totals.csv"), load_observations(run / "observations.csv"))
    sc = score(comp)
    o = sc["overall"]
    assert o["n"] == 4 and sc["n_outside_run"] == 1
    assert o["hit_share"] == pytest.approx(0.25)
    assert o["median_rel_error"] == pytest.approx((0.2 + 0.5) / 2)
    assert o["mean_rel_error"] == pytest.approx((0 + 0.2 + 0.5 + 5) / 4)
    assert sc["by_quantity"]["present"]["n"] == 3
    assert sc["by_quantity"]["present"]["hit_share"] == pytest.approx(1 / 3)
    assert sc["by_quantity"]["asylum_applied"]["mean_rel_error"] == pytest.approx(5.0)
    assert objective(comp) == pytest.approx((0 + math.log(201 / 161) + math.log(61 / 41) + math.log(6)) / 4)
    # no place is observed on two dates inside the run: no FLEE series
    assert sc["flee_ard"] is None


def test_flee_ard_on_time_series():
    comp = pd.DataFrame({
        "date": ["2018-10-12", "2018-10-12", "2018-10-13", "2018-10-13", "2018-10-13"],
        "place": ["A", "B", "A", "B", "C"],
        "quantity": ["present"] * 5,
        "low": [100.0, 50.0, 200.0, 80.0, 10.0],
        "high": [100.0, 150.0, np.nan, 120.0, 10.0],
        "simulated": [90.0, 100.0, 100.0, 100.0, 999.0],
    })
    # C is observed once: not a series. With two places a day the simulated values are rescaled to
    # the observed total, as FLEE does. Day 1: obs 100, 100; sim 90, 100 -> x 200/190 ->
    # (|94.74-100| + |105.26-100|) / 200 = 1/19. Day 2: obs 200 (low, no high), 100; sim 100, 100
    # -> x 1.5 -> (|150-200| + |150-100|) / 300 = 1/3.
    r = flee_ard(comp)
    assert r["by_quantity"]["present"] == pytest.approx((1 / 19 + 1 / 3) / 2)
    assert r["overall"] == pytest.approx((1 / 19 + 1 / 3) / 2)
    # one place a day: no rescaling (it would make any run perfect)
    one = comp[comp["place"] == "A"]
    assert flee_ard(one)["overall"] == pytest.approx((10 / 100 + 100 / 200) / 2)


def test_validate_run_writes_files(run):
    comp, sc = validate_run(run)
    v = pd.read_csv(run / "validation.csv")
    assert len(v) == 5 and list(v.columns[:8]) == ["date", "place", "quantity", "low", "high", "simulated", "hit",
                                                   "rel_error"]
    j = json.loads((run / "validation.json").read_text())
    assert j["overall"]["n"] == 4 and j["objective"] == pytest.approx(sc["objective"])
    assert not list(run.glob(".*.tmp"))


@pytest.mark.parametrize("line,message", [
    ("2018-10-14,Nowhere,present,1,2", "unknown place 'Nowhere'"),
    ("2018-10-14,(Atlantis),present,1,2", "unknown place '(Atlantis)'"),
    ("2018-10-14,Tijuana,people,1,2", "unknown quantity 'people'"),
    ("2018-14-10,Tijuana,present,1,2", "expected YYYY-MM-DD"),
    ("2018-10-14,Tijuana,present,many,2", "expected a number"),
    ("2018-10-14,Tijuana,present,5,2", "below low"),
])
def test_bad_observations_name_file_and_line(run, tmp_path, line, message):
    p = tmp_path / "obs.csv"
    p.write_text("date,place,quantity,low,high\n2018-10-14,Tijuana,present,1,2\n" + line + "\n")
    with pytest.raises(UserError) as e:
        load_observations(p, pd.read_csv(run / "places.csv"))
    assert message in str(e.value) and e.value.where == f"{p}:3"


def _cli(*args):
    import os

    return subprocess.run([sys.executable, "-m", "travesia.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_cli_validate_table_and_unknown_place_exit_2(run, tmp_path):
    r = _cli("validate", run)
    assert r.returncode == 0, r.stderr
    assert "Tijuana" in r.stdout and "overall" in r.stdout and (run / "validation.json").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,place,quantity,low,high\n2018-10-14,Nowhere,present,1,\n")
    r = _cli("validate", run, "--observations", bad)
    assert r.returncode == 2
    assert "unknown place 'Nowhere'" in r.stderr and f"{bad}:2" in r.stderr.replace("\n", "")
    r = _cli("validate", tmp_path / "missing")
    assert r.returncode == 2


def test_cli_validate_forecast_folder(run, tmp_path):
    pytest.importorskip("travesia.ensemble.forecast")
    fc = tmp_path / "fc"
    fc.mkdir()
    (fc / "places.csv").write_text(PLACES)
    (fc / "forecast.csv").write_text(
        "date,place,quantity,p05,p25,p50,p75,p95\n"
        "2018-10-14,Tijuana,present,50,80,100,120,150\n"
        "2018-10-14,Tijuana (Shelter),present,20,40,60,70,90\n")
    (fc / "obs.csv").write_text("date,place,quantity,low,high\n2018-10-14,Tijuana,present,150,170\n")
    r = _cli("validate", fc, "--observations", fc / "obs.csv")
    assert r.returncode == 0, r.stderr
    assert "Tijuana" in r.stdout and (fc / "validation-obs.json").exists()  # other observations: written beside
    (fc / "forecast.csv").rename(fc / "other.csv")
    assert _cli("validate", fc, "--observations", fc / "obs.csv").returncode == 2


def test_caravan_column_reads_that_caravans_own_totals(tmp_path):
    """Two caravans on one road: an observation naming a caravan is compared with its totals alone."""
    from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
    from travesia.analysis.observe import validate_run
    from travesia.api import run_scenario

    yaml = LINE_YAML.replace("""    recruitment:""", """      - name: q
        origin: a
        start: 2020-01-03
        core: 5
        size: 5
        household_size: 1
        destinations: {c: 1}
    recruitment:""")
    obs = ("date,place,quantity,low,high,caravan\n"
           "2020-01-02,Charlie,arrived,10,10,p\n"     # p's ten arrive on day 1
           "2020-01-04,Charlie,arrived,5,5,q\n"       # q's five on day 3 (its own count)
           "2020-01-04,Charlie,arrived,15,15,\n")     # everyone
    f = write_scenario(tmp_path / "s", yaml, LINE_PLACES, LINE_LEGS, obs)
    run_scenario(f, out_dir=tmp_path / "run")
    assert (tmp_path / "run" / "totals_by_caravan.csv").is_file()
    comp, sc = validate_run(tmp_path / "run")
    assert comp["simulated"].tolist() == [10, 5, 15]
    assert comp["hit"].all()
