"""Reading a scenario folder: YAML with line numbers, CSV tables, --set overrides, cross-checks.

Every problem stops with one :class:`~travesia.errors.UserError` naming the file, the line or row
or key, and what was expected.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.reader import ReaderError

from travesia.errors import UserError, csv_records
from travesia.scenario.schema import MAX_COUNT, MAX_KM, Scenario

PLACE_KINDS = (
    "origin", "town", "border_crossing", "shelter", "detention", "destination",
    "camp", "conflict_zone", "forwarding_hub", "marker",
)
MODES = ("foot", "ride", "bus", "train", "river")
QUANTITIES = ("present", "travelling", "arrived", "reached", "crossed", "returned", "asylum_applied", "detained",
              "asylum_waiting", "settled", "permit_applied", "permit_granted", "permit_waiting")
ID_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
ATTRIBUTE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # an attribute name (attributes.NAME; FLEE's demographics_NAME.csv)

PLACE_COLUMNS = (["id", "name", "country", "lat", "lon", "kind"], ["region", "capacity", "note", "source"])
LEG_COLUMNS = (["from", "to", "km"], ["modes", "note", "source"])
EVENT_COLUMNS = (["date", "place", "kind", "description"], ["source_url", "source", "sources", "note"])
OBS_COLUMNS = (["date", "place", "quantity", "low", "high"], ["caravan", "note", "sources", "source"])


@dataclass
class LoadedScenario:
    """A validated scenario: parameters, the raw (override-applied) parameter tree, and its tables."""

    params: Scenario
    raw: dict
    places: pd.DataFrame
    legs: pd.DataFrame
    observations: pd.DataFrame | None
    folder: Path | None = None
    chronicle: pd.DataFrame | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    set_on_command: dict[str, Any] = field(default_factory=dict)  # those of ``overrides`` given by --set itself

    @property
    def name(self) -> str:
        return self.params.name


# --------------------------------------------------------------------------- YAML


def _plain(node: Any) -> Any:
    """A ruamel tree as built-in dicts, lists and scalars (ruamel's float, int and string subclasses
    remember their formatting, which nothing here needs, and copy ten times slower)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, ScalarBoolean):
        return bool(node)
    for t in (bool, int, float, str):
        if isinstance(node, t):
            return node if type(node) is t else t(node)
    return node


def _lines(node: Any, prefix: tuple = (), out: dict | None = None) -> dict:
    """Map every path (tuple of keys/indices) of a ruamel tree to its 1-based line number."""
    out = {} if out is None else out
    if isinstance(node, CommentedMap):
        for k, v in node.items():
            try:
                out[prefix + (str(k),)] = node.lc.key(k)[0] + 1
            except Exception:
                pass
            _lines(v, prefix + (str(k),), out)
    elif isinstance(node, CommentedSeq):
        for i, v in enumerate(node):
            try:
                out[prefix + (i,)] = node.lc.item(i)[0] + 1
            except Exception:
                pass
            _lines(v, prefix + (i,), out)
    return out


# limits on a YAML document, checked before anything is expanded (alias bombs, runaway files)
MAX_YAML_BYTES = 5_000_000
MAX_YAML_NODES = 500_000  # values after aliases are expanded
MAX_YAML_DEPTH = 64
# a longer line is no hand-written YAML, and ruamel's scanner is quadratic in one (a 1 MB comment: 26 s)
MAX_YAML_LINE = 100_000


# the largest input table read (a scenario's CSV tables, a FLEE folder's files): far above any real one
MAX_INPUT_BYTES = 64 * 2**20


def _not_regular(mode: int) -> str | None:
    """What a file of this ``st_mode`` is, if it is not a regular file."""
    for test, what in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_input_text(path: str | Path, *, what: str = "file", max_bytes: int | None = None,
                    encoding: str = "utf-8-sig", where: str | None = None) -> str:
    """The text of a file the user gave: a regular file (never a folder, device, FIFO or socket, which
    could hang the read or never end), of at most ``max_bytes`` bytes (default :data:`MAX_INPUT_BYTES`),
    in UTF-8. Each refusal is a UserError at ``where`` (default: the file itself; given, the message
    names the file)."""
    max_bytes = MAX_INPUT_BYTES if max_bytes is None else max_bytes
    path = Path(path)
    at = where or str(path)
    pre = f"{what} '{path}': " if where else ""
    try:  # O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused just below)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"{pre}not found" if where else f"{what} not found", where=at) from None
    except IsADirectoryError:
        raise UserError(f"{pre}is a folder, expected a file", where=at) from None
    except PermissionError:
        raise UserError(f"{pre}cannot be read (permission denied)", where=at) from None
    except OSError as e:
        raise UserError(f"{pre}cannot be read ({e.strerror})", where=at) from None
    try:
        st = os.fstat(fd)
        kind = _not_regular(st.st_mode)
    except OSError:
        os.close(fd)
        raise
    if kind:
        os.close(fd)
        raise UserError(f"{pre}is {kind}, expected a regular file", where=at)
    with os.fdopen(fd, "rb") as f:
        data = b""
        if st.st_size <= max_bytes:
            try:
                data = f.read(max_bytes + 1)
            except OSError as e:
                raise UserError(f"{pre}cannot be read ({e.strerror})", where=at) from None
        if st.st_size > max_bytes or len(data) > max_bytes:  # (or grew while read)
            raise UserError(f"{pre}file of {max(st.st_size, len(data)):,} bytes; at most {max_bytes:,} are read",
                            where=at)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise UserError(f"{pre}not UTF-8 text ({e.reason})", where=at) from None


