"""Numba kernels of the Gaussian (one noise variance per node) order search on a covariance.

A node's score given the nodes allowed before it (its candidate parents) is
``(n / 2) log(RSS / n) + penalty * |parents|``, the parents chosen by grow-shrink: forward
selection of the candidate that removes the most residual variance while adding it lowers the
score, then backward elimination while a removal lowers it. ``C`` is the covariance matrix
(``X_c^T X_c / n``), so ``RSS / n`` is a conditional variance.

Every node keeps the record of its forward path (the parents in the order chosen, their
Cholesky factors, the variance each removed). Whether one more or one fewer candidate changes
the path is then decided in ``O(k^2)`` for ``k`` chosen parents, and most of the moves the
search scores leave most paths unchanged; only the others are selected again.
"""

from collections import namedtuple

import numpy as np
from numba import njit

__all__ = ["Paths", "new_paths", "node_score", "order_scores", "start_search",
           "insertion_pass"]

# a candidate whose variance given the chosen parents is below this fraction of its own is
# (numerically) a combination of them: it is never added
_COLLINEAR = 1e-10
# residual variances are kept above this fraction of the node's variance: below it the
# covariance cannot resolve them (cancellation), and log(0) would end the search
_RSS_FLOOR = 1e-12

Paths = namedtuple("Paths", "length nodes factors loading drop score count parents")
Paths.__doc__ = """Forward paths of the nodes' parent selections, one slot per node (and scratch slots).

``length[s]`` parents were chosen, ``nodes[s, t]`` at step ``t``, removing ``drop[s, t]`` of
residual variance; ``factors[s, r, t]`` is the ``r``-th Cholesky factor of the chosen parent
``t`` and ``loading[s, r]`` that of the node itself; ``length[s] = -1`` marks a path longer
than the record holds. ``score``, ``count`` and ``parents`` give the result after shrinking.
"""


@njit(cache=True, nogil=True)
def new_paths(d, slots):
    """Empty records for ``slots`` selections on ``d`` nodes (paths up to ``min(d, 128)`` long)."""
    K = max(min(d, 128), 1)
    return Paths(np.zeros(slots, dtype=np.int64), np.zeros((slots, K), dtype=np.int64),
                 np.zeros((slots, K, K)), np.zeros((slots, K)), np.zeros((slots, K)),
                 np.zeros(slots), np.zeros(slots, dtype=np.int64), np.zeros((slots, d), dtype=np.int64))


@njit(cache=True, nogil=True)
def _grow(C, v, cand, m, keep_ratio, paths, slot, picked, work):
    """Forward selection among ``cand[:m]``, recorded in ``slot``.

    Returns the parent count ``k`` and the residual variance; ``picked[:k]`` holds the chosen
    candidates' indices in ``cand`` and ``work[picked[t], :k]`` their Cholesky rows
    (``work[m, :k]`` that of ``v``). ``work`` is at least ``(m + 3, m + 1)``.
    """
    factors = work  # row j: candidate j's loadings on the chosen parents' residual directions
    cov_v = work[m + 1]  # covariance of every candidate with v given the chosen parents
    var = work[m + 2]  # variance of every candidate given the chosen parents
    free = np.ones(m, dtype=np.bool_)
    for i in range(m):
        cov_v[i] = C[cand[i], v]
        var[i] = C[cand[i], cand[i]]
    K = paths.nodes.shape[1]
    k = 0
    floor = _RSS_FLOOR * C[v, v]
    rss = C[v, v]
    while k < m:
        best, best_drop = -1, 0.0
        for i in range(m):
            if free[i] and var[i] > _COLLINEAR * C[cand[i], cand[i]]:
                drop = cov_v[i] * cov_v[i] / var[i]
                if drop > best_drop:
                    best, best_drop = i, drop
        # adding changes the score by half_n log(new / rss) + penalty: it must be negative
        if best < 0 or max(rss - best_drop, floor) >= keep_ratio * rss:
            break
        b = cand[best]
        scale = np.sqrt(var[best])
        for j in range(m + 1):
            s = C[cand[j] if j < m else v, b]
            for r in range(k):
                s -= factors[j, r] * factors[best, r]
            factors[j, k] = s / scale
        fv = factors[m, k]
        for j in range(m):
            f = factors[j, k]
            cov_v[j] -= f * fv
            var[j] -= f * f
        rss = max(rss - fv * fv, floor)
        if k < K:
            paths.nodes[slot, k] = b
            paths.drop[slot, k] = best_drop
            paths.loading[slot, k] = fv
            for r in range(k + 1):
                paths.factors[slot, r, k] = factors[best, r]
        free[best] = False
        picked[k] = best
        k += 1
    paths.length[slot] = k if k <= K else -1
    return k, rss


