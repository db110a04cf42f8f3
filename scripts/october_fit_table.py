"""The per-seed table of the built-in scenario against the October 2018 record (README, "The built-in
scenario"): for each seed, ``travesia run caravan-2018 --seed S`` as the shared check runs it, scored

- by the shared check's own scorer (``../shared/checks/score_forecast.py --fit``: everyone at a place
  counts): the share of reports whose range the run hits, and the median relative error;
- by ``travesia validate``: the mean log error (a report that names a caravan compared with that
  caravan's own totals, through 14 November);

and, over all seeds, how many seeds hit each quantity at least once (shared scorer).

    .venv/bin/python scripts/october_fit_table.py --seeds 1-10 --out /tmp/october-fit
"""

from __future__ import annotations

import argparse
import json
import re
import statistics as st
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
QUANTITIES = ("present", "travelling", "crossed", "returned", "asylum_applied", "detained")


def seeds_of(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--out", default="/tmp/october-fit")
    ap.add_argument("--shared", default=str(SHARED), help="the shared folder (checks/, data/caravan-2018/)")
    a = ap.parse_args()
    shared = Path(a.shared)
    data = shared / "data" / "caravan-2018"
    rows, hits_by_q = [], {q: 0 for q in QUANTITIES}
    for s in seeds_of(a.seeds):
        out = Path(a.out) / f"seed-{s}"
        cli = [sys.executable, "-m", "travesia.cli"]
        subprocess.run(cli + ["run", "caravan-2018", "--seed", str(s), "--out", str(out)], check=True,
                       capture_output=True)
        sc = subprocess.run([sys.executable, str(shared / "checks" / "score_forecast.py"), "--fit",
                             str(out / "totals.csv"), str(data / "observations.csv"), str(data / "legs.csv")],
                            capture_output=True, text=True)
        lines = sc.stdout.strip().splitlines()
        last = lines[-1]
        hit = float(re.search(r"range (\d+)%", last).group(1)) / 100
        med = float(re.search(r"median rel err ([0-9.]+)", last).group(1))
        seen = {q for q in QUANTITIES for ln in lines[:-1] if ln.rstrip().endswith("HIT") and f" {q} " in ln}
        for q in seen:
            hits_by_q[q] += 1
        subprocess.run(cli + ["validate", str(out)], check=True, capture_output=True)
        v = json.loads((out / "validation.json").read_text())
        rows.append((s, hit, med, v["overall"]["mean_log_error"]))
    seeds = [r[0] for r in rows]
    print("| seed | " + " | ".join(str(s) for s in seeds) + " | median |")
    print("| --- | " + " | ".join("---:" for _ in seeds) + " | ---: |")
    for name, k, fmt in (("reported ranges hit (shared scorer)", 1, "{:.0%}"),
                         ("median relative error (shared scorer)", 2, "{:.2f}"),
                         ("mean log error (`travesia validate`)", 3, "{:.2f}")):
        vals = [r[k] for r in rows]
        print(f"| {name} | " + " | ".join(fmt.format(x) for x in vals) + f" | **{fmt.format(st.median(vals))}** |")
    print()
    print("seeds on which each quantity hits at least one report: "
          + ", ".join(f"{q} {n}/{len(rows)}" for q, n in hits_by_q.items()))


if __name__ == "__main__":
    main()
