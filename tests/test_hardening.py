"""Regression tests of the hardening issue: each numbered defect, through the command line as a user
would meet it (in-process, for speed) — exit 2 with one message naming the file, line or option,
never a traceback, never a user's file lost."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
from travesia import output
from travesia.errors import UserError

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def tv(*args: str, capsys=None, env: dict | None = None) -> tuple[int, str, str]:
    """Run ``travesia ARGS`` in this process; return (exit code, stdout, stderr)."""
    from travesia.cli import main

    old_argv, old_env = sys.argv, dict(os.environ)
    sys.argv = ["travesia", *map(str, args)]
    os.environ.update(env or {})
    try:
        try:
            main()
            rc = 0
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = old_argv
        os.environ.clear()
        os.environ.update(old_env)
    if capsys is None:
        return rc, "", ""
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def user_error(rc: int, err: str, *needles: str) -> None:
    """Exit 2, one ``error:`` line naming each needle, no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, err)


def Y(extra: str) -> str:  # noqa: N802 - a tiny test helper named like the constant it extends
    """LINE_YAML with more top-level keys (written at its indentation)."""
    import textwrap

    return LINE_YAML.rstrip(" ") + textwrap.indent(extra, "    ")


def scen(tmp_path: Path, yaml: str = LINE_YAML, places: str = LINE_PLACES, legs: str = LINE_LEGS,
         name: str = "s") -> Path:
    return write_scenario(tmp_path / name, yaml, places, legs)


def edit(folder: Path, old: str, new: str, file: str = "scenario.yaml") -> None:
    p = folder / file
    t = p.read_text()
    assert old in t, (old, t)
    p.write_text(t.replace(old, new, 1))


def line_of(folder: Path, needle: str, file: str = "scenario.yaml") -> int:
    return next(i for i, ln in enumerate((folder / file).read_text().splitlines(), 1) if needle in ln)


@pytest.fixture
def run1(tmp_path, capsys) -> Path:
    """A finished run of the line scenario."""
    s = scen(tmp_path)
    rc, _, err = tv("run", s, "--out", tmp_path / "r", capsys=capsys)
    assert rc == 0, err
    return tmp_path / "r"


# ----------------------------------------------------------------------------------- 1: commits


def test_1_folder_appearing_during_the_write_is_never_replaced(tmp_path, monkeypatch, capsys):
    s = scen(tmp_path)
    out = tmp_path / "o"
    real = output.commit_partial

    def intruder(tmp, o, what):  # someone makes the folder while the run writes
        Path(o).mkdir()
        (Path(o) / "mine.txt").write_text("precious")
        return real(tmp, o, what)

    monkeypatch.setattr(output, "commit_partial", intruder)
    rc, _, err = tv("run", s, "--out", out, capsys=capsys)
    user_error(rc, err, str(out), "left untouched")
    assert (out / "mine.txt").read_text() == "precious"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]


@pytest.mark.parametrize("renameat2", [True, False])
def test_1_two_commits_to_one_new_out_one_wins(tmp_path, monkeypatch, renameat2):
    if not renameat2:
        monkeypatch.setenv("TRAVESIA_NO_RENAMEAT2", "1")
    out = tmp_path / "o"
    a, b = output.new_partial(out, False), output.new_partial(out, False)
    (a / "x.csv").write_text("a\n")
    (b / "x.csv").write_text("b\n")
    output.commit_partial(a, out, "run")
    with pytest.raises(UserError, match="left untouched"):
        output.commit_partial(b, out, "run")
    assert (out / "x.csv").read_text() == "a\n"
    assert not b.exists()
    # with --force checked at the start, an earlier result is replaced atomically
    c = output.new_partial(out, True)
    (c / "x.csv").write_text("c\n")
    output.commit_partial(c, out, "run")
    assert (out / "x.csv").read_text() == "c\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_1_renameat2_noreplace_refuses_an_existing_folder(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    try:
        done = output._renameat2(a, b, 1)
    except OSError as e:
        assert e.errno == 17  # EEXIST: nothing replaced
        assert a.is_dir() and b.is_dir()
        return
    assert not done  # no renameat2 on this system: the fallback is used


