"""Observations and how a run is held against them.

An observation is a reported count: ``date, place, quantity, low, high`` (plus optional
``caravan``, ``note``, ``sources``), in the vocabulary of MODEL.md. ``high`` empty means "at
least ``low``" (no upper bound). ``place`` is a place name from places.csv, a prefix of place
names (``Tijuana`` counts ``Tijuana`` and every ``Tijuana (…)``), or an aggregate in
parentheses: ``(Country)``, ``(Region)`` or ``(all)``.

Metrics, per observation (``compare``):

- ``simulated``: the run's value of the quantity at the place on the date (NaN when the date is
  outside the run; such rows are kept but left out of every summary);
- ``hit``: ``low <= simulated <= high`` (no upper test when high is empty);
- ``rel_error``: 0 inside the range; otherwise the distance to the nearest bound relative to that
  bound, ``|simulated - bound| / max(bound, 1)`` (a bound of 0 is replaced by 1 in the
  denominator, so the error is then the absolute excess in people);
- ``log_error``: 0 inside; otherwise ``|ln((simulated + 1) / (bound + 1))|``, a symmetric
  version (missing by a factor 2 above or below costs the same), used by ``objective``.

Summaries (``score``): the number of comparable observations ``n``, ``hit_share``,
``median_rel_error``, ``mean_rel_error`` and ``mean_log_error``, overall and per quantity;
plus FLEE's averaged relative difference (see ``flee_ard``).

The ``caravan`` column picks the caravan's own totals when the run has them
(``totals_by_caravan.csv``, written for scenarios with several populations, matched by the
population's name); otherwise, and for names that match no population, totals.csv counts
everyone at a place, whatever caravan they belong to.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from travesia.errors import UserError
from travesia.output import atomic_write as _atomic_write
from travesia.scenario.load import place_members, read_observations

QUANTITIES = ("present", "travelling", "arrived", "reached", "crossed", "returned", "asylum_applied", "detained",
              "asylum_waiting", "settled", "permit_applied", "permit_granted", "permit_waiting")


# --------------------------------------------------------------------------- reading


def load_observations(path, places: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check an observations CSV (see :func:`travesia.scenario.load.read_observations`).

    Returns columns ``date`` (datetime.date), ``place``, ``quantity``, ``low``, ``high`` (NaN = no
    upper bound), ``caravan``, ``note``, ``sources``, ``line`` (line in the file) and ``file``.
    With ``places`` (a places table with ``name``, ``country``, ``region``), every place must
    resolve; an unknown place or quantity, a bad date or number raises ``UserError`` with
    ``where="file:line"``.
    """
    return read_observations(Path(path), places)


# --------------------------------------------------------------------------- simulated values


def _where(row) -> str | None:
    f, ln = row.get("file"), row.get("line")
    if f and ln is not None and not (isinstance(ln, float) and math.isnan(ln)):
        return f"{f}:{int(ln)}"
    return None