def _check_yaml_nodes(root: Any, where: str, max_nodes: int) -> None:
    """Count the values of a composed YAML node graph as if its aliases were expanded (in time linear
    in the graph, before expanding anything); refuse one too large, too deep or recursive."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    memo: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: Any, depth: int) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if depth > MAX_YAML_DEPTH:
            raise UserError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", where=f"{where}:{node.start_mark.line + 1}")
        if key in busy:
            raise UserError("a YAML alias refers to itself (recursive structure)", where=f"{where}:{node.start_mark.line + 1}")
        busy.add(key)
        n = 1
        if isinstance(node, MappingNode):
            for k, v in node.value:
                n += size(k, depth + 1) + size(v, depth + 1)
                if n > max_nodes:
                    break
        elif isinstance(node, SequenceNode):
            for v in node.value:
                n += size(v, depth + 1)
                if n > max_nodes:
                    break
        busy.discard(key)
        memo[key] = n
        if n > max_nodes:
            raise UserError(f"YAML document too large once its aliases (*name) are expanded: more than "
                            f"{max_nodes:,} values (an alias bomb?); nothing was expanded", where=where)
        return n

    if root is not None:
        size(root, 0)


def _bad_scalar_line(root: Any) -> tuple[int, str] | None:
    """The line and text of the first date-like YAML scalar that is not a real date (2018-02-30)."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode) and node.tag.endswith(":timestamp"):
            txt = str(node.value)
            try:
                if len(txt) <= 10:
                    dt.date.fromisoformat(txt)
                else:
                    dt.datetime.fromisoformat(txt.replace("t", "T").replace(" ", "T", 1).rstrip("Zz"))
            except ValueError:
                return node.start_mark.line + 1, txt
        elif isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack += [v, k]
        elif isinstance(node, SequenceNode):
            stack += list(reversed(node.value))
    return None


