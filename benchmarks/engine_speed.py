"""Engine speed and memory on the caravan rules.

What it measures (declared before measuring, as ABMFrameworksComparison does):

- the built-in scenario caravan-2018 with all its processes (recruitment, offers, plan, leaving,
  intentions, asylum, permits, borders, reroute, groups, movement, arrival), scaled with
  ``--scale`` to N people (10^5, 10^6, 10^7), run for D days (default 60); each size in a fresh
  subprocess, on one core (``--threads`` > 1: numba threads);
- live agent-steps per second = person-days of people who have set out (not ``waiting``) / time
  of the daily loop (setup excluded, reported apart), in wall time and in CPU time of the process:
  on a shared machine the CPU time is the steadier figure (other people's jobs take the core away
  in wall time, not in CPU time);
- bytes per person: the People arrays (fixed, by dtype) and the peak resident memory of the
  process above its baseline after imports, divided by N (includes the record, the temporaries
  of the daily step and the setup);
- a peer measured in the same session: a well-vectorised NumPy random walk on the same network
  (each walker moves to a random neighbour each day), the yardstick quoted for plain NumPy; it
  runs just before and just after each engine run (fresh subprocesses), and the ratio is taken to
  the mean of the two, in CPU time (and in wall time). With ``--repeats R`` the best of R.

Usage: ``python benchmarks/engine_speed.py [--sizes 1e5,1e6,1e7] [--days 60] [--repeats 1] [--threads 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def scale_for(s, n: float) -> float:
    """The ``--scale`` that gives scenario ``s`` about ``n`` people (its populations' sizes with their joiners)."""
    return n / s.params.people


def child(n: int, days: int, threads: int = 1) -> dict:
    import numpy as np  # noqa: F401

    from travesia.engine.core import set_threads
    from travesia.engine.sim import Sim
    from travesia.scenario.load import load_scenario

    set_threads(threads)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    s = load_scenario("caravan-2018")
    warm = []
    for _ in range(2):  # the first loads the kernels from numba's cache; the second costs what a loaded run does
        w = Sim(s, days=days, scale=scale_for(s, 1e4))
        c = time.process_time()
        w.run()
        warm.append(time.process_time() - c)
    t0 = time.perf_counter()
    sim = Sim(s, days=days, scale=scale_for(s, n))
    cpu = {p.name: 0.0 for p in sim.processes}
    for p in sim.processes:  # CPU time of each process's step (summary.json has their wall time)
        def timed(sim_, step=p.step, name=p.name):
            c = time.process_time()
            step(sim_)
            cpu[name] += time.process_time() - c
        p.step = timed
    t1, c1 = time.perf_counter(), time.process_time()
    res = sim.run()
    t2, c2 = time.perf_counter(), time.process_time()
    cpu["the day's close"] = (c2 - c1) - sum(cpu.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"people": sim.n, "days": days, "setup_s": t1 - t0, "run_s": t2 - t1, "cpu_s": c2 - c1,
            "live_steps": res.live_agent_steps, "agent_steps_per_s": res.live_agent_steps / (t2 - t1),
            "agent_steps_per_cpu_s": res.live_agent_steps / (c2 - c1),
            "load_cpu_s": max(warm[0] - warm[1], 0.0), "people_bytes": sim.people.bytes_per_person(),
            "peak_bytes_per_person": (peak - base_rss) / sim.n, "peak_rss_gb": peak / 2**30,
            "timings": {k: round(v, 3) for k, v in sim.timings.items()},
            "cpu": {k: round(v, 3) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])}}


def peer(n: int, days: int) -> dict:
    """NumPy random walk on the caravan network: each walker moves to a random neighbour daily."""
    import numpy as np

    from travesia.network import Network
    from travesia.scenario.load import load_scenario

    s = load_scenario("caravan-2018")
    net = Network.from_tables(s.places, s.legs)
    deg = np.diff(net.indptr)
    rng = np.random.default_rng(1)
    pos = rng.integers(0, net.n_places, n).astype(np.int32)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(days):
        k = (rng.random(n) * deg[pos]).astype(np.int32)
        pos = net.e_to[net.indptr[pos] + k]
        np.bincount(pos, minlength=net.n_places)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return {"people": n, "days": days, "run_s": dt, "cpu_s": dc, "agent_steps_per_s": n * days / dt,
            "agent_steps_per_cpu_s": n * days / dc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=1, help="best of R runs of each size")
    ap.add_argument("--threads", type=int, default=1, help="numba threads of the engine (the yardstick: one)")
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        print(json.dumps(peer(int(a.child), a.days) if a.peer else child(int(a.child), a.days, a.threads)))
        return

    def sub(size: int, peer_: bool) -> dict:
        args = [sys.executable, __file__, "--child", str(size), "--days", str(a.days), "--threads", str(a.threads)]
        return json.loads(subprocess.run(args + (["--peer"] if peer_ else []), capture_output=True, text=True,
                                         check=True).stdout)

    print(f"travesia engine benchmark: caravan-2018 rules, {a.days} days, {a.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} at the start\n")
    print(f"{'people':>12} {'setup s':>8} {'run s':>7} {'cpu s':>7} {'live steps/s':>13} {'per cpu s':>12} "
          f"{'walk/cpu s':>12} {'ratio cpu':>9} {'ratio wall':>10} {'B/person':>8} {'peak B/p':>8} {'peak GB':>7}")
    for size in [int(float(x)) for x in a.sizes.split(",")]:
        best = None
        for _ in range(a.repeats):
            p0 = sub(size, True)
            r = sub(size, False)
            p1 = sub(size, True)
            walk_cpu = 2 / (1 / p0["agent_steps_per_cpu_s"] + 1 / p1["agent_steps_per_cpu_s"])
            walk_wall = 2 / (1 / p0["agent_steps_per_s"] + 1 / p1["agent_steps_per_s"])
            r["walk_cpu"], r["walk_wall"] = walk_cpu, walk_wall
            r["ratio_cpu"] = r["agent_steps_per_cpu_s"] / walk_cpu
            r["ratio_wall"] = r["agent_steps_per_s"] / walk_wall
            r["ratio_cold"] = r["live_steps"] / (r["cpu_s"] + r["load_cpu_s"]) / walk_cpu
            if best is None or r["ratio_cpu"] > best["ratio_cpu"]:
                best = r
        r = best
        print(f"{r['people']:>12,} {r['setup_s']:>8.2f} {r['run_s']:>7.2f} {r['cpu_s']:>7.2f} "
              f"{r['agent_steps_per_s']:>13.3g} {r['agent_steps_per_cpu_s']:>12.3g} {r['walk_cpu']:>12.3g} "
              f"{r['ratio_cpu']:>9.2f} {r['ratio_wall']:>10.2f} {r['people_bytes']:>8} "
              f"{r['peak_bytes_per_person']:>8.0f} {r['peak_rss_gb']:>7.2f}")
        print(f"{'':>12} live agent-steps {r['live_steps']:,}; loading the kernels (before the run) "
              f"{r['load_cpu_s']:.2f} s of CPU: with it in the run's time, ratio {r['ratio_cold']:.3f} (CPU); "
              f"CPU time per process (s): {r['cpu']}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
