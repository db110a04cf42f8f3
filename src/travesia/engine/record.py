"""What is kept each day: people per place × state, flows per edge, and cumulative sinks.

All arrays are preallocated (days × places ...); processes add today's events through
:meth:`Record.add` and the simulation closes each day with :meth:`Record.close_day`.
"""

from __future__ import annotations

import numpy as np

from travesia.engine.core import (
    ASYLUM_PENDING, FINAL, GOING_HOME, N_STATES, PRESENT, RESTING, TRAVELLING, WAITING, U, held_rec, njit, state_mask,
)
from travesia.engine.people import People

CUMULATIVE = ("arrived", "crossed", "applied", "ended", "permit_applied", "permit_granted")
_FINAL_MASK = state_mask(*FINAL)


@njit(cache=True, inline="always")
def counted_at(queue_at, p, held):
    """The place where someone at place ``p`` is counted: where its post's crowd waits
    (``queue_at``, the post's ``queue_at`` place of their member; -1 none) when they are ``held``
    there, else ``p``."""
    return queue_at if (queue_at >= 0 and held) else p


@njit(cache=True)
def close_scan(waiting, live, member, place, state, pop, by_pop, cnt, final, wait_out, live_out, move_out,
               queue_at, km_left, flags, intent, origin, prec, joined, woken, wake, day, dormant, dorm_out):
    """Count the day's end without visiting everyone: ``waiting`` (sorted ids waiting at the last
    close) and ``live`` (sorted ids of people set out and not in a final state, perhaps with
    duplicates of ``waiting``). A first pass over ``waiting`` counts those still waiting in
    ``cnt[member, pop or 0, place, waiting]`` and keeps them in ``wait_out``, and puts those who set
    out since in ``joined`` (scratch, as long as ``waiting`` and ``woken`` together), with the
    applicants who woke today (``woken``, sorted, see below); a second pass merges them (few) into
    ``live``, in order, once each. There each person counts once in ``cnt[member, pop or 0, place,
    state]``, except those now in a final state, who are added to ``final`` (the same shape, kept
    across days: they never change again) and dropped; people held at a border post whose crowd
    waits elsewhere (``queue_at[member, post] >= 0``) count there (:func:`counted_at`). The others
    go to ``live_out`` and, those travelling or resting, also to ``move_out`` (tomorrow's people on
    the move); returns (waiting, live, on the move, dormant) counts. Two passes, not one merge of
    both lists: the waiting and the live are interleaved by id, and a merge of the two branched at
    random on every person.

    Asylum applicants with nothing due tomorrow (``wake`` after ``day`` + 1; ``wake`` empty: no
    asylum in the rule set) and not at a post whose crowd waits elsewhere are left out of
    ``live_out`` (dormant): they go to ``dorm_out`` and are counted in ``dormant`` (the same shape
    as ``cnt``, kept across days until they wake), not in ``cnt``; the simulation gives them back
    in ``woken`` on the day they wake (:meth:`~travesia.engine.sim.Sim.live`)."""
    nw = 0
    nj = 0
    for a in range(waiting.shape[0]):
        i = waiting[a]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (core.U)
        if state[iu] == WAITING:
            wait_out[U(nw)] = i
            nw += 1
            cnt[member[iu], U(pop[iu]) if by_pop else U(0), U(place[iu]), WAITING] += 1
        else:
            joined[U(nj)] = i
            nj += 1
    # the woken merged in (from the end, in place): none of them is waiting or in ``live``
    x = nj - 1
    y = woken.shape[0] - 1
    nj += woken.shape[0]
    z = nj - 1
    while y >= 0:
        if x >= 0 and joined[U(x)] > woken[U(y)]:
            joined[U(z)] = joined[U(x)]
            x -= 1
        else:
            joined[U(z)] = woken[U(y)]
            y -= 1
        z -= 1
    nl = 0
    nm = 0
    nd = 0
    a = 0
    b = 0
    nb = live.shape[0]
    sleeps = wake.shape[0] > 0
    tomorrow = day + 1
    while a < nj or b < nb:
        if a < nj and (b >= nb or joined[U(a)] <= live[U(b)]):
            i = joined[U(a)]
            a += 1
            if b < nb and live[U(b)] == i:  # set out today and already merged into the live list
                b += 1
        else:
            i = live[U(b)]
            b += 1
        iu = U(i)
        st = state[iu]
        k = U(pop[iu]) if by_pop else U(0)
        m = member[iu]
        p = U(place[iu])
        if (_FINAL_MASK >> np.int64(st)) & 1:
            final[m, k, p, st] += 1
        elif sleeps and st == ASYLUM_PENDING and wake[iu] > tomorrow and queue_at[m, p] < 0:
            dormant[m, k, p, st] += 1
            dorm_out[U(nd)] = i
            nd += 1
        else:
            live_out[U(nl)] = i
            nl += 1
            move_out[U(nm)] = i  # kept when travelling or resting (no branch: the states mix)
            nm += (st == TRAVELLING) | (st == RESTING)
            q = queue_at[m, p]
            if q >= 0:
                p = U(counted_at(q, np.int64(p), held_rec(prec[m, p], km_left[iu] != 0, flags[iu],
                                                          intent[iu] == GOING_HOME, prec[m, U(origin[iu])].country)))
            cnt[m, k, p, st] += 1
    return nw, nl, nm, nd


