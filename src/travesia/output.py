"""Tables from a run's record, and writing a run folder atomically.

Quantities (MODEL.md), per place and per date:

- ``present``: travelling + resting + arrived at the place (people on a leg at the place left);
- ``travelling``: people still on the move (travelling or resting); ``(all)`` is the caravan size;
- ``arrived``: cumulative arrivals at the place (each arrival counts; a person passing twice, twice);
- ``crossed``: cumulative people who crossed a border at the place;
- ``returned``: people back home (their origin place);
- ``asylum_applied``: cumulative asylum applications made at the place;
- ``detained``: people in detention at the place at the end of the day.

``totals_by_caravan.csv`` has the same quantities for each caravan (population) apart, with a
``caravan`` column, when the scenario has several. ``by_attribute.csv`` has ``present`` at each
place by the value of each person attribute (age, gender ...), when the scenario has any.

Aggregates: ``(Country)`` and ``(Region)`` sum their places, except ``arrived`` which sums
only destination places (arrivals at intermediate places would count one person many times);
``(all)`` sums everything the same way.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from travesia import __version__
from travesia.engine.people import STATE_NAMES, State
from travesia.errors import UserError
from travesia.network import KIND

QUANTITIES = ("present", "travelling", "arrived", "crossed", "returned", "asylum_applied", "detained")
RUN_MARKER = ".travesia-run"


def quantity_arrays(result, pop: int | None = None) -> dict[str, np.ndarray]:
    """Each quantity as a days × places int64 array (of one caravan with ``pop``)."""
    rec = result.record
    if pop is None:
        c, cum = rec.counts.astype(np.int64), rec.cum
    else:
        c, cum = rec.counts_pop[:, pop].astype(np.int64), {k: v[:, pop] for k, v in rec.cum_pop.items()}
    return {
        "present": c[:, :, State.TRAVELLING] + c[:, :, State.RESTING] + c[:, :, State.ARRIVED],
        "travelling": c[:, :, State.TRAVELLING] + c[:, :, State.RESTING],
        "arrived": cum["arrived"],
        "crossed": cum["crossed"],
        "returned": c[:, :, State.RETURNED],
        "asylum_applied": cum["applied"],
        "detained": c[:, :, State.DETAINED],
    }


def aggregate_members(net) -> dict[str, np.ndarray]:
    """Aggregate place name → boolean mask over places: ``(Country)``, ``(Region)``, ``(all)``."""
    out: dict[str, np.ndarray] = {}
    for i, c in enumerate(net.countries):
        out[f"({c})"] = net.country == i
    for i, r in enumerate(net.regions):
        if f"({r})" not in out:
            out[f"({r})"] = net.region == i
    out["(all)"] = np.ones(net.n_places, dtype=bool)
    return out


def totals_by_caravan_frame(result, quantities=QUANTITIES, places: list[str] | None = None) -> pd.DataFrame | None:
    """``date,caravan,quantity,place,people``: totals_frame for each caravan (population) apart,
    without the places a caravan never touched (0 throughout); None when the run kept no
    per-caravan record (one population, or another rule set)."""
    rec = result.record
    if not getattr(rec, "n_pops", 0):
        return None
    frames = []
    for k, name in enumerate(result.sim.pop_names):
        f = totals_frame(result, quantities, places, pop=k)
        # places (and aggregates) this caravan never touched are left out: read them as 0
        used = f.groupby("place", sort=False)["people"].transform("max") > 0
        f = f[used]
        f.insert(1, "caravan", name)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def totals_projection(net, quantity: str, places: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """The columns of ``totals.csv`` for one quantity: their names (places, then aggregates, kept to
    ``places`` if given) and a places × columns 0/1 matrix ``M`` such that a days × places array of
    the quantity ``@ M`` gives the days × columns totals (exact: integer arithmetic)."""
    is_dest = net.kind == KIND["destination"]
    cols = [np.eye(net.n_places, dtype=np.int64)]
    names = list(net.names)
    for name, mask in aggregate_members(net).items():
        m = mask & is_dest if quantity == "arrived" else mask
        cols.append(m.astype(np.int64)[:, None])
        names.append(name)
    full = np.concatenate(cols, axis=1)
    if places is not None:
        want = set(places)
        keep = [i for i, n in enumerate(names) if n in want]
        full = full[:, keep]
        names = [names[i] for i in keep]
    return names, full


def totals_frame(result, quantities=QUANTITIES, places: list[str] | None = None, pop: int | None = None) -> pd.DataFrame:
    """``date,quantity,place,people`` for every quantity at every place and aggregate (one caravan
    with ``pop``)."""
    net = result.net
    dates = np.array(result.dates(), dtype="datetime64[D]")
    qa = quantity_arrays(result, pop)
    frames = []
    for q in quantities:
        all_names, proj = totals_projection(net, q, places)
        full = qa[q] @ proj
        D, Pn = full.shape
        frames.append(pd.DataFrame({
            "date": np.repeat(dates, Pn),
            "quantity": q,
            "place": np.tile(np.array(all_names, dtype=object), D),
            "people": full.reshape(-1),
        }))
    df = pd.concat(frames, ignore_index=True)
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


def daily_frame(result) -> pd.DataFrame:
    """``date,place,state,people`` for every date × place × state with people > 0."""
    c = result.record.counts
    d, p, s = np.nonzero(c)
    dates = np.array(result.dates(), dtype="datetime64[D]")
    df = pd.DataFrame({
        "date": dates[d],
        "place": np.array(result.net.names, dtype=object)[p],
        "state": np.array(STATE_NAMES, dtype=object)[s],
        "people": c[d, p, s].astype(np.int64),
    })
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


def flows_frame(result) -> pd.DataFrame:
    """``date,from,to,people``: people who set out along each leg (direction) that day, > 0."""
    f = result.record.flows
    net = result.net
    d, e = np.nonzero(f)
    names = np.array(net.names, dtype=object)
    dates = np.array(result.dates(), dtype="datetime64[D]")
    df = pd.DataFrame({"date": dates[d], "from": names[net.e_from[e]], "to": names[net.e_to[e]],
                       "people": f[d, e].astype(np.int64)})
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


def by_attribute_frame(result) -> pd.DataFrame | None:
    """``by_attribute.csv``: date, place (name), attribute, value, present — the people present
    (travelling + resting + arrived, as ``present`` in totals.csv) at each place each day by the
    value of each person attribute (scenario ``attributes:``); rows with nobody are left out. Over
    the values of one attribute, ``present`` adds up to totals.csv's ``present`` at that place.
    None when the scenario has no attributes."""
    rec = result.record
    if not getattr(rec, "by_attribute", None):
        return None
    dates = np.array([d.isoformat() for d in result.dates()])
    names = np.array(result.net.names, dtype=object)
    parts = []
    for a, arr in rec.by_attribute.items():
        values = np.array(result.params.attributes[a].values, dtype=object)
        d, p, v = np.nonzero(arr)
        parts.append(pd.DataFrame({"date": dates[d], "place": names[p], "attribute": a, "value": values[v],
                                   "present": arr[d, p, v]}))
    return pd.concat(parts, ignore_index=True)


def summary(result) -> dict:
    """Totals by final state, arrival dates per destination, size and speed of the run.

    Per destination: ``arrived`` counts people whose journey ended there (dates from them);
    ``reached`` counts every arrival there, people passing through on the way elsewhere included.
    """
    sim = result.sim
    net = result.net
    final = result.record.counts[-1].sum(axis=0)
    dates = result.dates()
    arr = result.record.cum["ended"]
    dests = {}
    for p in np.nonzero(net.kind == KIND["destination"])[0]:
        series = arr[:, p]
        total = int(series[-1])
        entry = {"arrived": total, "reached": int(result.record.cum["arrived"][-1, p]),
                 "first_arrival": None, "median_arrival": None}
        if total > 0:
            entry["first_arrival"] = dates[int(np.argmax(series > 0))].isoformat()
            entry["median_arrival"] = dates[int(np.argmax(series >= total / 2))].isoformat()
        dests[net.names[p]] = entry
    return {
        "scenario": sim.params.name,
        "seed": sim.seed,
        "start": sim.start.isoformat(),
        "end": dates[-1].isoformat(),
        "days": sim.days,
        "scale": sim.scale,
        "people_created": int(sim.n),
        "final_states": {name: int(final[i]) for i, name in enumerate(STATE_NAMES)},
        "destinations": dests,
        "wall_time_s": round(result.wall_s, 4),
        "live_person_days": result.live_agent_steps,
        "live_agent_steps_per_second": round(result.live_agent_steps_per_second, 1),
        "process_seconds": {k: round(v, 4) for k, v in sim.timings.items()},
        "bytes_per_person": sim.people.bytes_per_person(),
        "version": __version__,
    }


def resolved_yaml(result) -> str:
    """Every parameter actually used (defaults filled in), the seed and the package version."""
    from ruamel.yaml import YAML

    from travesia.scenario.load import validate_params

    sim = result.sim
    params = validate_params(sim.initial_raw, where="scenario")
    data = json.loads(params.model_dump_json())
    data = {"travesia_version": __version__, "scale": sim.scale, "overrides": sim.loaded.overrides, **data}
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 120
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def csv_text(df: pd.DataFrame) -> str:
    """CSV text with LF line ends (the same bytes on every platform)."""
    return df.to_csv(index=False, lineterminator="\n")


_csv = csv_text


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write a file through a temporary file beside it, then rename it into place (mode 0666 & ~umask)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse to replace anything that is not a previous travesia run; a run only with ``force``."""
    if out.exists():
        if not out.is_dir():
            raise UserError("exists and is not a folder; choose another --out", where=str(out))
        if any(out.iterdir()):
            if not (out / RUN_MARKER).exists():
                raise UserError("exists, is not empty and is not a travesia run folder; "
                                "choose another --out (nothing was overwritten)", where=str(out))
            if not force:
                raise UserError("holds an earlier run; use --force to replace it", where=str(out))


