"""Engine speed and memory on the caravan rules.

What it measures (declared before measuring, as ABMFrameworksComparison does):

- the built-in scenario caravan-2018 with all its processes (recruitment, intentions, asylum,
  borders, groups, movement, arrival), scaled with ``--scale`` to N people (10^5, 10^6, 10^7),
  run for D days (default 60); each size in a fresh subprocess;
- live agent-steps per second = person-days of people who have set out (not ``waiting``) / wall
  time of the daily loop (setup excluded, reported apart);
- bytes per person: the People arrays (fixed, by dtype) and the peak resident memory of the
  process above its baseline after imports, divided by N (includes the record, the temporaries
  of the daily step and the setup);
- a peer measured in the same session: a well-vectorised NumPy random walk on the same network
  (each walker moves to a random neighbour each day), the yardstick quoted for plain NumPy.

Usage: ``python benchmarks/engine_speed.py [--sizes 1e5,1e6,1e7] [--days 60] [--repeats 1]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def child(n: int, days: int) -> dict:
    import numpy as np  # noqa: F401

    from travesia.engine.sim import Sim
    from travesia.scenario.load import load_scenario

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    s = load_scenario("caravan-2018")
    people0 = sum(p.size + sum(j.size for j in p.joiners) for p in s.params.populations)
    t0 = time.perf_counter()
    sim = Sim(s, days=days, scale=n / people0)
    t1 = time.perf_counter()
    res = sim.run()
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"people": sim.n, "days": days, "setup_s": t1 - t0, "run_s": t2 - t1,
            "agent_steps_per_s": res.live_agent_steps / (t2 - t1), "people_bytes": sim.people.bytes_per_person(),
            "peak_bytes_per_person": (peak - base_rss) / sim.n, "peak_rss_gb": peak / 2**30,
            "timings": {k: round(v, 3) for k, v in sim.timings.items()}}


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
    t0 = time.perf_counter()
    for _ in range(days):
        k = (rng.random(n) * deg[pos]).astype(np.int32)
        pos = net.e_to[net.indptr[pos] + k]
        np.bincount(pos, minlength=net.n_places)
    dt = time.perf_counter() - t0
    return {"people": n, "days": days, "run_s": dt, "agent_steps_per_s": n * days / dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        print(json.dumps(peer(int(a.child), a.days) if a.peer else child(int(a.child), a.days)))
        return
    print(f"travesia engine benchmark: caravan-2018 rules, {a.days} days, one core\n")
    print(f"{'people':>12} {'setup s':>8} {'run s':>8} {'agent-steps/s':>14} {'peer NumPy walk/s':>18} "
          f"{'ratio':>6} {'B/person (arrays)':>18} {'B/person (peak)':>16} {'peak GB':>8}")
    for size in [int(float(x)) for x in a.sizes.split(",")]:
        r = json.loads(subprocess.run([sys.executable, __file__, "--child", str(size), "--days", str(a.days)],
                                      capture_output=True, text=True, check=True).stdout)
        p = json.loads(subprocess.run([sys.executable, __file__, "--child", str(size), "--days", str(a.days),
                                       "--peer"], capture_output=True, text=True, check=True).stdout)
        print(f"{r['people']:>12,} {r['setup_s']:>8.2f} {r['run_s']:>8.2f} {r['agent_steps_per_s']:>14,.0f} "
              f"{p['agent_steps_per_s']:>18,.0f} {r['agent_steps_per_s'] / p['agent_steps_per_s']:>6.2f} "
              f"{r['people_bytes']:>18} {r['peak_bytes_per_person']:>16.0f} {r['peak_rss_gb']:>8.2f}")
        print(f"{'':>12} time per process (s): {r['timings']}")


if __name__ == "__main__":
    main()
