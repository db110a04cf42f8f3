"""FLEE 3.1's daily counts: interpolating a count table, and the people injected each day.

A table is a float64 array ``[k, 2]`` of (day offset from the start date, count), as the
``flee.counts`` parameter holds it. FLEE:

- interpolates linearly between dates, truncating to a whole number, holding the first value
  before the first date and the last after the last — :func:`interpolate`;
- injects each day the increase of the total (the sum over camps with ``sum_from_camps``), with
  a "debt" that carries decreases forward — :func:`injection_counts`.
"""

from __future__ import annotations

import numpy as np


def interpolate(table: np.ndarray, day: int) -> int:
    """The count on ``day``: linear between dates, truncated to a whole number (FLEE's rule)."""
    if day <= table[0, 0]:
        return int(table[0, 1])
    for i in range(1, len(table)):
        if day < table[i, 0]:
            d0, v0 = table[i - 1]
            frac = float(day - d0) / float(table[i, 0] - d0)
            return int(v0 + frac * float(table[i, 1] - v0))
    return int(table[-1, 1])


def daily(table: np.ndarray, days: int) -> np.ndarray:
    """:func:`interpolate` for days 0 .. days-1 (int64)."""
    return np.array([interpolate(table, d) for d in range(days)], dtype=np.int64)


def injection_counts(totals: np.ndarray, insert_day0: bool) -> np.ndarray:
    """People injected each day from the daily totals (FLEE's ``spawn_daily_displaced``).

    ``totals`` is the interpolated total per day. The increase of the total is injected; a
    decrease becomes a debt taken off the next day's increase (and forgiven the day after, as in
    FLEE). With ``insert_day0`` nobody is injected on day 0 (the camps are pre-filled instead).
    """
    days = len(totals)
    out = np.zeros(days, dtype=np.int64)
    debt = 0
    for t in range(days):
        diff = int(totals[0]) if t == 0 else int(totals[t] - totals[t - 1])
        new = diff - debt
        if insert_day0 and t == 0:
            new = 0
        if new < 0:
            debt = -new
            new = 0
        elif debt > 0:
            debt = 0
        out[t] = new
    return out
