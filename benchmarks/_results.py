"""Where the benchmarks leave their figures: ``benchmarks/results/NAME.json``, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from travesia.output import atomic_write

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, res: dict) -> Path:
    """Write ``res`` as ``results/NAME.json`` (indented, through a temporary file) and say where."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    atomic_write(path, json.dumps(res, indent=2) + "\n")
    print(f"wrote {path}")
    return path
