"""Property-based tests (Hypothesis): scenario folders, observation files, FLEE folders and command-line
values — valid, near-valid and hostile — through the command line (in-process).

Every outcome is one of two:
- exit 0, with everybody accounted for every day (people conserved) and result tables that read back;
- exit 2, with one message naming the file (and line), key or option at fault.
Never a traceback, never exit 70, and never a changed file outside ``--out``.

Profiles: ``ci`` (the default, bounded for ``make test``: about a minute) and ``nightly``
(``HYPOTHESIS_PROFILE=nightly``, many more examples).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML

settings.register_profile("ci", max_examples=20, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("nightly", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# people are capped (through the memory budget) so that no example runs for long
ENV = {"TRAVESIA_MEMORY_BYTES": str(64 * 2**20), "TRAVESIA_LOG_DIR": tempfile.gettempdir()}


def tv(*args) -> tuple[int, str, str]:
    """``travesia ARGS`` in this process: (exit code, stdout, stderr)."""
    from travesia.cli import main

    o, e = io.StringIO(), io.StringIO()
    old_argv, old_env = sys.argv, dict(os.environ)
    sys.argv = ["travesia", *map(str, args)]
    os.environ.update(ENV)
    rc = 0
    try:
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                main()
            except SystemExit as x:
                rc = x.code if isinstance(x.code, int) else (0 if x.code is None else 1)
    finally:
        sys.argv = old_argv
        os.environ.clear()
        os.environ.update(old_env)
    return rc, o.getvalue(), e.getvalue()


def snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Path -> content hash of every file under ``root`` (except under ``skip``)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha1(p.read_bytes()).hexdigest()
    return out


def assert_outcome(rc: int, err: str, names: tuple[str, ...]) -> None:
    """Exit 0, or exit 2 with one message naming one of ``names`` (files, options)."""
    assert "Traceback" not in err, err
    assert rc in (0, 2), f"exit {rc}: {err}"
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note: ")]
        if lines and lines[0].startswith("Usage:"):  # the command line's own usage error names the option
            assert any(ln.startswith("Error:") for ln in lines), err
            return
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert any(n in lines[0] for n in names), (names, err)


def assert_valid_run(out: Path) -> None:
    """A finished run: tables read back, everybody accounted for on every day."""
    from travesia.output import read_result_csv

    summ = json.loads((out / "summary.json").read_text())
    n = summ["people_created"]
    assert sum(summ["final_states"].values()) == n
    daily = pd.read_csv(out / "daily.csv")
    if n:
        per_day = daily.groupby("date")["people"].sum()
        assert len(per_day) == summ["days"] and (per_day == n).all()
    read_result_csv(out / "totals.csv", ["date", "quantity", "place", "people"], whole_days=True)


# --------------------------------------------------------------------------- values: valid, near-valid, hostile

HOSTILE_TEXT = st.sampled_from([
    "", " ", "[/x]", "[bold]x", "[v2]", "{{PARAMS}}", "a,b", '"', "é", "名前", "\t", "x" * 300, "null", "~",
    "2018-02-30", "1e309", "-0", "0x10", ".nan", "*a", "&a", "!!python/object:os.system", "\u202e", "a\nb",
])
NUMBERS = st.one_of(
    st.integers(min_value=-3, max_value=60),
    st.floats(min_value=-2, max_value=2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**31, 2**31 - 1, 2**32 + 75_882, 2**63, 2**64, 10**9, 1e308, 1e39, 0.5, 1e-300]),
)
VALUES = st.one_of(NUMBERS, HOSTILE_TEXT, st.booleans(), st.none(),
                   st.dates().map(str), st.lists(st.integers(-1, 3), max_size=3),
                   st.dictionaries(st.sampled_from(["c", "a", "zz", "us"]), NUMBERS, max_size=2))
# the places in the line scenario's YAML that numbers and names go
YAML_PATHS = [
    ("days",), ("seed",), ("start",), ("name",),
    ("populations", 0, "size"), ("populations", 0, "core"), ("populations", 0, "start"),
    ("populations", 0, "origin"), ("populations", 0, "household_size"), ("populations", 0, "group_size"),
    ("populations", 0, "destinations"), ("populations", 0, "intentions"), ("populations", 0, "protection"),
    ("populations", 0, "name"),
    ("movement", "foot_km_per_day"), ("movement", "rest_prob"), ("movement", "ride_prob"),
    ("recruitment", "innovation"), ("groups", "split_prob"), ("intentions", "give_up_per_day"),
    ("crossings",), ("countries",), ("buses",), ("timeline",), ("priors",), ("flee",), ("unknown_key",),
]
EXTRAS = {
    ("crossings",): st.fixed_dictionaries({"x": st.fixed_dictionaries({"rule": st.sampled_from(
        ["open", "closed", "documents", "ajar"]), "capacity_per_day": NUMBERS})}),
    ("countries",): st.dictionaries(st.sampled_from(["Bland", "Aland", "Atlantis", "[/x]"]), st.fixed_dictionaries(
        {"rides_blocked": st.one_of(st.booleans(), HOSTILE_TEXT), "detention_days": NUMBERS}), max_size=2),
    ("buses",): st.lists(st.fixed_dictionaries({
        "place": st.sampled_from(["a", "b", "nowhere"]), "start": st.sampled_from(["2020-01-02", "2019-12-01", "x"]),
        "end": st.sampled_from(["2020-01-04", "2020-01-01", "2031-01-01"]), "seats_per_day": NUMBERS}), max_size=2),
    ("timeline",): st.lists(st.fixed_dictionaries({
        "date": st.sampled_from(["2020-01-02", "2020-01-03", "2019-01-01", "2020-02-30"]),
        "set": st.dictionaries(st.sampled_from(["movement.rest_prob", "countries.Bland.rides_blocked",
                                                "countries.Atlantis.rides_blocked", "crossings.x.rule", "days",
                                                "movement.nope"]), VALUES, max_size=2)}), max_size=2),
    ("priors",): st.dictionaries(st.sampled_from(["movement.rest_prob", "movement.nope", "populations.p.size"]),
                                 st.fixed_dictionaries({"dist": st.sampled_from(["uniform", "normal", "beta"]),
                                                        "low": NUMBERS, "high": NUMBERS, "mean": NUMBERS,
                                                        "sd": NUMBERS}), max_size=2),
}


def base_tree() -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(textwrap.dedent(LINE_YAML))


def set_in(tree, path, value) -> None:
    node = tree
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def yaml_text(tree: dict) -> str:
    from ruamel.yaml import YAML

    y = YAML(typ="safe")
    y.default_flow_style = None
    buf = io.StringIO()
    y.dump(tree, buf)
    return buf.getvalue()


@st.composite
def yaml_edits(draw):
    n = draw(st.integers(0, 3))
    edits = []
    for _ in range(n):
        path = draw(st.sampled_from(YAML_PATHS))
        value = draw(EXTRAS[path]) if path in EXTRAS else draw(VALUES)
        edits.append((path, value))
    return edits


def table_text(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(textwrap.dedent(text).strip() + "\n")))


@st.composite
def table_edits(draw, rows: int, cols: int):
    """(row, column, new cell) edits of a small CSV table, rows 0 = header."""
    n = draw(st.integers(0, 2))
    return [(draw(st.integers(0, rows - 1)), draw(st.integers(0, cols - 1)),
             draw(st.one_of(NUMBERS.map(str), HOSTILE_TEXT))) for _ in range(n)]


def write_table(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


PLACES, LEGS = table_text(LINE_PLACES), table_text(LINE_LEGS)
FILES = ("scenario.yaml", "places.csv", "legs.csv", "observations.csv", "--days", "--seed", "--scale", "--set",
         "--out")


# --------------------------------------------------------------------------- scenario folders


@given(yaml_edits(), table_edits(len(PLACES), len(PLACES[0])), table_edits(len(LEGS), len(LEGS[0])),
       st.integers(1, 8), st.sampled_from(["", "raw-bomb", "raw-tab", "raw-dup-key", "raw-bad-date"]))
def test_scenario_folders(yedits, pedits, ledits, days, raw):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        s = root / "s"
        s.mkdir()
        tree = base_tree()
        for path, value in yedits:
            set_in(tree, path, value)
        text = yaml_text(tree)
        if raw == "raw-bomb":
            text += "flee:\n  a0: &a0 [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
                f"  a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8))
        elif raw == "raw-tab":
            text = text.replace("  ", "\t", 1)
        elif raw == "raw-dup-key":
            text += "days: 3\n"
        elif raw == "raw-bad-date":
            text = text.replace("start: 2020-01-01", "start: 2020-02-30", 1)
        (s / "scenario.yaml").write_text(text, encoding="utf-8")
        places = [r[:] for r in PLACES]
        for r, c, v in pedits:
            places[r][c] = v
        legs = [r[:] for r in LEGS]
        for r, c, v in ledits:
            legs[r][c] = v
        write_table(s / "places.csv", places)
        write_table(s / "legs.csv", legs)
        before = snapshot(root)
        out = root / "out"
        rc, _, err = tv("run", s, "--out", out, "--days", days)
        assert_outcome(rc, err, FILES)
        if rc == 0:
            assert_valid_run(out)
        else:
            assert not out.exists()
        assert snapshot(root, skip=out) == before


# --------------------------------------------------------------------------- observation files


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    from conftest import write_scenario

    root = tmp_path_factory.mktemp("obsrun")
    s = write_scenario(root / "s", LINE_YAML, LINE_PLACES, LINE_LEGS)
    rc, _, err = tv("run", s, "--out", root / "r")
    assert rc == 0, err
    return root / "r"


OBS_ROWS = st.lists(st.tuples(
    st.one_of(st.sampled_from(["2020-01-02", "2020-01-06", "2019-12-31", "2020-02-30", "", "01/02/2020"]),
              HOSTILE_TEXT),
    st.one_of(st.sampled_from(["Charlie", "Alpha", "(Bland)", "(all)", "Nowhere", "(Atlantis)"]), HOSTILE_TEXT),
    st.sampled_from(["arrived", "present", "crossed", "returned", "detained", "eaten", ""]),
    st.one_of(NUMBERS.map(str), HOSTILE_TEXT), st.one_of(NUMBERS.map(str), HOSTILE_TEXT, st.just(""))),
    max_size=4)


@given(OBS_ROWS, st.sampled_from(["date,place,quantity,low,high", "date,place,quantity,low,high,caravan",
                                  "date,place,quantity,low", "date,place,place,low,high", ""]))
def test_observation_files(finished_run, rows, header):
    with tempfile.TemporaryDirectory() as d:
        obs = Path(d) / "obs[v2].csv"
        text = header + "\n" + "".join(",".join(csv_cell(c) for c in r) + ("," if header.endswith("caravan") else "")
                                       + "\n" for r in rows)
        obs.write_text(text, encoding="utf-8")
        run_before = {k: v for k, v in snapshot(finished_run).items()
                      if not k.startswith(("validation.", "validation-", ".travesia-run"))}
        rc, _, err = tv("validate", finished_run, "-O", obs)
        assert_outcome(rc, err, (str(obs), "obs[v2].csv"))
        if rc == 0:
            # another observations file than the run's own: written beside, as validation-<name>.csv
            v = pd.read_csv(finished_run / "validation-obs_v2_.csv")
            assert len(v) == sum(1 for _ in rows)
        assert obs.read_text(encoding="utf-8") == text
        after = {k: v for k, v in snapshot(finished_run).items()
                 if not k.startswith(("validation.", "validation-", ".travesia-run"))}
        assert after == run_before


def csv_cell(c: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([c])
    return buf.getvalue()


# --------------------------------------------------------------------------- FLEE folders

FLEE_LOCATIONS = [["#name", "region", "country", "latitude", "longitude", "location_type", "conflict_date",
                   "population"],
                  ["A", "R", "Mali", "15.0", "-3.0", "conflict_zone", "0", "1000"],
                  ["B", "R", "Mali", "15.5", "-2.0", "town", "", "500"],
                  ["C", "S", "Niger", "15.0", "0.0", "camp", "", "4000"]]
FLEE_ROUTES = [["#name1", "name2", "distance", "forced_redirection"], ["A", "B", "120", "0"], ["B", "C", "200", "0"]]


@given(table_edits(len(FLEE_LOCATIONS), len(FLEE_LOCATIONS[0])), table_edits(len(FLEE_ROUTES), len(FLEE_ROUTES[0])),
       st.sampled_from([("StartDate", "2012-02-29"), ("StartDate", "2012-02-30"), ("Length", "-5"),
                        ("Length", "nan"), ("Length", "10")]),
       st.sampled_from(["2012-03-01,100\n", "2012-03-01,nan\n", "x,1\n", "", "2012-03-01,4295043178\n"]))
def test_flee_folders(ledits, redits, period_edit, counts):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        f = root / "flee"
        (f / "input_csv").mkdir(parents=True)
        (f / "source_data").mkdir()
        locs = [r[:] for r in FLEE_LOCATIONS]
        for r, c, v in ledits:
            locs[r][c] = v
        routes = [r[:] for r in FLEE_ROUTES]
        for r, c, v in redits:
            routes[r][c] = v
        write_table(f / "input_csv" / "locations.csv", locs)
        write_table(f / "input_csv" / "routes.csv", routes)
        period = {"StartDate": "2012-02-29", "Length": "10"}
        period[period_edit[0]] = period_edit[1]
        (f / "input_csv" / "sim_period.csv").write_text("".join(f"{k},{v}\n" for k, v in period.items()))
        (f / "source_data" / "data_layout.csv").write_text("total,refugees.csv\nC,c.csv\n")
        (f / "source_data" / "refugees.csv").write_text("2012-02-29,0\n" + counts)
        (f / "source_data" / "c.csv").write_text("2012-02-29,0\n" + counts)
        before = snapshot(root)
        out = root / "out"
        rc, _, err = tv("import-flee", f, "--out", out)
        assert_outcome(rc, err, ("flee", "--out"))
        assert snapshot(root, skip=out) == before
        if rc == 0:
            rc, _, err = tv("check", out)
            assert_outcome(rc, err, ("out",))


# --------------------------------------------------------------------------- command-line values

OPTION_VALUES = st.one_of(NUMBERS.map(str), HOSTILE_TEXT, st.sampled_from(["3", "1", "0", "-1", "nan", "inf",
                                                                          "1e4", "2.5", "99999999999999999999"]))
SET_ITEMS = st.one_of(
    st.tuples(st.sampled_from(["movement.rest_prob", "movement.foo[/x]", "days", "seed", "start",
                               "countries.Atlantis.rides_blocked", "crossings.x.rule", "populations.p.size",
                               "populations.0.destinations", "flee.x", "", ".", "a..b"]), VALUES.map(str))
    .map(lambda kv: f"{kv[0]}={kv[1]}"),
    HOSTILE_TEXT)


@given(st.lists(st.tuples(st.sampled_from(["--days", "--seed", "--scale"]), OPTION_VALUES), max_size=3),
       st.lists(SET_ITEMS, max_size=2), st.booleans())
def test_command_line_values(opts, sets, force):
    from conftest import write_scenario

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        s = write_scenario(root / "s", LINE_YAML, LINE_PLACES, LINE_LEGS)
        args = ["run", s, "--out", root / "out"]
        for k, v in opts:
            args += [k, v]
        for item in sets:
            args += ["--set", item]
        if force:
            args.append("--force")
        before = snapshot(root)
        rc, _, err = tv(*args)
        assert_outcome(rc, err, FILES)
        if rc == 0:
            assert_valid_run(root / "out")
        assert snapshot(root, skip=root / "out") == before
        shutil.rmtree(root / "out", ignore_errors=True)