# ----------------------------------------------------------------------------------- 2: report --out


def test_2_report_out_never_overwrites_a_users_file(run1, tmp_path, capsys):
    victim = tmp_path / "s" / "scenario.yaml"
    before = victim.read_bytes()
    rc, _, err = tv("report", run1, "--out", victim, capsys=capsys)
    user_error(rc, err, str(victim), "not written by travesia")
    assert victim.read_bytes() == before
    rep = tmp_path / "rep.html"
    assert tv("report", run1, "--out", rep, capsys=capsys)[0] == 0
    rc, _, err = tv("report", run1, "--out", rep, capsys=capsys)
    user_error(rc, err, "--force")
    assert tv("report", run1, "--out", rep, "--force", capsys=capsys)[0] == 0


def test_2_write_file_primitive(tmp_path):
    p = tmp_path / "sub" / "f.html"
    output.write_file(p, "travesia report 1", signature=b"travesia report")
    assert p.read_text() == "travesia report 1"
    with pytest.raises(UserError, match="--force"):
        output.write_file(p, "2", signature=b"travesia report")
    output.write_file(p, "travesia report 2", True, signature=b"travesia report")
    mine = tmp_path / "mine.txt"
    mine.write_text("precious")
    with pytest.raises(UserError, match="not written by travesia"):
        output.write_file(mine, "x", True, signature=b"travesia report")
    assert mine.read_text() == "precious"
    with pytest.raises(UserError, match="is a folder"):
        output.may_write_file(tmp_path, True)


# ----------------------------------------------------------------------------------- 3: --force


def test_3_force_refuses_a_run_folder_holding_user_files(run1, tmp_path, capsys):
    (run1 / "my-notes.txt").write_text("precious")
    rc, _, err = tv("run", tmp_path / "s", "--out", run1, "--force", capsys=capsys)
    user_error(rc, err, "my-notes.txt", "did not write")
    assert (run1 / "my-notes.txt").read_text() == "precious"
    (run1 / "my-notes.txt").unlink()
    # what travesia wrote later (validation, reports) is its own: --force replaces it
    assert tv("validate", run1, capsys=capsys)[0] in (0, 2)
    assert tv("report", run1, capsys=capsys)[0] == 0
    rc, _, err = tv("run", tmp_path / "s", "--out", run1, "--force", capsys=capsys)
    assert rc == 0, err


# ----------------------------------------------------------------------------------- 4: finite, in range


@pytest.mark.parametrize("old,new,needle", [
    ("destinations: {c: 1}", "destinations: {c: .nan}", "destinations.c"),
    ("destinations: {c: 1}", "destinations: {c: -1}", "destinations"),
    ("destinations: {c: 1}", "destinations: {c: 0}", "destinations"),
    ("destinations: {c: 1}", "destinations: {c: 1}\n    intentions: {us: .nan, mexico: 0.15}", "intentions.us"),
    ("destinations: {c: 1}", "destinations: {c: 1}\n    intentions: {us: 0, mexico: 0}", "intentions"),
    ("foot_km_per_day: 50", "foot_km_per_day: .inf", "foot_km_per_day"),
    ("household_size: 1", "household_size: .nan", "household_size"),
])
def test_4_every_number_finite_and_in_range_in_scenario_yaml(tmp_path, capsys, old, new, needle):
    s = scen(tmp_path)
    edit(s, old, new)
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s, new.splitlines()[-1].strip()[:12])}", needle)


