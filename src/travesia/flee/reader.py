"""Reading a FLEE input folder, with one clear error (file:line) per problem.

A FLEE folder (the layout FabFlee uses)::

    FLEE_DIR/
      input_csv/      locations.csv routes.csv [closures.csv] [conflicts.csv]
                      sim_period.csv (or conflict_period.csv) [registration_corrections.csv]
      source_data/    data_layout.csv and the count files it names
      simsetting.yml  (optional) FLEE's move_rules and spawn_rules

Everything is read the way FLEE 3.1 reads it (``#`` rows are comments; the first location's
country is the home country; a route's ``forced_redirection`` of 1 makes FLEE add the link twice).

**Read what FLEE reads, leave what it leaves, and say so.** This module is the one place that
decides. What FLEE 3.1 passes over gives one note (``FleeInput.notes``, printed as "note: ...")
and the import goes on:

- a file in ``input_csv/`` that FLEE does not read (a population table, a map, a second
  closures file): left aside;
- empty trailing column names in the ``conflicts.csv`` header (a header that ends in a comma):
  rows may stop before them, as FLEE only reads the fields a row has;
- a ``data_layout.csv`` row naming a place that is not in ``locations.csv``: its series is read
  (FLEE reads it, and sums it into the total with ``sum_from_camps``) but compared with nothing; the
  scenario keeps it only where it is summed (``sum_from_camps``, with ``--as-written``);
- a demographics column naming a place that is not in ``locations.csv``: never drawn from;
- a row of ``sim_period.csv`` other than StartDate and Length.

What FLEE itself stops on (a route to an unknown place, a malformed number, a conflicts row
longer than its header, a registration correction for a series that does not exist) stops the
import with the file, the line and exit status 2.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from travesia.errors import UserError, csv_records
from travesia.flee import data as fdata
from travesia.scenario.load import ATTRIBUTE_RE, read_input_text
from travesia.scenario.schema import MAX_COUNT, MAX_KM
from travesia.engine.processes.flee_rules.params import (CLOSURE_TYPES, MAX_DAY, MAX_INTENSITY, FleeClosure,
                                                          FleeParams)

INPUT_FILES = {
    "locations.csv": "places (required)",
    "routes.csv": "links (required)",
    "closures.csv": "border, location, link and camp closures",
    "conflicts.csv": "conflict intensity per location per day",
    "sim_period.csv": "StartDate and Length",
    "conflict_period.csv": "StartDate and Length (older name of sim_period.csv)",
    "registration_corrections.csv": "corrections of early camp registrations",
}
DEMOGRAPHICS = "demographics_"  # FLEE 3: input_csv/demographics_<attribute>.csv, per-location weights

# simsetting.yml keys travesia follows: FLEE name -> (flee param name, type)
MOVE_KEYS = {
    "max_move_speed": float, "max_walk_speed": float, "start_on_foot": bool, "avoid_short_stints": bool,
    "softening": float, "weight_softening": float, "distance_power": float, "weight_power": float,
    "awareness_level": int, "camp_weight": float, "foreign_weight": float, "conflict_weight": float,
    "conflict_movechance": float, "camp_movechance": float, "idpcamp_movechance": float,
    "default_movechance": float, "capacity_buffer": float, "capacity_scaling": float,
    "movechance_pop_base": float, "movechance_pop_scale_factor": float,
}
SPAWN_KEYS = {"sum_from_camps": bool, "conflict_spawn_decay": list, "conflict_spawn_decay_interval": int,
              "take_from_population": bool, "insert_day0": bool}
# keys FLEE reads (or FabFlee writes) that change nothing in the movement model travesia runs
IGNORED = {
    "move_rules": {"max_crossing_speed": "unused by FLEE 3.1's movement",
                   "home_distance_power": "used only with stay_close_to_home",
                   "pop_power_for_loc_weight": "used only with use_pop_for_loc_weight"},
    "spawn_rules": {"empty_camps_on_day0": "not read by FLEE 3.1",
                    "conflict_zone_spawning_only": "only conflict zones receive people either way",
                    "camps_are_sinks": "FLEE 3.1 reads 'camps_are_sicks' instead (a typo), so never set"},
}
# switches travesia does not implement: an error if they are on
UNSUPPORTED = {
    "move_rules": ("stay_close_to_home", "use_pop_for_loc_weight", "ChildrenAvoidHazards", "BoysTakeRisk",
                   "MatchCampEthnicity", "MatchTownEthnicity", "MatchConflictEthnicity"),
    "spawn_rules": ("conflict_driven_spawning", "flood_zone_spawning_only", "read_from_agents_csv_file",
                    "camps_are_sicks"),
}
# keys FabFlee's simsetting.yml carries but FLEE 3.1 never reads: applied only with as_written
NOT_READ_BY_FLEE31 = {
    "sum_from_camps": "FLEE 3.1 injects the increase of the 'total' series",
    "capacity_scaling": "FLEE 3.1 uses the camp capacities of locations.csv as they are",
    "conflict_spawn_decay_interval": "FLEE 3.1 uses 30 days",
}
TOP_KEYS = ("log_levels", "spawn_rules", "move_rules", "optimisations", "number_of_steps", "conflict_input_file",
            "flood_rules")


@dataclass
class FleeLoc:
    name: str
    region: str
    country: str
    lat: float
    lon: float
    type: str
    conflict_date: int
    population: int
    line: int


@dataclass
class FleeInput:
    """A FLEE folder, read and checked."""

    folder: Path
    start: dt.date
    length: int
    locations: list[FleeLoc]
    routes: list[tuple[str, str, float, int, int]]  # a, b, km, forced_redirection, line
    closures: list[FleeClosure]
    conflicts: dict[str, list[float]] | None  # name -> intensity per day (None: no conflicts.csv)
    tables: dict[str, np.ndarray]  # series name -> (day offset, count) table, corrections applied
    settings: dict
    notes: list[str] = field(default_factory=list)
    # FLEE 3 demographics: attribute -> (values, {"Default" or location name: weight per value})
    demographics: dict[str, tuple[list[str], dict[str, list[float]]]] = field(default_factory=dict)
    layout_rows: dict[str, str] = field(default_factory=dict)  # series name -> the data_layout.csv row naming it


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """CSV rows with their line numbers, skipping empty rows and ``#`` comments (FLEE's rule)."""
    text = read_input_text(path)
    out = []
    for lineno, row in csv_records(text, path):
        if not row or all(not c.strip() for c in row) or row[0].strip().startswith("#"):
            continue
        out.append((lineno, [c.strip() for c in row]))
    return out