@njit(cache=True)
def dormant_uncount(ids, member, place, state, pop, by_pop, dormant):
    """People ``ids`` wake (:func:`close_scan`): out of the ``dormant`` counts, as they were counted."""
    for j in range(ids.shape[0]):
        iu = U(ids[j])
        dormant[member[iu], U(pop[iu]) if by_pop else U(0), U(place[iu]), state[iu]] -= 1


@njit(cache=True)
def queue_recount(ids, member, place, state, pop, by_pop, cnt, queue_at, km_left, flags, intent, origin, prec):
    """Move the people ``ids`` held at a post whose crowd waits elsewhere from their place to that
    one in ``cnt[member, pop or 0, place, state]`` (a full recount, as :func:`close_scan` counts)."""
    for j in range(ids.shape[0]):
        i = ids[j]
        m = member[i]
        p = place[i]
        q = queue_at[m, p]
        if q < 0:
            continue
        q = counted_at(q, p, held_rec(prec[m, p], km_left[i] != 0, flags[i], intent[i] == GOING_HOME,
                                      prec[m, origin[i]].country))
        if q != p:
            k = pop[i] if by_pop else 0
            cnt[m, k, p, state[i]] -= 1
            cnt[m, k, q, state[i]] += 1


class Record:
    """Daily results of one run.

    - ``counts[day, place, state]``: people at the end of the day (people on a leg count at the
      place they left);
    - ``flows[day, edge]``: people who set out along each directed edge that day;
    - ``arrived/crossed/applied/ended[day, place]``: cumulative people who reached the place
      (passing through included), crossed a border there, applied for asylum there, ended their
      journey there (reached their destination);
    - with ``n_pops``: ``counts_pop[day, pop, place, state]`` and ``cum_pop[k][day, pop, place]``,
      the same per caravan (population);
    - with ``attributes`` (name -> number of values): ``by_attribute[name][day, place, value]``,
      the people present (travelling + resting + arrived + permit_pending) at each place by attribute value
      (:mod:`travesia.engine.attributes`).
    """

    def __init__(self, days: int, n_places: int, n_edges: int, n_pops: int = 0,
                 attributes: dict[str, int] | None = None):
        self.days = days
        self.n_places = n_places
        self.counts = np.zeros((days, n_places, N_STATES), dtype=np.int32)
        self.flows = np.zeros((days, n_edges), dtype=np.int32)
        self.cum = {k: np.zeros((days, n_places), dtype=np.int64) for k in CUMULATIVE}
        self._today = {k: np.zeros(n_places, dtype=np.int64) for k in CUMULATIVE}
        self._flows_today = np.zeros(n_edges, dtype=np.int64)
        self._touched: set[str] = set()  # kinds of events added since the run began (the others stay all zero)
        self.last_day = -1
        # per caravan (population), when asked for: the same arrays with a population axis
        self.n_pops = int(n_pops)
        if self.n_pops:
            self.counts_pop = np.zeros((days, self.n_pops, n_places, N_STATES), dtype=np.int32)
            self.cum_pop = {k: np.zeros((days, self.n_pops, n_places), dtype=np.int64) for k in CUMULATIVE}
            self._today_pop = {k: np.zeros((self.n_pops, n_places), dtype=np.int64) for k in CUMULATIVE}
        self.by_attribute = {a: np.zeros((days, n_places, v), dtype=np.int32) for a, v in (attributes or {}).items()}

    def add(self, what: str, places: np.ndarray, pops: np.ndarray | None = None) -> None:
        """Count one event of kind ``what`` (arrived, crossed, applied, ended) at each place index;
        ``pops`` (the people's populations) also counts it per caravan."""
        if places.size:
            self._touched.add(what)
            self._today[what] += np.bincount(places, minlength=self.n_places)
            if self.n_pops and pops is not None:
                key = pops.astype(np.int64) * self.n_places + places
                self._today_pop[what] += np.bincount(key, minlength=self.n_pops * self.n_places).reshape(
                    self.n_pops, self.n_places)

    def add_arrays(self, what: str, per_pop_place: np.ndarray) -> None:
        """Add a (populations × places) array of today's events (what the numba kernels return)."""
        self._touched.add(what)
        self._today[what] += per_pop_place.sum(axis=0)
        if self.n_pops:
            self._today_pop[what] += per_pop_place[: self.n_pops]

    def today(self, what: str) -> np.ndarray:
        """The array (over places) that today's events of kind ``what`` are added to: a kernel may
        add into it directly (only without per-caravan counts); :meth:`close_day` folds it in."""
        assert not self.n_pops
        self._touched.add(what)
        return self._today[what]

    def flows_today(self) -> np.ndarray:
        """The array (over edges) that today's people setting out are added to (see :meth:`today`)."""
        return self._flows_today

    def add_flow_counts(self, per_edge: np.ndarray) -> None:
        """Add today's people setting out along each edge (an array over edges)."""
        self._flows_today += per_edge

    def set_counts(self, day: int, per_place_state: np.ndarray) -> None:
        """Today's final people per place × state, counted by the last process of the day (a
        kernel that visits everyone anyway); :meth:`close_day` then does not count again."""
        self.counts[day] = per_place_state.reshape(self.n_places, N_STATES)
        self._counted_day = day

    def set_by_attribute(self, day: int, name: str, per_place_value: np.ndarray) -> None:
        """Today's people present by value of attribute ``name`` (places × values, counted by a
        kernel that keeps them); :meth:`close_day` then does not count them again."""
        self.by_attribute[name][day] = per_place_value.reshape(self.n_places, -1)
        self._attrs_counted_day = day

    def close_day(self, day: int, people: People | None = None, sl: slice = slice(None),
                  counts: np.ndarray | None = None, counts_pop: np.ndarray | None = None,
                  by_attribute: dict[str, np.ndarray] | None = None) -> None:
        """Close ``day``: take ``counts``, ``counts_pop`` and ``by_attribute`` counted already (the
        simulation counts only the people who changed: see ``Sim._close_day``), or count the people
        ``sl`` (one member's) of ``people``; keep today's events."""
        if people is not None:
            place, state, pop = people.place[sl], people.state[sl], people.pop[sl]
        if counts is not None:
            self.counts[day] = counts
        elif getattr(self, "_counted_day", -1) != day:
            key = place.astype(np.int64) * N_STATES + state
            self.counts[day] = np.bincount(key, minlength=self.n_places * N_STATES).reshape(self.n_places, N_STATES)
        self.flows[day] = self._flows_today
        self._flows_today[:] = 0
        for k in self._touched:  # (a kind of event never added has all-zero cumulative counts already)
            prev = self.cum[k][day - 1] if day > 0 else 0
            self.cum[k][day] = prev + self._today[k]
            self._today[k][:] = 0
        if self.n_pops:
            if counts_pop is not None:
                self.counts_pop[day] = counts_pop
            else:
                key = (pop.astype(np.int64) * self.n_places + place) * N_STATES + state
                self.counts_pop[day] = np.bincount(key, minlength=self.n_pops * self.n_places * N_STATES).reshape(
                    self.n_pops, self.n_places, N_STATES)
            for k in CUMULATIVE:
                prev = self.cum_pop[k][day - 1] if day > 0 else 0
                self.cum_pop[k][day] = prev + self._today_pop[k]
                self._today_pop[k][:] = 0
        if by_attribute is not None:
            for a, arr in self.by_attribute.items():
                arr[day] = by_attribute[a]
        elif self.by_attribute and getattr(self, "_attrs_counted_day", -1) != day:
            here = np.nonzero(np.isin(state, PRESENT))[0]
            hplace = place[here].astype(np.int64)
            for a, arr in self.by_attribute.items():
                v = arr.shape[2]
                arr[day] = np.bincount(hplace * v + people.attrs[a][sl][here], minlength=self.n_places * v).reshape(
                    self.n_places, v)
        self.last_day = day


