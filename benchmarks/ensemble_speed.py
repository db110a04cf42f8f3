"""Ensemble throughput on Dask: members per second, scaling from 1 to 2 workers, a 1,000-member wall time.

What it measures (declared before measuring):

- scenario ``caravan-2018`` at 1:1 scale (14,400 people), its full 60 days, members drawing their
  parameters from the shipped priors (``--priors caravan-2018``), members returning every
  quantity at every place (what ``travesia ensemble`` keeps);
- **members per second** on a LocalCluster of 1 worker and of 2 workers (one thread each), for
  ``--members`` members, after a warm-up ensemble so that worker start-up and imports are not
  counted; the median of ``--repeats`` timings;
- **scaling efficiency** = rate(2 workers) / (2 × rate(1 worker));
- **batched against one by one**: the same members on 1 worker, each Dask task running its
  members one after the other (a Sim each) instead of advanced together in one Sim; the ratio of
  the two rates, measured in the same run;
- **wall time of a ``--big``-member ensemble** (default 1,000) on ``--workers`` workers (default:
  the CPU count), from the first task submitted to ``ensemble.csv`` computed (percentiles
  included), cluster start-up excluded.

Run: ``.venv/bin/python benchmarks/ensemble_speed.py [--members 64] [--big 1000]``; prints a
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


def one_by_one(blob, specs, cfg):
    """A Dask task running its members one after the other, a Sim each (the engine before batching)."""
    from travesia.ensemble.runner import _unpickle, run_member

    base = _unpickle(blob)
    return [(s.member, run_member(base, s, cfg)) for s in specs]


def rate(client, members: int, repeats: int, days: int | None, batch_fn=None) -> tuple[float, list[float]]:
    from travesia.ensemble.ensemble import member_plan, simulate_ensemble
    from travesia.ensemble.priors import scenario_priors
    from travesia.ensemble.runner import RunConfig, run_batch
    from travesia.scenario.load import load_scenario

    base = load_scenario("caravan-2018")
    priors = scenario_priors(base, "caravan-2018", need="ensemble")
    cfg = RunConfig(days=days or base.params.days)
    fn = batch_fn or run_batch
    warm, wm = member_plan(2 * len(client.scheduler_info()["workers"]), 0, priors)
    simulate_ensemble(base, warm, wm, RunConfig(days=5), client=client, batch_fn=fn)  # imports, kernels loaded
    walls = []
    for _ in range(repeats):
        specs, mem = member_plan(members, 0, priors)
        t0 = time.perf_counter()
        run = simulate_ensemble(base, specs, mem, cfg, client=client, batch_fn=fn)
        run.quantiles()
        walls.append(time.perf_counter() - t0)
        run.close()
    return members / statistics.median(walls), walls


def main() -> None:
    from travesia.ensemble.ensemble import run_ensemble
    from travesia.ensemble.runner import dask_client

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=64)
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
    with dask_client(workers=1) as c:
        r, walls = rate(c, args.members, args.repeats, args.days, batch_fn=one_by_one)
    res["members_per_second_1_worker_one_by_one"] = round(r, 3)
    res["batched_over_one_by_one"] = round(res["members_per_second_1_workers"] / r, 2)
    print(f"1 worker, members one by one: {r:.2f} members/s; batched is {res['batched_over_one_by_one']:.1f}x",
          flush=True)
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
