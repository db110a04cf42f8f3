"""Uncertain parameters: priors, per-member seeds and parameter draws.

Everything random here is keyed, never sequential: the seed of member ``i`` and its draw of
parameter ``path`` are pure functions of (``seed``, ``i``) and (``seed``, ``i``, ``path``), made
with NumPy's :class:`~numpy.random.SeedSequence`. So an ensemble's members do not depend on how
many workers run them or in what order they finish, and adding a prior changes no other
parameter's draws.

A prior (``travesia.scenario.schema.Prior``) maps a uniform number ``u`` in (0, 1) to a value
with :func:`ppf` (its inverse CDF): ``uniform``, ``loguniform`` (between ``low`` and ``high``),
``normal`` (``mean``, ``sd``) and ``truncnormal`` (``mean``, ``sd`` cut to [``low``, ``high``]).
Draws are clipped to the parameter's valid range in the schema and rounded when the parameter
is a whole number (or the prior says ``integer: true``).
"""

from __future__ import annotations

import functools
import math
import zlib
from pathlib import Path
from typing import Any, Callable, Literal, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ValidationError
from scipy.special import ndtr, ndtri

from travesia.errors import UserError
from travesia.scenario.load import LoadedScenario, _line_for, check_applies, check_path, get_path, read_yaml
from travesia.scenario.schema import Prior, Scenario

PRIORS_DIR = Path(__file__).parent / "priors"


# --------------------------------------------------------------------------- seeds


# NumPy's SeedSequence (M. O'Neill's seed_seq hash): its constants, pool size and word shift
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _POOL, _MASK = 0xCA01F9DD, 0x4973F715, 4, 0xFFFFFFFF


def keyed_state(seed: int, keys: np.ndarray) -> np.ndarray:
    """``SeedSequence(entropy=seed, spawn_key=tuple(row)).generate_state(2, np.uint32)`` for every
    row of ``keys`` (rows x k integers below 2**32) at once: NumPy's algorithm on uint32 columns,
    the same words bit for bit (its hash constants do not depend on the data), without a Python
    object and two hashing loops per row (400 members x 35 priors took 0.6 s one by one)."""
    keys = np.asarray(keys, dtype=np.uint32)
    n, h = keys.shape[0], _INIT_A
    run, x = [], int(seed)
    while True:  # the seed as 32-bit words, least significant first, padded to the pool size
        run.append(x & _MASK)
        x >>= 32
        if not x:
            break
    run += [0] * (_POOL - len(run))
    words = [np.full(n, w, dtype=np.uint32) for w in run] + [keys[:, j] for j in range(keys.shape[1])]

    def hashmix(v: np.ndarray) -> np.ndarray:
        nonlocal h
        v = v ^ np.uint32(h)
        h = (h * _MULT_A) & _MASK
        v = v * np.uint32(h)
        return v ^ (v >> np.uint32(16))

    def mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r = np.uint32(_MIX_L) * a - np.uint32(_MIX_R) * b
        return r ^ (r >> np.uint32(16))

    pool = [hashmix(words[i]) for i in range(_POOL)]
    for i in range(_POOL):
        for j in range(_POOL):
            if i != j:
                pool[j] = mix(pool[j], hashmix(pool[i]))
    for w in words[_POOL:]:
        for j in range(_POOL):
            pool[j] = mix(pool[j], hashmix(w))
    out, h = np.empty((n, 2), dtype=np.uint32), _INIT_B
    for i in range(2):
        v = pool[i] ^ np.uint32(h)
        h = (h * _MULT_B) & _MASK
        v = v * np.uint32(h)
        out[:, i] = v ^ (v >> np.uint32(16))
    return out


def member_seeds(seed: int, members: np.ndarray) -> np.ndarray:
    """The run seeds of ensemble members ``members`` (0-based): 63-bit numbers keyed by (seed, member)."""
    st = keyed_state(seed, np.asarray(members).reshape(-1, 1)).astype(np.uint64)
    return ((st[:, 0] << np.uint64(32)) | st[:, 1]) >> np.uint64(1)


def member_seed(seed: int, member: int) -> int:
    """The run seed of ensemble member ``member`` (0-based): a 63-bit number keyed by (seed, member)."""
    return int(member_seeds(seed, np.array([member]))[0])