def _int(v: str, what: str, where: str, ge: int | None = None, le: int | None = None) -> int:
    try:
        x = float(v)
    except ValueError:
        raise UserError(f"{what}: expected a whole number, got '{v}'", where=where) from None
    if not math.isfinite(x) or x != int(x):
        raise UserError(f"{what}: expected a whole number, got '{v}'", where=where)
    if ge is not None and x < ge:
        raise UserError(f"{what}: must be >= {ge}, got '{v}'", where=where)
    if le is not None and x > le:
        raise UserError(f"{what}: must be <= {le:,}, got '{v}'", where=where)
    return int(x)


def _float(v: str, what: str, where: str, ge: float | None = None, le: float | None = None) -> float:
    try:
        x = float(v)
    except ValueError:
        raise UserError(f"{what}: expected a number, got '{v}'", where=where) from None
    if not math.isfinite(x) or (ge is not None and x < ge):
        raise UserError(f"{what}: expected a finite number{f' >= {ge:g}' if ge is not None else ''}, got '{v}'",
                        where=where)
    if le is not None and x > le:
        raise UserError(f"{what}: must be <= {le:,.15g}, got '{v}'", where=where)
    return x


def read_period(path: Path, notes: list[str] | None = None) -> tuple[dt.date, int]:
    from travesia.options import MAX_DAYS

    start, length, where_length = None, None, str(path)
    seen: dict[str, int] = {}
    for ln, row in _rows(path):
        w = f"{path}:{ln}"
        key = row[0].lower()
        if len(row) < 2:
            raise UserError(f"expected 'StartDate,YYYY-MM-DD' or 'Length,N', got '{','.join(row)}'", where=w)
        if key in ("startdate", "length"):
            if key in seen:
                raise UserError(f"'{row[0]}' given twice (also on line {seen[key]}); keep one", where=w)
            seen[key] = ln
        if key == "startdate":
            try:
                start = dt.date.fromisoformat(row[1])
            except ValueError:
                raise UserError(f"StartDate: expected YYYY-MM-DD, got '{row[1]}'", where=w) from None
        elif key == "length":
            length, where_length = _int(row[1], "Length", w, ge=1), w
        elif notes is not None:  # FLEE reads the StartDate and Length rows only
            notes.append(f"{path.name}:{ln}: row '{row[0]}' left aside (FLEE reads StartDate and Length only)")
    if start is None or length is None:
        raise UserError("needs a 'StartDate,YYYY-MM-DD' row and a 'Length,N' row", where=str(path))
    if length > MAX_DAYS:
        raise UserError(f"Length: at most {MAX_DAYS:,} days (as a scenario's days), got {length:,}", where=where_length)
    if (dt.date.max - start).days < length:
        raise UserError(f"Length: {length:,} days from StartDate {start} run past {dt.date.max}, the last date "
                        "there is", where=where_length)
    return start, length


