"""Hostile input to ``travesia ensemble | calibrate | sensitivity`` and their priors: each case, through the
command line as a user would meet it (in-process, for speed) — exit 2 with one message naming the file,
row, key or option, never a traceback, never a user's file changed; a calibration never loops forever."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
from test_hardening import tv, user_error

OBS = "date,place,quantity,low,high\n2020-01-02,Charlie,arrived,0,10\n2020-01-04,Charlie,arrived,5,10\n"
ONE = "priors:\n  movement.foot_km_per_day: {dist: uniform, low: 35, high: 65}\n"
CAL = ("--priors", "one.yaml", "--trials", "2", "--seeds", "1", "--workers", "1")
ABC = ("--priors", "one.yaml", "--method", "abc", "--population", "10", "--generations", "1", "--check-members", "0",
       "--workers", "1")
ENS = ("--members", "4", "--days", "4", "--workers", "1")


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A folder holding the line scenario (``s``, with observations) and ``one.yaml``; the current folder."""
    write_scenario(tmp_path / "s", LINE_YAML, LINE_PLACES, LINE_LEGS, OBS)
    (tmp_path / "one.yaml").write_text(ONE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ----------------------------------------------------------------------------------- 1: calibrate stops


def test_calibrate_refuses_observations_outside_the_run(here, capsys):
    (here / "late.csv").write_text("date,place,quantity,low,high\n2030-01-01,Charlie,present,1,2\n")
    rc, _, err = tv("calibrate", "s", *CAL, "--observations", "late.csv", "--out", "h", capsys=capsys)
    user_error(rc, err, "late.csv", "no observation falls in the run's dates")
    rc, _, err = tv("calibrate", "s", *ABC, "--observations", "late.csv", "--out", "h", capsys=capsys)
    user_error(rc, err, "late.csv", "no observation falls in the run's dates")


def test_calibrate_header_only_observations_names_the_file(here, capsys):
    (here / "hdr.csv").write_text("date,place,quantity,low,high\n")
    rc, _, err = tv("calibrate", "s", *CAL, "--observations", "hdr.csv", "--out", "h", capsys=capsys)
    user_error(rc, err, "hdr.csv", "no observations")
    assert "pass --observations" not in err


def test_calibrate_whose_trials_all_fail_stops(here, capsys, monkeypatch):
    import travesia.ensemble.calibrate as cal

    calls = []
    monkeypatch.setattr(cal, "trial_objective", lambda *a: calls.append(1) or float("nan"))
    rc, _, err = tv("calibrate", "s", *CAL[:-4], "--seeds", "1", "--workers", "1", "--batch", "4", "--out", "h",
                    capsys=capsys)
    user_error(rc, err, "observations.csv", f"the last {cal.MAX_FAILED} trials all failed")
    assert len(calls) == cal.MAX_FAILED


# ----------------------------------------------------------------------------------- 3: resuming a broken calibration


@pytest.fixture
def cal_dir(here, capsys) -> Path:
    rc, _, err = tv("calibrate", "s", *CAL, "--out", "cal", capsys=capsys)
    assert rc == 0, err
    return here / "cal"


@pytest.mark.parametrize("file, text, needle", [
    ("study.db", "garbage\n", "not an SQLite database"),
    ("calibration.json", "{{\n", "not JSON"),
    ("calibration.json", "[1]\n", "a JSON list"),
])
def test_resume_of_a_broken_calibration_names_the_file(cal_dir, capsys, file, text, needle):
    (cal_dir / file).write_text(text)
    before = snapshot(cal_dir)
    rc, _, err = tv("calibrate", "s", *CAL, "--out", "cal", capsys=capsys)
    user_error(rc, err, f"cal/{file}", needle, "cannot be resumed", "another --out")
    assert snapshot(cal_dir) == before


@pytest.fixture
def abc_dir(here, capsys) -> Path:
    rc, _, err = tv("calibrate", "s", *ABC, "--out", "abc", capsys=capsys)
    assert rc == 0, err
    return here / "abc"


def test_resume_of_a_broken_abc_history_names_the_file(abc_dir, capsys):
    db = abc_dir / "abc.db"
    keep = db.read_bytes()
    db.write_text("garbage\n")
    before = snapshot(abc_dir)
    rc, _, err = tv("calibrate", "s", *ABC, "--out", "abc", capsys=capsys)
    user_error(rc, err, "abc/abc.db", "not an SQLite database", "cannot be resumed", "another --out")
    assert snapshot(abc_dir) == before
    db.write_bytes(keep)
    with sqlite3.connect(db) as c:
        c.execute("delete from populations")
    before = snapshot(abc_dir)
    rc, _, err = tv("calibrate", "s", *ABC, "--out", "abc", capsys=capsys)
    user_error(rc, err, "abc/abc.db", "cannot be resumed", "another --out")
    assert snapshot(abc_dir) == before


# ----------------------------------------------------------------------------------- 2: ensemble --posterior

HDR = "trial,objective,movement.foot_km_per_day\n"


@pytest.mark.parametrize("name, data, needles", [
    ("scenario.yaml", b"name: x\nstart: 2020-01-01\n", ("a YAML file", "--params")),
    ("empty.csv", b"", ("empty file",)),
    ("nonutf.csv", HDR.encode() + b"0,1,\xff\xfe\n", ("not UTF-8",)),
    ("quote.csv", HDR.encode() + b'0,1,"40\n', ("quote.csv:2", "never closed")),
    ("extra.csv", HDR.encode() + b"0,1,40,99,99\n", ("extra.csv:2", "5 fields, expected 3")),
    ("short.csv", HDR.encode() + b"0,1\n", ("short.csv:2", "2 fields, expected 3")),
    ("word.csv", HDR.encode() + b"0,1,fast\n", ("word.csv:2", "movement.foot_km_per_day", "expected a number")),
    ("inf.csv", HDR.encode() + b"0,1,inf\n", ("inf.csv:2", "finite")),
    ("header.csv", HDR.encode(), ("no rows",)),
])
def test_ensemble_posterior_that_is_not_a_posterior(here, capsys, name, data, needles):
    (here / name).write_bytes(data)
    rc, _, err = tv("ensemble", "s", *ENS, "--posterior", name, "--out", "x", capsys=capsys)
    user_error(rc, err, name, *needles)
    assert (here / name).read_bytes() == data
    assert not (here / "x").exists()


def test_ensemble_posterior_rows_taken_as_written(here, capsys):
    (here / "post.csv").write_text(HDR + "0,1,40\n1,,45.5\n")
    rc, _, err = tv("ensemble", "s", *ENS, "--posterior", "post.csv", "--out", "x", capsys=capsys)
    assert rc == 0, err
    mem = pd.read_csv(here / "x" / "members.csv")
    assert mem["movement.foot_km_per_day"].tolist() == [40.0, 45.5, 40.0, 45.5]


# ----------------------------------------------------------------------------------- 4: members too large

HUGE = "priors:\n  populations.p.size: {dist: uniform, low: 1e12, high: 1e13, integer: true}\n"
SMALL_MEMORY = {"TRAVESIA_MEMORY_BYTES": str(2**30)}


def test_a_prior_too_large_is_blamed_before_any_run(here, capfd):
    (here / "huge.yaml").write_text(HUGE)
    rc, _, err = tv("ensemble", "s", *ENS, "--priors", "huge.yaml", "--scale", "0.05", "--out", "x", capsys=capfd,
                    env=SMALL_MEMORY)
    user_error(rc, err, "huge.yaml", "populations.p.size", "member")
    assert "--scale" not in err.split(":")[0] and "Compute Failed" not in err
    assert not (here / "x").exists()


def test_a_set_size_too_large_is_blamed_on_set(here, capfd):
    rc, _, err = tv("ensemble", "s", "--members", "2", "--days", "4", "--workers", "1", "--seeds-only",
                    "--set", "populations.p.size=2000000000", "--out", "y", capsys=capfd, env=SMALL_MEMORY)
    user_error(rc, err, "--set", "populations.p.size=2,000,000,000", "GiB")
    assert "Compute Failed" not in err


def test_a_users_error_in_a_worker_task_is_an_answer_not_a_crash(here, monkeypatch):
    import pickle

    from travesia.ensemble.runner import MemberSpec, RunConfig, UserFailure, run_batch
    from travesia.scenario.load import load_scenario

    monkeypatch.setenv("TRAVESIA_MEMORY_BYTES", str(2**30))
    blob = pickle.dumps(load_scenario("s"))
    res = run_batch(blob, [MemberSpec(member=3, seed=1, params={"populations.p.size": 2_000_000_000})],
                    RunConfig(days=2))
    assert isinstance(res, UserFailure) and "GiB" in res.message


# ----------------------------------------------------------------------------------- 5: --set over a prior; fixed parameters

TWO = ONE + "  movement.rest_prob: {dist: uniform, low: 0.1, high: 0.3}\n"


def test_set_fixes_a_parameter_that_has_a_prior(here, capsys):
    (here / "two.yaml").write_text(TWO)
    rc, out, err = tv("ensemble", "s", *ENS, "--priors", "two.yaml", "--set", "movement.foot_km_per_day=99",
                      "--out", "x", capsys=capsys)
    assert rc == 0, err
    assert "movement.foot_km_per_day = 99 for every member" in out
    mem = pd.read_csv(here / "x" / "members.csv")
    assert "movement.foot_km_per_day" not in mem.columns and "movement.rest_prob" in mem.columns
    meta = json.loads((here / "x" / "ensemble.json").read_text())
    assert meta["fixed"] == {"movement.foot_km_per_day": 99}
    assert list(meta["priors"]) == ["movement.rest_prob"]
    # --set fixing every prior leaves nothing uncertain: said, with the way out
    rc, _, err = tv("ensemble", "s", *ENS, "--priors", "one.yaml", "--set", "movement.foot_km_per_day=99",
                    "--out", "y", capsys=capsys)
    user_error(rc, err, "--set", "movement.foot_km_per_day", "--seeds-only")
    # a --params file is an overlay of the scenario's values (as scenario.yaml is): its prior still varies it
    (here / "p.yaml").write_text("movement:\n  foot_km_per_day: 99\n")
    rc, out, err = tv("ensemble", "s", *ENS, "--priors", "two.yaml", "--params", "p.yaml", "--out", "z", capsys=capsys)
    assert rc == 0, err
    meta = json.loads((here / "z" / "ensemble.json").read_text())
    assert meta["fixed"] == {} and set(meta["priors"]) == {"movement.foot_km_per_day", "movement.rest_prob"}
    assert pd.read_csv(here / "z" / "members.csv")["movement.foot_km_per_day"].between(35, 65).all()


@pytest.mark.parametrize("key", ["days", "seed", "start"])
def test_a_prior_on_a_parameter_members_share_is_refused(here, capsys, key):
    (here / "p.yaml").write_text(f"priors:\n  {key}: {{dist: uniform, low: 2, high: 5}}\n")
    rc, _, err = tv("ensemble", "s", *ENS, "--priors", "p.yaml", "--out", "x", capsys=capsys)
    user_error(rc, err, "p.yaml:2", key, "cannot vary")


# ----------------------------------------------------------------------------------- 6: --workers

def test_too_many_local_workers_refused(here, capsys, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    rc, _, err = tv("ensemble", "s", "--seeds-only", "--members", "2", "--days", "2", "--workers", "9",
                    "--out", "x", capsys=capsys)
    user_error(rc, err, "--workers", "at most 8")
    rc, _, err = tv("calibrate", "s", *CAL[:-2], "--workers", "9", "--out", "c", capsys=capsys)
    user_error(rc, err, "--workers")


# ----------------------------------------------------------------------------------- 7: messages name the option or file

def test_unknown_places_name_the_option(here, capsys):
    rc, _, err = tv("ensemble", "s", "--seeds-only", *ENS, "--place", "Atlantis", "--out", "x", capsys=capsys)
    user_error(rc, err, "--place", "Atlantis")
    rc, _, err = tv("sensitivity", "s", "--samples", "2", "--days", "4", "--workers", "1", "--priors", "one.yaml",
                    "--shelter", "Bravo", "--destination", "Atlantis", "--out", "x", capsys=capsys)
    user_error(rc, err, "--destination", "Atlantis")


def test_priors_nested_or_empty_name_the_file_or_option(here, capsys):
    (here / "nest.yaml").write_text("priors:\n  priors: {dist: uniform, low: 1, high: 10}\n")
    rc, _, err = tv("ensemble", "s", *ENS, "--priors", "nest.yaml", "--out", "x", capsys=capsys)
    user_error(rc, err, "nest.yaml:2", "'priors'", "not a number")
    rc, _, err = tv("ensemble", "s", *ENS, "--priors", "", "--out", "x", capsys=capsys)
    user_error(rc, err, "--priors", "empty name")
