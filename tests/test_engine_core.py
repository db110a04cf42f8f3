"""The engine written once: the shared rules with hand-worked cases, declared person fields against
what each process touches, invariants that raise, and a saved state that continues byte for byte."""

from __future__ import annotations

import ast
import inspect
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from travesia.engine import core
from travesia.engine.core import CLEARED, PLACE_REC, SimulationError, held_rec, key_for, records, scaled_count
from travesia.engine.processes import RULESETS, make_processes
from travesia.engine.sim import Sim
from travesia.scenario.load import load_scenario


def _places():
    """Four places: 0 open; 1 a closed post for everyone; 2 exit-only for country 3; 3 open, country 3."""
    prec = records(4, PLACE_REC)
    prec.blocked[[1, 2]] = True
    prec.exit_only[:] = -1
    prec.exit_only[2] = 3
    prec.country[:] = [0, 1, 2, 3]
    return prec


@pytest.mark.parametrize("fn", ["compiled", "python"])
def test_held_at_post_hand_worked(fn):
    f = held_rec if fn == "compiled" else held_rec.py_func
    prec = _places()
    # (place, on_leg, flags, going_home, origin_country) -> held
    cases = [
        ((0, False, 0, False, 0), False),  # an open place holds nobody
        ((1, False, 0, False, 0), True),  # a blocked post holds who has not cleared it
        ((1, True, 0, False, 0), False),  # ... not someone on the leg beyond it
        ((1, False, int(CLEARED), False, 0), False),  # ... not someone who cleared it
        ((1, False, 0, True, 0), False),  # ... not someone going home
        ((2, False, 0, False, 3), True),  # exit-only for country 3 holds its people
        ((2, False, 0, False, 1), False),  # ... and nobody else
        ((2, False, int(CLEARED), False, 3), False),
    ]
    for args, want in cases:
        assert bool(f(prec[args[0]], args[1], np.uint8(args[2]), args[3], args[4])) is want, args


def test_every_caller_of_the_held_rule_uses_the_one_function():
    """No kernel or process spells the held rule out again (blocked & not cleared & ...)."""
    import travesia.engine.kernels as k
    import travesia.engine.processes.borders as b
    import travesia.engine.processes.groups as g
    import travesia.engine.processes.movement as m

    for mod in (k, b, g, m):
        src = inspect.getsource(mod)
        assert "exit_only[" not in src and "blocked[" not in src, mod.__name__


def test_scaled_count_hand_worked():
    assert scaled_count(7800, 1.0) == 7800
    assert scaled_count(7800, 0.1) == 780
    assert scaled_count(25, 0.1) == 2  # 2.5 rounds half to even
    assert scaled_count(35, 0.1) == 4
    assert scaled_count(-1, 0.5) == -1  # no limit stays no limit
    assert list(scaled_count(np.array([10, -1, 3]), 0.5)) == [5, -1, 2]


def test_vectorised_day_keys_equal_the_scalar_chain():
    sk = np.array([core.stream_key(core.seed_key(9), f"s{i}") for i in range(5)], dtype=np.uint64)
    got = core.day_keys(sk, 17)
    assert [int(x) for x in got] == [key_for(9, f"s{i}", 17) for i in range(5)]


def test_one_draw_function():
    """The kernels, the rng module and the FLEE rules use the same draw."""
    from travesia.engine import kernels, rng
    from travesia.engine.processes.flee_rules import model

    assert model._u01 is core.uniform_k
    assert kernels.uniform is core.uniform
    key = key_for(3, "x", 2)
    ids = np.arange(10)
    assert np.array_equal(rng.uniform_from_key(key, ids), [core.uniform(np.uint64(key), i) for i in ids])


# --------------------------------------------------------------------------- declared state

PEOPLE_NAMES = {"pp", "people"}


