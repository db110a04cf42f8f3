"""The caravan rule set's people: households, intentions, motives, documents, destinations,
announced routes and walking speeds (called by :meth:`Recruitment.create`).

Every draw is keyed by household or person id on day 0 (streams ``create.*``), so a person's
attributes do not depend on anyone else's. The route table toward every destination, waypoint
and home is built here too: only the caravan rules route that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from travesia.engine.core import DOCS, Intent, Motive
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
    of every member (each member's draws keyed by its seed and its own ids)."""
    build_routing(sim)
    for m in range(sim.M):
        _create_member(sim, m)


def _create_member(sim: Sim, m: int) -> None:
    p, people, rng = sim.member_params[m], sim.people, sim.rngs[m]
    off = int(sim.offsets[m])
    hh_next = 0
    for s in sim.member_segments[m]:
        pop = p.populations[s.pop]
        idx = np.arange(s.start, s.stop, dtype=np.int64)  # People ids
        own = idx - off  # the member's own person ids (its draws are keyed by them)
        n = idx.size
        if n == 0:
            continue
        # households: geometric sizes with the population's mean, consecutive ids
        pgeo = 1.0 / pop.household_size
        hid = np.arange(hh_next, hh_next + n, dtype=np.int64)
        u = rng.random("create.household", 0, hid)
        if pgeo >= 1.0:
            sizes = np.ones(n, dtype=np.int64)
        else:
            sizes = 1 + np.floor(np.log1p(-u) / np.log1p(-pgeo)).astype(np.int64)
        ends = np.cumsum(sizes)
        hh_local = np.searchsorted(ends, np.arange(n), side="right")
        people.household[idx] = hh_next + hh_local
        hh_next += int(hh_local[-1]) + 1
        hh = people.household[idx].astype(np.int64)
        # intentions and motives are a household's; documents and speed a person's
        shares = np.array([pop.intentions.get("us", 0.0), pop.intentions.get("mexico", 0.0)])
        people.intent[idx] = np.where(
            rng.choice("create.intent", 0, hh, shares / shares.sum()) == 1, Intent.STAY, Intent.US)
        people.motive[idx] = np.where(
            rng.random("create.motive", 0, hh) < pop.protection, Motive.PROTECTION, Motive.ECONOMIC)
        docs = rng.random("create.documents", 0, own) < pop.documents
        people.flags[idx] = np.where(docs, DOCS, 0).astype(np.uint8)
        ids, w = sim.member_pop_dest[m][s.pop]
        people.dest[idx] = sim.dest_index[ids[rng.choice("create.destination", 0, hh, w)]]
        # the first waypoint still ahead of where they start (joiners skip those behind them)
        wp = np.zeros(n, dtype=np.int64)
        if pop.via:
            d = people.dest[idx].astype(np.int64)
            here = sim.routes.dist[d, s.place]
            behind = np.ones(n, dtype=bool)
            for j in range(len(pop.via)):
                vj = sim.via_table[s.pop, j]
                ahead = (sim.routes.dist[d, sim.dest_places[vj]] < here) & behind
                wp = np.where(behind & ~ahead, j + 1, wp)
                behind &= ~ahead
        people.wp[idx] = wp.astype(np.uint8)
        mv = p.movement
        sd = mv.foot_km_sd
        z = rng.normal("create.speed", 0, own)
        speed = mv.foot_km_per_day * np.exp(sd * z - sd * sd / 2)
        speed = np.minimum(speed, mv.max_foot_km_per_day)
        # a household walks at its slowest member's pace
        first = np.r_[0, np.nonzero(np.diff(hh_local))[0] + 1]
        hmin = np.minimum.reduceat(speed, first)
        people.speed[idx] = hmin[hh_local].astype(np.float32)
