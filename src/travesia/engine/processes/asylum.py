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
from travesia.engine.actions import start_asylum
from travesia.engine.core import CLEARED, State
from travesia.engine.people import Field
from travesia.engine.processes.base import Process


_WAITING = ("asylum.decision", "asylum.abandon")


class Asylum(Process):
    name = "asylum"
    params = "countries.*.asylum, countries.*.detention_days, countries.*.deport_share"
    fields = {"until": Field(np.int16, -1, "day a timed state ends (asylum decision, detention end); -1 none")}
    reads = ("state", "place", "motive", "intent", "until", "origin", "pop", "member")
    writes = ("state", "place", "until", "since", "next", "km_left", "flags")

    batched = True

    def step(self, sim) -> None:
        pp, day, pol = sim.people, sim.day, sim.pol
        state = pp.state
        # everyone waiting somewhere (one pass over the live people; nobody enters these states
        # before the applications below)
        held = sim.in_states(State.ASYLUM_PENDING, State.DETAINED, State.ARRIVED)
        # decisions and releases due today, abandoning the wait (one kernel pass)
        out = np.empty((5, held.size), dtype=np.int64)
        n = np.zeros(5, dtype=np.int64)
        kernels.waiting_kernel(held, pp.member, sim.offsets, day, sim.keys_many(_WAITING, day), pp.place,
                               sim.net.country, state, pp.until, pol("grant_rate"), pol("deport_share"), pol("abandon"),
                               out, n)
        g, d, r, ab, arrived = (out[k, :n[k]] for k in range(5))
        pp.set_state(g, State.SETTLED, day)
        pp.set_state(d, State.DEPORTED, day)
        pp.place[d] = pp.origin[d]
        pp.set_state(r, State.RESTING, day)
        pp.flags[r] |= CLEARED
        pp.set_state(ab, State.RESTING, day)
        pp.flags[ab] |= CLEARED
        for x in (g, d, r, ab):
            pp.until[x] = -1
        # applications
        if not pol("asylum_open").any():
            return
        keys = sim.keys("asylum.apply", day)
        a = []
        for idx in (sim.on_the_move(), arrived):  # each list apart: the people on the move are many
            out = np.zeros(idx.size, dtype=np.bool_)
            kernels.apply_kernel(idx, pp.member, sim.offsets, keys, pp.place, pp.intent, pp.origin, pp.motive,
                                 sim.place_rec, sim.country_rec, out)
            a.append(idx[out])
        a = np.concatenate(a)
        start_asylum(sim, a, pp.place[a])
