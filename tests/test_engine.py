"""The engine: known answers on small networks, conservation, limits, policies, determinism."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from travesia.api import simulate
from travesia.engine.people import STATE_NAMES, State
from travesia.engine.sim import Sim
from travesia.output import totals_frame
from travesia.scenario.load import load_scenario


def total(result, quantity, place, date):
    t = totals_frame(result, quantities=(quantity,), places=[place])
    return int(t[t.date == date].people.sum())


def test_walkers_reach_destination_on_the_day_worked_out_by_hand(line):
    # 100 km at 50 km a day: day 0 A→B (50 km), day 1 B→Post→C (25 + 25): all arrive on day 1
    r = simulate(line, check=True)
    d0, d1 = dt.date(2020, 1, 1), dt.date(2020, 1, 2)
    assert total(r, "present", "Bravo", d0) == 10
    assert total(r, "arrived", "Charlie", d0) == 0
    assert total(r, "arrived", "Charlie", d1) == 10
    assert total(r, "crossed", "Post", d1) == 10  # an open crossing counts those passing
    assert r.sim.people.counts_by_state()[State.ARRIVED] == 10
    assert r.record.counts[1].sum() == 10


def test_nobody_walks_faster_than_their_pace(line):
    s = load_scenario(line, {"movement.foot_km_per_day": 20})
    sim = Sim(s)
    for _ in range(sim.days):
        sim.step()
        assert np.all(sim.people.km_today <= 20 + 1e-4)
    # 100 km at 20 km a day: arrival on day 4 (after 5 days of walking)
    assert sim.record.cum["arrived"][3, sim.net.index["c"]] == 0
    assert sim.record.cum["arrived"][4, sim.net.index["c"]] == 10


def test_closed_border_lets_nobody_through_without_a_breach(line):
    ov = {"crossings.x.rule": "closed", "crossings.x.bypass_prob": 0, "crossings.x.breach_crowd": 0}
    r = simulate(load_scenario(line, ov), check=True)
    c = r.net.index["c"]
    assert r.record.cum["arrived"][-1, c] == 0
    assert r.record.cum["crossed"][-1].sum() == 0
    assert r.record.counts[-1, r.net.index["x"], State.RESTING] == 10  # held at the post


def test_breach_pushes_the_whole_crowd_through(line):
    ov = {"crossings.x.rule": "closed", "crossings.x.breach_crowd": 10, "crossings.x.breach_prob": 1.0,
          "crossings.x.enforcement": 0.0}
    r = simulate(load_scenario(line, ov), check=True)
    assert r.record.cum["crossed"][-1, r.net.index["x"]] == 10
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 10
    # a crowd below the threshold does not breach
    ov["crossings.x.breach_crowd"] = 11
    r = simulate(load_scenario(line, ov), check=True)
    assert r.record.cum["crossed"][-1].sum() == 0


def test_post_processes_capacity_per_day_first_come_first_served(line):
    ov = {"crossings.x.rule": "documents", "crossings.x.capacity_per_day": 3, "crossings.x.apply_at_post": 1.0,
          "countries.Bland.asylum.max_wait_working_days": 200, "countries.Bland.asylum.min_wait_days": 100}
    r = simulate(load_scenario(line, ov), check=True)
    applied = r.record.cum["applied"][:, r.net.index["x"]]
    # they reach the post on day 1; 3 a day are processed from day 2 on (borders runs before movement)
    assert applied.tolist() == [0, 0, 3, 6, 9, 10]
    assert r.sim.people.counts_by_state()[State.ASYLUM_PENDING] == 10


def test_documents_pass_a_documents_post(line):
    ov = {"crossings.x.rule": "documents", "crossings.x.capacity_per_day": 0, "populations.p.documents": 1.0}
    r = simulate(load_scenario(line, ov), check=True)
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 10


def test_nobody_waits_for_asylum_beyond_the_maximum():
    s = load_scenario("caravan-2018", {"countries.Mexico.asylum.max_wait_working_days": 10,
                                        "countries.Mexico.asylum.min_wait_days": 2})
    sim = Sim(s, days=45, check=True)
    mexico = sim.net.country_index("Mexico")
    limit = int(np.ceil(10 * 7 / 5))
    for _ in range(sim.days):
        sim.step()
        pp = sim.people
        pend = (pp.state == State.ASYLUM_PENDING) & (sim.net.country[pp.place] == mexico)
        assert np.all(sim.day - 1 - pp.since[pend] <= limit)
        det = pp.state == State.DETAINED
        days_held = sim.day - 1 - pp.since[det]
        assert np.all(days_held <= sim.policy.detention_days[sim.net.country[pp.place[det]]])
    assert sim.record.cum["applied"][-1].sum() > 0


def test_caravan_conserves_people_every_day_and_respects_mode_limits():
    s = load_scenario("caravan-2018")
    sim = Sim(s, days=40, check=True)  # check=True asserts that counts add up to people created
    m = sim.params.movement
    limit = max([m.max_foot_km_per_day, m.ride_km_per_day, m.bus_km_per_day] + [b.km for b in sim.params.buses])
    for _ in range(sim.days):
        sim.step()
        assert sim.people.km_today.max() <= limit + 1e-3
        assert sim.record.counts[sim.day - 1].sum() == sim.n
    # without rides and buses nobody exceeds the walking limit
    s = load_scenario("caravan-2018", {"movement.ride_prob": 0, "movement.solo_bus_prob": 0, "plan.cohesion": 0,
                                        "offers.prob_per_day": 0})
    sim = Sim(s, days=25)
    for _ in range(sim.days):
        sim.step()
        assert sim.people.km_today.max() <= s.params.movement.max_foot_km_per_day + 1e-3
        walked = sim.people.km_today > 0
        assert np.all(sim.people.km_today[walked] <= sim.people.speed[walked] + 1e-3)


def test_same_seed_same_result_other_seed_other_result():
    a = simulate("caravan-2018", days=25)
    b = simulate("caravan-2018", days=25)
    c = simulate("caravan-2018", days=25, seed=99)
    assert np.array_equal(a.record.counts, b.record.counts)
    assert np.array_equal(a.record.flows, b.record.flows)
    assert not np.array_equal(a.record.counts, c.record.counts)


def test_closing_the_suchiate_keeps_the_caravan_out_of_mexico():
    base = simulate("caravan-2018", days=20)
    closed = {f"crossings.{c}.{k}": v for c in ("ciudad_hidalgo", "talisman_bridge", "la_mesilla")
              for k, v in (("rule", "closed"), ("bypass_prob", 0), ("breach_crowd", 0))}
    # asylum seekers at the gate would be let in to wait in the station (and some walk away from it)
    closed["countries.Mexico.asylum.open"] = False
    closed["timeline-"] = ["crossings.ciudad_hidalgo.bypass_prob"]  # the timeline's river changes (26, 30 Oct)
    shut = simulate("caravan-2018", days=20, overrides=closed)
    hid = base.net.index["ciudad_hidalgo"]
    assert base.record.cum["crossed"][-1, hid] > 100
    assert shut.record.cum["crossed"][-1, hid] == 0
    # nobody is on the move in Mexico beyond the posts (they are held at them)
    posts = [shut.net.index[p] for p in ("ciudad_hidalgo", "talisman_bridge", "la_mesilla", "suchiate_bridge")]
    beyond = (shut.net.country == shut.net.country_index("Mexico"))
    beyond[posts] = False
    moving = [State.TRAVELLING, State.RESTING, State.ARRIVED]
    assert shut.record.counts[:, beyond][:, :, moving].sum() == 0
    assert base.record.counts[:, beyond][:, :, moving].sum() > 0
    # held at the post, counted in Tecún Umán where its crowd waits (crossings.ciudad_hidalgo.queue_at)
    assert shut.record.counts[-1, shut.net.index["tecun_uman"], State.RESTING] > 100


def test_buses_carry_people_further(line):
    ov = {"buses": [{"place": "a", "start": "2020-01-01", "end": "2020-01-01", "seats_per_day": 4, "km": 100}]}
    s = load_scenario(line)
    s.raw["buses"] = ov["buses"]
    from travesia.scenario.load import validate_params
    s.params = validate_params(s.raw, where="test")
    r = Sim(s, check=True).run()
    # four ride the bus the whole 100 km on day 0, the other six walk
    assert r.record.cum["arrived"][0, r.net.index["c"]] == 4
    assert r.record.cum["arrived"][1, r.net.index["c"]] == 10
    # shift_days moves the buses' dates (the handle a prior takes on them): a day later nobody waits at a
    from travesia.ensemble.priors import draw
    from travesia.ensemble.runner import member_scenario
    from travesia.scenario.schema import Prior

    shifted = member_scenario(s, {"buses.0.shift_days": 1})
    assert (shifted.params.buses[0].start, shifted.params.buses[0].shift_days) == (dt.date(2020, 1, 2), 0)
    assert validate_params(shifted.raw, where="test").buses[0].start == dt.date(2020, 1, 2)  # applied once
    assert Sim(shifted, check=True).run().record.cum["arrived"][0, r.net.index["c"]] == 0
    prior = {"buses.0.shift_days": Prior(dist="uniform", low=-0.49, high=3.49)}
    starts = {member_scenario(s, draw(prior, 0, i)).params.buses[0].start for i in range(40)}
    assert starts == {dt.date(2020, 1, d) for d in (1, 2, 3, 4)}


def test_scale_multiplies_people():
    a = Sim(load_scenario("caravan-2018"), days=2)
    b = Sim(load_scenario("caravan-2018"), days=2, scale=3)
    assert b.n == pytest.approx(3 * a.n, rel=1e-3)


def test_every_state_of_the_model_is_represented():
    assert STATE_NAMES == ("waiting", "travelling", "resting", "detained", "asylum_pending", "settled",
                           "arrived", "returned", "deported", "permit_pending")


def test_a_post_accepts_national_ids_of_the_nationalities_it_lists(line):
    # CA-4: the post in Bland takes Aland's ID card; the ten travellers (from Aland, no papers) pass it
    base = {"crossings.x.rule": "documents", "crossings.x.capacity_per_day": 0, "crossings.x.bypass_prob": 0}
    r = simulate(load_scenario(line, {**base, "crossings.x.accepts": ["Aland"]}), check=True)
    assert r.record.cum["arrived"][-1, r.net.index["c"]] == 10
    assert r.record.cum["crossed"][-1, r.net.index["x"]] == 10
    # a post that takes only Bland's IDs (not theirs) holds them all, as one with no list does
    for acc in (["Bland"], [], ["Nowhereland"]):
        r = simulate(load_scenario(line, {**base, "crossings.x.accepts": acc}), check=True)
        assert r.record.cum["arrived"][-1, r.net.index["c"]] == 0, acc


def test_an_exit_only_post_turns_back_those_it_catches_instead_of_detaining_them(line):
    # Aland stops its own citizens leaving at the post; all ten bypass on day 2, all are caught:
    # caught at an exit-only post means sent home (returned), nobody detained, nobody crossed
    ov = {"crossings.x.rule": "closed", "crossings.x.exit_only": "Aland", "crossings.x.bypass_prob": 1.0,
          "crossings.x.enforcement": 1.0, "crossings.x.breach_crowd": 0, "days": 12}
    r = simulate(load_scenario(line, ov), check=True)
    x = r.net.index["x"]
    assert r.record.cum["crossed"][-1].sum() == 0
    assert r.record.counts[:, :, State.DETAINED].sum() == 0
    assert r.sim.people.counts_by_state()[State.RETURNED] == 10
    # the same post holding everyone (not exit-only) detains those it catches
    ov.pop("crossings.x.exit_only")
    r = simulate(load_scenario(line, ov), check=True)
    assert r.record.counts[2, :, State.DETAINED].sum() == 10
    assert r.record.cum["crossed"][-1, x] == 0


def test_a_towns_row_counts_its_named_places_once(tmp_path):
    # Charlie's detention centre "Charlie (station)": the ten caught at the post are held there;
    # totals.csv's Charlie counts them (MODEL.md: a name that starts others' names is the town),
    # an observation at Charlie reads that row alone, and (Bland) counts them once
    from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
    from travesia.analysis.observe import simulated_values
    from travesia.scenario.load import place_members

    places = LINE_PLACES.rstrip() + "\n    s,Charlie (station),Bland,14.0,-89.0,detention,\n"
    yaml = LINE_YAML + """
    crossings: {x: {rule: closed, bypass_prob: 1.0, enforcement: 1.0, breach_crowd: 0}}
    countries: {Bland: {detention_place: s, detention_days: 30}}
    """
    r = simulate(load_scenario(write_scenario(tmp_path / "t", yaml, places, LINE_LEGS)), check=True)
    d = dt.date(2020, 1, 4)
    assert total(r, "detained", "Charlie (station)", d) == 10
    assert total(r, "detained", "Charlie", d) == 10
    assert total(r, "detained", "(Bland)", d) == 10
    assert place_members("Charlie", ["Alpha", "Charlie", "Charlie (station)"]) == ["Charlie"]
    assert place_members("Charlie", ["Alpha", "Charlie (station)"]) == ["Charlie (station)"]
    import pandas as pd
    obs = pd.DataFrame({"date": [d], "place": ["Charlie"], "quantity": ["detained"], "low": [1], "high": [20]})
    assert simulated_values(totals_frame(r), obs).tolist() == [10.0]


def test_the_crowd_held_at_a_post_is_counted_where_it_waits(line):
    # the post x holds all ten from day 1; with queue_at b they are counted at Bravo (the town
    # before the post, where the crowd waits), with every state and the invariants unchanged
    ov = {"crossings.x.rule": "closed", "crossings.x.bypass_prob": 0, "crossings.x.breach_crowd": 0}
    held = simulate(load_scenario(line, ov), check=True)
    queued = simulate(load_scenario(line, {**ov, "crossings.x.queue_at": "b"}), check=True)
    x, b = held.net.index["x"], held.net.index["b"]
    assert held.record.counts[-1, x].sum() == 10 and held.record.counts[-1, b].sum() == 0
    assert queued.record.counts[-1, x].sum() == 0 and queued.record.counts[-1, b].sum() == 10
    assert np.array_equal(held.record.counts[-1].sum(axis=0), queued.record.counts[-1].sum(axis=0))
    assert total(queued, "present", "Bravo", dt.date(2020, 1, 6)) == 10
    # day 0 (walking A to B) is the same either way; once through, nobody is counted at the queue
    assert np.array_equal(held.record.counts[0], queued.record.counts[0])
    opened = {**ov, "crossings.x.queue_at": "b", "crossings.x.rule": "open"}
    r = simulate(load_scenario(line, opened), check=True)
    assert r.record.counts[:, b].sum() == 10  # day 0 only, when they slept in Bravo


@pytest.mark.parametrize("threads", [1, 2])
def test_a_bus_with_no_seats_changes_nothing(threads):
    """Movement moves those at a place where a bus may leave after the others (once the buses took
    their seats): with no seat to take, the run is the same bytes as without the buses, on 1 and 2
    threads; with seats, it is not."""
    from travesia.engine.core import set_threads
    from travesia.scenario.load import validate_params

    def with_buses(seats: int):
        s = load_scenario("caravan-2018")
        s.raw["buses"] = [{"place": p, "start": "2018-10-12", "end": "2018-12-10", "seats_per_day": seats, "km": 300}
                          for p in ("san_pedro_sula", "tapachula", "tecun_uman", "juchitan")]
        s.params = validate_params(s.raw, where="test")
        return s

    def arrays(s):
        r = Sim(s, days=30, check=True).run()
        return [r.record.counts, r.record.flows, *(r.record.cum[k] for k in sorted(r.record.cum))]

    set_threads(threads)
    try:
        plain = arrays(load_scenario("caravan-2018"))
        assert all(np.array_equal(a, b) for a, b in zip(plain, arrays(with_buses(0))))
        assert not all(np.array_equal(a, b) for a, b in zip(plain, arrays(with_buses(200))))
    finally:
        set_threads(1)
