"""The numba kernels of the caravan rules: the one implementation of each per-person loop.

Each kernel walks a list of people (those on the move, or those in a given state: never everyone)
and takes the people arrays it touches, a structured record of the parameters in force
(:data:`MOVE_PAR`) and per-place / per-country records (:data:`~travesia.engine.core.PLACE_REC`, :data:`COUNTRY_REC`,
built by :class:`travesia.engine.policy.Policy`). States, flags, modes, the random draw and the
held-at-a-post rule come from :mod:`travesia.engine.core`. ``NUMBA_DISABLE_JIT=1`` runs them as
plain Python (same results).
"""

from __future__ import annotations

import numpy as np

import numba

from travesia.engine.core import (
    ARRIVED, ASYLUM_PENDING, BUS, CLEARED, DEPORTED, FOOT, GOING_HOME, GOING_STAY, PLACE_REC, PROTECTION, RALLY, RESTING,
    RETURNED, RIDE, SETTLED, TRAVELLING, U, WAITING,
    held_rec, njit, threaded, uniform,
)

# per country
COUNTRY_REC = np.dtype([
    ("rides_blocked", np.bool_),
    ("permit", np.float64),
    ("return_assistance", np.float64),
    ("asylum_open", np.bool_),
    ("apply_protection", np.float64),
    ("apply_economic", np.float64),
    ("apply_stay", np.float64),
])

# the day's movement and intention parameters
MOVE_PAR = np.dtype([
    ("rest_prob", np.float64), ("shelter_rest_prob", np.float64), ("cohesion", np.float64),
    ("ride_prob", np.float64),  # ride_prob · (1 − ride_block_share)
    ("ride_km", np.float64), ("solo_bus_prob", np.float64), ("bus_km", np.float64),
    ("foot_km", np.float64), ("max_foot_km", np.float64), ("stage_walking", np.bool_),
    ("give_up", np.float64), ("give_up_held", np.float64), ("give_up_km_scale", np.float64),
])

__all__ = ["PLACE_REC", "COUNTRY_REC", "MOVE_PAR"]

HOME_OFS = np.int64(1) << 40  # people going home draw on their own: ids offset from group ids
INT16_MAX = np.int64(np.iinfo(np.int16).max)  # the last day an int16 field (``until``) holds


@njit(cache=True, inline="always")
def target(going_home, detour, w, n_via, via_w, dest):
    """Route-table index someone heads for now: an open crossing they reroute to (``detour``,
    processes/reroute.py), else the next waypoint of their caravan's announced route (``via_w``,
    the ``w``-th of ``n_via``), else their destination ``dest`` (going home: straight home).
    Scalars only: see :func:`~travesia.engine.core.held_rec` on helpers in loops."""
    if detour >= 0 and not going_home:
        return np.int64(detour)
    if w < n_via and not going_home:
        return np.int64(via_w)
    return np.int64(dest)


@njit(cache=True, inline="always")
def follow_plan(hold, follow, prog, tprog, short, at, stay, mode, budget):
    """A person's day under their caravan's plan (processes/plan.py), given movement's decision
    (``stay``, ``mode``, ``budget``): returns (stay, mode, budget, go), ``go`` when they move toward
    the caravan's target and stop there. ``prog``, ``tprog``: km along the caravan's route of the
    person and of the target; ``follow``: their household follows the plan today; ``hold``: a hold
    day; ``short``: the km of the body's stage (on a hold day, a day of rides to catch up). Scalars
    only (see :func:`~travesia.engine.core.held_rec`)."""
    if prog >= tprog - 1e-6:  # at the target or ahead: wait (on a hold day everyone, else followers)
        if at and (hold or follow):
            stay = True
        return stay, mode, budget, False
    if follow:  # behind: cover the body's stage today (keeping one's distance), stopping at the target
        gap = tprog - prog
        return False, RIDE, (gap + 1.0 if gap <= short + 1e-6 else short), True
    if hold and not stay:  # behind on a hold day, moving on their own: stop at the hold
        return stay, RIDE, budget, True
    return stay, mode, budget, False


# the phases of move_kernel
DECIDE_AND_MOVE, MOVE = 0, 1


