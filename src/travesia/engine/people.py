"""People: the struct-of-arrays state of every person, and the state vocabulary.

One element per person in each array; a person's id is their index, fixed at creation (people
are created once, in a deterministic order, and never removed: "nobody is lost").

Bytes per person (see :data:`FIELDS`): 44.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class State(IntEnum):
    """Every person is in exactly one state (MODEL.md)."""

    WAITING = 0  # not yet set out
    TRAVELLING = 1  # on a leg or passing through a place today
    RESTING = 2  # stopped at a place or shelter for the day (incl. held at a border)
    DETAINED = 3
    ASYLUM_PENDING = 4  # applied, waiting for a decision (in a migration station)
    SETTLED = 5  # stopped for good with a permit or asylum
    ARRIVED = 6  # at a destination (waiting at the border city)
    RETURNED = 7  # back home of their own will or with assistance
    DEPORTED = 8


STATE_NAMES = tuple(s.name.lower() for s in State)
N_STATES = len(State)
ON_THE_MOVE = (State.TRAVELLING, State.RESTING)


class Intent(IntEnum):
    US = 0  # aims for the US border
    STAY = 1  # means to stay in Mexico (or the transit country with a programme)
    HOME = 2  # going home


class Motive(IntEnum):
    ECONOMIC = 0
    PROTECTION = 1


# flag bits
CLEARED = np.uint8(1)  # has cleared the border post at the current place
IRREGULAR = np.uint8(2)  # crossed the last border irregularly
DOCS = np.uint8(4)  # holds documents a documents-required crossing accepts
RALLY = np.uint8(8)  # waiting at a rally point for the rest of the caravan

FIELDS: dict[str, type] = {
    "place": np.int32,  # place index; on a leg: the place left
    "next": np.int32,  # on a leg: the place heading to, else -1
    "km_left": np.float32,  # km still to go on the current leg
    "state": np.uint8,
    "intent": np.uint8,
    "motive": np.uint8,
    "flags": np.uint8,
    "dest": np.int16,  # index into the route table's destinations
    "pop": np.uint8,  # population (caravan) index
    "wp": np.uint8,  # next waypoint of the population's announced route (``via``)
    "speed": np.float32,  # personal walking km/day (household minimum)
    "group": np.int32,  # travelling group id
    "household": np.int32,
    "origin": np.int32,  # home place index
    "since": np.int16,  # day the current state began
    "until": np.int16,  # day a timed state ends (asylum decision, detention end); -1 none
    "km_today": np.float32,  # km moved today (checked against each mode's limit)
}


class People:
    """Fixed-size struct of arrays: ``people.place``, ``people.state`` ... (see :data:`FIELDS`)."""

    place: np.ndarray
    next: np.ndarray
    km_left: np.ndarray
    state: np.ndarray
    intent: np.ndarray
    motive: np.ndarray
    flags: np.ndarray
    dest: np.ndarray
    pop: np.ndarray
    wp: np.ndarray
    speed: np.ndarray
    group: np.ndarray
    household: np.ndarray
    origin: np.ndarray
    since: np.ndarray
    until: np.ndarray
    km_today: np.ndarray

    def __init__(self, n: int):
        self.n = int(n)
        for name, dt in FIELDS.items():
            setattr(self, name, np.zeros(self.n, dtype=dt))
        self.next[:] = -1
        self.until[:] = -1
        self.version = 0  # bumped whenever people enter travelling/resting through set_state
        self.attrs: dict[str, np.ndarray] = {}  # person attributes: name -> uint8 codes (engine.attributes)

    @staticmethod
    def bytes_per_person() -> int:
        return sum(np.dtype(dt).itemsize for dt in FIELDS.values())

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in FIELDS)

    def counts_by_state(self) -> np.ndarray:
        return np.bincount(self.state, minlength=N_STATES)

    def set_state(self, idx: np.ndarray, state: State, day: int) -> None:
        """Move people ``idx`` into ``state`` from ``day`` on."""
        self.state[idx] = state
        self.since[idx] = day
        if state in (State.TRAVELLING, State.RESTING) and np.size(idx):
            self.version += 1  # someone may have joined the people on the move
