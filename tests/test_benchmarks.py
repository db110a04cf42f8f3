"""The benchmarks the README quotes still run, and count what they claim."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from travesia.engine.sim import Sim
from travesia.scenario.load import load_scenario

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name: str):
    """A benchmark script as a module, its folder on the path as when it runs (``_results``)."""
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_engine_speed_times_a_run_after_loading_the_kernels_and_counts_its_live_steps():
    bench = _module("engine_speed")
    r = bench.child(20_000, 12)
    # the timed run is the run a fresh Sim of that size makes: the warm-up run before it changed nothing
    s = load_scenario("caravan-2018")
    sim = Sim(s, days=12, scale=bench.scale_for(s, 20_000))
    res = sim.run()
    assert r["people"] == sim.n and r["live_steps"] == res.live_agent_steps > 0
    assert r["load_cpu_s"] >= 0.0
    # the processes' CPU and the day's close add up to the run's CPU
    assert abs(sum(r["cpu"].values()) - r["cpu_s"]) < 0.01 + 0.002 * len(r["cpu"])


def test_kernel_ab_times_captured_calls_and_tells_a_rewrite_that_changes_results(tmp_path):
    bench = _module("kernel_ab")
    import travesia.engine.kernels as kernels

    calls = bench.capture("apply_kernel", 20_000, [9, 10])
    assert len(calls) == 2  # one list a day (the people on the move)
    assert bench.walked(calls[0]) == calls[0][0].size > 0
    src = Path(kernels.__file__).read_text()
    rule = "return ch > 0 and uniform(key, li) < ch"  # kernels.applies, the rule apply_kernel calls
    assert rule in src
    (tmp_path / "same.py").write_text(src)
    (tmp_path / "changed.py").write_text(src.replace(rule, "return ch > 0 and uniform(key, li) < 2 * ch"))
    ks = {"engine": bench.plain(kernels.apply_kernel),
          "same": bench.plain(bench.load_candidate(tmp_path / "same.py", "apply_kernel")),
          "changed": bench.plain(bench.load_candidate(tmp_path / "changed.py", "apply_kernel"))}
    r = bench.compare(calls, ks, repeats=2)
    assert r["identical"] == {"engine": True, "same": True, "changed": False}
    assert all(len(v) == len(calls) and min(v) > 0 for v in r["best_s"].values())


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind (Debian package valgrind)")
def test_kernel_ab_counts_instructions_a_person_and_sees_a_kernel_that_does_its_work_twice(tmp_path):
    bench = _module("kernel_ab")
    import travesia.engine.kernels as kernels

    calls = bench.capture("apply_kernel", 20_000, [9, 10])
    src = Path(kernels.__file__).read_text()
    head = "def apply_kernel(idx, mem, offs, keys, place, intent, origin, motive, country, crec, applied, n_applied, moving, n_moving):\n"
    start = src.index(head)
    loop = src.index("    for t in numba.prange(C):\n", start)
    end = src.index("\n\n\n", loop)
    # the whole pass made twice over: the same bytes, twice the work
    body = "".join("    " + line if line.strip() else line for line in src[loop:end].splitlines(keepends=True))
    (tmp_path / "twice.py").write_text(src[:loop] + "    for _again in range(2):\n" + body + src[end:])
    twice = bench.plain(bench.load_candidate(tmp_path / "twice.py", "apply_kernel"))
    r = bench.compare(calls, {"engine": bench.plain(kernels.apply_kernel), "twice": twice}, repeats=1)  # compiles it
    assert r["identical"]["twice"]
    c = bench.count(calls, "apply_kernel", {"engine": "engine", "twice": str(tmp_path / "twice.py")})
    e, t = c["engine"], c["twice"]
    assert 10 < e["Ir"] < 1000 and 0 < e["Bcm"] <= e["Bc"] < e["Ir"]
    assert 1.9 < t["Ir"] / e["Ir"] < 2.1
