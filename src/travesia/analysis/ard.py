"""FLEE's validation metric: the averaged relative difference of camp populations over time."""

from __future__ import annotations

import numpy as np


def averaged_relative_difference(sim: np.ndarray, obs: np.ndarray, total: np.ndarray | None = None,
                                 rescale: bool = True) -> float:
    """FLEE's "averaged relative difference" between simulated and observed camp populations.

    ``sim`` and ``obs`` are days × camps arrays; ``total`` the observed total per day (default:
    the sum of ``obs`` over camps). On each day with a positive total the simulated camps are
    (with ``rescale``) multiplied so that they sum to the observed total, then

        error_t = Σ_camps |sim_t − obs_t| / total_t,

    and the result is the mean of ``error_t`` over those days (0 = perfect). Days where the
    simulated camps are all empty keep their unscaled values (error 1 when obs > 0).
    """
    sim = np.asarray(sim, dtype=np.float64)
    obs = np.asarray(obs, dtype=np.float64)
    if sim.shape != obs.shape or sim.ndim != 2:
        raise ValueError(f"sim and obs must be days × camps arrays of one shape, got {sim.shape} and {obs.shape}")
    tot = obs.sum(axis=1) if total is None else np.asarray(total, dtype=np.float64)
    ok = tot > 0
    if not ok.any():
        raise ValueError("no day with a positive observed total")
    s = sim[ok]
    if rescale:
        ssum = s.sum(axis=1, keepdims=True)
        s = np.where(ssum > 0, s * (tot[ok][:, None] / np.where(ssum > 0, ssum, 1.0)), s)
    err = np.abs(s - obs[ok]).sum(axis=1) / tot[ok]
    return float(err.mean())
