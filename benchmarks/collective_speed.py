"""What the collective caravan costs: the engine with and without the plan, offers and leaving.

What it measures (declared before measuring):

- the built-in scenario caravan-2018 scaled with ``--scale`` to N people (default 10^6), D days
  (default 60), each variant in a fresh subprocess, one core:
  - ``with``: every process, as built in (plans, transport offers, leaving);
  - ``without``: the same scenario with no plan stops, no offer sites and no leaving rates (the
    three processes return at once: the engine as it was before them);
- agent-steps per second = N × D / time of the daily loop (setup excluded), in CPU time of the
  process (steady on a shared machine) and in wall time;
- the yardstick, in the same session: the NumPy random walk of ``engine_speed.py`` on the same
  network, run just before and just after each variant; each variant's speed is also given as a
  ratio to it (CPU time), so that machine load cancels.
- the goal: ``with`` no more than 10 % slower than ``without`` (ratio of the yardstick ratios ≥ 0.9).

Usage: ``python benchmarks/collective_speed.py [--size 1e6] [--days 60] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

WITHOUT = {"plan.stops": [], "offers.sites": [], "leaving.hold_per_day": 0.0, "leaving.pressure_per_day": 0.0,
           "leaving.offer_pull_per_day": 0.0}


def child(n: int, days: int, variant: str) -> dict:
    from travesia.engine.sim import Sim
    from travesia.scenario.load import load_scenario

    s = load_scenario("caravan-2018", WITHOUT if variant == "without" else None)
    sim = Sim(s, days=days, scale=n / s.params.people)
    t1, c1 = time.perf_counter(), time.process_time()
    sim.run()
    dt, dc = time.perf_counter() - t1, time.process_time() - c1
    return {"people": sim.n, "run_s": dt, "cpu_s": dc, "agent_steps_per_s": sim.n * days / dt,
            "agent_steps_per_cpu_s": sim.n * days / dc, "timings": {k: round(v, 3) for k, v in sim.timings.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=float, default=1e6)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    n = int(a.size)
    if a.child is not None:
        print(json.dumps(child(n, a.days, a.child)))
        return
    here = Path(__file__).resolve().parent

    def sub(args: list[str]) -> dict:
        out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    best: dict[str, dict] = {}
    for _ in range(a.repeats):  # interleaved, best of the repeats
        for v in ("without", "with"):
            walk = [str(here / "engine_speed.py"), "--child", str(n), "--days", str(a.days), "--peer"]
            w0 = sub(walk)
            r = sub([__file__, "--child", v, "--size", str(n), "--days", str(a.days)])
            w1 = sub(walk)
            r["walk_cpu"] = 2 / (1 / w0["agent_steps_per_cpu_s"] + 1 / w1["agent_steps_per_cpu_s"])
            r["ratio"] = r["agent_steps_per_cpu_s"] / r["walk_cpu"]
            r["ratio_wall"] = r["agent_steps_per_s"] / (2 / (1 / w0["agent_steps_per_s"] + 1 / w1["agent_steps_per_s"]))
            if v not in best or r["ratio"] > best[v]["ratio"]:
                best[v] = r
    print(f"caravan-2018 at {best['with']['people']:,} people, {a.days} days, one core, best of {a.repeats}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'variant':>8} {'run s':>7} {'cpu s':>7} {'steps/cpu s':>12} {'÷ walk (cpu)':>13} {'÷ walk (wall)':>14}")
    for v in ("without", "with"):
        r = best[v]
        print(f"{v:>8} {r['run_s']:>7.2f} {r['cpu_s']:>7.2f} {r['agent_steps_per_cpu_s']:>12.3g} {r['ratio']:>13.3f} "
              f"{r['ratio_wall']:>14.3f}")
    rel = best["with"]["ratio"] / best["without"]["ratio"]
    print(f"with / without, each against its yardstick (CPU time): {rel:.3f} (goal >= 0.90); "
          f"plain CPU-time ratio: {best['without']['cpu_s'] / best['with']['cpu_s']:.3f}")
    own = sum(best["with"]["timings"].get(k, 0.0) for k in ("plan", "offers", "leaving"))
    print(f"plan + offers + leaving: {own:.2f} s of {best['with']['run_s']:.2f} s ({own / best['with']['run_s']:.1%})")
    for v in ("without", "with"):
        print(f"time per process, {v} (s): {best[v]['timings']}")


if __name__ == "__main__":
    main()
