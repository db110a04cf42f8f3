"""Hostile input to ``travesia ensemble | calibrate | sensitivity`` and their priors: each case, through the
command line as a user would meet it (in-process, for speed) — exit 2 with one message naming the file,
row, key or option, never a traceback, never a user's file changed; a calibration never loops forever."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
