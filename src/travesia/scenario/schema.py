"""The scenario schema: every parameter with its name, unit, default and valid range.

A scenario is a folder holding ``scenario.yaml`` (validated by :class:`Scenario`) and the tables
``places.csv``, ``legs.csv`` and optionally ``observations.csv``. Any parameter can be addressed
by a dotted path (``movement.foot_km_per_day``, ``crossings.ciudad_hidalgo.rule``,
``countries.Mexico.asylum.grant_rate``): the same paths serve ``--set`` on the command line,
the ``set:`` of timeline events, the ``sources:`` map and the ``priors:`` map.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


# the largest count of people a scenario may name (more people than live on Earth); counts are
# stored as int64, so no count (even times --scale) wraps around
MAX_COUNT = 10**10
# the longest leg or distance: the Earth's circumference
MAX_KM = 40_075.0


def P(default: Any, ge: float | None = None, le: float | None = None, unit: str = "", doc: str = ""):  # noqa: N802 - the field factory reads as a type
    """A parameter: default, valid range, unit (kept in the JSON schema) and a one-line meaning.

    Counts of people (unit ``people`` or ``people/day``) without an upper bound get ``MAX_COUNT``.
    """
    if le is None and unit.startswith("people") and isinstance(default, int):
        le = MAX_COUNT
    return Field(default, ge=ge, le=le, description=doc, json_schema_extra={"unit": unit})


def period_fits(start: dt.date, days: int) -> bool:
    """Whether ``days`` days from ``start`` stay within the calendar (up to ``dt.date.max``)."""
    return (dt.date.max - start).days >= days


def _admits(annotation: Any, types: tuple) -> bool:
    """Whether a field's type is one of ``types`` or a union or container of one."""
    if annotation in types:
        return True
    return any(_admits(a, types) for a in get_args(annotation))


class Strict(BaseModel):
    # every number finite (no .nan, .inf); unknown keys are errors
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, v: Any, info: ValidationInfo) -> Any:
        """``days: true`` is no number of days: pydantic would read it as 1 (and ``false`` as 0)."""
        if isinstance(v, bool) and info.field_name is not None:
            f = cls.model_fields.get(info.field_name)
            if f is not None and not _admits(f.annotation, (bool,)):
                kind = "a number" if _admits(f.annotation, (int, float)) else "a value of its type"
                raise ValueError(f"expected {kind}, not {str(v).lower()}")
        return v


# --------------------------------------------------------------------------- populations


class Joiners(Strict):
    """People waiting in a town on the route who join when their caravan passes."""

    place: str = Field(description="place id where they wait")
    size: int = P(0, 0, None, "people", "how many may join there")


class Population(Strict):
    """A group of people who set out together: one caravan or one wave."""

    name: str
    origin: str = Field(description="place id where the caravan forms")
    start: dt.date = Field(description="the day the core sets out")
    core: int = P(100, 0, None, "people", "people who set out on the start day")
    size: int = P(1000, 0, None, "people", "people at the origin who may join by word of mouth (core included)")
    joiners: list[Joiners] = Field(default_factory=list)
    intentions: dict[Literal["us", "mexico"], float] = Field(
        default_factory=lambda: {"us": 1.0}, description="share aiming for the US border, and meaning to stay in Mexico"
    )
    protection: float = P(0.5, 0, 1, "share", "share fleeing violence (motive protection, else economic)")
    documents: float = P(0.0, 0, 1, "share", "share holding papers that a documents-required crossing accepts")
    destinations: dict[str, float] = Field(
        default_factory=dict,
        description="US-border destination place id -> weight for those aiming at the US (default: equal)",
    )
    via: list[str] = Field(
        default_factory=list, max_length=255,
        description="place ids the caravan passes in order (its announced route); people head for each in turn",
    )
    household_size: float = P(2.5, 1, 20, "people", "mean household size (households travel together)")
    group_size: int = P(300, 1, None, "people", "people per travelling group at the start")

    @field_validator("intentions", "destinations")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not x >= 0 for x in v.values()) or (v and not sum(v.values()) > 0):
            raise ValueError("weights must be >= 0 and not all zero")
        return v

    @model_validator(mode="after")
    def _core_le_size(self) -> "Population":
        if self.core > self.size:
            raise ValueError(f"core ({self.core}) must be <= size ({self.size})")
        return self