@njit(cache=True, nogil=True)
def _least_rise(L, l, k):
    """The parent whose removal raises the residual variance least, and by how much.

    With ``C_SS = L L^T`` and ``C_Sv = L l`` the coefficients are ``w = L^{-T} l`` and dropping
    parent ``a`` raises the residual variance by ``w_a^2 / (C_SS^{-1})_aa``.
    """
    inv = np.zeros((k, k))  # L^{-1}, lower triangular
    for t in range(k):
        inv[t, t] = 1.0 / L[t, t]
        for r in range(t):
            s = 0.0
            for j in range(r, t):
                s += L[t, j] * inv[j, r]
            inv[t, r] = -s * inv[t, t]
    worst, worst_rise = -1, np.inf
    for a in range(k):
        w = 0.0
        diag = 0.0
        for r in range(a, k):
            w += inv[r, a] * l[r]
            diag += inv[r, a] * inv[r, a]
        if w * w / diag < worst_rise:
            worst, worst_rise = a, w * w / diag
    return worst, worst_rise


@njit(cache=True, nogil=True)
def _cholesky(C, S, k, v, L, l):
    """``C[S, S] = L L^T`` and ``C[S, v] = L l`` for ``S[:k]``; returns ``C[v, v] - |l|^2``."""
    rss = C[v, v]
    for t in range(k):
        for r in range(t + 1):
            s = C[S[t], S[r]]
            for j in range(r):
                s -= L[t, j] * L[r, j]
            if r == t:
                L[t, t] = np.sqrt(max(s, _COLLINEAR * C[S[t], S[t]]))
            else:
                L[t, r] = s / L[r, r]
        s = C[S[t], v]
        for j in range(t):
            s -= L[t, j] * l[j]
        l[t] = s / L[t, t]
        rss -= l[t] * l[t]
    return rss


@njit(cache=True, nogil=True)
def node_score(C, v, allowed, half_n, penalty, paths, slot, iwork, work):
    """Select the parents of ``v`` among the nodes ``allowed`` marks; the result goes to ``slot``.

    Returns the score. ``iwork`` (``2 d`` integers) and ``work`` (``(d + 3, d + 1)``) are
    scratch space.
    """
    d = C.shape[0]
    cand = iwork[:d]
    m = 0
    for i in range(d):
        if allowed[i] and i != v:
            cand[m] = i
            m += 1
    keep_ratio = np.exp(-penalty / half_n)
    picked = iwork[d:]
    k, rss = _grow(C, v, cand, m, keep_ratio, paths, slot, picked, work)
    parents = paths.parents[slot]
    L = np.empty((k, k))
    l = np.empty(k)
    for t in range(k):
        parents[t] = cand[picked[t]]
        l[t] = work[m, t]
        for r in range(t + 1):
            L[t, r] = work[picked[t], r]
    paths.count[slot], paths.score[slot] = _eliminate(C, v, parents, L, l, k, rss, half_n, penalty)
    return paths.score[slot]


