"""The observation model: how a report relates to the count the simulator gives.

A report of quantity ``q`` is a noisy measurement of the members' count ``x``: on the log scale
``ln(1 + R) = ln(1 + x) + b_q + s_k·ε``, with ``ε`` a standard **Student-t** variable with ``ν``
degrees of freedom, ``s_k`` a scale per *kind* of count and ``b_q`` a log bias per quantity. The
error lumps together what a report gets wrong (crowd estimates by officials, organisers, the
press and the UN differ by a factor 1.5–2 on the same day) and what the model gets wrong at that
place and date (its structural discrepancy): one-step-ahead misses alone cannot tell them apart.

Kinds of count (:func:`kind_of`):

- ``crowd`` — ``present``, ``travelling``, ``crossed``, ``returned``, ``arrived``, ``detained``:
  crowd estimates; prior scale ``0.4`` (two independent estimates then differ by a median
  factor 1.5, as the shared observations' sources do);
- ``tally`` — ``asylum_applied``, permits and FLEE camp registrations: counts of registrations
  and official tallies; prior scale ``0.1``.

**Heavy tails.** Most reports land near the members' counts, a few far off (the whole caravan
reported at one town while the model's column is spread over several; a crowd held at a bridge
that the model moved on). A normal error fitted to such misses takes the size of the few large
ones, and its central bands become too wide while its outer bands barely hold; a Student-t error
keeps a narrow centre and wide tails, and one far-off report does not collapse the particle
filter onto the few particles that happen to be near it (robust filtering).

**Not grown with the horizon.** The members' own spread grows with the days past the last report
they saw (their parameters and chances diverge); the one-step-ahead misses (1 to 3 days apart)
hold no evidence that the error beyond that spread grows too, so the scale is the same at every
horizon. (An assumed random walk, ``s_k·√h``, tried on 1 December 2026, made the 90% bands of a
200-member forecast 12 days out span a factor of 100 and more.)

**Learnt from the one-step-ahead misses** (:func:`fit_errors`). Before the particles see a
day's reports, every earlier report was predicted by the particles as they were before *it* (an
equally weighted ensemble, :class:`~travesia.ensemble.filter.Particles` ``history``). The scale
of each kind, the log bias of each quantity and ``ν`` are the maximum a posteriori values of the
prequential likelihood of those reports, ``Π_j mean_i p(report_j | x_ij)``, under the priors

- ``ln s_k ~ Normal(ln s0_k, 0.7²)`` (``s0``: the prior scales above),
- ``b_q ~ Normal(0, 0.3²)`` (shrunk toward no bias; a bias must be shown by several reports),
- ``ν`` on ``{2, 3, 5, 10, 30}`` with prior weights ``∝ 1/ν`` (30 is about normal): heavy tails
  until the reports show otherwise — a few reports cannot tell the tails apart (their
  likelihoods differ by a fraction of a unit), and a light-tailed error then lets the first
  report that is far off collapse the particles onto the one or two near it,

found on a grid by coordinate ascent. The particles' own spread is part of each prediction, so
the scale is only what the particles cannot explain. Only reports on or before the as-of date are
used. With no report yet, the priors' modes hold (``ν = 2``).

**Likelihood** of a report given counts ``x`` (:func:`log_likelihood`), ``μ = ln(1 + x) + b``,
``L = ln(1 + ·)``, ``F`` the error's distribution function:

- a single figure ``low = high``: the density of ``L(low)``;
- a range: ``F((L(high) − μ)/s) − F((L(low) − μ)/s)``, the chance the report falls in it;
- an open range ``≥ low``: ``1 − F((L(low) − μ)/s)``.

Each factor is a density or a probability of one report; particle weights compare members on the
same reports, so the mixture of the two is harmless.

**Predictive bands.** ``forecast.csv`` gives bands for *what will be reported*: each member's
count times ``exp(b_q + s_k·ε)``, ``ε`` drawn keyed by the seed (:func:`noise`).
``forecast_true.csv`` gives the bands of the members' counts alone: the model's own uncertainty
(parameters, chance and the reports it was conditioned on), without the report error and
without the part of the model's discrepancy that the misses cannot separate from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, log_ndtr, logsumexp, ndtr, stdtr

KIND_OF = {"present": "crowd", "travelling": "crowd", "crossed": "crowd", "returned": "crowd", "arrived": "crowd",
           "reached": "crowd", "settled": "tally", "asylum_waiting": "crowd", "permit_applied": "tally",
           "permit_granted": "tally", "permit_waiting": "crowd",
           "detained": "crowd", "asylum_applied": "tally"}
PRIOR_SIGMA = {"crowd": 0.4, "tally": 0.1}
PRIOR_LOG_SD = 0.7
BIAS_SD = 0.3
NU_GRID = (2.0, 3.0, 5.0, 10.0, 30.0)
PRIOR_NU = 2.0  # the mode of the prior on ν
SCALE_GRID = np.exp(np.linspace(np.log(0.02), np.log(2.0), 36))
BIAS_GRID = np.linspace(-1.0, 1.0, 41)
FIT_PARTICLES = 256  # the prequential likelihood uses at most this many particles per report (evenly spaced)
FLOOR = 1e-300


def kind_of(quantity: str, rules: str = "caravan") -> str:
    """``crowd`` or ``tally`` (FLEE's camp populations are registrations: tallies)."""
    if rules == "flee" and quantity == "present":
        return "tally"
    return KIND_OF.get(quantity, "crowd")


def log_likelihood(x: np.ndarray, low: float, high: float, sigma: float, nu: float | None = None,
                   bias: float = 0.0) -> np.ndarray:
    """Log-likelihood of one report ``[low, high]`` (high NaN: open) for counts ``x`` (any shape):
    Student-t error with ``nu`` degrees of freedom (``None``: normal), scale ``sigma``, log bias ``bias``."""
    mu = np.log1p(np.maximum(np.asarray(x, dtype=np.float64), 0.0)) + bias
    a = (np.log1p(low) - mu) / sigma
    if nu is None:
        if high is None or np.isnan(high):
            return log_ndtr(-a)
        if high <= low:
            return -0.5 * a * a - np.log(sigma)
        b = (np.log1p(high) - mu) / sigma
        # P(a < Z < b), computed on the side of the tail that keeps precision
        p = np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
        return np.log(np.maximum(p, FLOOR))
    if high is None or np.isnan(high):
        return np.log(np.maximum(stdtr(nu, -a), FLOOR))
    if high <= low:
        c = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)
        return c - (nu + 1) / 2 * np.log1p(a * a / nu) - np.log(sigma)
    b = (np.log1p(high) - mu) / sigma
    p = np.where(a > 0, stdtr(nu, -a) - stdtr(nu, -b), stdtr(nu, b) - stdtr(nu, a))
    return np.log(np.maximum(p, FLOOR))


