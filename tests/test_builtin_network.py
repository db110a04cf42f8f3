"""Consistency checks of the built-in caravan-2018 route network (CSV files only)."""

from __future__ import annotations

import csv
import re
from collections import defaultdict, deque
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
DATA = REPO / "src" / "travesia" / "builtin" / "caravan-2018"
SHARED = Path("/work/shared/data/caravan-2018")

KINDS = {"origin", "town", "border_crossing", "shelter", "detention", "destination"}
MODES = {"foot", "ride", "bus", "train", "river"}
COUNTRIES = {"Honduras", "Guatemala", "El Salvador", "Mexico", "United States"}
ORIGINS = ("san_pedro_sula", "san_salvador")
DESTINATIONS = {"tijuana", "mexicali", "reynosa", "matamoros", "ciudad_juarez"}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def places() -> list[dict[str, str]]:
    return _read(DATA / "places.csv")


@pytest.fixture(scope="module")
def legs() -> list[dict[str, str]]:
    return _read(DATA / "legs.csv")


def _graph(legs: list[dict[str, str]]) -> dict[str, set[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for leg in legs:
        g[leg["from"]].add(leg["to"])
        g[leg["to"]].add(leg["from"])
    return g


def _reachable(g: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        for n in g[todo.popleft()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def test_headers() -> None:
    def header(name: str) -> list[str]:
        with (DATA / name).open(newline="", encoding="utf-8") as f:
            return next(csv.reader(f))

    assert header("places.csv") == ["id", "name", "country", "region", "lat", "lon", "kind",
                                    "capacity", "note", "source"]
    assert header("legs.csv") == ["from", "to", "km", "modes", "note", "source"]
    assert header("observations.csv") == ["date", "place", "quantity", "low", "high",
                                          "caravan", "note", "sources"]


def test_places(places: list[dict[str, str]]) -> None:
    ids = [p["id"] for p in places]
    assert len(ids) == len(set(ids)), "duplicate place ids"
    assert len({p["name"] for p in places}) == len(places), "duplicate place names"
    for p in places:
        assert re.fullmatch(r"[a-z0-9_]+", p["id"]), p["id"]
        assert p["kind"] in KINDS, p
        assert p["country"] in COUNTRIES, p
        assert p["region"], p
        assert not p["name"].startswith("("), p
        assert -90 <= float(p["lat"]) <= 90 and -180 <= float(p["lon"]) <= 180, p
        if p["capacity"]:
            assert int(p["capacity"]) > 0 and p["source"], p
    kinds = {p["id"]: p["kind"] for p in places}
    assert DESTINATIONS <= {i for i, k in kinds.items() if k == "destination"}
    assert all(kinds[o] == "origin" for o in ORIGINS)


def test_legs(places: list[dict[str, str]], legs: list[dict[str, str]]) -> None:
    ids = {p["id"] for p in places}
    for leg in legs:
        assert leg["from"] in ids and leg["to"] in ids, leg
        assert leg["from"] != leg["to"], leg
        assert int(leg["km"]) > 0, leg
        modes = leg["modes"].split("|")
        assert modes and set(modes) <= MODES and len(modes) == len(set(modes)), leg
        assert leg["source"], leg
    river = [l for l in legs if l["modes"] == "river"]
    assert {frozenset((l["from"], l["to"])) for l in river} == {
        frozenset(("tecun_uman", "ciudad_hidalgo"))}


def test_connected(places: list[dict[str, str]], legs: list[dict[str, str]]) -> None:
    g = _graph(legs)
    ids = {p["id"] for p in places}
    for origin in ORIGINS:
        reach = _reachable(g, origin)
        assert reach == ids, f"unreachable from {origin}: {sorted(ids - reach)}"


def test_destinations_reachable_by_land(places: list[dict[str, str]],
                                        legs: list[dict[str, str]]) -> None:
    # even without the river crossing every destination is reachable from both origins
    g = _graph([l for l in legs if l["modes"] != "river"])
    dests = {p["id"] for p in places if p["kind"] == "destination"}
    for origin in ORIGINS:
        assert dests <= _reachable(g, origin), origin


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared caravan-2018 data not available")
def test_2018_legs_keep_shared_km(places: list[dict[str, str]],
                                  legs: list[dict[str, str]]) -> None:
    name_to_id = {p["name"]: p["id"] for p in places}
    km: dict[frozenset[str], set[int]] = defaultdict(set)
    for leg in legs:
        km[frozenset((leg["from"], leg["to"]))].add(int(leg["km"]))
    for s in _read(SHARED / "legs.csv"):
        key = frozenset((name_to_id[s["from"]], name_to_id[s["to"]]))
        assert int(s["road_km"]) in km[key], s
    # the Tecún Umán–Ciudad Hidalgo leg is split at the bridge without changing its length
    via_bridge = (min(km[frozenset(("tecun_uman", "suchiate_bridge"))])
                  + min(km[frozenset(("suchiate_bridge", "ciudad_hidalgo"))]))
    assert via_bridge == min(km[frozenset(("tecun_uman", "ciudad_hidalgo"))])


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared caravan-2018 data not available")
def test_shared_copies() -> None:
    assert (DATA / "events.csv").read_bytes() == (SHARED / "events.csv").read_bytes()
    ours = _read(DATA / "observations.csv")
    theirs = _read(SHARED / "observations.csv")
    # the shared rows, then the figures stated in MODEL.md (sourced as such)
    assert [{k: r[k] for k in theirs[0]} for r in ours[: len(theirs)]] == theirs
    assert all("MODEL.md" in r["sources"] for r in ours[len(theirs):])


def test_observation_places_resolve(places: list[dict[str, str]]) -> None:
    names = {p["name"] for p in places}
    for o in _read(DATA / "observations.csv"):
        if o["place"].startswith("(") and o["place"].endswith(")"):
            continue
        assert o["place"] in names, o["place"]
