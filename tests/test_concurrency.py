"""Concurrency and interruption: runs racing to one --out, a folder appearing during a run, SIGKILL
at random moments while results are written. Nothing lost, nothing half-written that looks complete."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
from travesia.output import RUN_MARKER, read_result_csv

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and renames")
RUN_FILES = ("daily.csv", "flows.csv", "totals.csv", "summary.json", "scenario.resolved.yaml", "places.csv",
             "legs.csv", RUN_MARKER)


def start(*args: str) -> subprocess.Popen:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.Popen([sys.executable, "-m", "travesia.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def complete(out: Path) -> None:
    """``out`` is a whole run: every file, the marker, tables that read back, people conserved."""
    for f in RUN_FILES:
        assert (out / f).exists(), f
    s = json.loads((out / "summary.json").read_text())
    assert sum(s["final_states"].values()) == s["people_created"]
    read_result_csv(out / "totals.csv", ["date", "quantity", "place", "people"], whole_days=True)


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


@pytest.mark.parametrize("trial", range(2))
def test_two_runs_racing_to_one_new_out(tmp_path, trial):
    s = write_scenario(tmp_path / "s", LINE_YAML, LINE_PLACES, LINE_LEGS)
    out = tmp_path / "o"
    procs = [start("run", s, "--out", out, "--seed", str(i)) for i in (1, 2)]
    res = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in res)
    assert codes == [0, 2], res
    loser = next(err for rc, err in res if rc == 2)
    assert "Traceback" not in loser and str(out) in loser
    complete(out)
    winner_seed = 1 if res[0][0] == 0 else 2
    assert json.loads((out / "summary.json").read_text())["seed"] == winner_seed  # the winner's, whole
    assert leftovers(tmp_path, "o") == []


def test_a_folder_appearing_during_a_run_is_kept(tmp_path):
    """The issue's reproduction: as soon as the partial folder exists, a folder with a file in it
    appears at --out. It appears whole (made beside it, then renamed into place): an empty folder
    at --out is one a run may take (``commit_partial``), and made then filled in two steps, the run
    could take it between them (the file's write then found no folder: a flaky failure)."""
    s = write_scenario(tmp_path / "s", LINE_YAML.replace("days: 6", "days: 400"), LINE_PLACES, LINE_LEGS)
    out = tmp_path / "race"
    kept = 0
    for attempt in range(6):  # until the race was run at least once (a fast run may commit first)
        if attempt >= 2 and kept:
            break
        p = start("run", s, "--out", out)
        while p.poll() is None and not leftovers(tmp_path, "race"):
            time.sleep(0.001)
        if p.poll() is None:
            mine = tmp_path / "mine"
            mine.mkdir(exist_ok=True)
            (mine / "mine.txt").write_text("precious")
            try:
                os.rename(mine, out)  # never onto a folder that is not empty (the run's result)
            except OSError:
                pass  # the run committed first
        rc = p.wait(timeout=300)
        err = p.stderr.read()
        assert "Traceback" not in err
        if (out / "mine.txt").exists():
            assert (out / "mine.txt").read_text() == "precious"
            assert rc == 2 and str(out) in err
            kept += 1
        else:
            assert rc == 0  # the run committed before the folder could be made: then mkdir failed
            complete(out)
        if out.exists():
            import shutil

            shutil.rmtree(out)
        assert leftovers(tmp_path, "race") == []
    assert kept >= 1  # the race was really run at least once


def test_sigkill_while_writing_never_leaves_a_half_run(tmp_path):
    rng = random.Random(13)
    s = write_scenario(tmp_path / "s", LINE_YAML.replace("days: 6", "days: 300"), LINE_PLACES, LINE_LEGS)
    out = tmp_path / "o"
    first = start("run", s, "--out", out, "--days", "5")
    assert first.wait(timeout=300) == 0
    killed = 0
    for _ in range(3):
        p = start("run", s, "--out", out, "--force")
        while p.poll() is None and not leftovers(tmp_path, "o"):
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.05))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            killed += 1
        p.wait(timeout=300)
        # an earlier complete run, or the new complete one: never a half-written one
        complete(out)
    assert killed >= 1
    left = leftovers(tmp_path, "o")
    p = start("run", s, "--out", out, "--force", "--days", "7")
    assert p.wait(timeout=300) == 0
    err = p.stderr.read()
    complete(out)
    assert json.loads((out / "summary.json").read_text())["days"] == 7
    assert leftovers(tmp_path, "o") == []  # what the killed writes left was cleaned ...
    if left:
        assert f"removed {len(left)} unfinished folder(s)" in err  # ... and said
