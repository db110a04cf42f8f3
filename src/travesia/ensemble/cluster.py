"""The Dask cluster of many runs: a local one by default, an existing one by its scheduler's address.

This module imports only the standard library at its top, so that a command can start the local
workers' fork server (:func:`start_worker_server`) before it imports the rest of travesia: the
server loads Dask, the engine and its compiled kernels on one core while the command reads the
scenario and draws the members on the other, and every worker is then a fork of it, ready at once.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from typing import Any, Iterator

SCHEDULER_ENV = "TRAVESIA_SCHEDULER"

# what the fork server of local workers imports before it forks them: Dask's own preload (the
# packages ``distributed.utils.get_mp_context`` lists) and the engine, warmed (travesia.ensemble.warmup)
WORKER_PRELOAD = ("distributed", "dask", "msgpack", "cloudpickle", "tornado", "toolz", "numpy", "pandas",
                  "travesia.ensemble.warmup")

# the environment of local workers: one thread each (as Dask's ``distributed.nanny.pre-spawn-environ``
# sets it), but not Dask's MALLOC_TRIM_THRESHOLD_=65536: with it glibc hands every freed block above
# 64 KiB back to the system, so each of a day's temporary arrays is mapped (and its pages faulted in)
# afresh; a member advanced with 31 others cost 137 ms of CPU with it, 85 ms without (in one process).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

# Dask's settings for a local cluster (its scheduler runs in this process, its nannies too; each
# worker gets them from its nanny): Dask's periodic bookkeeping, made for dashboards and long-lived
# shared clusters, slowed down or off. An idle cluster of 2 workers cost 0.69 s of CPU per 10 s in
# this process and 0.97 s in its workers with Dask's defaults, 0.11 s and 0.09 s with these: CPU the
# members' runs lose on a machine with as many cores as workers.
LOCAL_CONFIG = {
    "distributed.admin.tick.interval": "1s",  # each event loop's check that it is not blocked (20 ms)
    "distributed.worker.profile.enabled": False,  # a worker sampling its task's stack every 10 ms, for the dashboard
    "distributed.admin.system-monitor.interval": "2s",  # psutil's CPU, memory, disk and network (500 ms)
    "distributed.worker.memory.monitor-interval": "1s",  # the nannies' and workers' memory limits (100 ms)
    # a worker holds only the task it runs (Dask's 1.1 gives a one-thread worker a second one, queued);
    # this holds back only large groups of tasks, so runner.run_members also keeps one task per
    # worker thread in flight: the next goes to whichever worker frees up first; nothing to steal
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.work-stealing": False,
}


def _start_method() -> str:
    """How a local cluster starts its worker processes: on Linux from a fork server (a clean,
    single-threaded process that has imported Dask, the engine and its kernels once: each worker is
    a fork of it, and inherits none of this process's threads or state, which a plain fork would
    copy); elsewhere Dask's default (spawn)."""
    import multiprocessing

    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    import dask

    return dask.config.get("distributed.worker.multiprocessing-method")


def start_worker_server(scheduler: str | None = None) -> bool:
    """Start the fork server of local workers now, if a local cluster will be used and none runs yet.

    It imports :data:`WORKER_PRELOAD` (Dask, then the engine with its kernels loaded from numba's
    cache by a short run: :mod:`travesia.ensemble.warmup`) in its own process, in parallel with
    whatever this process does next; a ``LocalCluster`` started later forks its workers from it.
    Returns whether a server was started. Does nothing with a scheduler address, off Linux, or when
    this process already has a fork server (its preload is set once)."""
    if scheduler or os.environ.get(SCHEDULER_ENV) or _start_method() != "forkserver":
        return False
    import multiprocessing
    from multiprocessing import forkserver

    server = forkserver._forkserver  # the process's one fork server (multiprocessing has no public getter)
    if getattr(server, "_forkserver_pid", None) is not None:
        return False
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))
    added = {k: v for k, v in WORKER_ENV.items() if k not in os.environ}  # the user's own settings stay
    os.environ.update(added)  # the server, and every worker forked from it, starts with these
    try:
        forkserver.ensure_running()
    finally:
        for k in added:
            os.environ.pop(k, None)
    atexit.register(_stop_server, server._forkserver_pid)
    return True