def load_yaml_text(text: str, where: str, *, typ: str = "rt", max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse YAML text safely: size, depth and alias expansion limited before expanding anything;
    syntax errors and impossible values (``2018-02-30``) name the line of ``where``."""
    if len(text) > MAX_YAML_BYTES:
        raise UserError(f"YAML document of {len(text):,} characters; at most {MAX_YAML_BYTES:,} are read", where=where)
    if len(text) > MAX_YAML_LINE:
        for n, line in enumerate(text.splitlines(), 1):
            if len(line) > MAX_YAML_LINE:
                raise UserError(f"a line of {len(line):,} characters; a YAML line may have at most {MAX_YAML_LINE:,}",
                                where=f"{where}:{n}")
    yaml = YAML(typ=typ)
    try:
        root = YAML(typ="rt").compose(text)
        _check_yaml_nodes(root, where, max_nodes)
        return yaml.load(text)
    except MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise UserError(f"YAML syntax error: {e.problem}", where=f"{where}:{line}") from None
    except RecursionError:
        raise UserError("YAML nested too deeply", where=where) from None
    except ReaderError as e:  # a character YAML does not allow (a control character, say)
        line = text.count("\n", 0, max(e.position, 0)) + 1
        raise UserError(f"character {chr(e.character) if isinstance(e.character, int) else e.character!r} is not "
                        "allowed in YAML", where=f"{where}:{line}") from None
    except (ValueError, OverflowError, TypeError) as e:
        bad = _bad_scalar_line(root)
        if bad:
            raise UserError(f"'{bad[1]}' is not a valid date (YYYY-MM-DD)", where=f"{where}:{bad[0]}") from None
        raise UserError(f"YAML value that cannot be read: {e}", where=where) from None
    except Exception as e:  # ruamel's other YAMLErrors (duplicate keys, bad anchors ...)
        if type(e).__module__.startswith("ruamel"):
            raise UserError(f"YAML error: {e}", where=where) from None
        raise


def read_yaml(path: Path) -> tuple[dict, dict]:
    """Read a YAML mapping; return (plain dict, path -> line). Syntax errors name the line."""
    text = read_input_text(path, max_bytes=MAX_YAML_BYTES, encoding="utf-8")
    tree = load_yaml_text(text, str(path))
    if not isinstance(tree, dict):
        raise UserError("expected a mapping of keys (name:, start:, days:, ...) at the top", where=str(path))
    return _plain(tree), _lines(tree)


def _loc_str(loc: Iterable) -> str:
    s = ""
    for part in loc:
        if isinstance(part, int):
            s += f"[{part}]"
        else:
            s += ("." if s else "") + str(part)
    return s


def _line_for(loc: tuple, lines: dict) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def validate_params(raw: dict, *, where: str, lines: dict | None = None) -> Scenario:
    """Validate a parameter tree into a :class:`Scenario`, turning the first error into a UserError."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # pydantic appends the Literal/union member tag to some locations; keep the data path only
        loc = tuple(p for p in loc if not (isinstance(p, str) and p in ("literal", "str", "int", "float")))
        line = _line_for(loc, lines or {})
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        at = f"{where}:{line}" if line else where
        raise UserError(f"{_loc_str(loc)}: {msg}", where=at) from None


def revalidate(params: Scenario, raw: dict, sections: Iterable[str], *, where: str) -> Scenario:
    """:func:`validate_params` of ``raw``, a parameter tree that differs from the one ``params`` was
    validated from only under the top-level keys ``sections`` (a timeline event's paths): those
    sections are validated again, with the scenario's own checks (pydantic's assignment
    validation), and the others are ``params``' own (shared, not copied). The same
    :class:`Scenario` as a full validation gives, and the same error where one is wrong (a wrong
    value, or a section that is not there or is ``seed`` or ``days``, goes through a full validation)."""
    sections = sorted(set(sections))
    if any(k not in raw or k not in Scenario.model_fields or k in ("seed", "days") for k in sections):
        return validate_params(raw, where=where)
    new = params.model_copy()
    try:
        for k in sections:
            setattr(new, k, raw[k])
    except ValidationError:
        return validate_params(raw, where=where)
    return new


# --------------------------------------------------------------------------- paths (--set, events)


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X; other annotations unchanged."""
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) not in (None, dict, list) and len(args) == 1:
        return args[0]
    return tp


@functools.lru_cache(maxsize=4096)
def _walk_model(path: str) -> None:
    """Check that a dotted path names a parameter of the schema; raise ValueError if not (a path
    found is remembered: every member of a batch and every timeline event sets the same few)."""
    tp: Any = Scenario
    parts = path.split(".")
    for i, seg in enumerate(parts):
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if seg not in tp.model_fields:
                known = ", ".join(sorted(tp.model_fields))
                raise ValueError(f"unknown parameter '{'.'.join(parts[: i + 1])}' (known here: {known})")
            tp = tp.model_fields[seg].annotation
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1] if get_origin(tp) is dict else get_args(tp)[0]
        else:
            raise ValueError(f"'{'.'.join(parts[:i])}' is a value, it has no '{seg}'")


def check_path(path: str) -> None:
    """Raise ValueError unless ``path`` names a parameter (``movement.foot_km_per_day``)."""
    if not path or any(not p for p in path.split(".")):
        raise ValueError(f"'{path}' is not a dotted parameter path like movement.foot_km_per_day")
    _walk_model(path)


def set_path(raw: dict, path: str, value: Any) -> None:
    """Set ``value`` at a dotted ``path`` of a raw parameter tree (lists by index or by ``name``).

    Copy on write: each dict and list along the path below ``raw`` is replaced by a shallow copy
    before it is changed, never changed in place, so a tree that shares its unchanged branches with
    another (a member's parameters with the scenario's, :func:`~travesia.engine.sim.member_setup`;
    a run's parameters with their state at the start) is set without touching the other."""
    check_path(path)
    parts = path.split(".")
    node: Any = raw
    for i, seg in enumerate(parts[:-1]):
        if isinstance(node, list):
            j = _list_index(node, seg, parts[: i + 1])
            node[j] = _shallow(node[j])
            node = node[j]
        else:
            node[seg] = {} if node.get(seg) is None else _shallow(node[seg])
            node = node[seg]
    last = parts[-1]
    if isinstance(node, list):
        idx = _list_index(node, last, parts)
        node[idx] = value
    else:
        node[last] = value


def _shallow(x: Any) -> Any:
    """A shallow copy of a dict or list (anything else as it is)."""
    return dict(x) if isinstance(x, dict) else list(x) if isinstance(x, list) else x


def get_path(raw: dict, path: str, default: Any = None) -> Any:
    node: Any = raw
    for seg in path.split("."):
        if isinstance(node, list):
            try:
                node = _list_item(node, seg, [seg])
            except ValueError:
                return default
        elif isinstance(node, dict) and seg in node:
            node = node[seg]
        else:
            return default
    return node


def _list_index(node: list, seg: str, parts: list[str]) -> int:
    if seg.isdigit() and int(seg) < len(node):
        return int(seg)
    for j, item in enumerate(node):
        if isinstance(item, dict) and str(item.get("name")) == seg:
            return j
    raise ValueError(f"'{'.'.join(parts)}': no list item with index or name '{seg}'")


def _list_item(node: list, seg: str, parts: list[str]) -> Any:
    return node[_list_index(node, seg, parts)]


def check_applies(path: str, raw: dict, places: pd.DataFrame) -> None:
    """Raise ValueError unless ``path`` names a parameter of *this* scenario: a population it has
    (by name or index), a place id under ``crossings.``, a country of its places under ``countries.``.

    (:func:`check_path` checks the schema only; a prior or event naming ``populations.first.size``
    on a scenario without population ``first`` passes it and would fail later, in the runs.)
    """
    check_path(path)
    parts = path.split(".")
    if parts[0] == "crossings" and len(parts) > 1 and parts[1] not in set(places["id"]):
        raise ValueError(f"'{path}': no place with id '{parts[1]}' in places.csv")
    if parts[0] == "countries" and len(parts) > 1 and parts[1] not in set(places["country"]):
        raise ValueError(f"'{path}': no country '{parts[1]}' in places.csv "
                         f"(countries: {', '.join(sorted(set(places['country'])))})")
    trial = copy.deepcopy(raw)
    set_path(trial, path, 0)  # raises ValueError for a list item (population, bus ...) that is not there


def parse_value(text: str) -> Any:
    """Parse the right-hand side of ``--set k=v`` as a YAML scalar (numbers, booleans, dates, text)."""
    try:
        v = load_yaml_text(text, "--set", typ="safe", max_nodes=10_000)
    except UserError as e:
        if "syntax error" in str(e) or "not a valid date" in str(e):
            return text  # not YAML: plain text (the schema says whether text is allowed there)
        raise
    return text if v is None and text.strip() not in ("null", "~", "") else v


def parse_overrides(items: Iterable[str], events: Iterable[str] = (), drops: Iterable[str] = ()) -> dict[str, Any]:
    """Turn ``["movement.foot_km_per_day=40", ...]`` (and ``--event``/``--drop-event`` items, see
    :func:`parse_events`) into an overrides dict; bad items are UserErrors."""
    out: dict[str, Any] = parse_events(events, drops)
    for item in items:
        if "=" not in item:
            raise UserError(f"expected KEY=VALUE, e.g. movement.foot_km_per_day=40; got '{item}'", where="--set")
        k, v = item.split("=", 1)
        k = k.strip()
        try:
            check_path(k)
        except ValueError as e:
            raise UserError(str(e), where="--set") from None
        out[k] = parse_value(v)
    return out


# --------------------------------------------------------------------------- --event / --drop-event

# keys of an overrides dict that add or drop timeline events (not parameter paths)
ADD_EVENTS = "timeline+"
DROP_EVENTS = "timeline-"


def parse_events(events: Iterable[str] = (), drops: Iterable[str] = ()) -> dict[str, Any]:
    """Turn ``--event DATE:path=value`` and ``--drop-event N|DATE|PATH`` into overrides entries.

    ``--event 2019-01-17:crossings.x.rule=open`` adds one timeline event (several ``path=value``
    may follow the date, separated by ``;``). ``--drop-event`` removes, before the additions, the
    N-th event of the scenario's timeline (counting from 1 as written, as ``travesia check
    --timeline`` lists them), every event dated DATE, or the change of PATH (and of every path under
    it) from every event that makes it (an event left with no change is dropped).
    """
    out: dict[str, Any] = {}
    added = []
    for item in events:
        if ":" not in item or "=" not in item:
            raise UserError(f"expected DATE:path=value, e.g. 2019-01-17:crossings.x.rule=open; got '{item}'",
                            where="--event")
        d, rest = item.split(":", 1)
        try:
            date = dt.date.fromisoformat(d.strip())
        except ValueError:
            raise UserError(f"'{d}' is not a date YYYY-MM-DD (in '{item}')", where="--event") from None
        sets: dict[str, Any] = {}
        for part in rest.split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise UserError(f"expected path=value, got '{part}' (in '{item}')", where="--event")
            k, v = (x.strip() for x in part.split("=", 1))
            try:
                check_path(k)
            except ValueError as e:
                raise UserError(f"{e} (in '{item}')", where="--event") from None
            if k.split(".")[0] in FIXED_FOR_THE_RUN:
                raise UserError(f"'{k.split('.')[0]}' is fixed for the whole run; an event can change policies "
                                f"and process parameters (in '{item}')", where="--event")
            sets[k] = parse_value(v)
        added.append({"date": date.isoformat(), "set": sets, "note": f"--event {item}"})
    if added:
        out[ADD_EVENTS] = added
    drops = [d.strip() for d in drops if d.strip()]
    if drops:
        out[DROP_EVENTS] = drops
    return out


def _apply_events(raw: dict, add: list | None, drop: list | None) -> None:
    """Apply --drop-event selectors, then --event additions, to a raw parameter tree (in place)."""
    timeline = list(raw.get("timeline") or [])
    for sel in drop or []:
        sel = str(sel)
        if sel.isdigit():
            n = int(sel)
            if not 1 <= n <= len(timeline) or timeline[n - 1] is None:
                raise UserError(f"no event number {n} (the timeline has {len(timeline)}; "
                                "list them with travesia check SCENARIO --timeline)", where="--drop-event")
            timeline[n - 1] = None
            continue
        try:
            date = dt.date.fromisoformat(sel)
        except ValueError:
            date = None
        hit = False
        for i, ev in enumerate(timeline):
            if not isinstance(ev, dict):
                continue
            if date is not None:
                if str(ev.get("date")) == date.isoformat():
                    timeline[i], hit = None, True
                continue
            st = dict(ev.get("set") or {})
            keep = {k: v for k, v in st.items() if not (k == sel or k.startswith(sel + "."))}
            if len(keep) < len(st):
                hit = True
                timeline[i] = {**ev, "set": keep} if keep else None
        if not hit:
            raise UserError(f"no event {'dated' if date else 'sets'} '{sel}' (list the timeline with "
                            "travesia check SCENARIO --timeline)", where="--drop-event")
    timeline = [ev for ev in timeline if ev is not None] + list(add or [])
    raw["timeline"] = timeline


# --------------------------------------------------------------------------- CSV tables


def read_table(path: Path, columns: tuple[list[str], list[str]], what: str) -> list[tuple[int, dict]]:
    """Read a CSV with a header; check the columns; return (line number, row dict) pairs."""
    required, optional = columns
    text = read_input_text(path, what=f"{what} file")
    reader = csv_records(text, path)
    try:
        header = [h.strip() for h in next(reader)[1]]
    except StopIteration:
        raise UserError(f"empty file; expected a header with columns {','.join(required)}", where=str(path)) from None
    dup = [c for i, c in enumerate(header) if c in header[:i]]
    if dup:
        raise UserError(f"column {dup[0]} appears twice in the header", where=f"{path}:1")
    missing = [c for c in required if c not in header]
    sep = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), None)
    if missing and sep is not None:
        raise UserError(f"the header is separated by {sep!r}; expected comma-separated columns {','.join(required)}"
                        f" (optional: {','.join(optional)})", where=f"{path}:1")
    if missing:
        raise UserError(
            f"missing column(s) {', '.join(missing)}; expected columns {','.join(required)}"
            f" (optional: {','.join(optional)})", where=f"{path}:1") from None
    unknown = [c for c in header if c not in required and c not in optional]
    if unknown:
        raise UserError(
            f"unknown column(s) {', '.join(unknown)}; allowed: {','.join(required + optional)}", where=f"{path}:1")
    rows = []
    for lineno, rec in reader:
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != len(header):
            raise UserError(f"{len(rec)} fields, expected {len(header)} ({','.join(header)})", where=f"{path}:{lineno}")
        rows.append((lineno, {h: c.strip() for h, c in zip(header, rec)}))
    return rows


