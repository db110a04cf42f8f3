"""Ensemble throughput on Dask: members per second, scaling from 1 to 2 workers, a 1,000-member wall time.

What it measures (declared before measuring):

- scenario ``caravan-2018`` at 1:1 scale (14,400 people), its full 60 days, members drawing their
  parameters from the shipped priors (``--priors caravan-2018``), members returning every
  quantity at every place (what ``travesia ensemble`` keeps);
- **members per second** on a LocalCluster of 1 worker and of 2 workers (one thread each), for
  ``--members`` members, after a warm-up ensemble so that worker start-up and imports are not
  counted; the median of ``--repeats`` timings;
- **scaling efficiency** = rate(2 workers) / (2 × rate(1 worker));
- **wall time of a ``--big``-member ensemble** (default 1,000) on ``--workers`` workers (default:
  the CPU count), from the first task submitted to ``ensemble.csv`` computed (percentiles
  included), cluster start-up excluded.

Run: ``.venv/bin/python benchmarks/ensemble_speed.py [--members 16] [--big 1000]``; prints a
table and writes ``benchmarks/results/ensemble_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path


def rate(client, members: int, repeats: int, days: int | None) -> tuple[float, list[float]]:
    from travesia.ensemble.ensemble import run_ensemble

    run_ensemble("caravan-2018", members=2 * len(client.scheduler_info()["workers"]), days=5, client=client,
                 priors_file="caravan-2018")  # warm-up: imports and first runs in every worker
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_ensemble("caravan-2018", members=members, days=days, client=client, priors_file="caravan-2018")
        walls.append(time.perf_counter() - t0)
    return members / statistics.median(walls), walls


def main() -> None:
    from travesia.ensemble.ensemble import run_ensemble
    from travesia.ensemble.runner import dask_client

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--big", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--days", type=int, default=None, help="default: the scenario's 60")
    args = ap.parse_args()

    res: dict = {"scenario": "caravan-2018", "scale": 1.0, "members": args.members, "cpu_count": os.cpu_count(),
                 "machine": platform.platform(), "load_average_at_start": os.getloadavg()}
    for w in (1, 2):
        with dask_client(workers=w) as c:
            r, walls = rate(c, args.members, args.repeats, args.days)
        res[f"members_per_second_{w}_workers"] = round(r, 3)
        res[f"walls_{w}_workers"] = [round(x, 2) for x in walls]
        print(f"{w} worker(s): {r:.2f} members/s ({args.members} members, wall {min(walls):.1f} s)", flush=True)
    eff = res["members_per_second_2_workers"] / (2 * res["members_per_second_1_workers"])
    res["scaling_efficiency_1_to_2"] = round(eff, 3)
    print(f"scaling efficiency 1 -> 2 workers: {100 * eff:.0f}%", flush=True)
    if args.big:
        with dask_client(workers=args.workers) as c:
            run_ensemble("caravan-2018", members=2 * args.workers, days=5, client=c, priors_file="caravan-2018")
            t0 = time.perf_counter()
            r = run_ensemble("caravan-2018", members=args.big, days=args.days, client=c, priors_file="caravan-2018")
            wall = time.perf_counter() - t0
        res[f"wall_s_{args.big}_members"] = round(wall, 1)
        res["big_workers"] = args.workers
        res["big_ensemble_rows"] = len(r["ensemble"])
        print(f"{args.big} members on {args.workers} worker(s): {wall:.0f} s ({args.big / wall:.2f} members/s)")
    res["load_average_at_end"] = os.getloadavg()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "ensemble_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out / 'ensemble_speed.json'}")


if __name__ == "__main__":
    main()
