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

**Not grown with the horizon** (except at sites, below). The members' own spread grows with the days past the last report
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

**Sites: the population the model does not have.** A camp (place kind ``camp``: FLEE's camps,
:func:`site_places`) is a place where people stay, and is reported again and again. Its count
there may hold people the scenario does not simulate: FLEE fills a camp with its day-0 count and
injects only the *increase* of the refugee total, so on ``ssudan2016`` the camps start at 0 while
their first reports, two days in, are 48,739 at Kule and 63,169 at Pugnido (the 806,871 refugees
already displaced on day 0); FLEE's own validation compares camps' *shares* of the total, where
this does not show, but a forecast of counts is off by them for ever. So at a site the report is
read against the members' count **plus the site's last residual** (the error correction of
operational forecasting, which persists the last observed miss at a gauge): after a report
``R`` at a site, its offset becomes ``R − x̃`` (``x̃``: the particles' weighted median count, after
they saw it; the figure of a range, not updated by an open report ``≥ low``), and every later
prediction there, in the filter's likelihood and its one-step-ahead check and in the forecast's
bands, is ``max(x + offset, 0)``. The offset is not a parameter fitted on the whole record: it is
the latest miss, carried forward; the report error's scale is then learnt from the one-step-ahead
misses *with* the offsets (prequentially), so it measures how far the miss moves from one report
to the next. A miss carried forward wanders: at a site, the scale of a report ``g`` days after the
site's last one is ``sqrt(s_k² + η²·g)``, ``η`` learnt with the rest from the sites' misses (each
at the days since the same site's report before it) under a half-normal prior of sd 0.05 per
sqrt(day) (a guess: a camp's miss wandering by a factor ``e^0.5`` in 100 days), so a forecast's band
at a site widens with the days since its last report. Carrying the offsets is itself a choice the
record makes (:func:`fit_errors`): every report at a site is kept read both ways, with its offset and
without, and the report error is fitted to both readings; the one with the higher posterior is used
(``carry``; a site whose misses do not persist would be read without). ``forecast_true.csv`` stays the members' counts alone. Places a caravan passes
(towns, crossings, shelters) have no offset: the crowd there today is gone tomorrow.

**A report is a figure and a range.** A report in ``observations.csv`` is ``[low, high]``: one
figure (``low = high``), the spread of several sources' figures (officials, organisers, the UN),
or a lower bound (``≥ low``). The model reads a bounded range as its *figure*, the geometric
middle ``m = (L(low) + L(high)) / 2`` (``L = ln(1 + ·)``, the point at which the backtest's WIS and
CRPS score it), with the sources' spread around it, the half-width ``h = (L(high) − L(low)) / 2``,
drawn by the reporting process independently of the count: the width says how much the sources
disagreed, not where the count is.

**Likelihood** of a report given counts ``x`` (:func:`log_likelihood`), ``μ = ln(1 + x) + b``,
``f`` and ``F`` the error's density and distribution function:

- a single figure or a bounded range: the chance of its figure ``m`` to the nearest person,
  ``F((L(m + ½) − μ)/s) − F((L(m − ½) − μ)/s)`` — for counts above a few dozen the density at
  ``L(m)`` times the person's width ``L(m + ½) − L(m − ½)``, a constant that does not change the
  particles' weights nor the fitted scale; near 0 it is bounded by 1, where a density is not (a
  camp reported empty while every particle has it empty would otherwise pull the learnt scale
  toward 0 by ``−ln s`` per report);
- an open range ``≥ low``: ``1 − F((L(low) − μ)/s)``, the chance the figure is at least ``low``.

Each factor is a density or a probability of one report; particle weights compare members on the
same reports, so the mixture of the two is harmless. (Before 1 December 2026 a range's likelihood
was the chance that one figure fell anywhere in it: a wide range then weighed almost nothing and
the scale learnt from such reports was too small for the figure the scorer reads.)

**Predictive bands** (:func:`range_bands`). ``forecast.csv`` gives bands for *what will be
reported*, read as the scorer reads a report: a range covered by a band when the two overlap.
Each member's count gives a figure ``M = (1 + x)·exp(b_q + s_k·ε) − 1`` (``ε`` drawn keyed by the
seed, :func:`noise`) and a range ``(1 + M)·exp(∓h) − 1`` with ``h`` drawn from the half-widths of
the reports of the same kind seen up to the as-of date (:func:`half_widths`; a single figure has
``h = 0``; kinds with no report seen: ``h = 0``). An open report ``≥ low`` is part of the same
record: when one is drawn, the report is ``≥ M`` (its bound the figure, no high end), as often as
such reports came before. Then

