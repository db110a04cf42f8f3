"""The engine's cost per member when members are advanced together, in one process.

What it measures (declared before measuring):

- scenario ``caravan-2018`` at 1:1 scale, its full 60 days, members drawing their parameters from
  the shipped priors (as ``travesia ensemble --priors caravan-2018`` draws them);
- **CPU seconds per member of a batch**: ``--members`` members (default 50, the batch a 400-member
  ensemble on 2 workers gives each task) advanced together in one :class:`~travesia.engine.sim.Sim`,
  building it included (the people of every member), reducing the results excluded (that is the
  ensemble's); the best of ``--repeats`` runs, in CPU time of the process (on a shared machine
  the steadier figure);
- **CPU seconds of a member alone**: the first ``--alone`` of the same members, each in a Sim of
  its own, the best of the repeats, averaged over those members;
- where a batch's time goes: each process's CPU time per member (``Sim.timings``, measured here
  in CPU time) and the rest (building the Sim, the timeline's parameter changes, the day's close).

Kernels are compiled (and loaded from numba's cache) by a short warm-up run first.

Run: ``.venv/bin/python benchmarks/batch_speed.py [--members 50] [--alone 4] [--repeats 3]``; prints
a table and writes ``benchmarks/results/batch_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import time

from _results import write_results  # benchmarks/_results.py


def main() -> None:
    import travesia.engine.sim as sim_module
    from travesia.engine.sim import Sim
    from travesia.ensemble.ensemble import member_plan
    from travesia.ensemble.priors import scenario_priors
    from travesia.scenario.load import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--alone", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    class _CPUClock:  # the Sim times its processes with perf_counter: here, in CPU time
        perf_counter = staticmethod(time.process_time)

    sim_module.time = _CPUClock
    base = load_scenario("caravan-2018")
    priors = scenario_priors(base, "caravan-2018", need="ensemble")
    warm, _ = member_plan(2, 0, priors, first=10_000)
    Sim(base, members=[(s.seed, s.params) for s in warm], days=5).run()
    specs, _ = member_plan(args.members, 0, priors)
    members = [(s.seed, s.params) for s in specs]
    load0 = os.getloadavg()[0]

    def timed(ms: list) -> tuple[float, dict[str, float]]:
        t0 = time.process_time()
        sim = Sim(base, members=ms)
        sim.run()
        return time.process_time() - t0, dict(sim.timings)

    best, parts = float("inf"), {}
    for _ in range(args.repeats):
        cpu, timings = timed(members)
        if cpu < best:
            best, parts = cpu, timings
    alone = []
    for m in members[: args.alone]:
        alone.append(min(timed([m])[0] for _ in range(args.repeats)))
    n = args.members
    per = best / n
    one = sum(alone) / len(alone)
    rest = best - sum(parts.values())
    print(f"caravan-2018, 60 days, load average {load0:.1f} at the start")
    print(f"a member in a batch of {n}: {1000 * per:.1f} ms of CPU; alone: {1000 * one:.1f} ms "
          f"({one / per:.2f}x); {1 / per:.1f} members per CPU second")
    print("per member (ms of CPU): " + ", ".join(f"{k} {1000 * v / n:.1f}" for k, v in
                                                  sorted(parts.items(), key=lambda kv: -kv[1]) if v / n >= 5e-5)
          + f", the rest (building, timeline, day's close) {1000 * rest / n:.1f}")
    res = {"scenario": "caravan-2018", "members": n, "cpu_s_per_member_batched": round(per, 4),
           "cpu_s_per_member_alone": round(one, 4), "members_per_cpu_second": round(1 / per, 2),
           "process_cpu_ms_per_member": {k: round(1000 * v / n, 2) for k, v in parts.items()},
           "rest_cpu_ms_per_member": round(1000 * rest / n, 2),
           "load_average": [load0, os.getloadavg()[0]]}
    write_results("batch_speed", res)


if __name__ == "__main__":
    main()