# --------------------------------------------------------------------------- processes


class Recruitment(Strict):
    """Bass diffusion by word of mouth: daily chance to set out = (innovation + imitation·F)·(1 − deterrence),
    F the share of the population already gone."""

    innovation: float = P(0.01, 0, 1, "1/day", "chance per day to set out regardless of others")
    imitation: float = P(0.3, 0, 5, "1/day", "word-of-mouth strength: added chance per day per share already gone")
    deterrence: float = P(0.0, 0, 1, "share", "share of would-be leavers stopped by police and campaigns")
    join_prob: float = P(0.3, 0, 1, "1/day", "chance per day that a joiner in a town sets out while the caravan is there")
    join_window_days: int = P(2, 0, 60, "days", "days after the caravan last passed that joiners may still follow")


class Movement(Strict):
    """How far people go each day, and by what mode."""

    foot_km_per_day: float = P(50.0, 1, 150, "km/day", "mean walking distance on a walking day")
    foot_km_sd: float = P(0.2, 0, 1, "share", "spread of personal walking speed (coefficient of variation)")
    max_foot_km_per_day: float = P(100.0, 1, 200, "km/day", "no one walks further in a day")
    rest_prob: float = P(0.1, 0, 1, "1/day", "chance a group rests a day")
    shelter_rest_prob: float = P(0.3, 0, 1, "1/day", "chance a group rests a day when it is at a shelter")
    ride_prob: float = P(0.2, 0, 1, "1/day", "chance a group gets rides on trucks and pickups that day")
    ride_km_per_day: float = P(250.0, 1, 1500, "km/day", "longest distance a day of rides covers")
    ride_block_share: float = P(0.0, 0, 1, "share", "share of rides stopped by police pulling people off trucks")
    solo_bus_prob: float = P(0.0, 0, 1, "1/day", "chance a person takes a bus on their own that day (runs ahead)")
    bus_km_per_day: float = P(600.0, 1, 2000, "km/day", "distance a bus day covers")
    route_detour_km: float = P(30.0, 0.1, 5000, "km", "scale of route choice: a hop that adds this detour is e times less likely")
    stage_walking: bool = Field(True, description="walkers do not start a leg they cannot finish that day")


class Reroute(Strict):
    """People held at a closed border post (rule ``closed``) turn to an open crossing or give up."""

    reroute_prob: float = P(0.0, 0, 1, "1/day", "chance a day that someone held at a closed post learns it stays "
                            "closed and heads for the open crossing the network holds (a guess: 0, off, keeps the "
                            "announced route)")
    give_up_prob: float = P(0.0, 0, 1, "1/day", "chance a day that someone held at a closed post (who did not "
                            "reroute that day, or has no open crossing) gives up and heads home (a guess: 0, off)")
    crowd_km_per_1000: float = P(10.0, 0, 5000, "km", "route choice among open crossings: each 1,000 people "
                                 "present at a crossing weigh as this many km more (a guess)")


class Groups(Strict):
    """Households inside groups; groups split and re-form at rally points."""

    pace_sd: float = P(0.25, 0, 2, "share", "spread of group pace around the mean walking distance")
    split_prob: float = P(0.05, 0, 1, "1/day", "chance per day that a group splits in two")
    cohesion: float = P(0.0, 0, 1, "share", "chance a group keeps its caravan's collective rest/walk decision that day")
    rally_points: list[str] = Field(default_factory=list, description="place ids where groups wait and re-form; a day of rides ends at the first one past a walking day")
    rally_gap_km: float = P(100.0, 0, 5000, "km", "a group this far ahead of its caravan's median waits at a rally point")
    rally_max_wait_days: int = P(2, 0, 30, "days", "longest wait at a rally point")


class ScheduledHold(Strict):
    """A hold an assembly is known to have decided. With ``start``: on the ``days`` days from
    ``start`` the caravan gathers at ``place`` (the body goes there if it is behind) and stays.
    Without: the first time the body is at ``place`` it stays there ``days`` days."""

    place: str = Field(description="place id where the body holds")
    days: int = P(1, 1, 60, "days", "days the body stays (it sets out again on the day after)")
    start: dt.date | None = Field(None, description="first day of the hold (default: when the body gets there)")
    caravan: str | None = Field(None, description="population name; default every caravan")


