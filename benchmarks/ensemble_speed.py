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
- the three (1 worker, 2 workers, 1 worker one by one) are timed in turn, repeat by repeat (each
  repeat starts a cluster of 1 worker, then one of 2, and warms each kind up on it first): these
  machines drift 10-15 % over minutes, and timing one kind after the other put that drift into
  the ratios (scaling measured at 75-96 % on one machine within an hour);
- **wall time of a ``--big``-member ensemble** (default 1,000) on ``--workers`` workers (default:
  the CPU count), from the first task submitted to ``ensemble.csv`` computed (percentiles
  included), cluster start-up excluded.

Run: ``.venv/bin/python benchmarks/ensemble_speed.py [--members 64] [--big 1000]``; prints a
table and writes ``benchmarks/results/ensemble_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from _results import write_results  # benchmarks/_results.py


def one_by_one(blob, specs, cfg):
    """A Dask task running its members one after the other, a Sim each (the engine before batching)."""
    from travesia.ensemble.runner import _unpickle, run_member

    base = _unpickle(blob)
    return [(s.member, run_member(base, s, cfg)) for s in specs]


class Timer:
    """One kind of ensemble (``batch_fn``: how a task runs its members): :meth:`time` runs the
    ``members``-member ensemble once on a cluster and keeps its wall time."""

    def __init__(self, base, priors, cfg, members: int, batch_fn=None):
        from travesia.ensemble.runner import run_batch

        self.base, self.priors, self.cfg, self.members, self.walls = base, priors, cfg, members, []
        self.fn = batch_fn or run_batch

    def warm(self, client) -> None:
        """A short ensemble first: the workers' imports and kernels loaded."""
        from travesia.ensemble.ensemble import member_plan, simulate_ensemble
        from travesia.ensemble.runner import RunConfig

        warm, wm = member_plan(2 * len(client.scheduler_info()["workers"]), 0, self.priors)
        simulate_ensemble(self.base, warm, wm, RunConfig(days=5), client=client, batch_fn=self.fn)

    def time(self, client) -> None:
        from travesia.ensemble.ensemble import member_plan, simulate_ensemble

        specs, mem = member_plan(self.members, 0, self.priors)
        t0 = time.perf_counter()
        run = simulate_ensemble(self.base, specs, mem, self.cfg, client=client, batch_fn=self.fn)
        run.quantiles()
        self.walls.append(time.perf_counter() - t0)
        run.close()

    def rate(self) -> float:
        return self.members / statistics.median(self.walls)


def main() -> None:
    from travesia.ensemble.ensemble import run_ensemble
    from travesia.ensemble.priors import scenario_priors
    from travesia.ensemble.runner import RunConfig, dask_client
    from travesia.scenario.load import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--big", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--days", type=int, default=None, help="default: the scenario's 60")
    args = ap.parse_args()

    res: dict = {"scenario": "caravan-2018", "scale": 1.0, "members": args.members, "cpu_count": os.cpu_count(),
                 "machine": platform.platform(), "load_average_at_start": os.getloadavg()}
    # the three kinds timed in turn, repeat by repeat (a cluster of 1 worker, then one of 2, started
    # afresh each repeat and warmed up): these machines drift 10-15 % over minutes, which timing one
    # kind after the other would put into their ratios. One cluster at a time: with two LocalClusters
    # alive in one process a gather once hung inside tornado (tests/test_ensemble.py)
    base = load_scenario("caravan-2018")
    priors = scenario_priors(base, "caravan-2018", need="ensemble")
    cfg = RunConfig(days=args.days or base.params.days)
    timers = {k: Timer(base, priors, cfg, args.members, fn) for k, fn in
              (("1 worker", None), ("2 workers", None), ("1 worker, one by one", one_by_one))}
    for _ in range(args.repeats):
        for w, names in ((1, ("1 worker", "1 worker, one by one")), (2, ("2 workers",))):
            with dask_client(workers=w) as c:
                for k in names:
                    timers[k].warm(c)
                    timers[k].time(c)
    for w in (1, 2):
        t = timers["1 worker" if w == 1 else "2 workers"]
        res[f"members_per_second_{w}_workers"] = round(t.rate(), 3)
        res[f"walls_{w}_workers"] = [round(x, 2) for x in t.walls]
        print(f"{w} worker(s): {t.rate():.2f} members/s ({args.members} members, median wall "
              f"{statistics.median(t.walls):.1f} s of {len(t.walls)})", flush=True)
    eff = res["members_per_second_2_workers"] / (2 * res["members_per_second_1_workers"])
    res["scaling_efficiency_1_to_2"] = round(eff, 3)
    print(f"scaling efficiency 1 -> 2 workers: {100 * eff:.0f}%", flush=True)
    t = timers["1 worker, one by one"]
    res["members_per_second_1_worker_one_by_one"] = round(t.rate(), 3)
    res["walls_1_worker_one_by_one"] = [round(x, 2) for x in t.walls]
    res["batched_over_one_by_one"] = round(res["members_per_second_1_workers"] / t.rate(), 2)
    print(f"1 worker, members one by one: {t.rate():.2f} members/s; batched is {res['batched_over_one_by_one']:.1f}x",
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
    write_results("ensemble_speed", res)


if __name__ == "__main__":
    main()
