"""The caravan rule set's people: households, intentions, motives, documents, destinations,
announced routes and walking speeds (called by :meth:`Recruitment.create`).

Every draw is keyed by household or person id on day 0 (streams ``create.*``), so a person's
attributes do not depend on anyone else's. The route table toward every destination, waypoint
and home is built here too: only the caravan rules route that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from travesia.engine.core import DOCS, ECONOMIC, GOING_STAY, GOING_US, PROTECTION, njit, uniform
from travesia.engine.rng import cumulative, normal_of
from travesia.errors import UserError
from travesia.network import KIND

if TYPE_CHECKING:
    from travesia.engine.sim import Sim


def build_routing(sim: Sim) -> None:
    """Destinations of each population, the route table and the announced routes (``via``)."""
    p, net = sim.params, sim.net
    dest_places: list[int] = []
    sim.member_pop_dest = [_destinations(sim, q) for q in sim.member_params]
    sim.pop_dest = sim.member_pop_dest[0]
    for ids, _ in sim.pop_dest:
        dest_places.extend(ids)
    for s in sim.segments:
        dest_places.append(s.place)
    for pop in p.populations:
        dest_places.extend(net.index[v] for v in pop.via)
    dest_places.extend(net.places_of_kind("border_crossing").tolist())
    dest_places.extend(net.index[c] for c in p.crossings)  # open crossings to reroute to (reroute.py)
    sim.dest_places = np.array(sorted(set(dest_places)), dtype=np.int32)
    sim.dest_index = np.full(net.n_places, -1, dtype=np.int16)
    sim.dest_index[sim.dest_places] = np.arange(len(sim.dest_places), dtype=np.int16)
    sim.routes = net.route_table(sim.dest_places, p.movement.route_detour_km)
    # announced routes: route-table indices of each population's waypoints, -1 padded
    nv = max([len(pop.via) for pop in p.populations] + [0])
    sim.via_table = np.full((max(len(p.populations), 1), nv + 1), -1, dtype=np.int16)
    sim.n_via = np.zeros(max(len(p.populations), 1), dtype=np.int64)
    for k, pop in enumerate(p.populations):
        sim.n_via[k] = len(pop.via)
        for j, v in enumerate(pop.via):
            sim.via_table[k, j] = sim.dest_index[net.index[v]]


def _destinations(sim: Sim, p) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each population's destinations (place indices) and their shares."""
    net = sim.net
    out = []
    all_dest = [i for i in range(net.n_places) if net.kind[i] == KIND["destination"]]
    for pop in p.populations:
        if pop.destinations:
            ids = [net.index[d] for d in pop.destinations]
            w = np.array(list(pop.destinations.values()), dtype=np.float64)
        else:
            o = net.index[pop.origin]
            d = net.distances_to(np.array(all_dest, dtype=np.int32))[:, o] if all_dest else np.array([])
            ids = [a for a, x in zip(all_dest, d) if np.isfinite(x)]
            w = np.ones(len(ids))
        if not ids:
            raise UserError(f"population '{pop.name}': no destination (no place of kind 'destination' "
                            f"is reachable from '{pop.origin}', and none is given)")
        if w.sum() <= 0:
            raise UserError(f"population '{pop.name}': destination weights must not all be zero")
        out.append((np.array(ids, dtype=np.int32), w / w.sum()))
    return out


def create_caravan_people(sim: Sim) -> None:
    """Households, intentions, motives, documents, destinations, waypoints and speeds of everyone
    of every member (each member's draws keyed by its seed and its own ids), segment by segment:
    segment ``k`` of every member at once (members share their segments' places and order)."""
    build_routing(sim)
    hh_next = np.zeros(sim.M, dtype=np.int64)  # each member numbers its households from 0
    for k in range(len(sim.member_segments[0])):
        _create_segment(sim, k, hh_next)


