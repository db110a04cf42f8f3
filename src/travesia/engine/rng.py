"""Counter-based random numbers keyed by (seed, stream, day, id).

A draw for person (or group) ``i`` on ``day`` in stream ``name`` is a pure function of those
four numbers: a SplitMix64 hash. So results do not depend on the order people are stored in,
on which subset is drawn for, on threads or on workers, and adding a process (a new stream)
changes no one else's draws. There is no hidden generator state.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy.special import ndtri

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 2.0 ** -53


def _mix_scalar(x: int) -> int:
    m = (1 << 64) - 1
    x &= m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def stream_id(name: str) -> int:
    """A stable 32-bit number for a stream name (independent of Python's hash seed)."""
    return zlib.crc32(name.encode("utf-8"))


def key_for(seed: int, stream: str, day: int) -> int:
    """The 64-bit key of one (seed, stream, day)."""
    k = _mix_scalar(int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)
    k = _mix_scalar(k ^ (stream_id(stream) * 0xD1B54A32D192ED03))
    return _mix_scalar(k ^ ((int(day) + 1) * 0xA0761D6478BD642F))


def uniform_from_key(key: int, ids: np.ndarray) -> np.ndarray:
    """U[0,1) float64 per id for a key: SplitMix64(key + golden·(id+1)), top 53 bits.

    Uses the numba kernel when available (same integers, same result), else NumPy.
    """
    from travesia.engine import kernels

    if kernels.HAVE_NUMBA and ids.size > 4096:
        out = np.empty(ids.shape, dtype=np.float64)
        kernels.uniform_kernel(np.uint64(key), ids.reshape(-1).astype(np.int64, copy=False), out.reshape(-1))
        return out
    return uniform_numpy(key, ids)


def uniform_numpy(key: int, ids: np.ndarray) -> np.ndarray:
    """The NumPy path of :func:`uniform_from_key`."""
    x = ids.astype(np.uint64, copy=False) + np.uint64(1)
    x *= _GOLD
    x += np.uint64(key)
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    x >>= _S11
    return x.astype(np.float64) * _TO_UNIT


class KeyedRNG:
    """Random draws for a run: ``rng.random("movement.rest", day, ids)``."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[tuple[str, int], int] = {}

    def key(self, stream: str, day: int) -> int:
        k = self._keys.get((stream, day))
        if k is None:
            if len(self._keys) > 4096:
                self._keys.clear()
            k = self._keys[(stream, day)] = key_for(self.seed, stream, day)
        return k

    def random(self, stream: str, day: int, ids: np.ndarray) -> np.ndarray:
        """U[0,1) for each id."""
        return uniform_from_key(self.key(stream, day), np.asarray(ids))

    def normal(self, stream: str, day: int, ids: np.ndarray) -> np.ndarray:
        """Standard normal for each id (inverse CDF of the uniform draw)."""
        u = self.random(stream, day, ids)
        return ndtri(np.clip(u, 1e-300, None))

    def choice(self, stream: str, day: int, ids: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Index into ``probs`` (which sum to 1) for each id."""
        c = np.cumsum(np.asarray(probs, dtype=np.float64))
        c /= c[-1]
        return np.searchsorted(c, self.random(stream, day, ids), side="right").clip(0, len(c) - 1)