- ``p05``, ``p25``: the 5% and 25% quantiles of the range's *high* end (infinite for an open
  report) — the range lies wholly below the band with chance 5% (25%);
- ``p50``: the median figure;
- ``p75``, ``p95``: the 75% and 95% quantiles of the range's *low* end — wholly above with
  chance 25% (5%);

so a report drawn from the model overlaps ``[p05, p95]`` with chance 90% and ``[p25, p75]`` with
chance 50% (tested), while the bands of the figure alone overlap a range far more often than they
promise (a range of half-width 0.5 around a figure at the band's 20th percentile still reaches
into it). Where the ranges are wide against the forecast's spread, or open reports frequent, the
central band's low edge rises to the median, never above it (caravan-2018 as of 16 October: three
of the six crowd reports so far were "at least" figures, so a report will lie wholly below the
median with chance only about 25%, and ``p25 = p50``). For exact counts (FLEE camp registrations, tallies given as one
figure) the bands are the figure's own percentiles. Nothing in this is fitted to reports after
the as-of date: ``s``, ``b``, ``ν`` and the half-widths all come from the reports up to it.

Every member's count is drawn :func:`copies` times over (:data:`DRAWS` = 1,000 draws per key in
all): the bands are percentiles of the predictive distribution, not of a few members' single
draws (16 members' own p05–p95 hold only about 79% of draws from their own distribution, a large
part of why a 16-member FLEE forecast's 90% bands held 76% of later camp counts).

``forecast_true.csv`` gives the percentiles of the members' counts alone: the model's own
uncertainty (parameters, chance and the reports it was conditioned on), without the report error
and without the part of the model's discrepancy that the misses cannot separate from it.
"""

from __future__ import annotations

import dataclasses
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
ETA_SD = 0.05  # prior (half-normal) sd of a site's discrepancy growth per sqrt(day): a guess (module doc, *sites*)
ETA_GRID = np.r_[0.0, np.exp(np.linspace(np.log(0.002), np.log(0.5), 40))]
FIT_PARTICLES = 256  # the prequential likelihood uses at most this many particles per report (evenly spaced)
FLOOR = 1e-300


def kind_of(quantity: str, rules: str = "caravan") -> str:
    """``crowd`` or ``tally`` (FLEE's camp populations are registrations: tallies)."""
    if rules == "flee" and quantity == "present":
        return "tally"
    return KIND_OF.get(quantity, "crowd")


def site_places(places) -> set[str]:
    """Names (and ids) of the *sites* among ``places`` (a places table): the places of kind ``camp``, where
    people stay and a count is a series of its own (module doc, *sites*); empty without a ``kind`` column."""
    if places is None or "kind" not in places:
        return set()
    c = places[places["kind"].astype(str) == "camp"]
    return {str(x) for col in ("name", "id") if col in c for x in c[col]}


def figure(low: float, high: float) -> float | None:
    """The figure a report ``[low, high]`` gives: its geometric middle on ``ln(1 + ·)`` (a single figure
    itself); ``None`` for an open report ``≥ low`` (``high`` missing)."""
    if high is None or np.isnan(high):
        return None
    return float(np.expm1(0.5 * (np.log1p(max(float(low), 0.0)) + np.log1p(max(float(high), float(low), 0.0)))))


def _date(iso):
    import datetime as dt

    return iso if isinstance(iso, dt.date) else dt.date.fromisoformat(str(iso)[:10])


def weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """The median of ``x`` under weights ``w`` (the smallest value whose cumulative weight reaches half)."""
    o = np.argsort(x, kind="stable")
    c = np.cumsum(np.asarray(w, dtype=np.float64)[o])
    return float(np.asarray(x, dtype=np.float64)[o][min(int(np.searchsorted(c, 0.5 * c[-1])), len(o) - 1)])


def log_likelihood(x: np.ndarray, low: float, high: float, sigma: float, nu: float | None = None,
                   bias: float = 0.0) -> np.ndarray:
    """Log-likelihood of one report ``[low, high]`` (high NaN: open) for counts ``x`` (any shape):
    Student-t error with ``nu`` degrees of freedom (``None``: normal), scale ``sigma``, log bias ``bias``
    (module doc: a bounded report is the chance of its figure, to the nearest person; an open one the upper tail)."""
    mu = np.log1p(np.maximum(np.asarray(x, dtype=np.float64), 0.0)) + bias
    sigma = np.asarray(sigma, dtype=np.float64)
    if high is None or np.isnan(high):
        a = (np.log1p(max(float(low), 0.0)) - mu) / sigma
        return log_ndtr(-a) if nu is None else np.log(np.maximum(stdtr(nu, -a), FLOOR))
    m = figure(low, high)  # the geometric middle of the range (a single figure itself), known to the nearest person
    lo, hi = np.log1p(max(m - 0.5, 0.0)), np.log1p(m + 0.5)
    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    w = hi - lo
    mid = 0.5 * (a + b)
    if nu is None:
        dens = -0.5 * mid * mid - 0.5 * np.log(2 * np.pi)
        p = np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
    else:
        dens = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - (nu + 1) / 2 * np.log1p(mid * mid / nu)
        p = np.where(a > 0, stdtr(nu, -a) - stdtr(nu, -b), stdtr(nu, b) - stdtr(nu, a))
    # where the person's interval is narrow against the error (every count above a few dozen), the density at its
    # middle times its width (exact to 0.1%, and finite far in the tails); else the exact chance (counts near 0)
    narrow = w / sigma < 0.1
    with np.errstate(divide="ignore"):
        exact = np.log(np.maximum(p, FLOOR))
    return np.where(narrow, dens + np.log(w / sigma), exact)


@dataclass(frozen=True)
class ErrorModel:
    """The fitted report error: scale per kind, log bias per quantity, degrees of freedom (module doc)."""

    scales: tuple = tuple(sorted(PRIOR_SIGMA.items()))  # ((kind, s), ...)
    biases: tuple = ()  # ((quantity, b), ...)
    nu: float = PRIOR_NU
    reports: int = 0  # how many reports it was fitted on
    rules: str = "caravan"
    widths: tuple = ()  # ((kind, (h, ...)), ...): log half-widths of the earlier reports' ranges (inf: open), per kind
    offsets: tuple = ()  # (((quantity, place), (add, date)), ...): a site's last residual and the date of its report
    eta: float = 0.0  # a site's discrepancy growth per sqrt(day) since its last report (module doc, *sites*)
    carry: bool = True  # the sites' offsets are used (False: the record preferred reading sites without them)

    @property
    def shifts(self) -> bool:
        """Whether reports at sites are read against the count plus the site's offset."""
        return bool(self.offsets) and self.carry

    def widths_of(self, quantity: str) -> np.ndarray:
        """The half-widths ``h`` of the earlier reports of this quantity's kind (``inf``: open; empty: none seen)."""
        return np.asarray(dict(self.widths).get(kind_of(quantity, self.rules), ()), dtype=np.float64)

    def scale(self, quantity: str) -> float:
        return float(dict(self.scales)[kind_of(quantity, self.rules)])

    def bias(self, quantity: str) -> float:
        return float(dict(self.biases).get(quantity, 0.0))

    def offsets_for(self, quantities, places) -> np.ndarray:
        """The counts added to the members' for reports of ``quantities`` at ``places``: a site's last residual
        where the offsets are carried (module doc), else 0."""
        if not self.shifts:
            return np.zeros(len(quantities), dtype=np.float64)
        off = dict(self.offsets)
        return np.array([off.get((str(q), str(p)), (0.0,))[0] for q, p in zip(quantities, places)], dtype=np.float64)

    def scales_at(self, quantities, places, dates) -> np.ndarray:
        """The error scale of reports of ``quantities`` at ``places`` on ``dates`` (``datetime.date``): the kind's
        scale, grown at a site with an offset by ``eta`` per sqrt(day) since its last report (module doc)."""
        s = self.scales_for(quantities)
        if self.shifts and self.eta > 0:
            off = dict(self.offsets)
            for j, (q, p, d) in enumerate(zip(quantities, places, dates)):
                o = off.get((str(q), str(p)))
                if o is not None:
                    g = max((d - _date(o[1])).days, 0)
                    s[j] = float(np.sqrt(s[j] ** 2 + self.eta ** 2 * g))
        return s

    def scales_for(self, quantities) -> np.ndarray:
        return np.array([self.scale(q) for q in quantities], dtype=np.float64)

    def biases_for(self, quantities) -> np.ndarray:
        return np.array([self.bias(q) for q in quantities], dtype=np.float64)

    def loglik(self, x: np.ndarray, low: float, high: float, quantity: str) -> np.ndarray:
        return log_likelihood(x, low, high, self.scale(quantity), self.nu, self.bias(quantity))

    def as_dict(self) -> dict:
        out = {"scale": {k: round(v, 4) for k, v in self.scales}, "bias": {k: round(v, 4) for k, v in self.biases},
               "nu": self.nu, "reports": self.reports,
               "range_half_widths": {k: _widths_summary(w) for k, w in self.widths}}
        if self.offsets:
            out["site_offsets_used"] = self.carry
            out["site_offsets"] = {f"{q} at {p}": {"add": round(v, 1), "reported": d} for (q, p), (v, d) in self.offsets}
            out["site_growth_per_sqrt_day"] = self.eta
        return out


def _widths_summary(w) -> dict:
    b = [x for x in w if np.isfinite(x)]
    return {"bounded": len(b), "open": len(w) - len(b), "median": round(float(np.median(b)), 4) if b else 0.0,
            "max": round(float(max(b)), 4) if b else 0.0}


def _predictive(x: np.ndarray, low: float, high: float, s, nu: float, b) -> np.ndarray:
    """ln of the particles' one-step-ahead predictive probability (density) of a report, for each scale
    ``s`` and bias ``b`` (arrays over a grid, broadcast against the particles ``x``)."""
    ll = log_likelihood(x[None, :], low, high, np.asarray(s, dtype=np.float64).reshape(-1, 1), nu,
                        np.asarray(b, dtype=np.float64).reshape(-1, 1))
    return logsumexp(ll, axis=1) - np.log(x.shape[0])


def fit_errors(history, rules: str = "caravan", sweeps: int = 2) -> ErrorModel:
    """The MAP error model of the reports in ``history`` (``(quantity, low, high, ln(1 + x) of the particles
    before the report, days since the particles last saw a report[, days since the last report at the same
    site, ln(1 + x) without the site's offset])``, in the order they came), as in the module doc (the days since
    any report are kept for the record; the scale does not depend on them). A report at a site read with an
    offset (its 6th item, not None) has the scale ``sqrt(s² + η²·days)``: ``η`` is fitted with the rest (0 when
    there is none). Where reports were read with offsets, the record decides whether carrying them is
    better than not: the model without them (the sites' reports against the counts alone, no growth) is
    fitted too, and the one with the higher posterior is returned (``carry``; module doc, *sites*)."""
    if not history:
        return ErrorModel(rules=rules)
    with_offsets = _fit_one(history, rules, sweeps)
    if not any(len(h) > 6 for h in history):
        return with_offsets[1]
    plain = [h[:3] + (h[6], h[4]) if len(h) > 6 else h for h in history]
    without = _fit_one(plain, rules, sweeps)
    if without[0] > with_offsets[0] + 1e-9:
        return dataclasses.replace(without[1], carry=False)
    return with_offsets[1]


def _fit_one(history, rules: str, sweeps: int) -> tuple[float, ErrorModel]:
    """:func:`fit_errors` of one reading of the reports: (log posterior at the MAP, the model)."""
    hs = []
    for h in history:
        q, lo, hi, lx = h[:4]
        sg = h[5] if len(h) > 5 else None
        lx = np.asarray(lx, dtype=np.float64)
        if len(lx) > FIT_PARTICLES:
            lx = lx[np.linspace(0, len(lx) - 1, FIT_PARTICLES).round().astype(int)]
        hs.append((q, kind_of(q, rules), float(lo), float(hi), np.expm1(lx), None if sg is None else float(sg)))
    kinds = sorted({h[1] for h in hs})
    quantities = sorted({h[0] for h in hs})
    grown = any(h[5] is not None for h in hs)
    best = None
    for nu in NU_GRID:
        s = dict(PRIOR_SIGMA)
        b = {q: 0.0 for q in quantities}
        eta = 0.0

        def sd(h, base, eta):
            return base if h[5] is None else np.sqrt(np.asarray(base) ** 2 + np.asarray(eta) ** 2 * h[5])

        for _ in range(sweeps):
            for k in kinds:
                mine = [h for h in hs if h[1] == k]
                lp = -0.5 * ((np.log(SCALE_GRID) - np.log(PRIOR_SIGMA[k])) / PRIOR_LOG_SD) ** 2
                tot = lp + sum(_predictive(h[4], h[2], h[3], sd(h, SCALE_GRID, eta), nu, b[h[0]]) for h in mine)
                s[k] = float(SCALE_GRID[int(np.argmax(tot))])
            for q in quantities:
                mine = [h for h in hs if h[0] == q]
                lp = -0.5 * (BIAS_GRID / BIAS_SD) ** 2
                tot = lp + sum(_predictive(h[4], h[2], h[3], sd(h, s[h[1]], eta), nu, BIAS_GRID) for h in mine)
                b[q] = float(BIAS_GRID[int(np.argmax(tot))])
            if grown:
                mine = [h for h in hs if h[5] is not None]
                lp = -0.5 * (ETA_GRID / ETA_SD) ** 2
                tot = lp + sum(_predictive(h[4], h[2], h[3], sd(h, s[h[1]], ETA_GRID), nu, b[h[0]]) for h in mine)
                eta = float(ETA_GRID[int(np.argmax(tot))])
        post = float(sum(_predictive(h[4], h[2], h[3], sd(h, s[h[1]], eta), nu, b[h[0]])[0] for h in hs))
        post += sum(-0.5 * ((np.log(s[k]) - np.log(PRIOR_SIGMA[k])) / PRIOR_LOG_SD) ** 2 for k in kinds)
        post += sum(-0.5 * (b[q] / BIAS_SD) ** 2 for q in quantities) - np.log(nu)
        post += -0.5 * (eta / ETA_SD) ** 2
        if best is None or post > best[0] + 1e-9:
            best = (post, nu, dict(s), dict(b), eta)
    post, nu, s, b, eta = best
    return post, ErrorModel(scales=tuple(sorted(s.items())), biases=tuple(sorted(b.items())), nu=float(nu),
                            reports=len(hs), rules=rules, widths=half_widths(history, rules), eta=eta)


def half_widths(history, rules: str = "caravan") -> tuple:
    """Per kind, the log half-widths ``(ln(1 + high) − ln(1 + low)) / 2`` of the reports in ``history``
    (a single figure: 0; an open range ``≥ low``: ``inf``), in the order they came: the reporting process's own
    record of how far its sources' figures spread (module doc, *predictive bands*)."""
    out: dict[str, list[float]] = {}
    for q, lo, hi, *_ in history:
        if hi is None or np.isnan(hi):
            out.setdefault(kind_of(q, rules), []).append(np.inf)
            continue
        h = 0.5 * (np.log1p(max(float(hi), 0.0)) - np.log1p(max(float(lo), 0.0)))
        out.setdefault(kind_of(q, rules), []).append(round(max(float(h), 0.0), 6))
    return tuple((k, tuple(v)) for k, v in sorted(out.items()))


BAND_LEVELS = (5.0, 25.0, 50.0, 75.0, 95.0)
DRAWS = 1000  # at least this many draws of what will be reported per key: each member's count this many times over


def copies(members: int) -> int:
    """How many report-error draws each member gets (:data:`DRAWS` in all, at least one each): the bands' p05
    and p95 are then percentiles of a thousand draws, not of a few members' single draws (16 members' own
    p05–p95 hold only about 79% of draws from their own distribution)."""
    return max(1, -(-DRAWS // max(int(members), 1)))


def range_bands(x: np.ndarray, sigma: np.ndarray, bias: np.ndarray, z: np.ndarray, u: np.ndarray,
                widths: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bands for a report still to come, read as the scorer reads it (module doc, *predictive bands*).

    ``x``: members' counts ``(members, keys)``; ``sigma``, ``bias``: per key; ``z``: standard error draws and
    ``u``: uniform draws, both ``(members, keys)``; ``widths``: per key, the half-widths to draw from. Each
    member's report has the figure ``M = (1 + x)·exp(b + σz) − 1`` and the range ``(1 + M)·exp(∓h) − 1``, ``h``
    one of the earlier half-widths (``u`` picks it; ``inf``: an open report ``≥ M``). Returns (the figures ``M``, ``(5, keys)`` bands): p05 and
    p25 are the 5% and 25% quantiles of the range's high end, p50 the median figure, p75 and p95 the 75% and 95%
    quantiles of its low end, so the range lies wholly below [p05, p95] with chance 5%, wholly above with 5%
    and overlaps it with 90% (likewise 25/50/25 for [p25, p75]); a band that would cross itself is the median."""
    m = reported(x, sigma[None, :], z + (bias / sigma)[None, :])
    lm = np.log1p(m)
    out = np.empty((len(BAND_LEVELS), x.shape[1]), dtype=np.float64)
    h = np.zeros_like(lm)
    for j, w in enumerate(widths):
        if len(w):
            h[:, j] = w[np.minimum((u[:, j] * len(w)).astype(np.int64), len(w) - 1)]
    ranged = np.any(h > 0, axis=0)
    if (~ranged).any():
        out[:, ~ranged] = np.percentile(m[:, ~ranged], BAND_LEVELS, axis=0)
    if ranged.any():
        lr, hr = lm[:, ranged], h[:, ranged]
        open_ = np.isinf(hr)
        out[2, ranged] = np.percentile(m[:, ranged], 50.0, axis=0)
        out[:2, ranged] = np.percentile(np.where(open_, 1e300, np.maximum(np.expm1(np.minimum(lr + hr, 50.0)), 0.0)),
                                        BAND_LEVELS[:2], axis=0)
        out[3:, ranged] = np.percentile(np.maximum(np.expm1(lr - np.where(open_, 0.0, hr)), 0.0), BAND_LEVELS[3:],
                                        axis=0)
        out[1] = np.minimum(out[1], out[2])
        out[0] = np.minimum(out[0], out[1])
        out[3] = np.maximum(out[3], out[2])
        out[4] = np.maximum(out[4], out[3])
    return m, out


def reported(x: np.ndarray, sigma: np.ndarray, z: np.ndarray) -> np.ndarray:
    """What would be reported for counts ``x``: ``(1 + x)·exp(σ z) − 1``, never below 0 (nor above e⁵⁰: a
    heavy-tailed draw far out in the tail is only "a great many")."""
    return np.maximum(np.expm1(np.minimum(np.log1p(np.maximum(x, 0.0)) + sigma * z, 50.0)), 0.0)


def noise(seed: int, shape: tuple[int, ...], block: int, nu: float | None = None) -> np.ndarray:
    """Standard Student-t draws (``nu``; ``None``: normal) for the reported-count bands, keyed by (seed, block)."""
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0x0B5, int(block)))))
    return g.standard_normal(shape) if nu is None else g.standard_t(nu, shape)


def picks(seed: int, shape: tuple[int, ...], block: int) -> np.ndarray:
    """Uniform draws that pick each member's range half-width (:func:`range_bands`), keyed by (seed, block)."""
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=(0x3D7, int(block)))))
    return g.random(shape)
