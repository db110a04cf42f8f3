"""The shape of a process: declared arrays, parameters, and a step over whole arrays."""

from __future__ import annotations


class Process:
    """A daily process.

    Subclasses declare what they read and write (``reads``/``writes``: People fields), which
    parameter section they use (``params``), and implement ``step(sim)`` on whole arrays. They
    never import each other; they share state only through ``sim.people``, ``sim.policy``,
    ``sim.record`` and draw randomness only from ``sim.rng`` with their own stream names.
    """

    name: str = "process"
    params: str = ""
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    def setup(self, sim) -> None:  # noqa: D401 - called at the start and after a timeline event
        """Prepare anything derived from the parameters in force (called again after each event)."""

    def step(self, sim) -> None:
        raise NotImplementedError
