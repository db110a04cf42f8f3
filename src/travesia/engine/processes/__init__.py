"""The processes of a day, in the order they run. This is the one place that order is declared.

Rule set ``caravan`` (the default), each step working on whole arrays:

1. ``recruitment``  waiting → travelling: the core sets out, word of mouth grows the caravan,
                    deterrence holds some back, joiners in towns on the route fall in;
2. ``offers``       transport offered to a caravan (drawn), accepted or refused by it;
3. ``plan``         each caravan's plan of the day: body, next stop, hold, route decision at forks;
4. ``leaving``      going home at rates that depend on holds, police pressure and return offers;
5. ``intentions``   minds change: giving up and heading home, permit programmes (settled),
                    assisted return (returned);
6. ``asylum``       decisions due today (settled / deported), releases from detention,
                    new applications (asylum_pending);
6b. ``permits``    permit programmes: applications (permit_pending, present in the town),
                    processing a day, quota, cards (settled, or travelling on legally);
7. ``borders``      people held at border posts: processed, turned back, breaching, bypassing,
                    detained;
8. ``groups``       groups split; groups ahead wait at rally points and merge there;
9. ``movement``     rest, foot, rides, buses (and accepted offers); followers of a plan go to its
                    target and stop there; route choice; arrival at places, destinations, home;
10. ``arrival``      at the destination: the port of entry's daily quota, irregular crossings.

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
from travesia.engine.processes.leaving import Leaving
from travesia.engine.processes.movement import Movement
from travesia.engine.processes.offers import Offers
from travesia.engine.processes.permits import Permits
from travesia.engine.processes.plan import Plan
from travesia.engine.processes.recruitment import Recruitment
from travesia.engine.processes.reroute import Reroute

CARAVAN: tuple[type[Process], ...] = (Recruitment, Offers, Plan, Leaving, Intentions, Asylum, Permits, Borders,
                                      Reroute, Groups, Movement, Arrival)

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
