"""Checks of command-line values shared by every command (run, ensemble, calibrate, forecast ...).

Each check names the option (``--days``, ``--seed``, ``--scale`` ...) so that an error is blamed
on what the user typed, and each runs before any work starts (before a cluster is started or a
single day is simulated).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re

from travesia.errors import UserError

MAX_DAYS = 3660  # as the schema's days
MAX_SEED = 2**63 - 1
MAX_SCALE = 10_000.0
MAX_MEMBERS = 10_000_000
MAX_WORKERS = 1024
# a Dask scheduler address: tcp://host:port (or tls://, ucx://, ws://, wss://, inproc://), or host:port
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):\d{1,5}/?$|^inproc://\S+$")


def _int(value, option: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"expected a whole number, got {value!r}", where=option)
    if not low <= value <= high:
        raise UserError(f"must be between {low:,} and {high:,}, got {value:,}", where=option)
    return value


def check_days(days: int | None, option: str = "--days") -> int | None:
    """``days`` is None (the scenario's) or 1..3660; 0 is an error, never "the default"."""
    return None if days is None else _int(days, option, 1, MAX_DAYS)


def check_period(start: dt.date, days: int | None, option: str = "--days") -> int | None:
    """``days`` (checked by :func:`check_days`) from the scenario's ``start`` stay within the calendar."""
    from travesia.scenario.schema import period_fits

    if days is not None and not period_fits(start, days):
        raise UserError(f"{days:,} days from the scenario's start {start} run past {dt.date.max}, the last date "
                        "there is", where=option)
    return days


def check_seed(seed: int | None, option: str = "--seed") -> int | None:
    return None if seed is None else _int(seed, option, 0, MAX_SEED)


def check_scale(scale: float, option: str = "--scale") -> float:
    """A finite factor in (0, 10000]; whether the people fit in memory is checked once they are counted."""
    try:
        x = float(scale)
    except (TypeError, ValueError):
        raise UserError(f"expected a number, got {scale!r}", where=option) from None
    if not math.isfinite(x) or x <= 0:
        raise UserError(f"must be a finite number > 0, got {scale}", where=option)
    if x > MAX_SCALE:
        raise UserError(f"must be at most {MAX_SCALE:g}, got {scale}", where=option)
    return x


def check_members(members: int | None, option: str = "--members") -> int | None:
    return None if members is None else _int(members, option, 1, MAX_MEMBERS)


def check_batch(batch: int | None, option: str = "--batch") -> int | None:
    return None if batch is None else _int(batch, option, 1, MAX_MEMBERS)


def check_threads(threads: int, option: str = "--threads") -> int:
    """Numba threads of the engine's kernels: 1 (the default) to 1024; more than the machine's cores
    are capped to numba's count."""
    return _int(threads, option, 1, MAX_WORKERS)


def check_workers(workers: int | None, option: str = "--workers") -> int | None:
    return None if workers is None else _int(workers, option, 1, MAX_WORKERS)


def check_scheduler(address: str | None, option: str = "--scheduler") -> str | None:
    """A Dask scheduler address (tcp://HOST:PORT or HOST:PORT); also $TRAVESIA_SCHEDULER when set."""
    from_env = address is None
    if from_env:
        address = os.environ.get("TRAVESIA_SCHEDULER") or None
        option = "$TRAVESIA_SCHEDULER"
    if address is None:
        return None
    if not _ADDRESS.match(address.strip()):
        raise UserError(f"'{address}' is not a Dask scheduler address (expected tcp://HOST:PORT)", where=option)
    port = address.rstrip("/").rsplit(":", 1)[-1]
    if port.isdigit() and not 0 < int(port) < 65536:
        raise UserError(f"port {port} is out of range (1..65535)", where=option)
    return None if from_env else address.strip()


def check_common(*, days=None, seed=None, scale=1.0, members=None, batch=None, workers=None, scheduler=None) -> None:
    """Check every option given at once (None means not given)."""
    check_days(days)
    check_seed(seed)
    check_scale(scale)
    check_members(members)
    check_batch(batch)
    check_workers(workers)
    check_scheduler(scheduler)


def available_memory() -> int | None:
    """Bytes of memory available to this process now (MemAvailable, capped by a cgroup limit), or None."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    for p in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            txt = open(p).read().strip()
        except OSError:
            continue
        if txt.isdigit() and int(txt) < avail:
            try:
                used = int(open(p.replace("memory.max", "memory.current").replace("limit_in_bytes", "usage_in_bytes")).read())
            except (OSError, ValueError):
                used = 0
            avail = max(0, int(txt) - used)
    return avail


def memory_budget() -> int | None:
    """Bytes a run may allocate: $TRAVESIA_MEMORY_BYTES if set, else the memory available now (None: unknown)."""
    budget = os.environ.get("TRAVESIA_MEMORY_BYTES")
    return int(budget) if budget and budget.isdigit() else available_memory()
