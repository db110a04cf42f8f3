"""Ensembles: many members, each with its own seed and its own draw of the uncertain parameters.

Member ``i`` (0-based) runs with seed :func:`~travesia.ensemble.priors.member_seed` (``seed``,
``i``) and parameter values drawn from the priors keyed by (``seed``, ``i``, parameter path), or
taken from row ``i mod k`` of a calibration's ``posterior.csv`` (k rows). The percentiles of each
date × place × quantity over the members make ``ensemble.csv``; the members' seeds and values make
``members.csv``. Neither depends on the number of workers or the order they finish in.
"""

from __future__ import annotations

import dataclasses

import datetime as dt
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.ensemble.cluster import check_local_workers
from travesia.ensemble.files import csv_text, write_folder
from travesia.ensemble.priors import draws, member_seeds, param_info, prior_source, scenario_priors
from travesia.ensemble.runner import Layout, MemberSpec, RunConfig, layout_of, maybe_client, run_members
from travesia.errors import UserError
from travesia.output import CORE_QUANTITIES, QUANTITIES, network_files
from travesia.scenario.load import LoadedScenario, check_path, load_scenario
from travesia.scenario.schema import Prior

PERCENTILES = (5, 25, 50, 75, 95)
PCOLS = tuple(f"p{p:02d}" for p in PERCENTILES)
POSTERIOR_META = ("trial", "objective", "rank", "weight")
MEMMAP_BYTES = 256 * 2**20  # members' vectors above this size live in a file, not in memory


def column_percentiles(values: np.ndarray, q: Sequence[float], cols: np.ndarray | None = None,
                       chunk: int = 4096) -> np.ndarray:
    """Percentiles ``q`` of each column of integer ``values`` (members × columns; a memmap is read
    ``chunk`` columns at a time), of the columns ``cols`` (default all): ``(columns, len(q))``
    float64, the same numbers, bit for bit, as ``np.percentile(values[:, cols], q, axis=0).T``
    (its default, linear interpolation; tests/test_ensemble.py compares them).

    Faster than NumPy's own: a column whose members all agree (most of them: places nobody is at
    on a date) is its value; the others are copied into rows and sorted (NumPy's vectorised sort),
    where ``np.percentile`` partitions the columns in place, strided, about ten times slower for
    thousands of members."""
    v = np.asarray(values[:0])
    if v.dtype.kind not in "iub":
        raise TypeError(f"column_percentiles takes integer counts, not {v.dtype}")
    n = values.shape[0]
    nc = values.shape[1] if cols is None else len(cols)
    out = np.empty((nc, len(q)), dtype=np.float64)
    if n == 0:
        out[:] = np.nan
        return out
    # NumPy's linear method (Hyndman and Fan's 7th), computed as np.percentile computes it: the
    # virtual index, its floor and the next (clipped at the ends) and the weight between them
    qf = np.true_divide(np.asarray(q), 100)
    virtual = (n - 1) * qf
    below = np.floor(virtual)
    above = below + 1
    top, bottom = virtual >= n - 1, virtual < 0
    below[top], above[top] = -1, -1
    below[bottom], above[bottom] = 0, 0
    gamma = virtual - below
    below, above = below.astype(np.intp), above.astype(np.intp)
    for a in range(0, nc, chunk):
        block = np.asarray(values[:, a:a + chunk] if cols is None else values[:, cols[a:a + chunk]])
        lo, hi = block.min(axis=0), block.max(axis=0)
        varied = np.nonzero(lo != hi)[0]
        res = np.repeat(lo.astype(np.float64)[:, None], len(q), axis=1)
        if varied.size:
            rows = np.ascontiguousarray(block[:, varied].T)
            rows.sort(axis=1)
            prev, nxt = rows[:, below], rows[:, above]
            diff = nxt - prev
            lerp = np.add(prev, diff * gamma)
            np.subtract(nxt, diff * (1 - gamma), out=lerp, where=gamma >= 0.5)
            res[varied] = lerp
        out[a:a + chunk] = res
    return out


@dataclass
class EnsembleRun:
    """The members' reduced results: ``values[i]`` is member ``i``'s vector in ``layout`` order."""

    layout: Layout
    values: np.ndarray
    members: pd.DataFrame
    cfg: RunConfig
    base: LoadedScenario
    wall_s: float = 0.0
    workers: int = 0
    _tmp: Any = field(default=None, repr=False)

    def series(self, quantity: str, place: str) -> np.ndarray:
        """members × dates array of one quantity at one place."""
        return np.asarray(self.values[:, self.layout.index(quantity, place)])

    def quantiles(self, after: dt.date | None = None, chunk: int = 4096) -> pd.DataFrame:
        """``date,place,quantity,p05,p25,p50,p75,p95`` (rows with date > ``after`` if given)."""
        keys = self.layout.keys()
        out = column_percentiles(self.values, PERCENTILES, chunk=chunk)
        df = keys[["date", "place", "quantity"]].copy()
        for j, c in enumerate(PCOLS):
            df[c] = np.round(out[:, j], 2)
        if after is not None:
            df = df[df["date"] > after].reset_index(drop=True)
        return df

    def close(self) -> None:
        if self._tmp is not None:
            self.values = np.asarray(self.values[:0])
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


