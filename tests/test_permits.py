"""Permit programmes with a quota: hand-worked queue, quota, cards; holders stay or travel on."""

from __future__ import annotations

import pytest

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
from travesia.api import simulate
from travesia.engine.people import State
from travesia.errors import UserError
from travesia.output import totals_frame
from travesia.scenario.load import load_scenario

# ten people walk A→B (day 0), B→Post→C (day 1). The office is at Bravo (Aland), the post in Bland.
OFFICE = """
    permits:
      cards:
        country: Aland
        places: [b]
        apply_per_day: 1
        capacity_per_day: 3
        quota: 5
        wait_days: 2
        holders: stay
    """
FOREIGN = LINE_PLACES.replace("a,Alpha,Aland", "a,Alpha,Homeland")


def series(r, q, place):
    t = totals_frame(r, quantities=(q,), places=[place])
    return t.sort_values("date")["people"].tolist()


@pytest.fixture
def office(tmp_path):
    y = LINE_YAML.replace("days: 6", "days: 8") + OFFICE
    return write_scenario(tmp_path / "permits", y, FOREIGN, LINE_LEGS)


def test_queue_capacity_quota_and_cards_hand_worked(office):
    r = simulate(office, check=True)
    # day 0: all ten reach Bravo and apply there (the programme runs before movement: next morning
    # they are at the office); day 1: apply (10), 3 processed; day 2: 2 processed, quota 5 used up,
    # the other 5 travel on; cards on day 1+2=3 (3) and 2+2=4 (2)
    assert series(r, "permit_applied", "Bravo") == [0, 10, 10, 10, 10, 10, 10, 10]
    assert series(r, "permit_granted", "Bravo") == [0, 0, 0, 3, 5, 5, 5, 5]
    assert series(r, "permit_waiting", "Bravo") == [0, 10, 5, 2, 0, 0, 0, 0]
    assert series(r, "settled", "Bravo")[-1] == 5
    # the waiting are present in the town (and fed): 10 on day 1, with the 5 who travel on gone by day 2
    assert series(r, "present", "Bravo")[:3] == [10, 10, 5]
    # the five refused for want of quota walk on from day 2: Bravo→Post→Charlie (50 km) that day
    assert series(r, "arrived", "Charlie") == [0, 0, 5, 5, 5, 5, 5, 5]
    assert r.sim.people.counts_by_state()[State.SETTLED] == 5


def test_no_quota_no_capacity_everyone_gets_a_card(office):
    r = simulate(load_scenario(office, {"permits.cards.quota": 0, "permits.cards.capacity_per_day": 0,
                                        "permits.cards.wait_days": 0}), check=True)
    assert series(r, "permit_granted", "Bravo")[1] == 10  # applied, processed and carded on day 1
    assert r.sim.people.counts_by_state()[State.SETTLED] == 10


def test_programme_dates_and_nationals(office):
    # taken only from day 3 on: everyone has walked past Bravo by then
    r = simulate(load_scenario(office, {"permits.cards.start": "2020-01-04"}), check=True)
    assert series(r, "permit_applied", "Bravo")[-1] == 0
    # nationals of the issuing country do not apply (the travellers are from Aland here)
    y = LINE_YAML + OFFICE
    folder = write_scenario(office.parent / "nat", y, LINE_PLACES, LINE_LEGS)
    r = simulate(folder, check=True)
    assert series(r, "permit_applied", "Bravo")[-1] == 0


def test_travel_holders_pass_the_issuing_countrys_closed_post(tmp_path):
    # office at Bravo run by Bland, whose post x is closed: holders pass it, the refused do not
    y = LINE_YAML.replace("days: 6", "days: 8") + """
    crossings: {x: {rule: closed, bypass_prob: 0}}
    permits:
      visa:
        country: Bland
        places: [b]
        apply_per_day: 1
        quota: 4
        holders: travel
    """
    folder = write_scenario(tmp_path / "t", y, LINE_PLACES, LINE_LEGS)
    r = simulate(folder, check=True)
    assert series(r, "permit_granted", "Bravo")[-1] == 4
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 4  # only the holders reach Charlie
    assert r.record.cum["crossed"][-1, r.net.index["x"]] == 4
    assert r.record.counts[-1, r.net.index["x"], State.RESTING] == 6  # the others held at the post


def test_bad_programmes_name_the_key(office):
    with pytest.raises(UserError, match=r"permits.cards.country: unknown country 'Nowhere'"):
        load_scenario(office, {"permits.cards.country": "Nowhere"})
    with pytest.raises(UserError, match=r"permits.cards.places\[0\]: unknown place id 'zz'"):
        load_scenario(office, {"permits.cards.places": ["zz"]})


def test_observations_may_name_the_new_quantities(office):
    (office / "observations.csv").write_text("date,place,quantity,low,high\n2020-01-05,Bravo,permit_granted,5,5\n"
                                             "2020-01-05,Bravo,settled,4,6\n2020-01-02,Bravo,permit_waiting,10,10\n")
    s = load_scenario(office)
    assert len(s.observations) == 3
    (office / "observations.csv").write_text("date,place,quantity,low,high\n2020-01-05,Bravo,permits,5,5\n")
    with pytest.raises(UserError, match="unknown quantity 'permits'"):
        load_scenario(office)


def test_readme_permit_example_loads_on_the_builtin_network(tmp_path):
    from ruamel.yaml import YAML

    from conftest import ROOT
    from travesia.scenario.builtin import init_scenario

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Permit programmes, documents per post")[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    y = YAML(typ="safe")
    y.default_flow_style = False
    example = y.load(block)
    folder = init_scenario("caravan-2018", tmp_path / "mine")
    raw = y.load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    raw["permits"] = example["permits"]
    for k, v in example["crossings"].items():
        raw["crossings"].setdefault(k, {}).update(v)
    with open(folder / "scenario.yaml", "w", encoding="utf-8") as f:
        y.dump(raw, f)
    s = load_scenario(folder)
    assert s.params.permits["visitor-cards"].quota == 13000
    assert s.params.crossings["agua_caliente"].accepts == ["Honduras", "El Salvador", "Guatemala", "Nicaragua"]
