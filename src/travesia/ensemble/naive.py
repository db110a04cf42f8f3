"""Two naive forecasts a model forecast must beat, built from the observations up to the as-of date.

Both treat each caravan (the ``caravan`` column of the observations; blank is one caravan) on its
own, from its ``present`` observations:

- **persistence**: the caravan stays where it was last seen, at its last size (the middle of the
  last reported range; its low end when no high was reported);
- **constant velocity**: it keeps moving at its average observed speed — the road km between the
  place it was first seen and the place it was last seen, over the days between — along the
  shortest road from there to its destination, at its last size; it is "present" at the place on
  that road nearest its projected position and, once there, has "arrived" at the destination.

In both, every other observed series (cumulative arrivals, crossings, returns, asylum
applications; detentions) stays at its last observed value, and ``travelling`` at ``(all)`` is
the sum of the caravans' last sizes. Everything not observed is 0.

A camp (place kind ``camp``: FLEE's camps, where refugees stay) is not a place a caravan passes:
its ``present`` reports are counts at a site, a series of their own (refugee-flow scenarios, such
as an imported FLEE folder, report every camp's population on the same dates). There,
persistence keeps each camp at its last reported count and constant velocity is the *drift*
forecast: the straight line through the camp's first and last report continued (never below 0;
its last count when it has one report). Reports at camps are not part of any caravan's track.

The output has the columns of totals.csv (``date,quantity,place,people``) for the dates asked,
so it is scored with the same validation metric as a run or a forecast's median.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from travesia.ensemble.obsmodel import site_places
from travesia.network import KIND, Network

CARRIED = ("arrived", "crossed", "returned", "asylum_applied", "detained")


def _mid(low: float, high: float) -> float:
    return float(low) if high is None or (isinstance(high, float) and np.isnan(high)) else (low + high) / 2.0


def _known(obs: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    o = obs[obs["date"] <= as_of].copy()
    o["mid"] = [_mid(a, b) for a, b in zip(o["low"], o["high"])]
    o["caravan"] = o.get("caravan", pd.Series([""] * len(o), index=o.index)).fillna("").astype(str)
    return o.sort_values(["date", "mid"], kind="stable")


def _frame(keys: pd.DataFrame) -> pd.DataFrame:
    f = keys[["date", "quantity", "place"]].copy()
    f["people"] = 0.0
    return f


def _set(f: pd.DataFrame, dates: list[dt.date], quantity: str, place: str, value, add: bool = False) -> None:
    """Set (or add to) ``quantity`` at ``place`` on ``dates``; a name that is the start of others' names
    (``Tijuana``) is written to the exact name if the table has it, else to its first member."""
    names = f.loc[f["quantity"] == quantity, "place"].unique()
    if place not in names:
        cand = [n for n in names if n.startswith(place + " (")]
        if not cand:
            return
        place = cand[0]
    m = (f["quantity"] == quantity) & (f["place"] == place) & f["date"].isin(dates)
    vals = np.broadcast_to(np.asarray(value, dtype=float), (len(dates),))
    by_date = dict(zip(dates, vals))
    new = f.loc[m, "date"].map(by_date).to_numpy(dtype=float)
    f.loc[m, "people"] = (f.loc[m, "people"].to_numpy() + new) if add else new


def _carry(f: pd.DataFrame, known: pd.DataFrame, dates: list[dt.date]) -> None:
    for (q, place), g in known[known["quantity"].isin(CARRIED)].groupby(["quantity", "place"], sort=True):
        _set(f, dates, q, place, float(g["mid"].iloc[-1]))


def _at_camps(known: pd.DataFrame, camps: set[str]) -> pd.Series:
    return (known["quantity"] == "present") & known["place"].astype(str).isin(camps)


def _last_seen(known: pd.DataFrame, camps: set[str] = frozenset()) -> dict[str, tuple[pd.Series, pd.Series]]:
    """caravan -> (first present observation, last present observation), reports at camps left out."""
    out = {}
    pres = known[(known["quantity"] == "present") & ~_at_camps(known, camps)]
    for c, g in pres.groupby("caravan", sort=True):
        out[c] = (g.iloc[0], g.iloc[-1])
    return out


def _sites(f: pd.DataFrame, known: pd.DataFrame, camps: set[str], dates: list[dt.date], drift: bool) -> None:
    """Each camp's reported count: its last (persistence) or the line through its first and last
    reports continued, never below 0 (``drift``). Reports of one date at one camp (several
    caravans', or several sources') are summed, as the camp's count."""
    at = known[_at_camps(known, camps)]
    for place, g in at.groupby("place", sort=True):
        by_date = g.groupby("date", sort=True)["mid"].sum()
        d0, d1 = by_date.index[0], by_date.index[-1]
        y0, y1 = float(by_date.iloc[0]), float(by_date.iloc[-1])
        slope = (y1 - y0) / (d1 - d0).days if drift and d1 > d0 else 0.0
        vals = [max(0.0, y1 + slope * (d - d1).days) for d in dates]
        _set(f, dates, "present", str(place), vals, add=True)


