"""State changes that more than one process causes (applying for asylum, being detained).

Processes do not import each other; what they share lives here.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.core import State

ABANDON = "asylum.abandon"  # the stream of the daily draw of abandoning the wait for a decision


def start_asylum(sim, idx: np.ndarray, where: np.ndarray) -> None:
    """People ``idx`` apply for asylum at places ``where``: counted, moved to the station, timed, and
    the day their wait has something due found (``wake``: the day's close leaves them out of the
    daily passes until then; one kernel pass: :func:`~travesia.engine.kernels.asylum_start_kernel`)."""
    pp, day = sim.people, sim.day
    if idx.size == 0:
        return
    sim.add_events("applied", where, idx)
    joined = np.empty(idx.size, dtype=np.int64)
    nj, left = kernels.asylum_start_kernel(idx, where, pp.member, sim.offsets, sim.keys("asylum.wait", day), day,
                                           sim.net.country, sim.pol("min_wait_days"), sim.pol("max_wait_days"),
                                           sim.pol("station"), sim.pol("abandon"), sim.run_keys(ABANDON), pp.state,
                                           pp.since, pp.until, pp.wake, pp.place, pp.next, pp.km_left, joined)
    pp.note_states(joined[:nj], left)


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
