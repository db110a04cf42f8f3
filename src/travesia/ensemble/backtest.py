"""Backtests: forecasts from several past origins, each scored on the reports that came after it.

``backtest(SCENARIO, origins=[D1, D2, ...], members=N, out=DIR)`` runs :func:`~.forecast.forecast`
from each origin with only what was known then (the as-of rule of :func:`~.forecast.known_on`),
and scores every observation dated after the origin and within the run (the scenario's
observations, or ``observations=FILE``) with :mod:`travesia.analysis.scoring` — WIS, CRPS,
coverage of the 50% and 90% intervals, PIT bins, on the log scale ``ln(1 + count)`` — beside the
two naive forecasts of :mod:`.naive` (persistence, constant velocity), made from the same
origin's knowledge.

Outputs in ``DIR`` (read by the report's backtest page):

``backtest.csv``
    one row per (origin, later observation): ``origin, date, place, quantity, caravan, low, high``
    (the report; ``high`` empty = open), ``days_ahead``, ``p05 … p95`` (the bands for what will be
    reported, in people, as in forecast.csv: :func:`.obsmodel.range_bands`), ``y`` (the count scored, see the scoring doc), ``wis``,
    ``crps``, ``cover50``, ``cover90`` (0/1), ``pit`` (one of ``below_p05 … above_p95``), and for
    each naive method ``m``: ``naive_<m>`` (its value), ``wis_<m>``, ``crps_<m>``.
``backtest_summary.csv``
    one row per group: ``level`` (``origin``, ``quantity`` or ``overall``), ``origin``,
    ``quantity`` (blank where not grouped by it), ``n``, ``wis``, ``crps``, ``cover50``,
    ``cover90``, ``pit_<bin>`` shares, ``wis_<m>``, ``crps_<m>`` and ``relative_wis`` (travesia's
    mean WIS over the better naive forecast's, on the same observations; < 1 beats it).
``backtest.json``
    ``{"scenario", "origins", "members", "seed", "scale": "log1p", "observations", "overall":
    {...}, "by_origin": [...], "by_quantity": [...], "pit_expected": {...}}``.
``origin-YYYY-MM-DD/``
    each origin's forecast folder (forecast.csv, forecast_true.csv, report.html, …).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.analysis.scoring import PIT_BINS, PIT_EXPECTED, SCALE, point_quantiles, quantiles_of, score_table, \
    summarise
from travesia.ensemble.files import commit_partial, csv_text, new_partial
from travesia.errors import UserError
from travesia.output import check_out_dir
from travesia.scenario.load import LoadedScenario, load_scenario

NAIVE = ("persistence", "constant_velocity")


def parse_origins(text: str | Sequence) -> list[dt.date]:
    """``2018-10-16,2018-10-19`` (or a list) -> sorted distinct dates; a bad one is a UserError."""
    items = [x.strip() for x in text.split(",")] if isinstance(text, str) else [str(x) for x in text]
    out = []
    for x in items:
        if not x:
            continue
        try:
            out.append(dt.date.fromisoformat(x))
        except ValueError:
            raise UserError(f"expected dates YYYY-MM-DD separated by commas, got '{x}'", where="--origins") from None
    if not out:
        raise UserError("give at least one origin date", where="--origins")
    return sorted(set(out))


def _naive_values(naive: pd.DataFrame | None, keys: pd.DataFrame, obs: pd.DataFrame) -> dict[str, np.ndarray]:
    from travesia.analysis.observe import simulated_values

    out = {}
    for m in NAIVE:
        g = naive[naive["method"] == m] if naive is not None and len(naive) else None
        full = keys[["date", "quantity", "place"]].copy()
        if g is not None and len(g):
            full = full.merge(g[["date", "quantity", "place", "people"]], on=["date", "quantity", "place"], how="left")
        else:
            full["people"] = 0.0
        full["people"] = full["people"].fillna(0.0)
        out[m] = simulated_values(full, obs)
    return out


def score_origin(later: pd.DataFrame, samples: np.ndarray, naive_vals: dict[str, np.ndarray],
                 bands: np.ndarray | None = None) -> pd.DataFrame:
    """Score one origin's predictive samples ``(n_obs, members)`` (for CRPS) and bands ``(n_obs, 5)`` (p05…p95
    as published in forecast.csv; default: the samples' quantiles), and naive values, at its later observations."""
    ok = ~np.isnan(samples).any(axis=1)
    later = later[ok].reset_index(drop=True)
    samples = samples[ok]
    q = quantiles_of(samples) if bands is None else np.asarray(bands, dtype=np.float64)[ok]
    low, high = later["low"].to_numpy(dtype=float), later["high"].to_numpy(dtype=float)
    sc = score_table(low, high, q, samples)
    df = later[["date", "place", "quantity", "caravan", "low", "high"]].copy()
    for j, c in enumerate(("p05", "p25", "p50", "p75", "p95")):
        df[c] = np.round(q[:, j], 2)
    df = pd.concat([df, sc], axis=1)
    for m, v in naive_vals.items():
        v = np.nan_to_num(v[ok], nan=0.0)
        s2 = score_table(low, high, point_quantiles(v))
        df[f"naive_{m}"] = v
        df[f"wis_{m}"] = s2["wis"].to_numpy()
        df[f"crps_{m}"] = s2["crps"].to_numpy()
    return df


