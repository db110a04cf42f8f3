"""The shape of a process: declared person fields, reads and writes, parameters, and a step over
whole arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from travesia.engine.people import Field

if TYPE_CHECKING:
    from travesia.engine.sim import Sim


class Process:
    """A daily process.

    Subclasses declare:

    - ``fields``: the person fields the process owns (name → :class:`~travesia.engine.people.Field`);
      the :class:`~travesia.engine.sim.Sim` allocates the union over its rule set (as Starsim's
      ``define_states``);
    - ``reads`` / ``writes``: the People fields (core or declared) the process reads and writes
      (a test checks them against what the module touches);
    - ``params``: the parameter sections it uses.

    A process keeps its own per-run arrays as attributes (they are saved and restored with the
    Sim's state); it never imports another process, shares state only through ``sim.people``,
    ``sim.policy`` and ``sim.record``, and draws only from ``sim.rng`` with its own stream names.
    """

    name: ClassVar[str] = "process"
    params: ClassVar[str] = ""
    fields: ClassVar[dict[str, Field]] = {}
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    def create(self, sim: Sim) -> None:
        """Give the people of the rule set the attributes this process owns (called once, after the
        People arrays are allocated and everyone is ``waiting`` at their origin or joining town)."""

    def setup(self, sim: Sim) -> None:
        """Prepare anything derived from the parameters in force (called again after each event)."""

    def step(self, sim: Sim) -> None:
        raise NotImplementedError