def member_uniforms(seed: int, members: np.ndarray, path: str) -> np.ndarray:
    """U(0,1), strictly inside, for parameter ``path`` of members ``members``: keyed by (seed, member, path)."""
    m = np.asarray(members).reshape(-1)
    keys = np.column_stack([m, np.full(len(m), zlib.crc32(path.encode("utf-8"))), np.ones(len(m))])
    st = keyed_state(seed, keys.astype(np.uint64)).astype(np.uint64)
    x = (st[:, 0] << np.uint64(21)) | (st[:, 1] >> np.uint64(11))  # 53 random bits
    return (x.astype(np.float64) + 0.5) / 2.0 ** 53


# --------------------------------------------------------------------------- priors


def _unwrap(tp: Any) -> Any:
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) not in (None, dict, list) and len(args) == 1:
        return args[0]
    return tp


def _annotation(path: str) -> tuple[Any, Any]:
    """The schema's annotation of the parameter at ``path`` (Optional unwrapped) and its pydantic
    field (None for an entry of a dict or list)."""
    tp: Any = Scenario
    field = None
    for seg in path.split("."):
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields[seg]
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[-1]
            field = None
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
            field = None
    return _unwrap(tp), field


@functools.lru_cache(maxsize=4096)  # the schema is fixed: drawing 400 members asked it 13,000 times
def param_info(path: str) -> tuple[type, float | None, float | None]:
    """(python type, lower bound, upper bound) of the parameter at ``path``, from the schema.

    The type is ``object`` where the schema does not fix it (a Literal, Any)."""
    tp, field = _annotation(path)
    lo = hi = None
    if field is not None:
        for m in field.metadata:
            lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
            hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
    if get_origin(tp) is Literal:
        kinds = {type(a) for a in get_args(tp)}
        tp = kinds.pop() if len(kinds) == 1 else object
    return (tp if isinstance(tp, type) and tp is not Any else object), lo, hi


def ppf(prior: Prior, u: float | np.ndarray) -> float | np.ndarray:
    """The prior's inverse CDF at ``u`` in (0, 1)."""
    u = np.asarray(u, dtype=np.float64)
    if prior.dist == "uniform":
        x = prior.low + u * (prior.high - prior.low)
    elif prior.dist == "loguniform":
        x = np.exp(math.log(prior.low) + u * (math.log(prior.high) - math.log(prior.low)))
    elif prior.dist == "normal":
        x = prior.mean + prior.sd * ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    else:  # truncnormal
        a = ndtr((prior.low - prior.mean) / prior.sd)
        b = ndtr((prior.high - prior.mean) / prior.sd)
        x = prior.mean + prior.sd * ndtri(np.clip(a + u * (b - a), 1e-12, 1 - 1e-12))
        x = np.clip(x, prior.low, prior.high)
    return x if x.ndim else float(x)


def cdf(prior: Prior, x: float) -> float:
    """The prior's CDF at ``x`` (the inverse of :func:`ppf`), in [0, 1]."""
    if prior.dist == "uniform":
        u = (x - prior.low) / (prior.high - prior.low)
    elif prior.dist == "loguniform":
        u = (math.log(max(x, 1e-300)) - math.log(prior.low)) / (math.log(prior.high) - math.log(prior.low))
    elif prior.dist == "normal":
        u = float(ndtr((x - prior.mean) / prior.sd))
    else:  # truncnormal
        a = ndtr((prior.low - prior.mean) / prior.sd)
        b = ndtr((prior.high - prior.mean) / prior.sd)
        u = float((ndtr((x - prior.mean) / prior.sd) - a) / max(b - a, 1e-300))
    return float(min(max(u, 0.0), 1.0))


def to_value(path: str, prior: Prior, x: float) -> int | float:
    """Clip a drawn number to the parameter's valid range and round it if the parameter is whole."""
    tp, lo, hi = param_info(path)
    if lo is not None:
        x = max(x, lo)
    if hi is not None:
        x = min(x, hi)
    if prior.integer or tp is int:
        return int(round(x))
    return float(x)


