"""Asylum and detention.

Asylum: in a country whose asylum process is open, a traveller (or one waiting at the border
city) applies with a daily chance that depends on motive (``apply_per_day_protection`` /
``apply_per_day_economic``) and on intention (``apply_per_day_stay`` for those meaning to stay).
Applicants wait in the country's migration station (``asylum.station``) in ``asylum_pending``;
the decision comes after a wait drawn uniformly between ``min_wait_days`` and the maximum,
``ceil(max_wait_working_days · 7/5)`` calendar days, never later. A grant settles them
(``settled``), a refusal deports them (``deported``, back at their origin). Applicants may
abandon the wait and travel on (``abandon_per_day``).

Detention: detained people are held ``detention_days``; then ``deport_share`` of them are
deported home and the rest released where they are held.
"""

from __future__ import annotations

import numpy as np

from travesia.engine import kernels
from travesia.engine.actions import ABANDON, start_asylum
from travesia.engine.core import State, thread_rows
from travesia.engine.people import Field
from travesia.engine.processes.base import Process


_WAITING = ("asylum.decision", ABANDON)


class Asylum(Process):
    name = "asylum"
    params = "countries.*.asylum, countries.*.detention_days, countries.*.deport_share"
    fields = {"until": Field(np.int16, -1, "day a timed state ends (asylum decision, detention end); -1 none"),
              "wake": Field(np.int16, -1, "an asylum applicant's next day with something due (decision, abandoning)")}
    reads = ("state", "place", "motive", "intent", "until", "origin", "pop", "member")
    writes = ("state", "place", "until", "wake", "since", "next", "km_left", "flags")

    batched = True

    def step(self, sim) -> None:
        pp, day, pol = sim.people, sim.day, sim.pol
        apply_keys = sim.keys("asylum.apply", day)
        # everyone waiting somewhere (one pass over the live people; nobody enters these states
        # before the applications below)
        held = sim.in_states(State.ASYLUM_PENDING, State.DETAINED, State.ARRIVED)
        # decisions and releases due today, abandoning the wait, and the applications of those
        # released or abandoning and of those at the border city (one kernel pass, in place)
        applied = np.empty(held.size, dtype=np.int64)
        freed = np.empty(held.size, dtype=np.int64)
        n = np.zeros(2, dtype=np.int64)
        kernels.waiting_kernel(held, pp.member, sim.offsets, day, sim.keys_many(_WAITING, day), apply_keys, pp.place,
                               pp.origin, pp.intent, pp.motive, pp.state, pp.since, pp.until, pp.flags, sim.net.country,
                               sim.country_rec, pol("grant_rate"), pol("deport_share"), pol("abandon"), applied, freed,
                               n)
        a = applied[:n[0]]
        # the applications of the people on the move (the released and abandoning are not among them:
        # they applied above), those still on the move kept apart
        still = None
        if pol("asylum_open").any():
            idx = sim.on_the_move()
            C = thread_rows()
            applied = np.empty(idx.size, dtype=np.int64)
            moving = np.empty(idx.size, dtype=np.int64)
            n_applied = np.zeros(C, dtype=np.int64)
            n_moving = np.zeros(C, dtype=np.int64)
            kernels.apply_kernel(idx, pp.member, sim.offsets, apply_keys, pp.place, pp.intent, pp.origin, pp.motive,
                                 sim.net.country, sim.country_rec, applied, n_applied, moving, n_moving)
            if n_applied.any():
                a = np.concatenate([applied[idx.size * t // C:][:n_applied[t]] for t in range(C)] + [a])
                still = moving[:n_moving[0]] if C == 1 else np.concatenate(
                    [moving[idx.size * t // C:][:n_moving[t]] for t in range(C)])
        start_asylum(sim, a, pp.place[a])  # takes them off the move (People.changed)
        if still is not None:
            sim.moved_on(still)
        # the released and abandoning who did not apply are on the move now: told last, as moved_on takes
        # the list only while nobody entered since on_the_move
        pp.note_states(entered=freed[:n[1]])