def test_4_nan_in_set_params_events_and_priors(tmp_path, capsys):
    s = scen(tmp_path)
    rc, _, err = tv("check", s, "--set", "movement.rest_prob=.nan", capsys=capsys)
    user_error(rc, err, "--set", "rest_prob")
    pf = tmp_path / "p.yaml"
    pf.write_text("movement.rest_prob: .inf\n")
    rc, _, err = tv("run", s, "--params", pf, "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, "--params", "rest_prob")
    assert not (tmp_path / "o").exists()
    s2 = scen(tmp_path, Y("timeline:\n  - {date: 2020-01-02, set: {movement.rest_prob: .nan}}\n"), name="s2")
    rc, _, err = tv("check", s2, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s2, 'rest_prob: .nan')}", "timeline")
    s3 = scen(tmp_path, Y("priors:\n  movement.rest_prob: {dist: normal, mean: .nan, sd: 0.1}\n"),
              name="s3")
    rc, _, err = tv("check", s3, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s3, 'mean: .nan')}", "priors")


# ----------------------------------------------------------------------------------- 5: counts


def test_5_counts_beyond_int32_are_stored_wide(tmp_path, capsys):
    from travesia.network import Network
    from travesia.scenario.load import load_scenario

    s = scen(tmp_path)
    edit(s, "c,Charlie,Bland,14.0,-89.0,destination,", "c,Charlie,Bland,14.0,-89.0,destination,4295043178",
         "places.csv")
    ls = load_scenario(s)
    net = Network.from_tables(ls.places, ls.legs)
    assert net.capacity[net.index["c"]] == 4_295_043_178  # not 75,882
    rc, _, err = tv("run", s, "--out", tmp_path / "o", capsys=capsys)
    assert rc == 0, err


@pytest.mark.parametrize("edit_args,needle", [
    (("c,Charlie,Bland,14.0,-89.0,destination,", "c,Charlie,Bland,14.0,-89.0,destination,1e308", "places.csv"),
     "places.csv:5"),
    (("size: 10\n", f"size: {2**64}\n"), "size"),
    (("size: 10\n", "size: 1e300\n"), "size"),
])
def test_5_absurd_counts_rejected_at_load(tmp_path, capsys, edit_args, needle):
    s = scen(tmp_path)
    edit(s, *edit_args)
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, needle)


# ----------------------------------------------------------------------------------- 6, 14: ensemble options


@pytest.mark.parametrize("args,option", [
    (["--days", "0"], "--days"), (["--days", "-3"], "--days"), (["--batch", "0"], "--batch"),
    (["--batch", "-3"], "--batch"), (["--seed", "-1"], "--seed"), (["--scale", "nan"], "--scale"),
    (["--scale", "inf"], "--scale"), (["--scheduler", "not-an-address"], "--scheduler"),
    (["--scheduler", "tcp://host:99999"], "--scheduler"), (["--workers", "0"], "--workers"),
    (["--members", "0"], "--members"),
])
def test_6_14_ensemble_options_checked_before_any_work(tmp_path, capsys, monkeypatch, args, option):
    import travesia.ensemble.runner as runner

    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(runner, "dask_client", no_cluster)
    members = [] if "--members" in args else ["--members", "2"]
    rc, _, err = tv("ensemble", scen(tmp_path), "--seeds-only", *members, "--out", tmp_path / "e", *args,
                    capsys=capsys)
    user_error(rc, err, option)
    assert not (tmp_path / "e").exists()


def test_14_a_worker_dying_at_cluster_start_up_is_one_clear_message(monkeypatch):
    import distributed

    from travesia.ensemble.runner import dask_client

    class Dies:
        def __init__(self, *a, **k):
            raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", Dies)
    with pytest.raises(UserError, match="could not start a local Dask cluster.*Nanny failed to start"):
        with dask_client(2):
            pass


# ----------------------------------------------------------------------------------- 7: cross-checks


def test_7_timeline_event_for_an_unknown_country(tmp_path, capsys):
    s = scen(tmp_path, Y("timeline:\n  - {date: 2020-01-02, set: {countries.Atlantis.rides_blocked: true}}\n"))
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s, 'Atlantis')}", "unknown country 'Atlantis'")


