"""Random numbers for a run, keyed by (seed, stream, day, id): ``sim.rng.random("movement.rest", day, ids)``.

The draw itself is written once, in :mod:`travesia.engine.core` (:func:`~travesia.engine.core.uniform_k`);
this module gives processes the vectorised forms: uniform, normal (inverse CDF) and a choice by
probabilities. There is no hidden generator state: a draw is a pure function of its four numbers.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from travesia.engine.core import day_key, day_keys, key_for, seed_key, stream_id, stream_key, uniform_ids

__all__ = ["KeyedRNG", "cumulative", "key_for", "normal_of", "stream_id", "uniform_from_key"]


def uniform_from_key(key: int, ids: np.ndarray) -> np.ndarray:
    """U[0,1) float64 per id for a (seed, stream, day) key."""
    ids = np.asarray(ids)
    out = np.empty(ids.shape, dtype=np.float64)
    uniform_ids(np.uint64(key), ids.reshape(-1).astype(np.int64, copy=False), out.reshape(-1))
    return out


def normal_of(u: np.ndarray) -> np.ndarray:
    """Standard normal for uniform draws ``u`` (the inverse CDF; a draw of exactly 0 is nudged up)."""
    return ndtri(np.clip(u, 1e-300, None))


def cumulative(probs: np.ndarray) -> np.ndarray:
    """Cumulative probabilities of a choice (``probs`` summing to 1), the last exactly 1: option
    ``i`` is chosen for a uniform draw ``u`` with ``c[i-1] <= u < c[i]``."""
    c = np.cumsum(np.asarray(probs, dtype=np.float64))
    c /= c[-1]
    return c


class KeyedRNG:
    """Random draws for a run: ``rng.random("movement.rest", day, ids)``."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._seed_key = seed_key(self.seed)
        self._stream_keys: dict[str, int] = {}
        self._key_arrays: dict[tuple[str, ...], np.ndarray] = {}

    def key(self, stream: str, day: int) -> int:
        """The 64-bit key of (seed, ``stream``, ``day``)."""
        sk = self._stream_keys.get(stream)
        if sk is None:
            sk = self._stream_keys[stream] = stream_key(self._seed_key, stream)
        return day_key(sk, day)

    def day_keys(self, streams: tuple[str, ...], day: int) -> np.ndarray:
        """The keys of several streams on ``day`` (uint64 array), in one vectorised hash."""
        sk = self._key_arrays.get(streams)
        if sk is None:
            sk = self._key_arrays[streams] = np.array([stream_key(self._seed_key, s) for s in streams], dtype=np.uint64)
        return day_keys(sk, day)

    def random(self, stream: str, day: int, ids: np.ndarray) -> np.ndarray:
        """U[0,1) for each id."""
        return uniform_from_key(self.key(stream, day), ids)

    def choice(self, stream: str, day: int, ids: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Index into ``probs`` (which sum to 1) for each id."""
        c = cumulative(probs)
        return np.searchsorted(c, self.random(stream, day, ids), side="right").clip(0, len(c) - 1)


