"""Forecasts: what happens after an as-of date, from only what was known on that date.

``forecast(SCENARIO, as_of=DATE)``:

1. keeps the timeline events dated on or before DATE and the observations dated on or before
   DATE (:func:`known_on`); nothing dated after DATE reaches the runs;
2. by default (``trials=0``) assimilates those observations report date by report date with
   the particle filter of :mod:`.filter` (members = particles drawn from the priors — the
   scenario's, or the shipped defaults of :func:`.priors.default_priors_file` — weighted by
   the observation model of :mod:`.obsmodel`, resampled, jittered), then runs the particles
   to the scenario's end; ``resume=DIR`` starts from DIR's saved particles instead of the
   priors. With ``trials > 0`` it calibrates with Optuna first (:mod:`.calibrate`) and the
   members take the best trials in turn; ``calibration=DIR`` reuses a calibration;
3. writes (for the dates after DATE):

   - ``forecast.csv`` — ``date,place,quantity,p05,p25,p50,p75,p95``: bands of **what will be
     reported** (members × the report error of :mod:`.obsmodel`, learnt from the one-step-ahead
     misses before the as-of date, 1,000 draws per row), read as a report is scored: a reported
     range lies wholly below ``p05`` (``p25``) with chance 5% (25%), wholly above ``p95``
     (``p75``) with chance 5% (25%), and ``p50`` is the median figure
     (:func:`.obsmodel.range_bands`); this is the file to hold against later reports;
   - ``forecast_true.csv`` — same columns: percentiles of the members' counts alone (no report error);
   - ``half_arrival.csv`` (per destination, the date by which half of the people who arrive
     there within the run have arrived: p05, p50, p95 over members), ``outlook.csv`` (per
     destination and major shelter: first and half arrival dates, the peak present in the next
     7/14/30 days, with bands; :mod:`.outlook`), ``naive.csv`` (the two naive forecasts of
     :mod:`.naive`), ``members.csv`` (each member's seed and parameters);
   - with the filter: ``particles.pkl`` (the states after the last report, for ``--resume``),
     ``filter.csv`` (per report date: ``date, reports, ess, unique, stages, mean_loglik,
     max_loglik, scale_crowd, scale_tally, nu``) and ``filter_checks.csv`` (per report: the one-step-ahead predictive band
     ``p05, p50, p95`` of what would be reported, from the particles before they saw it, and
     ``cover90``);
   - ``observations.csv`` (all the observations given, for scoring later; only those up to
     DATE were used), ``places.csv``, ``legs.csv``, ``forecast.json`` (``report_error``: the
     scales, biases and degrees of freedom used; ``bands``: which file holds which) and ``report.html``
     (the report family's forecast report, :mod:`travesia.report`).

:func:`validate_forecast` scores a forecast folder against observations (``travesia validate``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.ensemble.ensemble import EnsembleRun, member_plan, read_posterior, simulate_ensemble
from travesia.ensemble.files import atomic_write, commit_partial, csv_text, new_partial
from travesia.ensemble.naive import naive_forecasts
from travesia.ensemble.obsmodel import ErrorModel, copies, noise, picks, range_bands
from travesia.ensemble.outlook import outlook
from travesia.ensemble.priors import prior_source, scenario_priors
from travesia.ensemble.runner import RunConfig, maybe_client
from travesia.errors import UserError
from travesia.output import check_out_dir, network_files
from travesia.scenario.load import LoadedScenario, load_scenario, validate_params

OBS_COLS = ["date", "place", "quantity", "low", "high", "caravan", "note", "sources"]


def parse_date(v: dt.date | str, what: str) -> dt.date:
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise UserError(f"expected a date YYYY-MM-DD, got '{v}'", where=what) from None


def known_on(base: LoadedScenario, as_of: dt.date, observations: pd.DataFrame | None = None) -> LoadedScenario:
    """The scenario as known on ``as_of``: timeline events and observations dated after it dropped."""
    raw = copy.deepcopy(base.raw)
    keep = [i for i, ev in enumerate(base.params.timeline) if ev.date <= as_of]
    if "timeline" in raw:
        raw["timeline"] = [raw["timeline"][i] for i in keep]
    params = validate_params(raw, where="scenario")
    obs = base.observations if observations is None else observations
    if obs is not None:
        obs = obs[obs["date"] <= as_of].reset_index(drop=True)
    return dataclasses.replace(base, params=params, raw=raw, observations=obs)


def half_arrival(run: EnsembleRun, places: pd.DataFrame) -> pd.DataFrame:
    """Per destination: members with arrivals, arrivals by the end (p05/p50/p95), and the date by which
    half of a member's arrivals there have arrived (p05/p50/p95 over the members with arrivals)."""
    rows = []
    dates = run.layout.dates
    for name in places.loc[places["kind"] == "destination", "name"]:
        try:
            a = run.series("arrived", name)
        except (KeyError, ValueError):
            continue
        total = a[:, -1]
        has = total > 0
        row = {"destination": name, "members_with_arrivals": int(has.sum()), "members": int(len(total)),
               "arrived_p05": float(np.percentile(total, 5)), "arrived_p50": float(np.percentile(total, 50)),
               "arrived_p95": float(np.percentile(total, 95)),
               "half_date_p05": "", "half_date_p50": "", "half_date_p95": ""}
        if has.any():
            idx = np.argmax(a[has] >= (total[has, None] / 2.0), axis=1)
            for p in (5, 50, 95):
                row[f"half_date_p{p:02d}"] = dates[int(np.percentile(idx, p, method="nearest"))].isoformat()
        rows.append(row)
    return pd.DataFrame(rows, columns=HALF_COLUMNS)


