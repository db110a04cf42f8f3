"""The processes of a day, in the order they run. This is the one place that order is declared.

Rule set ``caravan`` (the default), each step working on whole arrays:

1. ``recruitment``  waiting → travelling: the core sets out, word of mouth grows the caravan,
                    deterrence holds some back, joiners in towns on the route fall in;
2. ``intentions``   minds change: giving up and heading home, permit programmes (settled),
                    assisted return (returned);
3. ``asylum``       decisions due today (settled / deported), releases from detention,
                    new applications (asylum_pending);
3b. ``permits``    permit programmes: applications (permit_pending, present in the town),
                    processing a day, quota, cards (settled, or travelling on legally);
4. ``borders``      people held at border posts: processed, turned back, breaching, bypassing,
                    detained;
5. ``groups``       groups split; groups ahead wait at rally points and merge there;
6. ``movement``     rest, foot, rides, buses; route choice; arrival at places, destinations, home;
7. ``arrival``      at the destination: the port of entry's daily quota, irregular crossings.

Decisions made early in the day act on the same day's movement: someone who gives up in
``intentions`` walks home in ``movement``; someone cleared by ``borders`` moves on that day.
"""

from __future__ import annotations

from travesia.engine.processes.arrival import Arrival
from travesia.engine.processes.asylum import Asylum
from travesia.engine.processes.base import Process
from travesia.engine.processes.borders import Borders
from travesia.engine.processes.groups import Groups
from travesia.engine.processes.intentions import Intentions
from travesia.engine.processes.movement import Movement
from travesia.engine.processes.permits import Permits
from travesia.engine.processes.recruitment import Recruitment

CARAVAN: tuple[type[Process], ...] = (Recruitment, Intentions, Asylum, Permits, Borders, Groups, Movement, Arrival)

RULESETS: dict[str, tuple[type[Process], ...]] = {"caravan": CARAVAN}


def register_ruleset(name: str, processes: tuple[type[Process], ...]) -> None:
    """Make a rule set selectable with ``rules: NAME`` in scenario.yaml."""
    RULESETS[name] = processes


def make_processes(rules: str) -> list[Process]:
    if rules not in RULESETS:
        # rule sets living in their own modules register on import
        try:
            __import__(f"travesia.engine.processes.{rules}_rules")
        except ImportError:
            pass
    if rules not in RULESETS:
        from travesia.errors import UserError

        raise UserError(f"rules: unknown rule set '{rules}' (known: {', '.join(sorted(RULESETS))})")
    return [cls() for cls in RULESETS[rules]]
