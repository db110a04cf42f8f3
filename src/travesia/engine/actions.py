"""State changes that more than one process causes (applying for asylum, being detained).

Processes do not import each other; what they share lives here.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import State


def start_asylum(sim, idx: np.ndarray, where: np.ndarray) -> None:
    """People ``idx`` apply for asylum at places ``where``: counted, moved to the station, timed."""
    pp, day = sim.people, sim.day
    if idx.size == 0:
        return
    sim.add_events("applied", where, idx)
    m = pp.member[idx]
    c = sim.net.country[where]
    lo = sim.pol("min_wait_days")[m, c]
    hi = sim.pol("max_wait_days")[m, c]
    u = sim.draw("asylum.wait", day, idx)
    wait = lo + np.floor(u * (hi - lo + 1)).astype(np.int64)
    wait = np.minimum(wait, hi)
    pp.set_state(idx, State.ASYLUM_PENDING, day)
    pp.until[idx] = np.minimum(day + wait, np.iinfo(np.int16).max).astype(np.int16)
    st = sim.pol("station")[m, c]
    pp.place[idx] = np.where(st >= 0, st, where)
    pp.next[idx] = -1
    pp.km_left[idx] = 0


def detain(sim, idx: np.ndarray, where: np.ndarray) -> None:
    """People ``idx`` are caught at places ``where``: detained in the country's detention place."""
    pp, day = sim.people, sim.day
    if idx.size == 0:
        return
    m = pp.member[idx]
    c = sim.net.country[where]
    pp.set_state(idx, State.DETAINED, day)
    pp.until[idx] = (day + sim.pol("detention_days")[m, c]).astype(np.int16)
    dp = sim.pol("detention_place")[m, c]
    pp.place[idx] = np.where(dp >= 0, dp, where)
    pp.next[idx] = -1
    pp.km_left[idx] = 0
