"""Ensembles: keyed seeds and draws, priors checked with clear errors, byte-identical results on 1 and 2
Dask workers, a killed worker losing no member, --scheduler, outputs never over a user's folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from travesia.ensemble.ensemble import column_percentiles, member_plan, read_posterior, run_ensemble, simulate_ensemble
from travesia.ensemble.priors import draw, member_seed, ppf, read_priors_file, scenario_priors, to_value
from travesia.ensemble.runner import RunConfig, dask_client, run_batch
from travesia.errors import UserError
from travesia.scenario.builtin import init_scenario
from travesia.scenario.load import load_scenario
from travesia.scenario.schema import Prior

PRIORS = """
priors:
  movement.foot_km_per_day: {dist: uniform, low: 30, high: 70, source: test}
  intentions.give_up_per_day: {dist: loguniform, low: 0.005, high: 0.05}
  populations.first.size: {dist: truncnormal, mean: 6500, sd: 1000, low: 5000, high: 8000, integer: true}
"""


def small_scenario(folder: Path, priors: str = PRIORS) -> Path:
    """caravan-2018 copied, with priors appended to its scenario.yaml."""
    init_scenario("caravan-2018", folder)
    with open(folder / "scenario.yaml", "a", encoding="utf-8") as f:
        f.write(priors)
    return folder


@pytest.fixture(scope="module")
def scen(tmp_path_factory) -> Path:
    return small_scenario(tmp_path_factory.mktemp("ens") / "scen")


@pytest.fixture(scope="module")
def client2():
    with dask_client(workers=2) as c:
        yield c


# --------------------------------------------------------------------------- seeds, draws, priors


def test_member_seeds_and_draws_are_keyed_by_member():
    pri = {"movement.foot_km_per_day": Prior(dist="uniform", low=30, high=70),
           "movement.ride_prob": Prior(dist="uniform", low=0.1, high=0.5)}
    seeds = [member_seed(7, i) for i in range(50)]
    assert len(set(seeds)) == 50 and all(0 <= s < 2**63 for s in seeds)
    assert member_seed(7, 3) == seeds[3] and member_seed(8, 3) != seeds[3]
    a = [draw(pri, 7, i) for i in range(20)]
    b = [draw(pri, 7, i) for i in reversed(range(20))][::-1]
    assert a == b  # order of drawing does not matter
    # adding a prior changes no other parameter's draws
    more = {**pri, "intentions.give_up_per_day": Prior(dist="loguniform", low=0.005, high=0.05)}
    for i in range(20):
        d = draw(more, 7, i)
        assert d["movement.foot_km_per_day"] == a[i]["movement.foot_km_per_day"]
    xs = np.array([x["movement.foot_km_per_day"] for x in (draw(pri, 1, i) for i in range(400))])
    assert 30 <= xs.min() and xs.max() <= 70 and abs(xs.mean() - 50) < 3


def test_keyed_state_is_numpys_seed_sequence():
    """The vectorised hash gives NumPy's SeedSequence words bit for bit (seeds of one and many words)."""
    from travesia.ensemble.priors import keyed_state

    keys = np.array([[0, 0, 1], [5, 2**32 - 1, 1], [2**31, 12345, 1], [399, 7, 0]])
    for seed in (0, 3, 2018, 2**32 - 1, 2**32, 2**63 - 1, 2**130 + 17):
        want = [np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in row)).generate_state(2, np.uint32)
                for row in keys]
        assert np.array_equal(keyed_state(seed, keys), np.array(want))
        assert np.array_equal(keyed_state(seed, keys[:, :1]), np.array(
            [np.random.SeedSequence(seed, spawn_key=(int(k),)).generate_state(2, np.uint32) for k in keys[:, 0]]))