def test_7_duplicate_population_names(tmp_path, capsys):
    y = LINE_YAML.replace("    recruitment:", "      - {name: p, origin: a, start: 2020-01-01, core: 1, size: 1}\n"
                          "    recruitment:")
    s = scen(tmp_path, y)
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "scenario.yaml", "'p' is used twice")


def test_7_absurd_leg_length(tmp_path, capsys):
    s = scen(tmp_path)
    edit(s, "a,b,50,", "a,b,1e39,", "legs.csv")
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "legs.csv:2", "km")


@pytest.mark.parametrize("bus,needle", [
    ("{place: a, start: 2020-01-04, end: 2020-01-02, seats_per_day: 5}", "before start"),
    ("{place: a, start: 2021-01-01, end: 2021-01-05, seats_per_day: 5}", "outside the simulated period"),
])
def test_7_buses_in_order_and_in_the_period(tmp_path, capsys, bus, needle):
    s = scen(tmp_path, Y(f"buses:\n  - {bus}\n"))
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s, 'seats_per_day')}", needle)


# ----------------------------------------------------------------------------------- 9: markup


def test_9_markup_in_user_text_is_printed_as_written(tmp_path, capsys):
    s = scen(tmp_path, LINE_YAML.replace("name: line", "name: 'line [/x] [bold]'"),
             LINE_PLACES.replace("Charlie", "Charlie [/x]"), name="s[v2]")
    rc, out, err = tv("run", s, "--out", tmp_path / "runs[v2]", capsys=capsys)
    assert rc == 0, err
    assert "line [/x] [bold]" in out and "Charlie [/x]" in out and "runs[v2]" in out
    rc, _, err = tv("check", s, "--set", "movement.foo[/x]=1", capsys=capsys)
    user_error(rc, err, "--set", "movement.foo[/x]")
    rc, _, err = tv("check", tmp_path / "nothing[/x][v2]", capsys=capsys)
    user_error(rc, err, "nothing[/x][v2]")


# ----------------------------------------------------------------------------------- 10: YAML bombs


BOMB = ['  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + \
    [f'  a{i}: &a{i} [' + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]


def test_10_yaml_alias_bomb_refused_before_expansion(tmp_path, capsys):
    import time

    s = scen(tmp_path, Y("flee:\n" + "\n".join(BOMB) + "\n"))
    t0 = time.perf_counter()
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "scenario.yaml", "alias")
    assert time.perf_counter() - t0 < 10
    bomb = "[&a0 [1,1,1,1,1,1,1,1,1,1]," + ",".join(
        f"&a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)) + "]"
    rc, _, err = tv("check", s.parent / "nothing", "--set", f"flee.x={bomb}", capsys=capsys)
    user_error(rc, err, "--set", "alias")


def test_10_oversized_and_deep_yaml(tmp_path, capsys):
    from travesia.scenario import load

    s = scen(tmp_path)
    (s / "scenario.yaml").write_text(LINE_YAML.replace("    ", "", 1) + "description: '" + "x" * (load.MAX_YAML_BYTES) + "'\n")
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "scenario.yaml", "at most")
    (s / "scenario.yaml").write_text("flee: " + "[" * 5000 + "]" * 5000 + "\n")
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "scenario.yaml", "deep")


# ----------------------------------------------------------------------------------- 11: values


def test_11_impossible_date_named_by_line(tmp_path, capsys):
    s = scen(tmp_path)
    edit(s, "start: 2020-01-01\ndays", "start: 2020-02-30\ndays")
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "scenario.yaml:2", "2020-02-30")


def test_11_memory_estimated_before_allocating(tmp_path, capsys):
    s = scen(tmp_path)
    edit(s, "size: 10\n", "size: 1000000000\n")
    edit(s, "core: 10\n", "core: 1000\n")
    rc, _, err = tv("run", s, "--out", tmp_path / "o", capsys=capsys, env={"TRAVESIA_MEMORY_BYTES": str(2**30)})
    user_error(rc, err, "GiB", "enough for about")
    rc, _, err = tv("run", scen(tmp_path, name="t"), "--scale", "10000", "--out", tmp_path / "o", capsys=capsys,
                    env={"TRAVESIA_MEMORY_BYTES": str(2**20)})
    user_error(rc, err, "--scale", "or less")
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------------- 12: paths


