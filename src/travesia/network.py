"""Places and legs compiled into arrays: CSR adjacency, distances, modes, route tables.

A leg is a two-way road; it becomes two directed *edges*. Edges are sorted by their start place
so that the edges leaving place ``p`` are ``indptr[p]:indptr[p+1]`` (CSR).

Route choice (:meth:`Network.route_table`): toward a destination ``d`` a person at place ``p``
may take any edge ``p→q`` that brings them strictly closer (``dist[d,q] < dist[d,p]``, so no
one walks in circles), with probability ∝ ``exp(-detour / detour_km)`` where
``detour = km(p→q) + dist[d,q] − dist[d,p]`` is what the hop adds to the shortest way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

MODE_BITS = {"foot": 1, "ride": 2, "bus": 4, "train": 8, "river": 16}
ROAD = MODE_BITS["foot"] | MODE_BITS["ride"] | MODE_BITS["bus"] | MODE_BITS["train"]
KINDS = (
    "origin", "town", "border_crossing", "shelter", "detention", "destination",
    "camp", "conflict_zone", "forwarding_hub", "marker",
)
KIND = {k: i for i, k in enumerate(KINDS)}
_ROUTE_TABLES: dict[bytes, "RouteTable"] = {}  # Network.route_table's last few, by what they are made from
_ROUTE_TABLES_KEPT = 8


@dataclass
class RouteTable:
    """Per destination: distance from every place, and up to K candidate next edges with cumulative weights."""

    dests: np.ndarray  # int32 [D] place index of each destination
    dist: np.ndarray  # float32 [D, P] km along roads; inf where unreachable
    hop: np.ndarray  # int32 [D, P, K] edge index, -1 padding
    cum: np.ndarray  # float32 [D, P, K] cumulative choice probability, 1.0 at and after the last valid


class Network:
    """The route network as arrays. Build with :meth:`from_tables`."""

    def __init__(self, places: pd.DataFrame, legs: pd.DataFrame):
        self.ids: list[str] = list(places["id"])
        self.names: list[str] = list(places["name"])
        self.index: dict[str, int] = {pid: i for i, pid in enumerate(self.ids)}
        self.n_places = len(self.ids)
        self.countries: list[str] = sorted(set(places["country"]))
        self.country = np.array([self.countries.index(c) for c in places["country"]], dtype=np.int16)
        regions = [r if isinstance(r, str) else "" for r in places.get("region", pd.Series([""] * self.n_places))]
        self.regions: list[str] = sorted({r for r in regions if r})
        self.region = np.array([self.regions.index(r) if r else -1 for r in regions], dtype=np.int16)
        self.kind = np.array([KIND[k] for k in places["kind"]], dtype=np.uint8)
        self.lat = places["lat"].to_numpy(np.float64)
        self.lon = places["lon"].to_numpy(np.float64)
        cap = places["capacity"] if "capacity" in places else pd.Series([-1] * self.n_places)
        self.capacity = cap.fillna(-1).to_numpy(np.int64)  # int64: a capacity beyond 2**31 must not wrap

        self.leg_a = np.array([self.index[a] for a in legs["a"]], dtype=np.int32)
        self.leg_b = np.array([self.index[b] for b in legs["b"]], dtype=np.int32)
        self.leg_km = legs["km"].to_numpy(np.float32)
        self.leg_modes = np.array(
            [sum(MODE_BITS[m] for m in str(ms).split("|")) for ms in legs["modes"]], dtype=np.uint8)
        self.n_legs = len(self.leg_a)

        src = np.concatenate([self.leg_a, self.leg_b])
        dst = np.concatenate([self.leg_b, self.leg_a])
        order = np.lexsort((dst, src))
        self.e_from = src[order].astype(np.int32)
        self.e_to = dst[order].astype(np.int32)
        self.e_km = np.concatenate([self.leg_km, self.leg_km])[order]
        self.e_modes = np.concatenate([self.leg_modes, self.leg_modes])[order]
        self.e_leg = np.concatenate([np.arange(self.n_legs), np.arange(self.n_legs)])[order].astype(np.int32)
        self.n_edges = len(self.e_from)
        self.indptr = np.zeros(self.n_places + 1, dtype=np.int32)
        np.add.at(self.indptr, self.e_from + 1, 1)
        self.indptr = np.cumsum(self.indptr).astype(np.int32)
        # a border crossing between countries: the edge enters another country
        self.e_cross = self.country[self.e_from] != self.country[self.e_to]
        self._road = None

    @classmethod
    def from_tables(cls, places: pd.DataFrame, legs: pd.DataFrame) -> "Network":
        return cls(places, legs)

    # ------------------------------------------------------------------ distances

    def _graph(self, modes: int = ROAD) -> csr_matrix:
        ok = (self.e_modes & modes) != 0
        # duplicate legs between the same two places: keep the shortest
        g = csr_matrix((self.e_km[ok].astype(np.float64) + 1e-9, (self.e_from[ok], self.e_to[ok])),
                       shape=(self.n_places, self.n_places))
        g.sum_duplicates()
        if ok.sum() != len(set(zip(self.e_from[ok].tolist(), self.e_to[ok].tolist()))):
            d = {}
            for a, b, k in zip(self.e_from[ok], self.e_to[ok], self.e_km[ok]):
                d[(a, b)] = min(d.get((a, b), np.inf), float(k) + 1e-9)
            ab = np.array(list(d.keys()), dtype=np.int64)
            g = csr_matrix((list(d.values()), (ab[:, 0], ab[:, 1])), shape=(self.n_places, self.n_places))
        return g

    def distances_to(self, targets: np.ndarray, modes: int = ROAD) -> np.ndarray:
        """Road km from every place to each target place: float64 [len(targets), P], inf if unreachable."""
        if self._road is None or modes != ROAD:
            g = self._graph(modes)
            if modes == ROAD:
                self._road = g
        else:
            g = self._road
        # edges are two-way, so distance to a target equals distance from it
        d = dijkstra(g, directed=True, indices=np.asarray(targets, dtype=np.int64))
        d = np.atleast_2d(d)
        d[np.isfinite(d)] = np.round(d[np.isfinite(d)], 6)
        return d

    def distance_between(self, a: int, b: int) -> float:
        return float(self.distances_to(np.array([b]))[0, a])

    # ------------------------------------------------------------------ routes

    def route_table(self, dests: np.ndarray, detour_km: float, k_max: int = 4) -> RouteTable:
        """Candidate next edges toward each destination (see the module docstring for the rule).

        A table is a pure function of the roads, ``dests``, ``detour_km`` and ``k_max``: the last
        few made are kept (shared, never written to), so the simulations of an ensemble's tasks,
        all routing the same way, compute it once per process."""
        dests = np.asarray(dests, dtype=np.int32)
        key = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in (
            self.e_from, self.e_to, self.e_km, self.e_modes, self.indptr, dests))
            + repr((self.n_places, float(detour_km), int(k_max))).encode()).digest()
        rt = _ROUTE_TABLES.pop(key, None)
        if rt is None:
            rt = self._route_table(dests, detour_km, k_max)
        _ROUTE_TABLES[key] = rt  # the latest last
        while len(_ROUTE_TABLES) > _ROUTE_TABLES_KEPT:
            del _ROUTE_TABLES[next(iter(_ROUTE_TABLES))]
        return rt

    def _route_table(self, dests: np.ndarray, detour_km: float, k_max: int) -> RouteTable:
        dist = self.distances_to(dests).astype(np.float64)
        D, Pn = dist.shape
        ok_e = (self.e_modes & ROAD) != 0
        hop = np.full((D, Pn, k_max), -1, dtype=np.int32)
        cum = np.ones((D, Pn, k_max), dtype=np.float32)
        for di in range(D):
            dd = dist[di]
            here = dd[self.e_from]
            there = dd[self.e_to]
            prog = ok_e & np.isfinite(there) & (there < here)
            detour = np.where(prog, self.e_km + there - here, np.inf)
            w = np.where(prog, np.exp(-np.maximum(detour, 0) / detour_km), 0.0)
            for p in range(Pn):
                a, b = self.indptr[p], self.indptr[p + 1]
                if a == b:
                    continue
                ws = w[a:b]
                cand = np.nonzero(ws > 0)[0]
                if cand.size == 0:
                    continue
                cand = cand[np.argsort(-ws[cand], kind="stable")][:k_max]
                pw = ws[cand] / ws[cand].sum()
                c = np.cumsum(pw)
                c[-1] = 1.0
                hop[di, p, : cand.size] = a + cand
                cum[di, p, : cand.size] = c
        return RouteTable(dests=dests, dist=dist.astype(np.float32), hop=hop, cum=cum)

    # ------------------------------------------------------------------ helpers

    def places_of_kind(self, *kinds: str) -> np.ndarray:
        return np.nonzero(np.isin(self.kind, [KIND[k] for k in kinds]))[0].astype(np.int32)

    def country_index(self, name: str) -> int:
        return self.countries.index(name)
