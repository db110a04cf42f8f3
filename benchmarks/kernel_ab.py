"""One engine kernel, timed on captured days, against a candidate rewrite of it: an A/B for tuning.

Why: this project's machines drift by 10–15 % between whole runs minutes apart, which hides the
few per cent a change to one kernel makes. Timing the kernel alone, on the same inputs, the two
versions interleaved and the best of many calls kept, measures it to a few per cent.

What it measures (declared before measuring):

- scenario ``caravan-2018`` scaled to ``--people`` (default 10^6), run to the last of ``--days``
  (default 15, 25, 35, 45); every call of ``travesia.engine.kernels.<--kernel>`` (default
  ``move_kernel``) on those days is captured: a deep copy of its arguments as the process passed
  them;
- **ns per person**: the kernel's time on each captured call, the best of ``--repeats`` (default 9)
  calls on fresh copies of the arguments, summed over the calls, divided by the people it was
  given (its first one-dimensional integer array: the ids it walks); one thread (the plain
  compiled kernel, as inside a Dask worker);
- with ``--against FILE`` (a copy of ``src/travesia/engine/kernels.py`` with the kernel
  rewritten): the same for the candidate's kernel of that name, the two interleaved call by call,
  and whether the candidate leaves **the same bytes** in every array argument and returns the same
  as the engine's kernel on every captured call (a rewrite that changes results is a change of
  behaviour, to be announced);
- with ``--count`` (needs valgrind, Debian's ``valgrind`` package): **instructions, conditional
  branches and mispredicted branches a person** of each kernel, counted by valgrind's callgrind
  in a child process that calls the kernel on fresh copies of the captured calls ``--count-repeats``
  times (default 1), only inside numba's call of the compiled code (``--toggle-collect`` on its
  ``call_cfunc``: not the copies, not the imports). The child asks numba for this machine's
  processor (``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES``), so it runs the machine code the engine
  runs, loaded from numba's cache. Unlike times, these counts are the same on every run and on a
  busy machine: a rewrite that saves 3 % of the instructions shows as 3 %. The mispredictions
  are those of callgrind's simple simulated predictor, not of the processor: a guide to where
  branches on random draws go, not a figure of the machine. Counting is slow (valgrind runs the
  child 50–100 times slower: about a minute a kernel at 10^5 people).

Run: ``.venv/bin/python benchmarks/kernel_ab.py [--kernel move_kernel] [--people 1e6]
[--days 15,25,35,45] [--repeats 9] [--against candidate.py] [--count]``; prints a table and writes
``benchmarks/results/kernel_ab.json``.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from _results import write_results  # benchmarks/_results.py

import numpy as np


def capture(kernel: str, people: float, days: list[int]) -> list[tuple]:
    """Deep copies of the arguments of every call of ``kernels.<kernel>`` on ``days`` of the
    built-in scenario at about ``people`` people."""
    import travesia.engine.kernels as kernels
    from travesia.engine.sim import Sim
    from travesia.scenario.load import load_scenario

    s = load_scenario("caravan-2018")
    sim = Sim(s, days=max(days) + 1, scale=people / s.params.people)
    orig = getattr(kernels, kernel)
    calls: list[tuple] = []
    want = set(days)

    def spy(*args):
        if sim.day in want:
            calls.append(copy.deepcopy(args))
        return orig(*args)

    setattr(kernels, kernel, spy)
    try:
        sim.run()
    finally:
        setattr(kernels, kernel, orig)
    return calls


def plain(f):
    """The one-thread compiled kernel of a ``core.threaded`` kernel, else the kernel itself."""
    return getattr(f, "plain", f)


def walked(args: tuple) -> int:
    """How many people a call walks: the size of its first one-dimensional integer array."""
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iu":
            return int(a.size)
    return 0


def call(f, args: tuple) -> tuple[float, tuple, object]:
    """Time ``f`` on a fresh copy of ``args``: (seconds, the arguments after, what it returned)."""
    a = copy.deepcopy(args)
    t0 = time.perf_counter()
    r = f(*a)
    return time.perf_counter() - t0, a, r


def same(x, y) -> bool:
    """The same bytes: every array argument (and the returned value) equal, NaNs included."""
    if isinstance(x, tuple):
        return isinstance(y, tuple) and len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    if isinstance(x, np.ndarray):
        return isinstance(y, np.ndarray) and x.dtype == y.dtype and x.shape == y.shape and \
            x.tobytes() == y.tobytes()
    return x == y or (x != x and y != y)


def load_candidate(path: Path, kernel: str):
    """The kernel named ``kernel`` of the candidate file ``path`` (None when it defines none)."""
    name = f"kernel_candidate_{zlib.crc32(str(path.resolve()).encode()):08x}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    # registered under its name: numba's cache, loading the kernel compiled by an earlier process,
    # finds its module by that name (else it fails on a module named '<dynamic>')
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return getattr(mod, kernel, None)


def compare(calls: list[tuple], kernels: dict, repeats: int) -> dict:
    """Best time of each kernel on each call (interleaved), and whether each leaves the bytes of the first."""
    names = list(kernels)
    ref = kernels[names[0]]
    identical = {n: True for n in names}
    for args in calls:  # also compiles each kernel (or loads it from the cache) before timing
        _, a0, r0 = call(ref, args)
        for n in names[1:]:
            _, a1, r1 = call(kernels[n], args)
            identical[n] &= same(a0, a1) and same(r0, r1)
    best = {n: [float("inf")] * len(calls) for n in names}
    for _ in range(repeats):
        for j, args in enumerate(calls):
            for n in names:
                best[n][j] = min(best[n][j], call(kernels[n], args)[0])
    return {"best_s": best, "identical": identical}


COUNTED = {"Ir": "instructions", "Bc": "conditional branches", "Bcm": "mispredicted (simulated)"}


def host_cpu() -> dict[str, str]:
    """numba's name and features of this machine's processor, as environment variables: a child
    run under valgrind (which reports fewer features) then loads the same compiled code."""
    import llvmlite.binding as ll
    from numba.core.codegen import get_host_cpu_features

    return {"NUMBA_CPU_NAME": ll.get_host_cpu_name(), "NUMBA_CPU_FEATURES": get_host_cpu_features()}


def count(calls: list[tuple], kernel: str, sources: dict[str, str], repeats: int = 1) -> dict:
    """Instructions, conditional branches and mispredicted branches a person walked, per source
    (``"engine"`` or the path of a candidate file), counted by callgrind in a child process that
    calls ``kernel`` of that source ``repeats`` times on fresh copies of each of ``calls``."""
    vg = shutil.which("valgrind")
    if vg is None:
        raise RuntimeError("--count needs valgrind (Debian package valgrind); it is not on PATH")
    walked_all = repeats * sum(walked(c) for c in calls)
    env = {**os.environ, **host_cpu(), "PYTHONHASHSEED": "0"}
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="kernel_ab_") as tmp:
        pick = Path(tmp) / "calls.pkl"
        with open(pick, "wb") as f:
            pickle.dump(calls, f, protocol=pickle.HIGHEST_PROTOCOL)
        runs = {}
        for name, src in sources.items():  # side by side: one child per source, each on a core
            cg = Path(tmp) / f"callgrind.{len(runs)}"
            cmd = [vg, "--tool=callgrind", "--branch-sim=yes", "--collect-atstart=no",
                   "--toggle-collect=*call_cfunc*", f"--callgrind-out-file={cg}", sys.executable,
                   str(Path(__file__).resolve()), "--count-child", str(pick), str(src), kernel, str(repeats)]
            runs[name] = (cg, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True))
        try:
            for name, (cg, proc) in runs.items():
                stdout, stderr = proc.communicate()
                if proc.returncode != 0 or not cg.is_file():
                    tail = [x for x in (stderr + stdout).strip().splitlines() if not x.startswith("==")][-3:]
                    raise RuntimeError(f"counting {name} under valgrind failed (exit {proc.returncode}): "
                                       f"{' | '.join(tail)}")
                events = summary = None
                for line in cg.read_text().splitlines():
                    if line.startswith("events:"):
                        events = line.split()[1:]
                    elif line.startswith("summary:") or line.startswith("totals:"):
                        summary = [int(x) for x in line.split()[1:]]
                if events is None or summary is None:
                    raise RuntimeError(f"counting {name}: callgrind wrote no summary in {cg}")
                tot = dict(zip(events, summary))
                out[name] = {k: tot.get(k, 0) / max(walked_all, 1) for k in COUNTED}
        finally:  # a child left running when another failed
            for _, proc in runs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return out


def count_child(pick: str, src: str, kernel: str, repeats: int) -> None:
    """The child of :func:`count` (run under valgrind): the kernel on fresh copies of the calls."""
    import travesia.engine.kernels as engine_kernels

    with open(pick, "rb") as f:
        calls = pickle.load(f)
    k = plain(getattr(engine_kernels, kernel) if src == "engine" else load_candidate(Path(src), kernel))
    for _ in range(repeats):
        for args in calls:
            k(*copy.deepcopy(args))


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--count-child":
        count_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    import travesia.engine.kernels as engine_kernels

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", default="move_kernel")
    ap.add_argument("--people", type=float, default=1e6)
    ap.add_argument("--days", default="15,25,35,45")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--against", type=Path, default=None, help="a copy of kernels.py with the kernel rewritten")
    ap.add_argument("--count", action="store_true",
                    help="also count instructions and branches a person under valgrind (slow)")
    ap.add_argument("--count-repeats", type=int, default=1)
    a = ap.parse_args()
    try:
        days = sorted({int(d) for d in a.days.split(",")})
    except ValueError:
        ap.error(f"--days: expected day numbers (0 or more) separated by commas, got {a.days!r}")
    if days[0] < 0:
        ap.error(f"--days: expected day numbers 0 or more, got {a.days!r}")
    if not a.people >= 1 or a.repeats < 1 or a.count_repeats < 1:
        ap.error("--people, --repeats and --count-repeats: expected 1 or more")
    if a.count and shutil.which("valgrind") is None:
        ap.error("--count: needs valgrind (Debian package valgrind), which is not on PATH")
    if not hasattr(engine_kernels, a.kernel):
        ap.error(f"--kernel: travesia.engine.kernels has no {a.kernel}")
    if a.against is not None and (not a.against.is_file() or a.against.suffix != ".py"):
        ap.error(f"--against: expected a Python file (a copy of kernels.py), got {a.against}")
    kernels = {"engine": plain(getattr(engine_kernels, a.kernel))}
    if a.against is not None:
        try:
            candidate = load_candidate(a.against, a.kernel)
        except Exception as e:  # the candidate's own error (syntax, import), told in one line
            ap.error(f"--against: {a.against} could not be loaded: {type(e).__name__}: {e}")
        if candidate is None:
            ap.error(f"--against: {a.against} defines no {a.kernel}")
        kernels["candidate"] = plain(candidate)
    load0 = os.getloadavg()[0]
    calls = capture(a.kernel, a.people, days)
    if not calls:
        ap.error(f"--days: {a.kernel} was not called on days {days}")
    r = compare(calls, kernels, a.repeats)
    n = sum(walked(c) for c in calls)
    ns = {k: 1e9 * sum(v) / max(n, 1) for k, v in r["best_s"].items()}
    print(f"{a.kernel}: caravan-2018 at {a.people:,.0f} people, days {days}, {len(calls)} calls walking "
          f"{n:,} people, best of {a.repeats}, one thread, load average {load0:.1f} at the start")
    for k, v in ns.items():
        rel = "" if k == "engine" else (f"  {v / ns['engine']:.3f} of the engine's time, "
                                        f"{'the same bytes' if r['identical'][k] else 'DIFFERENT results'}")
        per_call = ", ".join(f"{1000 * t:.1f}" for t in r["best_s"][k])
        print(f"  {k:10s} {v:6.1f} ns a person (ms per call: {per_call}){rel}")
    counted = None
    if a.count:
        sources = {"engine": "engine", **({"candidate": str(a.against)} if a.against is not None else {})}
        try:
            counted = count(calls, a.kernel, sources, a.count_repeats)
        except RuntimeError as e:
            print(f"kernel_ab.py: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        print(f"counted under valgrind (callgrind; {a.count_repeats} call(s) of each captured call), a person:")
        for k, c in counted.items():
            rel = "" if k == "engine" else f"  instructions {c['Ir'] / counted['engine']['Ir']:.3f} of the engine's"
            print(f"  {k:10s} {c['Ir']:7.1f} instructions, {c['Bc']:5.1f} conditional branches, "
                  f"{c['Bcm']:4.2f} mispredicted (simulated){rel}")
    res = {"kernel": a.kernel, "people": a.people, "days": days, "calls": len(calls), "walked": n,
           "repeats": a.repeats, "ns_per_person": {k: round(v, 2) for k, v in ns.items()},
           "identical": r["identical"], "load_average": [load0, os.getloadavg()[0]],
           "counted_per_person": None if counted is None else
           {k: {COUNTED[e]: round(v, 2) for e, v in c.items()} for k, c in counted.items()}}
    write_results("kernel_ab", res)


if __name__ == "__main__":
    main()