def test_12_path_problems(tmp_path, capsys, run1):
    s = tmp_path / "s"
    f = tmp_path / "FILE"
    f.write_text("x")
    rc, _, err = tv("run", s, "--out", f / "sub", capsys=capsys)
    user_error(rc, err, "is a file")
    rc, _, err = tv("init", "caravan-2018", f / "sub", capsys=capsys)
    user_error(rc, err, "FILE")
    rc, _, err = tv("run", s, "--out", tmp_path / ("x" * 300), capsys=capsys)
    user_error(rc, err, "too long")
    rc, _, err = tv("validate", run1, "-O", tmp_path, capsys=capsys)
    user_error(rc, err, str(tmp_path))
    assert f.read_text() == "x"


@pytest.mark.skipif(ROOT_USER, reason="permissions do not bind root")
def test_12_read_only_places_checked_before_simulating(tmp_path, capsys, run1, monkeypatch):
    import travesia.api as api

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setattr(api, "Sim", None)  # simulating would fail: the check must come first
    try:
        rc, _, err = tv("run", tmp_path / "s", "--out", ro / "o", capsys=capsys)
        user_error(rc, err, "read-only")
        monkeypatch.undo()
        empty = tmp_path / "empty"
        empty.mkdir()
        empty.chmod(0o555)
        rc, _, err = tv("run", tmp_path / "s", "--out", empty, capsys=capsys)
        assert rc in (0, 2) and "Traceback" not in err
        assert not [p for p in tmp_path.iterdir() if ".old-" in p.name or ".partial-" in p.name]
        run1.chmod(0o555)
        rc, _, err = tv("validate", run1, capsys=capsys)
        user_error(rc, err, str(run1))
    finally:
        for p in (ro, run1, tmp_path / "empty"):
            if p.exists():
                p.chmod(0o755)


# ----------------------------------------------------------------------------------- 13: broken result folders


