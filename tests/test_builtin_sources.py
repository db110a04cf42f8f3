"""Every parameter of the built-in scenario says where its value comes from."""

from __future__ import annotations

from travesia.scenario.load import load_scenario

STRUCTURAL = {"name", "description", "start", "days", "seed", "rules", "places", "legs", "observations",
              "timeline", "sources", "priors"}


def leaf_paths(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list) and node and all(isinstance(x, dict) and "name" in x for x in node):
        for x in node:
            yield from leaf_paths({k: v for k, v in x.items() if k != "name"}, f"{prefix}.{x['name']}")
    else:
        yield prefix


def test_every_builtin_parameter_has_a_source():
    s = load_scenario("caravan-2018")
    sources = s.params.sources
    missing = []
    for path in leaf_paths({k: v for k, v in s.raw.items() if k not in STRUCTURAL}):
        parts = path.split(".")
        if not any(".".join(parts[:i]) in sources for i in range(1, len(parts) + 1)):
            missing.append(path)
    assert not missing, f"parameters without a source: {missing}"
    # and every timeline event names its source
    assert all(ev.source for ev in s.params.timeline)