class Fork(Strict):
    """A collective route decision: when a caravan's body reaches ``place``, one draw picks a branch
    (a destination) for the whole body, with the ``options`` shares."""

    place: str = Field(description="place id where the assembly decides")
    options: dict[str, float] = Field(description="destination place id -> share of caravans taking that branch")
    caravan: str | None = Field(None, description="population name; default every caravan")

    @field_validator("options")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("options need shares >= 0, not all zero")
        return v


class Plan(Strict):
    """The caravan as a collective actor: each day one plan per caravan (next stop, hold, route)."""

    stops: list[str] = Field(default_factory=list,
                             description="place ids where a caravan's body may sleep; empty: no plans (groups move on their own)")
    cohesion: float = P(0.0, 0, 1, "share", "chance per day that a group follows its caravan's plan")
    body_share: float = P(0.3, 0.01, 1, "share", "the body is the furthest place on the route with at least this share of the caravan")
    foot_stage_km: float = P(60.0, 1, 300, "km", "furthest next stop the body walks to in a day")
    ride_stage_km: float = P(250.0, 1, 1500, "km", "furthest next stop on a day the body gets rides")
    ride_day_prob: float = P(0.0, 0, 1, "1/day", "chance the body gets rides that day (not where rides are blocked)")
    rest_prob: float = P(0.1, 0, 1, "1/day", "chance the body rests a day at a stop")
    gather_days: int = P(1, 0, 30, "days", "days a caravan gathers at its origin from its start day before setting out")
    hold_places: list[str] = Field(default_factory=list,
                                   description="place ids where a longer hold may start (shelters, negotiations)")
    hold_prob: float = P(0.0, 0, 1, "share", "chance the body holds on reaching a hold place")
    hold_days_mean: float = P(2.0, 1, 30, "days", "mean length of a hold (1 + Poisson(mean − 1))")
    holds: list[ScheduledHold] = Field(default_factory=list, description="holds known to have been decided")
    forks: list[Fork] = Field(default_factory=list, description="collective route decisions")
    min_body: int = P(50, 0, None, "people", "a caravan with fewer people on the move has no plan that day")


class OfferSite(Strict):
    """A place where transport may be offered (a large city, a state capital); unset values take the
    ``offers`` defaults."""

    place: str
    prob_per_day: float | None = Field(None, ge=0, le=1, description="1/day: chance of an offer on a day a caravan is there")
    seats: float | None = Field(None, ge=0, description="seats: mean size of an offer")
    km: float | None = Field(None, ge=1, le=3000, description="km: how far it takes people along their route")


class Offers(Strict):
    """Transport offers as a stochastic process: local governments' and volunteers' buses and trucks."""

    sites: list[OfferSite] = Field(default_factory=list, description="places where offers may be made")
    prob_per_day: float = P(0.0, 0, 1, "1/day", "chance per day of an offer at a site where a caravan is")
    seats: float = P(500.0, 0, 1e7, "seats", "mean size of an offer")
    seats_sd: float = P(0.5, 0, 3, "log", "spread of offer sizes (lognormal sd)")
    km: float = P(500.0, 1, 3000, "km", "how far an offer takes people along their route")
    accept: float = P(0.8, 0, 1, "share", "chance the caravan accepts an offer (an assembly's decision)")
    min_crowd: int = P(100, 0, None, "people", "offers are made to a caravan with at least this many people at the site")


class Leaving(Strict):
    """Leaving the caravan at rates that depend on conditions (on top of ``intentions``)."""

    hold_per_day: float = P(0.0, 0, 1, "1/day", "extra chance per day to go home while one's caravan holds where one is")
    pressure_per_day: float = P(0.0, 0, 1, "1/day", "extra chance per day to go home under full police pressure")
    pressure: dict[str, float] = Field(default_factory=dict,
                                       description="country -> police pressure on the caravan, 0-1 (timeline changes it)")
    offer_pull_per_day: float = P(0.0, 0, 1, "1/day", "extra chance per day to go home where a country offers return rides")

    @field_validator("pressure")
    @classmethod
    def _unit(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"pressure must be within 0-1 ({', '.join(bad)})")
        return v


