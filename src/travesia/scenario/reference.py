"""The parameter reference: every parameter of the schema with its path, unit, range, default and meaning.

One source: the pydantic models of :mod:`travesia.scenario.schema`. ``travesia params [SECTION]``
prints it, and ``docs/parameters.md`` is generated from it (a test checks that the page is up to date:
regenerate with ``travesia params --markdown > docs/parameters.md``).

Keys that the author chooses are written in angle brackets: ``crossings.<place>.rule`` (a place id
of places.csv), ``countries.<country>.asylum.grant_rate`` (a country of places.csv),
``populations.<name>.size`` (a population by its name or index).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from travesia.errors import UserError
from travesia.scenario.schema import Scenario

# what the author's own key stands for, by the field that holds the dict or list
KEY_NAMES = {"crossings": "<place>", "countries": "<country>", "populations": "<name>", "joiners": "<i>",
             "buses": "<i>", "timeline": "<i>", "permits": "<name>", "documents": "<post>"}
# maps whose values are not parameters but data (paths, sources, priors)
SKIP = {"sources", "priors", "flee", "timeline"}


@dataclass
class Param:
    path: str
    type: str
    unit: str
    low: float | None
    high: float | None
    default: str
    doc: str
    section: str


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(tp))
    if origin in (list, tuple):
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        k, v = get_args(tp)
        return f"map {_type_name(k)} -> {_type_name(v)}"
    args = [a for a in get_args(tp) if a is not type(None)]
    if args and len(args) < len(get_args(tp)):
        return " | ".join(_type_name(a) for a in args) + " (optional)"
    if args:
        return " | ".join(_type_name(a) for a in args)
    if isinstance(tp, type):
        return {str: "text", int: "whole number", float: "number", bool: "true/false", dt.date: "date"}.get(
            tp, tp.__name__)
    return str(tp)


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        d = field.default
    elif field.default_factory is not None:
        try:
            d = field.default_factory()
        except TypeError:
            return ""
    else:
        return "(required)"
    if isinstance(d, BaseModel):
        return ""
    if isinstance(d, enum.Enum):
        d = d.value
    if d is None:
        return "none"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, (list, dict)) and not d:
        return "[]" if isinstance(d, list) else "{}"
    return str(d)


def _bounds(field) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in field.metadata:
        for attr, which in (("ge", "lo"), ("gt", "lo"), ("le", "hi"), ("lt", "hi")):
            v = getattr(m, attr, None)
            if v is not None:
                if which == "lo":
                    lo = v
                else:
                    hi = v
    return lo, hi


def _model_of(tp: Any) -> tuple[type[BaseModel] | None, str]:
    """(the model a field holds, directly or as dict/list values; the key placeholder kind)."""
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) not in (None, dict, list) and len(args) == 1:
        tp = args[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp, ""
    if get_origin(tp) is dict:
        v = get_args(tp)[-1]
        if isinstance(v, type) and issubclass(v, BaseModel):
            return v, "dict"
    if get_origin(tp) is list:
        v = get_args(tp)[0]
        if isinstance(v, type) and issubclass(v, BaseModel):
            return v, "list"
    return None, ""


def parameters(model: type[BaseModel] = Scenario, prefix: str = "", section: str = "") -> list[Param]:
    """Every parameter under ``model``, depth first, in the schema's order."""
    out: list[Param] = []
    for name, field in model.model_fields.items():
        if not prefix and name in SKIP:
            continue
        path = f"{prefix}{name}"
        sec = section or name
        sub, kind = _model_of(field.annotation)
        if sub is not None:
            if kind:
                out.append(Param(path, _type_name(field.annotation), "", None, None, _default(field),
                                 field.description or (sub.__doc__ or "").strip().split("\n")[0], sec))
                key = KEY_NAMES.get(name, "<key>")
                out += parameters(sub, f"{path}.{key}.", sec)
            else:
                out += parameters(sub, f"{path}.", sec)
            continue
        lo, hi = _bounds(field)
        unit = (field.json_schema_extra or {}).get("unit", "") if isinstance(field.json_schema_extra, dict) else ""
        out.append(Param(path, _type_name(field.annotation), unit, lo, hi, _default(field), field.description or "",
                         sec if prefix else "scenario"))
    return out


def sections() -> list[str]:
    seen: list[str] = []
    for p in parameters():
        if p.section not in seen:
            seen.append(p.section)
    return seen


def select(section: str | None) -> list[Param]:
    """The parameters of one section (``movement``, ``crossings`` ...) or a path prefix; all without one."""
    ps = parameters()
    if not section:
        return ps
    sec = section.strip().rstrip(".")
    chosen = [p for p in ps if p.section == sec or p.path == sec or p.path.startswith(sec + ".")]
    if not chosen:
        raise UserError(f"no parameters in section '{section}' (sections: {', '.join(sections())})",
                        where="travesia params")
    return chosen


def range_text(p: Param) -> str:
    def f(x):
        return f"{x:g}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x)

    if p.low is None and p.high is None:
        return ""
    if p.high is None:
        return f"≥ {f(p.low)}"
    if p.low is None:
        return f"≤ {f(p.high)}"
    return f"{f(p.low)} – {f(p.high)}"


def markdown() -> str:
    """docs/parameters.md: one table per section."""
    lines = ["# Scenario parameters", "",
             "Generated from the schema (`src/travesia/scenario/schema.py`) by "
             "`travesia params --markdown > docs/parameters.md`; do not edit by hand.", "",
             "Every parameter has a dotted path, used alike by `--set`, by timeline events (`set:` and "
             "`--event DATE:path=value`), by `sources:` and by `priors:`. Keys in angle brackets are the "
             "author's: `<place>` a place id of places.csv, `<country>` a country of places.csv, `<name>` a "
             "population's name (or index), `<i>` a list index.", ""]
    by: dict[str, list[Param]] = {}
    for p in parameters():
        by.setdefault(p.section, []).append(p)
    for sec, ps in by.items():
        lines += [f"## {sec}", "", "| parameter | type | unit | range | default | meaning |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for p in ps:
            cells = [f"`{p.path}`", p.type, p.unit, range_text(p), f"`{p.default}`" if p.default else "",
                     p.doc]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
