"""Regression tests of the FLEE importer's hardening against hostile input, through the command line
(in-process): exit 2 with one message naming the file and row (or the scenario key), never a
traceback, nothing written or left half-written."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from test_hardening import flee_folder, tv, user_error


def fifo(path: Path) -> Path:
    """A FIFO at ``path``. A writer opens and closes it a moment later, so that a reader that
    waits on it (the defect) ends instead of hanging the test."""
    os.mkfifo(path)

    def unblock():
        import time

        time.sleep(2)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:  # no reader: nobody waits
            pass

    threading.Thread(target=unblock, daemon=True).start()
    return path


def imports_no(capsys, f: Path, out: Path, *needles: str) -> None:
    rc, _, err = tv("import-flee", f, "--out", out, capsys=capsys)
    user_error(rc, err, *needles)
    assert not out.exists()


@pytest.fixture
def flee(tmp_path) -> Path:
    return flee_folder(tmp_path / "flee")


# --------------------------------------------------------------------------- 1. what the importer opens


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("make,needles", [
    (lambda f, tmp: "/dev/null", ("absolute path",)),
    (lambda f, tmp: str(tmp / "outside.csv"), ("absolute path",)),
    (lambda f, tmp: "../../outside.csv", ("outside the FLEE folder",)),
    (lambda f, tmp: (os.symlink("/dev/null", f / "source_data" / "z.csv"), "z.csv")[1], ("outside the FLEE folder",)),
    (lambda f, tmp: (fifo(f / "source_data" / "fifo.csv"), "fifo.csv")[1], ("FIFO", "regular file")),
    (lambda f, tmp: ((f / "source_data" / "sub").mkdir(), "sub")[1], ("folder", "regular file")),
    (lambda f, tmp: "nope.csv", ("nope.csv", "not found")),
])
def test_count_file_must_be_a_regular_file_inside_the_folder(flee, tmp_path, capsys, make, needles):
    (tmp_path / "outside.csv").write_text("2020-01-01,0\n2020-01-02,100\n")
    name = make(flee, tmp_path)
    (flee / "source_data" / "data_layout.csv").write_text(f"total,{name}\nCamp One,camp.csv\n")
    imports_no(capsys, flee, tmp_path / "o", "data_layout.csv:1", *needles)


def test_count_file_size_is_limited(flee, tmp_path, capsys, monkeypatch):
    from travesia.scenario import load

    monkeypatch.setattr(load, "MAX_INPUT_BYTES", 400)
    (flee / "source_data" / "camp.csv").write_text("2020-01-01,0\n" * 40)
    imports_no(capsys, flee, tmp_path / "o", "data_layout.csv:2", "camp.csv", "at most 400")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("file,kind,needle", [
    ("input_csv/locations.csv", "device", "device"),
    ("input_csv/routes.csv", "fifo", "FIFO"),
    ("input_csv/sim_period.csv", "device", "device"),
    ("input_csv/closures.csv", "fifo", "FIFO"),
    ("input_csv/conflicts.csv", "folder", "folder"),
    ("input_csv/registration_corrections.csv", "device", "device"),
    ("source_data/data_layout.csv", "fifo", "FIFO"),
    ("simsetting.yml", "device", "device"),
])
def test_every_input_file_must_be_a_regular_file(flee, tmp_path, capsys, file, kind, needle):
    p = flee / file
    if p.exists():
        p.unlink()
    if kind == "device":
        os.symlink("/dev/null", p)
    elif kind == "fifo":
        fifo(p)
    else:
        p.mkdir()
    imports_no(capsys, flee, tmp_path / "o", file.split("/")[-1], needle)


def test_demographics_file_must_be_a_regular_file(flee, tmp_path, capsys, monkeypatch):
    from travesia.scenario import load

    if hasattr(os, "mkfifo"):  # once left aside without a word
        fifo(flee / "input_csv" / "demographics_sex.csv")
        imports_no(capsys, flee, tmp_path / "o", "demographics_sex.csv", "FIFO")
        (flee / "input_csv" / "demographics_sex.csv").unlink()
    p = flee / "input_csv" / "demographics_age.csv"
    p.write_text("age,Default\nyoung,1\nold,1\n" + "#" * 500 + "\n")
    monkeypatch.setattr(load, "MAX_INPUT_BYTES", 400)
    imports_no(capsys, flee, tmp_path / "o", "demographics_age.csv", "at most 400")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("file,kind", [("legs.csv", "device"), ("places.csv", "fifo"), ("scenario.yaml", "device"),
                                       ("scenario.yaml", "fifo")])
def test_scenario_files_must_be_regular_files(flee, tmp_path, capsys, file, kind):
    s = tmp_path / "s"
    assert tv("import-flee", flee, "--out", s, capsys=capsys)[0] == 0
    (s / file).unlink()
    os.symlink("/dev/null", s / file) if kind == "device" else fifo(s / file)
    rc, _, err = tv("check", s, capsys=capsys)
    user_error(rc, err, file, "device" if kind == "device" else "FIFO")


# --------------------------------------------------------------------------- 2. counts


@pytest.mark.parametrize("file,text,needles", [
    ("source_data/total.csv", "2020-01-01,0\n2020-01-02,1e300\n", ("total.csv:2", "1e300", "10,000,000,000")),
    ("source_data/camp.csv", "2020-01-01,0\n2020-01-02,99999999999\n", ("camp.csv:2", "10,000,000,000")),
])
def test_counts_above_the_limit_are_refused(flee, tmp_path, capsys, file, text, needles):
    (flee / file).write_text(text)
    imports_no(capsys, flee, tmp_path / "o", *needles)


def test_counts_summed_or_corrected_above_the_limit_name_the_row(flee, tmp_path, capsys):
    src = flee / "source_data"
    (src / "total.csv").write_text("2020-01-01,0\n2020-01-02,9000000000\n")
    (src / "total2.csv").write_text("2020-01-01,0\n2020-01-02,9000000000\n")
    (src / "data_layout.csv").write_text("total,total.csv,total2.csv\nCamp One,camp.csv\n")
    imports_no(capsys, flee, tmp_path / "o", "data_layout.csv:1", "'total'", "10,000,000,000")
    (src / "data_layout.csv").write_text("total,total.csv\nCamp One,camp.csv\n")
    (src / "camp.csv").write_text("2020-01-01,5000000000\n2020-01-02,1\n2020-01-03,100\n")
    (flee / "input_csv" / "registration_corrections.csv").write_text("Camp One,2020-01-03\n")
    imports_no(capsys, flee, tmp_path / "o", "registration_corrections.csv:1", "Camp One", "10,000,000,000")


def test_injected_people_above_the_limit_are_refused(flee, tmp_path, capsys):
    """Each count within the limit, but with sum_from_camps (--as-written) two camps' counts add up
    to more than the limit, all injected at the one conflict zone."""
    src = flee / "source_data"
    (src / "camp.csv").write_text("2020-01-01,0\n2020-01-02,9000000000\n")
    (src / "ghost.csv").write_text("2020-01-01,0\n2020-01-02,9000000000\n")
    (src / "data_layout.csv").write_text("total,total.csv\nCamp One,camp.csv\nGhost,ghost.csv\n")
    (flee / "simsetting.yml").write_text("spawn_rules:\n  sum_from_camps: true\n")
    rc, _, err = tv("import-flee", flee, "--out", tmp_path / "o", "--as-written", capsys=capsys)
    user_error(rc, err, "data_layout.csv", "inject 18,000,000,000 people at 'Alpha'", "10,000,000,000")
    assert not (tmp_path / "o").exists()


@pytest.fixture
def scenario(flee, tmp_path, capsys) -> Path:
    s = tmp_path / "s"
    assert tv("import-flee", flee, "--out", s, capsys=capsys)[0] == 0
    capsys.readouterr()
    return s


def edit_yaml(s: Path, old: str, new: str) -> int:
    """Replace ``old`` in scenario.yaml; return the line of the change."""
    p = s / "scenario.yaml"
    t = p.read_text()
    assert old in t, (old, t)
    t = t.replace(old, new, 1)
    p.write_text(t)
    return t[: t.index(new)].count("\n") + 1 + new[: len(new) - len(new.lstrip("\n"))].count("\n")


@pytest.mark.parametrize("cmd", ["check", "run"])
def test_scenario_count_of_1e300_is_refused(scenario, tmp_path, capsys, cmd):
    line = edit_yaml(scenario, "- [2020-01-02, 100.0]", "- [2020-01-02, 1e300]")
    before = (scenario / "scenario.yaml").read_text()
    args = ("run", scenario, "--out", tmp_path / "r", "--days", "2") if cmd == "run" else ("check", scenario)
    rc, _, err = tv(*args, capsys=capsys)
    user_error(rc, err, f"scenario.yaml:{line}", "flee.counts.total", "10000000000")
    assert (scenario / "scenario.yaml").read_text() == before
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- 3. what the importer writes loads


def test_demographics_attribute_name_must_be_one_a_scenario_takes(flee, tmp_path, capsys):
    for name in ("demographics_a.b.csv", "demographics_a b.csv", "demographics_1st.csv"):
        p = flee / "input_csv" / name
        attr = name[len("demographics_"):-4]
        p.write_text(f"{attr},Default\nyoung,1\nold,1\n")
        imports_no(capsys, flee, tmp_path / "o", name, f"'{attr}'", "letters, digits and '_'")
        p.unlink()
    (flee / "input_csv" / "demographics_age_group.csv").write_text("age_group,Default\nyoung,1\nold,1\n")
    rc, _, err = tv("import-flee", flee, "--out", tmp_path / "o", capsys=capsys)
    assert rc == 0, err


@pytest.mark.parametrize("text,line,key", [
    ("StartDate,2020-01-01\nLength,10\nLength,30\n", 3, "Length"),
    ("Length,10\nStartDate,2020-01-01\nstartdate,2020-02-01\n", 3, "startdate"),
])
def test_sim_period_key_given_twice(flee, tmp_path, capsys, text, line, key):
    (flee / "input_csv" / "sim_period.csv").write_text(text)
    imports_no(capsys, flee, tmp_path / "o", f"sim_period.csv:{line}", f"'{key}' given twice", "line 2")


def test_scenario_that_would_not_load_is_not_written(flee, tmp_path, capsys):
    """What the reader lets through but a scenario refuses (here a location named like an
    aggregate, '(All)', which observations.csv cannot name) stops the import, nothing written."""
    inp = flee / "input_csv"
    inp.joinpath("locations.csv").write_text(inp.joinpath("locations.csv").read_text().replace("Camp One", "(All)"))
    inp.joinpath("routes.csv").write_text(inp.joinpath("routes.csv").read_text().replace("Camp One", "(All)"))
    (flee / "source_data" / "data_layout.csv").write_text("total,total.csv\n(All),camp.csv\n")
    imports_no(capsys, flee, tmp_path / "o", str(flee), "would not load", "observations.csv")


def test_series_of_no_location_kept_only_where_read(flee, tmp_path, capsys):
    """A data_layout.csv series of no location is summed into the total only with sum_from_camps
    (--as-written): kept then, left out otherwise; both scenarios load."""
    src = flee / "source_data"
    (src / "data_layout.csv").write_text("total,total.csv\nCamp One,camp.csv\nGhost,ghost.csv\n")
    (src / "ghost.csv").write_text("2020-01-01,7\n")
    from travesia.scenario.load import load_scenario

    assert tv("import-flee", flee, "--out", tmp_path / "a", capsys=capsys)[0] == 0
    assert "Ghost" not in load_scenario(tmp_path / "a").params.flee["counts"]
    (flee / "simsetting.yml").write_text("move_rules:\n  max_move_speed: 300\nspawn_rules:\n  sum_from_camps: true\n")
    assert tv("import-flee", flee, "--out", tmp_path / "b", "--as-written", capsys=capsys)[0] == 0
    assert "Ghost" in load_scenario(tmp_path / "b").params.flee["counts"]
    assert tv("check", tmp_path / "b", capsys=capsys)[0] == 0


# --------------------------------------------------------------------------- 4. the flee: section


FLEE_EDITS = [
    ("    Alpha: {type: conflict_zone", "    Atlantis: {type: conflict_zone", "flee.locations.Atlantis", "Atlantis"),
    ("  closures: []", "  closures:\n  - {type: country, a: Homeland, b: Mars, start: 0, end: -1}",
     "flee.closures[0].b", "Mars"),
    ("  closures: []", "  closures:\n  - {type: location, a: Atlantis, start: 0, end: -1}", "flee.closures[0].a",
     "Atlantis"),
    ("    Alpha:\n    - [0, 1.0]", "    Alpha:\n    - [0, -1.0]", "flee.conflicts.Alpha[0][1]", "greater than or equal"),
    ("    Alpha:\n    - [0, 1.0]", "    Alpha:\n    - [99999, 1.0]", "flee.conflicts.Alpha[0]", "past the run"),
    ("    Alpha:\n    - [0, 1.0]", "    Atlantis:\n    - [0, 1.0]", "flee.conflicts.Atlantis", "Atlantis"),
    ("    - [2020-01-02, 100.0]", "    - [2020-01-02, -100.0]", "flee.counts.total[1][1]", "greater than or equal"),
    ("  counts:\n", "  counts:\n    Atlantis: [[2020-01-01, 5]]\n", "flee.counts.Atlantis", "Atlantis"),
    ("  home_country: Homeland", "  home_country: Narnia", "flee.home_country", "Narnia"),
]


@pytest.mark.parametrize("cmd", ["check", "run"])
@pytest.mark.parametrize("old,new,key,needle", FLEE_EDITS)
def test_flee_section_checked_naming_file_line_and_key(scenario, tmp_path, capsys, cmd, old, new, key, needle):
    edit_yaml(scenario, old, new)
    args = ("run", scenario, "--out", tmp_path / "r", "--days", "2") if cmd == "run" else ("check", scenario)
    rc, _, err = tv(*args, capsys=capsys)
    user_error(rc, err, "scenario.yaml:", key, needle)
    assert not (tmp_path / "r").exists()


def test_flee_timeline_event_checked(scenario, capsys):
    (scenario / "scenario.yaml").write_text((scenario / "scenario.yaml").read_text()
                                            + "timeline:\n- date: 2020-01-03\n  set: {flee.home_country: Narnia}\n")
    rc, _, err = tv("check", scenario, capsys=capsys)
    user_error(rc, err, "scenario.yaml:", "timeline[0]", "flee.home_country", "Narnia")


def test_set_flee_value_blamed_on_the_option(scenario, capsys):
    rc, _, err = tv("check", scenario, "--set", "flee.max_move_speed=-3", capsys=capsys)
    user_error(rc, err, "--set", "flee.max_move_speed")


# --------------------------------------------------------------------------- 5. simsetting.yml


@pytest.mark.parametrize("text,line,key", [
    ("move_rules:\n  max_move_speed: -3\n", 2, "move_rules.max_move_speed"),
    ("move_rules:\n  awareness_level: 9\n", 2, "move_rules.awareness_level"),
    ("move_rules:\n  awareness_level: .inf\n", 2, "move_rules.awareness_level"),
    ("move_rules:\n  camp_movechance: 2\n", 2, "move_rules.camp_movechance"),
    ("spawn_rules:\n  conflict_spawn_decay: [1.0, -2]\n", 2, "spawn_rules.conflict_spawn_decay"),
    ("optimisations:\n  hasten: abc\n", 2, "optimisations.hasten"),
])
def test_simsetting_values_name_the_file_and_its_key(flee, tmp_path, capsys, text, line, key):
    (flee / "simsetting.yml").write_text(text)
    rc, _, err = tv("import-flee", flee, "--out", tmp_path / "o", capsys=capsys)
    user_error(rc, err, f"simsetting.yml:{line}", key)
    assert "flee." not in err
    assert not (tmp_path / "o").exists()