def _touched(cls) -> set[str]:
    """Person fields a process touches (``pp.X`` / ``people.X`` / ``sim.people.X``): in its class, in
    the functions of its module it calls, and in the shared helper modules it uses."""
    mod = inspect.getmodule(cls)
    srcs = [inspect.getsource(cls)]
    for name, obj in vars(mod).items():
        if inspect.isfunction(obj) and obj.__module__ == mod.__name__ and f"{name}(" in srcs[0]:
            srcs.append(inspect.getsource(obj))
    src_mod = inspect.getsource(mod)
    if "create_caravan_people" in src_mod:
        from travesia.engine.processes import population

        srcs.append(inspect.getsource(population))
    if "from travesia.engine.actions import" in src_mod:
        from travesia.engine import actions

        srcs.append(inspect.getsource(actions))
    out: set[str] = set()
    for src in srcs:
        for node in ast.walk(ast.parse(inspect.cleandoc("\n" + src) if src.startswith(" ") else src)):
            if isinstance(node, ast.Attribute):
                v = node.value
                if (isinstance(v, ast.Name) and v.id in PEOPLE_NAMES) or (
                        isinstance(v, ast.Attribute) and v.attr == "people"):
                    out.add(node.attr)
    return out


NOT_FIELDS = {"set_state", "note_states", "n", "version", "changed", "fields", "bytes_per_person", "counts_by_state", "nbytes"}


@pytest.mark.parametrize("rules", ["caravan", "flee"])
def test_declared_reads_and_writes_match_what_each_process_touches(rules):
    import travesia.engine.processes.flee_rules  # noqa: F401 - registers the rule set

    procs = RULESETS[rules]
    allocated = set(core_fields()) | {k for p in procs for k in p.fields}
    for cls in procs:
        declared = set(cls.reads) | set(cls.writes)
        touched = _touched(cls) - NOT_FIELDS
        assert touched <= declared, f"{cls.name} touches undeclared {sorted(touched - declared)}"
        assert declared <= allocated, f"{cls.name} declares fields nobody allocates: {sorted(declared - allocated)}"
        assert set(cls.fields) <= declared, f"{cls.name} owns fields it never uses"


def core_fields():
    from travesia.engine.people import CORE_FIELDS

    return CORE_FIELDS


def test_sim_allocates_the_fields_of_its_rule_set_only():
    s = Sim(load_scenario("caravan-2018"), days=2)
    for p in s.processes:
        for k, f in p.fields.items():
            assert getattr(s.people, k).dtype == np.dtype(f.dtype)
    assert s.people.until[0] == -1 and s.people.group[0] == -1 and s.people.next[0] == -1
    assert s.people.bytes_per_person() == 50  # 46 of the caravan rules (2 of them the asylum wake), 2 of the member index, 2 of the detour
    flee_procs = make_processes("flee")
    assert not any("intent" in p.fields for p in flee_procs)


def test_no_side_doors_into_the_sim():
    import travesia.engine.processes as pk

    for name in ("arrival", "asylum", "borders", "groups", "intentions", "leaving", "movement", "offers", "plan",
                 "recruitment", "flee_rules", "flee_rules.model"):
        src = inspect.getsource(__import__(f"{pk.__name__}.{name}", fromlist=["x"]))
        assert "__dict__" not in src and "setattr(sim" not in src, name


# --------------------------------------------------------------------------- invariants, saving and restoring


def test_broken_invariants_raise_a_real_error():
    s = Sim(load_scenario("caravan-2018"), days=5, check=True, scale=0.05)
    s.step()
    w = int(np.nonzero(s.people.state == core.WAITING)[0][-1])  # someone of a later caravan, still waiting
    s.people.km_left[w] = 5.0  # on a leg with no place ahead
    with pytest.raises(SimulationError, match="no place ahead"):
        s.step()


@pytest.mark.parametrize("members", [None, [(3, {}), (4, {"movement.rest_prob": 0.5})]])
def test_only_live_people_are_visited_and_the_counts_are_everyones(members):
    """After each day the live list is exactly the people who have set out and are not in a final
    state (nobody waiting, settled, returned or deported), but for the asylum applicants asleep
    until something is due for them (pending, their wake day after tomorrow's); the counts kept
    without visiting the others equal a full recount (check=True recounts everyone, per member)."""
    with pytest.MonkeyPatch.context() as mp:
        if members:  # the processes that advance members together (as tests/test_batch.py)
            mp.setitem(RULESETS, "caravan", tuple(c for c in RULESETS["caravan"] if getattr(c, "batched", False)))
        s = Sim(load_scenario("caravan-2018"), seed=None if members else 3, days=40, scale=0.2, check=True,
                members=members)
    idle = [core.WAITING, core.SETTLED, core.RETURNED, core.DEPORTED]
    seen_final = slept = False
    for _ in range(40):
        s.step()
        st = s.people.state
        asleep = s.asleep()
        assert np.all(st[asleep] == core.ASYLUM_PENDING) and np.all(s.people.wake[asleep] > s.day)
        slept |= asleep.size > 0
        assert np.array_equal(np.union1d(s.live(), asleep), np.nonzero(~np.isin(st, idle))[0])
        assert np.intersect1d(s.live(), asleep).size == 0
        assert np.array_equal(s.on_the_move(), np.nonzero((st == core.TRAVELLING) | (st == core.RESTING))[0])
        seen_final |= bool(np.isin(st, idle[1:]).any())
    assert seen_final and slept and s.live().size < s.people.n


