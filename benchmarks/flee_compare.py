"""FLEE 3.1 and travesia's ``flee`` rules, side by side, on the same scenario and agents.

What it measures (declared before measuring):

- **Workload.** A FLEE input folder (default mali2012) scaled so that the run creates N agents
  in all (N = 1e4, 1e5, 1e6): every count in source_data and every camp capacity is multiplied
  by the same factor and rounded, everything else is kept. Both simulators read that same
  scaled folder (travesia through ``import-flee``), so they inject the same agents on the same
  days over the same days.
- **Time.** The wall time of the daily loop only (FLEE: conflicts, spawning, closures, evolve;
  travesia: ``Sim.run``), not reading inputs or creating people, in one process per run, one
  core each (FLEE is sequential; travesia's kernel is sequential too). numba is compiled before
  timing (a warm-up run).
- **Agent-steps.** Σ over days of the agents that exist that day (FLEE: ``len(e.agents)``
  after the day; travesia: the people no longer waiting), the same number for both; agent-steps
  per second = that / time. The ratio is FLEE's time / travesia's time.
- **Results.** FLEE's validation score, the averaged relative difference of camp populations
  against the (interpolated) counts, for each seed of each simulator. With ``--all``, also the
  score that the flee-wild check's own scorer (``../shared/checks/flee_ard.py``) gives each run:
  travesia's daily.csv as ``travesia run`` writes it, and FLEE's camp populations written as one.

FLEE comes from PyPI into its own virtual environment (``benchmarks/_peer/``, git-ignored):
``flee==3.1`` without its MPI/MUSCLE3 dependencies (used only by its parallel and coupled
versions) plus numpy, pandas, pyyaml and beartype, which its sequential code imports. FLEE runs
at up to 1e5 agents, and above only if the previous size suggests it finishes within
``--flee-budget`` seconds.

    python benchmarks/flee_compare.py                    # 1e4, 1e5, 1e6 agents
    python benchmarks/flee_compare.py --sizes 1e4 --seeds 2
    python benchmarks/flee_compare.py --all --sizes 1e4 --seeds 3   # every folder, one table

With ``--all``, times are CPU seconds (``time.process_time``) of each simulator's daily loop, so
that other work on the machine counts less; FLEE's runs are kept in ``benchmarks/out/flee_runs/``
(they depend only on FLEE and the folder) and reused unless ``--fresh``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / "benchmarks" / "_peer"
OUT = ROOT / "benchmarks" / "out"

DRIVER = r'''
import json, os, random, sys, time
import numpy as np
from flee import flee, spawning, InputGeography
from flee.datamanager import handle_refugee_data, read_period
from flee.SimulationSettings import SimulationSettings

folder, seed, sum_from_camps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
random.seed(seed); np.random.seed(seed)
inp, src = os.path.join(folder, "input_csv"), os.path.join(folder, "source_data")
SimulationSettings.ReadFromYML(os.path.join(folder, "simsetting.yml"))
if os.path.exists(os.path.join(inp, "conflicts.csv")):  # as FLEE's run.py does
    SimulationSettings.ConflictInputFile = os.path.join(inp, "conflicts.csv")
start_date, end_time = read_period.read_conflict_period(os.path.join(inp, "sim_period.csv"))
e = flee.Ecosystem()
e.print_location_output = False
ig = InputGeography.InputGeography()
if SimulationSettings.ConflictInputFile:
    ig.ReadConflictInputCSV(SimulationSettings.ConflictInputFile)
ig.ReadLocationsFromCSV(os.path.join(inp, "locations.csv"))
ig.ReadLinksFromCSV(os.path.join(inp, "routes.csv"))
if os.path.exists(os.path.join(inp, "closures.csv")):
    ig.ReadClosuresFromCSV(os.path.join(inp, "closures.csv"))
e, lm = ig.StoreInputGeographyInEcosystem(e)
d = handle_refugee_data.RefugeeTable(csvformat="generic", data_directory=src, start_date=start_date,
    data_layout="data_layout.csv",
    population_scaledown_factor=SimulationSettings.optimisations["PopulationScaleDownFactor"])
d.ReadL1Corrections(os.path.join(inp, "registration_corrections.csv"))
camps = e.get_camp_names()
for c in camps:
    spawning.add_initial_refugees(e, d, lm[c])
sim = {c: [] for c in camps}
obs = {c: [] for c in camps}
steps = 0
t0 = time.perf_counter()
c0 = time.process_time()
for t in range(end_time):
    ig.AddNewConflictZones(e, t)
    spawning.spawn_daily_displaced(e, t, d, SumFromCamps=sum_from_camps)
    e.enact_border_closures(t)
    e.evolve()
    steps += len(e.agents)
    for c in camps:
        sim[c].append(lm[c].numAgents)
        obs[c].append(d.get_field(c, t, FullInterpolation=True))
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
json.dump({"camps": camps, "sim": sim, "obs": obs, "wall_s": wall, "cpu_s": cpu, "agent_steps": steps,
           "agents": len(e.agents), "days": end_time}, open(out, "w"))
'''


DATA_DRIVER = r'''
import json, os, sys
from flee.datamanager import handle_refugee_data, read_period
from flee import InputGeography, flee
from flee.SimulationSettings import SimulationSettings
folder, out = sys.argv[1], sys.argv[2]
inp, src = os.path.join(folder, "input_csv"), os.path.join(folder, "source_data")
SimulationSettings.ReadFromYML(os.path.join(folder, "simsetting.yml"))
start_date, end_time = read_period.read_conflict_period(os.path.join(inp, "sim_period.csv"))
ig = InputGeography.InputGeography()
ig.ReadLocationsFromCSV(os.path.join(inp, "locations.csv"))
ig.ReadLinksFromCSV(os.path.join(inp, "routes.csv"))
ig.ReadClosuresFromCSV(os.path.join(inp, "closures.csv"))
e, lm = ig.StoreInputGeographyInEcosystem(flee.Ecosystem())
res = {"start": start_date}
for corrected in (0, 1):
    d = handle_refugee_data.RefugeeTable(csvformat="generic", data_directory=src, start_date=start_date,
                                         data_layout="data_layout.csv")
    if corrected:
        d.ReadL1Corrections(os.path.join(inp, "registration_corrections.csv"))
    res["corrected" if corrected else "raw"] = {c: [d.get_field(c, t, FullInterpolation=True) for t in range(end_time)]
                                                for c in e.get_camp_names()}
json.dump(res, open(out, "w"))
'''


def data_gap(folders: list[Path]) -> None:
    """What the flee-wild check's scorer gives FLEE's own validation data, taken as if it were a
    simulation: with FLEE's registration corrections (what FLEE validates against, so a run that
    matched FLEE's target exactly) and without them (FLEE's interpolation of the raw counts). No
    simulation runs; it measures how far apart the two yardsticks are, folder by folder."""
    py = ensure_peer()
    print("| scenario | check's scorer on FLEE's validation data (registration corrections applied) |"
          " the same, without the corrections |")
    print("|---|---:|---:|")
    for folder in folders:
        with tempfile.TemporaryDirectory() as tmp:
            drv, out = Path(tmp) / "data.py", Path(tmp) / "data.json"
            drv.write_text(DATA_DRIVER)
            subprocess.run([str(py), str(drv), str(folder), str(out)], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r = json.loads(out.read_text())
        a = [check_ard(folder, {"start": r["start"], "sim": r[k]}) for k in ("corrected", "raw")]
        print(f"| {folder.name} | {a[0]:.3f} | {a[1]:.3f} |")


def ensure_peer() -> Path:
    """Create benchmarks/_peer with flee==3.1 (once); return its python."""
    py = PEER / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import flee.flee"], capture_output=True).returncode == 0:
        return py
    shutil.rmtree(PEER, ignore_errors=True)
    base = shutil.which("python3.11") or sys.executable
    uv = subprocess.run([base, "-m", "uv", "--version"], capture_output=True).returncode == 0
    if uv:
        subprocess.run([base, "-m", "uv", "venv", "-q", "-p", base, str(PEER)], check=True)
        inst = [base, "-m", "uv", "pip", "install", "-q", "-p", str(py)]
    else:
        subprocess.run([base, "-m", "venv", str(PEER)], check=True)
        inst = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run(inst + ["--no-deps", "flee==3.1"], check=True)
    subprocess.run(inst + ["numpy", "pandas", "pyyaml", "beartype"], check=True)
    return py


def scaled_folder(src: Path, factor: float, dest: Path) -> Path:
    """A copy of a FLEE folder with every count and camp capacity multiplied by ``factor``."""
    import csv

    shutil.copytree(src, dest)
    sd = dest / "source_data"
    layout = [r for r in csv.reader(open(sd / "data_layout.csv")) if len(r) > 1 and not r[0].startswith("#")]
    for f in {c for r in layout for c in r[1:] if c}:
        rows = []
        for r in csv.reader(open(sd / f)):
            if len(r) >= 2 and r[0] and not r[0].startswith("#") and r[1].strip():
                try:
                    r[1] = str(int(round(float(r[1]) * factor)))
                except ValueError:
                    pass
            rows.append(r)
        with open(sd / f, "w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    loc = dest / "input_csv" / "locations.csv"
    rows = list(csv.reader(open(loc)))
    for r in rows:
        if len(r) >= 8 and not r[0].startswith("#") and "camp" in r[5].lower() and r[7].strip():
            r[7] = str(max(1, int(round(float(r[7]) * factor))))
    with open(loc, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return dest


def run_flee(py: Path, folder: Path, seed: int, sum_from_camps: bool, timeout: float) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        drv = Path(tmp) / "driver.py"
        drv.write_text(DRIVER)
        out = Path(tmp) / "out.json"
        try:
            subprocess.run([str(py), str(drv), str(folder), str(seed), "1" if sum_from_camps else "0", str(out)],
                           cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout,
                           check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        except subprocess.TimeoutExpired:
            return None
        r = json.loads(out.read_text())
    from travesia.analysis.ard import averaged_relative_difference

    s = np.array([r["sim"][c] for c in r["camps"]], dtype=float).T
    o = np.array([r["obs"][c] for c in r["camps"]], dtype=float).T
    r["ard"] = averaged_relative_difference(s, o, o.sum(axis=1))
    return r


def run_travesia(scenario: Path, seed: int) -> dict:
    from travesia.engine.people import State
    from travesia.engine.sim import Sim
    from travesia.flee.validation import flee_ard
    from travesia.scenario.load import load_scenario

    from travesia.flee.validation import camp_table

    sim = Sim(load_scenario(scenario), seed=seed)
    c0 = time.process_time()
    res = sim.run()
    cpu = time.process_time() - c0
    c = res.record.counts
    steps = int(c.sum() - c[:, :, State.WAITING].sum())
    names, simv, obs = camp_table(res)
    from travesia.output import daily_frame

    return {"wall_s": res.wall_s, "cpu_s": cpu, "agent_steps": steps, "agents": sim.n, "ard": flee_ard(res),
            "days": sim.days,
            "timings": {k: round(v, 3) for k, v in sim.timings.items()},
            "sim": {n: simv[:, j].tolist() for j, n in enumerate(names)},
            "daily": daily_frame(res)}


def plot_camps(flee: dict, trav: dict, title: str, path: Path) -> None:
    """Each camp's population over time: counts, FLEE 3.1 and travesia (first seed of each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    camps = flee["camps"]
    cols = 4
    rows_ = (len(camps) + cols - 1) // cols
    fig, axes = plt.subplots(rows_, cols, figsize=(4 * cols, 3 * rows_), squeeze=False)
    for ax, c in zip(axes.flat, camps):
        ax.plot(flee["obs"][c], color="black", lw=1, label="UNHCR counts")
        ax.plot(flee["sim"][c], color="tab:orange", lw=1.2, label="FLEE 3.1")
        ax.plot(trav["sim"].get(c, []), color="tab:blue", lw=1.2, ls="--", label="travesia (flee rules)")
        ax.set_title(c, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(camps):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("day", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


CHECK_SCORER = ROOT.parent / "shared" / "checks" / "flee_ard.py"


def check_ard(flee_dir: Path, daily) -> float | None:
    """The ARD that ``../shared/checks/flee_ard.py`` (the flee-wild check's own scorer, written
    independently of travesia) gives a run: ``daily`` is a travesia daily.csv frame, or FLEE's
    camp populations ``{"start": date, "sim": {camp: [people per day]}}`` written as one. None
    where the scorer is not there."""
    import datetime as dt

    import pandas as pd

    if not CHECK_SCORER.exists():
        return None
    if isinstance(daily, dict):
        start = dt.date.fromisoformat(str(daily["start"]))
        rows = [(start + dt.timedelta(days=t), c, "resting", v) for c, vs in daily["sim"].items() for t, v in enumerate(vs)]
        daily = pd.DataFrame(rows, columns=["date", "place", "state", "people"])
    with tempfile.TemporaryDirectory() as tmp:
        daily.to_csv(Path(tmp) / "daily.csv", index=False, lineterminator="\n")
        out = subprocess.run([sys.executable, str(CHECK_SCORER), str(flee_dir), tmp], capture_output=True, text=True,
                             check=True).stdout
    return float(out.split()[1])


def _start(flee_dir: Path) -> str:
    from travesia.flee.reader import read_period

    inp = flee_dir / "input_csv"
    return str(read_period(inp / "sim_period.csv" if (inp / "sim_period.csv").exists() else inp / "conflict_period.csv")[0])


def compare_all(folders: list[Path], agents: int, seeds: int, fresh: bool, out: Path,
                flee_seeds: int | None = None, cached_only: bool = False) -> list[dict]:
    """Every folder at the same number of agents (or at full scale when smaller), ``seeds`` seeds of
    each simulator. FLEE's runs are kept in ``benchmarks/out/flee_runs/`` (they depend on FLEE and
    the folder only) and reused unless ``fresh``."""
    from travesia.engine.processes.flee_rules.params import flee_params
    from travesia.flee.convert import import_flee
    from travesia.scenario.load import load_scenario

    py = ensure_peer()
    cache = OUT / "flee_runs"
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="flee_compare-"))
    rows = []
    warm = False
    flee_seeds = seeds if flee_seeds is None else flee_seeds
    for src in folders:
        full = import_flee(src, tmp / f"{src.name}-full")["people"]
        n = min(agents, full)
        folder = scaled_folder(src, n / full, tmp / f"{src.name}-{n}") if n < full else src
        scen = tmp / f"{src.name}-scen"
        people = import_flee(folder, scen)["people"]
        sfc = flee_params(load_scenario(scen).params.flee).sum_from_camps
        if not warm:
            run_travesia(scen, 0)  # compile numba before any timing
            warm = True
        tv = [run_travesia(scen, s) for s in range(seeds)]
        fl = []
        for s in range(seeds if flee_seeds is None else flee_seeds):
            key = cache / f"{src.name}-{n}-s{s}.json"
            if key.exists() and not fresh:
                r = json.loads(key.read_text())
            elif cached_only:
                continue
            else:
                r = run_flee(py, folder, s, sfc, timeout=7200)
                if r is None:
                    break
                key.write_text(json.dumps(r))
            fl.append(r)
        start = _start(folder)
        row = {"scenario": src.name, "agents": people, "days": tv[0]["days"], "seeds": seeds, "flee_seeds": len(fl),
               "agent_steps": tv[0]["agent_steps"],
               "travesia": {"ard": [t["ard"] for t in tv], "ard_check": [check_ard(folder, t.pop("daily")) for t in tv],
                            "wall_s": float(np.median([t["wall_s"] for t in tv])),
                            "cpu_s": float(np.median([t["cpu_s"] for t in tv]))},
               "flee": None}
        if fl:
            row["flee"] = {"ard": [f["ard"] for f in fl],
                           "ard_check": [check_ard(folder, {"start": start, "sim": f["sim"]}) for f in fl],
                           "wall_s": float(np.median([f["wall_s"] for f in fl])),
                           "cpu_s": float(np.median([f.get("cpu_s", f["wall_s"]) for f in fl])),
                           "agent_steps": fl[0]["agent_steps"]}
            # per live agent-step, CPU time of each (the two count nearly the same agent-steps)
            row["ratio"] = (row["flee"]["cpu_s"] / row["flee"]["agent_steps"]) / (
                row["travesia"]["cpu_s"] / row["agent_steps"])
        rows.append(row)
        print(f"  {src.name}: done", file=sys.stderr, flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu": os.cpu_count(), "agents": agents, "rows": rows}, indent=2))
    return rows


def print_table(rows: list[dict]) -> None:
    print("| scenario | agents | days | FLEE 3.1 ARD | travesia ARD | FLEE s | travesia s | ratio |"
          " check's scorer: FLEE / travesia |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        t, f = r["travesia"], r["flee"]
        fa = f"{np.mean(f['ard']):.3f}" if f else "—"
        fs = f"{f['cpu_s']:.1f}" if f else "—"
        ratio = f"{r['ratio']:.0f}×" if f else "—"
        def mean(v):
            return f"{np.mean(v):.3f}" if v and None not in v else "—"

        chk = f"{mean(f['ard_check'])} / " if f else "— / "
        print(f"| {r['scenario']} | {r['agents']:,} | {r['days']} | {fa} | {np.mean(t['ard']):.3f} | {fs} | "
              f"{t['cpu_s']:.2f} | {ratio} | {chk}{mean(t['ard_check'])} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = ROOT.parent / "shared" / "data" / "flee" / "mali2012"
    if not default.exists():
        default = ROOT / "tests" / "data" / "flee_mali2012"
    ap.add_argument("--flee-dir", type=Path, default=default)
    ap.add_argument("--sizes", default="1e4,1e5,1e6", help="agents in all, comma-separated")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per simulator at the smallest size (1 above)")
    ap.add_argument("--flee-budget", type=float, default=300.0, help="run FLEE only if it should finish within this")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--all", action="store_true", help="every folder in ../shared/data/flee/ at one common scale "
                    "(the first of --sizes, default 1e4 agents), --seeds seeds of each simulator, one table")
    ap.add_argument("--flee-seeds", type=int, default=None, help="with --all: FLEE seeds (default: --seeds)")
    ap.add_argument("--cached-only", action="store_true", help="with --all: use the FLEE runs kept, run none")
    ap.add_argument("--only", default="", help="with --all: only these folders (comma-separated names)")
    ap.add_argument("--fresh", action="store_true", help="with --all: rerun FLEE even where its runs are kept")
    ap.add_argument("--data-gap", action="store_true", help="no simulation: the check's scorer on FLEE's own "
                    "validation data (with and without registration corrections), every folder (or --only)")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if a.all:
        data = ROOT.parent / "shared" / "data" / "flee"
        folders = sorted(p for p in data.iterdir() if (p / "input_csv").is_dir())
        if a.only:
            folders = [p for p in folders if p.name in a.only.split(",")]
        if a.data_gap:
            data_gap(folders)
            return
        agents = int(float(a.sizes.split(",")[0])) if a.sizes != "1e4,1e5,1e6" else 10_000
        rows = compare_all(folders, agents, a.seeds, a.fresh, a.out or OUT / "flee_compare_all.json", a.flee_seeds,
                           a.cached_only)
        fs = sorted({r["flee_seeds"] for r in rows})
        print(f"\nFLEE 3.1 vs travesia, every folder at {agents:,} agents (full scale if fewer), "
              f"{'/'.join(map(str, fs))} FLEE seed(s), {a.seeds} travesia seeds; ARD = FLEE's averaged relative difference (mean over seeds); s = CPU seconds of the daily "
              f"loop (median); ratio = FLEE's CPU time per live agent-step / travesia's\n")
        print_table(rows)
        return
    a.out = a.out or OUT / "flee_compare.json"
    from travesia.flee.convert import import_flee
    from travesia.engine.processes.flee_rules.params import flee_params
    from travesia.scenario.load import load_scenario

    py = ensure_peer()
    tmp = Path(tempfile.mkdtemp(prefix="flee_compare-"))
    full = import_flee(a.flee_dir, tmp / "full")["people"]
    print(f"FLEE folder {a.flee_dir}: {full:,} agents at full scale")
    # warm-up: compile the numba kernel before any timing
    run_travesia(tmp / "full", 0)
    rows = []
    flee_rate = None
    curves = None
    for i, size in enumerate(float(s) for s in a.sizes.split(",")):
        n = int(size)
        folder = scaled_folder(a.flee_dir, n / full, tmp / f"flee_{n}")
        scen = tmp / f"scen_{n}"
        people = import_flee(folder, scen)["people"]
        sfc = flee_params(load_scenario(scen).params.flee).sum_from_camps
        seeds = range(a.seeds if i == 0 else 1)
        tv = [run_travesia(scen, s) for s in seeds]
        fl = []
        est = None if flee_rate is None else tv[0]["agent_steps"] / flee_rate
        if est is None or est <= a.flee_budget or n <= 100_000:  # FLEE always runs up to 1e5 agents
            for s in seeds:
                r = run_flee(py, folder, s, sfc, timeout=max(a.flee_budget * 2, 2 * (est or 0), 60))
                if r is None:
                    break
                fl.append(r)
        if fl:
            flee_rate = fl[0]["agent_steps"] / fl[0]["wall_s"]
            curves = (fl[0], tv[0], f"{a.flee_dir.name} camps, {people:,} agents, seed 0: FLEE ARD {fl[0]['ard']:.3f}, "
                                    f"travesia ARD {tv[0]['ard']:.3f}")
        row = {"agents": people, "agent_steps": tv[0]["agent_steps"], "seeds": len(tv),
               "travesia": {"wall_s": float(np.median([t["wall_s"] for t in tv])),
                            "ard": [round(t["ard"], 4) for t in tv], "timings": tv[0]["timings"]},
               "flee": None if not fl else {"wall_s": float(np.median([f["wall_s"] for f in fl])),
                                            "agent_steps": fl[0]["agent_steps"], "agents": fl[0]["agents"],
                                            "ard": [round(f["ard"], 4) for f in fl]},
               "flee_skipped_estimate_s": None if fl else est}
        row["travesia"]["agent_steps_per_s"] = row["agent_steps"] / row["travesia"]["wall_s"]
        if fl:
            row["flee"]["agent_steps_per_s"] = row["flee"]["agent_steps"] / row["flee"]["wall_s"]
            row["ratio"] = row["flee"]["wall_s"] / row["travesia"]["wall_s"]
        rows.append(row)
        f = row["flee"]
        print(f"\n{people:,} agents, {row['agent_steps']:,} agent-steps, {len(tv)} seed(s)")
        if f:
            print(f"  FLEE 3.1   {f['wall_s']:9.2f} s  {f['agent_steps_per_s']:14,.0f} agent-steps/s  "
                  f"ARD {f['ard']}  ({f['agents']:,} agents)")
        else:
            print(f"  FLEE 3.1   skipped (would take about {est:,.0f} s at its measured rate)")
        t = row["travesia"]
        print(f"  travesia   {t['wall_s']:9.3f} s  {t['agent_steps_per_s']:14,.0f} agent-steps/s  ARD {t['ard']}")
        if f:
            print(f"  ratio      {row['ratio']:,.0f}× faster")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"flee_dir": str(a.flee_dir), "cpu": os.cpu_count(), "rows": rows}, indent=2))
    print(f"\nwritten {a.out}")
    if curves is not None:
        png = a.out.with_name(a.out.stem + "_camps.png")
        plot_camps(curves[0], curves[1], curves[2], png)
        print(f"written {png}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