def draws(priors: dict[str, Prior], seed: int, members: np.ndarray) -> dict[str, list[int | float]]:
    """Members ``members``' values of each prior's parameter (in the members' order), keyed by
    (seed, member, path)."""
    return {p: [to_value(p, pr, x) for x in np.atleast_1d(ppf(pr, member_uniforms(seed, members, p)))]
            for p, pr in sorted(priors.items())}


def draw(priors: dict[str, Prior], seed: int, member: int) -> dict[str, int | float]:
    """Member ``member``'s parameter values, one per prior, keyed by (seed, member, path)."""
    return {p: v[0] for p, v in draws(priors, seed, np.array([member])).items()}


def read_priors_file(path: str | Path, loaded: LoadedScenario | None = None) -> dict[str, Prior]:
    """Read a priors overlay: YAML ``path: {dist: ..., low: ..., high: ...}``, optionally under ``priors:``.

    ``path`` may also name a file shipped with travesia (``caravan-2018`` for
    ``travesia/ensemble/priors/caravan-2018.yaml``). With ``loaded``, every prior must name a parameter
    of that scenario (a population it has, a place or country of its tables): a UserError naming the
    file and line otherwise, before any run starts.
    """
    if not str(path).strip():
        shipped = ", ".join(sorted(x.stem for x in PRIORS_DIR.glob("*.yaml")))
        raise UserError(f"expected a priors YAML file or a shipped name ({shipped}), got an empty name",
                        where="--priors")
    p = Path(path)
    if not p.exists() and (PRIORS_DIR / f"{path}.yaml").exists():
        p = PRIORS_DIR / f"{path}.yaml"
    if not p.exists():
        shipped = ", ".join(sorted(x.stem for x in PRIORS_DIR.glob("*.yaml")))
        raise UserError(f"priors file not found (shipped priors: {shipped})", where=str(path))
    raw, lines = read_yaml(p)
    tree = raw.get("priors", raw)
    if not isinstance(tree, dict) or not tree:
        raise UserError("expected a mapping of parameter paths to priors, e.g. "
                        "movement.foot_km_per_day: {dist: uniform, low: 35, high: 65}", where=str(p))
    out = {}
    prefix = ("priors",) if "priors" in raw else ()
    for k, v in tree.items():
        line = _line_for(prefix + (k,), lines)
        where = f"{p}:{line}" if line else str(p)
        if not isinstance(v, dict):
            raise UserError(f"{k}: expected a prior mapping like {{dist: uniform, low: 0, high: 1}}", where=where)
        try:
            out[str(k)] = Prior.model_validate(v)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            raise UserError(f"{k}{'.' + loc if loc else ''}: {msg}", where=where) from None
        _check_target(str(k), where, None if loaded is None else loaded.raw)
        if loaded is not None:
            try:
                check_applies(str(k), loaded.raw, loaded.places)
            except ValueError as e:
                raise UserError(f"prior for {e} in scenario '{loaded.name}'", where=where) from None
    return out


# parameters every member of an ensemble shares: the run's period and its seed are the command's
# (--days, the member seeds), so a value drawn for them would be drawn and then ignored
SHARED_PARAMS = {"days": "the days simulated are the command's (--days) for every member",
                 "seed": "each member has its own seed (keyed by --seed and the member), so a drawn seed is ignored",
                 "start": "every member starts on the scenario's date"}


def _check_target(path: str, where: str, raw: dict | None = None) -> None:
    try:
        check_path(path)
    except ValueError as e:
        raise UserError(f"prior for {e}", where=where) from None
    if path in SHARED_PARAMS:
        raise UserError(f"{path}: a prior cannot vary it: {SHARED_PARAMS[path]}", where=where)
    tp, _, _ = param_info(path)
    ann, _ = _annotation(path)
    if get_origin(ann) in (dict, list) or (isinstance(ann, type) and issubclass(ann, BaseModel)):
        raise UserError(f"a prior needs a numeric parameter; '{path}' is a section of the scenario, not a number"
                        + (" (is a 'priors:' key nested in another?)" if path == "priors" else ""), where=where)
    if tp is not object and tp not in (int, float):
        raise UserError(f"a prior needs a numeric parameter; '{path}' is not a number", where=where)
    if raw is not None:
        v = get_path(raw, path, None)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise UserError(f"a prior needs a numeric parameter; '{path}' is {v!r}", where=where)