HALF_COLUMNS = ["destination", "members_with_arrivals", "members", "arrived_p05", "arrived_p50", "arrived_p95",
                "half_date_p05", "half_date_p50", "half_date_p95"]


# --------------------------------------------------------------------------- members at observations


def obs_positions(layout, obs: pd.DataFrame) -> list[np.ndarray | None]:
    """For each observation, the positions in a member vector whose sum is the observed quantity
    (the place itself, which counts its ``place (…)`` places, or else every ``place (…)``; aggregates in parentheses as written); None when its
    date, quantity or place is not in the layout."""
    from travesia.scenario.load import place_members

    day = {d: i for i, d in enumerate(layout.dates)}
    out: list[np.ndarray | None] = []
    for d, q, place in zip(obs["date"], obs["quantity"], obs["place"]):
        di = day.get(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10]))
        names = layout.names.get(q)
        if di is None or names is None:
            out.append(None)
            continue
        members = ([place] if place in names else []) if str(place).startswith("(") else place_members(place, names)
        if not members:
            out.append(None)
            continue
        out.append(np.array([layout.index(q, m)[di] for m in members], dtype=np.int64))
    return out


def members_at(values: np.ndarray, positions: list[np.ndarray | None]) -> np.ndarray:
    """``(n_obs, members)`` true counts of each member at each observation (NaN rows where not comparable)."""
    out = np.full((len(positions), values.shape[0]), np.nan)
    for i, pos in enumerate(positions):
        if pos is not None:
            out[i] = np.asarray(values[:, pos], dtype=np.float64).sum(axis=1)
    return out


def _key_block(date, place, quantity) -> int:
    import zlib

    return zlib.crc32(f"{str(date)[:10]}|{place}|{quantity}".encode("utf-8"))


def _errors(run: EnsembleRun) -> ErrorModel:
    return getattr(run, "errors", None) or ErrorModel(rules=getattr(run, "rules", "caravan"))