class Records:
    """The records of ``M`` members advanced together: every array of :class:`Record` with a
    leading member axis. ``records[m]`` is member ``m``'s :class:`Record`, whose arrays are views
    of these (it reads and writes like any record); events are added and days closed for all
    members in one operation (:meth:`add`, :meth:`add_arrays`, :meth:`add_flow_counts`,
    :meth:`close_day`)."""

    def __init__(self, M: int, days: int, n_places: int, n_edges: int, n_pops: int = 0,
                 attributes: dict[str, int] | None = None):
        P, S = n_places, N_STATES
        self.M, self.days, self.n_places, self.n_pops = M, days, n_places, int(n_pops)
        self.counts = np.zeros((M, days, P, S), dtype=np.int32)
        self.flows = np.zeros((M, days, n_edges), dtype=np.int32)
        self.cum = {k: np.zeros((M, days, P), dtype=np.int64) for k in CUMULATIVE}
        self.today = {k: np.zeros((M, P), dtype=np.int64) for k in CUMULATIVE}
        self.flows_today = np.zeros((M, n_edges), dtype=np.int64)
        K = max(self.n_pops, 1)
        self.counts_pop = np.zeros((M, days, K, P, S), dtype=np.int32) if self.n_pops else None
        self.cum_pop = {k: np.zeros((M, days, K, P), dtype=np.int64) for k in CUMULATIVE} if self.n_pops else {}
        self.today_pop = {k: np.zeros((M, K, P), dtype=np.int64) for k in CUMULATIVE} if self.n_pops else {}
        self.by_attribute = {a: np.zeros((M, days, P, v), dtype=np.int32) for a, v in (attributes or {}).items()}
        self.records = self.views()

    def relink(self, old: list[Record]) -> list[Record]:
        """The members' records over these arrays again, with ``old``'s day markers (after a
        restore: the deep copies of the records no longer share these arrays)."""
        self.records = self.views(old)
        return self.records

    def views(self, old: list[Record] | None = None) -> list[Record]:
        """Each member's :class:`Record` over these arrays."""
        out = []
        for m in range(self.M):
            r = Record.__new__(Record)
            r.days, r.n_places, r.n_pops = self.days, self.n_places, self.n_pops
            r.counts, r.flows, r._flows_today = self.counts[m], self.flows[m], self.flows_today[m]
            r.cum = {k: v[m] for k, v in self.cum.items()}
            r._today = {k: v[m] for k, v in self.today.items()}
            if self.n_pops:
                r.counts_pop = self.counts_pop[m]
                r.cum_pop = {k: v[m] for k, v in self.cum_pop.items()}
                r._today_pop = {k: v[m] for k, v in self.today_pop.items()}
            r.by_attribute = {a: v[m] for a, v in self.by_attribute.items()}
            r.last_day = -1
            for k in ("last_day", "_counted_day", "_attrs_counted_day"):
                if old is not None and hasattr(old[m], k):
                    setattr(r, k, getattr(old[m], k))
            out.append(r)
        return out

    def add(self, what: str, member: np.ndarray, places: np.ndarray, pops: np.ndarray) -> None:
        """:meth:`Record.add` of people of members ``member``."""
        if places.size:
            M, P = self.M, self.n_places
            key = member.astype(np.int64) * P + places
            self.today[what] += np.bincount(key, minlength=M * P).reshape(M, P)
            if self.n_pops:
                key = (member.astype(np.int64) * self.n_pops + pops) * P + places
                self.today_pop[what] += np.bincount(key, minlength=M * self.n_pops * P).reshape(M, self.n_pops, P)

    def add_arrays(self, what: str, per_pop_place: np.ndarray) -> None:
        """:meth:`Record.add_arrays` of every member: members × populations × places."""
        self.today[what] += per_pop_place.sum(axis=1)
        if self.n_pops:
            self.today_pop[what] += per_pop_place[:, : self.n_pops]

    def add_flow_counts(self, per_edge: np.ndarray) -> None:
        """:meth:`Record.add_flow_counts` of every member: members × edges."""
        self.flows_today += per_edge

    def close_day(self, day: int, counts: np.ndarray, counts_pop: np.ndarray | None = None,
                  by_attribute: dict[str, np.ndarray] | None = None) -> None:
        """:meth:`Record.close_day` of every member, with the counts of all (members × places ×
        states, members × populations × places × states, members × places × values)."""
        self.counts[:, day] = counts
        self.flows[:, day] = self.flows_today
        self.flows_today[:] = 0
        for k in CUMULATIVE:
            self.cum[k][:, day] = (self.cum[k][:, day - 1] if day > 0 else 0) + self.today[k]
            self.today[k][:] = 0
            if self.n_pops:
                self.cum_pop[k][:, day] = (self.cum_pop[k][:, day - 1] if day > 0 else 0) + self.today_pop[k]
                self.today_pop[k][:] = 0
        if self.n_pops:
            self.counts_pop[:, day] = counts_pop
        for a, arr in self.by_attribute.items():
            arr[:, day] = by_attribute[a]
        for r in self.records:
            r.last_day = day