@pytest.mark.parametrize("damage,needle", [
    (lambda t: t.write_text(""), "empty file"),
    (lambda t: t.write_bytes(b"date,quantity\x00\xff\xfe,place\n"), "not UTF-8"),
    (lambda t: t.write_bytes(t.read_bytes()[: len(t.read_bytes()) // 2]), "cut short"),
    (lambda t: t.write_text("\n".join(t.read_text().splitlines()[:-7]) + "\n"), "rows where the other dates"),
    (lambda t: t.write_text("a,b\n1,2\n"), "missing column"),
])
def test_13_broken_totals_blamed_on_totals(run1, tmp_path, capsys, damage, needle):
    obs = tmp_path / "obs.csv"
    obs.write_text("date,place,quantity,low,high\n2020-01-03,Charlie,arrived,0,100\n")
    damage(run1 / "totals.csv")
    rc, _, err = tv("validate", run1, "-O", obs, capsys=capsys)
    user_error(rc, err, "totals.csv", needle)
    rc, _, err = tv("report", run1, "--out", tmp_path / "r.html", capsys=capsys)
    user_error(rc, err, "totals.csv")


# ----------------------------------------------------------------------------------- 15: last resort


def test_15_unexpected_error_one_line_log_and_exit_70(tmp_path, capsys, monkeypatch):
    import travesia.api as api

    def boom(*a, **k):
        raise RuntimeError("something impossible [/x]")

    monkeypatch.setattr(api, "Sim", boom)
    rc, _, err = tv("run", scen(tmp_path), "--out", tmp_path / "o", capsys=capsys,
                    env={"TRAVESIA_LOG_DIR": str(tmp_path / "logs")})
    assert rc == 70
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "internal error while setting up the simulation" in lines[0] and "something impossible [/x]" in lines[0]
    logs = list((tmp_path / "logs").iterdir())
    assert len(logs) == 1 and logs[0].name in lines[0]
    text = logs[0].read_text()
    assert "Traceback" in text and "RuntimeError: something impossible" in text
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------------- 16: messages


def test_16_errors_from_set_are_blamed_on_set(tmp_path, capsys):
    s = scen(tmp_path)
    for item, needle in (("crossings.atlantis.rule=closed", "atlantis"), ("start=2021-01-01", "start"),
                         ("countries.Atlantis.rides_blocked=true", "Atlantis")):
        rc, _, err = tv("check", s, "--set", item, capsys=capsys)
        user_error(rc, err, "error: --set:", needle)
        assert "scenario.yaml" not in err


def test_16_days_and_seed_named_as_options(tmp_path, capsys):
    s = scen(tmp_path)
    rc, _, err = tv("run", s, "--days", "100000", "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, "error: --days:")
    rc, _, err = tv("run", s, "--seed", "-1", "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, "error: --seed:")


def test_16_duplicated_header_column(tmp_path, capsys):
    s = scen(tmp_path)
    edit(s, "id,name,country,lat,lon,kind,capacity", "id,name,country,lat,lon,kind,name", "places.csv")
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "places.csv:1", "column name appears twice")


def test_16_long_messages_not_wrapped_off_a_terminal(tmp_path):
    from conftest import cli

    deep = tmp_path / ("very-long-folder-name-" * 6) / "scenario"
    r = cli("check", str(deep))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and str(deep) in r.stderr


# ----------------------------------------------------------------------------------- 17: folders


def test_17_run_folder_follows_the_umask(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert tv("run", scen(tmp_path), "--out", tmp_path / "o", capsys=capsys)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "o" / "totals.csv").stat().st_mode) == 0o644


def test_17_symlinked_out_is_followed_and_kept(tmp_path, capsys):
    s = scen(tmp_path)
    target = tmp_path / "elsewhere" / "run"
    target.parent.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    assert tv("run", s, "--out", link, capsys=capsys)[0] == 0
    assert link.is_symlink() and (target / "totals.csv").exists()
    assert tv("run", s, "--out", link, "--force", "--days", "3", capsys=capsys)[0] == 0
    assert link.is_symlink() and json.loads((target / "summary.json").read_text())["days"] == 3


def test_17_leftovers_of_a_killed_write_are_cleaned_and_said(tmp_path, capsys):
    s = scen(tmp_path)
    for name in (".o.partial-abc123", ".o.old-def456"):
        d = tmp_path / name
        d.mkdir()
        (d / "daily.csv").write_text("half")
    (tmp_path / ".o.lock-abc123").write_text("")  # its writer is gone: nobody holds the lock
    live = output.new_partial(tmp_path / "o", False)  # a write in progress in this process is left alone
    rc, _, err = tv("run", s, "--out", tmp_path / "o", capsys=capsys)
    assert rc == 0, err
    assert "removed 2 unfinished folder(s)" in err and ".o.partial-abc123" in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".o.")) == \
        [live.name.replace(".partial-", ".lock-"), live.name]
    output.discard_partial(live)


def test_totals_reader_accepts_a_good_run(run1):
    df = output.read_result_csv(run1 / "totals.csv", ["date", "quantity", "place", "people"], whole_days=True)
    assert len(df) and np.issubdtype(df["people"].dtype, np.number)
    assert pd.read_csv(run1 / "totals.csv").shape == df.shape


# ----------------------------------------------------------------------------------- 18: hostile-input sweep


def test_18_dates_past_the_calendar(tmp_path, capsys):
    s = scen(tmp_path, LINE_YAML.replace("2020-01-01", "9999-12-30"))
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s, 'days: 6')}", "days", "9999-12-31")
    s2 = scen(tmp_path, LINE_YAML.replace("2020-01-01", "9999-12-20"), name="s2")
    rc, _, err = tv("run", s2, "--days", "100", "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, "error: --days:", "9999-12-31")
    rc, _, err = tv("ensemble", s2, "--seeds-only", "--members", "2", "--days", "100", "--out", tmp_path / "e",
                    capsys=capsys)
    user_error(rc, err, "error: --days:", "9999-12-31")
    assert not (tmp_path / "o").exists() and not (tmp_path / "e").exists()
    s3 = scen(tmp_path, Y("buses:\n  - {place: a, start: 0001-01-02, end: 0001-01-03, seats_per_day: 5, "
                          "shift_days: -90}\n").replace("2020-01-01", "0001-01-01"), name="s3")
    rc, _, err = tv("check", s3, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line_of(s3, 'shift_days')}", "shift_days")


@pytest.mark.parametrize("file,old,new,needles", [
    ("places.csv", "Alpha", '"Alpha' + "x" * 200_000, ("places.csv:2", "not readable as CSV", "quote")),
    ("legs.csv", "from,to,km,modes", "from;to;km;modes", ("legs.csv:1", "separated by ';'", "comma-separated")),
])
def test_18_csv_the_csv_module_cannot_read_or_split(tmp_path, capsys, file, old, new, needles):
    s = scen(tmp_path)
    edit(s, old, new, file)
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, *needles)


