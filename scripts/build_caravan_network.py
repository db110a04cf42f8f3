#!/usr/bin/env python3
"""Build the route network of the built-in scenario ``caravan-2018``.

Reads the compiled facts in ``data/caravan-2018/`` of the shared folder (places, legs,
observations, events of the October 2018 caravan) and writes, reproducibly, the scenario's
``places.csv``, ``legs.csv``, ``observations.csv`` and ``events.csv`` under
``src/travesia/builtin/caravan-2018/``.

The shared data hold only the legs the 2018 caravan used. This script adds the other roads a
caravan could take (Gulf route to Reynosa and Matamoros, central route to Ciudad Juárez,
Mexicali and Nogales on the Pacific side, the Guatemalan highlands via La Mesilla, inland and
Atlantic approaches to Guatemala), with coordinates from the table ``EXTRA_PLACES`` below and
road lengths estimated as great-circle (haversine) km x 1.25, the method the shared data use.

Usage::

    python scripts/build_caravan_network.py [--shared /work/shared/data/caravan-2018]

Great-circle distances and the road factor come from ``travesia.toolkit.network`` (the
implementation behind ``travesia network``); run it with the project's virtual environment.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "src" / "travesia" / "builtin" / "caravan-2018"
DEFAULT_SHARED = Path("/work/shared/data/caravan-2018")

# the one implementation of great-circle road estimates (also behind `travesia network`)
from travesia.toolkit.network import ROAD_FACTOR, ROAD_MODES, haversine_km  # noqa: E402
SHARED_PLACES_SOURCE = "coordinates: shared data/caravan-2018/places.csv"
CITY_CENTRE = "approximate city-centre coordinates, rounded to 0.01°"

# --- places taken from the shared places.csv --------------------------------------------
# shared name -> (id, region, overrides). Overrides may set country, kind, capacity, and add
# to note / source. Regions are first-level divisions (department / state).
SHARED_PLACES: dict[str, tuple[str, str, dict[str, str]]] = {
    "San Pedro Sula": ("san_pedro_sula", "Cortés", {}),
    "La Entrada": ("la_entrada", "Copán", {}),
    "Santa Rosa de Copán": ("santa_rosa_de_copan", "Copán", {}),
    "Ocotepeque": ("ocotepeque", "Ocotepeque", {}),
    "Agua Caliente": ("agua_caliente", "Chiquimula", {
        "country": "Guatemala",
        "note": "Honduras/Guatemala crossing; country Guatemala, whose post controls entry "
                "for northbound travellers",
    }),
    "Esquipulas": ("esquipulas", "Chiquimula", {}),
    "Chiquimula": ("chiquimula", "Chiquimula", {}),
    "Guatemala City": ("guatemala_city", "Guatemala", {
        "capacity": "80",
        "source": "capacity: guess, to be calibrated (MODEL.md: 'a city shelter normally for "
                  "80 that received 3,000'; about 3,000 slept in Guatemala City on 17 Oct, "
                  "observations.csv, spread over three shelters, events.csv 2018-10-18)",
    }),
    "Escuintla": ("escuintla", "Escuintla", {}),
    "Mazatenango": ("mazatenango", "Suchitepéquez", {}),
    "Coatepeque": ("coatepeque", "Quetzaltenango", {}),
    "Tecún Umán": ("tecun_uman", "San Marcos", {}),
    "Suchiate bridge (Tecún Umán–Ciudad Hidalgo)": ("suchiate_bridge", "Chiapas", {
        "country": "Mexico",
        "note": "Guatemala/Mexico crossing (Rodolfo Robles bridge); country Mexico, whose "
                "post (INM, Federal Police) controls entry",
    }),
    "Ciudad Hidalgo": ("ciudad_hidalgo", "Chiapas", {}),
    "Tapachula": ("tapachula", "Chiapas", {}),
    "Tapachula (fairground shelter)": ("tapachula_fairground", "Chiapas", {}),
    "Huixtla": ("huixtla", "Chiapas", {}),
    "Mapastepec": ("mapastepec", "Chiapas", {}),
    "Pijijiapan": ("pijijiapan", "Chiapas", {}),
    "Tonalá": ("tonala", "Chiapas", {}),
    "Arriaga": ("arriaga", "Chiapas", {}),
    "San Pedro Tapanatepec": ("san_pedro_tapanatepec", "Oaxaca", {}),
    "Santo Domingo Zanatepec": ("santo_domingo_zanatepec", "Oaxaca", {}),
    "Niltepec": ("niltepec", "Oaxaca", {}),
    "Juchitán": ("juchitan", "Oaxaca", {}),
    "Matías Romero": ("matias_romero", "Oaxaca", {}),
    "Donají": ("donaji", "Oaxaca", {}),
    "Sayula de Alemán": ("sayula_de_aleman", "Veracruz", {}),
    "Acayucan": ("acayucan", "Veracruz", {}),
    "Isla": ("isla", "Veracruz", {}),
    "Córdoba": ("cordoba", "Veracruz", {}),
    "Puebla": ("puebla", "Puebla", {}),
    "Mexico City (Estadio Jesús Martínez)": ("mexico_city_estadio", "Ciudad de México", {
        "capacity": "6000",
        "source": "capacity: MODEL.md (stadium shelters held 5,000–6,000), upper figure, "
                  "to be calibrated",
    }),
    "Querétaro": ("queretaro", "Querétaro", {}),
    "Irapuato": ("irapuato", "Guanajuato", {}),
    "Guadalajara": ("guadalajara", "Jalisco", {}),
    "Guadalajara (Auditorio Benito Juárez)": ("guadalajara_auditorio", "Jalisco", {}),
    "La Venta del Astillero": ("la_venta_del_astillero", "Jalisco", {}),
    "Ixtlán del Río": ("ixtlan_del_rio", "Nayarit", {}),
    "Tepic": ("tepic", "Nayarit", {}),
    "La Concha (Escuinapa)": ("la_concha_escuinapa", "Sinaloa", {}),
    "Mazatlán": ("mazatlan", "Sinaloa", {}),
    "Culiacán": ("culiacan", "Sinaloa", {}),
    "Navojoa": ("navojoa", "Sonora", {}),
    "Ciudad Obregón": ("ciudad_obregon", "Sonora", {}),
    "Hermosillo": ("hermosillo", "Sonora", {}),
    "Caborca": ("caborca", "Sonora", {}),
    "San Luis Río Colorado": ("san_luis_rio_colorado", "Sonora", {}),
    "Mexicali": ("mexicali", "Baja California", {
        "kind": "destination",
        "note": "a shelter stop in 2018; here a destination at the US border",
    }),
    "Tijuana": ("tijuana", "Baja California", {}),
    "Tijuana (Unidad Deportiva Benito Juárez)": ("tijuana_benito_juarez", "Baja California", {
        "capacity": "5000",
        "source": "capacity: guess, to be calibrated (MODEL.md: stadium shelters held "
                  "5,000–6,000; lower figure)",
    }),
    "Tijuana (El Barretal)": ("tijuana_el_barretal", "Baja California", {}),
    "Tijuana (El Chaparral plaza)": ("tijuana_el_chaparral", "Baja California", {
        "note": "plaza before the San Ysidro port of entry, where asylum seekers wait",
    }),
    "San Ysidro": ("san_ysidro", "California", {"note": "US port of entry"}),
    "San Salvador": ("san_salvador", "San Salvador", {}),
    "La Hachadura": ("la_hachadura", "Ahuachapán", {
        "country": "El Salvador",
        "note": "El Salvador/Guatemala crossing (to Ciudad Pedro de Alvarado); country "
                "El Salvador, the exit side, as in the shared data",
    }),
}

# --- places added for the alternative routes --------------------------------------------
# (id, name, country, region, lat, lon, kind, note, source)
EXTRA_PLACES: list[tuple[str, str, str, str, float, float, str, str, str]] = [
    # Honduras -> Guatemala, Atlantic side
    ("corinto", "Corinto", "Guatemala", "Izabal", 15.60, -88.33, "border_crossing",
     "Honduras/Guatemala crossing (Corinto–El Cinchado); country Guatemala, whose post "
     "controls entry", "approximate position (±5 km) from general geography, not geocoded"),
    ("puerto_barrios", "Puerto Barrios", "Guatemala", "Izabal", 15.73, -88.60, "town",
     "", CITY_CENTRE),
    # El Salvador -> Guatemala, inland
    ("anguiatu", "Anguiatú", "Guatemala", "Chiquimula", 14.43, -89.48, "border_crossing",
     "El Salvador/Guatemala crossing north of Metapán; country Guatemala, whose post controls "
     "entry", "approximate position (±5 km) from general geography, not geocoded"),
    # Guatemalan highlands -> Chiapas
    ("huehuetenango", "Huehuetenango", "Guatemala", "Huehuetenango", 15.32, -91.47, "town",
     "", CITY_CENTRE),
    ("la_mesilla", "La Mesilla", "Mexico", "Chiapas", 15.64, -91.98, "border_crossing",
     "Guatemala/Mexico crossing (La Mesilla–Ciudad Cuauhtémoc); country Mexico, whose post "
     "controls entry", "approximate position (±5 km) from general geography, not geocoded"),
    ("talisman_bridge", "Talismán bridge (El Carmen–Talismán)", "Mexico", "Chiapas",
     14.96, -92.15, "border_crossing",
     "Guatemala/Mexico crossing over the Suchiate north of Tecún Umán; country Mexico, whose "
     "post controls entry", "approximate position (±3 km) from general geography, not geocoded"),
    ("comitan", "Comitán", "Mexico", "Chiapas", 16.25, -92.13, "town", "", CITY_CENTRE),
    ("san_cristobal", "San Cristóbal de las Casas", "Mexico", "Chiapas", 16.74, -92.64, "town",
     "", CITY_CENTRE),
    ("tuxtla_gutierrez", "Tuxtla Gutiérrez", "Mexico", "Chiapas", 16.75, -93.12, "town",
     "", CITY_CENTRE),
    ("tapachula_siglo_xxi", "Tapachula (Estación Migratoria Siglo XXI)", "Mexico", "Chiapas",
     14.91, -92.26, "detention",
     "INM migration station Siglo XXI; detainees taken there (events.csv 2018-10-26); named "
     "under Tapachula so that Tapachula's counts include it",
     "city coordinates (venue not geocoded), rounded to 0.01°"),
    # Gulf route
    ("veracruz", "Veracruz", "Mexico", "Veracruz", 19.18, -96.13, "town", "", CITY_CENTRE),
    ("tuxpan", "Tuxpan", "Mexico", "Veracruz", 20.96, -97.40, "town", "", CITY_CENTRE),
    ("tampico", "Tampico", "Mexico", "Tamaulipas", 22.23, -97.86, "town", "", CITY_CENTRE),
    ("ciudad_victoria", "Ciudad Victoria", "Mexico", "Tamaulipas", 23.74, -99.15, "town",
     "", CITY_CENTRE),
    ("reynosa", "Reynosa", "Mexico", "Tamaulipas", 26.09, -98.28, "destination",
     "border city opposite McAllen/Hidalgo, Texas", CITY_CENTRE),
    ("matamoros", "Matamoros", "Mexico", "Tamaulipas", 25.88, -97.50, "destination",
     "border city opposite Brownsville, Texas", CITY_CENTRE),
    ("hidalgo_tx", "Hidalgo, Texas", "United States", "Texas", 26.10, -98.26,
     "border_crossing", "US port of entry (Reynosa–Hidalgo bridge)", CITY_CENTRE),
    ("brownsville", "Brownsville", "United States", "Texas", 25.90, -97.50, "border_crossing",
     "US port of entry (Gateway bridge from Matamoros)", CITY_CENTRE),
    # central route
    ("san_luis_potosi", "San Luis Potosí", "Mexico", "San Luis Potosí", 22.15, -100.98, "town",
     "", CITY_CENTRE),
    ("monterrey", "Monterrey", "Mexico", "Nuevo León", 25.67, -100.31, "town", "", CITY_CENTRE),
    ("zacatecas", "Zacatecas", "Mexico", "Zacatecas", 22.77, -102.58, "town", "", CITY_CENTRE),
    ("torreon", "Torreón", "Mexico", "Coahuila", 25.54, -103.41, "town", "", CITY_CENTRE),
    ("chihuahua", "Chihuahua", "Mexico", "Chihuahua", 28.63, -106.09, "town", "", CITY_CENTRE),
    ("ciudad_juarez", "Ciudad Juárez", "Mexico", "Chihuahua", 31.74, -106.48, "destination",
     "border city opposite El Paso, Texas", CITY_CENTRE),
    ("el_paso", "El Paso", "United States", "Texas", 31.76, -106.49, "border_crossing",
     "US port of entry (Paso del Norte bridge)", CITY_CENTRE),
    # Pacific side
    ("calexico", "Calexico", "United States", "California", 32.67, -115.50, "border_crossing",
     "US port of entry (Calexico West, from Mexicali)", CITY_CENTRE),
    ("nogales", "Nogales", "Mexico", "Sonora", 31.31, -110.94, "destination",
     "border city opposite Nogales, Arizona", CITY_CENTRE),
    ("nogales_az_deconcini", "DeConcini port of entry (Nogales, Arizona)", "United States",
     "Arizona", 31.33, -110.94, "border_crossing",
     "US port of entry; not named 'Nogales …' so that it is not counted inside Nogales (Sonora)",
     "approximate position (±1 km), rounded to 0.01°"),
]

# --- legs added for the alternative routes (two-way roads) ------------------------------
# (from id, to id, modes, note); km = great-circle x 1.25 unless given in FIXED_KM.
EXTRA_LEGS: list[tuple[str, str, str, str]] = [
    # venues inside cities
    ("tapachula", "tapachula_fairground", ROAD_MODES, "within Tapachula"),
    ("tapachula", "tapachula_siglo_xxi", ROAD_MODES, "within Tapachula; migration station"),
    ("guadalajara", "guadalajara_auditorio", ROAD_MODES, "within Guadalajara"),
    ("tijuana", "tijuana_benito_juarez", ROAD_MODES, "within Tijuana"),
    ("tijuana", "tijuana_el_barretal", ROAD_MODES, "within Tijuana"),
    ("tijuana_benito_juarez", "tijuana_el_chaparral", ROAD_MODES,
     "shelter to the plaza before the port of entry"),
    ("tijuana_el_barretal", "tijuana_el_chaparral", ROAD_MODES,
     "shelter to the plaza before the port of entry"),
    ("tijuana_el_chaparral", "san_ysidro", "foot", "walk into the US port of entry"),
    # Honduras -> Guatemala, Atlantic side
    ("san_pedro_sula", "corinto", ROAD_MODES, "CA-13 via Puerto Cortés and Omoa"),
    ("corinto", "puerto_barrios", ROAD_MODES, "CA-13"),
    ("puerto_barrios", "guatemala_city", ROAD_MODES, "CA-9 (Atlantic highway)"),
    # El Salvador -> Guatemala
    ("san_salvador", "anguiatu", ROAD_MODES, "via Santa Ana and Metapán"),
    ("anguiatu", "chiquimula", ROAD_MODES, "CA-12 to the Esquipulas–Chiquimula road"),
    ("la_hachadura", "escuintla", ROAD_MODES, "CA-2 coastal highway, east part"),
    # Guatemala -> Mexico: highlands and Talismán
    ("guatemala_city", "huehuetenango", ROAD_MODES, "CA-1 (Pan-American highway)"),
    ("huehuetenango", "la_mesilla", ROAD_MODES, "CA-1"),
    ("la_mesilla", "comitan", ROAD_MODES, "Mex 190"),
    ("comitan", "san_cristobal", ROAD_MODES, "Mex 190"),
    ("san_cristobal", "tuxtla_gutierrez", ROAD_MODES, "Mex 190 / 190D"),
    ("tuxtla_gutierrez", "arriaga", ROAD_MODES, "Mex 190 / 195 to the coast"),
    ("coatepeque", "talisman_bridge", ROAD_MODES, "via Malacatán and El Carmen"),
    ("talisman_bridge", "tapachula", ROAD_MODES, "Mex 200"),
    # Isthmus / Veracruz -> Gulf route
    ("sayula_de_aleman", "acayucan", ROAD_MODES, "Mex 185 (Transisthmian)"),
    ("acayucan", "isla", ROAD_MODES, "Mex 145D"),
    ("acayucan", "veracruz", ROAD_MODES, "Mex 180 / 145D-150D"),
    ("cordoba", "veracruz", ROAD_MODES, "Mex 150D"),
    ("veracruz", "tuxpan", ROAD_MODES, "Mex 180 via Poza Rica"),
    ("tuxpan", "tampico", ROAD_MODES, "Mex 180"),
    ("tampico", "ciudad_victoria", ROAD_MODES, "Mex 81 / 85"),
    ("ciudad_victoria", "reynosa", ROAD_MODES, "Mex 101 / 97 via San Fernando"),
    ("ciudad_victoria", "matamoros", ROAD_MODES, "Mex 101 / 180 via San Fernando"),
    ("ciudad_victoria", "monterrey", ROAD_MODES, "Mex 85"),
    ("reynosa", "matamoros", ROAD_MODES, "Mex 2 along the border"),
    ("reynosa", "hidalgo_tx", "foot", "walk into the US port of entry"),
    ("matamoros", "brownsville", "foot", "walk into the US port of entry"),
    # central route
    ("queretaro", "san_luis_potosi", ROAD_MODES, "Mex 57"),
    ("san_luis_potosi", "zacatecas", ROAD_MODES, "Mex 49"),
    ("zacatecas", "torreon", ROAD_MODES, "Mex 49"),
    ("torreon", "chihuahua", ROAD_MODES, "Mex 49 / 45"),
    ("chihuahua", "ciudad_juarez", ROAD_MODES, "Mex 45"),
    ("ciudad_juarez", "el_paso", "foot", "walk into the US port of entry"),
    ("san_luis_potosi", "monterrey", ROAD_MODES, "Mex 57 via Saltillo"),
    ("monterrey", "reynosa", ROAD_MODES, "Mex 40"),
    # Pacific side
    ("mexicali", "calexico", "foot", "walk into the US port of entry"),
    ("hermosillo", "nogales", ROAD_MODES, "Mex 15"),
    ("nogales", "nogales_az_deconcini", "foot", "walk into the US port of entry"),
]

# Legs whose road winds far more than x 1.25 (the straight line crosses mountains): factor, why.
ROAD_FACTOR_OVERRIDE: dict[tuple[str, str], tuple[float, str]] = {
    ("san_pedro_sula", "corinto"): (2.9, "the road goes round the Merendón range by Puerto Cortés and "
                                         "Omoa (about 100 km); x 2.9 is a guess"),
}

# Shared 2018 legs whose road is also a crossing into a US port: foot only.
US_PORTS = {"san_ysidro", "calexico", "hidalgo_tx", "brownsville", "el_paso",
            "nogales_az_deconcini"}

PLACE_COLUMNS = ["id", "name", "country", "region", "lat", "lon", "kind", "capacity", "note",
                 "source"]
LEG_COLUMNS = ["from", "to", "km", "modes", "note", "source"]
OBS_COLUMNS = ["date", "place", "quantity", "low", "high", "caravan", "note", "sources"]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def build_places(shared_places: list[dict[str, str]]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for p in shared_places:
        name = p["place"]
        if name.startswith("("):
            continue  # aggregate rows (whole countries / regions)
        pid, region, over = SHARED_PLACES[name]
        note = p["note"]
        if over.get("note"):
            note = f"{note}; {over['note']}"
        source = SHARED_PLACES_SOURCE
        if over.get("source"):
            source = f"{source}; {over['source']}"
        rows.append({
            "id": pid, "name": name, "country": over.get("country", p["country"]),
            "region": region, "lat": p["lat"], "lon": p["lon"],
            "kind": over.get("kind", p["kind"]), "capacity": over.get("capacity", ""),
            "note": note, "source": source,
        })
    for pid, name, country, region, lat, lon, kind, note, source in EXTRA_PLACES:
        rows.append({
            "id": pid, "name": name, "country": country, "region": region,
            "lat": f"{lat:.2f}", "lon": f"{lon:.2f}", "kind": kind, "capacity": "",
            "note": note, "source": source,
        })
    missing = set(SHARED_PLACES) - {r["name"] for r in rows}
    if missing:
        raise SystemExit(f"shared places not found: {sorted(missing)}")
    return rows


def build_legs(shared_legs: list[dict[str, str]], places: list[dict[str, object]]
               ) -> list[dict[str, object]]:
    by_name = {str(p["name"]): p for p in places}
    by_id = {str(p["id"]): p for p in places}
    rows: list[dict[str, object]] = []
    for leg in shared_legs:
        a, b = str(by_name[leg["from"]]["id"]), str(by_name[leg["to"]]["id"])
        src = f"shared legs.csv road_km ({leg['method']})"
        if {a, b} == {"tecun_uman", "ciudad_hidalgo"}:
            split = "shared Tecún Umán–Ciudad Hidalgo leg (2 km) split at the Suchiate bridge"
            rows.append({"from": a, "to": "suchiate_bridge", "km": 1, "modes": ROAD_MODES,
                         "note": "2018 route; to the international bridge", "source": split})
            rows.append({"from": "suchiate_bridge", "to": b, "km": 1, "modes": ROAD_MODES,
                         "note": "2018 route; over the bridge through the Mexican post",
                         "source": split})
            rows.append({"from": a, "to": b, "km": leg["road_km"], "modes": "river",
                         "note": "crossing the Suchiate by raft or fording, bypassing the post",
                         "source": f"{src}; rafts and fording: shared events.csv "
                                   "2018-10-19, 2018-10-20, 2018-10-29"})
            continue
        modes = "foot" if {a, b} & US_PORTS else ROAD_MODES
        rows.append({"from": a, "to": b, "km": leg["road_km"], "modes": modes,
                     "note": "2018 route", "source": src})
    for a, b, modes, note in EXTRA_LEGS:
        pa, pb = by_id[a], by_id[b]
        gc = haversine_km(float(pa["lat"]), float(pa["lon"]), float(pb["lat"]), float(pb["lon"]))
        gc_r = round(gc)
        factor, why = ROAD_FACTOR_OVERRIDE.get((a, b), (ROAD_FACTOR, ""))
        km = round(gc * factor)
        if why:
            source = f"great-circle {gc_r} km x {factor}: {why}"
        elif km < 1:
            km = 1
            source = "great-circle under 1 km; 1 km nominal"
        if km < 1:
            km = 1
        elif not why:
            source = f"great-circle {gc_r} km x 1.25"
        rows.append({"from": a, "to": b, "km": km, "modes": modes, "note": note,
                     "source": source})
    seen: set[frozenset[str]] = set()
    for r in rows:
        key = frozenset((str(r["from"]), str(r["to"]), str(r["modes"])))
        if key in seen:
            raise SystemExit(f"duplicate leg {r}")
        seen.add(key)
    return rows


# Figures stated in the domain brief (shared MODEL.md) that are not rows of observations.csv.
MODEL_MD_OBSERVATIONS = [
    {"date": "2018-11-14", "place": "(Honduras)", "quantity": "returned", "low": "7000", "high": "7000",
     "caravan": "", "note": "about 7,000 Hondurans recorded back home by 14 November (all caravans)",
     "sources": "MODEL.md (shared domain brief)"},
]


def build_observations(shared_obs: list[dict[str, str]]) -> list[dict[str, object]]:
    return [{c: o[c] for c in OBS_COLUMNS} for o in shared_obs] + MODEL_MD_OBSERVATIONS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="folder with the shared caravan-2018 facts")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    places = build_places(read_csv(args.shared / "places.csv"))
    legs = build_legs(read_csv(args.shared / "legs.csv"), places)
    obs = build_observations(read_csv(args.shared / "observations.csv"))

    names = {str(p["name"]) for p in places}
    for o in obs:
        if not o["place"].startswith("(") and o["place"] not in names:
            raise SystemExit(f"observation place not in places.csv: {o['place']}")

    write_csv(args.out / "places.csv", PLACE_COLUMNS, places)
    write_csv(args.out / "legs.csv", LEG_COLUMNS, legs)
    write_csv(args.out / "observations.csv", OBS_COLUMNS, obs)
    (args.out / "events.csv").write_bytes((args.shared / "events.csv").read_bytes())
    print(f"wrote {len(places)} places, {len(legs)} legs, {len(obs)} observations to {args.out}")


if __name__ == "__main__":
    main()