@dataclass(frozen=True)
class ErrorModel:
    """The fitted report error: scale per kind, log bias per quantity, degrees of freedom (module doc)."""

    scales: tuple = tuple(sorted(PRIOR_SIGMA.items()))  # ((kind, s), ...)
    biases: tuple = ()  # ((quantity, b), ...)
    nu: float = PRIOR_NU
    reports: int = 0  # how many reports it was fitted on
    rules: str = "caravan"

    def scale(self, quantity: str) -> float:
        return float(dict(self.scales)[kind_of(quantity, self.rules)])

    def bias(self, quantity: str) -> float:
        return float(dict(self.biases).get(quantity, 0.0))

    def scales_for(self, quantities) -> np.ndarray:
        return np.array([self.scale(q) for q in quantities], dtype=np.float64)

    def biases_for(self, quantities) -> np.ndarray:
        return np.array([self.bias(q) for q in quantities], dtype=np.float64)

    def loglik(self, x: np.ndarray, low: float, high: float, quantity: str) -> np.ndarray:
        return log_likelihood(x, low, high, self.scale(quantity), self.nu, self.bias(quantity))

    def as_dict(self) -> dict:
        return {"scale": {k: round(v, 4) for k, v in self.scales}, "bias": {k: round(v, 4) for k, v in self.biases},
                "nu": self.nu, "reports": self.reports}


