"""Imported by the fork server of a local cluster's workers (see :mod:`travesia.ensemble.cluster`).

Importing this module loads the engine and the task functions, and runs two members of the
built-in scenario at 1/50 scale advanced together for its 60 days, so that the numba kernels of
the caravan rules are loaded (from numba's cache, or compiled and cached when the sources changed).
The fork server does this once, while the command that started it reads its scenario; every worker
forked from it then starts with the engine imported and its kernels ready, instead of each worker
importing and loading them at its first task (about 2 s of CPU each on the 2-core machine, where
Python's bytecode is not cached). Nothing of this run is kept. A failure here costs only that
time back: a worker loads what it needs at its first task, as without a fork server.
"""

from __future__ import annotations


def warm() -> None:
    """Load the engine's kernels by a short run of two members of the built-in scenario."""
    try:
        import travesia.ensemble.runner  # noqa: F401 - the task functions, unpickled at each task
        from travesia.engine.sim import Sim
        from travesia.scenario.load import load_scenario

        base = load_scenario("caravan-2018")
        Sim(base, members=[(1, {}), (2, {})], scale=0.02).run()
    except Exception:  # noqa: BLE001 - an optimisation only: workers load what they need when they need it
        pass


warm()