def test_ppf_of_each_distribution():
    u = np.linspace(0.001, 0.999, 999)
    lu = ppf(Prior(dist="loguniform", low=0.01, high=1), u)
    assert lu.min() >= 0.01 and lu.max() <= 1 and abs(np.median(lu) - 0.1) < 0.01
    tn = ppf(Prior(dist="truncnormal", mean=0, sd=1, low=-0.5, high=2), u)
    assert tn.min() >= -0.5 and tn.max() <= 2
    n = ppf(Prior(dist="normal", mean=50, sd=5), np.array([0.5, 0.8413447]))
    assert n[0] == pytest.approx(50) and n[1] == pytest.approx(55, abs=1e-3)
    # clipped to the parameter's valid range (a share in [0, 1]); whole-number parameters rounded
    assert to_value("movement.ride_prob", Prior(dist="normal", mean=0.9, sd=1), 1.7) == 1.0
    assert to_value("populations.first.size", Prior(dist="uniform", low=1, high=9), 3.6) == 4


def test_priors_are_validated_with_clear_errors(tmp_path, scen):
    def write(text):
        p = tmp_path / "p.yaml"
        p.write_text(text)
        return p

    with pytest.raises(UserError, match=r"p.yaml:3: .*foot_km_per_day.*low .*must be below high"):
        read_priors_file(write("priors:\n  movement.ride_prob: {dist: uniform, low: 0, high: 1}\n"
                               "  movement.foot_km_per_day: {dist: uniform, low: 60, high: 30}\n"))
    with pytest.raises(UserError, match=r"p.yaml:1: .*needs mean, sd"):
        read_priors_file(write("movement.foot_km_per_day: {dist: normal, mean: 50}\n"))
    with pytest.raises(UserError, match=r"p.yaml:1: .*unknown parameter 'movement.foot_kmh'"):
        read_priors_file(write("movement.foot_kmh: {dist: uniform, low: 1, high: 2}\n"))
    with pytest.raises(UserError, match=r"p.yaml:1: .*needs a numeric parameter"):
        read_priors_file(write("crossings.ciudad_hidalgo.rule: {dist: uniform, low: 1, high: 2}\n"))
    with pytest.raises(UserError, match=r"p.yaml:1: .*dist"):
        read_priors_file(write("movement.foot_km_per_day: {dist: beta, low: 1, high: 2}\n"))
    with pytest.raises(UserError, match="priors file not found"):
        read_priors_file(tmp_path / "nope.yaml")
    # a scenario declaring none: the command that needs them says how to declare them
    with pytest.raises(UserError, match="declares no priors.*--priors FILE"):
        scenario_priors(load_scenario("caravan-2018"), need="ensemble")
    # ... but a built-in scenario's ensemble uses its shipped priors by default, and every population
    # size they can draw is at least that population's core (else whole members would be refused)
    builtin = load_scenario("caravan-2018")
    shipped = scenario_priors(builtin, need="ensemble", default=True)
    assert len(shipped) >= 5
    for pop in builtin.params.populations:
        pr = shipped.get(f"populations.{pop.name}.size")
        if pr is not None and getattr(pr, "low", None) is not None:
            assert pr.low >= pop.core, pop.name
    # the shipped caravan-2018 priors load and pass the checks; scenario priors are read
    assert len(scenario_priors(load_scenario("caravan-2018"), "caravan-2018", need="x")) >= 5
    assert set(scenario_priors(load_scenario(scen), need="x")) == {
        "movement.foot_km_per_day", "intentions.give_up_per_day", "populations.first.size"}
    # a bad prior inside scenario.yaml stops loading with the line
    bad = small_scenario(tmp_path / "bad", "priors:\n  movement.foot_km_per_day: {dist: uniform, low: 9}\n")
    with pytest.raises(UserError, match=r"scenario.yaml:\d+: .*needs low, high"):
        load_scenario(bad)


# --------------------------------------------------------------------------- determinism on Dask