def _norm_dates(s: pd.Series) -> pd.Series:
    """Dates (ISO strings, datetime.date, Timestamps) as 'YYYY-MM-DD' strings; converts each distinct value once."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d")
    u = s.unique()
    m = {v: str(v)[:10] for v in u}
    if all(k == v for k, v in m.items()):
        return s
    return s.map(m)


def simulated_values(totals: pd.DataFrame, obs: pd.DataFrame) -> np.ndarray:
    """The run's value for each observation, as float (NaN where the date is outside the run).

    ``totals`` has the columns of totals.csv (``date,quantity,place,people``). A place in
    parentheses is read as written (totals.csv carries the aggregates); any other place is the row of
    that name (a town's row counts its places named ``name (…)``), or, where there is none, the sum of
    the places named ``name (…)``. A place that matches nothing in
    ``totals`` raises ``UserError``.
    """
    out = np.full(len(obs), np.nan)
    if len(obs) == 0:
        return out
    names = list(totals["place"].unique())
    plain = [n for n in names if not str(n).startswith("(")]
    name_set = set(names)
    odates = _norm_dates(obs["date"]).tolist()
    records = obs.to_dict("records")
    members: dict[str, list[str]] = {}
    for row in records:
        place = row["place"]
        if place not in members:
            members[place] = ([place] if place in name_set else []) if place.startswith("(") else \
                place_members(place, plain)
            if not members[place]:
                raise UserError(f"unknown place '{place}': not in the run's totals.csv", where=_where(row))
    # only the rows that observations can read
    wanted = {m for ms in members.values() for m in ms}
    t = totals[totals["place"].isin(wanted) & totals["quantity"].isin(set(obs["quantity"]))]
    tdates = _norm_dates(t["date"])
    run_dates = {str(v)[:10] for v in totals["date"].unique()}
    table: dict[tuple, float] = {}
    for q, p, d, v in zip(t["quantity"].tolist(), t["place"].tolist(), tdates.tolist(), t["people"].tolist()):
        table[(q, p, d)] = table.get((q, p, d), 0.0) + float(v)
    for i, (row, d) in enumerate(zip(records, odates)):
        if d not in run_dates:
            continue
        q = row["quantity"]
        vals = [table.get((q, m, d)) for m in members[row["place"]]]
        if all(v is None for v in vals):
            raise UserError(f"quantity '{q}' at '{row['place']}' is not in the run's totals.csv", where=_where(row))
        out[i] = float(sum(v for v in vals if v is not None))
    return out


# --------------------------------------------------------------------------- metrics


def _errors(sim: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """hit, rel_error, log_error (NaN where sim is NaN)."""
    has_high = ~np.isnan(high)
    below = sim < low
    above = has_high & (sim > np.where(has_high, high, np.inf))
    bound = np.where(below, low, np.where(above, high, np.nan))
    outside = below | above
    with np.errstate(invalid="ignore"):
        rel = np.where(outside, np.abs(sim - bound) / np.maximum(bound, 1.0), 0.0)
        logerr = np.where(outside, np.abs(np.log((sim + 1.0) / (bound + 1.0))), 0.0)
    nan = np.isnan(sim)
    rel[nan] = np.nan
    logerr[nan] = np.nan
    hit = ~outside & ~nan
    return hit, rel, logerr


def compare(totals: pd.DataFrame, obs: pd.DataFrame, by_caravan: pd.DataFrame | None = None) -> pd.DataFrame:
    """The observations with ``simulated``, ``hit``, ``rel_error`` and ``log_error`` added (see module doc).

    With ``by_caravan`` (totals_by_caravan.csv: a ``caravan`` column more), an observation whose
    ``caravan`` names one of the run's caravans is read from that caravan's totals alone.
    """
    out = obs.copy().reset_index(drop=True)
    sim = simulated_values(totals, out)
    if by_caravan is not None and "caravan" in out and len(out):
        for c in set(out["caravan"]) & set(by_caravan["caravan"]):
            m = (out["caravan"] == c).to_numpy()
            sub = by_caravan[by_caravan["caravan"] == c].drop(columns="caravan")
            # a place the caravan never touched is not in its table: 0 (on the run's dates)
            names = [n for n in sub["place"].unique() if not str(n).startswith("(")]
            agg = set(sub["place"])
            seen = np.array([(p in agg) if p.startswith("(") else bool(place_members(p, names))
                             for p in out.loc[m, "place"]], dtype=bool)
            vals = np.where(np.isnan(sim[m]), np.nan, 0.0)
            if seen.any():
                vals[seen] = simulated_values(sub, out[m][seen])
            sim[m] = vals
    low = out["low"].to_numpy(dtype=float)
    high = out["high"].to_numpy(dtype=float)
    hit, rel, logerr = _errors(sim, low, high)
    out["simulated"] = sim
    out["hit"] = hit
    out["rel_error"] = rel
    out["log_error"] = logerr
    return out


def _summary(c: pd.DataFrame) -> dict:
    c = c[c["simulated"].notna()]
    n = int(len(c))
    if n == 0:
        return {"n": 0, "hit_share": None, "median_rel_error": None, "mean_rel_error": None, "mean_log_error": None}
    return {"n": n, "hit_share": float(c["hit"].mean()), "median_rel_error": float(c["rel_error"].median()),
            "mean_rel_error": float(c["rel_error"].mean()), "mean_log_error": float(c["log_error"].mean())}


def flee_ard(comparison: pd.DataFrame) -> dict:
    """FLEE's averaged relative difference on the observations that form time series.

    For each quantity, the places observed on at least two distinct dates form the series. On
    each date where at least one of them is observed, the observed value is the middle of the
    range (``low`` when there is no upper bound) and

        error_date = Σ_places |simulated − observed| / Σ_places observed

    over the places observed that day (``travesia.analysis.ard.averaged_relative_difference``).
    As in FLEE, when two or more places are observed that day the simulated values are first
    rescaled so that they sum to the observed total (the metric then judges how people are
    distributed); with one place it is not rescaled (rescaling would make every run perfect).
    Dates with an observed total of 0 are skipped. Returns
    ``{"overall": mean over all (quantity, date) pairs, "by_quantity": {q: mean over its dates}}``,
    with None where there is no series.
    """
    from travesia.analysis.ard import averaged_relative_difference

    c = comparison[comparison["simulated"].notna()].copy()
    c["obs_mid"] = np.where(c["high"].isna(), c["low"], (c["low"] + c["high"]) / 2)
    c["d"] = _norm_dates(c["date"]) if len(c) else c["date"]
    by_q: dict[str, float | None] = {}
    all_errs: list[float] = []
    for q in QUANTITIES:
        cq = c[c["quantity"] == q]
        if cq.empty:
            continue
        n_dates = cq.groupby("place")["d"].nunique()
        series = set(n_dates[n_dates >= 2].index)
        cq = cq[cq["place"].isin(series)]
        errs = []
        for _, day in cq.groupby("d"):
            # several observations of one place on one day: average them
            g = day.groupby("place")[["simulated", "obs_mid"]].mean()
            if g["obs_mid"].sum() <= 0:
                continue
            errs.append(averaged_relative_difference(g["simulated"].to_numpy()[None, :],
                                                     g["obs_mid"].to_numpy()[None, :], rescale=len(g) >= 2))
        by_q[q] = float(np.mean(errs)) if errs else None
        all_errs += errs
    return {"overall": float(np.mean(all_errs)) if all_errs else None, "by_quantity": by_q}


def score(comparison: pd.DataFrame) -> dict:
    """Summaries of a comparison: ``{"overall": {...}, "by_quantity": {q: {...}}, "flee_ard": float | None}``.

    Each summary has ``n`` (observations with a simulated value), ``hit_share``,
    ``median_rel_error``, ``mean_rel_error``, ``mean_log_error`` (None when n = 0); quantity
    summaries also carry their ``flee_ard``. Observations dated outside the run are counted in
    ``n_outside_run`` and left out.
    """
    ard = flee_ard(comparison)
    by_q = {}
    for q in QUANTITIES:
        cq = comparison[comparison["quantity"] == q]
        if len(cq):
            by_q[q] = {**_summary(cq), "flee_ard": ard["by_quantity"].get(q)}
    return {"overall": _summary(comparison), "by_quantity": by_q, "flee_ard": ard["overall"],
            "n_outside_run": int(comparison["simulated"].isna().sum())}


def objective(comparison: pd.DataFrame) -> float:
    """One number to minimise (calibration): the mean ``log_error`` over comparable observations.

    ``log_error`` is 0 inside the reported range and ``|ln((sim + 1) / (bound + 1))|`` outside,
    so missing by a factor of 2 costs ln 2 ≈ 0.69 whether above or below (the relative error is
    capped at 1 below a range but unbounded above it, which would favour empty runs). Raises
    ``ValueError`` when no observation falls within the run.
    """
    v = comparison["log_error"].dropna() if "log_error" in comparison else None
    if v is None:
        sim = comparison["simulated"].to_numpy(dtype=float)
        v = pd.Series(_errors(sim, comparison["low"].to_numpy(float), comparison["high"].to_numpy(float))[2]).dropna()
    if v.empty:
        raise ValueError("no observation falls within the run's dates")
    return float(v.mean())


# --------------------------------------------------------------------------- a run folder


def read_run_places(run_dir: Path, what: str = "run") -> pd.DataFrame:
    from travesia.output import read_result_csv

    return read_result_csv(run_dir / "places.csv", ["name", "country"], what=what, dtype={"region": str})


def read_totals(run_dir: Path) -> pd.DataFrame:
    from travesia.output import read_result_csv

    return read_result_csv(run_dir / "totals.csv", ["date", "quantity", "place", "people"], whole_days=True,
                           dates=("date",))


BAND_COLUMNS = ("date", "place", "quantity", "p05", "p25", "p50", "p75", "p95")
NAIVE_COLUMNS = ("method", "date", "quantity", "place", "people")


def read_bands(path, what: str = "forecast") -> pd.DataFrame:
    """A table of bands over members: ``forecast.csv``, ``forecast_true.csv`` (a forecast folder) or
    ``ensemble.csv`` (an ensemble folder), ``date, place, quantity, p05 … p95``. The one reader of
    these files (the report and validate): a file that is empty, cut short, without rows or its
    columns, with a date that is not YYYY-MM-DD or a band that is not a number is a UserError naming
    the file, the line and the column."""
    from travesia.output import read_result_csv

    path = Path(path)
    df = read_result_csv(path, [], what=what, dates=("date",), numbers=BAND_COLUMNS[3:], rows=True)
    missing = [c for c in BAND_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"lacks the columns {', '.join(missing)} (expected {','.join(BAND_COLUMNS)}; a damaged "
                        f"{what} folder? make it again)", where=f"{path}:1")
    return df


def read_naive(path) -> pd.DataFrame:
    """A forecast folder's ``naive.csv`` (``method, date, quantity, place, people``), checked as
    :func:`read_bands` checks the bands."""
    from travesia.output import read_result_csv

    return read_result_csv(Path(path), list(NAIVE_COLUMNS), what="forecast", dates=("date",), numbers=("people",))


def read_forecast_folder(folder) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """What validate reads of a forecast folder: ``forecast.csv`` (:func:`read_bands`), ``naive.csv``
    (:func:`read_naive`) and ``places.csv``, the last two None when the folder has none."""
    folder = Path(folder)
    if not (folder / "forecast.csv").exists():
        raise UserError("not a forecast folder: forecast.csv is missing", where=str(folder))
    places = read_run_places(folder, "forecast") if (folder / "places.csv").exists() else None
    fc = read_bands(folder / "forecast.csv")
    naive = read_naive(folder / "naive.csv") if (folder / "naive.csv").exists() else None
    return fc, naive, places


VALIDATION_CSV_COLUMNS = ["date", "place", "quantity", "low", "high", "simulated", "hit", "rel_error", "log_error",
                          "caravan", "note", "sources"]


# what validate writes, for a folder that keeps no list of travesia's files (.travesia-run): the header of
# its CSV (a run's, a forecast's) and a key of its JSON
_VALIDATION_MARKS = {".csv": (b",simulated,hit,rel_error,log_error", b",p05,p50,p95,hit,in_band,rel_error"),
                     ".json": (b'"written": [',)}


def _written_by_validate(path: Path) -> bool:
    """Whether the existing file ``path`` is one validate wrote: listed in its folder's manifest (the
    rule of ``travesia run --out``, :mod:`travesia.output`), or, in a folder without one, carrying
    validate's marks in its first line (CSV) or its first 64 KiB (JSON)."""
    from travesia.output import RUN_MARKER, read_manifest

    names = read_manifest(path.parent)
    if names is not None:
        return path.name in names and path.name != RUN_MARKER
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    if path.suffix == ".csv":
        head = head.split(b"\n", 1)[0]
    return any(m in head for m in _VALIDATION_MARKS.get(path.suffix, ()))


