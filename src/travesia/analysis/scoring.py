"""Scoring probabilistic forecasts against reported ranges, the way forecast hubs score them.

The scores are computed by the maintained ``scoringrules`` package (weighted interval score,
CRPS); this module only decides *what* is scored:

**Scale.** Counts here span orders of magnitude (a few hundred asylum claims, ten thousand
walkers), so every score is computed on the log scale ``ln(1 + count)``: a forecast off by a
factor 2 costs the same at 500 people as at 5,000. Coverage and PIT do not depend on the scale.

**A reported range** ``[low, high]`` (or ``≥ low`` when ``high`` is empty) is scored as follows:

- *scored value* ``y``: for a bounded range, its geometric middle on the log scale,
  ``expm1((ln(1+low) + ln(1+high)) / 2)`` (a single figure, low = high, is itself); for an open
  range ``≥ low``, the point of ``[low, ∞)`` nearest the forecast's median, ``max(low, p50)``,
  so a forecast above a reported minimum is not penalised for being above it (the report is
  censored, not a figure);
- **WIS** (``scoringrules.weighted_interval_score``): the median and the central 50% and 90%
  intervals (``p25–p75``, ``p05–p95``), canonical weights (``α/2`` per interval, ½ for the
  median), at ``y`` on the log scale;
- **CRPS** (``scoringrules.crps_ensemble``): of the forecast's members (its predictive sample)
  at ``y`` on the log scale; a point forecast's CRPS is its absolute log error;
- **coverage** of an interval: the range *overlaps* the interval (``high ≥ lower`` and
  ``low ≤ upper``; an open range has no upper bound);
- **PIT bin**: where ``y`` falls among the forecast's quantiles: ``below_p05``, ``p05_p25``,
  ``p25_p50``, ``p50_p75``, ``p75_p95``, ``above_p95`` (expected shares 0.05, 0.20, 0.25, 0.25,
  0.20, 0.05 for a calibrated forecast); an observation counts in an outer bin only when its
  whole range lies outside the 90% interval (else it goes to the adjacent inner bin); ties
  between ``y`` and several equal quantiles take the middle of the tied bins.

:func:`score_table` scores many observations at once; :func:`summarise` averages them per
group (origin, quantity, overall): ``n``, mean ``wis``, ``crps``, ``cover50``, ``cover90``, and
the PIT shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ALPHAS = np.array([0.5, 0.1])  # central 50% and 90% intervals
PIT_BINS = ("below_p05", "p05_p25", "p25_p50", "p50_p75", "p75_p95", "above_p95")
PIT_EXPECTED = (0.05, 0.20, 0.25, 0.25, 0.20, 0.05)
SCALE = "log1p"


def to_log(x) -> np.ndarray:
    """The scoring scale: ``ln(1 + count)`` (negative counts read as 0)."""
    return np.log1p(np.maximum(np.asarray(x, dtype=np.float64), 0.0))


def _high(high) -> np.ndarray:
    h = np.asarray(high, dtype=np.float64)
    return np.where(np.isnan(h), np.inf, h)


def scored_value(low, high, median) -> np.ndarray:
    """The count at which a range is scored (module doc): geometric middle, or ``max(low, median)``."""
    low = np.asarray(low, dtype=np.float64)
    hi = _high(high)
    open_ = np.isinf(hi)
    mid = np.expm1((to_log(low) + to_log(np.where(open_, low, hi))) / 2.0)
    return np.where(open_, np.maximum(low, np.asarray(median, dtype=np.float64)), mid)


def quantiles_of(samples: np.ndarray) -> np.ndarray:
    """``(n, 5)`` p05, p25, p50, p75, p95 of ``(n, members)`` samples (linear interpolation)."""
    return np.percentile(np.asarray(samples, dtype=np.float64), [5, 25, 50, 75, 95], axis=1).T


def wis(y, q: np.ndarray) -> np.ndarray:
    """Weighted interval score on the log scale of counts ``y`` for quantiles ``q`` (``(n, 5)``, counts)."""
    import scoringrules as sr

    # scoringrules' default (numba) backend; its numpy backend (0.10) does not give Bracher et al.'s
    # WIS on the hand-worked case of tests/test_scoring.py
    lq = to_log(q)
    lower = np.stack([lq[:, 1], lq[:, 0]], axis=1)
    upper = np.stack([lq[:, 3], lq[:, 4]], axis=1)
    ly = to_log(y)
    return np.asarray(sr.weighted_interval_score(ly, lq[:, 2], lower, upper, ALPHAS),
                      dtype=np.float64).reshape(ly.shape)


def crps(y, samples: np.ndarray) -> np.ndarray:
    """CRPS on the log scale of counts ``y`` for ``(n, members)`` samples (counts)."""
    import scoringrules as sr

    ly = to_log(y)
    return np.asarray(sr.crps_ensemble(ly, to_log(samples)), dtype=np.float64).reshape(ly.shape)


def covers(low, high, lower, upper) -> np.ndarray:
    """True where the range ``[low, high]`` overlaps the interval ``[lower, upper]``."""
    return (_high(high) >= np.asarray(lower, dtype=np.float64)) & (np.asarray(low, dtype=np.float64)
                                                                     <= np.asarray(upper, dtype=np.float64))


def pit_bin(y, low, high, q: np.ndarray) -> np.ndarray:
    """Index into :data:`PIT_BINS` for each observation (module doc)."""
    y = np.asarray(y, dtype=np.float64)[:, None]
    left = (q < y).sum(axis=1)
    right = (q <= y).sum(axis=1)
    b = (left + right) // 2
    over90 = covers(low, high, q[:, 0], q[:, 4])
    b = np.where((b == 0) & over90, 1, b)
    b = np.where((b == 5) & over90, 4, b)
    return b.astype(np.int64)


def score_table(low, high, q: np.ndarray, samples: np.ndarray | None = None) -> pd.DataFrame:
    """Scores of each observation: ``y`` (count scored), ``wis``, ``crps``, ``cover50``, ``cover90``, ``pit``.

    ``q`` is ``(n, 5)`` quantiles in counts; ``samples`` ``(n, members)`` the predictive sample (for
    CRPS; without it, CRPS is taken of the quantiles as if they were five members).
    """
    q = np.asarray(q, dtype=np.float64)
    y = scored_value(low, high, q[:, 2])
    s = q if samples is None else samples
    return pd.DataFrame({
        "y": y,
        "wis": wis(y, q),
        "crps": crps(y, s),
        "cover50": covers(low, high, q[:, 1], q[:, 3]),
        "cover90": covers(low, high, q[:, 0], q[:, 4]),
        "pit": pit_bin(y, low, high, q),
    })


def point_quantiles(values) -> np.ndarray:
    """A point forecast as quantiles (all five equal)."""
    v = np.asarray(values, dtype=np.float64)
    return np.repeat(v[:, None], 5, axis=1)


def summarise(df: pd.DataFrame, by: list[str] | None = None, prefix: str = "") -> pd.DataFrame:
    """Means per group (or overall): n, wis, crps, cover50, cover90, PIT shares; columns of naive
    forecasts ``wis_<method>`` and ``relative_wis`` (travesia's WIS over the better naive's)."""
    naive = sorted(c[4:] for c in df.columns if c.startswith("wis_"))

    def one(g: pd.DataFrame) -> dict:
        r = {"n": int(len(g)), "wis": float(g["wis"].mean()), "crps": float(g["crps"].mean()),
             "cover50": float(g["cover50"].mean()), "cover90": float(g["cover90"].mean())}
        counts = np.bincount(g["pit"].to_numpy(dtype=np.int64), minlength=len(PIT_BINS))
        for name, c in zip(PIT_BINS, counts):
            r[f"pit_{name}"] = float(c / max(len(g), 1))
        best = None
        for m in naive:
            r[f"wis_{m}"] = float(g[f"wis_{m}"].mean())
            r[f"crps_{m}"] = float(g[f"crps_{m}"].mean()) if f"crps_{m}" in g else float("nan")
            best = r[f"wis_{m}"] if best is None else min(best, r[f"wis_{m}"])
        if naive:
            r["relative_wis"] = float(r["wis"] / best) if best and best > 0 else float("nan")
        return r

    if not by:
        return pd.DataFrame([{"group": "overall", **one(df)}])
    rows = []
    for key, g in df.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), **one(g)})
    return pd.DataFrame(rows)