@threaded
def move_kernel(phase, idx, mem, offs, dkeys, rkeys, par, g_pace, u_caravan, place, nxt, km_left, dest, wp, flags,
                intent, origin, group, pop, speed, household, detour, state, since, km_today, day, prec, crec,
                plan_target, plan_hold, plan_stage_km, plan_progress, plan_keys, plan_cohesion, plan_ride_stage_km,
                dests, cum, hop, e_to, e_km, e_modes, mode_bit, via_table, n_via, defer, who, mode, budget, go, prev,
                n_def, flows, arrived, crossed, ended):
    """A day of movement of people ``idx``, in one pass (``phase`` DECIDE_AND_MOVE); those who wait
    for a bus are decided in it and moved by a second call (MOVE) once buses took their seats
    (processes/movement.py).

    **Deciding** (DECIDE_AND_MOVE): each person on the move today stays (held at a post,
    waiting at a rally point, resting) or takes a mode (foot, ride, bus on their own) and a km
    budget; then their caravan's plan of the day (:func:`follow_plan`; processes/plan.py, row
    ``m * K + caravan`` of the ``plan_*`` tables, no plan where the target is -1; ``plan_keys[m]``:
    plan.follow of the day, one draw per household). Person ``i`` of member ``m = mem[i]`` (own id
    ``i - offs[m]``); ``dkeys[m]``: movement.rest, .cohesion, .ride, .ride_km, .solo_bus of the day;
    ``par[m]``, ``prec[m]``, ``crec[m]`` its parameters. A group decides together: the draws of
    rest, cohesion, ride and ride km are keyed by its id (people going home draw on their own, by
    their id + HOME_OFS), its pace is ``g_pace[m, g]``; caravan ``k`` of member ``m`` draws
    ``u_caravan[m, k]``. Their day's km start at 0; who stays is ``resting`` (since today if they
    were not). Those who do not stay and are at a place (not on a leg) where a bus may leave today
    (``defer[m * P + place]``, P places) are not moved: their id goes to ``who``, their decision to
    ``mode``, ``budget``, ``go`` (follows the plan) and ``prev`` (their state before the day), in
    order, each chunk of ``idx`` (a chunk per thread, core.thread_rows) from its own start,
    ``n_def[t]`` of them. Nobody's day depends on anyone else's: moving them after the others gives
    each the same day as moving them in turn.

    **Moving** (DECIDE_AND_MOVE: those who do not stay and are not deferred; MOVE: ``idx`` are the
    movers, with the ``mode``, ``budget``, ``go`` and ``prev`` of their positions): leg by leg with
    their km budget by their mode (a day of rides of those who follow their caravan's plan ends at its target
    ``plan_target[m * K + caravan]`` and nowhere else); ``rkeys[m, h]``: member ``m``'s
    movement.route{h} of the day (the route choice at the h-th place of someone's day). Then their
    day ends: still on the move, travelling if they moved, else resting; ``since`` is today where
    the state changed. Counts flows per (row, member, edge) and arrived / crossed / ended per (row,
    member, caravan, place): each row counts a chunk of ``idx`` (a chunk per thread,
    core.thread_rows); the caller sums them.

    A person's fields are read into locals once and written back once (numba cannot keep array
    elements in registers across the stores to the counters); indices are unsigned (:data:`U`)."""
    n_pop = u_caravan.shape[1]
    n_places = prec.shape[1]
    R = hop.shape[2]
    max_hops = rkeys.shape[1]
    # a chunk of people per row of the counters (one row, one chunk without threads)
    C = flows.shape[0]
    n = idx.shape[0]
    for t in numba.prange(C):
        # the draws of the group (or person going home) ``c_own`` of member ``c_m`` (-2: none yet), kept
        # while the next people draw the same (a group's people are side by side; a draw is a pure
        # function of its key and id)
        c_own = np.int64(-2)
        c_m = np.int64(0)
        c_rest = c_c = c_r = c_k = 0.0
        nd = n * t // C  # where this chunk's deferred go
        for j in range(n * t // C, n * (t + 1) // C):
            ju = U(j)
            i = idx[ju]
            iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
            m = mem[iu]
            li = i - offs[m]
            pm = par[m]
            home = intent[iu] == GOING_HOME
            k = pop[iu]
            kk = U(np.int64(m) * n_pop + k)
            p = place[iu]
            kl = km_left[iu]
            fl = flags[iu]
            nx = nxt[iu]
            if phase == MOVE:
                pv = prev[ju]
                md = mode[ju]
                b = budget[ju]
                gj = go[ju]
            else:
                pv = state[iu]
                km_today[iu] = 0
                # their own draws and their caravan's first, whether or not the decision uses them (a
                # draw is a pure function of its key and id): their latency then overlaps the rest of
                # it (drawn where used, they cost the pass 2 ns a person of 36)
                u_bus = uniform(dkeys[m, 4], li)  # a bus on their own
                u_follow = uniform(plan_keys[m], household[iu])  # their household follows the plan
                u_car = u_caravan[m, k]
                at = kl == 0
                r = prec[m, U(p)]
                held = r.blocked and held_rec(r, not at, fl, home, prec[m, U(origin[iu])].country)
                g = np.int64(group[iu])
                st = held or (fl & RALLY) != 0  # held at a post, waiting at a rally point: no group draws
                if not st:
                    own = li + HOME_OFS if home else g  # whose draws: their own, or their group's
                    if own != c_own or m != c_m:
                        c_own = own
                        c_m = m
                        c_rest = uniform(dkeys[m, 0], own)
                        c_c = uniform(dkeys[m, 1], own)
                        c_r = uniform(dkeys[m, 2], own)
                        c_k = uniform(dkeys[m, 3], own)
                    u_rest = c_rest
                    if pm.cohesion > 0:
                        u_c = c_c
                        if u_c < pm.cohesion and not home:
                            u_rest = u_car
                    st = u_rest < (pm.shelter_rest_prob if (r.shelter and at) else pm.rest_prob)
                md = FOOT
                b = 0.0
                if st:
                    state[iu] = RESTING
                else:
                    rides_blocked = crec[m, U(r.country)].rides_blocked
                    u_r = c_r
                    if u_r < pm.ride_prob and not rides_blocked:
                        md = RIDE
                        u_k = c_k
                        b = pm.ride_km * (0.3 + 0.7 * u_k)
                    if pm.solo_bus_prob > 0:
                        if u_bus < pm.solo_bus_prob and not rides_blocked:
                            md = BUS
                            b = pm.bus_km
                    if md == FOOT:
                        sp = np.float64(speed[iu])
                        walk = sp if home else min(sp, g_pace[m, g] * pm.foot_km)
                        b = min(walk, pm.max_foot_km)
                gj = False
                pt = plan_target[kk]
                if pt >= 0 and not home and not held:
                    prog = plan_progress[kk, U(p)]
                    if not at and nx >= 0 and plan_progress[kk, U(nx)] > prog:  # on a leg along the route
                        prog = plan_progress[kk, U(nx)] - kl
                    hold = plan_hold[kk]
                    st, md, b, gj = follow_plan(hold, u_follow < plan_cohesion[m], prog,
                                                plan_progress[kk, U(pt)], plan_ride_stage_km[m] if hold else
                                                plan_stage_km[kk], at, st, md, b)
                if st:  # their day ends here: resting, since today if they were not
                    state[iu] = RESTING
                    if pv != RESTING:
                        since[iu] = day
                if st:
                    continue
                if at and defer[U(np.int64(m) * n_places + p)]:  # waits for the buses: moved after them
                    ndu = U(nd)
                    who[ndu] = i
                    mode[ndu] = md
                    budget[ndu] = b
                    go[ndu] = gj
                    prev[ndu] = pv
                    nd += 1
                    continue
            # moving: leg by leg
            d = dest[iu]
            dplace = dests[U(d)]
            dt = detour[iu]
            w = np.int64(wp[iu])
            kt = km_today[iu]
            stop = plan_target[kk] if (gj and md != BUS) else -1
            for h in range(max_hops):
                if kl == 0:
                    if dt >= 0 and dests[U(dt)] == p:
                        dt = -1  # at the open crossing: on toward the rest of the route
                    if not home and dt < 0:  # waypoints reached: on to the next
                        while w < n_via[k] and dests[U(via_table[k, U(w)])] == p and via_table[k, U(w)] != d:
                            w += 1
                    if p == dplace:
                        if home:
                            state[iu] = RETURNED
                        else:
                            state[iu] = ARRIVED
                            ended[U(t), m, k, U(p)] += 1
                        break
                    rp = prec[m, U(p)]  # the place reached (``r``: the place the day began at)
                    if rp.blocked and held_rec(rp, False, fl, home, prec[m, U(origin[iu])].country):
                        break
                    tg = U(target(home, dt, w, n_via[k], via_table[k, U(w)], d))
                    pu = U(p)
                    c = 0  # the first candidate whose cumulative weight passes u (cum ascends, 1 at the last)
                    if cum[tg, pu, 0] < 1.0:  # more than one candidate: the draw decides
                        u = uniform(rkeys[m, U(h)], li)
                        while c < R - 1 and u >= cum[tg, pu, U(c)]:
                            c += 1
                    e = hop[tg, pu, U(c)]
                    if e < 0:
                        break
                    eu = U(e)
                    if (e_modes[eu] & mode_bit[U(md)]) == 0:
                        break
                    if pm.stage_walking and md == FOOT and kt > 0 and e_km[eu] > b + 1e-6:
                        break
                    nx = e_to[eu]
                    kl = e_km[eu]
                    fl &= ~CLEARED
                    flows[U(t), m, eu] += 1
                left = np.float64(kl)
                step = min(b, left)
                b -= step
                left -= step
                kt += np.float32(step)
                if left <= 1e-6:
                    q = nx
                    p = q
                    nx = -1
                    kl = np.float32(0)
                    arrived[U(t), m, k, U(q)] += 1
                    if prec[m, U(q)].counts_crossing and not prec[m, U(q)].blocked and not home:
                        crossed[U(t), m, k, U(q)] += 1
                    # a day of rides ends at a rally point: the trucks go where the caravan is going; for
                    # followers of a caravan's plan, at its target today and nowhere else
                    if md == RIDE:
                        if stop >= 0:
                            if q == stop:
                                b = 0.0
                        elif prec[m, U(q)].rally and kt >= np.float32(pm.foot_km):
                            b = 0.0
                    if q == dplace:
                        if home:
                            state[iu] = RETURNED
                        else:
                            state[iu] = ARRIVED
                            ended[U(t), m, k, U(q)] += 1
                        b = 0.0
                else:
                    kl = np.float32(left)
                if not b > 1e-6:
                    break
            place[iu] = p
            nxt[iu] = nx
            km_left[iu] = kl
            detour[iu] = dt
            wp[iu] = w
            flags[iu] = fl
            km_today[iu] = kt
            sn = state[iu]
            if sn == TRAVELLING or sn == RESTING:
                sn = TRAVELLING if kt > 0 else RESTING
                state[iu] = sn
            if sn != pv:
                since[iu] = day
        if phase != MOVE:
            n_def[t] = nd - n * t // C


@njit(cache=True)
def offered_kernel(who, mem, place, km_left, pop, offered, P, K, cand, ckey):
    """Positions (in ``who``) of those at a place (not on a leg) where a transport is offered to
    their member today (``offered[m * P + place]``), in order, and their (member, place, caravan)
    key ``(m * P + place) * K + caravan``; returns how many."""
    n = 0
    for j in range(who.shape[0]):
        iu = U(who[j])
        mp = np.int64(mem[iu]) * P + place[iu]
        cand[U(n)] = j  # kept when offered (no branch)
        ckey[U(n)] = mp * K + pop[iu]
        n += offered[U(mp)] & (km_left[iu] == 0)
    return n


@threaded
def intentions_kernel(idx, mem, offs, day, keys, par, km_factor, place, km_left, flags, intent, state, since, nxt,
                      origin, dest, dest_index, prec, crec, moving, n_moving):
    """Give up (go home), take a permit (settled), get a bus home (returned); see intentions.py.
    ``keys[m]``: intentions.give_up, .permit, .return of the day; ``km_factor[m, home, place]``:
    :func:`give_up_km_factor`. Those of ``idx`` (people on the move) still on the move after it go to
    ``moving``, in order: each of the ``n_moving.size`` chunks of ``idx`` (a chunk per thread,
    core.thread_rows) from its own start, ``n_moving[t]`` of them."""
    C = n_moving.shape[0]
    n = idx.shape[0]
    for t in numba.prange(C):
        c = n * t // C
        for j in range(n * t // C, n * (t + 1) // C):
            i = idx[U(j)]
            iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
            m = mem[iu]
            li = i - offs[m]
            # their give-up and permit draws first, whether or not they are used (a draw is a pure
            # function of its key and id): their latency overlaps the rest (move_kernel's pattern)
            u_quit = uniform(keys[m, 0], li)
            u_permit = uniform(keys[m, 1], li)
            pm = par[m]
            pl = place[iu]
            p = U(pl)
            o = origin[iu]
            kl = km_left[iu]
            r = prec[m, p]
            cr = crec[m, U(r.country)]
            going = intent[iu] != GOING_HOME
            # held at a post (their home country read only where a post holds people)
            held = r.blocked and held_rec(r, kl != 0, flags[iu], not going, prec[m, U(o)].country)
            chance = pm.give_up_held if held else pm.give_up
            if pm.give_up_km_scale > 0:
                chance = chance * km_factor[m, U(dest_index[U(o)]), p]
            keep = True
            if going:
                if u_quit < chance:  # they give up: going home from today
                    intent[iu] = GOING_HOME
                    dest[iu] = dest_index[U(o)]
                    going = False
                elif u_permit < cr.permit:  # a permit (never where it is 0: a draw is >= 0)
                    state[iu] = SETTLED
                    since[iu] = day
                    nxt[iu] = -1
                    km_left[iu] = 0
                    keep = False
            if not going:
                if uniform(keys[m, 2], li) < cr.return_assistance:  # a bus home (never where it is 0)
                    state[iu] = RETURNED
                    since[iu] = day
                    place[iu] = o
                    nxt[iu] = -1
                    km_left[iu] = 0
                    keep = False
                elif kl == 0 and pl == o:
                    state[iu] = RETURNED
                    since[iu] = day
                    keep = False
            moving[U(c)] = i  # kept when still on the move
            c += keep
        n_moving[t] = c - n * t // C


@njit(cache=True, inline="always")
def applies(cr, c, home_c, going_home, protection, stay, key, li):
    """Whether someone in country ``c`` (its :data:`COUNTRY_REC` ``cr``) applies for asylum today
    (asylum.py): only where its asylum process is open, not in their home country ``home_c``, not
    going home; with the chance of their motive (``protection``: apply_protection, else
    apply_economic), at least ``apply_stay`` for those meaning to stay (``stay``). ``key``, ``li``:
    their draw (asylum.apply of the day, their own id), made only where the chance is above 0.
    A record and scalars (see :func:`~travesia.engine.core.held_rec`): a pass calls it as
    ``cr.asylum_open and applies(cr, ...)``, so the home country is read only where asylum is open."""
    if not cr.asylum_open or going_home or c == home_c:
        return False
    ch = cr.apply_protection if protection else cr.apply_economic
    if stay:
        ch = max(ch, cr.apply_stay)
    return ch > 0 and uniform(key, li) < ch


@njit(cache=True)
def waiting_kernel(held, mem, offs, day, keys, apply_keys, place, origin, intent, motive, state, since, until, flags,
                   country, crec, grant, deport, abandon, applied, freed, n_out):
    """The day of the people waiting for a decision, in detention or at the border city (``held``,
    sorted), in one pass (asylum.py), written in place. ``keys[m]``: asylum.decision,
    asylum.abandon of the day; ``country[p]``: the country of place ``p``; ``grant``, ``deport``,
    ``abandon``: [member, country]; ``crec[m]``: member ``m``'s country records.

    Due today (``until`` reached): an applicant is granted asylum (``settled``) with chance
    ``grant``, else ``deported`` (back at their origin); a detainee is deported with chance
    ``deport``, else released (``resting`` where held, the post there cleared). An applicant not
    due abandons the wait (``resting``, cleared) with chance ``abandon``. Each of them is in the
    new state since today, with no date (``until`` -1).

    Those released or abandoning and those at the border city (``arrived``) then may apply for
    asylum, under the rule of the people on the move (:func:`applies`; ``apply_keys[m]``:
    asylum.apply of the day): the applicants' ids go to ``applied`` (actions.start_asylum moves
    them on), those released or abandoning who do not apply to ``freed`` (they are on the move
    now), each in order; ``n_out``: how many of each."""
    na = 0
    nf = 0
    for j in range(held.shape[0]):
        i = held[j]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
        st = state[iu]
        m = mem[iu]
        li = i - offs[m]
        c = country[U(place[iu])]
        cu = U(c)
        if st != ARRIVED:
            ud = until[iu]
            if 0 <= ud <= day:  # due today (-1: no date)
                u = uniform(keys[m, 0], li)
                if st == ASYLUM_PENDING:
                    new = SETTLED if u < grant[m, cu] else DEPORTED
                else:
                    new = DEPORTED if u < deport[m, cu] else RESTING
            elif st == ASYLUM_PENDING and uniform(keys[m, 1], li) < abandon[m, cu]:  # never where it is 0 (a draw is >= 0)
                new = RESTING
            else:
                continue  # waits on
            state[iu] = new
            since[iu] = day
            until[iu] = -1
            if new == DEPORTED:
                place[iu] = origin[iu]
            if new != RESTING:
                continue
            flags[iu] |= CLEARED
        cr = crec[m, cu]
        if cr.asylum_open and applies(cr, c, country[U(origin[iu])], intent[iu] == GOING_HOME,
                                      motive[iu] == PROTECTION, intent[iu] == GOING_STAY, apply_keys[m], li):
            applied[U(na)] = i
            na += 1
        elif st != ARRIVED:
            freed[U(nf)] = i
            nf += 1
    n_out[0] = na
    n_out[1] = nf


@njit(cache=True)
def asylum_start_kernel(idx, where, mem, offs, key, day, country, min_wait, max_wait, station, abandon, abandon_keys,
                        state, since, until, wake, place, nxt, km_left, joined):
    """People ``idx`` apply for asylum at places ``where`` (actions.start_asylum): ``asylum_pending``
    since ``day``, off any leg, in the migration station of the country ``c`` they are in
    (``station[m, c]``; -1: where they are), until a decision day ``wait`` days on, drawn uniformly
    between ``min_wait[m, c]`` and ``max_wait[m, c]`` (``min + floor(u · (max − min + 1))``, never
    above the max; ``key[m]``: asylum.wait of the day; the day never past the int16 maximum). Those
    of them who had not set out go to ``joined``, in order; returns (how many, whether someone of
    them was travelling or resting).

    Each applicant's ``wake`` (:func:`next_due`, with ``abandon[m, c']`` of the station's country
    ``c'`` and ``abandon_keys[d, m]``, asylum.abandon of day ``d`` of the run): the first day their
    wait has something due, before which the day's close may leave them out of the daily passes."""
    nj = 0
    was_moving = False
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
        m = mem[iu]
        w = where[j]
        c = U(country[U(w)])
        lo = min_wait[m, c]
        hi = max_wait[m, c]
        wait = min(lo + np.int64(np.floor(uniform(key[m], i - offs[m]) * (hi - lo + 1))), hi)
        st = state[iu]
        if st == WAITING:
            joined[U(nj)] = i
            nj += 1
        was_moving |= st == TRAVELLING or st == RESTING
        state[iu] = ASYLUM_PENDING
        since[iu] = day
        ud = min(day + wait, INT16_MAX)
        until[iu] = ud
        s = station[m, c]
        pl = s if s >= 0 else w
        place[iu] = pl
        nxt[iu] = -1
        km_left[iu] = 0
        wake[iu] = next_due(day + 1, ud, abandon[m, U(country[U(pl)])], abandon_keys, m, i - offs[m])
    return nj, was_moving


@njit(cache=True, inline="always")
def next_due(d, until, rate, abandon_keys, m, li):
    """The first day from ``d`` on when an asylum applicant's wait has something due, as
    :func:`waiting_kernel` decides it day by day: their decision day ``until``, or a day they
    abandon the wait (their draw ``uniform(abandon_keys[day, m], li)`` below ``rate``), whichever
    comes first; the number of days of the run (``abandon_keys.shape[0]``) when neither comes
    within it. Scalars and the run's key table (see :func:`~travesia.engine.core.held_rec`)."""
    n_days = abandon_keys.shape[0]
    while d < n_days and d < until:
        if rate > 0 and uniform(abandon_keys[U(d), m], li) < rate:
            return d
        d += 1
    return min(d, n_days)


@njit(cache=True)
def wake_kernel(idx, mem, offs, day, place, country, until, abandon, abandon_keys, wake):
    """``wake`` (:func:`next_due`) of the asylum applicants ``idx`` from ``day`` on, under the rates
    ``abandon[m, c]`` in force (after a change of them)."""
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = U(i)
        m = mem[iu]
        wake[iu] = next_due(day, until[iu], abandon[m, U(country[U(place[iu])])], abandon_keys, m, i - offs[m])


@njit(cache=True)
def give_up_km_factor(dist, scale, out):
    """``out[m, d, p] = exp(-dist[d, p] / scale[m])``: how much less often someone ``dist`` km from
    home gives up (intentions.give_up_km_scale; 1 where the scale is 0), computed once, not per
    person and day."""
    for m in range(out.shape[0]):
        for d in range(out.shape[1]):
            for p in range(out.shape[2]):
                out[m, d, p] = np.exp(-np.float64(dist[d, p]) / scale[m]) if scale[m] > 0 else 1.0


@threaded
def apply_kernel(idx, mem, offs, keys, place, intent, origin, motive, country, crec, applied, n_applied, moving, n_moving):
    """Who of ``idx`` (people on the move) applies for asylum today (:func:`applies`; ``keys[m]``:
    asylum.apply of the day; ``country[p]``: the country of place ``p``; ``crec[m]``: member
    ``m``'s country records): their ids go to ``applied``, the others' (still on the move) to
    ``moving``, in order, each chunk of ``idx`` (a chunk per thread, core.thread_rows) from its own
    start, ``n_applied[t]`` and ``n_moving[t]`` of them."""
    C = n_moving.shape[0]
    n = idx.shape[0]
    for t in numba.prange(C):
        na = nm = n * t // C
        for j in range(n * t // C, n * (t + 1) // C):
            i = idx[U(j)]
            iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
            m = mem[iu]
            c = country[U(place[iu])]
            cr = crec[m, U(c)]
            a = cr.asylum_open and applies(cr, c, country[U(origin[iu])], intent[iu] == GOING_HOME,
                                           motive[iu] == PROTECTION, intent[iu] == GOING_STAY, keys[m], i - offs[m])
            applied[U(na)] = i  # kept when they apply (no branch)
            moving[U(nm)] = i  # kept when they do not
            na += a
            nm += not a
        n_applied[t] = na - n * t // C
        n_moving[t] = nm - n * t // C


@njit(cache=True)
def groups_present(idx, mem, group, Gw, present):
    """``present[m * Gw + g]``: group ``g`` of member ``m`` has someone among ``idx``."""
    for j in range(idx.shape[0]):
        i = idx[j]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
        present[np.int64(mem[iu]) * Gw + group[iu]] = True


@njit(cache=True)
def rally_wait_merge_kernel(at, mem, pop, dest, place, state, since, group, flags, dist, median, gap, max_wait, day,
                            n_pop, n_places, gmin, flagged):
    """People ``at`` rally points: wait (flag RALLY) when more than ``gap[m]`` km ahead of their
    caravan's median (``median[m * n_pop + caravan]``), for at most ``max_wait[m]`` days; then every
    group of a (member, caravan, rally point) merges into its lowest id. Returns how many wait
    (their ids in ``flagged``). ``gmin``: scratch of M × n_pop × places, filled with a large value."""
    n_f = 0
    for j in range(at.shape[0]):
        i = at[j]
        iu = U(i)  # unsigned: no negative-index fix-up on each access (U)
        m = mem[iu]
        r = np.int64(m) * n_pop + pop[iu]
        d_at = np.float64(dist[U(dest[iu]), U(place[iu])])
        wait = d_at < median[U(r)] - gap[m]
        st = state[iu]
        waited = day - since[iu]
        if wait and ((waited < max_wait[m] and st == RESTING) or st == TRAVELLING):
            flags[iu] |= RALLY
            flagged[U(n_f)] = i
            n_f += 1
        k = U(r * n_places + place[iu])
        if group[iu] < gmin[k]:
            gmin[k] = group[iu]
    for j in range(at.shape[0]):
        i = at[j]
        iu = U(i)
        group[iu] = gmin[U((np.int64(mem[iu]) * n_pop + pop[iu]) * n_places + place[iu])]
    return n_f


@njit(cache=True)
def median_kernel(hist, tot, dv, median):
    """Each row's lower median of the distances ``dv`` (ascending) counted by ``hist`` (row total
    ``tot``): the first distance where the running count reaches (total + 1) // 2. Rows without
    anyone keep their value (inf)."""
    for r in range(hist.shape[0]):
        if tot[r] == 0:
            continue
        target = (tot[r] + 1) // 2
        c = 0
        for k in range(dv.shape[0]):
            c += hist[r, k]
            if c >= target:
                median[r] = dv[k]
                break