def test_18_validate_names_a_missing_observations_file_and_a_folder_that_is_no_run(run1, tmp_path, capsys):
    rc, _, err = tv("validate", run1, "-O", tmp_path / "nope.csv", capsys=capsys)
    user_error(rc, err, "--observations", "nope.csv", "not found")
    rc, _, err = tv("validate", tmp_path / "s", capsys=capsys)  # the scenario folder, not its run
    user_error(rc, err, "not a run folder", "totals.csv")


def flee_folder(folder: Path) -> Path:
    """A two-location FLEE input folder that imports cleanly."""
    inp, src = folder / "input_csv", folder / "source_data"
    inp.mkdir(parents=True)
    src.mkdir()
    (inp / "locations.csv").write_text("#name,region,country,latitude,longitude,location_type,conflict_date,population\n"
                                       "Alpha,North,Homeland,10.0,20.0,conflict_zone,0,5000\n"
                                       "Camp One,South,Neighbour,11.0,21.0,camp,,\n")
    (inp / "routes.csv").write_text("#name1,name2,distance,forced_redirection\nAlpha,Camp One,100,0\n")
    (inp / "sim_period.csv").write_text("StartDate,2020-01-01\nLength,10\n")
    (src / "data_layout.csv").write_text("total,total.csv\nCamp One,camp.csv\n")
    (src / "total.csv").write_text("2020-01-01,0\n2020-01-02,100\n")
    (src / "camp.csv").write_text("2020-01-01,0\n2020-01-02,100\n")
    (folder / "simsetting.yml").write_text("move_rules:\n  max_move_speed: 300\n")
    return folder


