"""Person attributes (demographics): drawn with the given weights (chi-square on a large draw),
per place of start as FLEE 3 draws them, read from FLEE's demographics files, and counted by
value in by_attribute.csv so that the counts add up to the totals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from conftest import LINE_LEGS, LINE_PLACES, LINE_YAML, write_scenario
from travesia.api import simulate
from travesia.engine.people import State
from travesia.engine.sim import Sim
from travesia.errors import UserError
from travesia.flee.convert import import_flee
from travesia.scenario.load import load_scenario

from test_flee import write_flee

ATTR_YAML = """
    attributes:
      age_group:
        values: [child, adult, elder]
        weights:
          default: [0.2, 0.7, 0.1]
          b: [0.5, 0.5, 0]
"""


def _caravan(tmp_path: Path, size: int = 10, extra: str = ATTR_YAML, joiners: int = 0) -> Path:
    y = LINE_YAML.replace("core: 10\n        size: 10", f"core: {size}\n        size: {size}")
    if joiners:
        y = y.replace("destinations: {c: 1}", f"destinations: {{c: 1}}\n        joiners: [{{place: b, size: {joiners}}}]")
    return write_scenario(tmp_path / "s", y.rstrip(" ") + textwrap.indent(textwrap.dedent(extra).strip() + "\n", "    "),
                          LINE_PLACES, LINE_LEGS)


def test_draw_matches_weights_chi_square(tmp_path):
    """200,000 people from 'a' (default weights) and 100,000 joiners at 'b' (their own column)."""
    sim = Sim(load_scenario(_caravan(tmp_path, size=200_000, joiners=100_000)), seed=3)
    codes = sim.people.attrs["age_group"]
    assert codes.dtype == np.uint8 and codes.shape == (sim.n,)
    for seg, w in ((sim.segments[0], [0.2, 0.7, 0.1]), (sim.segments[1], [0.5, 0.5, 0.0])):
        got = np.bincount(codes[seg.start:seg.stop], minlength=3)
        n = seg.stop - seg.start
        w = np.array(w)
        keep = w > 0
        assert got[~keep].sum() == 0  # a value of weight 0 is never drawn
        assert chisquare(got[keep], n * w[keep] / w.sum()).pvalue > 1e-3
        # and the test has power: the other column's weights are rejected
        other = np.array([0.3, 0.6, 0.1]) if w[2] > 0 else np.array([0.45, 0.55])
        assert chisquare(got[keep], n * other / other.sum()).pvalue < 1e-6
    # keyed draws: the same seed gives the same codes; another seed others
    again = Sim(load_scenario(tmp_path / "s"), seed=3).people.attrs["age_group"]
    assert np.array_equal(codes, again)
    assert not np.array_equal(codes, Sim(load_scenario(tmp_path / "s"), seed=4).people.attrs["age_group"])


def test_by_attribute_adds_up_to_the_totals(tmp_path):
    from travesia.api import run_scenario

    s = _caravan(tmp_path, size=400, joiners=50)
    run_scenario(s, out_dir=tmp_path / "run")
    bya = pd.read_csv(tmp_path / "run" / "by_attribute.csv")
    assert set(bya.columns) == {"date", "place", "attribute", "value", "present"}
    assert set(bya["value"]) <= {"child", "adult", "elder"}
    tot = pd.read_csv(tmp_path / "run" / "totals.csv")
    names = set(load_scenario(s).places["name"])
    present = tot[(tot["quantity"] == "present") & tot["place"].isin(names)]
    want = present.groupby(["date", "place"])["people"].sum()
    got = bya.groupby(["date", "place"])["present"].sum().reindex(want.index, fill_value=0)
    assert want.sum() > 0 and (got == want).all()


def test_record_by_attribute_equals_present_counts(tmp_path):
    r = simulate(load_scenario(_caravan(tmp_path, size=300, joiners=40)), check=True)
    c = r.record.counts
    present = c[:, :, State.TRAVELLING] + c[:, :, State.RESTING] + c[:, :, State.ARRIVED]
    assert np.array_equal(r.record.by_attribute["age_group"].sum(axis=2), present)


@pytest.mark.parametrize("extra, msg", [
    ("attributes: {age: {values: [a, b], weights: {default: [1]}}}", "1 weights for 2 values"),
    ("attributes: {age: {values: [a, b], weights: {x: [1, 1]}}}", "default"),
    ("attributes: {age: {values: [a, a], weights: {default: [1, 1]}}}", "twice"),
    ("attributes: {age: {values: [a, b], weights: {default: [-1, 2]}}}", ">= 0"),
    ("attributes: {age: {values: [a, b], weights: {default: [1, 1], Zulu: [1, 1]}}}", "Zulu"),
    ("attributes: {1age: {values: [a], weights: {default: [1]}}}", "letters"),
])
def test_attribute_errors(tmp_path, extra, msg):
    with pytest.raises(UserError, match=msg):
        load_scenario(_caravan(tmp_path, extra=extra))


# --------------------------------------------------------------------------- FLEE's demographics files


def test_flee_demographics_import_and_run(tmp_path):
    f = write_flee(tmp_path / "demo", arrivals=3000)
    (f / "input_csv" / "demographics_gender.csv").write_text("gender,Default,Alpha,Elsewhere\n"
                                                             "male,0.51,0.9,0.5\nfemale,0.49,0.1,0.5\n")
    res = import_flee(f, tmp_path / "out")
    assert any("Elsewhere" in n and "never drawn from" in n for n in res["notes"])
    sc = load_scenario(tmp_path / "out")
    at = sc.params.attributes["gender"]
    assert at.values == ["male", "female"]
    assert at.weights == {"default": [0.51, 0.49], "Alpha": [0.9, 0.1]}
    r = simulate(sc, check=True)
    g = r.sim.people.attrs["gender"]
    # everyone spawns at Alpha (the conflict zone): Alpha's column, not Default
    assert chisquare(np.bincount(g, minlength=2), len(g) * np.array([0.9, 0.1])).pvalue > 1e-3
    camp = r.net.index["Camp_One"]
    assert r.record.by_attribute["gender"][-1, camp].sum() == 3000


def test_flee_demographics_errors(tmp_path):
    def err(text):
        f = write_flee(tmp_path / f"e{len(list(tmp_path.iterdir()))}")
        (f / "input_csv" / "demographics_age.csv").write_text(text)
        with pytest.raises(UserError) as e:
            import_flee(f, f.parent / (f.name + "-out"))
        return str(e.value)

    assert "demographics_age.csv:1" in (m := err("age,Alpha\n1,1\n")) and "Default" in m
    assert "demographics_age.csv:3" in (m := err("age,Default\n1,1\n2,-1\n")) and ">= 0" in m
    assert "demographics_age.csv:2" in (m := err("age,Default\n1,x\n")) and "'x'" in m
    assert "demographics_age.csv:1" in (m := err("years,Default\n1,1\n")) and "'age'" in m


def test_household_attribute_is_shared(tmp_path):
    extra = """
        attributes:
          with_children:
            values: ['yes', 'no']
            per: household
            weights: {default: [0.4, 0.6]}
    """
    s = _caravan(tmp_path, size=20_000, extra=extra)
    y = (s / "scenario.yaml").read_text().replace("household_size: 1", "household_size: 3")
    (s / "scenario.yaml").write_text(y)
    sim = Sim(load_scenario(s), seed=1)
    hh, code = sim.people.household, sim.people.attrs["with_children"]
    first = np.unique(hh, return_index=True)[1]
    assert len(first) < sim.n / 2  # households of several people
    assert np.array_equal(code, code[first][np.searchsorted(hh[first], hh)])  # members share it
    got = np.bincount(code[first], minlength=2)
    assert chisquare(got, len(first) * np.array([0.4, 0.6])).pvalue > 1e-3