def test_people_rewritten_by_hand_are_recounted():
    s = Sim(load_scenario("caravan-2018"), days=40, check=True, scale=0.05)
    final = [core.SETTLED, core.RETURNED, core.DEPORTED]
    while not np.isin(s.people.state, final).any():
        s.step()
    done = int(np.nonzero(np.isin(s.people.state, final))[0][0])
    waiting = np.nonzero(s.people.state == core.WAITING)[0]
    assert waiting.size
    s.people.state[done] = core.RESTING  # by hand: back on the road, and someone sets out
    s.people.state[waiting[-1]] = core.TRAVELLING
    s.people_rewritten()
    s.step()  # check=True: the counts equal a full recount
    for _ in range(3):
        s.step()


def test_kernels_never_index_out_of_bounds(tmp_path):
    """The kernels index with unsigned integers (core.U: no fix-up of negative indices), so an
    index that could be negative would read or write out of bounds. Under NUMBA_BOUNDSCHECK=1 every
    access is checked: a batch of two members, with someone of the first set out by hand (no group: -1), runs
    through with the same bytes as without the checks."""
    code = ("import hashlib, warnings; warnings.simplefilter('ignore'); import numpy as np; "
            "from travesia.engine import core; from travesia.engine.sim import Sim; "
            "from travesia.scenario.load import load_scenario; "
            "s = Sim(load_scenario('caravan-2018'), members=[(4, {}), (5, {})], days=30, scale=0.03, check=True); "
            "[s.step() for _ in range(6)]; w = np.nonzero((s.people.state == core.WAITING) & (s.people.member == 0))[0]; "
            "s.people.state[w[-1]] = core.TRAVELLING; s.people_rewritten(); s.run(); "
            "print(hashlib.sha256(b''.join(r.counts.tobytes() + r.flows.tobytes() for r in s.records)).hexdigest())")
    # without the checks: the kernels as compiled for the rest of the suite (numba's cache); with
    # them: compiled anew, in a cache of their own
    envs = ({**os.environ, "NUMBA_BOUNDSCHECK": "0"},
            {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "checked")})
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=e).stdout
           for e in envs]
    assert out[0] == out[1] and len(out[0]) > 60


def test_someone_leaving_a_final_state_is_caught_by_the_checks():
    s = Sim(load_scenario("caravan-2018"), days=30, check=True, scale=0.05)
    while not (s.people.state == core.SETTLED).any():
        s.step()
    settled = int(np.nonzero(s.people.state == core.SETTLED)[0][0])
    s.people.place[settled] = (s.people.place[settled] + 1) % s.net.n_places  # a settled person moved: a bug
    with pytest.raises(SimulationError, match="full recount"):
        s.step()


def _arrays(sim):
    r = sim.record
    return [r.counts, r.flows, *(r.cum[k] for k in sorted(r.cum)), *(getattr(sim.people, f) for f in sim.people.fields)]


def test_continuing_from_a_restored_state_gives_the_same_bytes():
    s = load_scenario("caravan-2018")
    whole = Sim(s, days=40, scale=0.2)
    whole.run()
    part = Sim(s, days=40, scale=0.2)
    for _ in range(17):  # across the first timeline events
        part.step()
    saved = part.save_state()
    part.run()
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(whole), _arrays(part)))
    # a second Sim built the same way, restored from the saved state (through pickle, as a filter would ship it)
    other = Sim(s, days=40, scale=0.2)
    other.restore_state(pickle.loads(pickle.dumps(saved)))
    assert other.day == 17
    other.run()
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(whole), _arrays(other)))
    # restoring twice from the same state does not share arrays with it
    part.restore_state(saved)
    part.run()
    assert all(np.array_equal(a, b) for a, b in zip(_arrays(whole), _arrays(part)))


