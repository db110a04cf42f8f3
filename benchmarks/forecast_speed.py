"""Forecast wall times: a forecast with assimilation (particle filter) and a 4-origin backtest.

What it measures (declared before measuring):

- scenario ``caravan-2018`` at 1:1 scale, its full 60 days, the shipped default priors, the
  scenario's observations;
- **filter forecast**: ``travesia forecast caravan-2018 --as-of 2018-10-25 --members N`` on a
  LocalCluster of ``--workers`` workers (default 2): assimilating the 18 report dates up to the
  as-of date, then running the particles to the end, percentiles and files included; cluster
  start-up excluded (a warm-up forecast runs first);
- **yardstick**: a plain ensemble of the same N members over the same 60 days on the same
  cluster (``travesia ensemble``: no assimilation), timed in the same run; the ratio
  ``filter / ensemble`` is the price of assimilation;
- **backtest**: ``travesia backtest caravan-2018 --origins 2018-10-16,2018-10-19,2018-10-22,2018-10-25
  --members --backtest-members``, wall time.

Run: ``.venv/bin/python benchmarks/forecast_speed.py [--members 1000] [--backtest-members 200]``;
prints the figures and writes ``benchmarks/results/forecast_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--backtest-members", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    from travesia.ensemble.backtest import backtest
    from travesia.ensemble.ensemble import run_ensemble
    from travesia.ensemble.forecast import forecast
    from travesia.ensemble.runner import dask_client

    out = {"members": a.members, "workers": a.workers, "cpus": os.cpu_count(), "python": platform.python_version()}
    with dask_client(workers=a.workers) as c, tempfile.TemporaryDirectory() as tmp:
        forecast("caravan-2018", as_of="2018-10-16", members=2 * a.workers, days=8, out=Path(tmp) / "warm",
                 client=c, report=False)
        t0 = time.perf_counter()
        run_ensemble("caravan-2018", members=a.members, client=c, priors_file="caravan-2018")
        out["ensemble_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        forecast("caravan-2018", as_of="2018-10-25", members=a.members, out=Path(tmp) / "fc", client=c)
        out["filter_forecast_s"] = round(time.perf_counter() - t0, 1)
        out["filter_over_ensemble"] = round(out["filter_forecast_s"] / out["ensemble_s"], 2)
        if a.backtest_members:
            t0 = time.perf_counter()
            backtest("caravan-2018", origins="2018-10-16,2018-10-19,2018-10-22,2018-10-25",
                     members=a.backtest_members, out=Path(tmp) / "bt", client=c)
            out["backtest_members"] = a.backtest_members
            out["backtest_4_origins_s"] = round(time.perf_counter() - t0, 1)
    for k, v in out.items():
        print(f"{k:24} {v}")
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / "forecast_speed.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
