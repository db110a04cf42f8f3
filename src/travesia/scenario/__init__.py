"""What the user writes, read and checked: schema, loading, overrides, built-in scenarios."""

from travesia.scenario.builtin import builtin_names, init_scenario
from travesia.scenario.load import LoadedScenario, load_scenario, parse_overrides
from travesia.scenario.schema import Scenario

__all__ = ["LoadedScenario", "Scenario", "builtin_names", "init_scenario", "load_scenario", "parse_overrides"]
