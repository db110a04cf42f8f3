"""Sensitivity: Sobol indices over the declared priors, as a table and a chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from travesia.ensemble.runner import dask_client
from travesia.ensemble.sensitivity import sensitivity, sobol_unit_sample
from travesia.errors import UserError


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


def test_sobol_table_and_chart(tmp_path, client):
    pri = tmp_path / "priors.yaml"
    pri.write_text("movement.foot_km_per_day: {dist: uniform, low: 30, high: 70}\n"
                   "intentions.give_up_per_day: {dist: loguniform, low: 0.005, high: 0.05}\n")
    r = sensitivity("caravan-2018", samples=4, days=16, scale=0.2, priors_file=pri, out=tmp_path / "s",
                    shelter="Guatemala City", client=client)
    idx = pd.read_csv(tmp_path / "s" / "sensitivity.csv", keep_default_na=False)
    assert list(idx.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "note"]
    assert idx["output"].nunique() == 3 and set(idx["parameter"]) == {"movement.foot_km_per_day",
                                                                      "intentions.give_up_per_day"}
    assert any(o.startswith("peak_shelter Guatemala City") for o in idx["output"])
    samples = pd.read_csv(tmp_path / "s" / "samples.csv")
    assert len(samples) == 4 * (2 + 2) == r["meta"]["runs"]
    assert samples["movement.foot_km_per_day"].between(30, 70).all()
    png = (tmp_path / "s" / "sensitivity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # returns by the last day depend on the daily chance of giving up: that output varies
    ret = idx[idx["output"].str.startswith("returned_by")]
    assert ret["note"].eq("").all() and np.isfinite(ret["ST"].astype(float)).all()


def test_sobol_sample_is_reproducible_and_inside_the_cube():
    a, b = sobol_unit_sample(3, 8, seed=1), sobol_unit_sample(3, 8, seed=1)
    assert a.shape == (8 * 5, 3) and np.array_equal(a, b) and (a > 0).all() and (a < 1).all()


def test_sensitivity_input_errors(tmp_path, client):
    with pytest.raises(UserError, match="power of 2"):
        sensitivity("caravan-2018", samples=6, priors_file="caravan-2018", client=client)
    with pytest.raises(UserError, match="sensitivity needs uncertain parameters"):
        sensitivity("caravan-2018", samples=4, client=client)
    with pytest.raises(UserError, match="--by"):
        sensitivity("caravan-2018", samples=4, days=5, by="2019-01-01", priors_file="caravan-2018", client=client)