class _AnyColumns(list):
    """Every column name is allowed (for :func:`~travesia.scenario.load.read_table`): a posterior's
    columns are parameter paths, checked one by one after."""

    def __contains__(self, name: object) -> bool:
        return True


def read_posterior(path: str | Path) -> pd.DataFrame:
    """A posterior sample (``posterior.csv`` of ``travesia calibrate``): one parameter set a row.

    Columns ``trial, objective, rank, weight`` are kept as information; every other column must be
    a parameter path, with a finite number in every row. Read with the scenario tables' reader
    (:func:`~travesia.scenario.load.read_table`): a file that is not UTF-8 CSV, a quote left open or
    a row whose field count differs from the header's is a UserError naming the file and row.
    """
    from travesia.scenario.load import _num, read_table

    p = Path(path)
    if p.is_dir():
        p = p / "posterior.csv"
    if not p.is_file():
        raise UserError("posterior sample not found (expected a calibration folder or its posterior.csv)",
                        where=str(p))
    what = "posterior sample (posterior.csv of travesia calibrate)"
    if p.suffix.lower() in (".yaml", ".yml"):
        raise UserError(f"a YAML file; expected a calibration folder or a CSV {what} (a YAML of values "
                        "goes to --params)", where=str(p))
    try:
        rows = read_table(p, ([], _AnyColumns()), what)
    except UserError as e:
        if "empty file" in str(e):
            raise UserError(f"empty file; expected a {what}: a header trial,objective,... and one row per "
                            "parameter set", where=str(p)) from None
        raise
    except OSError as e:
        raise UserError(f"cannot be read ({e.strerror})", where=str(p)) from None
    text = p.read_text(encoding="utf-8-sig")
    if text.count('"') % 2:  # the csv module reads a quote left open to the end of the file as one field
        line = text[:text.rindex('"')].count("\n") + 1
        raise UserError('a quote (") is opened and never closed', where=f"{p}:{line}")
    if not rows:
        raise UserError("posterior sample has no rows", where=str(p))
    header = list(rows[0][1])
    for c in header:
        if c in POSTERIOR_META:
            continue
        try:
            check_path(c)
        except ValueError as e:
            raise UserError(f"column {c}: {e} (expected a {what})", where=f"{p}:1") from None
    for line, r in rows:
        for c in header:
            _num(r[c], c, f"{p}:{line}", optional=c in POSTERIOR_META)
    # numbers as pandas reads them (whole numbers as integers), every one checked above
    return pd.DataFrame({c: pd.to_numeric(pd.Series([r[c] for _, r in rows], dtype=object), errors="coerce")
                         for c in header})


def member_plan(n: int, seed: int, priors: dict[str, Prior], posterior: pd.DataFrame | None = None,
                first: int = 0) -> tuple[list[MemberSpec], pd.DataFrame]:
    """Seeds and parameter values of members ``first .. first+n-1``, and the ``members.csv`` table."""
    members = np.arange(first, first + n)
    post_cols = [c for c in (posterior.columns if posterior is not None else []) if c not in POSTERIOR_META]
    cols: dict[str, list] = draws({k: v for k, v in priors.items() if k not in post_cols}, seed, members)
    table: dict[str, list] = {"member": members.tolist()}
    if posterior is not None:
        rows = (members % len(posterior)).tolist()
        table["posterior_row"] = rows
        for c in post_cols:
            tp, _, _ = param_info(c)
            v = posterior[c].tolist()
            cols[c] = [int(round(float(v[r]))) if tp is int else float(v[r]) for r in rows]
    seeds = [int(x) for x in member_seeds(seed, members)]
    names = sorted(cols)
    specs = [MemberSpec(member=i, seed=s, params={k: cols[k][j] for k in names})
             for j, (i, s) in enumerate(zip(table["member"], seeds))]
    table["seed"] = seeds
    return specs, pd.DataFrame({**table, **{k: cols[k] for k in names}})