@njit(cache=True, nogil=True)
def _eliminate(C, v, parents, L, l, k, rss, half_n, penalty):
    """Backward elimination from the grown parents' factor (``C_SS = L L^T``, ``C_Sv = L l``).

    The kept parents stay first in ``parents``; returns their count and the node's score.
    """
    keep_ratio = np.exp(-penalty / half_n)
    floor = _RSS_FLOOR * C[v, v]
    while k:
        worst, rise = _least_rise(L, l, k)
        # removing changes the score by half_n log((rss + rise) / rss) - penalty
        if rss + rise >= rss / keep_ratio:
            break
        parents[worst:k - 1] = parents[worst + 1:k].copy()
        k -= 1
        rss = max(_cholesky(C, parents, k, v, L, l), floor)
    return k, half_n * np.log(rss) + penalty * k


OwnPath = namedtuple("OwnPath", "rows cov var drop chosen loading taken state")
OwnPath.__doc__ = """The forward path of one node whose candidates only grow, kept for every candidate.

``rows[j, r]`` is candidate ``j``'s loading on the ``r``-th chosen parent's residual direction,
``cov`` / ``var`` its covariance with the node / variance given the chosen parents, ``drop``,
``chosen`` and ``loading`` as in :class:`Paths`, ``taken`` marks the chosen nodes and
``state`` holds the path length and the residual variance.
"""


@njit(cache=True, nogil=True)
def _new_own_path(C, v):
    d = C.shape[0]
    state = np.array([0.0, C[v, v]])
    return OwnPath(np.empty((d, d)), np.empty(d), np.empty(d), np.empty(d), np.empty(d, dtype=np.int64),
                   np.empty(d), np.zeros(d, dtype=np.bool_), state)


@njit(cache=True, nogil=True)
def _own_add(C, v, x, allowed, own, keep_ratio):
    """Add the candidate ``x`` (already marked in ``allowed``) to ``v``'s growing path.

    The steps before the first one that ``x`` would win are kept, with every candidate's
    loadings on them; the selection resumes from there. Returns whether the path changed.
    """
    rows, chosen, loading = own.rows, own.chosen, own.loading
    k = int(own.state[0])
    floor = _RSS_FLOOR * C[v, v]
    cov = C[x, v]
    var = C[x, x]
    start = -1
    for t in range(k):
        if start < 0 and var > _COLLINEAR * C[x, x] and cov * cov / var >= own.drop[t]:
            start = t
        s = C[x, chosen[t]]
        for r in range(t):
            s -= rows[x, r] * rows[chosen[t], r]
        rows[x, t] = s / rows[chosen[t], t]
        cov -= rows[x, t] * loading[t]
        var -= rows[x, t] * rows[x, t]
    own.cov[x] = cov
    own.var[x] = var
    if start < 0:
        rss = own.state[1]
        if not (var > _COLLINEAR * C[x, x] and max(rss - cov * cov / var, floor) < keep_ratio * rss):
            return False
        start = k
    d = C.shape[0]
    for t in range(start, k):
        own.taken[chosen[t]] = False
    rss = C[v, v]
    for r in range(start):
        rss = max(rss - loading[r] * loading[r], floor)
    for j in range(d):
        if allowed[j] and j != v:
            cov = C[j, v]
            var = C[j, j]
            for r in range(start):
                cov -= rows[j, r] * loading[r]
                var -= rows[j, r] * rows[j, r]
            own.cov[j] = cov
            own.var[j] = var
    k = start
    while k < d:
        best, best_drop = -1, 0.0
        for j in range(d):
            if allowed[j] and j != v and not own.taken[j] and own.var[j] > _COLLINEAR * C[j, j]:
                drop = own.cov[j] * own.cov[j] / own.var[j]
                if drop > best_drop:
                    best, best_drop = j, drop
        if best < 0 or max(rss - best_drop, floor) >= keep_ratio * rss:
            break
        scale = np.sqrt(own.var[best])
        s = C[v, best]
        for r in range(k):
            s -= loading[r] * rows[best, r]
        loading[k] = s / scale
        for j in range(d):
            if allowed[j] and j != v:
                s = C[j, best]
                for r in range(k):
                    s -= rows[j, r] * rows[best, r]
                rows[j, k] = s / scale
        for j in range(d):
            if allowed[j] and j != v:
                own.cov[j] -= rows[j, k] * loading[k]
                own.var[j] -= rows[j, k] * rows[j, k]
        rss = max(rss - loading[k] * loading[k], floor)
        own.drop[k] = best_drop
        chosen[k] = best
        own.taken[best] = True
        k += 1
    own.state[0] = k
    own.state[1] = rss
    return True


