"""The ``flee:`` section of scenario.yaml: FLEE's rule parameters and input series, validated.

Parameter names are FLEE's ``simsetting.yml`` names (``move_rules`` and ``spawn_rules``), with
FLEE 3.1's defaults. ``import-flee`` fills them from the FLEE folder.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from travesia.errors import UserError
from travesia.scenario.schema import MAX_COUNT

LOCATION_TYPES = ("conflict_zone", "town", "camp", "idpcamp", "forwarding_hub", "marker", "default")
CLOSURE_TYPES = ("country", "location", "link", "camp", "idpcamp", "remove_forced_redirection")
MAX_DAY = 1_000_000  # a day number (conflict_date): far past any run (at most 3,660 days)
MAX_INTENSITY = 1e6  # a conflict intensity (FLEE's are 0 to 1): spawn weights stay finite


def P(default: Any, ge: float | None = None, le: float | None = None, unit: str = "", doc: str = ""):  # noqa: N802 - the field factory reads as a type
    return Field(default, ge=ge, le=le, description=doc, json_schema_extra={"unit": unit})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # every number finite


class FleeLocation(_Strict):
    """What FLEE knows of a location beyond the places table."""

    type: str = Field(description="FLEE location_type (conflict_zone, town, camp, idpcamp, forwarding_hub, marker)")
    conflict_date: int = P(0, 0, MAX_DAY, "day", "day the conflict starts (conflict zones)")
    population: float = P(0, 0, MAX_COUNT, "people", "resident population: the spawn weight of a conflict zone")

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if not any(k in v.lower() for k in ("camp", "conflict", "forward", "marker", "town", "default")):
            raise ValueError(f"unknown FLEE location type '{v}' (known: {', '.join(LOCATION_TYPES)})")
        return v


class FleeClosure(_Strict):
    """A closure from closures.csv: ``type, name1, name2, start day, end day (-1: never reopens)``."""

    type: Literal[CLOSURE_TYPES]  # type: ignore[valid-type]
    a: str
    b: str = ""
    start: int = P(0, 0, None, "day")
    end: int = P(-1, -1, None, "day")


class FleeParams(_Strict):
    """FLEE 3.1's movement and spawning rules, and the scenario's FLEE-specific inputs."""

    # move_rules
    max_move_speed: float = P(360.0, 0.001, 1e5, "km/day", "km travelled a day on a link")
    max_walk_speed: float = P(35.0, 0.001, 1e5, "km/day", "km a day on foot (first link with start_on_foot)")
    start_on_foot: bool = Field(False, description="the first link is walked at max_walk_speed")
    avoid_short_stints: bool = Field(False, description="someone who moved little in the last two days passes through towns")
    softening: float = P(10.0, 0, None, "km", "added to every route's distance")
    weight_softening: float = P(0.0, 0, None, "", "added to every destination score")
    distance_power: float = P(1.0, 0, 10, "", "route weight ∝ 1 / (softening + km) ** distance_power")
    weight_power: float = P(1.0, 0, 10, "", "route weights are raised to this power")
    awareness_level: int = P(1, 0, 4, "links", "how many links ahead people weigh routes (0: a random link)")
    camp_weight: float = P(1.0, 0, None, "", "score multiplier of camps")
    foreign_weight: float = P(1.0, 0, None, "", "score multiplier of places outside the home country")
    conflict_weight: float = P(1.0 / math.sqrt(10.0), 0, None, "", "score multiplier of conflict zones")
    conflict_movechance: float = P(1.0, 0, 1, "1/day", "chance to leave a conflict zone each day")
    camp_movechance: float = P(0.001, 0, 1, "1/day", "chance to leave a camp each day")
    idpcamp_movechance: float = P(0.1, 0, 1, "1/day", "chance to leave an IDP camp each day")
    default_movechance: float = P(0.3, 0, 1, "1/day", "chance to leave a town each day")
    capacity_buffer: float = P(0.9, 0, 0.9999, "share", "a camp's attraction falls linearly from this occupancy to 1")
    capacity_scaling: float = P(1.0, 0, None, "", "camp capacities (locations.csv) are multiplied by this")
    movechance_pop_base: float = P(10000.0, 1e-9, None, "people", "move chances × (max(pop, capacity) / base) ** factor")
    movechance_pop_scale_factor: float = P(0.0, -10, 10, "", "see movechance_pop_base")
    # spawn_rules
    conflict_spawn_decay: list[float] | None = Field(None, description="spawn weight and conflict score multipliers per interval since a conflict began")
    conflict_spawn_decay_interval: int = P(30, 1, None, "days", "length of each conflict_spawn_decay step")
    sum_from_camps: bool = Field(False, description="the injected total is the sum over the camps' counts (else the 'total' series)")
    insert_day0: bool = Field(True, description="camps start with their day-0 counts; nobody is injected on day 0")
    take_from_population: bool = Field(False, description="people injected at a conflict zone reduce its population (spawn weight)")
    # safety
    max_hops_per_day: int = P(64, 1, 10000, "links", "no one crosses more links in one day (FLEE has no limit)")
    # inputs
    home_country: str = Field("", description="the home country (FLEE: the first location's); other countries are foreign")
    locations: dict[str, FleeLocation] = Field(default_factory=dict, description="place name -> FLEE location data")
    conflicts: dict[str, list[tuple[Annotated[int, Field(ge=0)], Annotated[float, Field(ge=0, le=MAX_INTENSITY)]]]] = \
        Field(default_factory=dict, description="place name -> [day, intensity] change points (days of the run)")
    closures: list[FleeClosure] = Field(default_factory=list)
    counts: dict[str, list[tuple[dt.date, Annotated[float, Field(ge=0, le=MAX_COUNT)]]]] = \
        Field(default_factory=dict, description="series name ('total' or a camp name) -> [date, count] (registration "
              "corrections applied); other names only with sum_from_camps")

    @field_validator("conflict_spawn_decay")
    @classmethod
    def _decay(cls, v):
        if v is not None and any(x < 0 for x in v):
            raise ValueError("multipliers must be >= 0")
        return v


def flee_params(raw: dict | None, where: str = "scenario.yaml: flee") -> FleeParams:
    """Validate the ``flee:`` dict; the first problem becomes a UserError naming the key."""
    try:
        return FleeParams.model_validate(raw or {})
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise UserError(f"flee.{loc}: {msg}", where=where) from None


def flee_problem(raw: dict | None, *, names: set[str], countries: set[str], days: int,
                 places: str = "places.csv") -> tuple[tuple, str] | None:
    """The first problem of a ``flee:`` section, as (key path under ``flee``, message), or None:
    a value out of its range, or a place, country or day the scenario does not have (``names``:
    place names; ``days``: the run's length). What :func:`.model.build_schedule` would stop on,
    found when the scenario is loaded (``travesia check`` and ``run``), naming the key."""
    try:
        fp = FleeParams.model_validate(raw or {})
    except ValidationError as e:
        err = e.errors()[0]
        return tuple(err["loc"]), "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    in_places = f"not a place name in {places}"
    known = f"countries in {places}: {', '.join(sorted(countries))}"
    for n in fp.locations:
        if n not in names:
            return ("locations", n), f"unknown place name '{n}' ({in_places})"
    if fp.home_country and fp.home_country not in countries:
        return ("home_country",), f"unknown country '{fp.home_country}' ({known})"
    for n, pts in fp.conflicts.items():
        if n not in names:
            return ("conflicts", n), f"unknown place name '{n}' ({in_places})"
        for i, (d, _) in enumerate(pts):
            if d >= days:
                return ("conflicts", n, i), f"day {d} is past the run (days 0 to {days - 1})"
    for i, cl in enumerate(fp.closures):
        if cl.type == "country":
            for k in ("a", "b"):
                if getattr(cl, k) not in countries:
                    return ("closures", i, k), f"unknown country '{getattr(cl, k)}' ({known})"
        else:
            for k in (("a", "b") if cl.type in ("link", "remove_forced_redirection") else ("a",)):
                if getattr(cl, k) not in names:
                    return ("closures", i, k), f"unknown place name '{getattr(cl, k)}' ({in_places})"
    for n in fp.counts:
        if n != "total" and n not in names and not fp.sum_from_camps:
            return ("counts", n), (f"unknown place name '{n}' ({in_places}); a series is 'total' or a place's, "
                                   "or, with sum_from_camps, any series summed into the total")
    if not fp.sum_from_camps and not fp.counts.get("total"):
        return ("counts",), "no 'total' series (needed when flee.sum_from_camps is false)"
    return None
