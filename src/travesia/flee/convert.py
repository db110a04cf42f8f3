"""``import-flee``: a FLEE input folder → a travesia scenario folder run by the ``flee`` rules.

How FLEE's concepts map onto a travesia scenario:

- each FLEE location → a place (the FLEE name is the place *name*; the id is the name made safe
  for ids); location_type → kind (conflict_zone, town, camp, forwarding_hub, marker; an idpcamp
  is a camp); a camp's population column → the place's capacity; the rest (FLEE type, conflict
  date, population) → ``flee.locations``;
- each route → a leg (a route with forced_redirection 1 twice, as FLEE links it twice);
- sim_period.csv → ``start`` and ``days``; simsetting.yml → the ``flee:`` parameters;
- conflicts.csv → ``flee.conflicts`` (change points); closures.csv → ``flee.closures``;
- the count files (registration corrections applied) → ``flee.counts`` (what the rules inject
  and pre-fill from) and observations.csv (quantity ``present`` at each camp: what the run is
  validated against);
- FLEE 3's ``demographics_<attribute>.csv`` → ``attributes`` (values, ``default`` and per-location
  weights): each person draws them when created, from the column of the place they start at;
- FLEE's agents → populations: one per camp with a day-0 count (``core`` = that count, all in
  the camp on day 0) and one per conflict zone that receives people (``size`` = what FLEE
  injects there over the run, ``core`` 0: the ``flee.injection`` process releases them day by
  day as FLEE spawns them).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from travesia.errors import UserError
from travesia.output import atomic_write
from travesia.scenario.schema import MAX_COUNT
from travesia.engine.processes.flee_rules.params import FleeParams, flee_params
from travesia.flee.reader import FleeInput, read_flee_folder

SCENARIO_FILES = ("scenario.yaml", "places.csv", "legs.csv", "observations.csv")


def _kind(ftype: str) -> str:
    t = ftype.lower()
    if "camp" in t:
        return "camp"
    if "conflict" in t:
        return "conflict_zone"
    if "forward" in t:
        return "forwarding_hub"
    if "marker" in t:
        return "marker"
    return "town"


def safe_id(name: str, used: set[str]) -> str:
    """A place id from a FLEE name: ASCII letters, digits, '_' and '-', unique."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    s = re.sub(r"[^A-Za-z0-9_\-]+", "_", s).strip("_") or "place"
    base, k = s, 2
    while s in used:
        s = f"{base}_{k}"
        k += 1
    used.add(s)
    return s


def _tables(fi: FleeInput) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    used: set[str] = set()
    ids = {l.name: safe_id(l.name, used) for l in fi.locations}
    places = pd.DataFrame([dict(
        id=ids[l.name], name=l.name, country=l.country, lat=l.lat, lon=l.lon, kind=_kind(l.type),
        region=l.region, capacity=l.population if _kind(l.type) == "camp" and l.population > 0 else -1,
        note=f"FLEE {l.type}", source=f"locations.csv:{l.line}") for l in fi.locations])
    legs = []
    for a, b, km, fr, ln in fi.routes:
        row = dict(a=ids[a], b=ids[b], km=km, modes="foot|ride|bus", note="", source=f"routes.csv:{ln}")
        legs.append(row)
        if fr == 1:  # FLEE 3.1 links a forced_redirection=1 route twice
            legs.append(dict(row, note="second link: FLEE links forced_redirection=1 routes twice"))
    return places, pd.DataFrame(legs), ids


def _change_points(series: list[float]) -> list[list]:
    out, last = [], None
    for d, v in enumerate(series):
        if v != last:
            out.append([d, float(v)])
            last = v
    return out


def flee_section(fi: FleeInput) -> dict:
    """The ``flee:`` dict of the scenario (parameters and FLEE inputs)."""
    sec: dict = dict(fi.settings)
    sec["home_country"] = fi.locations[0].country
    sec["locations"] = {l.name: {"type": l.type, "conflict_date": l.conflict_date, "population": l.population}
                        for l in fi.locations}
    if fi.conflicts is not None:  # (rows past the run change nothing: left out)
        conf = {n: _change_points(v[:fi.length]) for n, v in fi.conflicts.items() if any(x > 0 for x in v[:fi.length])}
    else:  # FLEE's documented meaning of conflict_date
        conf = {l.name: ([[0, 0.0], [l.conflict_date, 1.0]] if l.conflict_date > 0 else [[0, 1.0]])
                for l in fi.locations if "conflict" in l.type.lower()}
    sec["conflicts"] = conf
    sec["closures"] = [c.model_dump() for c in fi.closures]
    # a series of no location (a note of the reader) is read only to be summed into the total with
    # sum_from_camps: otherwise nothing reads it, and the scenario names only places
    names = {l.name for l in fi.locations}
    used = [n for n in fi.tables if n == "total" or n in names or sec.get("sum_from_camps")]
    sec["counts"] = {n: [[fi.start + dt.timedelta(days=int(d)), float(round(v, 6))] for d, v in fi.tables[n]]
                     for n in used}
    return sec