def read_locations(path: Path) -> list[FleeLoc]:
    locs: list[FleeLoc] = []
    seen: dict[str, int] = {}
    for ln, row in _rows(path):
        w = f"{path}:{ln}"
        if len(row) < 8:
            raise UserError(f"{len(row)} fields; expected name,region,country,latitude,longitude,location_type,"
                            f"conflict_date,population", where=w)
        name, region, country, lat, lon, ltype, cdate, popu = row[:8]
        if not name:
            raise UserError("empty location name", where=w)
        if name in seen:
            raise UserError(f"location '{name}' already defined on line {seen[name]}", where=w)
        seen[name] = ln
        t = ltype.lower()
        if not any(k in t for k in ("camp", "conflict", "forward", "marker", "town", "default")):
            raise UserError(f"location_type '{ltype}' is not one of conflict_zone, town, camp, idpcamp, "
                            f"forwarding_hub, marker", where=w)
        latf = _float(lat, "latitude", w) if lat else 0.0
        lonf = _float(lon, "longitude", w) if lon else 0.0
        if not (-90 <= latf <= 90 and -180 <= lonf <= 180):
            raise UserError(f"latitude/longitude out of range: {latf}, {lonf}", where=w)
        cd = 0
        if "conflict" in t:
            if cdate == "":
                raise UserError("a conflict_zone needs a conflict_date (day number; 0 = from the start)", where=w)
            cd = _int(cdate, "conflict_date", w, ge=0, le=MAX_DAY)
        pop = _int(popu, "population", w, ge=0, le=MAX_COUNT) if popu else 0
        locs.append(FleeLoc(name, region, country or "unknown", latf, lonf, ltype, cd, pop, ln))
    if not locs:
        raise UserError("no locations", where=str(path))
    return locs


def read_routes(path: Path, names: set[str]) -> list[tuple[str, str, float, int, int]]:
    out = []
    for ln, row in _rows(path):
        w = f"{path}:{ln}"
        if len(row) < 3:
            raise UserError(f"{len(row)} fields; expected name1,name2,distance[,forced_redirection]", where=w)
        a, b = row[0], row[1]
        for col, v in (("name1", a), ("name2", b)):
            if v not in names:
                raise UserError(f"{col}: unknown location '{v}' (not in locations.csv)", where=w)
        if a == b:
            raise UserError(f"a route from '{a}' to itself", where=w)
        km = _float(row[2], "distance", w, ge=0, le=MAX_KM)  # km: no road is longer than the equator
        fr = _int(row[3], "forced_redirection", w, ge=0) if len(row) > 3 and row[3] else 0
        if fr > 2:
            raise UserError(f"forced_redirection: expected 0, 1 or 2, got '{row[3]}'", where=w)
        out.append((a, b, km, fr, ln))
    if not out:
        raise UserError("no routes", where=str(path))
    return out


