"""The observation model: how a report relates to the true count.

A report of quantity ``q`` is a noisy measurement of the true count ``x`` (what the simulator
counts): on the log scale ``ln(1 + R) = ln(1 + x) + ε``, ``ε ~ Normal(0, σ_kind²)``, unbiased
in the log (no systematic over- or under-count is assumed; a bias would need a source to
name it). The error scale depends on the *kind* of count:

- ``crowd`` — ``present``, ``travelling``, ``crossed``, ``returned``, ``arrived``, ``detained``:
  crowd estimates by officials, organisers, the press and the UN, which differ by a factor
  1.5–2 on the same day (shared README, observations.csv). Prior scale ``σ₀ = 0.4`` (two
  independent estimates then differ by a median factor 1.5, and by more than 2.5 one time
  in ten);
- ``tally`` — ``asylum_applied`` and FLEE camp registrations: counts of registrations and
  official tallies, prior scale ``σ₀ = 0.1``.

**Estimated from the reports' own spread.** A range ``[low, high]`` with ``high > low`` in an
observations file is read as two reports that disagree: ``s = ln((1 + high) / (1 + low))`` is
then ``|ε₁ − ε₂|``, whose square has mean ``2σ²``. The scale of a kind is the prior combined
with these: ``σ² = (n₀·σ₀² + Σ s²/2) / (n₀ + n)`` with ``n₀ = 3`` pseudo-observations
(:func:`estimate_sigma`; only the observations known on the as-of date are used). Single
figures (``low = high``) and open ranges (``≥ low``) carry no information about the spread.

**Likelihood** of a report given a true count ``x`` (:func:`log_likelihood`), with
``μ = ln(1 + x)`` and ``L = ln(1 + ·)``:

- a single figure ``low = high``: the normal density of ``L(low)`` (up to a constant);
- a range: ``Φ((L(high) − μ)/σ) − Φ((L(low) − μ)/σ)``, the chance the report falls in it;
- an open range ``≥ low``: ``1 − Φ((L(low) − μ)/σ)``.

Each factor is a density or a probability of one report; particle weights compare members on
the same reports, so the mixture of the two is harmless.

**Predictive bands.** ``forecast.csv`` gives bands for *what will be reported* (each member's
count with the model discrepancy, the report bias and the report error of
:class:`travesia.ensemble.filter.Discrepancy` and this module, drawn keyed by the seed);
``forecast_true.csv`` gives bands for the true count (members with the model discrepancy alone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtr

KIND_OF = {"present": "crowd", "travelling": "crowd", "crossed": "crowd", "returned": "crowd", "arrived": "crowd",
           "reached": "crowd", "settled": "tally", "asylum_waiting": "crowd", "permit_applied": "tally",
           "permit_granted": "tally", "permit_waiting": "crowd",
           "detained": "crowd", "asylum_applied": "tally"}
PRIOR_SIGMA = {"crowd": 0.4, "tally": 0.1}
PRIOR_WEIGHT = 3.0
FLOOR = 1e-300


def kind_of(quantity: str, rules: str = "caravan") -> str:
    """``crowd`` or ``tally`` (FLEE's camp populations are registrations: tallies)."""
    if rules == "flee" and quantity == "present":
        return "tally"
    return KIND_OF.get(quantity, "crowd")


def estimate_sigma(obs: pd.DataFrame | None, rules: str = "caravan") -> dict[str, float]:
    """The error scale of each kind: the prior combined with the spread of ranges in ``obs`` (module doc)."""
    out = {}
    for kind, s0 in PRIOR_SIGMA.items():
        num, n = PRIOR_WEIGHT * s0 * s0, PRIOR_WEIGHT
        if obs is not None and len(obs):
            hi = obs["high"].to_numpy(dtype=float)
            lo = obs["low"].to_numpy(dtype=float)
            k = np.array([kind_of(q, rules) == kind for q in obs["quantity"]], dtype=bool)
            m = k & ~np.isnan(hi) & (hi > lo)
            s = np.log1p(hi[m]) - np.log1p(lo[m])
            num += float(np.sum(s * s) / 2.0)
            n += float(m.sum())
        out[kind] = float(np.sqrt(num / n))
    return out


def sigmas_for(quantities, sigma: dict[str, float], rules: str = "caravan") -> np.ndarray:
    return np.array([sigma[kind_of(q, rules)] for q in quantities], dtype=np.float64)


def log_likelihood(x: np.ndarray, low: float, high: float, sigma: float) -> np.ndarray:
    """Log-likelihood of one report ``[low, high]`` (high NaN: open) for true counts ``x`` (any shape)."""
    mu = np.log1p(np.maximum(np.asarray(x, dtype=np.float64), 0.0))
    a = (np.log1p(low) - mu) / sigma
    if high is None or np.isnan(high):
        return log_ndtr(-a)
    if high <= low:
        return -0.5 * a * a - np.log(sigma)
    b = (np.log1p(high) - mu) / sigma
    # P(a < Z < b), computed on the side of the tail that keeps precision
    p = np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
    return np.log(np.maximum(p, FLOOR))


def reported(x: np.ndarray, sigma: np.ndarray, z: np.ndarray) -> np.ndarray:
    """What would be reported for true counts ``x``: ``(1 + x)·exp(σ z) − 1``, never below 0."""
    return np.maximum(np.expm1(np.log1p(np.maximum(x, 0.0)) + sigma * z), 0.0)


def noise(seed: int, shape: tuple[int, int], block: int) -> np.ndarray:
    """Standard normal draws for the reported-count bands, keyed by (seed, block of columns)."""
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0x0B5, int(block)))))
    return g.standard_normal(shape)
