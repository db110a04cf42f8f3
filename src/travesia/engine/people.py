"""People: the struct-of-arrays state of every person.

One element per person in each array; a person's id is their index, fixed at creation (people
are created once, in a deterministic order, and never removed: "nobody is lost").

The engine itself owns :data:`CORE_FIELDS` (where someone is, their state); every other field is
declared by the process that needs it (``Process.fields``, as Starsim's ``define_states``) and
allocated by the :class:`~travesia.engine.sim.Sim` for the processes of its rule set. A caravan
run's bytes per person: :meth:`People.bytes_per_person`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from travesia.engine.core import (  # noqa: F401 - the state vocabulary, re-exported
    CLEARED, DOCS, IRREGULAR, N_STATES, RALLY, STATE_NAMES, Intent, Motive, State,
)

ON_THE_MOVE = (State.TRAVELLING, State.RESTING)


@dataclass(frozen=True)
class Field:
    """A person field: its dtype, its value before anything is set, and what it holds."""

    dtype: type
    fill: int | float = 0
    doc: str = ""


CORE_FIELDS: dict[str, Field] = {
    "place": Field(np.int32, 0, "place index; on a leg: the place left"),
    "next": Field(np.int32, -1, "on a leg: the place heading to, else -1"),
    "km_left": Field(np.float32, 0, "km still to go on the current leg"),
    "state": Field(np.uint8, 0, "State"),
    "flags": Field(np.uint8, 0, "flag bits (core.CLEARED, IRREGULAR, DOCS, RALLY, HOPPED)"),
    "pop": Field(np.uint8, 0, "population (caravan) index"),
    "origin": Field(np.int32, 0, "home place index"),
    "since": Field(np.int16, 0, "day the current state began"),
    "member": Field(np.uint16, 0, "which member of a batch (Sim.members); 0 in a plain run"),
}


def merge_fields(*declared: dict[str, Field]) -> dict[str, Field]:
    """The union of field declarations; the same name must mean the same dtype and fill."""
    out = dict(CORE_FIELDS)
    for d in declared:
        for k, f in d.items():
            if k in out and (np.dtype(out[k].dtype) != np.dtype(f.dtype) or out[k].fill != f.fill):
                raise ValueError(f"person field {k!r} declared twice with different dtypes or fills")
            out[k] = f
    return out


class People:
    """Fixed-size struct of arrays: ``people.place``, ``people.state`` ... (see :data:`CORE_FIELDS`
    and the processes' ``fields``)."""

    place: np.ndarray
    next: np.ndarray
    km_left: np.ndarray
    state: np.ndarray
    flags: np.ndarray
    pop: np.ndarray
    origin: np.ndarray
    since: np.ndarray
    member: np.ndarray

    def __init__(self, n: int, fields: dict[str, Field] | None = None):
        self.n = int(n)
        self.fields = dict(fields or CORE_FIELDS)
        for name, f in self.fields.items():
            setattr(self, name, np.full(self.n, f.fill, dtype=f.dtype))
        self.version = 0  # bumped whenever people enter travelling/resting through set_state
        # bumped whenever someone may have left travelling/resting: by set_state, and by the
        # processes whose kernels write states (intentions, movement); Sim.on_the_move relies on it
        self.changed = 0
        self.joined: list[np.ndarray] = []  # ids set_state took out of waiting (Sim.live merges them; the close too)
        self.entered: list[np.ndarray] = []  # ids set_state put on the move (Sim.on_the_move merges them)
        self.attrs: dict[str, np.ndarray] = {}  # person attributes: name -> uint8 codes (engine.attributes)

    def bytes_per_person(self) -> int:
        """Bytes of person state: the allocated fields and one byte per attribute."""
        return sum(np.dtype(f.dtype).itemsize for f in self.fields.values()) + len(self.attrs)

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in self.fields) + sum(a.nbytes for a in self.attrs.values())

    def counts_by_state(self) -> np.ndarray:
        return np.bincount(self.state, minlength=N_STATES)

    def set_state(self, idx: np.ndarray, state: State, day: int) -> None:
        """Move people ``idx`` into ``state`` from ``day`` on. This is how people leave ``waiting``
        (the simulation's live list learns of them at once; people whose state a rule set writes
        directly join it when the day closes)."""
        if np.size(idx) == 0:
            return
        old = self.state[idx]
        ids = None
        joined = None
        if state != State.WAITING:
            was = old == State.WAITING
            if np.any(was):
                ids = self._ids(idx)
                joined = ids[was.reshape(-1)]
        left = state not in ON_THE_MOVE and bool(np.any((old == State.TRAVELLING) | (old == State.RESTING)))
        self.state[idx] = state
        self.since[idx] = day
        if state in ON_THE_MOVE:
            self.note_states(joined, left, self._ids(idx) if ids is None else ids)
        else:
            self.note_states(joined, left)

    def _ids(self, idx) -> np.ndarray:
        """The ids ``idx`` selects (ids, a bool mask or one id) as a flat int64 array."""
        ids = np.arange(self.n)[idx] if not isinstance(idx, np.ndarray) or idx.dtype == bool else idx
        return np.asarray(ids, dtype=np.int64).reshape(-1)

    def note_states(self, joined: np.ndarray | None = None, left: bool = False,
                    entered: np.ndarray | None = None) -> None:
        """What the simulation's lists must learn of states written (by :meth:`set_state`, or by a
        kernel, which then calls this): ``joined``, ids taken out of ``waiting``; ``left``, whether
        someone may have left travelling/resting; ``entered``, ids put into travelling/resting (the
        id arrays are kept, not copied)."""
        if joined is not None and joined.size:
            self.joined.append(joined)
        if left:
            self.changed += 1  # someone left the people on the move
        if entered is not None and entered.size:
            self.version += 1  # someone may have joined the people on the move
            self.entered.append(entered)