def read_closures(path: Path, names: set[str], countries: set[str]) -> list[FleeClosure]:
    out = []
    for ln, row in _rows(path):
        w = f"{path}:{ln}"
        if len(row) < 5:
            raise UserError(f"{len(row)} fields; expected closure_type,name1,name2,closure_start,closure_end", where=w)
        typ, a, b = row[0], row[1], row[2]
        if typ not in CLOSURE_TYPES:
            raise UserError(f"closure_type '{typ}' is not one of {', '.join(CLOSURE_TYPES)}", where=w)
        if typ == "country":
            for v in (a, b):
                if v not in countries:
                    raise UserError(f"unknown country '{v}' (countries in locations.csv: {', '.join(sorted(countries))})",
                                    where=w)
        else:
            need = (a, b) if typ in ("link", "remove_forced_redirection") else (a,)
            for v in need:
                if v not in names:
                    raise UserError(f"unknown location '{v}' (not in locations.csv)", where=w)
        start = _int(row[3], "closure_start", w, ge=0)
        end = _int(row[4], "closure_end", w, ge=-1)
        out.append(FleeClosure(type=typ, a=a, b=b, start=start, end=end))
    return out


def read_conflicts(path: Path, names: set[str], length: int, notes: list[str]) -> dict[str, list[float]]:
    text = read_input_text(path)
    rows = [(i, [c.strip() for c in r]) for i, r in csv_records(text, path)
            if r and any(c.strip() for c in r)]
    if not rows:
        raise UserError("empty file; expected a header '#Day,<location>,...'", where=str(path))
    hl, header = rows[0]
    if header[0].lstrip("#").strip().lower() != "day":
        raise UserError(f"the header must start with '#Day' (then location names), got '{header[0]}'", where=f"{path}:{hl}")
    # FLEE reads the fields a row has: empty names at the end of the header are never read
    width = len(header)
    while width > 1 and not header[width - 1]:
        width -= 1
    if width < len(header):
        notes.append(f"conflicts.csv:{hl}: the header ends in {len(header) - width} empty column name(s) "
                     f"(a trailing comma); rows may stop before them, as FLEE reads them")
    cols = header[1:width]
    for i, c in enumerate(cols):
        if not c:
            raise UserError("an empty location name in the header", where=f"{path}:{hl}")
        if c in cols[:i]:
            raise UserError(f"location '{c}' appears twice in the header (one column per location)",
                            where=f"{path}:{hl}")
        if c not in names:
            raise UserError(f"unknown location '{c}' in the header (not in locations.csv)", where=f"{path}:{hl}")
    series: dict[str, list[float]] = {c: [] for c in cols}
    for ln, row in rows[1:]:
        w = f"{path}:{ln}"
        if not width <= len(row) <= len(header) or any(row[width:]):
            want = f"{width}" if width == len(header) else f"{width} (up to {len(header)} with empty ones)"
            raise UserError(f"{len(row)} fields, expected {want} (as in the header)", where=w)
        day = _int(row[0], "Day", w, ge=0)
        if day != len(next(iter(series.values()), [])):
            raise UserError(f"day {day} out of order (expected day {len(next(iter(series.values()), []))})", where=w)
        for c, v in zip(cols, row[1:width]):
            series[c].append(_float(v, f"intensity of {c}", w, ge=0, le=MAX_INTENSITY))
    n = len(next(iter(series.values()), []))
    if series and n < length:
        notes.append(f"conflicts.csv has {n} days for a {length}-day run: the last row holds afterwards "
                     f"(FLEE 3.1 stops with an error)")
    return series