def validation_paths(run_dir: Path, observations=None) -> tuple[Path, Path]:
    """Where a validation is written: ``validation.csv``/``.json`` for the run's own observations.csv;
    for another observations file, ``validation-<its name>.csv``/``.json`` beside them, so the run's
    own validation is never replaced by a comparison with other data.

    A file already there is replaced only when validate wrote it (:func:`_written_by_validate`);
    a file of the user's at either path is a UserError naming it, before anything is written."""
    run_dir = Path(run_dir)
    own = run_dir / "observations.csv"
    paths = run_dir / "validation.csv", run_dir / "validation.json"
    if observations is not None:
        o = Path(observations)
        try:
            same = own.exists() and o.exists() and o.resolve() == own.resolve()
        except OSError:
            same = False
        if not same:
            stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in o.stem) or "other"
            paths = run_dir / f"validation-{stem}.csv", run_dir / f"validation-{stem}.json"
    for p in paths:
        if os.path.islink(p) or (os.path.lexists(p) and not p.is_file()):
            raise UserError("is not a file validate wrote (a link or a folder), so the validation cannot be written "
                            "here; move it away and validate again (nothing was written)", where=str(p))
        if p.exists() and not _written_by_validate(p):
            raise UserError("exists and was not written by travesia validate; move or rename it and validate "
                            "again (nothing was overwritten)", where=str(p))
    return paths


