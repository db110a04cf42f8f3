"""numba kernels for the steps that do not vectorise well, each with a NumPy twin.

The movement of one person through several legs in a day is a loop with early exits; in NumPy it
is a loop over hops with shrinking index sets, in numba a plain loop per person. Both draw the
same counter-based random numbers (:mod:`travesia.engine.rng`) and do the same float32/float64
arithmetic in the same order, so they give identical results; tests check it. numba compiles on
first use (cached on disk); set ``TRAVESIA_NUMBA=0`` to use the NumPy path.
"""

from __future__ import annotations

import os

import numpy as np

try:  # pragma: no cover - exercised when numba is installed (it is a dependency)
    if os.environ.get("TRAVESIA_NUMBA", "1") == "0":
        raise ImportError
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

ENABLED = True  # tests switch it off to compare with the NumPy twins


def active() -> bool:
    """Whether the numba kernels are used (installed, not disabled)."""
    return HAVE_NUMBA and ENABLED


CLEARED = 1
HOME = 2
STAY = 1
PROTECTION = 1
ST_TRAVELLING = 1
ST_RESTING = 2
ST_SETTLED = 5
ST_ARRIVED = 6
ST_RETURNED = 7
FOOT, RIDE = 0, 1


def _uniform_py(key, i):
    """U[0,1) for id ``i`` under a 64-bit ``key``: SplitMix64(key + golden·(i+1)), top 53 bits.

    The engine's one counter-based hash, for scalar use inside kernels (numba-compiled as
    :func:`uniform` when numba is used; :func:`travesia.engine.rng.uniform_numpy` is its NumPy
    twin over arrays). Without numba, uint64 wrap-around warns; callers silence it."""
    x = (np.uint64(i) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15) + key
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    x >>= np.uint64(11)
    return np.float64(x) * (2.0 ** -53)


uniform = numba.njit(cache=True, inline="always")(_uniform_py) if HAVE_NUMBA else _uniform_py