def new_partial(out: str | Path, force: bool) -> Path:
    """Check ``out`` may be written (new, empty, or an earlier travesia result with ``force``) and
    return a temporary folder beside it to fill."""
    out = Path(out)
    check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))


def commit_partial(tmp: Path, out: str | Path, what: str) -> Path:
    """Mark ``tmp`` as a travesia result and let it take the place of ``out`` (the old one removed)."""
    (tmp / RUN_MARKER).write_text(f"travesia {__version__} {what}, {dt.datetime.now().isoformat()}\n")
    out = Path(out)
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "run")
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)
    return out


def write_folder(out: str | Path, files: dict[str, str | bytes], force: bool, what: str) -> Path:
    """Write ``files`` (name -> content) as the folder ``out``, atomically."""
    tmp = new_partial(out, force)
    try:
        for name, data in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return commit_partial(tmp, out, what)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_run(result, out: str | Path, force: bool = False, extra_files: dict[str, str] | None = None) -> Path:
    """Write daily.csv, flows.csv, totals.csv, summary.json, scenario.resolved.yaml atomically.

    Everything is written into a temporary folder beside ``out`` which then takes its place, so a
    half-written run never looks complete.
    """
    sim = result.sim
    files = {
        "daily.csv": csv_text(daily_frame(result)),
        "flows.csv": csv_text(flows_frame(result)),
        "totals.csv": csv_text(totals_frame(result)),
        **({"totals_by_caravan.csv": csv_text(tbc)} if (tbc := totals_by_caravan_frame(result)) is not None else {}),
        **({"by_attribute.csv": csv_text(bya)} if (bya := by_attribute_frame(result)) is not None else {}),
        "summary.json": json.dumps(summary(result), indent=2, ensure_ascii=False) + "\n",
        "scenario.resolved.yaml": resolved_yaml(result),
        # the network travels with the run (for maps and reports)
        "places.csv": csv_text(sim.loaded.places[["id", "name", "country", "region", "lat", "lon", "kind",
                                                  "capacity"]]),
        "legs.csv": csv_text(sim.loaded.legs.rename(columns={"a": "from", "b": "to"})[["from", "to", "km", "modes"]]),
    }
    # the observations travel with the run, so that validation and reports need nothing else
    obs = sim.loaded.observations
    if obs is not None:
        cols = ["date", "place", "quantity", "low", "high", "caravan", "note", "sources"]
        files["observations.csv"] = csv_text(obs[cols])
    files.update(extra_files or {})
    return write_folder(out, files, force, "run")