def _num(v: str, col: str, where: str, *, integer: bool = False, ge: float | None = None, optional: bool = False):
    if v == "":
        if optional:
            return None
        raise UserError(f"column {col}: a number is required", where=where)
    try:
        x = float(v)
    except ValueError:
        raise UserError(f"column {col}: expected a number, got '{v}'", where=where) from None
    if not math.isfinite(x):
        raise UserError(f"column {col}: expected a finite number, got '{v}'", where=where)
    if integer and x != int(x):
        raise UserError(f"column {col}: expected a whole number, got '{v}'", where=where)
    if ge is not None and x < ge:
        raise UserError(f"column {col}: must be >= {ge:g}, got '{v}'", where=where)
    return int(x) if integer else x


def read_places(path: Path) -> pd.DataFrame:
    rows = read_table(path, PLACE_COLUMNS, "places")
    if not rows:
        raise UserError("no places", where=str(path))
    out = []
    seen: dict[str, int] = {}
    names: dict[str, int] = {}
    for ln, r in rows:
        w = f"{path}:{ln}"
        pid = r["id"]
        if not ID_RE.match(pid):
            raise UserError(f"column id: '{pid}' must be letters, digits, '_' or '-'", where=w)
        if pid in seen:
            raise UserError(f"column id: '{pid}' already used on line {seen[pid]}", where=w)
        seen[pid] = ln
        if not r["name"]:
            raise UserError("column name: must not be empty", where=w)
        if r["name"] in names:
            raise UserError(f"column name: '{r['name']}' already used on line {names[r['name']]}", where=w)
        names[r["name"]] = ln
        if not r["country"]:
            raise UserError("column country: must not be empty", where=w)
        lat = _num(r["lat"], "lat", w)
        lon = _num(r["lon"], "lon", w)
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise UserError(f"lat/lon out of range: {lat}, {lon}", where=w)
        if r["kind"] not in PLACE_KINDS:
            raise UserError(f"column kind: '{r['kind']}' is not one of {', '.join(PLACE_KINDS)}", where=w)
        cap = _num(r.get("capacity", ""), "capacity", w, integer=True, ge=0, optional=True)
        if cap is not None and cap > MAX_COUNT:
            raise UserError(f"column capacity: {r['capacity']} is more people than live on Earth "
                            f"(at most {MAX_COUNT:,})", where=w)
        out.append(dict(id=pid, name=r["name"], country=r["country"], region=r.get("region", ""),
                        lat=lat, lon=lon, kind=r["kind"], capacity=-1 if cap is None else cap,
                        note=r.get("note", ""), source=r.get("source", ""), line=ln))
    return pd.DataFrame(out)