def test_ensemble_identical_on_1_and_2_workers(scen, tmp_path):
    kw = dict(members=6, days=20, seed=11, scale=0.25)
    # one cluster at a time: with two LocalClusters alive in one process, a client's gather once
    # failed inside tornado (AssertionError in IOStream's write buffer) and the test hung
    with dask_client(workers=1) as client1:
        r1 = run_ensemble(scen, out=tmp_path / "w1", client=client1, batch_size=1, **kw)
    with dask_client(workers=2) as client2:
        r2 = run_ensemble(scen, out=tmp_path / "w2", client=client2, batch_size=4, **kw)
    for f in ("ensemble.csv", "members.csv"):
        assert (tmp_path / "w1" / f).read_bytes() == (tmp_path / "w2" / f).read_bytes(), f
    assert r1["workers"] == 1 and r2["workers"] == 2
    ens = pd.read_csv(tmp_path / "w1" / "ensemble.csv", keep_default_na=False)
    assert list(ens.columns) == ["date", "place", "quantity", "p05", "p25", "p50", "p75", "p95"]
    assert set(ens["quantity"]) == {"present", "travelling", "arrived", "reached", "crossed", "returned", "asylum_applied",
                                    "detained"}
    assert {"(all)", "(Mexico)", "Tijuana"} <= set(ens["place"])
    assert ens["date"].nunique() == 20
    assert (ens["p05"] <= ens["p25"]).all() and (ens["p25"] <= ens["p50"]).all() and (ens["p75"] <= ens["p95"]).all()
    mem = pd.read_csv(tmp_path / "w1" / "members.csv")
    assert list(mem["member"]) == list(range(6)) and mem["seed"].nunique() == 6
    assert mem["movement.foot_km_per_day"].between(30, 70).all() and mem["populations.first.size"].between(5000, 8000).all()
    # members really differ (draws and seeds) and the bands are not degenerate
    assert (ens["p95"] > ens["p05"]).any()


def test_ensemble_identical_on_1_and_2_threads(scen, tmp_path):
    """--threads 2: each worker's kernels run on two numba threads (then back to one); the
    members' vectors are the same bytes."""
    from travesia.engine.core import threads

    kw = dict(members=3, days=20, seed=5, scale=0.25)
    with dask_client(workers=1) as client1:
        run_ensemble(scen, out=tmp_path / "t1", client=client1, **kw)
        run_ensemble(scen, out=tmp_path / "t2", client=client1, threads=2, **kw)
        for f in ("ensemble.csv", "members.csv"):
            assert (tmp_path / "t1" / f).read_bytes() == (tmp_path / "t2" / f).read_bytes(), f
        assert set(client1.run(threads).values()) == {1}  # the workers are back to one thread
        if __import__("numba").config.NUMBA_NUM_THREADS >= 2:  # and their parallel kernels did run
            ran = client1.run(lambda: bool(__import__("travesia.engine.kernels", fromlist=["k"]).move_kernel
                                           .parallel.signatures))
            assert all(ran.values())


def test_batch_sizes_even_rounds_of_one_task_per_worker():
    from travesia.ensemble.runner import BATCH_MAX, batch_sizes

    for n in (1, 2, 5, 10, 33, 64, 128, 130, 400, 1000, 10007):
        for w in (1, 2, 3, 8):
            sizes = batch_sizes(n, w)
            assert sum(sizes) == n and all(0 < s <= BATCH_MAX for s in sizes)
            assert sizes == sorted(sizes, reverse=True) and sizes[0] - sizes[-1] <= 1  # even shares
            assert len(sizes) == min(n, w * -(-n // (w * BATCH_MAX)))  # whole rounds, as few as fit
    assert batch_sizes(128, 2) == [64, 64]  # not 64, 32, 16, 16: one worker idle for a quarter of it
    assert batch_sizes(130, 2) == [33, 33, 32, 32]
    assert batch_sizes(1000, 2) == [63] * 8 + [62] * 8
    assert batch_sizes(0, 2) == []


class _CountingClient:
    """A Dask client that records, at each submission, how many earlier tasks are unfinished."""

    def __init__(self, client):
        self._c, self.busy, self.futures = client, [], []

    def __getattr__(self, name):
        return getattr(self._c, name)

    def submit(self, *a, **k):
        self.busy.append(sum(not f.done() for f in self.futures))
        f = self._c.submit(*a, **k)
        self.futures.append(f)
        return f


def test_tasks_go_out_one_per_worker_the_next_when_one_finishes(scen, client2):
    """At most one task per worker thread in flight: the scheduler never queues a second task on a
    busy worker while another idles; the results are those of any other batching."""
    from travesia.ensemble.runner import run_members

    client2.wait_for_workers(2, timeout=60)
    base = load_scenario(scen)
    specs, _ = member_plan(6, 5, scenario_priors(base, need="x"))
    cfg = RunConfig(days=8, scale=0.1)
    cc = _CountingClient(client2)
    got = {}
    run_members(cc, base, specs, cfg, got.__setitem__, batch_size=1)
    assert len(cc.busy) == 6 and cc.busy[:2] == [0, 1] and max(cc.busy) <= 1  # two workers: two in flight
    ref = {}
    run_members(client2, base, specs, cfg, ref.__setitem__, batch_size=3)
    assert sorted(got) == list(range(6)) and all(np.array_equal(got[i], ref[i]) for i in range(6))


def test_local_workers_environment(client2):
    """Local workers: one BLAS thread each, glibc's default trimming (not Dask's
    MALLOC_TRIM_THRESHOLD_=65536, which made each member cost 60% more CPU), and, forked from the
    fork server, the engine already imported."""
    import sys

    env = client2.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OPENBLAS_NUM_THREADS"),
                               "travesia.engine.sim" in __import__("sys").modules))
    assert len(env) == 2
    for trim, blas, engine in env.values():
        assert trim == os.environ.get("MALLOC_TRIM_THRESHOLD_") or trim is None
        assert blas == "1"
        assert engine or not sys.platform.startswith("linux")