def persistence_forecast(obs: pd.DataFrame, as_of: dt.date, keys: pd.DataFrame,
                         places: pd.DataFrame | None = None) -> pd.DataFrame:
    """The caravans stay where last seen at their last size, and each camp (of ``places``) at its
    last count (see the module doc).

    ``keys`` is the ``date,quantity,place`` table to fill (e.g. a forecast's rows); returns it
    with ``people``.
    """
    known = _known(obs, as_of)
    f = _frame(keys)
    dates = sorted(set(f["date"]))
    _carry(f, known, dates)
    camps = site_places(places)
    _sites(f, known, camps, dates, drift=False)
    total = 0.0
    for _, (_, last) in _last_seen(known, camps).items():
        _set(f, dates, "present", last["place"], last["mid"], add=True)
        total += last["mid"]
    _set(f, dates, "travelling", "(all)", total)
    return f


def _road_path(net: Network, a: int, b: int) -> list[int]:
    from scipy.sparse.csgraph import dijkstra

    g = net._graph()
    _, pred = dijkstra(g, directed=True, indices=[a], return_predecessors=True)
    path, x = [b], b
    while x != a and x >= 0:
        x = int(pred[0, x])
        if x < 0:
            return [a]
        path.append(x)
    return path[::-1]


def _resolve(net: Network, name: str) -> int | None:
    if name in net.names:
        return net.names.index(name)
    cand = [i for i, n in enumerate(net.names) if n.startswith(name + " (")]
    return cand[0] if cand else None


def constant_velocity_forecast(obs: pd.DataFrame, as_of: dt.date, keys: pd.DataFrame, places: pd.DataFrame,
                               legs: pd.DataFrame, destinations: dict[str, str] | None = None) -> pd.DataFrame:
    """The caravans keep moving at their average observed speed toward their destination, and each
    camp's count along its drift (module doc).

    ``destinations`` maps a caravan to a destination place id; by default the destination place
    (kind ``destination``) nearest by road to where the caravan was last seen.
    """
    net = Network.from_tables(places, legs)
    known = _known(obs, as_of)
    f = _frame(keys)
    dates = sorted(set(f["date"]))
    _carry(f, known, dates)
    camps = site_places(places)
    _sites(f, known, camps, dates, drift=True)
    dests = np.nonzero(net.kind == KIND["destination"])[0]
    total = 0.0
    for c, (first, last) in _last_seen(known, camps).items():
        a, b = _resolve(net, first["place"]), _resolve(net, last["place"])
        size = float(last["mid"])
        total += size
        if a is None or b is None:
            continue
        days_seen = (last["date"] - first["date"]).days
        speed = net.distance_between(a, b) / days_seen if days_seen > 0 else 0.0
        if destinations and c in destinations:
            dest = net.index[destinations[c]]
        elif len(dests):
            d = net.distances_to(dests)[:, b]
            dest = int(dests[int(np.argmin(d))]) if np.isfinite(d).any() else b
        else:
            dest = b
        path = _road_path(net, b, dest)
        cum = np.r_[0.0, np.cumsum([net.distance_between(p, q) for p, q in zip(path[:-1], path[1:])])]
        for day in dates:
            s = speed * (day - last["date"]).days
            if s >= cum[-1]:
                at = path[-1]
                if at == dest and dest != b:
                    _set(f, [day], "arrived", net.names[dest], size, add=True)
            else:
                at = path[int(np.argmin(np.abs(cum - s)))]
            _set(f, [day], "present", net.names[at], size, add=True)
    _set(f, dates, "travelling", "(all)", total)
    return f


def naive_forecasts(obs: pd.DataFrame, as_of: dt.date, keys: pd.DataFrame, places: pd.DataFrame,
                    legs: pd.DataFrame) -> pd.DataFrame:
    """Both naive forecasts in one table: ``method,date,quantity,place,people`` (non-zero rows)."""
    out = []
    for name, f in (("persistence", persistence_forecast(obs, as_of, keys, places)),
                    ("constant_velocity", constant_velocity_forecast(obs, as_of, keys, places, legs))):
        f = f[f["people"] != 0].copy()
        f.insert(0, "method", name)
        out.append(f)
    return pd.concat(out, ignore_index=True)
