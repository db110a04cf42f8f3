"""FLEE's validation of a run: camp populations against the (interpolated) counts.

FLEE compares, each day, the people *at* each camp (not those on a link out of it) with the
camp's count interpolated as FLEE interpolates it, and scores the run by the averaged relative
difference (:func:`travesia.analysis.ard.averaged_relative_difference`, with the simulated camps
rescaled to the observed total of the camps).
"""

from __future__ import annotations

import numpy as np

from travesia.analysis.ard import averaged_relative_difference
from travesia.engine.people import State
from travesia.engine.processes.flee_rules.model import _counts_daily
from travesia.engine.processes.flee_rules.params import flee_params


def camp_table(result) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(camp names, simulated days × camps, observed days × camps) for the camps with counts.

    Simulated values are divided by the run's ``--scale`` so that they compare with the counts.
    """
    sim = result.sim
    fp = flee_params(sim.params.flee)
    daily = _counts_daily(fp, sim.start, sim.days)
    net = result.net
    camps = [i for i, n in enumerate(net.names) if n in daily and n != "total" and net.kind[i] == 6]
    c = result.record.counts
    simv = (c[:, camps, State.RESTING] + c[:, camps, State.ARRIVED]).astype(np.float64) / sim.scale
    obs = np.stack([daily[net.names[i]] for i in camps], axis=1).astype(np.float64) if camps else np.zeros((sim.days, 0))
    return [net.names[i] for i in camps], simv, obs


def flee_ard(result) -> float:
    """FLEE's averaged relative difference of a ``flee`` run (0 = perfect)."""
    _, simv, obs = camp_table(result)
    return averaged_relative_difference(simv, obs, obs.sum(axis=1))