def test_local_cluster_leaves_port_8787_alone():
    """A local cluster's scheduler serves its small HTTP endpoints on a free port, not Dask's 8787:
    with 8787 taken (a second travesia command, the user's own Dask) Dask warned "Port 8787 is
    already in use" and left a socket unclosed on every start."""
    import socket
    import warnings

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # taken already: the case itself
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with dask_client(workers=1) as c:
                ports = c.scheduler_info()["services"]
                assert c.submit(len, "abc").result() == 3
    finally:
        holder.close()
    assert 8787 not in ports.values()
    assert not [w for w in caught if "8787" in str(w.message)], [str(w.message) for w in caught]


def _killing_batch(marker: str):
    def batch(blob, specs, cfg):
        if any(s.member == 3 for s in specs) and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker process dies mid-ensemble, once
        return run_batch(blob, specs, cfg)
    return batch


def test_killed_worker_loses_and_duplicates_no_member(scen, tmp_path, client2):
    base = load_scenario(scen)
    pri = scenario_priors(base, need="x")
    specs, mem = member_plan(8, 5, pri)
    cfg = RunConfig(days=15, scale=0.2)
    calls = []
    ref = simulate_ensemble(base, specs, mem, cfg, client=client2, batch_size=2)
    marker = tmp_path / "killed"
    run = simulate_ensemble(base, specs, mem, cfg, client=client2, batch_size=2,
                            batch_fn=_killing_batch(str(marker)), progress=lambda d, t: calls.append(d))
    assert marker.exists()  # a worker did die
    assert np.array_equal(run.values, ref.values)  # every member once, with the right result
    assert calls[-1] == 8 and calls == sorted(calls)
    client2.wait_for_workers(2, timeout=60)  # the nanny restarts the dead worker