def read_legs(path: Path, places: pd.DataFrame) -> pd.DataFrame:
    rows = read_table(path, LEG_COLUMNS, "legs")
    ids = set(places["id"])
    by_name = dict(zip(places["name"], places["id"]))
    out = []
    for ln, r in rows:
        w = f"{path}:{ln}"
        ends = []
        for col in ("from", "to"):
            v = r[col]
            if v in ids:
                ends.append(v)
            elif v in by_name:
                ends.append(by_name[v])
            else:
                raise UserError(f"column {col}: unknown place '{v}' (not an id or name in the places table)", where=w)
        if ends[0] == ends[1]:
            raise UserError(f"a leg from '{ends[0]}' to itself", where=w)
        km = _num(r["km"], "km", w, ge=0)
        if km > MAX_KM:
            raise UserError(f"column km: {r['km']} km is longer than the Earth's circumference ({MAX_KM:,.0f} km)",
                            where=w)
        modes = [m.strip() for m in (r.get("modes") or "foot|ride|bus").split("|") if m.strip()]
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise UserError(f"column modes: '{r.get('modes')}' must be '|'-separated from {', '.join(MODES)}", where=w)
        out.append(dict(a=ends[0], b=ends[1], km=km, modes="|".join(modes),
                        note=r.get("note", ""), source=r.get("source", ""), line=ln))
    if not out:
        raise UserError("no legs", where=str(path))
    return pd.DataFrame(out)


def place_members(name: str, place_names) -> list[str]:
    """The names among ``place_names`` (places or totals.csv columns) whose sum is what an
    observation at ``name`` counts: the name itself when it is there (a town's totals.csv row already
    counts its ``name (…)`` places), else every name starting ``name (``."""
    names = list(place_names)
    if name in names:
        return [name]
    return [n for n in names if n.startswith(name + " (")]


def aggregate_names(places: pd.DataFrame) -> set[str]:
    """``(Country)``, ``(Region)`` and ``(all)`` for a places table."""
    out = {f"({c})" for c in places["country"]}
    if "region" in places:
        out |= {f"({r})" for r in places["region"] if isinstance(r, str) and r}
    return out | {"(all)"}


def place_resolves(name: str, places: pd.DataFrame) -> bool:
    """True when an observation's place names a place, a prefix of places, or an aggregate in parentheses."""
    if name.startswith("("):
        return name in aggregate_names(places)
    return bool(place_members(name, places["name"]))