def _predictive(x: np.ndarray, low: float, high: float, s, nu: float, b) -> np.ndarray:
    """ln of the particles' one-step-ahead predictive probability (density) of a report, for each scale
    ``s`` and bias ``b`` (arrays over a grid, broadcast against the particles ``x``)."""
    ll = log_likelihood(x[None, :], low, high, np.asarray(s, dtype=np.float64).reshape(-1, 1), nu,
                        np.asarray(b, dtype=np.float64).reshape(-1, 1))
    return logsumexp(ll, axis=1) - np.log(x.shape[0])


def fit_errors(history, rules: str = "caravan", sweeps: int = 2) -> ErrorModel:
    """The MAP error model of the reports in ``history`` (``(quantity, low, high, ln(1 + x) of the particles
    before the report, days since the particles last saw a report)``, in the order they came), as in the
    module doc (the days are kept for the record; the scale does not depend on them)."""
    if not history:
        return ErrorModel(rules=rules)
    hs = []
    for q, lo, hi, lx, _days in history:
        lx = np.asarray(lx, dtype=np.float64)
        if len(lx) > FIT_PARTICLES:
            lx = lx[np.linspace(0, len(lx) - 1, FIT_PARTICLES).round().astype(int)]
        hs.append((q, kind_of(q, rules), float(lo), float(hi), np.expm1(lx)))
    kinds = sorted({h[1] for h in hs})
    quantities = sorted({h[0] for h in hs})
    best = None
    for nu in NU_GRID:
        s = dict(PRIOR_SIGMA)
        b = {q: 0.0 for q in quantities}
        for _ in range(sweeps):
            for k in kinds:
                mine = [h for h in hs if h[1] == k]
                lp = -0.5 * ((np.log(SCALE_GRID) - np.log(PRIOR_SIGMA[k])) / PRIOR_LOG_SD) ** 2
                tot = lp + sum(_predictive(h[4], h[2], h[3], SCALE_GRID, nu, b[h[0]]) for h in mine)
                s[k] = float(SCALE_GRID[int(np.argmax(tot))])
            for q in quantities:
                mine = [h for h in hs if h[0] == q]
                lp = -0.5 * (BIAS_GRID / BIAS_SD) ** 2
                tot = lp + sum(_predictive(h[4], h[2], h[3], s[h[1]], nu, BIAS_GRID) for h in mine)
                b[q] = float(BIAS_GRID[int(np.argmax(tot))])
        post = float(sum(_predictive(h[4], h[2], h[3], s[h[1]], nu, b[h[0]])[0] for h in hs))
        post += sum(-0.5 * ((np.log(s[k]) - np.log(PRIOR_SIGMA[k])) / PRIOR_LOG_SD) ** 2 for k in kinds)
        post += sum(-0.5 * (b[q] / BIAS_SD) ** 2 for q in quantities) - np.log(nu)
        if best is None or post > best[0] + 1e-9:
            best = (post, nu, dict(s), dict(b))
    _, nu, s, b = best
    return ErrorModel(scales=tuple(sorted(s.items())), biases=tuple(sorted(b.items())), nu=float(nu),
                      reports=len(hs), rules=rules)


def reported(x: np.ndarray, sigma: np.ndarray, z: np.ndarray) -> np.ndarray:
    """What would be reported for counts ``x``: ``(1 + x)·exp(σ z) − 1``, never below 0 (nor above e⁵⁰: a
    heavy-tailed draw far out in the tail is only "a great many")."""
    return np.maximum(np.expm1(np.minimum(np.log1p(np.maximum(x, 0.0)) + sigma * z, 50.0)), 0.0)


def noise(seed: int, shape: tuple[int, ...], block: int, nu: float | None = None) -> np.ndarray:
    """Standard Student-t draws (``nu``; ``None``: normal) for the reported-count bands, keyed by (seed, block)."""
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0x0B5, int(block)))))
    return g.standard_normal(shape) if nu is None else g.standard_t(nu, shape)