class Intentions(Strict):
    """Changing minds: giving up and going home."""

    give_up_per_day: float = P(0.01, 0, 1, "1/day", "chance per day a traveller decides to go home")
    give_up_held_per_day: float = P(0.05, 0, 1, "1/day", "chance per day to go home while held at a border")
    give_up_km_scale: float = P(0.0, 0, 100000, "km",
                                "the chance to give up falls as exp(-km from home / this); 0 = does not fall")


class Arrival(Strict):
    """At the destination border: queue for a port of entry or cross irregularly."""

    irregular_per_day: float = P(0.0, 0, 1, "1/day", "chance per day that a person waiting at the border crosses irregularly")
    apprehension: float = P(0.9, 0, 1, "share", "share of irregular crossers apprehended (then detained)")


# --------------------------------------------------------------------------- policies


class Crossing(Strict):
    """The policy at one border crossing (a place); timeline events change it by date."""

    rule: Literal["open", "documents", "closed"] = Field("open", description="who passes the post")
    capacity_per_day: int = P(0, 0, None, "people/day", "people the post processes a day (documents rule)")
    enforcement: float = P(0.5, 0, 1, "share", "share of irregular crossers caught: detained (turned back home at an exit_only post)")
    breach_crowd: int = P(0, 0, None, "people", "crowd size from which a push through the line may happen (0: never)")
    breach_prob: float = P(0.0, 0, 1, "1/day", "chance per day that a crowd at least breach_crowd pushes through")
    bypass_prob: float = P(0.0, 0, 1, "1/day", "chance per day a held person fords a river / takes a path around the post")
    bypass_left_factor: float = P(1.0, 1, 100, "x", "bypass_prob is multiplied by this (at most 1) for a held person "
                                  "whose caravan's plan of the day sets out beyond the post: left behind, they ford the "
                                  "river or walk around to keep with it (1: no difference)")
    apply_at_post: float = P(0.0, 0, 1, "share", "share of processed people without documents who apply for asylum at the post")
    exit_only: str | None = Field(None, description="if set, the rule applies only to people from this country (exit controls: those caught are turned back, not detained)")
    queue_at: str | None = Field(None, description="place id where the crowd held at this post waits and is counted "
                                 "(the approach side: a town before the bridge); default the post itself")
    accepts: list[str] = Field(default_factory=list, description="nationalities (countries of origin) whose national "
                               "ID card this post accepts as documents, e.g. the CA-4 agreement: [Honduras, El "
                               "Salvador, Guatemala, Nicaragua] at a Guatemalan post; they pass a documents post "
                               "as holders of papers do (populations.<name>.documents: papers every post accepts)")


class Asylum(Strict):
    """A country's asylum process."""

    open: bool = Field(False, description="applications are taken")
    apply_per_day_protection: float = P(0.0, 0, 1, "1/day", "chance per day in the country that a person fleeing violence applies")
    apply_per_day_economic: float = P(0.0, 0, 1, "1/day", "chance per day that an economic migrant applies")
    apply_per_day_stay: float = P(0.0, 0, 1, "1/day", "chance per day that a person meaning to stay in the country applies")
    max_wait_working_days: int = P(45, 1, 2000, "working days", "longest wait for a decision (calendar days = ceil(x·7/5))")
    min_wait_days: int = P(5, 0, 2000, "days", "shortest wait for a decision")
    grant_rate: float = P(0.5, 0, 1, "share", "share of decisions that grant protection")
    abandon_per_day: float = P(0.0, 0, 1, "1/day", "chance per day an applicant leaves the station and travels on")
    station: str | None = Field(None, description="place id where applicants wait (a migration station); default where they applied")


class Country(Strict):
    """A country's policies."""

    asylum: Asylum = Field(default_factory=Asylum)
    permit_per_day: float = P(0.0, 0, 1, "1/day", "chance per day that a traveller takes a permit programme and stays")
    return_assistance: float = P(0.0, 0, 1, "1/day", "chance per day that one who wants to go home gets a bus home")
    rides_blocked: bool = Field(False, description="police stop trucks and buses carrying migrants")
    detention_days: int = P(15, 1, 365, "days", "days in detention before deportation or release")
    deport_share: float = P(0.9, 0, 1, "share", "share of detained people deported (the rest are released)")
    detention_place: str | None = Field(None, description="place id where detainees are held; default where caught")
    port_admits_per_day: int = P(0, 0, None, "people/day", "asylum seekers a port of entry of this country admits a day")