def read_settings(path: Path, as_written: bool = False) -> tuple[dict, list[str]]:
    """simsetting.yml → flee params (FLEE 3.1's defaults for keys it does not set).

    Keys FLEE 3.1 does not read (:data:`NOT_READ_BY_FLEE31`) are left out, as FLEE 3.1 leaves
    them, unless ``as_written``."""
    from travesia.scenario.load import MAX_YAML_BYTES, load_yaml_text

    notes: list[str] = []
    text = read_input_text(path, max_bytes=MAX_YAML_BYTES, encoding="utf-8")
    # size, depth and aliases limited before anything is expanded, as for scenario.yaml
    tree = load_yaml_text(text, str(path))
    if tree is None:
        return {}, notes
    if not isinstance(tree, dict):
        raise UserError("expected a mapping (move_rules:, spawn_rules:, ...)", where=str(path))

    def line_of(node, key) -> str:
        try:
            return f"{path}:{node.lc.key(key)[0] + 1}"
        except Exception:
            return str(path)

    out: dict = {}
    written: dict[str, tuple[str, str]] = {}  # flee param -> (key as simsetting.yml writes it, file:line)
    for top in tree:
        if top not in TOP_KEYS:
            raise UserError(f"unknown key '{top}' (known: {', '.join(TOP_KEYS)})", where=line_of(tree, top))
    if tree.get("flood_rules"):
        raise UserError("flood_rules are not supported by travesia's flee rules", where=line_of(tree, "flood_rules"))
    for section, keys in (("move_rules", MOVE_KEYS), ("spawn_rules", SPAWN_KEYS)):
        node = tree.get(section) or {}
        if not isinstance(node, dict):
            raise UserError(f"{section}: expected a mapping", where=line_of(tree, section))
        for k, v in node.items():
            w = line_of(node, k)
            if k in keys:
                typ = keys[k]
                try:
                    if typ is list:
                        val = None if v is None else [float(x) for x in v]
                    elif typ is bool:
                        if not isinstance(v, bool):
                            raise ValueError
                        val = v
                    else:
                        val = typ(v)
                        if typ is int and float(v) != int(v):
                            raise ValueError
                except (TypeError, ValueError, OverflowError):
                    raise UserError(f"{section}.{k}: expected {typ.__name__}, got {v!r}", where=w) from None
                if k in NOT_READ_BY_FLEE31 and not as_written:
                    notes.append(f"simsetting.yml {section}.{k} = {v} not applied: FLEE 3.1 does not read it "
                                 f"({NOT_READ_BY_FLEE31[k]}); import with --as-written to apply it")
                    continue
                out[k] = val
                written[k] = (f"{section}.{k}", w)
            elif k in UNSUPPORTED[section]:
                if v:
                    raise UserError(f"{section}.{k} is not supported by travesia's flee rules", where=w)
            elif k in IGNORED[section]:
                notes.append(f"simsetting.yml {section}.{k} ignored: {IGNORED[section][k]}")
            elif k == "use_v1_rules":
                if v:
                    v1 = dict(max_move_speed=200.0, start_on_foot=False, avoid_short_stints=False, camp_weight=2.0,
                              conflict_weight=0.25)
                    out.update(v1)
                    written.update({k1: (f"{section}.{k}", w) for k1 in v1})
            else:
                raise UserError(f"unknown key {section}.{k}", where=w)
    # each value in its range, the error naming the key as simsetting.yml writes it, at its line
    try:
        FleeParams.model_validate(out)
    except ValidationError as e:
        err = e.errors()[0]
        key, w = written.get(str(err["loc"][0]), (str(err["loc"][0]), str(path)))
        rest = "".join(f"[{p}]" for p in err["loc"][1:])
        raise UserError(f"{key}{rest}: {err['msg']}", where=w) from None
    opt = tree.get("optimisations") or {}
    if isinstance(opt, dict) and opt.get("hasten") is not None:
        h = opt["hasten"]
        if isinstance(h, bool) or not isinstance(h, (int, float)) or not math.isfinite(h) or h != int(h) or h < 1:
            raise UserError(f"optimisations.hasten: expected a whole number >= 1, got {h!r}",
                            where=line_of(opt, "hasten"))
        if int(h) != 1:
            notes.append(f"optimisations.hasten = {h} ignored: use travesia run --scale {1 / int(h):g}")
    return out, notes


def count_path(folder: Path, src: Path, name: str, where: str) -> Path:
    """The count file ``name`` of a data_layout.csv row (at ``where``): a path relative to
    source_data/ that stays inside the FLEE folder (symbolic links resolved)."""
    if Path(name).is_absolute():
        raise UserError(f"count file '{name}' is an absolute path; name a file inside the FLEE folder, relative "
                        "to source_data/", where=where)
    p = src / name
    if not p.resolve().is_relative_to(folder.resolve()):
        raise UserError(f"count file '{name}' lies outside the FLEE folder ({p.resolve()}); name a file inside it, "
                        "relative to source_data/", where=where)
    return p


def too_many(table: np.ndarray, what: str, where: str) -> None:
    """Counts above :data:`MAX_COUNT` (more people than live on Earth) stop the import."""
    ok = table[:, 1] <= MAX_COUNT
    if not ok.all():
        raise UserError(f"{what} {table[~ok, 1].max():,.0f} people, more than live on Earth (at most {MAX_COUNT:,})",
                        where=where)