@pytest.mark.parametrize("file,text,needles", [
    ("input_csv/sim_period.csv", "StartDate,2020-01-01\nLength,999999999\n", ("sim_period.csv:2", "Length", "3,660")),
    ("input_csv/sim_period.csv", "StartDate,9999-12-01\nLength,300\n", ("sim_period.csv:2", "9999-12-31")),
    ("input_csv/conflicts.csv", "#Day,Alpha,Alpha\n0,1,1\n", ("conflicts.csv:1", "'Alpha' appears twice")),
    ("input_csv/routes.csv", "#name1,name2,distance\nAlpha,Camp One,1e300\n", ("routes.csv:2", "distance", "40,075")),
    ("input_csv/locations.csv", "#name,region,country,latitude,longitude,location_type,conflict_date,population\n"
     "Alpha,North,Homeland,10.0,20.0,conflict_zone,0,1e300\nCamp One,South,Neighbour,11.0,21.0,camp,,\n",
     ("locations.csv:2", "population", "10,000,000,000")),
    ("simsetting.yml", b"move_rules:\n  max_move_speed: 3\xe900\n", ("simsetting.yml", "not UTF-8")),
    ("simsetting.yml", "log_levels:\n" + "\n".join(BOMB) + "\n", ("simsetting.yml", "alias")),
])
def test_18_import_flee_bad_period_conflicts_and_settings(tmp_path, capsys, file, text, needles):
    f = flee_folder(tmp_path / "flee")
    assert tv("import-flee", f, "--out", tmp_path / "ok", capsys=capsys)[0] == 0
    p = f / file
    p.write_bytes(text) if isinstance(text, bytes) else p.write_text(text)
    rc, _, err = tv("import-flee", f, "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, *needles)
    assert not (tmp_path / "o").exists()


def test_18_yaml_long_line_refused_before_parsing_and_control_characters_named(tmp_path, capsys):
    import time

    from travesia.scenario import load

    s = scen(tmp_path)
    (s / "scenario.yaml").write_text("# " + "x" * (load.MAX_YAML_LINE * 10) + "\n" + (s / "scenario.yaml").read_text())
    t0 = time.perf_counter()
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, "scenario.yaml:1", "at most")
    assert time.perf_counter() - t0 < 10  # ruamel's scanner takes ~26 s on one 1 MB comment line
    s2 = scen(tmp_path, LINE_YAML.replace("name: line", "name: li\x07ne"), name="s2")
    rc, _, err = tv("check", s2, capsys=capsys)
    user_error(rc, err, "scenario.yaml:1", "not allowed")
    f = flee_folder(tmp_path / "flee")
    (f / "simsetting.yml").write_text("move_rules:\n  max_move_speed: 3" + "0" * (load.MAX_YAML_LINE + 1) + "\n")
    rc, _, err = tv("import-flee", f, "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, "simsetting.yml:2", "at most")


@pytest.mark.parametrize("file,data,needle", [
    ("summary.json", "{not json", "not valid JSON"),
    ("summary.json", "[1, 2]", "expected a JSON object"),
    ("summary.json", b"\xff\xfe{}", "not UTF-8"),
    ("summary.json", '{"start": "2020-01-01", "end": "soon"}', "'end'"),
    ("places.csv", "", "empty file"),
    ("places.csv", "a,b\n1,2\n", "missing column"),
    ("totals.csv", "", "empty file"),
])
def test_18_compare_blames_a_damaged_run_file(run1, tmp_path, capsys, file, data, needle):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run1, bad)
    (bad / file).write_bytes(data) if isinstance(data, bytes) else (bad / file).write_text(data)
    rc, _, err = tv("compare", run1, bad, "--out", tmp_path / "cmp.csv", capsys=capsys)
    user_error(rc, err, str(bad / file), needle)
    assert not (tmp_path / "cmp.csv").exists()


def test_18_report_without_a_readable_resolved_yaml(run1, tmp_path, capsys):
    (run1 / "scenario.resolved.yaml").write_bytes(b"name: \xff\xfe\n")
    rc, _, err = tv("report", run1, "--out", tmp_path / "r.html", capsys=capsys)
    assert rc == 0, err


def test_a_run_of_nobody_says_so(tmp_path, capsys):
    # a scale at which every population rounds to 0 people runs (an empty result is a result), but
    # the user is told, not left with an empty "final:" line
    folder = write_scenario(tmp_path / "s", LINE_YAML, LINE_PLACES, LINE_LEGS)
    rc, out, err = tv("run", folder, "--scale", "1e-9", "--out", tmp_path / "r", capsys=capsys)
    assert rc == 0, err
    assert "final: nobody" in out
    assert "warning: nobody was simulated: at --scale 1e-09" in err
    rc, out, err = tv("run", folder, "--out", tmp_path / "r2", capsys=capsys)
    assert rc == 0 and "final: nobody" not in out and "warning" not in err