class Permit(Strict):
    """A permit programme with a quota (e.g. Mexico's humanitarian visitor cards of January 2019): taken at
    some places for a limited time and up to a limited number, processed a limited number a day."""

    country: str = Field(description="the country that issues the permit (holders stay or travel in it legally)")
    places: list[str] = Field(description="place ids where applications are taken (offices, border posts)")
    start: dt.date | None = Field(None, description="first day applications are taken (default: the run's start)")
    end: dt.date | None = Field(None, description="last day applications are taken (default: the run's end)")
    apply_per_day: float = P(0.5, 0, 1, "1/day", "chance per day that a traveller at an office applies "
                             "(not those going home, not its own nationals, once per person)")
    capacity_per_day: int = P(0, 0, None, "people/day", "applications an office processes a day, first come "
                              "first served (0: every application the day it is made)")
    quota: int = P(0, 0, None, "people", "permits granted in all, then the programme stops (0: no limit)")
    wait_days: int = P(0, 0, 365, "days", "days from a granted application to the card in hand (applicants "
                       "wait in the town, present there)")
    grant_rate: float = P(1.0, 0, 1, "share", "share of processed applications granted (the others travel on)")
    holders: Literal["stay", "travel"] = Field("stay", description="what a holder does: stay (settled in the "
                                               "country) or travel on legally (passes the issuing country's posts)")


class Bus(Strict):
    """Buses a government or church provides from one place on given days."""

    place: str = Field(description="place id where buses leave")
    start: dt.date
    end: dt.date = Field(description="the last day buses leave (not before start)")
    seats_per_day: int = P(0, 0, None, "people/day")
    km: float = P(600.0, 1, 3000, "km", "how far the buses take people along their route")
    shift_days: int = P(0, -90, 90, "days", "move start and end by this many days: the handle a prior takes on "
                        "uncertain bus dates (buses.0.shift_days: {dist: uniform, low: -3, high: 7, integer: true}); "
                        "applied when the scenario is read, so the parameters hold the moved dates and 0")

    @model_validator(mode="before")
    @classmethod
    def _shift(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("shift_days"):
            try:
                d = dt.timedelta(days=int(data["shift_days"]))
                data = {**data, "shift_days": 0,
                        **{k: (dt.date.fromisoformat(str(data[k])[:10]) if not isinstance(data[k], dt.date)
                               else data[k]) + d for k in ("start", "end") if k in data}}
            except (TypeError, ValueError):
                return data  # the field validators say what is wrong
            except OverflowError:
                raise ValueError(f"shift_days {data['shift_days']} moves the dates past the calendar's "
                                 f"{dt.date.min}..{dt.date.max}") from None
        return data

    @model_validator(mode="after")
    def _order(self) -> "Bus":
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Prior(Strict):
    """An uncertain parameter's distribution, for ensembles, calibration and sensitivity."""

    dist: Literal["uniform", "loguniform", "normal", "truncnormal"]
    low: float | None = Field(None, description="lower bound (uniform, loguniform, truncnormal)")
    high: float | None = Field(None, description="upper bound (uniform, loguniform, truncnormal)")
    mean: float | None = Field(None, description="mean (normal, truncnormal)")
    sd: float | None = Field(None, gt=0, description="standard deviation (normal, truncnormal)")
    integer: bool = Field(False, description="round draws to whole numbers")
    source: str = ""

    @model_validator(mode="after")
    def _complete(self) -> "Prior":
        need = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "sd"),
                "truncnormal": ("low", "high", "mean", "sd")}[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.dist} prior needs {', '.join(need)} (missing {', '.join(missing)})")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.dist == "loguniform" and self.low is not None and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        return self


class Event(Strict):
    """A dated change of any parameter: paths as in --set."""

    date: dt.date
    set: dict[str, Any]
    note: str = ""
    source: str = ""


# --------------------------------------------------------------------------- person attributes