# parameters that shape the run as a whole: a timeline event cannot change them
FIXED_FOR_THE_RUN = ("name", "description", "start", "days", "seed", "rules", "places", "legs", "observations",
                     "events", "populations", "sources", "priors", "timeline", "attributes")

OBS_OUT_COLUMNS = ["date", "place", "quantity", "low", "high", "caravan", "note", "sources", "line", "file"]


def read_observations(path: Path, places: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check an observations CSV (the one reader, used by scenarios and by validation).

    Returns columns ``date`` (datetime.date), ``place``, ``quantity``, ``low``, ``high`` (NaN = no
    upper bound), ``caravan``, ``note``, ``sources``, ``line`` and ``file``. With ``places``, every
    place must resolve (a name, a prefix of names, ``(Country)``, ``(Region)`` or ``(all)``).
    """
    path = Path(path)
    rows = read_table(path, OBS_COLUMNS, "observations")
    out = []
    for ln, r in rows:
        w = f"{path}:{ln}"
        date = _row_date(r, w)
        if r["quantity"] not in QUANTITIES:
            raise UserError(f"column quantity: unknown quantity '{r['quantity']}' (one of {', '.join(QUANTITIES)})",
                            where=w)
        if not r["place"]:
            raise UserError("column place: must not be empty", where=w)
        if places is not None and not place_resolves(r["place"], places):
            hint = "a country, a region or (all) of places.csv" if r["place"].startswith("(") else \
                "a place name in places.csv, or the start of names like 'Name (shelter)'"
            raise UserError(f"column place: unknown place '{r['place']}' (expected {hint})", where=w)
        low = _num(r["low"], "low", w, ge=0)
        high = _num(r["high"], "high", w, ge=0, optional=True)
        if high is not None and high < low:
            raise UserError(f"high ({high:g}) is below low ({low:g})", where=w)
        out.append(dict(date=date, place=r["place"], quantity=r["quantity"], low=low,
                        high=np.nan if high is None else high, caravan=r.get("caravan", ""),
                        note=r.get("note", ""), sources=r.get("sources", r.get("source", "")), line=ln,
                        file=str(path)))
    df = pd.DataFrame(out, columns=OBS_OUT_COLUMNS)
    df["low"] = df["low"].astype(float)
    df["high"] = df["high"].astype(float)
    return df


def _row_date(r: dict, where: str) -> dt.date:
    """The ``date`` column of a table row (YYYY-MM-DD), or a UserError naming the file and line."""
    try:
        return dt.date.fromisoformat(r["date"])
    except ValueError:
        raise UserError(f"column date: expected YYYY-MM-DD, got '{r['date']}'", where=where) from None


def read_chronicle(path: Path, places: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check an events.csv chronicle (what was reported, with sources): ``date, place, kind,
    description`` and optionally ``source_url``. Documentation of the scenario: the engine follows the
    ``timeline:`` of scenario.yaml, not this table."""
    rows = read_table(Path(path), EVENT_COLUMNS, "events")
    out = []
    for ln, r in rows:
        w = f"{path}:{ln}"
        date = _row_date(r, w)
        if places is not None and r["place"] and not place_resolves(r["place"], places):
            raise UserError(f"column place: unknown place '{r['place']}' (a place name, or (Country) of places.csv)",
                            where=w)
        out.append(dict(date=date, place=r["place"], kind=r["kind"], description=r["description"],
                        source=r.get("source_url") or r.get("source") or r.get("sources", ""), line=ln))
    return pd.DataFrame(out, columns=["date", "place", "kind", "description", "source", "line"])


# --------------------------------------------------------------------------- the scenario


def resolve_folder(scenario: str | Path) -> Path:
    """A folder path, a path to scenario.yaml, or the name of a built-in scenario."""
    from travesia.scenario.builtin import builtin_path, builtin_names

    p = Path(scenario)
    if p.is_dir():
        return p
    if p.is_file() and p.suffix in (".yaml", ".yml"):
        return p.parent
    bp = builtin_path(str(scenario))
    if bp is not None:
        return bp
    raise UserError(
        f"no scenario folder or built-in scenario named '{scenario}' (built-in: {', '.join(builtin_names())})")


def load_scenario(scenario: str | Path, overrides: dict[str, Any] | None = None,
                  params_file: str | Path | None = None) -> LoadedScenario:
    """Load and check a scenario folder (or built-in name), with optional overrides.

    ``params_file`` is an overlay YAML of ``path: value`` pairs (what calibration writes);
    ``overrides`` (from ``--set``) are applied after it.
    """
    folder = resolve_folder(scenario)
    ypath = folder / "scenario.yaml"
    if Path(scenario).is_file():
        ypath = Path(scenario)
    raw, lines = read_yaml(ypath)
    where = str(ypath)
    all_over: dict[str, Any] = {}
    if params_file is not None:
        praw, _ = read_yaml(Path(params_file))
        flat = praw.get("params", praw)
        if not isinstance(flat, dict):
            raise UserError("expected a mapping of parameter paths to values", where=str(params_file))
        for k, v in flat.items():
            try:
                check_path(str(k))
            except ValueError as e:
                raise UserError(str(e), where=str(params_file)) from None
            all_over[str(k)] = v
    all_over.update(overrides or {})
    who = ("--set" if not params_file else f"--params {params_file}" if not overrides else "--set/--params")

    def tables(params: Scenario, raw: dict) -> tuple:
        places = read_places(folder / params.places)
        legs = read_legs(folder / params.legs, places)
        obs = None
        if params.observations:
            op = folder / params.observations
            if op.exists():
                obs = read_observations(op, places)
            elif "observations" in raw:
                raise UserError("observations file not found", where=str(op))
        return places, legs, obs

    if all_over:
        # the file's own errors name the file's lines; what the overrides cause is blamed on them
        params0 = validate_params(raw, where=where, lines=lines)
        t0 = tables(params0, raw)
        check_references(LoadedScenario(params=params0, raw=copy.deepcopy(raw), places=t0[0], legs=t0[1],
                                         observations=t0[2], folder=folder), where, lines)
    given = ", ".join(f"{k}={v}" for k, v in all_over.items())
    if ADD_EVENTS in all_over or DROP_EVENTS in all_over:
        _apply_events(raw, all_over.get(ADD_EVENTS), all_over.get(DROP_EVENTS))
    for k, v in all_over.items():
        if k in (ADD_EVENTS, DROP_EVENTS):
            continue
        try:
            set_path(raw, k, v)
        except ValueError as e:
            raise UserError(str(e), where=who) from None
    try:
        params = validate_params(raw, where=where, lines=lines)
    except UserError as e:
        if not all_over:
            raise
        msg = str(e).split(": ", 1)[1] if str(e).startswith(where) else str(e)
        raise UserError(f"{msg} (from the overrides: {given})", where=who) from None
    if not all_over or (params.places, params.legs, params.observations) != (params0.places, params0.legs,
                                                                           params0.observations):
        try:
            places, legs, obs = tables(params, raw)
        except UserError as e:
            if not all_over:
                raise
            raise UserError(f"{e} (from the overrides: {given})", where=who) from None
    else:
        places, legs, obs = t0
    chronicle = None
    if params.events:
        ep = folder / params.events
        if ep.exists():
            chronicle = read_chronicle(ep, places)
        elif "events" in raw:
            raise UserError("events file not found", where=str(ep))
    loaded = LoadedScenario(params=params, raw=raw, places=places, legs=legs, observations=obs,
                            folder=folder, overrides=all_over, chronicle=chronicle,
                            set_on_command=dict(overrides or {}))
    try:
        check_references(loaded, where, lines)
    except UserError as e:
        if not all_over:
            raise
        # an event added with --event has no line in the file: name the option and the event
        m = re.match(r"timeline\[(\d+)\]", str(e).split(": ", 1)[-1]) if ADD_EVENTS in all_over else None
        if m is not None and int(m.group(1)) >= len(raw["timeline"]) - len(all_over[ADD_EVENTS]):
            ev = all_over[ADD_EVENTS][int(m.group(1)) - (len(raw["timeline"]) - len(all_over[ADD_EVENTS]))]
            msg = str(e).split(": ", 1)[-1].split(": ", 1)[-1]
            raise UserError(f"{msg} (in '{ev['note'][len('--event '):]}')", where="--event") from None
        msg = str(e)
        if msg.startswith(where):
            msg = msg.split(": ", 1)[1] if ": " in msg else msg
        raise UserError(f"{msg} (from the overrides: {given})", where=who) from None
    return loaded


def check_references(s: LoadedScenario, where: str, lines: dict) -> None:
    """Cross-checks between the parameters and the tables."""
    p = s.params
    ids = set(s.places["id"])
    countries = set(s.places["country"])

    def fail(loc: tuple, msg: str):
        line = _line_for(loc, lines)
        raise UserError(f"{_loc_str(loc)}: {msg}", where=f"{where}:{line}" if line else where)

    def need_place(loc: tuple, pid: str | None):
        if pid is not None and pid not in ids:
            fail(loc, f"unknown place id '{pid}' (not in {p.places})")

    for i, pop in enumerate(p.populations):
        need_place(("populations", i, "origin"), pop.origin)
        for j, jn in enumerate(pop.joiners):
            need_place(("populations", i, "joiners", j, "place"), jn.place)
        for d in pop.destinations:
            need_place(("populations", i, "destinations", d), d)
        for j, v in enumerate(pop.via):
            need_place(("populations", i, "via", j), v)
        if pop.start < p.start or pop.start > p.end:
            fail(("populations", i, "start"), f"{pop.start} is outside the simulated period {p.start}..{p.end}")
    for k, cr in p.crossings.items():
        need_place(("crossings", k), k)
        need_place(("crossings", k, "queue_at"), cr.queue_at)
        if cr.exit_only is not None and cr.exit_only not in countries:
            fail(("crossings", k, "exit_only"), f"unknown country '{cr.exit_only}' (countries in {p.places}: "
                 f"{', '.join(sorted(countries))})")
    for c, cp in p.countries.items():
        if c not in countries:
            fail(("countries", c), f"unknown country '{c}' (countries in {p.places}: {', '.join(sorted(countries))})")
        need_place(("countries", c, "asylum", "station"), cp.asylum.station)
        need_place(("countries", c, "detention_place"), cp.detention_place)
    for i, b in enumerate(p.buses):
        need_place(("buses", i, "place"), b.place)
        if b.start > p.end or b.end < p.start:
            fail(("buses", i, "start"), f"buses {b.start}..{b.end} run outside the simulated period {p.start}..{p.end}")
    offices: dict[str, str] = {}
    for name, pr in p.permits.items():
        if pr.country not in countries:
            fail(("permits", name, "country"), f"unknown country '{pr.country}' (countries in {p.places}: "
                 f"{', '.join(sorted(countries))})")
        for j, pid in enumerate(pr.places):
            need_place(("permits", name, "places", j), pid)
            if pid in offices:
                fail(("permits", name, "places", j), f"'{pid}' already takes programme '{offices[pid]}': one "
                     "programme per place")
            offices[pid] = name
        if pr.start and pr.end and pr.end < pr.start:
            fail(("permits", name, "end"), f"{pr.end} is before start {pr.start}")
    for i, rp in enumerate(p.groups.rally_points):
        need_place(("groups", "rally_points", i), rp)
    names = set(s.places["name"])
    for a, at in p.attributes.items():
        if not ATTRIBUTE_RE.fullmatch(a):
            fail(("attributes", a), "an attribute name is letters, digits and '_' (not starting with a digit)")
        for k in at.weights:
            if k != "default" and k not in ids and k not in names:
                fail(("attributes", a, "weights", k), f"unknown place '{k}' (neither an id nor a name in {p.places})")
    if p.rules == "flee":  # the flee rule set's section: values in range; places, countries and days it has
        from travesia.engine.processes.flee_rules.params import flee_problem

        bad = flee_problem(p.flee, names=names, countries=countries, days=p.days, places=p.places)
        if bad is not None:
            fail(("flee",) + bad[0], bad[1])
    # the collective caravan (plan, offers, leaving): every place id named must exist
    pop_names = {pop.name for pop in p.populations}
    for i, sp in enumerate(p.plan.stops):
        need_place(("plan", "stops", i), sp)
    for i, hp in enumerate(p.plan.hold_places):
        need_place(("plan", "hold_places", i), hp)
    for i, h in enumerate(p.plan.holds):
        need_place(("plan", "holds", i, "place"), h.place)
        if h.start is not None and not p.start <= h.start <= p.end:
            fail(("plan", "holds", i, "start"), f"{h.start} is outside the simulated period {p.start}..{p.end}")
        if h.caravan is not None and h.caravan not in pop_names:
            fail(("plan", "holds", i, "caravan"), f"unknown caravan '{h.caravan}' (populations: {', '.join(sorted(pop_names))})")
    for i, f in enumerate(p.plan.forks):
        need_place(("plan", "forks", i, "place"), f.place)
        for d in f.options:
            need_place(("plan", "forks", i, "options", d), d)
        if f.caravan is not None and f.caravan not in pop_names:
            fail(("plan", "forks", i, "caravan"), f"unknown caravan '{f.caravan}' (populations: {', '.join(sorted(pop_names))})")
    for i, o in enumerate(p.offers.sites):
        need_place(("offers", "sites", i, "place"), o.place)
    for c in p.leaving.pressure:
        if c not in countries:
            fail(("leaving", "pressure", c), f"unknown country '{c}' (countries in {p.places}: {', '.join(sorted(countries))})")
    # timeline: dates inside the period, paths valid, values valid when applied in order
    trial = copy.deepcopy(s.raw)
    for ev in sorted(enumerate(p.timeline), key=lambda t: t[1].date):
        idx, ev = ev
        if ev.date < p.start or ev.date > p.end:
            fail(("timeline", idx, "date"), f"{ev.date} is outside the simulated period {p.start}..{p.end}")
        for k, v in ev.set.items():
            if k.split(".")[0] in FIXED_FOR_THE_RUN:
                fail(("timeline", idx, "set", k), f"'{k.split('.')[0]}' is fixed for the whole run; "
                     "an event can change policies and process parameters")
            try:
                set_path(trial, k, v)
            except ValueError as e:
                fail(("timeline", idx, "set", k), str(e))
        try:
            Scenario.model_validate(trial)
        except ValidationError as e:
            err = e.errors()[0]
            fail(("timeline", idx, "set"), f"after this event {_loc_str(err['loc'])}: {err['msg']}")
        if p.rules == "flee" and any(k.split(".")[0] == "flee" for k in ev.set):
            from travesia.engine.processes.flee_rules.params import flee_problem

            bad = flee_problem(trial.get("flee"), names=names, countries=countries, days=p.days, places=p.places)
            if bad is not None:
                fail(("timeline", idx, "set"), f"after this event {_loc_str(('flee',) + bad[0])}: {bad[1]}")
        for k in ev.set:
            if k.startswith("crossings."):
                need_place(("timeline", idx, "set", k), k.split(".")[1])
            if k.startswith("countries.") and k.split(".")[1] not in countries:
                fail(("timeline", idx, "set", k), f"unknown country '{k.split('.')[1]}' "
                     f"(countries in {p.places}: {', '.join(sorted(countries))})")
    for k in p.priors:
        try:
            check_applies(k, s.raw, s.places)
        except ValueError as e:
            fail(("priors", k), str(e))
        v = get_path(s.raw, k, None)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            fail(("priors", k), f"a prior needs a numeric parameter; '{k}' is {v!r}")
    for k in p.sources:
        try:
            check_path(k)
        except ValueError as e:
            fail(("sources", k), str(e))
    # every destination of a population must be reachable from its origin
    from travesia.network import Network  # local import: network depends on this module's tables

    net = Network.from_tables(s.places, s.legs)
    for i, pop in enumerate(p.populations):
        o = net.index[pop.origin]
        for d in pop.destinations:
            if not np.isfinite(net.distance_between(o, net.index[d])):
                fail(("populations", i, "destinations", d), f"no leg path reaches '{d}' from '{pop.origin}'")