def compare_run(run_dir, observations=None) -> tuple[pd.DataFrame, dict]:
    """Compare a run folder with observations, writing nothing: what ``validate`` and the report show.

    ``observations`` defaults to the run's own observations.csv (the scenario's); an observation
    that names one of the run's caravans is read from ``totals_by_caravan.csv`` when the run has
    it. Returns the comparison (``compare``) and the scores (``score``, plus ``objective``, the
    run and the observations file).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError("run folder not found", where=str(run_dir))
    places = read_run_places(run_dir)
    totals = read_totals(run_dir)  # first: a folder that is no run is said to be none
    obs_path = Path(observations) if observations is not None else run_dir / "observations.csv"
    if observations is not None and not obs_path.is_file():
        raise UserError("observations file not found" if not obs_path.exists() else "is a folder, expected a CSV "
                        "file of observations", where=f"--observations {obs_path}")
    if not obs_path.exists():
        raise UserError("no observations: the run has no observations.csv; give one with --observations FILE",
                        where=str(obs_path))
    obs = load_observations(obs_path, places)
    bc = run_dir / "totals_by_caravan.csv"
    from travesia.output import read_result_csv

    by_caravan = read_result_csv(bc, ["date", "caravan", "quantity", "place", "people"]) if bc.exists() else None
    comp = compare(totals, obs, by_caravan)
    sc = score(comp)
    try:
        sc["objective"] = objective(comp)
    except ValueError:
        sc["objective"] = None
    sc["run"] = str(run_dir)
    sc["observations"] = str(obs_path)
    return comp, sc


def validate_run(run_dir, observations=None) -> tuple[pd.DataFrame, dict]:
    """Compare a run folder with observations (:func:`compare_run`); write validation.csv and
    validation.json into it. Returns the comparison and the scores."""
    run_dir = Path(run_dir)
    comp, sc = compare_run(run_dir, observations)
    if len(comp) == 0:
        obs_path = Path(observations) if observations is not None else run_dir / "observations.csv"
        outside = sc.get("n_outside_run") or 0
        raise UserError("nothing to score: " + (f"none of its {outside} observation(s) falls in the run's dates"
                                                if outside else "it holds no observations (only its header)"),
                        where=str(obs_path))
    out = comp.copy()
    out["date"] = _norm_dates(out["date"]) if len(out) else out["date"]
    csv_path, json_path = validation_paths(run_dir, observations)
    sc["written"] = [str(csv_path), str(json_path)]
    _atomic_write(csv_path, out[VALIDATION_CSV_COLUMNS].to_csv(index=False, float_format="%.6g"))
    _atomic_write(json_path, json.dumps(sc, indent=2, ensure_ascii=False) + "\n")
    return comp, sc