class Attribute(Strict):
    """A person attribute (age group, gender, ...), drawn once for each person when created, as
    FLEE 3 draws its demographics at spawn: the value is drawn with probability ∝ its weight in
    the column of the place the person starts from (place id or name), else in ``default``.
    People hold it as a small integer code (the value's index in ``values``)."""

    values: list[str] = Field(min_length=1, max_length=255, description="the categories, in order (codes 0, 1, ...)")
    weights: dict[str, list[float]] = Field(description="'default' and optionally place ids or names -> one weight "
                                                        "per value (relative; need not sum to 1)")
    per: Literal["person", "household"] = Field("person", description="drawn for each person, or once for each "
                                                "household and shared by its members (say, 'with children')")
    source: str = ""

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.values)) != len(self.values):
            dup = sorted({v for v in self.values if self.values.count(v) > 1})
            raise ValueError(f"values appear twice: {', '.join(dup)}")
        if "default" not in self.weights:
            raise ValueError("weights: needs a 'default' list (for people starting at places without their own)")
        for k, w in self.weights.items():
            if len(w) != len(self.values):
                raise ValueError(f"weights.{k}: {len(w)} weights for {len(self.values)} values")
            if any(not (x >= 0 and x < float("inf")) for x in w):
                raise ValueError(f"weights.{k}: weights must be finite and >= 0")
            if sum(w) <= 0:
                raise ValueError(f"weights.{k}: weights sum to 0")
        return self


# --------------------------------------------------------------------------- scenario


class Scenario(Strict):
    """A whole scenario: what sets out, the rules it moves by, the policies, and the timeline."""

    name: str
    description: str = ""
    start: dt.date
    days: int = P(60, 1, 3660, "days", "days simulated")
    seed: int = P(0, 0, 2**63 - 1, "", "random seed")
    rules: Literal["caravan", "flee"] = Field("caravan", description="the process set the engine runs")
    places: str = Field("places.csv", description="places table, relative to the scenario folder")
    legs: str = Field("legs.csv", description="legs table, relative to the scenario folder")
    observations: str | None = Field("observations.csv", description="observations table (optional)")
    events: str | None = Field("events.csv", description="chronicle of reported events (date, place, kind, description, "
                               "source_url), optional: checked and kept as the record of what happened; the engine "
                               "follows timeline: only")
    populations: list[Population] = Field(default_factory=list, max_length=255)  # a person's caravan is a uint8
    recruitment: Recruitment = Field(default_factory=Recruitment)
    movement: Movement = Field(default_factory=Movement)
    groups: Groups = Field(default_factory=Groups)
    reroute: Reroute = Field(default_factory=Reroute)
    intentions: Intentions = Field(default_factory=Intentions)
    plan: Plan = Field(default_factory=Plan)
    offers: Offers = Field(default_factory=Offers)
    leaving: Leaving = Field(default_factory=Leaving)
    arrival: Arrival = Field(default_factory=Arrival)
    crossings: dict[str, Crossing] = Field(default_factory=dict)
    countries: dict[str, Country] = Field(default_factory=dict)
    buses: list[Bus] = Field(default_factory=list)
    permits: dict[str, Permit] = Field(default_factory=dict, description="permit programmes by name")
    timeline: list[Event] = Field(default_factory=list)
    sources: dict[str, str] = Field(default_factory=dict, description="parameter path -> where its value comes from")
    priors: dict[str, Prior] = Field(default_factory=dict, description="parameter path -> prior, for ensembles")
    flee: dict[str, Any] = Field(default_factory=dict, description="parameters of the flee rule set")
    attributes: dict[str, Attribute] = Field(default_factory=dict, description="person attributes drawn at creation "
                                             "(demographics); results are broken down by them in by_attribute.csv")

    @field_validator("days")
    @classmethod
    def _period_fits_the_calendar(cls, v: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and not period_fits(start, v):
            raise ValueError(f"{v} days from start {start} run past {dt.date.max}, the last date there is")
        return v

    @model_validator(mode="after")
    def _unique_population_names(self) -> "Scenario":
        seen: set[str] = set()
        for pop in self.populations:
            if pop.name in seen:
                raise ValueError(f"population name '{pop.name}' is used twice (names must be unique)")
            seen.add(pop.name)
        return self

    @property
    def end(self) -> dt.date:
        """The last simulated date."""
        return self.start + dt.timedelta(days=self.days - 1)

    @property
    def people(self) -> int:
        """People at scale 1: every population's size with its joiners'."""
        return sum(pop.size + sum(j.size for j in pop.joiners) for pop in self.populations)

