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
  behaviour, to be announced).

Run: ``.venv/bin/python benchmarks/kernel_ab.py [--kernel move_kernel] [--people 1e6]
[--days 15,25,35,45] [--repeats 9] [--against candidate.py]``; prints a table and writes
``benchmarks/results/kernel_ab.json``.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import time
from pathlib import Path

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
    spec = importlib.util.spec_from_file_location("kernel_candidate", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
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


def main() -> None:
    import travesia.engine.kernels as engine_kernels

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", default="move_kernel")
    ap.add_argument("--people", type=float, default=1e6)
    ap.add_argument("--days", default="15,25,35,45")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--against", type=Path, default=None, help="a copy of kernels.py with the kernel rewritten")
    a = ap.parse_args()
    try:
        days = sorted({int(d) for d in a.days.split(",")})
    except ValueError:
        ap.error(f"--days: expected day numbers (0 or more) separated by commas, got {a.days!r}")
    if days[0] < 0:
        ap.error(f"--days: expected day numbers 0 or more, got {a.days!r}")
    if not a.people >= 1 or a.repeats < 1:
        ap.error("--people and --repeats: expected 1 or more")
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
    res = {"kernel": a.kernel, "people": a.people, "days": days, "calls": len(calls), "walked": n,
           "repeats": a.repeats, "ns_per_person": {k: round(v, 2) for k, v in ns.items()},
           "identical": r["identical"], "load_average": [load0, os.getloadavg()[0]]}
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "kernel_ab.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out / 'kernel_ab.json'}")


if __name__ == "__main__":
    main()
