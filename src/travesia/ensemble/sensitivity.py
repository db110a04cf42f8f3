"""Global sensitivity: Sobol indices (SALib) of chosen outputs to the declared priors.

Saltelli's scheme (``SALib.sample.sobol``, N·(D+2) runs for D parameters, first-order and total
indices) samples the unit cube; each coordinate goes through its prior's inverse CDF
(:func:`~travesia.ensemble.priors.ppf`), so the parameters follow their priors. Every run uses the
same seed (``member_seed(seed, 0)``): the indices measure the parameters' effect, and the noise of
a single seed shows up as variance no parameter explains (``1 - sum S1``).

Outputs (scalars of one run):

- ``arrived_by``: cumulative arrivals at ``destination`` (a place name, or ``(all)`` for all
  destinations; default ``(all)``) on the date ``by`` (default: the last simulated day);
- ``returned_by``: people back home (``(all)``) on ``by``;
- ``peak_shelter``: the most people present at ``shelter`` on any day (default: the shelter place
  with the highest median peak over the samples).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.ensemble.cluster import check_local_workers
from travesia.ensemble.files import commit_partial, csv_text, new_partial
from travesia.ensemble.priors import member_seed, ppf, prior_source, scenario_priors, to_value
from travesia.ensemble.runner import MemberSpec, RunConfig, layout_of, maybe_client, run_members
from travesia.errors import UserError
from travesia.output import check_out_dir
from travesia.scenario.load import LoadedScenario, load_scenario


def sobol_unit_sample(d: int, n: int, seed: int) -> np.ndarray:
    """Saltelli/Sobol sample of the unit cube: (n·(d+2)) × d, strictly inside (0, 1)."""
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when n is not a power of 2; we check that ourselves
        x = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    return np.clip(x, 1e-9, 1 - 1e-9)


def sensitivity(scenario: str | Path | LoadedScenario, *, samples: int, out: str | Path | None = None,
                seed: int = 0, days: int | None = None, by: dt.date | str | None = None,
                destination: str = "(all)", shelter: str | None = None, scale: float = 1.0,
                params_file: str | Path | None = None, priors_file: str | Path | None = None,
                overrides: dict[str, Any] | None = None, force: bool = False, client: Any = None,
                workers: int | None = None, scheduler: str | None = None, resamples: int = 200,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """``travesia sensitivity``: write ``sensitivity.csv``, ``samples.csv``, ``sensitivity.png``,
    ``sensitivity.json``. Returns {"out", "indices" (DataFrame), "samples", "meta"}."""
    from SALib.analyze import sobol as sobol_analyze

    from travesia.options import check_common, check_period

    check_common(days=days, seed=seed, scale=scale, workers=workers, scheduler=scheduler)
    check_local_workers(workers, scheduler)
    if samples < 2:
        raise UserError(f"must be >= 2, got {samples}", where="--samples")
    if samples & (samples - 1):
        raise UserError(f"must be a power of 2 (Sobol sequences), got {samples}; "
                        f"try {1 << (samples - 1).bit_length()}", where="--samples")
    if out is not None:
        check_out_dir(Path(out), force)
    base = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario, overrides,
                                                                                params_file=params_file)
    priors = scenario_priors(base, priors_file, need="sensitivity")
    names = sorted(priors)
    p = base.params
    d = int(check_period(p.start, days) or p.days)
    end = p.start + dt.timedelta(days=d - 1)
    if by is None:
        by = end
    elif isinstance(by, str):
        try:
            by = dt.date.fromisoformat(by)
        except ValueError:
            raise UserError(f"expected a date YYYY-MM-DD, got '{by}'", where="--by") from None
    if not p.start <= by <= end:
        raise UserError(f"{by} is outside the simulated period {p.start}..{end}", where="--by")
    shelters = list(base.places.loc[base.places["kind"] == "shelter", "name"])
    if shelter is not None:
        if shelter not in set(base.places["name"]):
            raise UserError(f"unknown place '{shelter}'", where="--shelter")
        shelters = [shelter]
    if not shelters:
        raise UserError("the scenario has no place of kind 'shelter'; name a place with --shelter")
    cfg_places = sorted({destination, "(all)", *shelters})
    cfg = RunConfig(days=d, scale=scale, quantities=("present", "arrived", "returned"), places=tuple(cfg_places))
    layout = layout_of(base, cfg, option="--destination")  # the shelters are known places, checked above
    if destination not in layout.names["arrived"]:
        raise UserError(f"unknown place '{destination}'", where="--destination")

    u = sobol_unit_sample(len(names), samples, seed)
    values = np.empty(u.shape, dtype=np.float64)
    specs = []
    run_seed = member_seed(seed, 0)
    for i, row in enumerate(u):
        params = {n: to_value(n, priors[n], float(ppf(priors[n], x))) for n, x in zip(names, row)}
        values[i] = [params[n] for n in names]
        specs.append(MemberSpec(member=i, seed=run_seed, params=params))
    k = (by - p.start).days
    arrived = np.zeros(len(specs))
    returned = np.zeros(len(specs))
    peaks = np.zeros((len(specs), len(shelters)))
    ia = layout.index("arrived", destination)[k]
    ir = layout.index("returned", "(all)")[k]
    ish = [layout.index("present", s) for s in shelters]

    def put(i: int, vec: np.ndarray) -> None:
        arrived[i] = vec[ia]
        returned[i] = vec[ir]
        peaks[i] = [vec[j].max() for j in ish]

    with maybe_client(client, workers, scheduler) as c:
        run_members(c, base, specs, cfg, put, progress=progress, blame=prior_source(base, priors_file))
    js = int(np.argmax(np.median(peaks, axis=0)))
    outputs = {f"arrived_by {destination} {by}": arrived, f"returned_by {by}": returned,
               f"peak_shelter {shelters[js]}": peaks[:, js]}
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    rows = []
    for oname, y in outputs.items():
        if np.ptp(y) == 0:
            for n in names:
                rows.append({"output": oname, "parameter": n, "S1": np.nan, "S1_conf": np.nan, "ST": np.nan,
                             "ST_conf": np.nan, "note": "output does not vary"})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=resamples,
                                       conf_level=0.95, seed=seed)
        for j, n in enumerate(names):
            rows.append({"output": oname, "parameter": n, "S1": si["S1"][j], "S1_conf": si["S1_conf"][j],
                         "ST": si["ST"][j], "ST_conf": si["ST_conf"][j], "note": ""})
    idx = pd.DataFrame(rows)
    for c_ in ("S1", "S1_conf", "ST", "ST_conf"):
        idx[c_] = idx[c_].astype(float).round(4)
    samp = pd.DataFrame(values, columns=names)
    samp.insert(0, "run", np.arange(len(samp)))
    for oname, y in outputs.items():
        samp[oname] = y
    meta = {"scenario": base.name, "samples": samples, "runs": len(specs), "seed": seed, "run_seed": run_seed,
            "days": d, "by": by.isoformat(), "destination": destination, "shelter": shelters[js],
            "parameters": names, "priors": {k_: v.model_dump() for k_, v in priors.items()}, "version": __version__}
    res = {"out": None, "indices": idx, "samples": samp, "meta": meta}
    if out is not None:
        tmp = new_partial(Path(out), force)
        try:
            (tmp / "sensitivity.csv").write_text(csv_text(idx), encoding="utf-8")
            (tmp / "samples.csv").write_text(csv_text(samp), encoding="utf-8")
            (tmp / "sensitivity.json").write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
            chart(idx, tmp / "sensitivity.png")
            res["out"] = commit_partial(tmp, Path(out), "sensitivity")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return res


def chart(idx: pd.DataFrame, path: Path) -> None:
    """One panel per output: first-order (S1) and total (ST) index per parameter, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outs = list(dict.fromkeys(idx["output"]))
    params = list(dict.fromkeys(idx["parameter"]))
    fig, axes = plt.subplots(1, len(outs), figsize=(4.5 * len(outs), 0.45 * len(params) + 1.5), sharey=True,
                             squeeze=False)
    y = np.arange(len(params))
    for ax, o in zip(axes[0], outs):
        g = idx[idx["output"] == o].set_index("parameter").reindex(params)
        ax.barh(y - 0.2, g["S1"].fillna(0), 0.4, xerr=g["S1_conf"].fillna(0), label="first order (S1)",
                color="#4292c6", error_kw={"lw": 0.8})
        ax.barh(y + 0.2, g["ST"].fillna(0), 0.4, xerr=g["ST_conf"].fillna(0), label="total (ST)", color="#fd8d3c",
                error_kw={"lw": 0.8})
        ax.set_title(o, fontsize=9)
        ax.axvline(0, color="k", lw=0.5)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(y, params)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