def default_priors_file(loaded: LoadedScenario) -> Path | None:
    """The shipped priors a scenario that declares none uses by default: ``priors/<name>.yaml`` for a
    built-in scenario of that name (caravan-2018), ``priors/flee.yaml`` for any FLEE rule-set scenario."""
    from travesia.scenario.builtin import builtin_names

    if loaded.name in builtin_names() and (PRIORS_DIR / f"{loaded.name}.yaml").exists():
        return PRIORS_DIR / f"{loaded.name}.yaml"
    if loaded.params.rules == "flee":
        return PRIORS_DIR / "flee.yaml"
    return None


def fixed_by_overrides(loaded: LoadedScenario, priors: dict[str, Prior]) -> list[str]:
    """The priors' parameters that the command line fixes: given a value by ``--set``, which every
    member then keeps. (A ``--params`` file is an overlay of the scenario's own values, as
    scenario.yaml is: a prior still varies what it sets.)"""
    return sorted(k for k in priors if k in getattr(loaded, "set_on_command", {}))


def prior_source(loaded: LoadedScenario, priors_file: str | Path | None = None) -> Callable[[str], str]:
    """``where(path)``: the file a prior of :func:`scenario_priors` comes from, for an error that a
    drawn value causes (the priors file if it has ``path``, else the scenario's file)."""

    def where(path: str) -> str:
        if priors_file is not None:
            try:
                if path in read_priors_file(priors_file):
                    return str(priors_file)
            except UserError:
                pass
        if path in loaded.params.priors and loaded.folder is not None:
            return str(loaded.folder / "scenario.yaml")
        return "the default priors" if path not in loaded.params.priors else loaded.name

    return where


def scenario_priors(loaded: LoadedScenario, priors_file: str | Path | None = None,
                    *, need: str | None = None, hint: str = "", default: bool = False,
                    fixed: list[str] | None = None) -> dict[str, Prior]:
    """The scenario's declared priors, with a priors file (``--priors``) laid over them.

    With ``default`` and neither declared priors nor a file, the shipped default priors
    (:func:`default_priors_file`), keeping those whose parameter the scenario has.

    A parameter given a value by ``--set`` is fixed: its prior is dropped, and its path appended to
    ``fixed`` (when given) for the command to say so (a ``--params`` file sets values a prior still varies).

    With ``need`` (the command that needs them), no priors at all is a :class:`UserError` that says
    how to declare some.
    """
    pri = dict(loaded.params.priors)
    for k in pri:
        if k in SHARED_PARAMS:
            where = str(loaded.folder / "scenario.yaml") if loaded.folder is not None else loaded.name
            raise UserError(f"priors: {k}: a prior cannot vary it: {SHARED_PARAMS[k]}", where=where)
    if default and not pri and priors_file is None and default_priors_file(loaded) is not None:
        for k, v in read_priors_file(default_priors_file(loaded)).items():
            try:
                _check_target(k, "default priors", loaded.raw)
            except UserError:
                continue
            if get_path(loaded.raw, k, None) is not None:
                pri[k] = v
    if priors_file is not None:
        pri.update(read_priors_file(priors_file, loaded))
    dropped = fixed_by_overrides(loaded, pri)
    for k in dropped:
        del pri[k]
    if fixed is not None:
        fixed.extend(dropped)
    if not pri and need and dropped:
        raise UserError(f"{need} needs uncertain parameters, and --set fixes the parameter of every prior "
                        f"({', '.join(dropped)}){'; ' + hint if hint else ''}", where="--set")
    if not pri and need:
        shipped = ", ".join(sorted(x.stem for x in PRIORS_DIR.glob("*.yaml")))
        raise UserError(
            f"{need} needs uncertain parameters, and scenario '{loaded.name}' declares no priors: add a "
            f"'priors:' map to its scenario.yaml (e.g. movement.foot_km_per_day: {{dist: uniform, low: 35, "
            f"high: 65}}), or pass --priors FILE (shipped: {shipped}){'; ' + hint if hint else ''}",
            where=str(loaded.folder or loaded.name))
    return pri