def _stop_server(pid: int) -> None:
    """At exit: end the fork server now (it would end by itself only after its preload, which a
    command that stopped early, on a user error, would leave running for seconds)."""
    import signal

    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)


WORKERS_PER_CPU = 4  # local worker processes per CPU, at most: each is a process with its own memory


def check_local_workers(workers: int | None, scheduler: str | None = None) -> None:
    """``--workers`` of a local cluster (none with a scheduler): at most :data:`WORKERS_PER_CPU` per
    CPU. Hundreds of processes on a few cores do not start in any useful time (1,000 on 2 cores
    hung, leaking semaphores)."""
    from travesia.errors import UserError

    if workers is None or scheduler or os.environ.get(SCHEDULER_ENV):
        return
    cpus = os.cpu_count() or 1
    if workers > WORKERS_PER_CPU * cpus:
        raise UserError(f"{workers:,} local worker processes on a machine of {cpus} CPU(s); at most "
                        f"{WORKERS_PER_CPU * cpus:,} ({WORKERS_PER_CPU} per CPU), or --scheduler to use a "
                        "running cluster", where="--workers")


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask ``Client``: to ``scheduler`` (or ``$TRAVESIA_SCHEDULER``) if given, else to a new
    ``LocalCluster`` of ``workers`` processes with one thread each (default: the CPU count)."""
    from travesia.errors import UserError
    from travesia.options import check_scheduler, check_workers

    check_workers(workers)
    scheduler = check_scheduler(scheduler)
    check_local_workers(workers, scheduler)
    if scheduler is None:
        check_scheduler(None)  # $TRAVESIA_SCHEDULER, when set
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as e:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {e}", where="--scheduler") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    n = workers or max(1, os.cpu_count() or 1)
    start_worker_server()  # no-op when a command started it earlier
    import dask
    from distributed import Client, LocalCluster

    try:
        with dask.config.set({**LOCAL_CONFIG, "distributed.worker.multiprocessing-method": _start_method(),
                              "distributed.nanny.pre-spawn-environ": {**WORKER_ENV, "MALLOC_TRIM_THRESHOLD_": None}}):
            # no dashboard; the scheduler's small HTTP server (health, metrics) on a free port, not
            # Dask's 8787, which a second cluster (two commands at once) or the user's own Dask holds
            # (Dask then warned "Port 8787 is already in use" on every start); the workers' logs off
            # below CRITICAL: a task's error reaches the client, which raises it (a user's error as
            # its one line, a bug with its traceback in the crash log), never as a worker's
            # traceback printed on the user's terminal
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.CRITICAL)
    except Exception as e:  # a worker that died while starting ("Nanny failed to start"), no memory ...
        raise UserError(f"could not start a local Dask cluster of {n} worker process(es): {type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else 'no message'}; try fewer --workers, or "
                        "--scheduler to use a running cluster", where="--workers") from None
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextlib.contextmanager
def maybe_client(client: Any = None, workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """Use ``client`` if given, else open one with :func:`dask_client`."""
    if client is not None:
        yield client
    else:
        with dask_client(workers, scheduler) as c:
            yield c


def _workers(client: Any) -> dict:
    """The scheduler's record of every worker (all of them, not the first few it lists by default)."""
    try:
        return client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:
        return client.scheduler_info()["workers"]


def n_workers(client: Any) -> int:
    return max(1, len(_workers(client)))


def n_threads(client: Any) -> int:
    """Threads of all the cluster's workers (tasks it runs at once)."""
    return max(1, sum(int(w.get("nthreads", 1) or 1) for w in _workers(client).values()))
