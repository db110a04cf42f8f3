"""Every bad input stops with one message naming the file, line or key, and exit code 2."""

from __future__ import annotations


import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, cli, write_scenario
from travesia.errors import UserError
from travesia.scenario.load import load_scenario, parse_overrides


def make(tmp_path, yaml=LINE_YAML, places=LINE_PLACES, legs=LINE_LEGS, obs=None):
    return write_scenario(tmp_path / "s", yaml, places, legs, obs)


def err(folder, overrides=None) -> str:
    with pytest.raises(UserError) as e:
        load_scenario(folder, overrides)
    return str(e.value)


def test_missing_file(tmp_path):
    f = make(tmp_path)
    (f / "legs.csv").unlink()
    assert "legs.csv: legs file not found" in err(f)


def test_unknown_and_missing_columns(tmp_path):
    f = make(tmp_path, legs="from,to,kms\na,b,5\n")
    assert "legs.csv:1: missing column(s) km" in err(f)
    f = make(tmp_path, legs="from,to,km,speed\na,b,5,3\n")
    assert "legs.csv:1: unknown column(s) speed" in err(f)


def test_wrong_type_in_yaml_names_the_line(tmp_path):
    f = make(tmp_path, yaml=LINE_YAML.replace("days: 6", "days: six"))
    m = err(f)
    assert "scenario.yaml:3: days: Input should be a valid integer" in m


def test_true_or_false_is_no_number(tmp_path):
    # pydantic alone reads days: true as 1 day and a probability of false as 0
    f = make(tmp_path, yaml=LINE_YAML.replace("days: 6", "days: true"))
    assert "scenario.yaml:3: days: Value error, expected a number, not true" in err(f)
    f = make(tmp_path, yaml=LINE_YAML.replace("foot_km_per_day: 50", "foot_km_per_day: false"))
    assert "movement.foot_km_per_day" in err(f) and "expected a number, not false" in err(f)
    f = make(tmp_path)  # a yes/no parameter still takes true and false
    assert load_scenario(f, parse_overrides(["movement.stage_walking=false"])).params.movement.stage_walking is False


def test_unknown_key_in_yaml(tmp_path):
    f = make(tmp_path, yaml=LINE_YAML.replace("seed: 7", "seed: 7\n    sede: 8"))
    m = err(f)
    assert "scenario.yaml:5: sede: unknown key" in m


def test_out_of_range_parameter(tmp_path):
    f = make(tmp_path, yaml=LINE_YAML.replace("foot_km_per_day: 50", "foot_km_per_day: -5"))
    m = err(f)
    assert "movement.foot_km_per_day" in m and "greater than or equal to 1" in m and "scenario.yaml:" in m


def test_leg_naming_unknown_place(tmp_path):
    f = make(tmp_path, legs=LINE_LEGS + "    c,zulu,5,foot\n")
    assert "legs.csv:5: column to: unknown place 'zulu'" in err(f)


def test_negative_distance(tmp_path):
    f = make(tmp_path, legs=LINE_LEGS.replace("a,b,50", "a,b,-50"))
    assert "legs.csv:2: column km: must be >= 0, got '-50'" in err(f)


def test_destination_no_leg_reaches(tmp_path):
    places = LINE_PLACES + "    z,Zulu,Bland,15.0,-88.0,destination,\n"
    f = make(tmp_path, places=places, yaml=LINE_YAML.replace("destinations: {c: 1}", "destinations: {z: 1}"))
    m = err(f)
    assert "no leg path reaches 'z'" in m and "populations[0].destinations.z" in m


def test_event_outside_the_period(tmp_path):
    yaml = LINE_YAML.rstrip(" ") + "    timeline:\n      - date: 2021-05-01\n        set: {movement.rest_prob: 0.5}\n"
    m = err(make(tmp_path, yaml=yaml))
    assert "timeline[0].date: 2021-05-01 is outside the simulated period" in m


def test_unknown_exit_only_country_and_a_hold_outside_the_period(tmp_path):
    yaml = LINE_YAML.rstrip(" ") + "    crossings:\n      x: {exit_only: Narnia}\n"
    assert "crossings.x.exit_only: unknown country 'Narnia'" in err(make(tmp_path, yaml=yaml))
    yaml = LINE_YAML.rstrip(" ") + "    plan:\n      holds:\n        - {place: b, days: 2, start: 2030-10-22}\n"
    assert "plan.holds[0].start: 2030-10-22 is outside the simulated period" in err(make(tmp_path, yaml=yaml))
    yaml = LINE_YAML.rstrip(" ") + ("    crossings:\n      x: {exit_only: Aland}\n    plan:\n      holds:\n"
                                    "        - {place: b, days: 2, start: 2020-01-03}\n")
    load_scenario(make(tmp_path, yaml=yaml))  # a known country, a hold in the period: fine