def _create_segment(sim: Sim, k: int, hh_next: np.ndarray) -> None:
    """The people of segment ``k`` of every member; ``hh_next[m]``: member ``m``'s next household id."""
    people, M = sim.people, sim.M
    segs = [ms[k] for ms in sim.member_segments]
    s0 = segs[0]
    pops = [p.populations[s0.pop] for p in sim.member_params]
    size = np.array([s.stop - s.start for s in segs], dtype=np.int64)
    N = int(size.sum())
    if N == 0:
        return
    start = np.array([s.start for s in segs], dtype=np.int64)
    mem = np.repeat(np.arange(M, dtype=np.int64), size)  # the member of each person of the segment
    pos = np.arange(N, dtype=np.int64) - (np.cumsum(size) - size)[mem]  # position within the member's segment
    # the draws whose transforms NumPy computes (logarithm, inverse normal CDF, exponential): the
    # size of the member's household number hh_next + j, and person j's walking speed
    lu = np.log1p(-sim.draw_for("create.household", 0, hh_next[mem] + pos, mem))
    pgeo = [1.0 / pop.household_size for pop in pops]
    denom = np.array([np.log1p(-g) if g < 1.0 else 0.0 for g in pgeo])  # 0: households of one
    mv = [p.movement for p in sim.member_params]
    sd = np.array([v.foot_km_sd for v in mv], dtype=np.float64)
    foot = np.array([v.foot_km_per_day for v in mv], dtype=np.float64)
    top = np.array([v.max_foot_km_per_day for v in mv], dtype=np.float64)
    z = normal_of(sim.draw_for("create.speed", 0, start[mem] + pos - sim.offsets[mem], mem))
    speed = np.minimum(foot[mem] * np.exp(sd[mem] * z - (sd * sd / 2)[mem]), top[mem])
    # the choices: intentions (us, mexico) and destinations, cumulative, per member (padded with inf)
    intent_c = np.stack([cumulative(_shares(pop)) for pop in pops])
    dests = [sim.member_pop_dest[m][s0.pop] for m in range(M)]
    K = max(ids.size for ids, _ in dests)
    dest_c = np.full((M, K), np.inf)
    dest_ids = np.zeros((M, K), dtype=np.int64)
    for m, (ids, w) in enumerate(dests):
        dest_c[m, :ids.size] = cumulative(w)
        dest_ids[m, :ids.size] = ids
    via = sim.dest_places[sim.via_table[s0.pop, :len(pops[0].via)]].astype(np.int64)
    _segment_kernel(start, size, sim.offsets, lu, denom, speed, sim.keys_many(_STREAMS, 0), intent_c,
                    np.array([pop.protection for pop in pops], dtype=np.float64),
                    np.array([pop.documents for pop in pops], dtype=np.float64), dest_c, dest_ids,
                    sim.dest_index, sim.routes.dist, s0.place, via, hh_next, people.household, people.intent,
                    people.motive, people.flags, people.dest, people.wp, people.speed)


_STREAMS = ("create.intent", "create.motive", "create.documents", "create.destination")


@njit(cache=True)
def _segment_kernel(start, size, offs, lu, denom, speed, keys, intent_c, protection, documents, dest_c, dest_ids,
                    dest_index, dist, place, via, hh_next, household, intent, motive, flags, dest, wp, pspeed):
    """Member ``m``'s ``size[m]`` people from People id ``start[m]`` (block ``m`` of the segment's
    arrays ``lu``, ``speed``), starting at ``place``:

    - households of consecutive people: household ``hh_next[m] + h`` holds ``1 + floor(lu[h] /
      denom[m])`` people (``lu``: log(1 - u) of its draw; geometric sizes with the population's
      mean; one each where ``denom[m]`` is 0); ``hh_next[m]`` moves past the last;
    - a household's intention (us, stay), motive (economic, protection) and destination are drawn
      by household id (``keys[m]``: the streams of ``_STREAMS``; a choice is the count of the
      cumulative probabilities ``<= u``), documents by person id;
    - the waypoint: the first of the announced route (``via``: places) still ahead, as the crow
      flies the route table's way (``dist[dest, place]``); joiners skip those behind them;
    - speed: the household's slowest ``speed``.
    """
    b = 0
    hh = go = why = 0
    d = dest_index[0]
    for m in range(start.shape[0]):
        n = size[m]
        h = 0
        end = 0
        first = 0  # the first person of the current household
        for j in range(n + 1):
            if j == n or end <= j:  # a household ends before person j
                if j > 0:
                    slow = speed[b + first]
                    for q in range(first + 1, j):
                        slow = min(slow, speed[b + q])
                    for q in range(first, j):
                        pspeed[start[m] + q] = slow
                    h += 1
                if j == n:
                    break
                first = j
                end += 1 if denom[m] == 0.0 else 1 + np.int64(np.floor(lu[b + h] / denom[m]))
                hh = hh_next[m] + h
                u = uniform(keys[m, 0], hh)
                c = 0
                for x in range(intent_c.shape[1]):
                    c += intent_c[m, x] <= u
                go = GOING_STAY if min(c, intent_c.shape[1] - 1) == 1 else GOING_US
                why = PROTECTION if uniform(keys[m, 1], hh) < protection[m] else ECONOMIC
                u = uniform(keys[m, 3], hh)
                c = 0
                for x in range(dest_c.shape[1]):
                    c += dest_c[m, x] <= u
                d = dest_index[dest_ids[m, min(c, dest_c.shape[1] - 1)]]
            i = start[m] + j
            household[i] = hh
            intent[i] = go
            motive[i] = why
            flags[i] = DOCS if uniform(keys[m, 2], i - offs[m]) < documents[m] else 0
            dest[i] = d
            here = dist[d, place]
            w = 0
            for v in range(via.shape[0]):  # the first waypoint not behind
                if dist[d, via[v]] < here:
                    break
                w = v + 1
            wp[i] = w
        if n > 0:
            hh_next[m] += h
        b += n


def _shares(pop) -> np.ndarray:
    """A population's intention shares (us, mexico), summing to 1."""
    shares = np.array([pop.intentions.get("us", 0.0), pop.intentions.get("mexico", 0.0)])
    return shares / shares.sum()