def read_flee_folder(folder: str | Path, as_written: bool = False) -> FleeInput:
    """Read and check a FLEE input folder (see the module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("not a folder", where=str(folder))
    inp = folder / "input_csv"
    src = folder / "source_data"
    if not inp.is_dir():
        if (folder / "locations.csv").exists():
            inp = folder
        else:
            raise UserError("no input_csv/ folder (with locations.csv, routes.csv, ...) in this FLEE folder",
                            where=str(folder))
    notes: list[str] = []
    demo_files = []
    for f in sorted(inp.iterdir()):
        if f.name.startswith(".") or f.name in INPUT_FILES:
            continue
        if f.name.startswith(DEMOGRAPHICS) and f.name.endswith(".csv"):  # (read as a regular file, or refused)
            demo_files.append(f)
        elif f.is_file():
            notes.append(f"input_csv/{f.name}: not a file FLEE reads; left aside")
    for req in ("locations.csv", "routes.csv"):
        if not (inp / req).exists():
            raise UserError(f"missing {req}", where=str(inp))
    per = inp / "sim_period.csv"
    if not per.exists():
        per = inp / "conflict_period.csv"
    if not per.exists():
        raise UserError("missing sim_period.csv (StartDate,YYYY-MM-DD and Length,N)", where=str(inp))
    start, length = read_period(per, notes)
    locs = read_locations(inp / "locations.csv")
    names = {l.name for l in locs}
    countries = {l.country for l in locs}
    routes = read_routes(inp / "routes.csv", names)
    closures = read_closures(inp / "closures.csv", names, countries) if (inp / "closures.csv").exists() else []
    conflicts = None
    if (inp / "conflicts.csv").exists():
        conflicts = read_conflicts(inp / "conflicts.csv", names, length, notes)
    else:
        notes.append("no conflicts.csv: conflict zones start on their conflict_date (as FLEE documents; FLEE 3.1 "
                     "itself then ignores conflict dates after day 0)")

    # validation data
    tables: dict[str, np.ndarray] = {}
    layout_rows: dict[str, str] = {}
    layout = src / "data_layout.csv"
    if not layout.exists():
        raise UserError("missing source_data/data_layout.csv (total and camp count files)", where=str(folder))
    for ln, row in _rows(layout):
        w = f"{layout}:{ln}"
        if len(row) < 2:
            continue
        name = row[0]
        if name != "total" and name not in names:
            notes.append(f"data_layout.csv:{ln}: '{name}' is not a location in locations.csv; its counts are "
                         f"compared with nothing (as in FLEE)")
        if name in tables:
            raise UserError(f"'{name}' listed twice", where=w)
        files = [c for c in row[1:] if c]
        if not files:
            raise UserError(f"no count file named for '{name}'", where=w)
        t = fdata.read_count_file(count_path(folder, src, files[0], w), start, w)
        for extra in files[1:]:
            t = fdata.add_tables(t, fdata.read_count_file(count_path(folder, src, extra, w), start, w))
        too_many(t, f"the counts of '{name}' (its files summed) reach", w)
        tables[name] = t
        layout_rows[name] = w
    if not tables:
        raise UserError("no rows (expected 'total,refugees.csv' and 'Camp,camp.csv' rows)", where=str(layout))
    corr = inp / "registration_corrections.csv"
    if corr.exists():
        for ln, row in _rows(corr):
            w = f"{corr}:{ln}"
            if len(row) < 2:
                continue
            name = row[0]
            if name not in tables:
                raise UserError(f"'{name}' has no count series in data_layout.csv", where=w)
            try:
                day = (dt.date.fromisoformat(row[1]) - start).days
            except ValueError:
                raise UserError(f"expected a date YYYY-MM-DD, got '{row[1]}'", where=w) from None
            t = tables[name]
            hits = [i for i in range(1, len(t)) if int(t[i, 0]) == day and t[i - 1, 1] != 0]
            if len(hits) > 1:  # a date listed twice (rows out of date order): FLEE corrects at each
                factors = " and ".join(f"{t[i, 1] / t[i - 1, 1]:.3f}" for i in hits)
                notes.append(f"{corr.name}:{ln}: the counts of '{name}' list {row[1]} {len(hits)} times (rows out "
                             f"of date order); as FLEE, the correction applies at each, scaling the counts before "
                             f"each by {factors} (FLEE validates against the corrected counts, not the counts as "
                             "written)")
            tables[name] = fdata.apply_correction(t, day, w)
            too_many(tables[name], f"this correction scales the counts of '{name}' up to", w)
    settings: dict = {}
    for nm in ("simsetting.yml", "simsetting.yaml"):
        if (folder / nm).exists():
            settings, more = read_settings(folder / nm, as_written)
            notes.extend(more)
            break
    else:
        notes.append("no simsetting.yml: FLEE 3.1's default rules")
    demographics = {}
    for f in demo_files:
        attr, values, weights = read_demographics(f, names, notes)
        demographics[attr] = (values, weights)
    return FleeInput(folder=folder, start=start, length=length, locations=locs, routes=routes, closures=closures,
                     conflicts=conflicts, tables=tables, settings=settings, notes=notes, demographics=demographics,
                     layout_rows=layout_rows)


def read_demographics(path: Path, names: set[str], notes: list[str]) -> tuple[str, list[str], dict[str, list[float]]]:
    """A FLEE 3 ``demographics_<attribute>.csv``: ``<attribute>,Default,<location>...`` then one row
    per value with its weight in each column (FLEE draws with ``DataFrame.sample(weights=column)``:
    weights need not sum to 1; an empty weight counts as 0)."""
    attr = path.name[len(DEMOGRAPHICS):-len(".csv")]
    if not attr:
        raise UserError("expected demographics_<attribute>.csv (no attribute name)", where=str(path))
    if not ATTRIBUTE_RE.fullmatch(attr):
        raise UserError(f"attribute name '{attr}' (from the file name demographics_<attribute>.csv) must be letters, "
                        "digits and '_', not starting with a digit", where=str(path))
    rows = _rows_with_header(path)
    if not rows:
        raise UserError(f"empty file; expected a header '{attr},Default,<location>...'", where=str(path))
    hl, header = rows[0]
    where = f"{path}:{hl}"
    if header[0] != attr:
        raise UserError(f"the first column must be named '{attr}' (as the file name says), got '{header[0]}'",
                        where=where)
    cols = header[1:]
    if "Default" not in cols:
        raise UserError("no 'Default' column (the weights of locations without a column of their own)", where=where)
    for c in cols:
        if not c:
            raise UserError("an empty column name", where=where)
        if cols.count(c) > 1:
            raise UserError(f"column '{c}' appears twice", where=where)
    unknown = [c for c in cols if c != "Default" and c not in names]
    if unknown:
        notes.append(f"{path.name}:{hl}: column(s) {', '.join(unknown)} name no location in locations.csv; never "
                     f"drawn from (as in FLEE)")
    values: list[str] = []
    weights: dict[str, list[float]] = {c: [] for c in cols}
    for ln, row in rows[1:]:
        w = f"{path}:{ln}"
        if len(row) != len(header):
            raise UserError(f"{len(row)} fields, expected {len(header)} (as in the header)", where=w)
        if row[0] in values:
            raise UserError(f"value '{row[0]}' appears twice", where=w)
        values.append(row[0])
        for c, v in zip(cols, row[1:]):
            weights[c].append(_float(v, f"weight of {attr} '{row[0]}' in column {c}", w, ge=0) if v else 0.0)
    if not values:
        raise UserError(f"no values (expected rows '<{attr} value>,<weight>,...')", where=str(path))
    if len(values) > 255:
        raise UserError(f"{len(values)} values; at most 255 per attribute", where=str(path))
    for c in cols:
        if c in names or c == "Default":
            if sum(weights[c]) <= 0:
                raise UserError(f"the weights of column '{c}' sum to 0", where=where)
    weights = {c: v for c, v in weights.items() if c == "Default" or c in names}
    return attr, values, weights


def _rows_with_header(path: Path) -> list[tuple[int, list[str]]]:
    """CSV rows with their line numbers, skipping empty rows only (the header has no ``#``)."""
    text = read_input_text(path)
    return [(i, [c.strip() for c in r]) for i, r in csv_records(text, path)
            if r and any(c.strip() for c in r)]
