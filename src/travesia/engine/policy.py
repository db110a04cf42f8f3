"""The policies in force today, compiled from the parameters into per-place and per-country arrays.

Rebuilt whenever a timeline event changes a parameter. ``scale`` (``--scale K``) multiplies every
capacity and crowd threshold (:func:`~travesia.engine.core.scaled_count`) so that a scaled run keeps
the dynamics of the unscaled one. ``place`` and ``country`` are the records the kernels read.
"""

from __future__ import annotations

import math

import numpy as np

from travesia.engine.core import PLACE_REC, records, scaled_count
from travesia.engine.kernels import COUNTRY_REC
from travesia.network import KIND, Network
from travesia.scenario.schema import Country, Scenario

RULE_OPEN, RULE_DOCUMENTS, RULE_CLOSED = 0, 1, 2
_RULES = {"open": RULE_OPEN, "documents": RULE_DOCUMENTS, "closed": RULE_CLOSED}


_NO_COUNTRY = Country()  # the defaults of a country the scenario does not name (read only)


class Policy:
    """Arrays indexed by place (``rule``, ``capacity`` ...) or by country (``asylum_open`` ...)."""

    # the parameter sections a policy is compiled from (an event touching none of them leaves it)
    SECTIONS = frozenset({"crossings", "countries", "groups"})

    def __init__(self, params: Scenario, net: Network, scale: float = 1.0):
        P = net.n_places
        self.rule = np.zeros(P, dtype=np.uint8)
        self.capacity = np.zeros(P, dtype=np.int64)
        self.enforcement = np.zeros(P)
        self.breach_crowd = np.zeros(P, dtype=np.int64)
        self.breach_prob = np.zeros(P)
        self.bypass_prob = np.zeros(P)
        self.bypass_left_factor = np.ones(P)
        self.apply_at_post = np.zeros(P)
        self.exit_only = np.full(P, -1, dtype=np.int16)
        self.queue_at = np.full(P, -1, dtype=np.int64)  # where the crowd held at a post is counted
        self.is_crossing = np.zeros(P, dtype=bool)
        # accepts[place, nationality]: the post takes that country's national ID as documents
        self.accepts = np.zeros((P, len(net.countries)), dtype=bool)
        for pid, c in params.crossings.items():
            i = net.index[pid]
            self.is_crossing[i] = True
            self.rule[i] = _RULES[c.rule]
            self.capacity[i] = scaled_count(c.capacity_per_day, scale)
            self.enforcement[i] = c.enforcement
            self.breach_crowd[i] = scaled_count(c.breach_crowd, scale)
            self.breach_prob[i] = c.breach_prob
            self.bypass_prob[i] = c.bypass_prob
            self.bypass_left_factor[i] = c.bypass_left_factor
            self.apply_at_post[i] = c.apply_at_post
            if c.queue_at:
                self.queue_at[i] = net.index[c.queue_at]
            if c.exit_only:
                self.exit_only[i] = net.countries.index(c.exit_only) if c.exit_only in net.countries else -2
            for nat in c.accepts:  # nationalities with no place in the network have nobody to pass
                if nat in net.countries:
                    self.accepts[i, net.countries.index(nat)] = True
        # any border-crossing place counts people passing as "crossed"
        self.counts_crossing = self.is_crossing | (net.kind == KIND["border_crossing"])
        self.blocked = self.rule != RULE_OPEN

        cs = [params.countries.get(name, _NO_COUNTRY) for name in net.countries]
        self.asylum_open = np.array([c.asylum.open for c in cs], dtype=bool)
        self.apply_protection = np.array([c.asylum.apply_per_day_protection for c in cs])
        self.apply_economic = np.array([c.asylum.apply_per_day_economic for c in cs])
        self.apply_stay = np.array([c.asylum.apply_per_day_stay for c in cs])
        self.max_wait_days = np.array([math.ceil(c.asylum.max_wait_working_days * 7 / 5) for c in cs], dtype=np.int64)
        self.min_wait_days = np.minimum(np.array([c.asylum.min_wait_days for c in cs], dtype=np.int64), self.max_wait_days)
        self.grant_rate = np.array([c.asylum.grant_rate for c in cs])
        self.abandon = np.array([c.asylum.abandon_per_day for c in cs])
        self.station = np.array([net.index[c.asylum.station] if c.asylum.station else -1 for c in cs], dtype=np.int32)
        self.permit = np.array([c.permit_per_day for c in cs])
        self.return_assistance = np.array([c.return_assistance for c in cs])
        self.rides_blocked = np.array([c.rides_blocked for c in cs], dtype=bool)
        self.detention_days = np.array([c.detention_days for c in cs], dtype=np.int64)
        self.deport_share = np.array([c.deport_share for c in cs])
        self.detention_place = np.array(
            [net.index[c.detention_place] if c.detention_place else -1 for c in cs], dtype=np.int32)
        self.port_admits = scaled_count(np.array([c.port_admits_per_day for c in cs], dtype=np.float64), scale)
        # the records the kernels read
        self.place = records(P, PLACE_REC)
        self.place["blocked"] = self.blocked
        self.place["exit_only"] = self.exit_only
        self.place["counts_crossing"] = self.counts_crossing
        self.place["rally"][[net.index[r] for r in params.groups.rally_points]] = True
        self.place["shelter"] = net.kind == KIND["shelter"]
        self.place["country"] = net.country
        self.country = records(len(cs), COUNTRY_REC)
        for name in COUNTRY_REC.names:
            self.country[name] = getattr(self, name)
