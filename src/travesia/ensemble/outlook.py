"""What a planner reads first: for each destination and each major shelter, when people come and
how many will be there, with bands over the members (``outlook.csv`` of a forecast).

Per place, over the members of an ensemble (p05 / p50 / p95; dates by the "nearest" rule):

- ``first_*``: the first date on which anyone has reached the place (cumulative ``arrived`` > 0;
  a date on or before the as-of date means people were already there);
- ``half_*``: the date by which half of the member's arrivals there within the run have come;
- both over the members with any arrival there (``members_with_arrivals`` of ``members``);
- ``peak7_*``, ``peak14_*``, ``peak30_*``: the most people present at the place on any day of
  the next 7, 14 and 30 days after the as-of date (fewer if the run ends sooner), per member —
  the crowd a shelter must be ready for.

"Arrivals" here are people reaching the place (``arrived`` of totals.csv: people passing
through included). Places: every destination that any member reaches, then the shelters and
camps with the largest median peak (``n_shelters``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

WINDOWS = (7, 14, 30)


def _q(x: np.ndarray, p: int) -> float:
    return float(np.percentile(x, p)) if len(x) else float("nan")


def outlook_places(run, places: pd.DataFrame, after: int, n_shelters: int = 5) -> list[str]:
    """Destinations reached by any member, then the busiest shelters and camps (median peak after the as-of date)."""
    out = []
    names = set(run.layout.names.get("present", []))
    for name in places.loc[places["kind"] == "destination", "name"]:
        if name in names and run.series("arrived", name)[:, -1].max() > 0:
            out.append(name)
    shel = []
    for name in places.loc[places["kind"].isin(["shelter", "camp"]), "name"]:
        if name in names:
            peak = float(np.median(run.series("present", name)[:, after:].max(axis=1)))
            if peak > 0:
                shel.append((-peak, name))
    return out + [n for _, n in sorted(shel)[:n_shelters]]


def outlook(run, places: pd.DataFrame, as_of: dt.date, n_shelters: int = 5) -> pd.DataFrame:
    """The outlook table (see the module doc) of an :class:`~travesia.ensemble.ensemble.EnsembleRun`."""
    dates = list(run.layout.dates)
    after = next((i for i, d in enumerate(dates) if d > as_of), len(dates))
    kinds = dict(zip(places["name"], places["kind"]))
    rows = []
    for name in outlook_places(run, places, after, n_shelters):
        arr = run.series("arrived", name).astype(np.float64)
        pres = run.series("present", name).astype(np.float64)
        total = arr[:, -1]
        has = total > 0
        row = {"place": name, "kind": kinds.get(name, ""), "members_with_arrivals": int(has.sum()),
               "members": int(len(total))}
        for what, idx in (("first", np.argmax(arr[has] > 0, axis=1) if has.any() else np.zeros(0, int)),
                          ("half", np.argmax(arr[has] >= total[has, None] / 2.0, axis=1) if has.any()
                           else np.zeros(0, int))):
            for p in (5, 50, 95):
                row[f"{what}_p{p:02d}"] = dates[int(np.percentile(idx, p, method="nearest"))].isoformat() \
                    if len(idx) else ""
        for w in WINDOWS:
            win = pres[:, after:after + w]
            peak = win.max(axis=1) if win.shape[1] else np.zeros(len(pres))
            for p in (5, 50, 95):
                row[f"peak{w}_p{p:02d}"] = round(_q(peak, p), 1)
        rows.append(row)
    cols = ["place", "kind", "members_with_arrivals", "members"] + [f"{w}_p{p:02d}" for w in ("first", "half")
                                                                    for p in (5, 50, 95)] + \
        [f"peak{w}_p{p:02d}" for w in WINDOWS for p in (5, 50, 95)]
    return pd.DataFrame(rows, columns=cols)
