"""Tables from a run's record, and writing a run folder atomically.

Quantities (MODEL.md), per place and per date:

- ``present``: travelling + resting + arrived + permit_pending at the place (people on a leg at the place
  left): everyone the town sees and feeds, people held at a border post (resting there) and people
  waiting in the town for a permit included; people in a migration station (asylum_pending) or in
  detention are counted apart (``asylum_waiting``, ``detained``);
- ``travelling``: people still on the move (travelling or resting); ``(all)`` is the caravan size;
- ``arrived``: cumulative people whose journey ended at the place (they stay there: a destination, or a
  town where those meaning to stay stop); people passing through are not counted;
- ``reached``: cumulative arrivals at the place, passing through included (a person passing twice,
  twice): Mexicali's ``reached`` counts those on their way to Tijuana, its ``arrived`` does not;
- ``crossed``: cumulative people who crossed a border at the place;
- ``returned``: people back home (their origin place);
- ``asylum_applied``: cumulative asylum applications made at the place;
- ``detained``: people in detention at the place at the end of the day;
- ``asylum_waiting``: asylum applicants waiting for a decision at the place (the migration station);
- ``settled``: people settled at the place (asylum or a permit to stay granted);
- ``permit_applied`` / ``permit_granted``: cumulative permit applications made / cards handed at the place;
- ``permit_waiting``: permit applicants waiting in the town at the end of the day (also in ``present``).

``totals_by_caravan.csv`` has the same quantities for each caravan (population) apart, with a
``caravan`` column, when the scenario has several. ``by_attribute.csv`` has ``present`` at each
place by the value of each person attribute (age, gender ...), when the scenario has any.

A place whose name is the start of others' names is the whole town (MODEL.md): its row counts
itself and every place named ``name (…)`` (``Tapachula`` includes ``Tapachula (Estación Migratoria
Siglo XXI)``), except for ``reached``, where passing the town and then its shelter would count one
person twice; so do not add up a town's row and its sub-places' rows.

Aggregates: ``(Country)`` and ``(Region)`` sum their places, except ``reached`` which sums
only destination places (arrivals at intermediate places would count one person many times);
``(all)`` sums everything the same way. (A journey ends once, so ``arrived`` sums every place.)
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
from travesia.engine.core import PRESENT
from travesia.engine.people import STATE_NAMES, State
from travesia.errors import UserError
from travesia.network import KIND

# what an ensemble keeps by default (--quantity chooses others)
CORE_QUANTITIES = ("present", "travelling", "arrived", "reached", "crossed", "returned", "asylum_applied", "detained")
QUANTITIES = CORE_QUANTITIES + ("asylum_waiting", "settled", "permit_applied", "permit_granted", "permit_waiting")
RUN_MARKER = ".travesia-run"


# where each quantity comes from: the states counted at a place at the end of a day, or a
# cumulative count of the record
QUANTITY_SOURCE: dict[str, tuple[State, ...] | str] = {
    "present": tuple(PRESENT),
    "travelling": (State.TRAVELLING, State.RESTING),
    "arrived": "ended",
    "reached": "arrived",
    "crossed": "crossed",
    "returned": (State.RETURNED,),
    "asylum_applied": "applied",
    "detained": (State.DETAINED,),
    "asylum_waiting": (State.ASYLUM_PENDING,),
    "settled": (State.SETTLED,),
    "permit_applied": "permit_applied",
    "permit_granted": "permit_granted",
    "permit_waiting": (State.PERMIT_PENDING,),
}


def quantity_of(quantity: str, counts: np.ndarray, cum: dict[str, np.ndarray]) -> np.ndarray:
    """One quantity as an int64 array [..., days, places], from a record's ``counts`` [..., days,
    places, states] and cumulative arrays ``cum`` [..., days, places] (any leading axes: members)."""
    src = QUANTITY_SOURCE[quantity]
    if isinstance(src, str):
        return cum[src].astype(np.int64, copy=False)
    return counts[..., list(src)].sum(axis=-1, dtype=np.int64)


def quantity_arrays(result, pop: int | None = None) -> dict[str, np.ndarray]:
    """Each quantity as a days × places int64 array (of one caravan with ``pop``)."""
    rec = result.record
    if pop is None:
        c, cum = rec.counts, rec.cum
    else:
        c, cum = rec.counts_pop[:, pop], {k: v[:, pop] for k, v in rec.cum_pop.items()}
    return {q: quantity_of(q, c, cum) for q in QUANTITY_SOURCE}


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


def city_matrix(names) -> np.ndarray:
    """places × places 0/1: column ``i`` is place ``i`` and every place named ``names[i] (…)``.

    A place whose name is the start of others' names is the whole town (MODEL.md): ``Tapachula``
    counts its fairground shelter and the Siglo XXI station, ``Tijuana`` its shelters."""
    names = list(names)
    m = np.eye(len(names), dtype=np.int64)
    at: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        at.setdefault(n, []).append(i)
    for j, o in enumerate(names):  # each " (" of a name ends a name it belongs to, if that is one
        k = o.find(" (")
        while k >= 0:
            for i in at.get(o[:k], ()):
                m[j, i] = 1
            k = o.find(" (", k + 1)
    return m


def totals_projection(net, quantity: str, places: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """The columns of ``totals.csv`` for one quantity: their names (places, then aggregates, kept to
    ``places`` if given) and a places × columns 0/1 matrix ``M`` such that a days × places array of
    the quantity ``@ M`` gives the days × columns totals (exact: integer arithmetic)."""
    is_dest = net.kind == KIND["destination"]
    cols = [city_matrix(net.names) if quantity != "reached" else np.eye(net.n_places, dtype=np.int64)]
    names = list(net.names)
    for name, mask in aggregate_members(net).items():
        m = mask & is_dest if quantity == "reached" else mask
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


PLAN_COLUMNS = ["date", "caravan", "body", "target", "hold", "route", "stage_km", "people"]
OFFER_COLUMNS = ["date", "caravan", "place", "seats", "km", "accepted"]


def plans_frame(result) -> pd.DataFrame | None:
    """``plans.csv``: each caravan's plan of each day (processes/plan.py), or None without plans.

    ``body`` is where most of the caravan is, ``target`` the place it heads for today (the body's
    place while it holds), ``hold`` the days of the hold left including today (0: a day on the
    move), ``route`` the destination of the branch it follows, ``stage_km`` the km from the body
    to the target, ``people`` the caravan's people on the move."""
    st = result.sim.shared.get("plan")
    log = st.member_log(result.member) if st is not None else None
    if not log:
        return None
    names = result.net.names
    rows = [(result.sim.start + dt.timedelta(days=d), result.sim.pop_names[k], names[b], names[t], h, names[r],
             round(km, 1), n) for d, k, b, t, h, r, km, n in log]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def offers_frame(result) -> pd.DataFrame | None:
    """``offers.csv``: every transport offer made (processes/offers.py), accepted or not."""
    st = result.sim.shared.get("offers")
    log = st.log[result.member] if st is not None else None
    if not log:
        return None
    names = result.net.names
    rows = [(result.sim.start + dt.timedelta(days=d), result.sim.pop_names[k], names[p], s, km, a)
            for d, k, p, s, km, a in log]
    return pd.DataFrame(rows, columns=OFFER_COLUMNS)


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
    from travesia.scenario.builtin import scenario_source

    return {
        "scenario": sim.params.name,
        "source": scenario_source(sim.loaded.folder),
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


# --------------------------------------------------------------------------- writing, never over a user's file
#
# The rules (README, "What travesia promises"):
# - a result folder (--out) is written into a hidden ``.NAME.partial-*`` folder beside it and takes
#   its place in one rename; a killed write never leaves anything at NAME that looks complete;
# - NAME may be new, an empty folder, or (with --force) an earlier travesia result whose files were
#   all written by travesia; anything else is refused before any work starts, and checked again at
#   the moment of the rename, which cannot replace what it did not check (renameat2 with
#   RENAME_NOREPLACE / RENAME_EXCHANGE on Linux; elsewhere a rename, which never replaces a
#   folder that is not empty);
# - leftovers of a killed write (``.NAME.partial-*``, ``.NAME.old-*``) are removed by the next write
#   to NAME, which says so;
# - a single file (a report) may be written at a new path, or over a file travesia wrote, with --force.

RUN_MARKER_MANIFEST = "files:"  # the marker's line before the names travesia wrote into the folder
_locks: dict[str, int] = {}
_replaces: dict[str, bool] = {}  # temporary folder -> it may replace an earlier result (checked with --force)


def _note(msg: str) -> None:
    from travesia.term import err

    err.print(f"note: {msg}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """rename(2) with flags (1 = RENAME_NOREPLACE, 2 = RENAME_EXCHANGE) where the system has it.

    Returns False when renameat2 is not available here (then the caller falls back); raises OSError
    (EEXIST, ENOENT ...) when it is available and refused."""
    import ctypes
    import errno

    if os.environ.get("TRAVESIA_NO_RENAMEAT2"):
        return False
    fn = _renameat2.fn if hasattr(_renameat2, "fn") else None
    if fn is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fn = libc.renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
        except (OSError, AttributeError):
            fn = False
        _renameat2.fn = fn
    if not fn:
        return False
    AT_FDCWD = -100
    r = fn(AT_FDCWD, os.fsencode(str(src)), AT_FDCWD, os.fsencode(str(dst)), flags)
    if r == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.ENOSYS, errno.EINVAL):  # no such call, or a file system without these flags
        return False
    raise OSError(e, os.strerror(e), str(src), None, str(dst))


def read_manifest(folder: Path) -> set[str] | None:
    """The names travesia wrote into a result folder (None for a folder written before manifests)."""
    try:
        text = (Path(folder) / RUN_MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if RUN_MARKER_MANIFEST not in lines:
        return None
    return {ln for ln in lines[lines.index(RUN_MARKER_MANIFEST) + 1:] if ln}


def _add_to_manifest(folder: Path, name: str) -> None:
    """Record that travesia wrote ``name`` into the result folder ``folder`` (if it is one)."""
    marker = Path(folder) / RUN_MARKER
    names = read_manifest(folder)
    if names is None or name in names:
        return
    try:
        with open(marker, "a", encoding="utf-8") as f:
            f.write(name + "\n")
    except OSError:
        pass


def foreign_files(folder: Path) -> list[str]:
    """Entries of an earlier travesia result folder that travesia did not write (sorted)."""
    names = read_manifest(folder)
    if names is None:  # written before manifests were kept: everything counts as travesia's
        return []
    return sorted(e.name for e in Path(folder).iterdir() if e.name != RUN_MARKER and e.name not in names)


def _resolve_out(out: Path) -> Path:
    """A symlinked --out is followed: the folder it points to is written (the link is kept)."""
    if out.is_symlink():
        return Path(os.path.realpath(out))
    return out


def _check_parent(out: Path) -> None:
    """The folders above ``out``: none of them a file, the nearest existing one writable."""
    name_max = 255
    try:
        name_max = os.pathconf(str(_nearest_existing(out.parent)), "PC_NAME_MAX")
    except (OSError, ValueError):
        pass
    for part in out.parts:
        if len(part.encode("utf-8", "surrogateescape")) > name_max:
            raise UserError(f"the name '{part[:40]}…' has {len(part)} characters; at most {name_max} fit "
                            "in a file name here", where=str(out)[:120])
    if len(out.name.encode("utf-8", "surrogateescape")) + 20 > name_max:
        raise UserError(f"the folder name is too long (at most {name_max - 20} characters, to leave room for the "
                        "temporary folder written beside it)", where=str(out)[:120])
    anc = _nearest_existing(out.parent)
    if not anc.is_dir():
        raise UserError(f"'{anc}' is a file, not a folder, so nothing can be written under it", where=str(out))
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UserError(f"cannot write in the folder '{anc}' (read-only or no permission); choose another --out",
                        where=str(out))


def _nearest_existing(p: Path) -> Path:
    p = Path(os.path.abspath(p))
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse an ``--out`` that may not be written, before any work: anything but a new path, an empty
    folder or (with ``force``) an earlier travesia result holding only what travesia wrote; a path
    under a file; a folder that cannot be written in."""
    out = _resolve_out(Path(out))
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise UserError("exists and is not a folder; choose another --out", where=str(out))
        try:
            entries = list(out.iterdir())
        except PermissionError:
            raise UserError("cannot be read (permission denied); choose another --out", where=str(out)) from None
        if entries:
            if not (out / RUN_MARKER).exists():
                raise UserError("exists, is not empty and is not a travesia run folder; "
                                "choose another --out (nothing was overwritten)", where=str(out))
            if not force:
                raise UserError("holds an earlier result; use --force to replace it", where=str(out))
            foreign = foreign_files(out)
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
                raise UserError(f"holds files travesia did not write ({shown}); move them out of the folder or "
                                "choose another --out (nothing was replaced)", where=str(out))
    _check_parent(out)


def _lock_of(partial: Path) -> Path:
    """The lock file beside a temporary folder: ``.NAME.partial-X`` -> ``.NAME.lock-X``."""
    head, _, suffix = partial.name.rpartition(".partial-")
    if not suffix:
        head, _, suffix = partial.name.rpartition(".old-")
    return partial.parent / f"{head}.lock-{suffix}"


def _held(lock: Path) -> bool:
    """True when a live process holds ``lock`` (a writer still at work)."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def clean_leftovers(out: Path) -> list[Path]:
    """Remove ``.NAME.partial-*`` / ``.NAME.old-*`` folders beside ``out`` left by a killed write
    (not those of a write still going on: their lock ``.NAME.lock-*`` is held); say so; return them.

    A writer takes its lock before it makes its folder, so a folder whose lock is missing or free
    belongs to no live process."""
    out = Path(out)
    removed = []
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return []
    for p in entries:
        if not p.name.startswith((f".{out.name}.partial-", f".{out.name}.old-")) or str(p) in _locks:
            continue
        if not p.is_dir() or p.is_symlink() or _held(_lock_of(p)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        if not p.exists():
            removed.append(p)
    for p in entries:  # locks of writers that are gone
        if p.name.startswith(f".{out.name}.lock-") and p.is_file() and not _held(p) and \
                str(p.parent / p.name.replace(".lock-", ".partial-")) not in _locks:
            try:
                os.unlink(p)
            except OSError:
                pass
    if removed:
        _note(f"removed {len(removed)} unfinished folder(s) left by an interrupted write to {out}: "
              + ", ".join(p.name for p in removed))
    return removed


def _take_lock(out: Path) -> tuple[int, Path]:
    """Create and hold ``.NAME.lock-X`` beside ``out`` (X random); return (fd, the partial folder path)."""
    import fcntl

    while True:
        fd, lock = tempfile.mkstemp(prefix=f".{out.name}.lock-", dir=out.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # a cleaner may have removed the file between its creation and our lock: then take another
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd, Path(lock.replace(".lock-", ".partial-"))
        except FileNotFoundError:
            pass
        os.close(fd)


def new_partial(out: str | Path, force: bool) -> Path:
    """Check ``out`` may be written (new, empty, or an earlier travesia result with ``force``) and
    return a temporary folder beside it to fill (its lock held while this process lives)."""
    out = _resolve_out(Path(out))
    check_out_dir(out, force)
    replaces = out.is_dir() and (out / RUN_MARKER).exists()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the folder ({e.strerror})", where=str(out.parent)) from None
    clean_leftovers(out)
    try:
        fd, tmp = _take_lock(out)
        os.mkdir(tmp, 0o700)
    except OSError as e:
        raise UserError(f"cannot write here ({e.strerror}); choose another --out", where=str(out)) from None
    _locks[str(tmp)] = fd
    _replaces[str(tmp)] = replaces
    return tmp


def _release(tmp: Path) -> None:
    fd = _locks.pop(str(tmp), None)
    if fd is not None:
        try:
            os.unlink(_lock_of(Path(tmp)))
        except OSError:
            pass
        os.close(fd)


def discard_partial(tmp: Path) -> None:
    """Remove a temporary folder from :func:`new_partial` (a write that failed)."""
    _release(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


def _appeared(out: Path) -> UserError:
    return UserError("something else was written here while this command ran (another run?); it was left "
                     "untouched and these results were not kept: run again with another --out", where=str(out))


def commit_partial(tmp: Path, out: str | Path, what: str) -> Path:
    """Mark ``tmp`` as a travesia result and let it take the place of ``out`` in one rename.

    ``out`` is checked again at the rename: a new path, an empty folder, or (if it was one when the
    command started) the earlier travesia result that was checked. Nothing else is ever replaced:
    a folder that appeared meanwhile is left alone and the command fails (exit 2)."""
    out = _resolve_out(Path(out))
    tmp = Path(tmp)
    may_replace = _replaces.pop(str(tmp), True)
    try:
        names = sorted(e.name for e in tmp.iterdir() if e.name != RUN_MARKER)
        (tmp / RUN_MARKER).write_text(f"travesia {__version__} {what}, {dt.datetime.now().isoformat()}\n"
                                      f"{RUN_MARKER_MANIFEST}\n" + "".join(n + "\n" for n in names),
                                      encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())  # made 0700: follow the umask like any new folder
        if os.path.lexists(out) and not out.is_dir():
            raise UserError("a file appeared here while this command ran; it was left untouched", where=str(out))
        if out.is_dir():
            try:
                os.rmdir(out)  # an empty folder: give it up (never anything in it)
            except OSError:
                pass
        if not out.exists():
            try:
                if not _renameat2(tmp, out, 1):  # RENAME_NOREPLACE
                    if os.path.lexists(out):
                        raise FileExistsError
                    os.rename(tmp, out)  # never replaces a folder that is not empty
            except (FileExistsError, IsADirectoryError, NotADirectoryError):
                raise _appeared(out) from None
            except OSError as e:
                import errno

                if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise _appeared(out) from None
                raise
            return out
        # an earlier result (checked with --force): it must still be one, holding only travesia's files
        if not may_replace or not (out / RUN_MARKER).exists() or foreign_files(out):
            raise _appeared(out)
        if _renameat2(tmp, out, 2):  # RENAME_EXCHANGE: the old result now sits at tmp
            if not (tmp / RUN_MARKER).exists() or foreign_files(tmp):  # changed in the instant between
                _renameat2(tmp, out, 2)
                raise _appeared(out)
            shutil.rmtree(tmp, ignore_errors=True)
            return out
        old = out.parent / f".{out.name}.old-{tmp.name.rpartition('.partial-')[2]}"  # under the same lock
        os.mkdir(old, 0o700)
        os.rename(out, old / "run")
        if not (old / "run" / RUN_MARKER).exists() or foreign_files(old / "run"):
            os.rename(old / "run", out)
            shutil.rmtree(old, ignore_errors=True)
            raise _appeared(out)
        try:
            os.rename(tmp, out)
        except OSError:
            os.rename(old / "run", out) if not out.exists() else None
            raise _appeared(out) from None
        shutil.rmtree(old, ignore_errors=True)
        return out
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _release(tmp)  # only now: a held lock keeps cleaners of other processes away until the end


def write_folder(out: str | Path, files: dict[str, str | bytes], force: bool, what: str) -> Path:
    """Write ``files`` (name -> content) as the folder ``out``, atomically; recorded in the manifest of
    the result folder it lies in, if any (a report's ``figures/`` inside a run)."""
    tmp = new_partial(out, force)
    try:
        for name, data in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        done = commit_partial(tmp, out, what)
    except BaseException:
        discard_partial(tmp)
        raise
    _add_to_manifest(done.parent, done.name)
    return done


def may_write_file(path: str | Path, force: bool, *, signature: bytes | None = None, option: str = "--out") -> Path:
    """Decide whether a single output file may be written at ``path``: a new path (its folder may be
    created), or a file travesia wrote earlier, and then only with ``force``. A file is travesia's
    when its folder's manifest lists it, or when it contains ``signature`` in its first 64 KiB (say,
    the generator tag of a report). Raises a UserError naming ``path`` otherwise; returns the path
    to write (a symlink followed)."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.is_dir():
        raise UserError(f"is a folder; {option} expects a file name", where=str(path))
    if os.path.lexists(path):
        ours = path.name in (read_manifest(path.parent) or set()) and path.name != RUN_MARKER
        if not ours and signature is not None:
            try:
                with open(path, "rb") as f:
                    ours = signature in f.read(65536)
            except OSError:
                ours = False
        if not ours:
            raise UserError(f"exists and was not written by travesia; choose another {option} "
                            "(nothing was overwritten)", where=str(path))
        if not force:
            raise UserError("holds an earlier travesia output; use --force to replace it", where=str(path))
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise UserError(f"cannot write in the folder '{path.parent}' (read-only)", where=str(path))
    else:
        _check_parent(path)
    return path


def write_file(path: str | Path, data: str | bytes, force: bool = False, *, signature: bytes | None = None,
               option: str = "--out") -> Path:
    """Write one output file atomically, by the rule of :func:`may_write_file`; checked again at the
    rename, so a file that appeared meanwhile is never replaced."""
    path = may_write_file(path, force, signature=signature, option=option)
    existed = os.path.lexists(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the folder ({e.strerror})", where=str(path.parent)) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        if existed:
            may_write_file(path, force, signature=signature, option=option)  # still travesia's
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if anything appeared at path meanwhile
            except FileExistsError:
                raise UserError("a file appeared here while this command ran; it was left untouched",
                                where=str(path)) from None
            os.unlink(tmp)
        _add_to_manifest(path.parent, path.name)
        return path
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write a file of travesia's own through a temporary file beside it, then rename it into place
    (mode 0666 & ~umask); recorded in its result folder's manifest."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _add_to_manifest(path.parent, path.name)


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
        **({"plans.csv": csv_text(pf)} if (pf := plans_frame(result)) is not None else {}),
        **({"offers.csv": csv_text(of)} if (of := offers_frame(result)) is not None else {}),
        "summary.json": json.dumps(summary(result), indent=2, ensure_ascii=False) + "\n",
        "scenario.resolved.yaml": resolved_yaml(result),
        **network_files(sim.loaded),
    }
    files.update(extra_files or {})
    return write_folder(out, files, force, "run")


OBSERVATION_COLUMNS = ["date", "place", "quantity", "low", "high", "caravan", "note", "sources"]


def network_files(loaded, observations: pd.DataFrame | None = None) -> dict[str, str]:
    """``places.csv``, ``legs.csv`` and ``observations.csv`` (``observations``, default the
    scenario's): what travels with every result folder, so that validation and reports need nothing
    else."""
    files = {
        "places.csv": csv_text(loaded.places[["id", "name", "country", "region", "lat", "lon", "kind", "capacity"]]),
        "legs.csv": csv_text(loaded.legs.rename(columns={"a": "from", "b": "to"})[["from", "to", "km", "modes"]]),
    }
    obs = loaded.observations if observations is None else observations
    if obs is not None:
        files["observations.csv"] = csv_text(obs[OBSERVATION_COLUMNS])
    return files


# --------------------------------------------------------------------------- reading result folders back


def check_values(df: pd.DataFrame, path: str | Path, *, dates=(), numbers=(), blank=()) -> pd.DataFrame:
    """Check the values of a table read from ``path`` (header on line 1): each column of ``dates``
    holds dates YYYY-MM-DD (kept as those strings), each of ``numbers`` finite numbers (made numbers);
    a column also in ``blank`` may have empty cells (NaN, or "" for a date). The first bad cell is a
    UserError naming the file, its line and column and what was expected. Columns not in ``df`` are
    not checked. Returns ``df``, changed in place."""
    path = str(path)

    def bad_at(mask: np.ndarray, col: str, expected: str) -> None:
        i = int(np.flatnonzero(mask)[0])
        v = str(df[col].iloc[i])
        shown = v if len(v) <= 40 else v[:40] + "…"
        raise UserError(f"column {col}: expected {expected}, got '{shown}'" if v != "" else
                        f"column {col}: expected {expected}, got an empty cell", where=f"{path}:{i + 2}")

    for c in dates:
        if c not in df.columns or not len(df):
            continue
        s = df[c].astype(str)
        ok = {}
        for v in pd.unique(s):
            good = v == "" and c in blank
            if not good and len(v) == 10 and v[4] == "-" and v[7] == "-":
                try:
                    dt.date.fromisoformat(v)
                    good = True
                except ValueError:
                    pass
            ok[v] = good
        if not all(ok.values()):
            bad_at(~s.map(ok).to_numpy(dtype=bool), c, "a date YYYY-MM-DD" + (" or nothing" if c in blank else ""))
        df[c] = s
    for c in numbers:
        if c not in df.columns or not len(df):
            continue
        s = df[c]
        num = s if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) else \
            pd.to_numeric(s, errors="coerce")
        bad = ~np.isfinite(num.to_numpy(dtype=float))
        if c in blank:
            bad &= (s.astype(str).str.strip() != "").to_numpy()
        if bad.any():
            bad_at(bad, c, "a number" + (" or nothing" if c in blank else ""))
        df[c] = num
    return df


def read_result_csv(path: str | Path, required: list[str], *, what: str = "run", dtype=None,
                    whole_days: bool = False, dates=(), numbers=(), blank=(), rows: bool = False) -> pd.DataFrame:
    """Read a table of a result folder, blaming the table itself when it is broken: missing, empty,
    not UTF-8, cut short (no final line end, or days with fewer rows than the others), or without
    its columns. ``whole_days``: every date has the same number of rows (totals.csv). ``dates``,
    ``numbers``, ``blank``: the values checked by :func:`check_values`; ``rows``: a header alone
    is an error too."""
    import csv as _csv_mod

    path = Path(path)
    if not path.exists():
        raise UserError(f"not a {what} folder: {path.name} is missing (make one with: travesia {what} ... --out DIR)",
                        where=str(path.parent))
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot be read ({e.strerror})", where=str(path)) from None
    if not raw.strip():
        expected = f"a header with columns {','.join(required)}" if required else "a CSV table with its header"
        raise UserError(f"empty file; expected {expected} (a broken {what} folder: run it again)", where=str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"not UTF-8 text at byte {e.start} (a corrupted {what} folder: run it again)",
                        where=str(path)) from None
    if not text.endswith("\n"):
        n = text.count("\n") + 1
        raise UserError(f"cut short: line {n} is incomplete (a truncated {what} folder: run it again)",
                        where=f"{path}:{n}")
    header = next(_csv_mod.reader(io.StringIO(text.split("\n", 1)[0])), [])
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise UserError(f"column {dup[0]} appears twice in the header", where=f"{path}:1")
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)} (expected {','.join(required)}; a corrupted "
                        f"{what} folder?)", where=f"{path}:1")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=dtype, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as e:
        raise UserError(f"cannot be read as CSV ({str(e).splitlines()[0]})", where=str(path)) from None
    if rows and df.empty:
        raise UserError(f"has a header but no rows (a broken {what} folder: run it again)", where=str(path))
    if "people" in df.columns and "people" not in numbers:  # every count is a number
        numbers = (*numbers, "people")
    check_values(df, path, dates=dates, numbers=numbers, blank=blank)
    if whole_days and "date" in df.columns and len(df):
        per = df.groupby("date", sort=False).size()
        if per.nunique() > 1:
            short = per[per != per.max()].index[0]
            raise UserError(f"date {short} has {per[short]} rows where the other dates have {per.max()} "
                            f"(a truncated or edited {what} folder: run it again)", where=str(path))
    return df