def test_event_with_bad_path_or_value(tmp_path):
    yaml = LINE_YAML.rstrip(" ") + "    timeline:\n      - date: 2020-01-02\n        set: {movement.rest: 0.5}\n"
    assert "unknown parameter 'movement.rest'" in err(make(tmp_path, yaml=yaml))
    yaml = LINE_YAML.rstrip(" ") + "    timeline:\n      - date: 2020-01-02\n        set: {movement.rest_prob: 3}\n"
    assert "less than or equal to 1" in err(make(tmp_path, yaml=yaml))


def test_event_cannot_change_what_is_fixed_for_the_run(tmp_path):
    yaml = LINE_YAML.rstrip(" ") + "    timeline:\n      - date: 2020-01-02\n        set: {days: 3}\n"
    assert "'days' is fixed for the whole run" in err(make(tmp_path, yaml=yaml))


def test_unknown_set_parameter():
    with pytest.raises(UserError) as e:
        parse_overrides(["movement.foot_kmh=3"])
    assert "--set: unknown parameter 'movement.foot_kmh'" in str(e.value)
    with pytest.raises(UserError):
        parse_overrides(["movement.foot_km_per_day"])


def test_bad_numbers_and_places_in_tables(tmp_path):
    f = make(tmp_path, places=LINE_PLACES.replace("14.0,-89.5", "north,-89.5"))
    assert "places.csv:3: column lat: expected a number, got 'north'" in err(f)
    f = make(tmp_path, places=LINE_PLACES.replace("town", "village"))
    assert "places.csv:3: column kind: 'village' is not one of" in err(f)
    f = make(tmp_path, obs="date,place,quantity,low,high\n2020-01-02,Nowhere,present,3,4\n")
    assert "observations.csv:2: column place: unknown place 'Nowhere'" in err(f)
    f = make(tmp_path, obs="date,place,quantity,low,high\n2020-01-02,Charlie,people,3,4\n")
    assert "column quantity: unknown quantity 'people'" in err(f)


def test_command_line_exits_2_with_one_message_and_no_traceback(tmp_path, line):
    bad = make(tmp_path, legs=LINE_LEGS.replace("a,b,50", "a,b,-50"))
    p = cli("run", str(bad), "--out", str(tmp_path / "out"))
    assert p.returncode == 2
    assert "legs.csv:2: column km: must be >= 0" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    p = cli("run", str(line), "--out", str(tmp_path / "out"), "--set", "movement.nope=1")
    assert p.returncode == 2 and "unknown parameter 'movement.nope'" in p.stderr
    p = cli("run", "no-such-scenario", "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "no scenario folder or built-in scenario named" in p.stderr
    p = cli("run", str(line), "--out", str(tmp_path / "out"), "--set", "movement.foot_km_per_day=fast")
    assert p.returncode == 2 and "--set" in p.stderr and "foot_km_per_day=fast" in p.stderr
    for args in (("run",), ("run", str(line), "--out", str(tmp_path / "o"), "--days", "x")):
        p = cli(*args)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr


def test_run_writes_outputs_and_never_overwrites_user_files(tmp_path, line):
    out = tmp_path / "out"
    p = cli("run", str(line), "--out", str(out), "--set", "movement.foot_km_per_day=40")
    assert p.returncode == 0, p.stderr
    for f in ("daily.csv", "flows.csv", "totals.csv", "summary.json", "scenario.resolved.yaml"):
        assert (out / f).is_file()
    assert "foot_km_per_day: 40" in (out / "scenario.resolved.yaml").read_text()
    # an earlier run is replaced only with --force
    p = cli("run", str(line), "--out", str(out))
    assert p.returncode == 2 and "--force" in p.stderr
    assert cli("run", str(line), "--out", str(out), "--force").returncode == 0
    # a folder of the user's is never touched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    p = cli("run", str(line), "--out", str(mine), "--force")
    assert p.returncode == 2 and (mine / "notes.txt").read_text() == "precious"
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(".")) == []  # no partial left


def test_init_copies_a_builtin_and_refuses_to_overwrite(tmp_path):
    dst = tmp_path / "mine"
    p = cli("init", "caravan-2018", str(dst))
    assert p.returncode == 0, p.stderr
    assert (dst / "scenario.yaml").is_file() and (dst / "places.csv").is_file()
    p = cli("init", "caravan-2018", str(dst))
    assert p.returncode == 2 and "not an empty folder" in p.stderr
    s = load_scenario(dst)
    assert s.params.name == "caravan-2018"