def build_scenario(fi: FleeInput, name: str) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """The scenario (raw dict), places, legs and observations for a FLEE folder."""
    from travesia.engine.processes.flee_rules.model import build_schedule
    from travesia.network import Network

    places, legs, ids = _tables(fi)
    sec = flee_section(fi)
    fp: FleeParams = flee_params(sec, where=str(fi.folder))
    net = Network.from_tables(places, legs)
    sched = build_schedule(fp, net, fi.length, fi.start)
    notes = list(fi.notes) + list(sched.notes)
    pops = []
    for p, n in sorted(sched.prefill.items()):
        pops.append(dict(name=f"in camp {net.names[p]}", origin=net.ids[p], start=fi.start, core=int(n), size=int(n),
                         household_size=1.0, group_size=1))
    total = sched.zone_cum[-1] if len(sched.zones) else []
    for z, n in zip(sched.zones, total):
        if n > MAX_COUNT:
            series = "the camps' counts" if fp.sum_from_camps else "the 'total' counts"
            raise UserError(f"FLEE would inject {int(n):,} people at '{net.names[z]}' over the run (the rises of "
                            f"{series}, added up), more than live on Earth (at most {MAX_COUNT:,})",
                            where=fi.layout_rows.get("total", str(fi.folder)) if not fp.sum_from_camps
                            else str(fi.folder / "source_data" / "data_layout.csv"))
        pops.append(dict(name=f"displaced from {net.names[z]}", origin=net.ids[z], start=fi.start, core=0,
                         size=int(n), household_size=1.0, group_size=1))
    raw = {
        "name": name,
        "description": f"Imported from the FLEE folder {fi.folder.name} by travesia import-flee.",
        "start": fi.start,
        "days": fi.length,
        "seed": 0,
        "rules": "flee",
        "populations": pops,
        "flee": sec,
    }
    if fi.demographics:
        raw["attributes"] = {
            a: {"values": values, "weights": {("default" if c == "Default" else c): w for c, w in weights.items()},
                "source": f"input_csv/demographics_{a}.csv (FLEE 3 demographics)"}
            for a, (values, weights) in fi.demographics.items()}
    obs = []
    end = fi.start + dt.timedelta(days=fi.length - 1)
    camps = set(places.loc[places["kind"] == "camp", "name"])
    for n, t in fi.tables.items():
        if n not in camps:
            continue
        for d, v in t:
            date = fi.start + dt.timedelta(days=int(d))
            if fi.start <= date <= end:
                # a camp's registered count is a count, not a lower bound: low = high
                obs.append(dict(date=date.isoformat(), place=n, quantity="present", low=round(float(v), 3),
                                high=round(float(v), 3),
                                caravan="", note="UNHCR count (FLEE validation data, registration corrections applied)",
                                sources="source_data/data_layout.csv"))
    obs_df = pd.DataFrame(obs, columns=["date", "place", "quantity", "low", "high", "caravan", "note", "sources"])
    return raw, places, legs, obs_df, notes


def _yaml_text(raw: dict, notes: list[str]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = None
    yaml.width = 4096
    yaml.representer.ignore_aliases = lambda *a: True
    buf = io.StringIO()
    head = ["# travesia scenario imported from a FLEE folder (travesia import-flee).",
            "# Run it with: travesia run THIS_FOLDER --out RESULTS"]
    head += [f"# note: {n}" for n in notes]
    yaml.dump(raw, buf)
    return "\n".join(head) + "\n" + buf.getvalue()


def _check_it_loads(files: dict[str, str], folder: Path) -> None:
    """The scenario made from a FLEE folder loads as ``travesia check`` and ``run`` load it; what
    the reader let through and the scenario refuses stops the import here, nothing written."""
    import tempfile

    from travesia.scenario.load import load_scenario

    with tempfile.TemporaryDirectory(prefix="travesia-import-flee-") as tmp:
        for fname, text in files.items():
            (Path(tmp) / fname).write_text(text, encoding="utf-8")
        try:
            load_scenario(tmp)
        except UserError as e:
            msg = str(e).replace(tmp + "/", "").replace(tmp, "")
            raise UserError(f"the scenario made from this FLEE folder would not load ({msg}); nothing was written",
                            where=str(folder)) from None


def import_flee(flee_dir: str | Path, out_dir: str | Path, *, force: bool = False, name: str | None = None,
                as_written: bool = False) -> dict:
    """Convert a FLEE input folder into a scenario folder. Returns {"out", "people", "notes", ...}.

    ``as_written`` also applies the simsetting.yml keys FLEE 3.1 does not read (sum_from_camps,
    capacity_scaling, conflict_spawn_decay_interval); by default the scenario runs as FLEE 3.1 does.
    """
    out = Path(out_dir)
    fi = read_flee_folder(flee_dir, as_written)
    if out.exists():
        if not out.is_dir():
            raise UserError("exists and is not a folder", where=str(out))
        if any(out.iterdir()) and not force:
            raise UserError("exists and is not empty; use --force to overwrite its scenario files", where=str(out))
    nm = name or Path(flee_dir).resolve().name
    raw, places, legs, obs, notes = build_scenario(fi, nm)
    pl = places[["id", "name", "country", "lat", "lon", "kind", "region", "capacity", "note", "source"]].copy()
    pl["capacity"] = pl["capacity"].map(lambda c: "" if c < 0 else str(int(c)))
    files = {
        "scenario.yaml": _yaml_text(raw, notes),
        "places.csv": pl.to_csv(index=False, lineterminator="\n"),
        "legs.csv": legs.rename(columns={"a": "from", "b": "to"})[["from", "to", "km", "modes", "note", "source"]]
        .to_csv(index=False, lineterminator="\n"),
        "observations.csv": obs.to_csv(index=False, lineterminator="\n"),
    }
    _check_it_loads(files, fi.folder)
    out.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        atomic_write(out / fname, text)
    people = int(sum(p["size"] for p in raw["populations"]))
    return {"out": out, "people": people, "places": len(places), "legs": len(legs), "days": fi.length,
            "observations": len(obs), "notes": notes}


__all__ = ["import_flee", "build_scenario", "safe_id", "np"]