@njit(cache=True, nogil=True)
def _own_score(C, v, own, half_n, penalty):
    k = int(own.state[0])
    parents = own.chosen[:k].copy()
    L = np.empty((k, k))
    for t in range(k):
        for r in range(t + 1):
            L[t, r] = own.rows[parents[t], r]
    return _eliminate(C, v, parents, L, own.loading[:k].copy(), k, own.state[1], half_n, penalty)[1]


@njit(cache=True, nogil=True)
def _unchanged_by_adding(C, v, x, paths, slot, keep_ratio):
    """Whether the candidate ``x`` added to ``slot``'s candidates leaves its forward path as it is.

    ``x`` changes nothing when, at every step, it removes less residual variance than the
    parent chosen there and, at the end, adding it would not lower the score.
    """
    k = paths.length[slot]
    if k < 0:
        return False
    f = np.empty(k)
    cov = C[x, v]
    var = C[x, x]
    floor = _RSS_FLOOR * C[v, v]
    rss = C[v, v]
    for t in range(k):
        if var > _COLLINEAR * C[x, x] and cov * cov / var >= paths.drop[slot, t]:
            return False
        s = C[x, paths.nodes[slot, t]]
        for r in range(t):
            s -= f[r] * paths.factors[slot, r, t]
        f[t] = s / paths.factors[slot, t, t]
        cov -= f[t] * paths.loading[slot, t]
        var -= f[t] * f[t]
        rss = max(rss - paths.loading[slot, t] ** 2, floor)
    if var > _COLLINEAR * C[x, x] and max(rss - cov * cov / var, floor) < keep_ratio * rss:
        return False
    return True


@njit(cache=True, nogil=True)
def _unchanged_by_removing(x, paths, slot):
    """Whether removing the candidate ``x`` leaves ``slot``'s forward path (it was never chosen)."""
    k = paths.length[slot]
    if k < 0:
        return False
    for t in range(k):
        if paths.nodes[slot, t] == x:
            return False
    return True


@njit(cache=True, nogil=True)
def order_scores(C, order, half_n, penalty, paths, iwork, work):
    """Select every node's parents among its predecessors in ``order`` (slot = node)."""
    d = order.shape[0]
    allowed = np.zeros(d, dtype=np.bool_)
    for p in range(d):
        node_score(C, order[p], allowed, half_n, penalty, paths, order[p], iwork, work)
        allowed[order[p]] = True