def backtest(scenario: str | Path | LoadedScenario, *, origins: str | Sequence, members: int, out: str | Path,
             observations: str | Path | None = None, seed: int = 0, force: bool = False,
             workers: int | None = None, scheduler: str | None = None, client: Any = None,
             progress: Callable[[str, int, int], None] | None = None, **forecast_kw) -> dict:
    """``travesia backtest``: see the module doc. Returns {"out", "table", "summary", "meta"}."""
    from travesia.analysis.observe import load_observations
    from travesia.ensemble.forecast import forecast, known_on  # noqa: F401  (the as-of rule lives there)
    from travesia.ensemble.runner import maybe_client
    from travesia.options import check_period

    days = parse_origins(origins)
    out = Path(out)
    check_out_dir(out, force)
    base = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    obs_all = load_observations(observations, base.places) if observations is not None else base.observations
    if obs_all is None or obs_all.empty:
        raise UserError(f"scenario '{base.name}' has no observations to score against; give --observations FILE")
    if "caravan" not in obs_all:
        obs_all = obs_all.assign(caravan="")
    end = base.params.start + dt.timedelta(days=int(check_period(base.params.start, forecast_kw.get("days"))
                                                    or base.params.days) - 1)
    tmp = new_partial(out, force)
    tables = []
    try:
        with maybe_client(client, workers, scheduler) as c:
            for k, origin in enumerate(days):
                later = obs_all[(obs_all["date"] > origin) & (obs_all["date"] <= end)].reset_index(drop=True)
                if later.empty:
                    raise UserError(f"no observation after {origin} within the run (to {end}) to score",
                                    where="--origins")

                def keep(run, later=later):
                    from travesia.ensemble.forecast import predictive_at

                    return predictive_at(run, later)

                r = forecast(base, as_of=origin, members=members, out=tmp / f"origin-{origin}",
                             observations=observations, seed=seed, client=c, on_run=keep,
                             progress=progress, **forecast_kw)
                samples, bands = r["on_run"]
                keys = r["forecast"][["date", "quantity", "place"]]
                nv = _naive_values(r["naive"], keys, later)
                t = score_origin(later, samples, nv, bands)
                t.insert(0, "origin", origin.isoformat())
                t.insert(5, "days_ahead", [(d - origin).days for d in t["date"]])
                tables.append(t)
                if progress:
                    progress("origins", k + 1, len(days))
        table = pd.concat(tables, ignore_index=True)
        table["pit"] = [PIT_BINS[i] for i in table["pit"]]
        summary = summary_of(table)
        meta = {"scenario": base.name, "origins": [d.isoformat() for d in days], "members": members, "seed": seed,
                "scale": SCALE, "observations": str(observations) if observations else "scenario",
                "overall": summary[summary["level"] == "overall"].iloc[0].to_dict(),
                "by_origin": summary[summary["level"] == "origin"].to_dict("records"),
                "by_quantity": summary[summary["level"] == "quantity"].to_dict("records"),
                "pit_expected": dict(zip(PIT_BINS, PIT_EXPECTED)), "version": __version__}
        t2 = table.copy()
        t2["date"] = t2["date"].astype(str)
        for c in ("cover50", "cover90"):
            t2[c] = t2[c].astype(int)
        (tmp / "backtest.csv").write_text(csv_text(t2), encoding="utf-8")
        (tmp / "backtest_summary.csv").write_text(csv_text(summary), encoding="utf-8")
        (tmp / "backtest.json").write_text(json.dumps(meta, indent=2, default=_json) + "\n", encoding="utf-8")
        commit_partial(tmp, out, "backtest")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out": out, "table": table, "summary": summary, "meta": meta}


def _json(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    return str(v)


def summary_of(table: pd.DataFrame) -> pd.DataFrame:
    """Per origin, per quantity and overall (``level`` column), from a backtest table."""
    t = table.copy()
    t["pit"] = [PIT_BINS.index(p) if isinstance(p, str) else int(p) for p in t["pit"]]
    parts = [summarise(t, ["origin"]).assign(level="origin"),
             summarise(t, ["quantity"]).assign(level="quantity"),
             summarise(t).drop(columns="group").assign(level="overall")]
    s = pd.concat(parts, ignore_index=True)
    for c in ("origin", "quantity"):
        s[c] = s[c].fillna("") if c in s else ""
    first = ["level", "origin", "quantity"]
    return s[first + [c for c in s.columns if c not in first]]