def predictive_at(run: EnsembleRun, obs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What will be reported at each observation: ``(n_obs, members)`` draws of the report's figure (each
    member's count with the report error of :mod:`.obsmodel`) and ``(n_obs, 5)`` bands p05…p95 for the report's
    range (:func:`.obsmodel.range_bands`); NaN rows where not comparable."""
    em = _errors(run)
    x = members_at(run.values, obs_positions(run.layout, obs))
    if em.shifts:  # a site's last residual (obsmodel, *sites*)
        x = np.maximum(x + em.offsets_for(list(obs["quantity"]), [str(p) for p in obs["place"]])[:, None], 0.0)
    x = np.repeat(x, copies(x.shape[1]), axis=1)
    m = np.full(x.shape, np.nan)
    b = np.full((len(obs), 5), np.nan)
    qs = list(obs["quantity"])
    sig, bias = em.scales_at(qs, [str(p) for p in obs["place"]], list(obs["date"])), em.biases_for(qs)
    for i, (d, p, q) in enumerate(zip(obs["date"], obs["place"], qs)):
        if np.isnan(x[i]).any():
            continue
        blk = _key_block(d, p, q)
        mi, bi = range_bands(x[i][:, None], sig[i:i + 1], bias[i:i + 1], noise(run.seed, (x.shape[1], 1), blk, em.nu),
                             picks(run.seed, (x.shape[1], 1), blk), [em.widths_of(q)])
        m[i], b[i] = mi[:, 0], bi[:, 0]
    return m, b


def reported_quantiles(run: EnsembleRun, after: dt.date | None = None, chunk: int = 20000,
                       true_count: bool = False) -> pd.DataFrame:
    """Like ``run.quantiles`` but of what will be reported: the bands of :func:`.obsmodel.range_bands` (members
    with the report error of :mod:`.obsmodel`, the report read as a range), or with ``true_count`` the
    percentiles of the members' counts alone."""
    from travesia.ensemble.ensemble import PCOLS, PERCENTILES, column_percentiles

    em = _errors(run)
    keys = run.layout.keys()
    sel = np.arange(len(keys)) if after is None else np.nonzero((keys["date"] > after).to_numpy())[0]
    qs = keys["quantity"].to_numpy()[sel]
    sig, bias = em.scales_for(qs), em.biases_for(qs)
    if em.shifts:  # grown at a site since its last report (obsmodel, *sites*)
        sig = em.scales_at(qs, keys["place"].to_numpy()[sel], keys["date"].to_numpy()[sel])
    widths = {q: em.widths_of(q) for q in set(qs)}
    out = np.empty((len(sel), len(PERCENTILES)), dtype=np.float64)
    if true_count:
        out[:] = column_percentiles(run.values, PERCENTILES, cols=sel)
    else:
        n = run.values.shape[0]
        c = copies(n)
        # a row where every member has the same count (most rows: places nobody is at on that date) has bands that
        # depend only on its quantity and that count: drawn once for each (quantity, count), keyed by them
        lo_hi = [(run.values[:, sel[a:a + chunk]].min(axis=0), run.values[:, sel[a:a + chunk]].max(axis=0))
                 for a in range(0, len(sel), chunk)]
        mn = np.concatenate([m for m, _ in lo_hi]) if lo_hi else np.zeros(0)
        const = mn == (np.concatenate([m for _, m in lo_hi]) if lo_hi else np.zeros(0))
        add = em.offsets_for(qs, keys["place"].to_numpy()[sel])  # a site's last residual (obsmodel, *sites*)
        if em.shifts:
            mn = np.maximum(mn + add, 0.0)
        groups: dict[tuple[str, float, float], list[int]] = {}
        for i in np.nonzero(const)[0]:
            groups.setdefault((str(qs[i]), float(mn[i]), float(sig[i])), []).append(int(i))
        for (q, v, sg), idx in sorted(groups.items()):
            shape = (n * c, 1)
            # keyed by the quantity and the count (and a site's grown scale, where it differs from its kind's)
            blk = _key_block("constant", q, repr(v) if sg == em.scale(q) else f"{v!r}|{sg!r}")
            _, b = range_bands(np.full(shape, v), sig[idx[:1]], bias[idx[:1]], noise(run.seed, shape, blk, em.nu),
                               picks(run.seed, shape, blk), [widths[q]])
            out[idx] = b[:, 0]
        vary = np.nonzero(~const)[0]
        chunk = max(1, min(chunk, chunk * 200 // (n * c)))  # at most ~4M draws at a time
        for k, a in enumerate(range(0, len(vary), chunk)):
            j = vary[a:a + chunk]
            x = np.repeat(np.asarray(run.values[:, sel[j]], dtype=np.float64), c, axis=0)
            if em.shifts:
                x = np.maximum(x + add[j][None, :], 0.0)
            _, b = range_bands(x, sig[j], bias[j], noise(run.seed, x.shape, k, em.nu), picks(run.seed, x.shape, k),
                               [widths[q] for q in qs[j]])
            out[j] = b.T
    df = keys.iloc[sel][["date", "place", "quantity"]].reset_index(drop=True)
    for j, c in enumerate(PCOLS):
        df[c] = np.round(out[:, j], 2)
    return df


# --------------------------------------------------------------------------- scoring


def _score_totals(totals: pd.DataFrame, obs: pd.DataFrame) -> tuple[pd.DataFrame, dict, float | None]:
    from travesia.analysis.observe import compare, objective, score

    comp = compare(totals, obs)
    try:
        obj = objective(comp)
    except ValueError:
        obj = None
    return comp, score(comp), obj


def score_forecast(fc: pd.DataFrame, naive: pd.DataFrame | None, obs: pd.DataFrame,
                   where: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Score a forecast table (``forecast.csv``) and its naive forecasts against observations in its period
    (``where``: the observations' file, named when none falls in it)."""
    fc = fc.copy()
    fc["date"] = pd.to_datetime(fc["date"]).dt.date
    first, last = min(fc["date"]), max(fc["date"])
    sel = obs[(obs["date"] >= first) & (obs["date"] <= last)].reset_index(drop=True)
    if sel.empty:
        dated = f" (they are dated {min(obs['date'])}..{max(obs['date'])})" if len(obs) else ""
        raise UserError(f"no observation falls in the forecast period {first}..{last}{dated}", where=where)
    keys = fc[["date", "quantity", "place"]]
    comp, sc, obj = _score_totals(keys.assign(people=fc["p50"].to_numpy()), sel)
    from travesia.analysis.observe import simulated_values

    lo = simulated_values(keys.assign(people=fc["p05"].to_numpy()), sel)
    hi = simulated_values(keys.assign(people=fc["p95"].to_numpy()), sel)
    comp["p05"], comp["p95"] = lo, hi
    comp["p50"] = comp["simulated"]
    high = comp["high"].to_numpy(dtype=float)
    comp["in_band"] = (comp["low"].to_numpy() <= hi) & (np.isnan(high) | (np.nan_to_num(high, nan=np.inf) >= lo))
    ok = comp["simulated"].notna()
    out = {"as_of": (first - dt.timedelta(days=1)).isoformat(), "n": int(ok.sum()),
           "hit_share": sc["overall"]["hit_share"], "band_coverage": float(comp.loc[ok, "in_band"].mean()),
           "objective": obj, **{k: v for k, v in sc.items() if k != "n_outside_run"}}
    naive_scores = {}
    if naive is not None and len(naive):
        naive = naive.copy()
        naive["date"] = pd.to_datetime(naive["date"]).dt.date
        for method, g in naive.groupby("method", sort=True):
            full = keys.merge(g[["date", "quantity", "place", "people"]], on=["date", "quantity", "place"],
                              how="left").fillna({"people": 0.0})
            c2, s2, o2 = _score_totals(full, sel)
            comp[f"{method}"] = c2["simulated"].to_numpy()
            naive_scores[method] = {"objective": o2, "hit_share": s2["overall"]["hit_share"],
                                    "median_rel_error": s2["overall"]["median_rel_error"],
                                    "mean_rel_error": s2["overall"]["mean_rel_error"]}
            out[f"objective_{method}"] = o2
    out["naive"] = naive_scores
    if obj is not None and naive_scores:
        beaten = [m for m, s in naive_scores.items() if s["objective"] is not None and obj < s["objective"]]
        out["beats"] = ", ".join(beaten) if beaten else "none"
    cols = ["date", "place", "quantity", "low", "high", "p05", "p50", "p95", "hit", "in_band", "rel_error"]
    cols += [m for m in naive_scores]
    return comp[cols], out


def validate_forecast(run_dir: str | Path, observations_path: str | Path) -> tuple[pd.DataFrame, dict]:
    """Score a forecast folder against observations dated in its period (no printing).

    The median (p50) is scored with the validation metric (:mod:`travesia.analysis.observe`);
    ``band_coverage`` is the share of observations whose [low, high] range overlaps the 90% band
    [p05, p95]; the two naive forecasts of the folder's ``naive.csv`` are scored alike
    (``objective_persistence``, ``objective_constant_velocity``; lower is better). Writes
    ``validation.csv`` and ``validation.json`` into the folder.
    """
    from travesia.analysis.observe import load_observations, read_forecast_folder, validation_paths

    run_dir = Path(run_dir)
    fc, naive, places = read_forecast_folder(run_dir)
    op = Path(observations_path)
    if op == run_dir / "observations.csv":
        if not op.exists():
            raise UserError("no observations: the forecast folder has no observations.csv; give one with "
                            "--observations FILE", where=str(op))
    elif not op.is_file():
        raise UserError("observations file not found" if not op.exists() else "is a folder, expected a CSV file of "
                        "observations", where=f"--observations {op}")
    validation_paths(run_dir, observations_path)  # a file of the user's there: refused before any work
    obs = load_observations(observations_path, places)
    if obs.empty:
        raise UserError(f"holds no observations (only its header); nothing to score the forecast "
                        f"({min(fc['date'])}..{max(fc['date'])}) against", where=str(op))
    comp, sc = score_forecast(fc, naive, obs, where=str(observations_path))
    sc["observations"] = str(observations_path)
    out = comp.copy()
    out["date"] = out["date"].astype(str)
    csv_path, json_path = validation_paths(run_dir, observations_path)
    sc["written"] = [str(csv_path), str(json_path)]
    atomic_write(csv_path, out.to_csv(index=False, float_format="%.6g", lineterminator="\n"))
    atomic_write(json_path, json.dumps(sc, indent=2, default=str) + "\n")
    return comp, sc


# --------------------------------------------------------------------------- the particle filter


def made_for(loaded: LoadedScenario, cfg) -> dict:
    """What a forecast's particle states are made for, saved with them and checked on ``--resume``: the
    scenario (a digest of its name, start, places and legs), its days and its scale."""
    import hashlib

    h = hashlib.sha256()
    h.update(f"{loaded.name}|{loaded.params.start}|".encode("utf-8"))
    for t in (loaded.places, loaded.legs):
        h.update(t.to_csv(index=False).encode("utf-8"))
    return {"scenario": h.hexdigest()[:16], "days": None if cfg.days is None else int(cfg.days),
            "scale": float(cfg.scale)}


def _filter_run(c, base: LoadedScenario, known: LoadedScenario, members: int, seed: int, priors: dict, cfg,
                resume, as_of: dt.date, cb) -> tuple[EnsembleRun, Any]:
    """Assimilate the reports up to ``as_of`` (from the priors, or from a saved forecast's particles),
    then run the particles to the end (:mod:`.filter`)."""
    import time

    from travesia.ensemble import filter as pf
    from travesia.ensemble.runner import layout_of, n_workers

    t0 = time.perf_counter()
    events = []
    made = made_for(known, cfg)
    if resume is not None:
        rdir = Path(resume)
        parts = pf.load(rdir / "particles.pkl")
        saved = getattr(parts, "made_for", None) or {}
        for k, v in made.items():
            if k in saved and saved[k] != v:
                what = {"scenario": "another scenario (its name, places, legs or start differ)",
                        "days": f"{saved[k]} days", "scale": f"scale {saved[k]}"}[k]
                raise UserError(f"the saved forecast was made for {what}; this one is for "
                                f"{v if k != 'scenario' else 'this scenario'}: resume with the same scenario, --days "
                                "and --scale, or start a new forecast", where=str(rdir / "particles.pkl"))
        if len(parts.params) != members:
            raise UserError(f"the saved forecast has {len(parts.params)} particles; a resumed forecast keeps them "
                            f"(pass --members {len(parts.params)})", where="--members")
        old = dt.date.fromisoformat(parts.as_of)
        if as_of < old:
            raise UserError(f"the saved forecast is as of {old}; resume to a later date", where="--as-of")
        events = [ev for ev in known.params.timeline if old < ev.date <= as_of]
    else:
        parts = pf.start(members, seed, priors)
    obs = known.observations if known.observations is not None else pd.DataFrame(
        columns=["date", "place", "quantity", "low", "high"])
    parts = pf.assimilate(c, known, parts, obs, priors, cfg, seed, events=events, progress=cb("assimilate"))
    parts = dataclasses.replace(parts, as_of=as_of.isoformat(), made_for=made)
    layout = layout_of(known, cfg)
    values = np.zeros((len(parts.params), layout.size), dtype=np.int32)

    def put(i, vec):
        values[i] = vec

    pf.finish(c, known, parts, cfg, on_result=put, progress=cb("ensemble"))
    mem = pd.DataFrame([{"member": i, "seed": s, **dict(sorted(prm.items()))}
                        for i, (s, prm) in enumerate(zip(parts.seeds, parts.params))])
    run = EnsembleRun(layout=layout, values=values, members=mem, cfg=cfg, base=known,
                      wall_s=time.perf_counter() - t0, workers=n_workers(c))
    return run, parts


def filter_files(folder: Path, parts) -> None:
    """particles.pkl (for --resume), filter.csv (ESS per report date), filter_checks.csv (predictive check)."""
    from travesia.ensemble import filter as pf

    pf.save(parts, folder / "particles.pkl")
    (folder / "filter.csv").write_text(csv_text(pd.DataFrame(
        parts.log, columns=["date", "reports", "ess", "unique", "stages", "mean_loglik", "max_loglik", "scale_crowd", "scale_tally",
                          "nu"])),
        encoding="utf-8")
    if parts.checks:
        ch = pd.concat(parts.checks, ignore_index=True)
        ch["date"] = ch["date"].astype(str)
        ch["cover90"] = ch["cover90"].astype(int)
        (folder / "filter_checks.csv").write_text(csv_text(ch), encoding="utf-8")


# --------------------------------------------------------------------------- the command


def forecast(scenario: str | Path | LoadedScenario, *, as_of: dt.date | str, members: int, out: str | Path,
             observations: str | Path | None = None, calibration: str | Path | None = None, trials: int = 0,
             seeds: int = 2, seed: int = 0, days: int | None = None, scale: float = 1.0,
             params_file: str | Path | None = None, priors_file: str | Path | None = None,
             overrides: dict[str, Any] | None = None, force: bool = False, client: Any = None,
             workers: int | None = None, scheduler: str | None = None, report: bool = True,
             progress: Callable[[str, int, int], None] | None = None,
             on_run: Callable[[EnsembleRun], Any] | None = None, assimilate: bool = True,
             resume: str | Path | None = None) -> dict:
    """``travesia forecast``: see the module doc. Returns {"out", "forecast", "half_arrival", "scores", "meta"}
    (and "on_run": what ``on_run(run)`` returned, called on the members' results before they are freed).

    ``progress(stage, done, total)`` is called with stage "calibrate" (trials) and "ensemble" (members).
    """
    from travesia.analysis.observe import load_observations
    from travesia.ensemble.calibrate import calibrate as run_cal

    from travesia.options import check_common, check_period

    as_of = parse_date(as_of, "--as-of")
    check_common(days=days, seed=seed, scale=scale, members=members, workers=workers, scheduler=scheduler)
    from travesia.ensemble.cluster import check_local_workers

    check_local_workers(workers, scheduler)
    out = Path(out)
    check_out_dir(out, force)
    base = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario, overrides,
                                                                                params_file=params_file)
    p = base.params
    d = int(check_period(p.start, days) or p.days)
    end = p.start + dt.timedelta(days=d - 1)
    if not p.start <= as_of < end:
        raise UserError(f"{as_of} must be on or after the start {p.start} and before the end {end}", where="--as-of")
    obs_all = load_observations(observations, base.places) if observations is not None else base.observations
    known = known_on(base, as_of, obs_all)
    posterior = None
    priors = {}
    fixed: list[str] = []  # parameters with a prior that --set fixes: not drawn
    use_filter = calibration is None and trials <= 0 and assimilate
    if resume is not None and not use_filter:
        raise UserError("--resume continues a forecast's particle filter: leave out --trials and --calibration")
    if resume is not None and (overrides or params_file is not None):
        raise UserError("a resumed forecast continues the saved particles, whose parameters are their own: "
                        "--set and --params cannot change them; start a new forecast to change parameters",
                        where="--set" if overrides else "--params")
    if use_filter:
        priors = scenario_priors(known, priors_file, default=True, fixed=fixed)
        cal_note = ("particle filter: parameters drawn from the priors, then each report up to the as-of date "
                    "assimilated in turn" if priors else "particle filter over seeds only (no priors)")
    elif calibration is not None:
        posterior = read_posterior(calibration)
        cal_note = f"parameters from the calibration {calibration}"
    elif trials > 0:
        priors = scenario_priors(known, priors_file, need="forecast (to calibrate)", default=True, fixed=fixed,
                                 hint="or reuse a calibration with --calibration DIR, or --trials 0 to vary seeds only")
    else:
        priors = scenario_priors(known, priors_file, default=True, fixed=fixed)
        cal_note = "parameters drawn from the priors" if priors else "seed variation only (no priors)"
    cb = (lambda stage: (lambda a, b: progress(stage, a, b))) if progress else (lambda stage: None)
    tmp = new_partial(out, force)
    try:
        with maybe_client(client, workers, scheduler) as c:
            if calibration is None and trials > 0:
                if known.observations is None or known.observations.empty:
                    raise UserError(f"no observations on or before {as_of} to calibrate against; pass "
                                    "--observations FILE, --calibration DIR or --trials 0")
                cal = run_cal(known, out=tmp / "calibration", trials=trials, observations=known.observations,
                              until=as_of, seed=seed, seeds=seeds, priors_file=priors_file, scale=scale,
                              client=c, progress=cb("calibrate"))
                posterior = cal["posterior"]
                cal_note = (f"calibrated on {len(known.observations)} observations up to {as_of} "
                            f"({trials} trials, best objective {cal['best_objective']:.3f}; "
                            f"members use the best {len(posterior)} trials in turn)")
                priors = {}
            cfg = RunConfig(days=d, scale=scale)
            if use_filter:
                run, parts = _filter_run(c, base, known, members, seed, priors, cfg, resume, as_of, cb)
                filter_files(tmp, parts)
                members = len(parts.params)
                cal_note += (f"; {len(parts.log)} report dates, ESS at the last {parts.log[-1]['ess']:.0f} of "
                             f"{members}" if parts.log else "; no report to assimilate")
            else:
                specs, mem = member_plan(members, seed, priors, posterior)
                run = simulate_ensemble(known, specs, mem, cfg, client=c, progress=cb("ensemble"),
                                        blame=prior_source(known, priors_file))
        try:
            run.rules, run.seed = p.rules, seed
            run.errors = parts.errors if use_filter else ErrorModel(rules=p.rules)
            fc_true = reported_quantiles(run, after=as_of, true_count=True)
            fc = reported_quantiles(run, after=as_of)
            halves = half_arrival(run, base.places)
            keys = fc[["date", "quantity", "place"]]
            known_obs = known.observations
            naive = naive_forecasts(known_obs, as_of, keys, base.places, base.legs) if known_obs is not None and \
                len(known_obs) else None
            scores = None
            if obs_all is not None and (obs_all["date"] > as_of).any() and ((obs_all["date"] <= end) &
                                                                           (obs_all["date"] > as_of)).any():
                _, scores = score_forecast(fc, naive, obs_all)
            meta = {"scenario": base.name, "as_of": as_of.isoformat(), "start": p.start.isoformat(),
                    "end": end.isoformat(), "members": len(run.members), "seed": seed, "scale": scale,
                    "events_used": len(known.params.timeline), "events_dropped": len(p.timeline) - len(
                        known.params.timeline),
                    "observations_used": 0 if known_obs is None else len(known_obs),
                    "calibration_note": cal_note, "report_error": run.errors.as_dict(),
                    "bands": {"forecast.csv": "what will be reported: members x report error (Student-t on ln(1 + count), "
                                              "scale per kind, bias per quantity, learnt from one-step-ahead misses)",
                              "forecast_true.csv": "the members' counts alone (no report error)"}, "params_file": None if params_file is None else str(params_file),
                    "fixed": {k: known.overrides[k] for k in fixed},
                    "wall_s": round(run.wall_s, 3), "workers": run.workers, "version": __version__}
            if scores:
                meta["scores_after_as_of"] = scores
            (tmp / "forecast.csv").write_text(csv_text(fc), encoding="utf-8")
            (tmp / "forecast_true.csv").write_text(csv_text(fc_true), encoding="utf-8")
            (tmp / "members.csv").write_text(csv_text(run.members), encoding="utf-8")
            (tmp / "half_arrival.csv").write_text(csv_text(halves), encoding="utf-8")
            if naive is not None:
                (tmp / "naive.csv").write_text(csv_text(naive), encoding="utf-8")
            for name, text in network_files(base, obs_all).items():  # places, legs, all the observations given
                (tmp / name).write_text(text, encoding="utf-8")
            (tmp / "outlook.csv").write_text(csv_text(outlook(run, base.places, as_of)), encoding="utf-8")
            (tmp / "forecast.json").write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
            if report:
                from travesia.report.build import build_report

                build_report(tmp)  # the report family's forecast report, from the files just written
            kept = on_run(run) if on_run is not None else None
        finally:
            run.close()
        commit_partial(tmp, out, "forecast")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"out": out, "forecast": fc, "half_arrival": halves, "scores": scores, "meta": meta, "naive": naive,
            "on_run": kept}