def test_scheduler_option_and_environment(scen, tmp_path, client2, monkeypatch):
    client2.wait_for_workers(2, timeout=60)
    addr = client2.scheduler.address
    from typer.testing import CliRunner

    from travesia.cli import app

    res = CliRunner().invoke(app, ["ensemble", str(scen), "--members", "3", "--days", "8", "--scale", "0.2",
                                   "--scheduler", addr, "--out", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    assert "3 members on 2 worker(s)" in res.output
    monkeypatch.setenv("TRAVESIA_SCHEDULER", addr)
    r = run_ensemble(scen, members=3, days=8, scale=0.2, out=tmp_path / "env")
    assert r["workers"] == 2
    assert (tmp_path / "cli" / "ensemble.csv").read_bytes() == (tmp_path / "env" / "ensemble.csv").read_bytes()
    monkeypatch.setenv("TRAVESIA_SCHEDULER", "tcp://127.0.0.1:9")
    with pytest.raises(UserError, match="cannot reach the Dask scheduler"):
        run_ensemble(scen, members=1, days=2, out=tmp_path / "never")


def test_outputs_never_replace_a_users_folder(scen, tmp_path, client2):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    with pytest.raises(UserError, match="not a travesia run folder"):
        run_ensemble(scen, members=2, days=3, out=user, client=client2)
    assert (user / "notes.txt").read_text() == "precious"
    out = tmp_path / "e"
    run_ensemble(scen, members=2, days=3, out=out, client=client2)
    with pytest.raises(UserError, match="--force"):
        run_ensemble(scen, members=2, days=3, out=out, client=client2)
    run_ensemble(scen, members=2, days=4, out=out, client=client2, force=True)
    assert pd.read_csv(out / "ensemble.csv")["date"].nunique() == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folders left


def test_posterior_rows_taken_in_turn_and_seeds_only(scen, tmp_path, client2):
    post = tmp_path / "posterior.csv"
    post.write_text("trial,objective,movement.foot_km_per_day,populations.first.size\n"
                    "4,0.1,41.5,6000\n9,0.2,55.0,7000\n")
    assert len(read_posterior(post)) == 2
    r = run_ensemble(scen, members=4, days=3, client=client2, posterior=post)
    m = r["members"]
    assert list(m["movement.foot_km_per_day"]) == [41.5, 55.0, 41.5, 55.0]
    assert list(m["populations.first.size"]) == [6000, 7000, 6000, 7000]
    assert m["intentions.give_up_per_day"].between(0.005, 0.05).all()  # the other prior is still drawn
    s = run_ensemble("caravan-2018", members=2, days=3, client=client2, seeds_only=True, scale=0.2)
    assert list(s["members"].columns) == ["member", "seed"]
    bad = tmp_path / "bad.csv"
    bad.write_text("trial,movement.nothing\n1,2\n")
    with pytest.raises(UserError, match="column movement.nothing"):
        read_posterior(bad)


def test_a_member_the_scenario_refuses_stops_before_any_work(tmp_path):
    """A prior that can draw a value the scenario refuses (a population smaller than its core) is one
    clear error naming the member, exit 2, raised before any member is sent to a worker."""
    from conftest import cli

    pri = tmp_path / "p.yaml"
    pri.write_text("populations.salvadoran-1.size: {dist: uniform, low: 100, high: 150, integer: true}\n")
    r = cli("ensemble", "caravan-2018", "--priors", str(pri), "--members", "2", "--workers", "1", "--days", "3",
            "--out", str(tmp_path / "o"))
    assert r.returncode == 2, r.stderr
    assert "member 0" in r.stderr and "core (220) must be <= size" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_column_percentiles_are_numpys_bit_for_bit(tmp_path):
    """The ensemble's percentiles (sorted rows, constant columns skipped) are np.percentile's
    numbers exactly: member counts of every size, columns that all agree, percentiles at the ends
    and between ranks, chunks of any size, a column subset, members in a file (memmap)."""
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.choice([1, 2, 3, 10, 19, 20, 21, 64, 101, 400]))
        c = int(rng.integers(1, 40))
        v = rng.integers(0, int(rng.choice([2, 10, 1000, 100_000])), size=(n, c)).astype(
            rng.choice([np.int32, np.int64]))
        v[:, rng.random(c) < 0.4] = int(rng.integers(0, 5))  # columns whose members all agree
        q = [5, 25, 50, 75, 95] if trial % 2 else [*rng.uniform(0, 100, size=4), 0, 100]
        got = column_percentiles(v, q, chunk=int(rng.integers(1, 50)))
        assert np.array_equal(got, np.percentile(v, q, axis=0).T), (n, c, q)
        cols = np.sort(rng.choice(c, size=int(rng.integers(1, c + 1)), replace=False))
        assert np.array_equal(column_percentiles(v, q, cols=cols), np.percentile(v[:, cols], q, axis=0).T)
    m = np.lib.format.open_memmap(tmp_path / "m.npy", mode="w+", dtype=np.int32, shape=(50, 30))
    m[:] = rng.integers(0, 9, size=m.shape)
    assert np.array_equal(column_percentiles(m, [5, 50, 95], chunk=7), np.percentile(np.asarray(m), [5, 50, 95], axis=0).T)
    with pytest.raises(TypeError):
        column_percentiles(np.zeros((3, 2)), [50])