def simulate_ensemble(base: LoadedScenario, specs: Sequence[MemberSpec], members: pd.DataFrame, cfg: RunConfig, *,
                      client: Any = None, workers: int | None = None, scheduler: str | None = None,
                      batch_size: int | None = None, progress: Callable[[int, int], None] | None = None,
                      batch_fn: Callable | None = None, threads: int = 1,
                      blame: Callable[[str], str] | None = None) -> EnsembleRun:
    """Run the members on Dask and gather their vectors (in memory, or a temporary file when large);
    each worker's engine on ``threads`` numba threads (a worker starts with 1). Every member is
    checked first (:func:`~travesia.ensemble.runner.check_members`, with ``blame``)."""
    from travesia.ensemble.runner import check_members, n_workers, run_batch

    layout = layout_of(base, cfg)
    shape = (len(specs), layout.size)
    tmp = None
    if shape[0] * shape[1] * 4 > MEMMAP_BYTES:
        tmp = tempfile.mkdtemp(prefix="travesia-ensemble-")
        values = np.lib.format.open_memmap(Path(tmp) / "members.npy", mode="w+", dtype=np.int32, shape=shape)
    else:
        values = np.zeros(shape, dtype=np.int32)

    def put(i: int, vec: np.ndarray) -> None:
        if vec.shape != (layout.size,):
            raise RuntimeError(f"member {specs[i].member}: {vec.shape} values, expected {layout.size}")
        values[i] = vec

    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as ex:
        # every member checked (about 1 ms each) while the cluster starts: a local one waits for its
        # fork server's imports and warm-up, and this process would wait with it
        checked = ex.submit(check_members, base, specs, cfg, blame)
        with maybe_client(client, workers, scheduler) as c:
            checked.result()  # a member the scenario refuses: its UserError, before any work is sent
            w = n_workers(c)
            if threads > 1:
                cfg = dataclasses.replace(cfg, threads=int(threads))
            run_members(c, base, specs, cfg, put, batch_size=batch_size, progress=progress,
                        batch_fn=batch_fn or run_batch, checked=True)
    return EnsembleRun(layout=layout, values=values, members=members, cfg=cfg, base=base,
                       wall_s=time.perf_counter() - t0, workers=w, _tmp=tmp)


def _quantities(q: Sequence[str] | None) -> tuple[str, ...]:
    q = tuple(q or CORE_QUANTITIES)
    bad = [x for x in q if x not in QUANTITIES]
    if bad:
        raise UserError(f"unknown quantity {', '.join(bad)} (known: {', '.join(QUANTITIES)})", where="--quantity")
    return q


def run_ensemble(scenario: str | Path | LoadedScenario, *, members: int, out: str | Path | None = None,
                 seed: int = 0, workers: int | None = None, scheduler: str | None = None, client: Any = None,
                 days: int | None = None, scale: float = 1.0, params_file: str | Path | None = None,
                 priors_file: str | Path | None = None, posterior: str | Path | None = None,
                 seeds_only: bool = False, overrides: dict[str, Any] | None = None,
                 quantities: Sequence[str] | None = None, places: Sequence[str] | None = None,
                 force: bool = False, batch_size: int | None = None,
                 progress: Callable[[int, int], None] | None = None, threads: int = 1) -> dict:
    """``travesia ensemble``: run ``members`` members and write ``ensemble.csv`` and ``members.csv``
    (``threads``: numba threads of each worker's engine; 1 by default).

    Returns {"out", "ensemble" (DataFrame), "members" (DataFrame), "wall_s", "workers"}.
    """
    from travesia.options import check_common, check_period, check_threads

    check_common(days=days, seed=seed, scale=scale, members=members, batch=batch_size, workers=workers,
                 scheduler=scheduler)  # every option checked before any work goes to Dask
    check_threads(threads)
    check_local_workers(workers, scheduler)
    if out is not None:
        from travesia.output import check_out_dir

        check_out_dir(Path(out), force)  # fail before spending time on the runs
    base = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario, overrides,
                                                                                params_file=params_file)
    post = read_posterior(posterior) if posterior is not None else None
    fixed: list[str] = []  # parameters with a prior that --set fixes: not drawn
    if seeds_only:
        priors: dict[str, Prior] = {}
    else:
        priors = scenario_priors(base, priors_file, need=None if post is not None else "ensemble",
                                 hint="or --seeds-only to vary the seed alone", default=True, fixed=fixed)
    d = int(check_period(base.params.start, days) or base.params.days)
    cfg = RunConfig(days=d, scale=scale, quantities=_quantities(quantities),
                    places=tuple(places) if places else None)
    specs, mem = member_plan(members, seed, priors, post)
    src = prior_source(base, priors_file)
    run = simulate_ensemble(base, specs, mem, cfg, client=client, workers=workers, scheduler=scheduler,
                            batch_size=batch_size, progress=progress, threads=threads,
                            blame=lambda k: str(posterior) if post is not None and k in post.columns else src(k))
    try:
        ens = run.quantiles()
    finally:
        run.close()
    meta = {
        "scenario": base.name, "members": members, "seed": seed, "days": d, "scale": scale,
        "start": base.params.start.isoformat(), "priors": {k: v.model_dump() for k, v in priors.items()},
        "fixed": {k: base.overrides[k] for k in fixed},  # a prior dropped: its parameter given by --set
        "posterior": None if posterior is None else str(posterior), "params_file": None if params_file is None
        else str(params_file), "overrides": base.overrides, "percentiles": list(PERCENTILES),
        "workers": run.workers, "wall_s": round(run.wall_s, 3),
        "members_per_second": round(members / max(run.wall_s, 1e-9), 2), "version": __version__,
    }
    res = {"ensemble": ens, "members": mem, "wall_s": run.wall_s, "workers": run.workers, "meta": meta, "out": None}
    if out is not None:
        res["out"] = write_folder(Path(out), {
            "ensemble.csv": csv_text(ens),
            "members.csv": csv_text(mem),
            "ensemble.json": json.dumps(meta, indent=2, default=str) + "\n",
            **network_files(base),  # for the report's map and observations
        }, force, "ensemble")
    return res
