"""Person attributes (demographics): drawn once per person when created, counted per place.

A scenario's ``attributes:`` (:class:`travesia.scenario.schema.Attribute`) names categories such
as ``age_group`` or ``gender``, with weights per place where people start and a ``default``.
Each person draws each attribute from the weights of the place they start from (their
population's origin, or the town where they join), as FLEE 3 draws at spawn from the column of
the spawn location (``spawning.draw_sample``), else from ``default``. Draws are keyed by
(seed, stream ``create.attribute.<name>``, person id), so they do not depend on any other draw.
With ``per: household`` the draw is keyed by household id instead: every member shares it
(a household "with children", say).

People hold each attribute as one uint8 array of codes (the value's index): 1 byte per person
per attribute, in ``people.attrs[name]``. The record keeps, for every attribute, the people
present at each place each day by value (``Record.by_attribute``), the same ``present`` as
totals.csv (travelling + resting + arrived), written to ``by_attribute.csv``.
"""

from __future__ import annotations

import numpy as np


def weights_for(attribute, place_id: str, place_name: str) -> np.ndarray:
    """The weights a person starting at the place draws with (its own column, else ``default``)."""
    w = attribute.weights.get(place_id, attribute.weights.get(place_name, attribute.weights["default"]))
    return np.asarray(w, dtype=np.float64)


def draw_attributes(sim) -> dict[str, np.ndarray]:
    """Codes of every attribute for every person of ``sim`` (uint8 arrays over the People arrays;
    each member of a batch draws with its own seed and its own person or household ids)."""
    out: dict[str, np.ndarray] = {}
    net = sim.net
    per_household = "household" in sim.people.fields
    for name, at in sim.params.attributes.items():
        codes = np.zeros(sim.people.n, dtype=np.uint8)
        for m, segs in enumerate(sim.member_segments):
            for s in segs:
                if s.stop <= s.start:
                    continue
                w = weights_for(at, net.ids[s.place], net.names[s.place])
                ids = np.arange(s.start, s.stop, dtype=np.int64) - sim.offsets[m]
                if at.per == "household" and per_household:  # one draw per household, shared by its members
                    ids = sim.people.household[s.start:s.stop].astype(np.int64)
                codes[s.start:s.stop] = sim.rngs[m].choice(f"create.attribute.{name}", 0, ids, w / w.sum())
        out[name] = codes
    return out
