"""The scenario author's toolkit: params reference, --event/--drop-event, check warnings, priors and
validate rough edges, full-width tables when piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, ROOT, cli, write_scenario
from travesia.api import simulate
from travesia.errors import UserError
from travesia.scenario.builtin import init_scenario
from travesia.scenario.lint import scenario_warnings
from travesia.scenario.load import load_scenario, parse_overrides
from travesia.scenario.reference import markdown, parameters, select


# --------------------------------------------------------------------------- params


def test_parameter_reference_page_is_up_to_date():
    page = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert page == markdown(), "docs/parameters.md is stale: run  travesia params --markdown > docs/parameters.md"
    assert "docs/parameters.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_params_lists_units_ranges_defaults_from_the_schema():
    ps = {p.path: p for p in parameters()}
    f = ps["movement.foot_km_per_day"]
    assert (f.unit, f.low, f.high, f.default) == ("km/day", 1, 150, "50.0")
    assert ps["crossings.<place>.rule"].type == "open | documents | closed"
    assert ps["countries.<country>.asylum.grant_rate"].high == 1
    # every --set path in the reference is a path the loader accepts (with the placeholders filled)
    from travesia.scenario.load import check_path
    for p in ps:
        check_path(p.replace("<place>", "x").replace("<country>", "X").replace("<name>", "p").replace("<i>", "0")
                   .replace("<post>", "x"))
    assert {p.section for p in select("movement")} == {"movement"}
    with pytest.raises(UserError, match="no parameters in section"):
        select("nonsense")


def test_params_command_prints_a_section_in_full_when_piped():
    r = cli("params", "crossings")
    assert r.returncode == 0, r.stderr
    assert "crossings.<place>.breach_crowd" in r.stdout and "people/day" in r.stdout
    r = cli("params", "nosuch")
    assert r.returncode == 2 and "no parameters in section 'nosuch'" in r.stderr


def test_tables_are_not_cut_at_80_columns_when_piped(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    r = subprocess.run([sys.executable, "-m", "travesia.cli", "params", "movement"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0
    row = next(ln for ln in r.stdout.splitlines() if "movement.route_detour_km" in ln)
    assert "a hop that adds this detour is e times less likely" in row  # one line, nothing cut or folded
    assert max(len(ln) for ln in r.stdout.splitlines()) > 80


# --------------------------------------------------------------------------- --event / --drop-event


def test_event_added_from_the_command_line_closes_the_post_on_its_date(line):
    # walkers reach the post on day 1 (A→B day 0, B→Post→C day 1): closing it on day 1 holds all ten
    ov = parse_overrides(["crossings.x.bypass_prob=0"], events=["2020-01-02:crossings.x.rule=closed"])
    r = simulate(load_scenario(line, ov), check=True)
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 0
    # closing it on day 2 is too late: all have passed
    ov = parse_overrides([], events=["2020-01-03:crossings.x.rule=closed"])
    r = simulate(load_scenario(line, ov), check=True)
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 10


def test_drop_event_by_number_date_and_key(tmp_path):
    y = LINE_YAML + """
    timeline:
      - {date: 2020-01-02, set: {crossings.x.rule: closed, crossings.x.bypass_prob: 0}}
      - {date: 2020-01-03, set: {movement.rest_prob: 0.5}}
    """
    folder = write_scenario(tmp_path / "s", y, LINE_PLACES, LINE_LEGS)
    assert len(load_scenario(folder).params.timeline) == 2
    for sel, left in (("1", 1), ("2020-01-03", 1), ("crossings.x", 1), ("crossings.x.rule", 2)):
        s = load_scenario(folder, parse_overrides([], drops=[sel]))
        assert len(s.params.timeline) == left, sel
    s = load_scenario(folder, parse_overrides([], drops=["crossings.x.rule"]))
    assert s.params.timeline[0].set == {"crossings.x.bypass_prob": 0}
    # dropping the closing lets everyone through
    r = simulate(load_scenario(folder, parse_overrides([], drops=["1"])), check=True)
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 10
    r = simulate(load_scenario(folder), check=True)
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 0


@pytest.mark.parametrize("args, message", [
    (["--event", "2021-01-01:crossings.x.rule=open"], "--event: 2021-01-01 is outside the simulated period"),
    (["--event", "2020-01-02:crossings.x.rule=opne"], "--event: after this event crossings.x.rule"),
    (["--event", "2020-01-02:crossings.nowhere.rule=open"], "unknown place id 'nowhere'"),
    (["--event", "2020-01-02:movement.foot_kmh=3"], "unknown parameter 'movement.foot_kmh'"),
    (["--event", "2020-01-02:days=3"], "'days' is fixed for the whole run"),
    (["--event", "tomorrow:crossings.x.rule=open"], "'tomorrow' is not a date"),
    (["--drop-event", "3"], "--drop-event: no event number 3"),
    (["--drop-event", "movement"], "--drop-event: no event sets 'movement'"),
])
def test_bad_events_are_one_message_and_exit_2(line, args, message):
    r = cli("check", str(line), *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_run_with_event_records_it_in_the_resolved_parameters(line, tmp_path):
    r = cli("run", str(line), "--out", str(tmp_path / "r"), "--event", "2020-01-02:crossings.x.rule=closed",
            "--set", "crossings.x.bypass_prob=0")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "r" / "scenario.resolved.yaml").read_text()
    assert "--event 2020-01-02:crossings.x.rule=closed" in text
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["destinations"]["Charlie"]["arrived"] == 0


# --------------------------------------------------------------------------- check warnings


def test_check_warns_about_period_unread_files_and_a_closed_via(tmp_path):
    y = LINE_YAML.replace("        destinations: {c: 1}", "        destinations: {c: 1}\n        via: [x]") + """
    timeline:
      - {date: 2020-01-03, set: {crossings.x.rule: closed}}
    """
    obs = """
    date,place,quantity,low,high
    2020-01-02,Charlie,arrived,10,10
    2020-03-01,Charlie,arrived,10,10
    """
    folder = write_scenario(tmp_path / "s", y, LINE_PLACES, LINE_LEGS, obs)
    (folder / "closures.csv").write_text("date,post\n", encoding="utf-8")
    ws = scenario_warnings(load_scenario(folder))
    assert len(ws) == 3, ws
    assert any("observations.csv:3: observation dated 2020-03-01 is outside the run's period" in w for w in ws)
    assert any("closures.csv: nothing reads this file" in w for w in ws)
    assert any("announced through 'x', which is closed by timeline event 1 (2020-01-03)" in w for w in ws)
    r = cli("check", str(folder), "--strict")
    assert r.returncode == 1 and r.stderr.count("warning:") == 3
    (folder / "closures.csv").unlink()
    r = cli("check", str(folder), "--drop-event", "1")
    assert r.returncode == 0 and r.stderr.count("warning:") == 1  # the observation outside the period


def test_check_warns_about_a_leg_or_observation_listed_twice_and_an_unknown_caravan(tmp_path):
    legs = LINE_LEGS + "    x,b,30,foot|ride|bus\n    b,x,25,foot\n"  # the same road again; a foot path is another road
    obs = """
    date,place,quantity,low,high,caravan
    2020-01-02,Charlie,arrived,10,10,p
    2020-01-03,Charlie,arrived,10,10,q
    2020-01-04,Charlie,arrived,10,10,
    2020-01-02,Charlie,arrived,10,10,p
    2020-01-02,Charlie,arrived,12,12,p
    """
    folder = write_scenario(tmp_path / "s", LINE_YAML, LINE_PLACES, legs, obs)
    ws = scenario_warnings(load_scenario(folder))
    assert len(ws) == 3, ws
    assert any("observations.csv:5: the same observation as line 2 (2020-01-02, Charlie, arrived)" in w for w in ws)
    assert any("legs.csv:5: the leg x - b (30 km, foot|ride|bus) is listed already (line 3)" in w for w in ws)
    assert any("observations.csv:3: caravan 'q' is none of the scenario's populations (p)" in w for w in ws)
    r = cli("check", str(folder), "--strict")
    assert r.returncode == 1 and r.stderr.count("warning:") == 3


def test_init_copies_only_files_the_scenario_reads(tmp_path):
    folder = init_scenario("caravan-2018", tmp_path / "mine")
    s = load_scenario(folder)
    assert s.chronicle is not None and len(s.chronicle) > 10  # events.csv is read and checked
    assert not [w for w in scenario_warnings(s) if "nothing reads" in w]


def test_a_bad_chronicle_row_names_file_and_line(tmp_path):
    folder = init_scenario("caravan-2018", tmp_path / "mine")
    with open(folder / "events.csv", "a", encoding="utf-8") as f:
        f.write("2018-13-01,Tijuana,policy,bad date,\n")
    n = len((folder / "events.csv").read_text(encoding="utf-8").splitlines())
    with pytest.raises(UserError, match=rf"events.csv:{n}: column date"):
        load_scenario(folder)


# --------------------------------------------------------------------------- priors naming what is not there


@pytest.mark.parametrize("command", [
    ["ensemble", "-n", "2"], ["calibrate", "--trials", "2"], ["forecast", "--as-of", "2018-10-20", "-n", "2"],
    ["sensitivity", "--samples", "2"]])
def test_a_prior_for_a_population_the_scenario_lacks_stops_before_any_work(tmp_path, command):
    folder = init_scenario("caravan-2018", tmp_path / "mine")
    y = (folder / "scenario.yaml").read_text(encoding="utf-8").replace("- name: first", "- name: primera")
    y = y.replace("caravan: first,", "caravan: primera,")  # the scenario's own references follow the rename
    (folder / "scenario.yaml").write_text(y.replace("populations.first.", "populations.primera."), encoding="utf-8")
    r = cli(*command[:1], str(folder), *command[1:], "--out", str(tmp_path / "o"), "--priors", "caravan-2018",
            "--workers", "1")
    assert r.returncode == 2, r.stderr
    assert "caravan-2018.yaml:" in r.stderr and "'populations.first'" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_a_scenario_prior_for_a_missing_population_names_its_line(line):
    y = (line / "scenario.yaml").read_text() + "priors:\n  populations.q.size: {dist: uniform, low: 1, high: 9}\n"
    (line / "scenario.yaml").write_text(y)
    with pytest.raises(UserError, match=r"scenario.yaml:\d+: priors.populations.q.size: 'populations.q'"):
        load_scenario(line)


# --------------------------------------------------------------------------- validate --observations


def test_validate_with_other_observations_keeps_the_runs_own_files(line, tmp_path):
    (line / "observations.csv").write_text("date,place,quantity,low,high\n2020-01-02,Charlie,arrived,10,10\n")
    run = tmp_path / "run"
    assert cli("run", str(line), "--out", str(run)).returncode == 0
    r = cli("validate", str(run))
    assert r.returncode == 0, r.stderr
    own = (run / "validation.csv").read_bytes(), (run / "validation.json").read_bytes()
    other = tmp_path / "later.csv"
    other.write_text("date,place,quantity,low,high\n2020-01-03,Charlie,arrived,5,6\n")
    r = cli("validate", str(run), "--observations", str(other))
    assert r.returncode == 0, r.stderr
    assert ((run / "validation.csv").read_bytes(), (run / "validation.json").read_bytes()) == own
    assert (run / "validation-later.csv").exists() and (run / "validation-later.json").exists()
    assert "validation-later.csv" in r.stdout and "left as they were" in r.stdout
    assert json.loads((run / "validation-later.json").read_text())["overall"]["n"] == 1
    # the log error is printed with the relative error
    assert "log err" in r.stdout


# --------------------------------------------------------------------------- compare


def test_compare_two_runs_hand_worked(line, tmp_path):
    a, b = tmp_path / "open", tmp_path / "closed"
    assert cli("run", str(line), "--out", str(a)).returncode == 0
    r = cli("run", str(line), "--out", str(b), "--event", "2020-01-01:crossings.x.rule=closed",
            "--set", "crossings.x.bypass_prob=0")
    assert r.returncode == 0, r.stderr
    r = cli("compare", str(a), str(b), "--out", str(tmp_path / "cmp.csv"))
    assert r.returncode == 0, r.stderr
    import pandas as pd
    t = pd.read_csv(tmp_path / "cmp.csv")
    row = t[(t.section == "arrived") & (t.item == "Charlie")].iloc[0]
    # open: all ten end their journey at Charlie on day 1; closed: all ten are held at the post
    assert (row["open"], row["closed"], row["closed − open"]) == (10, 0, -10)
    pres = t[t.section == "present"].set_index("item")
    assert pres.loc["Charlie", "open"] == 10 and pres.loc["Post", "closed"] == 10
    assert pres.loc["Post", "open"] == 0
    needs = t[t.section == "needs"].set_index("item")
    assert needs.loc["water (L/day)", "open"] == needs.loc["water (L/day)", "closed"] == 150  # 10 × 15 L
    assert "## Journeys ended at each destination" in (tmp_path / "cmp.md").read_text()
    # nothing a user wrote is overwritten; a second compare needs --force
    r = cli("compare", str(a), str(b), "--out", str(tmp_path / "cmp.csv"))
    assert r.returncode == 2 and "--force" in r.stderr
    r = cli("compare", str(a), "--out", str(tmp_path / "one.csv"))
    assert r.returncode == 2 and "at least two" in r.stderr


# --------------------------------------------------------------------------- network


def test_haversine_and_road_factor_hand_worked():
    from travesia.toolkit.network import ROAD_FACTOR, haversine_km, road_km
    # one degree of latitude on a sphere of radius 6,371 km: 6371·π/180 = 111.19 km
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.195, abs=1e-3)
    assert road_km(0, 0, 1, 0) == round(111.19508 * ROAD_FACTOR, 1) == 139.0
    assert road_km(0, 0, 1, 0, factor=1.0) == 111.2


def test_network_command_builds_tables_the_loader_accepts(tmp_path):
    out = tmp_path / "net"
    r = cli("network", "--towns", "San Pedro Sula, Esquipulas, Guatemala City, Tecún Umán, Ciudad Hidalgo (MX), "
            "Tapachula", "--out", str(out))
    assert r.returncode == 0, r.stderr
    import pandas as pd
    from travesia.toolkit.network import haversine_km
    pl = pd.read_csv(out / "places.csv").set_index("id")
    lg = pd.read_csv(out / "legs.csv")
    assert list(pl.index) == ["san_pedro_sula", "esquipulas", "guatemala_city", "tecun_uman", "ciudad_hidalgo",
                              "tapachula"]
    assert pl.loc["ciudad_hidalgo", "country"] == "Mexico" and pl.loc["ciudad_hidalgo", "lat"] == pytest.approx(14.68, abs=0.02)
    assert pl.loc["esquipulas", "country"] == "Guatemala"  # nearest its neighbours, not Esquipulas elsewhere
    assert pl.loc["san_pedro_sula", "kind"] == "origin" and pl.loc["tapachula", "kind"] == "destination"
    row = lg[(lg["from"] == "tecun_uman") & (lg["to"] == "ciudad_hidalgo")].iloc[0]
    a, b = pl.loc["tecun_uman"], pl.loc["ciudad_hidalgo"]
    assert row["km"] == pytest.approx(round(haversine_km(a.lat, a.lon, b.lat, b.lon) * 1.25, 1))
    assert "crosses a border" in r.stdout
    # a scenario on these tables loads
    (out / "scenario.yaml").write_text("name: t\nstart: 2020-01-01\npopulations:\n  - {name: p, origin: san_pedro_sula, "
                                       "start: 2020-01-01, destinations: {tapachula: 1}}\n")
    s = load_scenario(out)
    assert len(s.places) == 6 and len(s.legs) == 5
    # again: refused without --force; unknown town: one message
    assert cli("network", "--towns", "San Pedro Sula, Tapachula", "--out", str(out)).returncode == 2
    r = cli("network", "--towns", "San Pedro Sula, Xyzzyville", "--out", str(tmp_path / "n2"))
    assert r.returncode == 2 and "'Xyzzyville' is not in the GeoNames gazetteer" in r.stderr
    assert not (tmp_path / "n2").exists()


def test_names_fold_for_matching_by_hand():
    from travesia.toolkit.network import _fold, slug

    assert _fold("Tecún Umán") == "tecun uman"
    assert _fold("  Ciudad\u00a0de  Guatemala\t") == "ciudad de guatemala"  # any run of spaces, one space
    assert _fold("St.-Étienne") == "st etienne" and _fold("Ñuñoa") == "nunoa"
    assert _fold("Łódź") == "łodz"  # a letter that is not a base letter with a mark stays (as NFKD leaves it)
    assert _fold("Esquipulas") == "esquipulas"
    assert slug("Ciudad Hidalgo (MX)") == "ciudad_hidalgo_mx"
