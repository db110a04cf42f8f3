"""The README's scenario example is a valid scenario (with the built-in tables)."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT
from travesia.scenario.builtin import init_scenario
from travesia.scenario.load import load_scenario


def test_readme_scenario_example_loads(tmp_path: Path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("A small `scenario.yaml`")[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    folder = init_scenario("caravan-2018", tmp_path / "mine")
    (folder / "scenario.yaml").write_text(example, encoding="utf-8")
    s = load_scenario(folder)
    assert s.params.name == "my-caravan" and s.params.populations[0].via[-1] == "mexico_city_estadio"