if HAVE_NUMBA:
    _U = numba.uint64
    _uniform = uniform

    @numba.njit(cache=True, inline="always")
    def _target(i, pop, wp, intent, dest, via_table, n_via):
        k = pop[i]
        w = wp[i]
        if w < n_via[k] and intent[i] != HOME:
            return np.int64(via_table[k, w])
        return np.int64(dest[i])

    @numba.njit(cache=True)
    def advance_kernel(who, budget, mode, stage, ride_stop_km, keys,
                       place, nxt, km_left, dest, wp, pop, intent, flags, origin, state, km_today,
                       dests, cum, hop, e_to, e_km, e_modes, mode_bit,
                       blocked, exit_only, counts_crossing, country, rally, via_table, n_via,
                       flows, arrived, crossed, ended):
        K = hop.shape[2]
        max_hops = keys.shape[0]
        for j in range(who.shape[0]):
            i = who[j]
            b = budget[j]
            m = mode[j]
            for h in range(max_hops):
                if km_left[i] == 0:
                    p = place[i]
                    for _w in range(via_table.shape[1]):
                        tg = _target(i, pop, wp, intent, dest, via_table, n_via)
                        if dests[tg] == p and tg != dest[i]:
                            wp[i] += 1
                        else:
                            break
                    if p == dests[dest[i]]:
                        if intent[i] == HOME:
                            state[i] = ST_RETURNED
                        else:
                            state[i] = ST_ARRIVED
                            ended[pop[i], p] += 1
                        break
                    if blocked[p] and (flags[i] & CLEARED) == 0 and intent[i] != HOME:
                        eo = exit_only[p]
                        if eo == -1 or eo == country[origin[i]]:
                            break
                    tg = _target(i, pop, wp, intent, dest, via_table, n_via)
                    u = _uniform(keys[h], i)
                    k = 0
                    for c in range(K):
                        if u >= cum[tg, p, c]:
                            k += 1
                    e = hop[tg, p, min(k, K - 1)]
                    if e < 0:
                        break
                    if (e_modes[e] & mode_bit[m]) == 0:
                        break
                    if stage and m == FOOT and km_today[i] > 0 and e_km[e] > b + 1e-6:
                        break
                    nxt[i] = e_to[e]
                    km_left[i] = e_km[e]
                    flags[i] &= ~np.uint8(CLEARED)
                    flows[e] += 1
                left = np.float64(km_left[i])
                step = min(b, left)
                b -= step
                left -= step
                km_today[i] += np.float32(step)
                if left <= 1e-6:
                    q = nxt[i]
                    place[i] = q
                    nxt[i] = -1
                    km_left[i] = 0
                    arrived[pop[i], q] += 1
                    if counts_crossing[q] and not blocked[q] and intent[i] != HOME:
                        crossed[pop[i], q] += 1
                    if rally[q] and m == RIDE and km_today[i] >= ride_stop_km:
                        b = 0.0
                    if q == dests[dest[i]]:
                        if intent[i] == HOME:
                            state[i] = ST_RETURNED
                        else:
                            state[i] = ST_ARRIVED
                            ended[pop[i], q] += 1
                        b = 0.0
                else:
                    km_left[i] = np.float32(left)
                if not b > 1e-6:
                    break

    @numba.njit(cache=True)
    def decide_kernel(idx, keys, par, g_rest, g_coh, g_ride, g_ride_km, g_pace, u_caravan,
                      place, km_left, flags, intent, origin, group, pop, speed, shelter, blocked, exit_only,
                      rides_blocked, country, stay, mode, budget):
        """Each person on the move today: stay (held, rally, rest) or a mode (foot, ride, solo bus) and km."""
        rest_prob, shelter_rest, cohesion, ride_p, ride_km, solo_p, bus_km, foot_km, max_foot = (
            par[0], par[1], par[2], par[3], par[4], par[5], par[6], par[7], par[8])
        HOME_OFS = np.int64(1) << 40
        for j in range(idx.shape[0]):
            i = idx[j]
            p = place[i]
            at = km_left[i] == 0
            home = intent[i] == HOME
            held = blocked[p] and at and (flags[i] & CLEARED) == 0 and not home
            if held:
                eo = exit_only[p]
                held = eo == -1 or eo == country[origin[i]]
            g = group[i]
            if home:
                u_rest = _uniform(keys[0], i + HOME_OFS)
            else:
                u_rest = g_rest[g]
            if cohesion > 0:
                u_c = _uniform(keys[1], i + HOME_OFS) if home else g_coh[g]
                if u_c < cohesion and not home:
                    u_rest = u_caravan[pop[i]]
            rp = shelter_rest if (shelter[p] and at) else rest_prob
            if held or (flags[i] & 8) != 0 or u_rest < rp:
                stay[j] = True
                continue
            u_r = _uniform(keys[2], i + HOME_OFS) if home else g_ride[g]
            if u_r < ride_p and not rides_blocked[country[p]]:
                mode[j] = RIDE
                u_k = _uniform(keys[3], i + HOME_OFS) if home else g_ride_km[g]
                budget[j] = ride_km * (0.3 + 0.7 * u_k)
            if solo_p > 0:
                if _uniform(keys[4], i) < solo_p and not rides_blocked[country[p]]:
                    mode[j] = 2
                    budget[j] = bus_km
            if mode[j] == FOOT:
                sp = np.float64(speed[i])
                walk = sp if home else min(sp, g_pace[g] * foot_km)
                budget[j] = min(walk, max_foot)

    @numba.njit(cache=True)
    def uniform_kernel(key, ids, out):
        """rng.uniform_from_key for many ids at once."""
        for j in range(ids.shape[0]):
            out[j] = _uniform(key, ids[j])

    @numba.njit(cache=True)
    def intentions_kernel(idx, day, k_give, k_permit, k_return, give_p, held_p, km_scale, dist, place, country,
                          km_left, blocked, flags, intent, state, since, nxt, origin, dest, dest_index, permit, ra):
        """Give up (go home), take a permit (settled), get a bus home (returned): see intentions.py."""
        for j in range(idx.shape[0]):
            i = idx[j]
            p = place[i]
            c = country[p]
            going = intent[i] != HOME
            held = km_left[i] == 0 and blocked[p] and (flags[i] & CLEARED) == 0
            chance = held_p if held else give_p
            if km_scale > 0:
                chance = chance * np.exp(-np.float64(dist[dest_index[origin[i]], p]) / km_scale)
            quit_ = going and _uniform(k_give, i) < chance
            if going and not quit_ and permit[c] > 0 and _uniform(k_permit, i) < permit[c]:
                state[i] = ST_SETTLED
                since[i] = day
                nxt[i] = -1
                km_left[i] = 0
                continue
            if quit_:
                intent[i] = HOME
                dest[i] = dest_index[origin[i]]
            if intent[i] != HOME:
                continue
            if ra[c] > 0 and _uniform(k_return, i) < ra[c]:
                state[i] = ST_RETURNED
                since[i] = day
                place[i] = origin[i]
                nxt[i] = -1
                km_left[i] = 0
            elif km_left[i] == 0 and place[i] == origin[i]:
                state[i] = ST_RETURNED
                since[i] = day

    @numba.njit(cache=True)
    def held_kernel(idx, place, km_left, flags, intent, origin, blocked, exit_only, country, out):
        """Which of idx are held at a border post (see borders.held_mask)."""
        for j in range(idx.shape[0]):
            i = idx[j]
            p = place[i]
            h = blocked[p] and km_left[i] == 0 and (flags[i] & CLEARED) == 0 and intent[i] != HOME
            if h:
                eo = exit_only[p]
                h = eo == -1 or eo == country[origin[i]]
            out[j] = h

    @numba.njit(cache=True)
    def apply_kernel(idx, key, place, country, intent, origin, motive, open_, ap_prot, ap_econ, ap_stay, out):
        """Who applies for asylum today (see asylum.py)."""
        for j in range(idx.shape[0]):
            i = idx[j]
            c = country[place[i]]
            if not open_[c] or intent[i] == HOME or c == country[origin[i]]:
                continue
            ch = ap_prot[c] if motive[i] == PROTECTION else ap_econ[c]
            if intent[i] == STAY:
                ch = max(ch, ap_stay[c])
            if ch > 0 and _uniform(key, i) < ch:
                out[j] = True

    @numba.njit(cache=True)
    def rally_kernel(idx, place, intent, km_left, flags, blocked, pop, dest, rally, n_dest, hist, at_pos):
        """Histogram of (caravan, destination, place) of those going on and not held at a post;
        positions of those at rally points."""
        n_at = 0
        for j in range(idx.shape[0]):
            i = idx[j]
            if intent[i] == HOME:
                continue
            p = place[i]
            if blocked[p] and km_left[i] == 0 and (flags[i] & CLEARED) == 0:
                continue
            hist[np.int64(pop[i]) * n_dest + dest[i], p] += 1
            if rally[p] and km_left[i] == 0:
                at_pos[n_at] = j
                n_at += 1
        return n_at
