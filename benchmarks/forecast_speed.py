"""Forecast wall times: a forecast with assimilation (particle filter) and a 4-origin backtest.

What it measures (declared before measuring):

- scenario ``caravan-2018`` at 1:1 scale, its full 60 days, the shipped default priors, the
  scenario's observations;
- **filter forecast**: ``travesia forecast caravan-2018 --as-of 2018-10-25 --members N`` on a
  LocalCluster of ``--workers`` workers (default 2): assimilating every report date up to the
  as-of date, then running the particles to the end, percentiles, files and report included;
  cluster start-up excluded (a warm-up forecast runs first);
- **yardstick**: a plain ensemble of the same N members over the same 60 days on the same
  cluster (``travesia ensemble``: no assimilation), timed in the same run; the ratio
  ``filter / ensemble`` is the price of assimilation;
- **backtest**: ``travesia backtest caravan-2018 --origins 2018-10-16,2018-10-19,2018-10-22,2018-10-25
  --members --backtest-members``, wall time;
- for each: wall time, the CPU seconds of this process (the client: filter weights, resampling,
  percentiles, files) and of the workers (``process_time`` read on each worker before and after),
  and the load average. On a machine shared with other jobs the wall time says how the cores
  were shared; ``max(client CPU, (client CPU + workers' CPU) / workers)`` estimates the wall time
  of an idle machine with one core per worker (the client runs beside the workers, on the same
  cores).

Run: ``.venv/bin/python benchmarks/forecast_speed.py [--members 1000] [--backtest-members 200]``
(``--members 0``: the backtest alone; ``--backtest-members 0``: no backtest);
prints the figures and writes ``benchmarks/results/forecast_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from _results import write_results  # benchmarks/_results.py


def _worker_cpu() -> float:
    return time.process_time()


class Timed:
    """Wall time, this process's CPU and the workers' CPU of a block, and the load average."""

    def __init__(self, client, out: dict, name: str):
        self.client, self.out, self.name = client, out, name

    def __enter__(self):
        self.w0 = sum(self.client.run(_worker_cpu).values())
        self.c0, self.t0 = time.process_time(), time.perf_counter()
        self.l0 = os.getloadavg()[0]
        return self

    def __exit__(self, *exc):
        wall, cpu = time.perf_counter() - self.t0, time.process_time() - self.c0
        workers = sum(self.client.run(_worker_cpu).values()) - self.w0
        n = len(self.client.scheduler_info()["workers"])
        self.out[self.name] = {"wall_s": round(wall, 1), "client_cpu_s": round(cpu, 1),
                               "workers_cpu_s": round(workers, 1),
                               "idle_machine_estimate_s": round(max(cpu, (cpu + workers) / n), 1),
                               "load_average": [round(self.l0, 1), round(os.getloadavg()[0], 1)]}
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1000, help="0: the backtest alone")
    ap.add_argument("--backtest-members", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--as-of", default="2018-10-25")
    a = ap.parse_args()
    from travesia.ensemble.backtest import backtest
    from travesia.ensemble.ensemble import run_ensemble
    from travesia.ensemble.forecast import forecast
    from travesia.ensemble.runner import dask_client

    out: dict = {"members": a.members, "workers": a.workers, "as_of": a.as_of, "cpus": os.cpu_count(),
                 "python": platform.python_version()}
    with dask_client(workers=a.workers) as c, tempfile.TemporaryDirectory() as tmp:
        forecast("caravan-2018", as_of="2018-10-16", members=2 * a.workers, days=8, out=Path(tmp) / "warm",
                 client=c, report=False)
        if a.members:
            with Timed(c, out, "ensemble"):
                run_ensemble("caravan-2018", members=a.members, client=c, priors_file="caravan-2018")
            with Timed(c, out, "filter_forecast"):
                forecast("caravan-2018", as_of=a.as_of, members=a.members, out=Path(tmp) / "fc", client=c)
            out["filter_over_ensemble_wall"] = round(out["filter_forecast"]["wall_s"] / out["ensemble"]["wall_s"], 2)
            out["filter_over_ensemble_workers_cpu"] = round(out["filter_forecast"]["workers_cpu_s"]
                                                            / max(out["ensemble"]["workers_cpu_s"], 1e-9), 2)
        if a.backtest_members:
            out["backtest_members"] = a.backtest_members
            with Timed(c, out, "backtest_4_origins"):
                backtest("caravan-2018", origins="2018-10-16,2018-10-19,2018-10-22,2018-10-25",
                         members=a.backtest_members, out=Path(tmp) / "bt", client=c)
    for k, v in out.items():
        print(f"{k:34} {v}")
    write_results("forecast_speed", out)


if __name__ == "__main__":
    main()
