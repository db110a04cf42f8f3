"""What-if table of the README (the collective caravan): arrivals at the US border and returns.

    .venv/bin/python scripts/whatif_collective.py --seeds 1,2,3,4,5

Each variant runs the built-in caravan-2018 (60 days, to 10 Dec 2018) with the overrides below,
over the seeds; the table gives the mean over seeds of the people who reached a US-border city
(journeys ended at a destination), the first day 1,000 had, and the people back home at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from travesia.api import simulate
from travesia.engine.core import State

VARIANTS = {
    "as built in": {},
    "no transport offers": {"offers.prob_per_day": 0.0},
    # closed for the whole run: the timeline's own changes of the river crossing (26 and 30 Oct) are dropped
    "Mexico closes the Suchiate fully": {"crossings.ciudad_hidalgo.rule": "closed", "crossings.ciudad_hidalgo.bypass_prob": 0.0,
                                         "crossings.ciudad_hidalgo.breach_prob": 0.0,
                                         "timeline-": ["crossings.ciudad_hidalgo.bypass_prob"]},
    "asylum takes 90 working days": {"countries.Mexico.asylum.max_wait_working_days": 90},
    "an early permit programme (from 12 Oct)": {"countries.Mexico.permit_per_day": 0.004},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3,4,5")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    print("| what if | reached the US border by 10 Dec | first day 1,000 had | back home by 10 Dec | settled in Mexico |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, ov in VARIANTS.items():
        arr, ret, sett, first = [], [], [], []
        for s in seeds:
            r = simulate("caravan-2018", seed=s, overrides=ov)
            ended = r.record.cum["ended"].sum(axis=1)
            arr.append(int(ended[-1]))
            hit = np.nonzero(ended >= 1000)[0]
            first.append(hit[0] if hit.size else None)
            st = r.sim.people.state
            ret.append(int((st == State.RETURNED).sum()))
            sett.append(int((st == State.SETTLED).sum()))
        days = [f for f in first if f is not None]
        fd = (r.sim.start + dt.timedelta(days=int(np.median(days)))).strftime("%d %b") if len(days) > len(seeds) / 2 else "never"
        print(f"| {name} | {np.mean(arr):,.0f} | {fd} | {np.mean(ret):,.0f} | {np.mean(sett):,.0f} |")


if __name__ == "__main__":
    main()
