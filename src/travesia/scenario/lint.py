"""Warnings about a scenario that loads but probably does not say what its author meant.

``travesia check`` prints them; none stops a run. Each warning names the file (and line or key).
"""

from __future__ import annotations

from pathlib import Path

from travesia.scenario.load import LoadedScenario, _line_for, read_yaml
from travesia.scenario.schema import Scenario

# files in a scenario folder that are never a scenario's input
IGNORED_FILES = {"README.md", "README.txt", "README", "LICENSE", ".gitignore"}


def files_read(s: LoadedScenario) -> set[str]:
    """The files of the folder the loader reads: scenario.yaml and every table the parameters name."""
    names = {"scenario.yaml"}
    for k in Scenario.model_fields:
        v = getattr(s.params, k)
        if isinstance(v, str) and "." in v and k not in ("name", "description"):
            names.add(Path(v).name if Path(v).parent == Path(".") else v)
    return names


def _closings(s: LoadedScenario) -> dict[str, list[tuple[str, str]]]:
    """Post id -> [(when, how)] for every time the post is closed: at the start or by a timeline event."""
    out: dict[str, list[tuple[str, str]]] = {}
    for pid, c in s.params.crossings.items():
        if c.rule == "closed":
            out.setdefault(pid, []).append(("from the start", "crossings." + pid + ".rule: closed"
                                            + (f" (exit_only {c.exit_only})" if c.exit_only else "")))
    for n, ev in enumerate(s.params.timeline, start=1):
        for k, v in ev.set.items():
            parts = k.split(".")
            if len(parts) == 3 and parts[0] == "crossings" and parts[2] == "rule" and v == "closed":
                only = ev.set.get(f"crossings.{parts[1]}.exit_only")
                out.setdefault(parts[1], []).append(
                    (f"by timeline event {n} ({ev.date})", k + " = closed" + (f" (exit_only {only})" if only else "")))
    return out


def scenario_warnings(s: LoadedScenario) -> list[str]:
    """Everything suspicious about a loaded scenario, as one line each."""
    warns: list[str] = []
    p = s.params
    ypath = (s.folder / "scenario.yaml") if s.folder is not None else Path("scenario.yaml")
    lines = {}
    if ypath.exists():
        try:
            lines = read_yaml(ypath)[1]
        except Exception:  # already loaded once: cannot fail differently
            lines = {}

    def at(loc: tuple) -> str:
        ln = _line_for(loc, lines)
        return f"{ypath}:{ln}" if ln else str(ypath)

    if s.observations is not None and len(s.observations):
        o = s.observations
        # observations dated outside the simulated period are never scored
        outside = o[(o["date"] < p.start) | (o["date"] > p.end)]
        for r in outside.itertuples(index=False):
            warns.append(f"{r.file}:{r.line}: observation dated {r.date} is outside the run's period "
                         f"{p.start}..{p.end}: it is never scored (change days: or the observation)")
        # an observation of a caravan the scenario does not have is read as everyone's at the place
        if "caravan" in o:
            names = {pop.name for pop in p.populations}
            for r in o[(o["caravan"].fillna("") != "") & ~o["caravan"].isin(names)].itertuples(index=False):
                warns.append(f"{r.file}:{r.line}: caravan '{r.caravan}' is none of the scenario's populations "
                             f"({', '.join(sorted(names))}): the observation is compared with everyone at {r.place}")
        # the same observation twice (same date, place, quantity, caravan and figures) counts twice in every score
        first: dict[tuple, int] = {}
        cols = [c for c in ("date", "place", "quantity", "caravan", "low", "high") if c in o]
        for key, r in zip(o[cols].astype(str).itertuples(index=False, name=None), o.itertuples(index=False)):
            if key in first:
                warns.append(f"{r.file}:{r.line}: the same observation as line {first[key]} ({r.date}, {r.place}, "
                             f"{r.quantity}): it counts twice in every score; remove one, or give each its own "
                             "figures if two sources reported them")
            else:
                first[key] = r.line
    # a leg listed twice (either way round, the same modes): two roads where one was probably meant
    if len(s.legs):
        seen: dict[tuple, int] = {}
        legs_file = s.folder / p.legs if s.folder is not None else Path(p.legs)
        for a, b, km, modes, line in zip(s.legs["a"], s.legs["b"], s.legs["km"], s.legs["modes"], s.legs["line"]):
            key = (*sorted((str(a), str(b))), str(modes))
            if key in seen:
                warns.append(f"{legs_file}:{line}: the leg {a} - {b} ({km:g} km, {modes}) is listed already (line "
                             f"{seen[key]}): two roads between the same places (distances use the shorter); "
                             "remove one if one was meant")
            else:
                seen[key] = line
    # files nobody reads
    if s.folder is not None:
        used = files_read(s)
        for f in sorted(s.folder.iterdir()):
            if f.is_file() and not f.name.startswith(".") and f.name not in used and f.name not in IGNORED_FILES:
                warns.append(f"{f}: nothing reads this file (the scenario reads {', '.join(sorted(used))}); "
                             "a timeline change goes into scenario.yaml's timeline:, observations into "
                             f"{p.observations or 'observations.csv'}")
    # an announced route through a post that is closed at some time
    closings = _closings(s)
    for i, pop in enumerate(p.populations):
        for j, v in enumerate(pop.via):
            for when, how in closings.get(v, []):
                warns.append(f"{at(('populations', i, 'via', j))}: population '{pop.name}' is announced through "
                             f"'{v}', which is closed {when}: {how}; people held there wait, go around (bypass, "
                             "breach) or give up as the parameters say (travesia params crossings)")
    return warns


def timeline_lines(s: LoadedScenario) -> list[str]:
    """The timeline numbered as --drop-event N counts it (from 1, in the order written)."""
    out = []
    for n, ev in enumerate(s.params.timeline, start=1):
        sets = ", ".join(f"{k}={v}" for k, v in ev.set.items())
        out.append(f"{n:>3}  {ev.date}  {sets}" + (f"  ({ev.note[:60]}{'…' if len(ev.note) > 60 else ''})"
                                                    if ev.note else ""))
    return out
