"""Shared helpers: small hand-made scenarios written into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_scenario(folder: Path, yaml: str, places: str, legs: str, observations: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(textwrap.dedent(yaml).lstrip(), encoding="utf-8")
    (folder / "places.csv").write_text(textwrap.dedent(places).lstrip(), encoding="utf-8")
    (folder / "legs.csv").write_text(textwrap.dedent(legs).lstrip(), encoding="utf-8")
    if observations is not None:
        (folder / "observations.csv").write_text(textwrap.dedent(observations).lstrip(), encoding="utf-8")
    return folder


LINE_PLACES = """
    id,name,country,lat,lon,kind,capacity
    a,Alpha,Aland,14.0,-90.0,origin,
    b,Bravo,Aland,14.0,-89.5,town,
    x,Post,Bland,14.0,-89.2,border_crossing,
    c,Charlie,Bland,14.0,-89.0,destination,
    """
LINE_LEGS = """
    from,to,km,modes
    a,b,50,foot|ride|bus
    b,x,25,foot|ride|bus
    x,c,25,foot|ride|bus
    """
LINE_YAML = """
    name: line
    start: 2020-01-01
    days: 6
    seed: 7
    populations:
      - name: p
        origin: a
        start: 2020-01-01
        core: 10
        size: 10
        household_size: 1
        group_size: 10
        destinations: {c: 1}
    recruitment: {innovation: 0, imitation: 0}
    movement: {foot_km_per_day: 50, foot_km_sd: 0, rest_prob: 0, shelter_rest_prob: 0, ride_prob: 0, stage_walking: false}
    groups: {pace_sd: 0, split_prob: 0}
    intentions: {give_up_per_day: 0, give_up_held_per_day: 0}
    """


@pytest.fixture
def line(tmp_path: Path) -> Path:
    """A→B→Post→C, 50+25+25 km; ten people walking exactly 50 km a day from A to C."""
    return write_scenario(tmp_path / "line", LINE_YAML, LINE_PLACES, LINE_LEGS)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the command line as a user would; returns the completed process (text)."""
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "travesia.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)