@njit(cache=True, nogil=True)
def _best_insertion(C, order, v_pos, half_n, penalty, paths, iwork, work, tol):
    """Best new position of the node at ``v_pos`` (in the order without it) and the score change.

    With ``rest`` the order without ``v``, inserting ``v`` before ``rest[q]`` gives ``v`` the
    candidates ``rest[:q]``, adds ``v`` to the candidates of ``rest[q:]`` and removes it from
    those of ``rest[:q]``. Every node's two possible scores are found once (mostly by the path
    checks, without selecting again), then prefix sums give the change for every ``q``. Among
    equal scores the latest position wins.
    """
    d = order.shape[0]
    v = order[v_pos]
    keep_ratio = np.exp(-penalty / half_n)
    spare = d
    rest = np.empty(d - 1, dtype=np.int64)
    c = 0
    for p in range(d):
        if p != v_pos:
            rest[c] = order[p]
            c += 1
    with_v = np.empty(d - 1)
    without_v = np.empty(d - 1)
    own = np.empty(d)
    allowed = np.zeros(d, dtype=np.bool_)
    path = _new_own_path(C, v)
    current_own = half_n * np.log(C[v, v])
    for q in range(d):
        if q > 0:
            x = rest[q - 1]
            allowed[x] = True
            if _own_add(C, v, x, allowed, path, keep_ratio):
                current_own = _own_score(C, v, path, half_n, penalty)
        own[q] = current_own
        if q == d - 1:
            break
        u = rest[q]
        # u's candidates are rest[:q]; v is among them exactly when v was before u
        if q < v_pos:
            without_v[q] = paths.score[u]
            if _unchanged_by_adding(C, u, v, paths, u, keep_ratio):
                with_v[q] = paths.score[u]
            else:
                allowed[v] = True
                with_v[q] = node_score(C, u, allowed, half_n, penalty, paths, spare, iwork, work)
                allowed[v] = False
        else:
            with_v[q] = paths.score[u]
            if _unchanged_by_removing(v, paths, u):
                without_v[q] = paths.score[u]
            else:
                without_v[q] = node_score(C, u, allowed, half_n, penalty, paths, spare, iwork, work)
    # total at q: own[q] + sum(without_v[:q]) + sum(with_v[q:])
    total = own[d - 1]
    for q in range(d - 1):
        total += without_v[q]
    current = total
    reference = total
    best_q, best_total = d - 1, total
    for q in range(d - 2, -1, -1):
        current += own[q] - own[q + 1] - without_v[q] + with_v[q]
        if q == v_pos:
            reference = current
        if current < best_total - tol:
            best_q, best_total = q, current
    return best_q, best_total - reference


@njit(cache=True, nogil=True)
def _move(C, order, v_pos, q, half_n, penalty, paths, iwork, work):
    """Move the node at ``v_pos`` to position ``q``; select again the parents that change."""
    d = order.shape[0]
    v = order[v_pos]
    keep_ratio = np.exp(-penalty / half_n)
    if q > v_pos:
        order[v_pos:q] = order[v_pos + 1:q + 1].copy()
    else:
        order[q + 1:v_pos + 1] = order[q:v_pos].copy()
    order[q] = v
    allowed = np.zeros(d, dtype=np.bool_)
    for p in range(d):
        u = order[p]
        if u == v:
            node_score(C, v, allowed, half_n, penalty, paths, v, iwork, work)
        elif q < v_pos and q < p <= v_pos:  # v joined u's candidates
            if not _unchanged_by_adding(C, u, v, paths, u, keep_ratio):
                node_score(C, u, allowed, half_n, penalty, paths, u, iwork, work)
        elif v_pos <= p < q:  # v left u's candidates
            if not _unchanged_by_removing(v, paths, u):
                node_score(C, u, allowed, half_n, penalty, paths, u, iwork, work)
        allowed[u] = True


@njit(cache=True, nogil=True)
def start_search(C, order, half_n, penalty):
    """Records and workspace of a search from ``order``; returns them and the order's score."""
    d = order.shape[0]
    paths = new_paths(d, d + 1)
    iwork = np.empty(2 * d, dtype=np.int64)
    work = np.empty((d + 3, d + 1))
    order_scores(C, order, half_n, penalty, paths, iwork, work)
    return paths, iwork, work, paths.score[:d].sum()


@njit(cache=True, nogil=True)
def insertion_pass(C, order, half_n, penalty, paths, iwork, work, tol):
    """Move every node once to its best position; returns the score after the pass.

    A node moves also when that only ties its current score (moves between equivalent orders
    let the search leave plateaus). ``order`` and the records ``paths`` (slot = node) are
    changed in place.
    """
    d = order.shape[0]
    for node in order.copy():
        v_pos = 0
        while order[v_pos] != node:
            v_pos += 1
        q, change = _best_insertion(C, order, v_pos, half_n, penalty, paths, iwork, work, tol)
        if q != v_pos and change <= tol:
            _move(C, order, v_pos, q, half_n, penalty, paths, iwork, work)
    return paths.score[:d].sum()