def test_flee_rules_continue_from_a_restored_state(tmp_path):
    """A FLEE run saved mid-injection and restored (into a second Sim, through pickle) continues
    with the same bytes: each population's ``released`` count, the kernel's running counts (by
    place × state and by attribute) and the camp stays travel with the state."""
    from pathlib import Path

    from travesia.flee.convert import import_flee

    sc = import_flee(Path(__file__).parent / "data" / "flee_mali2012", tmp_path / "mali")["out"]
    y = sc / "scenario.yaml"
    y.write_text(y.read_text() + "attributes:\n  age_group:\n    values: [child, adult]\n"
                 "    weights: {default: [0.4, 0.6]}\n")
    s = load_scenario(sc)

    def arrays(sim):
        return _arrays(sim) + [sim.record.by_attribute["age_group"], sim.people.attrs["age_group"]]

    whole = Sim(s, days=60, scale=0.05, check=True)
    whole.run()
    part = Sim(s, days=60, scale=0.05)
    for _ in range(25):
        part.step()
    released = part.shared["flee"].released.copy()
    sizes = np.array([g.stop - g.start for g in part.segments])
    assert (released > 0).any() and (released < sizes).any()  # saved in the middle of the injection
    saved = pickle.loads(pickle.dumps(part.save_state()))
    part.run()
    other = Sim(s, days=60, scale=0.05, check=True)  # check: the kernel's running counts equal a recount
    other.restore_state(saved)
    assert other.day == 25 and np.array_equal(other.shared["flee"].released, released)
    other.run()
    assert all(np.array_equal(a, b) for a, b in zip(arrays(whole), arrays(other)))
    assert all(np.array_equal(a, b) for a, b in zip(arrays(whole), arrays(part)))


@pytest.mark.skipif(__import__("numba").config.NUMBA_NUM_THREADS < 2, reason="numba has one thread here")
def test_outputs_are_byte_identical_on_1_and_2_threads():
    """--threads: the kernels run in parallel (numba prange), the counter-based draws do not depend
    on who draws them, and the per-thread counters are summed, so the bytes are the same."""
    import numba

    from travesia.engine import kernels
    from travesia.engine.core import set_threads, threads

    s = load_scenario("caravan-2018")
    out = {}
    for n in (1, 2):
        set_threads(n)
        try:
            assert threads() == n and (n == 1 or numba.get_num_threads() == 2)
            sim = Sim(s, seed=11, days=45, scale=0.3)
            sim.run()
        finally:
            set_threads(1)
        out[n] = _arrays(sim)
    assert kernels.move_kernel.parallel.signatures  # the parallel kernels did run
    for a, b in zip(out[1], out[2]):
        assert np.array_equal(a, b)


def test_threads_option_refuses_nonsense(tmp_path):
    from travesia.api import run_scenario
    from travesia.errors import UserError

    with pytest.raises(UserError, match="--threads"):
        run_scenario("caravan-2018", out_dir=tmp_path / "r", days=2, scale=0.01, threads=0)


def test_first_come_first_served_hand_worked_and_against_a_full_sort():
    from travesia.engine.core import first_come

    # one post, capacity 2: days 3, 1, 1, 2 -> the two who came on day 1 (positions 1, 2)
    q = np.zeros(4, dtype=np.int64)
    got = first_come(q, np.array([3, 1, 1, 2]), np.full(4, 2), lambda pos: np.zeros(pos.size))
    assert got.tolist() == [False, True, True, False]
    # capacity 2, three on day 1: the draw decides (lowest first), then the position
    got = first_come(q, np.array([1, 1, 1, 0]), np.full(4, 2), lambda pos: np.array([0.9, 0.1, 0.5, 0.0])[pos])
    assert got.tolist() == [False, True, False, True]
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        queue = rng.integers(0, 4, n)
        since = rng.integers(0, 5, n).astype(np.int16)
        tie = rng.integers(0, 3, n) / 4.0  # equal draws too: then by position
        cap_q = rng.integers(-1, 8, 4)
        cap = cap_q[queue]
        order = np.lexsort((tie, since, queue))
        qs = queue[order]
        start = np.r_[0, np.nonzero(np.diff(qs))[0] + 1]
        rank = np.arange(n) - np.repeat(start, np.diff(np.r_[start, n]))
        want = np.zeros(n, dtype=bool)
        want[order[rank < cap[order]]] = True
        assert np.array_equal(first_come(queue, since, cap, lambda pos, tie=tie: tie[pos]), want)
