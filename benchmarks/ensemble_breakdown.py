"""Where an ensemble's time goes: the command, its fork server and its workers, in wall and CPU time.

What it measures (declared before measuring):

- ``travesia ensemble caravan-2018 --members N --workers W --seed 3`` run as a user runs it (a
  new process, the command's start included), as ``../shared/checks/run ensemble-speed`` does,
  ``--repeats`` times; and, in the same run, one ``travesia run caravan-2018 --seed 3`` before
  each, whose ``summary.json`` ``wall_time_s`` is the yardstick (400 members one by one would
  take N times it);
- every process of the command's session, read from ``/proc`` every 50 ms (Linux only): when it
  appeared and the CPU seconds it used — the command (client and scheduler), the workers' fork
  server (imports and kernel warm-up), each worker (the members), the resource tracker;
- the wall time, the ratio N × yardstick / wall (the check's figure), the CPU per member of the
  workers, the time the workers appeared, and the load average before and after: on a machine
  shared with other jobs the wall time says how the cores were shared, the CPU times do not.

Run: ``.venv/bin/python benchmarks/ensemble_breakdown.py [--members 400] [--workers 2] [--repeats 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_results  # benchmarks/_results.py


def _session(cmd: list[str]) -> tuple[float, int, list[dict]]:
    """Run ``cmd`` in a new session; (wall seconds, return code, processes of the session)."""
    tick = os.sysconf("SC_CLK_TCK")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    procs: dict[int, dict] = {}
    while p.poll() is None:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) != p.pid:  # the session id
                continue
            pid = int(d)
            if pid not in procs:
                try:
                    what = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    what = "?"
                procs[pid] = {"pid": pid, "seen_s": round(time.perf_counter() - t0, 2), "cmd": what}
            procs[pid]["cpu_s"] = (int(fields[11]) + int(fields[12])) / tick
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if p.returncode:
        sys.stderr.write(p.stderr.read().decode(errors="replace")[-2000:])
    return wall, p.returncode, sorted(procs.values(), key=lambda r: (r["seen_s"], r["pid"]))


def _kind(row: dict, first_server: int | None) -> str:
    if "resource_tracker" in row["cmd"]:
        return "resource tracker"
    if "forkserver" in row["cmd"]:
        return "fork server" if row["pid"] == first_server else "worker"
    if "-c" in row["cmd"].split() and "spawn" in row["cmd"]:
        return "worker"
    return "command"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    exe = str(Path(sys.executable).with_name("travesia"))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.repeats):
            one = Path(tmp) / "one"
            shutil.rmtree(one, ignore_errors=True)
            subprocess.run([exe, "run", "caravan-2018", "--seed", "3", "--out", str(one)], check=True,
                           stdout=subprocess.DEVNULL)
            yard = json.loads((one / "summary.json").read_text())["wall_time_s"]
            out = Path(tmp) / "ens"
            shutil.rmtree(out, ignore_errors=True)
            load0 = os.getloadavg()[0]
            wall, rc, procs = _session([exe, "ensemble", "caravan-2018", "--members", str(a.members), "--workers",
                                        str(a.workers), "--seed", "3", "--out", str(out)])
            if rc:
                raise SystemExit(f"ensemble failed (exit {rc})")
            servers = [r["pid"] for r in procs if "forkserver" in r["cmd"]]
            by: dict[str, float] = {}
            for r in procs:
                r["kind"] = _kind(r, servers[0] if servers else None)
                by[r["kind"]] = by.get(r["kind"], 0.0) + r["cpu_s"]
            workers = [r for r in procs if r["kind"] == "worker"]
            runs.append({"wall_s": round(wall, 2), "one_run_s": yard, "ratio": round(a.members * yard / wall, 2),
                         "cpu_s": {k: round(v, 2) for k, v in by.items()},
                         "workers_ms_per_member": round(1000 * by.get("worker", 0.0) / a.members, 1),
                         "workers_seen_s": [r["seen_s"] for r in workers],
                         "load_average": [round(load0, 1), round(os.getloadavg()[0], 1)]})
            r = runs[-1]
            print(f"{a.members} members on {a.workers} workers: {r['wall_s']} s wall vs one run {yard} s: "
                  f"{r['ratio']}x the one-by-one rate (load {r['load_average'][0]} -> {r['load_average'][1]})")
            print(f"  CPU: {', '.join(f'{k} {v} s' for k, v in r['cpu_s'].items())}; workers "
                  f"{r['workers_ms_per_member']} ms per member, appeared at {r['workers_seen_s']} s")
    write_results("ensemble_breakdown", {"members": a.members, "workers": a.workers, "runs": runs})


if __name__ == "__main__":
    main()
