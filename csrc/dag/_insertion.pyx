# cython: language_level=3
"""The Gaussian (one noise variance per node) order search on a correlation matrix.

A node's score given the nodes allowed before it (its candidate parents) is
``(n / 2) log(RSS / n) + penalty * |parents|``, the parents chosen by grow-shrink: forward
selection of the candidate that removes the most residual variance while adding it lowers the
score, then backward elimination while a removal lowers it. ``C`` is the correlation (or
covariance) matrix, so ``RSS / n`` is a conditional variance.

Every node keeps the record of its forward path (the parents in the order chosen, their
Cholesky factors, the variance each removed). Whether one more or one fewer candidate changes
the path is then decided in ``O(k^2)`` for ``k`` chosen parents, and most of the moves the
search scores leave most paths unchanged; only the others are selected again.

All state lives in :class:`InsertionSearch`; its kernels run without the GIL on buffers
allocated once per search, and every node's selection is a separate call on its own record.
The matrix is float64 (formed so from the data in any dtype): the search compares score
changes across nodes, which float32 round-off would blur.
"""

from libc.math cimport exp, log, sqrt, INFINITY
from libc.string cimport memset

import numpy as np
cimport numpy as cnp

cnp.import_array()

# a candidate whose variance given the chosen parents is below this fraction of its own is
# (numerically) a combination of them: it is never added
cdef double _COLLINEAR = 1e-10
# residual variances are kept above this fraction of the node's variance: below it the
# covariance cannot resolve them (cancellation), and log(0) would end the search
cdef double _RSS_FLOOR = 1e-12
# the records keep forward paths up to this length; a longer path is selected again on a move
cdef Py_ssize_t _MAX_RECORDED = 128


cdef struct Problem:
    const double* C  # d x d, row-major
    Py_ssize_t d
    double half_n
    double penalty
    double keep_ratio  # an added parent must multiply the RSS by less than this


cdef struct Paths:
    # one record per node (slot = node) and one scratch slot (slot d)
    Py_ssize_t K  # longest recorded path
    Py_ssize_t* length  # parents chosen forward; -1: longer than K
    Py_ssize_t* nodes  # slot x K: the parent chosen at each step
    double* factors  # slot x K x K: factors[r, t], r-th Cholesky factor of the parent of step t
    double* loading  # slot x K: the node's own Cholesky factors
    double* drop  # slot x K: residual variance removed at each step
    double* score  # slot: the node's score after shrinking
    Py_ssize_t* count  # slot: parents kept after shrinking
    Py_ssize_t* parents  # slot x d: the kept parents first


cdef struct Own:
    # the forward path of the moved node, whose candidates only grow, kept for every candidate
    double* rows  # d x d: rows[j, r], candidate j's loading on the r-th parent's direction
    double* cov  # d: covariance with the node given the chosen parents
    double* var  # d: variance given the chosen parents
    double* drop  # d
    Py_ssize_t* chosen  # d
    double* loading  # d
    unsigned char* taken  # d
    double* inv  # d x d: inverse of the path's Cholesky factor, valid in its first inv_rows rows
    Py_ssize_t inv_rows
    Py_ssize_t k
    double rss


cdef struct Work:
    Py_ssize_t* cand  # d
    Py_ssize_t* picked  # d
    unsigned char* free  # d
    double* grow  # (d + 3) x (d + 1): candidates' factors, then covariances and variances
    double* L  # d x d: Cholesky factor of the kept parents
    double* l  # d
    double* inv  # d x d
    double* M  # d x d: inverse of the parents' Gram matrix
    double* coef  # d: the node's coefficients on its parents
    double* f  # K
    Py_ssize_t* kept  # d
    Py_ssize_t* rest  # d
    double* with_v  # d
    double* without_v  # d
    double* own_score  # d
    unsigned char* allowed  # d
    Py_ssize_t* start  # d: the order at the start of a pass
    # moves made since the records were built, and for every node the count at which its
    # best insertion was last found to be where it stands (-1: not since)
    Py_ssize_t moves
    Py_ssize_t* settled  # d


cdef inline double _at_least(double x, double floor) noexcept nogil:
    return x if x > floor else floor


cdef inline bint _usable(const Problem* P, Py_ssize_t j, double var) noexcept nogil:
    return var > _COLLINEAR * P.C[j * P.d + j]


cdef Py_ssize_t _grow(const Problem* P, Py_ssize_t v, Py_ssize_t m, Paths* paths,
                      Py_ssize_t slot, Work* w, double* rss_out) noexcept nogil:
    """Forward selection among ``w.cand[:m]``, recorded in ``slot``; returns the parent count.

    ``w.picked[:k]`` gets the chosen candidates' indices in ``cand``, row ``picked[t]`` of
    ``w.grow`` their Cholesky factors and row ``m`` that of ``v``.
    """
    cdef const double* C = P.C
    cdef Py_ssize_t d = P.d, s = d + 1, K = paths.K
    cdef Py_ssize_t* cand = w.cand
    cdef double* factors = w.grow
    cdef double* cov_v = w.grow + (m + 1) * s
    cdef double* var = w.grow + (m + 2) * s
    cdef Py_ssize_t i, j, r, k = 0, best, b, c
    cdef double floor = _RSS_FLOOR * C[v * d + v], rss = C[v * d + v]
    cdef double best_drop, drop, scale, acc, fv, f
    for i in range(m):
        w.free[i] = 1
        cov_v[i] = C[cand[i] * d + v]
        var[i] = C[cand[i] * d + cand[i]]
    while k < m:
        best, best_drop = -1, 0.0
        for i in range(m):
            if w.free[i] and _usable(P, cand[i], var[i]):
                drop = cov_v[i] * cov_v[i] / var[i]
                if drop > best_drop:
                    best, best_drop = i, drop
        # adding changes the score by half_n log(new / rss) + penalty: it must be negative
        if best < 0 or _at_least(rss - best_drop, floor) >= P.keep_ratio * rss:
            break
        b = cand[best]
        scale = sqrt(var[best])
        for j in range(m + 1):
            c = cand[j] if j < m else v
            acc = C[c * d + b]
            for r in range(k):
                acc -= factors[j * s + r] * factors[best * s + r]
            factors[j * s + k] = acc / scale
        fv = factors[m * s + k]
        for j in range(m):
            f = factors[j * s + k]
            cov_v[j] -= f * fv
            var[j] -= f * f
        rss = _at_least(rss - fv * fv, floor)
        if k < K:
            paths.nodes[slot * K + k] = b
            paths.drop[slot * K + k] = best_drop
            paths.loading[slot * K + k] = fv
            for r in range(k + 1):
                paths.factors[(slot * K + r) * K + k] = factors[best * s + r]
        w.free[best] = 0
        w.picked[k] = best
        k += 1
    paths.length[slot] = k if k <= K else -1
    rss_out[0] = rss
    return k


cdef void _triangular_inverse(const double* L, Py_ssize_t first, Py_ssize_t k, Py_ssize_t d,
                              double* inv) noexcept nogil:
    """Rows ``first`` to ``k`` of ``inv = L^{-1}`` (lower triangle); the rows before ``first``
    must hold those of ``L``'s inverse already (a row depends only on ``L``'s rows up to it)."""
    cdef Py_ssize_t t, r, j
    cdef double acc
    for t in range(first, k):
        inv[t * d + t] = 1.0 / L[t * d + t]
        for r in range(t):
            acc = 0.0
            for j in range(r, t):
                acc += L[t * d + j] * inv[j * d + r]
            inv[t * d + r] = -acc * inv[t * d + t]


cdef void _inverse_off_diagonal(const double* inv, Py_ssize_t k, Py_ssize_t d,
                                double* M) noexcept nogil:
    """The entries of ``M = inv^T inv`` off its diagonal (both triangles)."""
    cdef Py_ssize_t a, b, r
    cdef double acc
    for a in range(k):
        for b in range(a):
            acc = 0.0
            for r in range(a, k):
                acc += inv[r * d + a] * inv[r * d + b]
            M[a * d + b] = acc
            M[b * d + a] = acc


cdef Py_ssize_t _least_rise(const double* M, const double* coef, Py_ssize_t k, Py_ssize_t d,
                            double* rise) noexcept nogil:
    """The parent whose removal raises the residual variance least, and by how much:
    dropping parent ``a`` raises it by ``coef_a^2 / M_aa``."""
    cdef Py_ssize_t a, worst = -1
    cdef double r, worst_rise = INFINITY
    for a in range(k):
        r = coef[a] * coef[a] / M[a * d + a]
        if r < worst_rise:
            worst, worst_rise = a, r
    rise[0] = worst_rise
    return worst


cdef void _drop_parent(Py_ssize_t a, Py_ssize_t k, Py_ssize_t d, double* M, double* coef,
                       Py_ssize_t* parents) noexcept nogil:
    """Remove parent ``a`` of ``k``: the inverse of the smaller Gram matrix is the Schur
    complement ``M - M[:, a] M[a, :] / M_aa`` and the coefficients lose ``a``'s share; the
    rows and columns after ``a`` move up by one."""
    cdef Py_ssize_t i, j
    cdef double f, pivot = M[a * d + a]
    for i in range(k):
        if i != a:
            f = M[i * d + a] / pivot
            coef[i] -= f * coef[a]
            for j in range(k):
                if j != a:
                    M[i * d + j] -= f * M[a * d + j]
    for i in range(a, k - 1):
        coef[i] = coef[i + 1]
        parents[i] = parents[i + 1]
        for j in range(k):
            M[i * d + j] = M[(i + 1) * d + j]
    for i in range(k - 1):
        for j in range(a, k - 1):
            M[i * d + j] = M[i * d + j + 1]


cdef double _eliminate(const Problem* P, Py_ssize_t v, Py_ssize_t* parents, Py_ssize_t k,
                       double rss, const double* inv, const double* l, Work* w,
                       Py_ssize_t* count) noexcept nogil:
    """Backward elimination of the grown parents, from the inverse ``inv`` of their Cholesky
    factor ``L`` and ``l`` (``C_SS = L L^T``, ``C_Sv = L l``).

    The coefficients are ``L^{-T} l`` and ``C_SS^{-1} = inv^T inv``, which is downdated at each
    removal (``O(k^2)``) instead of factoring the smaller set again (``O(k^3)``). The kept
    parents stay first in ``parents``; sets their count, returns the node's score.
    """
    cdef double floor = _RSS_FLOOR * P.C[v * P.d + v], rise, c, diag
    cdef Py_ssize_t worst, a, r, d = P.d
    cdef bint full = False
    for a in range(k):
        c = 0.0
        diag = 0.0
        for r in range(a, k):
            c += inv[r * d + a] * l[r]
            diag += inv[r * d + a] * inv[r * d + a]
        w.coef[a] = c
        w.M[a * d + a] = diag
    while k:
        worst = _least_rise(w.M, w.coef, k, P.d, &rise)
        # removing changes the score by half_n log((rss + rise) / rss) - penalty
        if rss + rise >= rss / P.keep_ratio:
            break
        if not full:  # most nodes keep every grown parent: the rest of M only when one goes
            _inverse_off_diagonal(inv, k, P.d, w.M)
            full = True
        _drop_parent(worst, k, P.d, w.M, w.coef, parents)
        k -= 1
        rss = _at_least(rss + rise, floor)
    count[0] = k
    return P.half_n * log(rss) + P.penalty * k


cdef double _node_score(const Problem* P, Py_ssize_t v, const unsigned char* allowed,
                        Paths* paths, Py_ssize_t slot, Work* w) noexcept nogil:
    """Select the parents of ``v`` among the nodes ``allowed`` marks into ``slot``; its score."""
    cdef Py_ssize_t d = P.d, s = d + 1, i, m = 0, k, t, r
    cdef double rss
    cdef Py_ssize_t* parents = paths.parents + slot * d
    for i in range(d):
        if allowed[i] and i != v:
            w.cand[m] = i
            m += 1
    k = _grow(P, v, m, paths, slot, w, &rss)
    for t in range(k):
        parents[t] = w.cand[w.picked[t]]
        w.l[t] = w.grow[m * s + t]
        for r in range(t + 1):
            w.L[t * d + r] = w.grow[w.picked[t] * s + r]
    _triangular_inverse(w.L, 0, k, d, w.inv)
    paths.score[slot] = _eliminate(P, v, parents, k, rss, w.inv, w.l, w, &paths.count[slot])
    return paths.score[slot]


cdef void _own_reset(const Problem* P, Py_ssize_t v, Own* own) noexcept nogil:
    memset(own.taken, 0, P.d)
    own.k = 0
    own.inv_rows = 0
    own.rss = P.C[v * P.d + v]


cdef bint _own_add(const Problem* P, Py_ssize_t v, Py_ssize_t x, const unsigned char* allowed,
                   Own* own) noexcept nogil:
    """Add the candidate ``x`` (already marked in ``allowed``) to ``v``'s growing path.

    The steps before the first one that ``x`` would win are kept, with every candidate's
    loadings on them; the selection resumes from there. Returns whether the path changed.
    """
    cdef const double* C = P.C
    cdef Py_ssize_t d = P.d, k = own.k, start = -1, t, r, j, best
    cdef double* rows = own.rows
    cdef Py_ssize_t* chosen = own.chosen
    cdef double* loading = own.loading
    cdef double floor = _RSS_FLOOR * C[v * d + v], cov = C[x * d + v], var = C[x * d + x]
    cdef double acc, rss, best_drop, drop, scale
    for t in range(k):
        if start < 0 and _usable(P, x, var) and cov * cov / var >= own.drop[t]:
            start = t
        acc = C[x * d + chosen[t]]
        for r in range(t):
            acc -= rows[x * d + r] * rows[chosen[t] * d + r]
        rows[x * d + t] = acc / rows[chosen[t] * d + t]
        cov -= rows[x * d + t] * loading[t]
        var -= rows[x * d + t] * rows[x * d + t]
    own.cov[x] = cov
    own.var[x] = var
    if start < 0:
        rss = own.rss
        if not (_usable(P, x, var) and _at_least(rss - cov * cov / var, floor) < P.keep_ratio * rss):
            return False
        start = k
    for t in range(start, k):
        own.taken[chosen[t]] = 0
    own.inv_rows = min(own.inv_rows, start)
    rss = C[v * d + v]
    for r in range(start):
        rss = _at_least(rss - loading[r] * loading[r], floor)
    for j in range(d):
        if allowed[j] and j != v:
            cov = C[j * d + v]
            var = C[j * d + j]
            for r in range(start):
                cov -= rows[j * d + r] * loading[r]
                var -= rows[j * d + r] * rows[j * d + r]
            own.cov[j] = cov
            own.var[j] = var
    k = start
    while k < d:
        best, best_drop = -1, 0.0
        for j in range(d):
            if allowed[j] and j != v and not own.taken[j] and _usable(P, j, own.var[j]):
                drop = own.cov[j] * own.cov[j] / own.var[j]
                if drop > best_drop:
                    best, best_drop = j, drop
        if best < 0 or _at_least(rss - best_drop, floor) >= P.keep_ratio * rss:
            break
        scale = sqrt(own.var[best])
        acc = C[v * d + best]
        for r in range(k):
            acc -= loading[r] * rows[best * d + r]
        loading[k] = acc / scale
        for j in range(d):
            if allowed[j] and j != v:
                acc = C[j * d + best]
                for r in range(k):
                    acc -= rows[j * d + r] * rows[best * d + r]
                rows[j * d + k] = acc / scale
        for j in range(d):
            if allowed[j] and j != v:
                own.cov[j] -= rows[j * d + k] * loading[k]
                own.var[j] -= rows[j * d + k] * rows[j * d + k]
        rss = _at_least(rss - loading[k] * loading[k], floor)
        own.drop[k] = best_drop
        chosen[k] = best
        own.taken[best] = 1
        k += 1
    own.k = k
    own.rss = rss
    return True


cdef double _own_score(const Problem* P, Py_ssize_t v, Own* own, Work* w) noexcept nogil:
    """Score of ``v`` after eliminating from its path; the factor's inverse is extended only
    by the rows the path changed."""
    cdef Py_ssize_t d = P.d, k = own.k, t, r, count
    for t in range(k):
        w.kept[t] = own.chosen[t]
    for t in range(own.inv_rows, k):
        for r in range(t + 1):
            w.L[t * d + r] = own.rows[own.chosen[t] * d + r]
    # rows before inv_rows are read only through the inverse rows already formed
    _triangular_inverse(w.L, own.inv_rows, k, d, own.inv)
    own.inv_rows = k
    return _eliminate(P, v, w.kept, k, own.rss, own.inv, own.loading, w, &count)


cdef bint _unchanged_by_adding(const Problem* P, Py_ssize_t v, Py_ssize_t x, const Paths* paths,
                               Py_ssize_t slot, double* f) noexcept nogil:
    """Whether the candidate ``x`` added to ``slot``'s candidates leaves its forward path as it is.

    ``x`` changes nothing when, at every step, it removes less residual variance than the
    parent chosen there and, at the end, adding it would not lower the score.
    """
    cdef const double* C = P.C
    cdef Py_ssize_t d = P.d, K = paths.K, k = paths.length[slot], t, r
    cdef double cov = C[x * d + v], var = C[x * d + x], floor = _RSS_FLOOR * C[v * d + v]
    cdef double rss = C[v * d + v], acc, load
    if k < 0:
        return False
    for t in range(k):
        if _usable(P, x, var) and cov * cov / var >= paths.drop[slot * K + t]:
            return False
        acc = C[x * d + paths.nodes[slot * K + t]]
        for r in range(t):
            acc -= f[r] * paths.factors[(slot * K + r) * K + t]
        f[t] = acc / paths.factors[(slot * K + t) * K + t]
        load = paths.loading[slot * K + t]
        cov -= f[t] * load
        var -= f[t] * f[t]
        rss = _at_least(rss - load * load, floor)
    if _usable(P, x, var) and _at_least(rss - cov * cov / var, floor) < P.keep_ratio * rss:
        return False
    return True


cdef bint _unchanged_by_removing(Py_ssize_t x, const Paths* paths, Py_ssize_t slot) noexcept nogil:
    """Whether removing the candidate ``x`` leaves ``slot``'s forward path (it was never chosen)."""
    cdef Py_ssize_t k = paths.length[slot], t
    if k < 0:
        return False
    for t in range(k):
        if paths.nodes[slot * paths.K + t] == x:
            return False
    return True


cdef double _order_scores(const Problem* P, const Py_ssize_t* order, Paths* paths,
                          Work* w) noexcept nogil:
    """Select every node's parents among its predecessors in ``order`` (slot = node); the sum."""
    cdef Py_ssize_t p
    cdef double total = 0.0
    memset(w.allowed, 0, P.d)
    for p in range(P.d):
        _node_score(P, order[p], w.allowed, paths, order[p], w)
        w.allowed[order[p]] = 1
    for p in range(P.d):
        total += paths.score[p]
    return total


cdef Py_ssize_t _best_insertion(const Problem* P, const Py_ssize_t* order, Py_ssize_t v_pos,
                                Paths* paths, Own* own, Work* w, double tol,
                                double* change) noexcept nogil:
    """Best new position of the node at ``v_pos`` (in the order without it) and the score change.

    With ``rest`` the order without ``v``, inserting ``v`` before ``rest[q]`` gives ``v`` the
    candidates ``rest[:q]``, adds ``v`` to the candidates of ``rest[q:]`` and removes it from
    those of ``rest[:q]``. Every node's two possible scores are found once (mostly by the path
    checks, without selecting again), then prefix sums give the change for every ``q``. Among
    equal scores the latest position wins.
    """
    cdef Py_ssize_t d = P.d, v = order[v_pos], spare = d, p, c = 0, q, x, u, best_q
    cdef double current_own, total, current, reference, best_total
    cdef Py_ssize_t* rest = w.rest
    for p in range(d):
        if p != v_pos:
            rest[c] = order[p]
            c += 1
    memset(w.allowed, 0, d)
    _own_reset(P, v, own)
    current_own = P.half_n * log(P.C[v * d + v])
    for q in range(d):
        if q > 0:
            x = rest[q - 1]
            w.allowed[x] = 1
            if _own_add(P, v, x, w.allowed, own):
                current_own = _own_score(P, v, own, w)
        w.own_score[q] = current_own
        if q == d - 1:
            break
        u = rest[q]
        # u's candidates are rest[:q]; v is among them exactly when v was before u
        if q < v_pos:
            w.without_v[q] = paths.score[u]
            if _unchanged_by_adding(P, u, v, paths, u, w.f):
                w.with_v[q] = paths.score[u]
            else:
                w.allowed[v] = 1
                w.with_v[q] = _node_score(P, u, w.allowed, paths, spare, w)
                w.allowed[v] = 0
        else:
            w.with_v[q] = paths.score[u]
            if _unchanged_by_removing(v, paths, u):
                w.without_v[q] = paths.score[u]
            else:
                w.without_v[q] = _node_score(P, u, w.allowed, paths, spare, w)
    # total at q: own[q] + sum(without_v[:q]) + sum(with_v[q:])
    total = w.own_score[d - 1]
    for q in range(d - 1):
        total += w.without_v[q]
    current = total
    reference = total
    best_q, best_total = d - 1, total
    for q in range(d - 2, -1, -1):
        current += w.own_score[q] - w.own_score[q + 1] - w.without_v[q] + w.with_v[q]
        if q == v_pos:
            reference = current
        if current < best_total - tol:
            best_q, best_total = q, current
    change[0] = best_total - reference
    return best_q


cdef void _move(const Problem* P, Py_ssize_t* order, Py_ssize_t v_pos, Py_ssize_t q,
                Paths* paths, Work* w) noexcept nogil:
    """Move the node at ``v_pos`` to position ``q``; select again the parents that change."""
    cdef Py_ssize_t d = P.d, v = order[v_pos], p, u
    if q > v_pos:
        for p in range(v_pos, q):
            order[p] = order[p + 1]
    else:
        for p in range(v_pos, q, -1):
            order[p] = order[p - 1]
    order[q] = v
    memset(w.allowed, 0, d)
    for p in range(d):
        u = order[p]
        if u == v:
            _node_score(P, v, w.allowed, paths, v, w)
        elif q < v_pos and q < p <= v_pos:  # v joined u's candidates
            if not _unchanged_by_adding(P, u, v, paths, u, w.f):
                _node_score(P, u, w.allowed, paths, u, w)
        elif v_pos <= p < q:  # v left u's candidates
            if not _unchanged_by_removing(v, paths, u):
                _node_score(P, u, w.allowed, paths, u, w)
        w.allowed[u] = 1


cdef double _insertion_pass(const Problem* P, Py_ssize_t* order, Paths* paths, Own* own,
                            Work* w, double tol) noexcept nogil:
    """Move every node once to its best position; the score after the pass.

    A node that stayed where it stands and has seen no move since is skipped: the order and
    the records are what they were, so its best insertion would be found the same.
    """
    cdef Py_ssize_t d = P.d, i, v_pos, q
    cdef double change, total = 0.0
    for i in range(d):
        w.start[i] = order[i]
    for i in range(d):
        if w.settled[w.start[i]] == w.moves:
            continue
        v_pos = 0
        while order[v_pos] != w.start[i]:
            v_pos += 1
        q = _best_insertion(P, order, v_pos, paths, own, w, tol, &change)
        if q != v_pos and change <= tol:
            _move(P, order, v_pos, q, paths, w)
            w.moves += 1
        else:
            w.settled[w.start[i]] = w.moves
    for i in range(d):
        total += paths.score[i]
    return total


cdef class InsertionSearch:
    """Records and workspace of the insertion search on one correlation matrix.

    Parameters
    ----------
    C : float64 array of shape (d, d), C-contiguous
        Correlation (or covariance) matrix of the data; kept, not copied.
    half_n : float
        Half the number of samples.
    penalty : float
        Score penalty per parent.
    """

    cdef Problem problem
    cdef Paths paths
    cdef Own own
    cdef Work work
    cdef const double[:, ::1] C
    cdef object buffers  # the NumPy arrays behind every pointer above
    cdef double tol  # of the passes since the records were built

    def __cinit__(self, const double[:, ::1] C, double half_n, double penalty):
        cdef Py_ssize_t d = C.shape[0], K = max(min(d, _MAX_RECORDED), 1), slots = d + 1
        self.C = C
        self.problem.C = &C[0, 0] if d else NULL
        self.problem.d = d
        self.problem.half_n = half_n
        self.problem.penalty = penalty
        self.problem.keep_ratio = exp(-penalty / half_n)
        self.buffers = []
        self.paths.K = K
        self.paths.length = <Py_ssize_t*> self._zeros(slots, np.intp)
        self.paths.nodes = <Py_ssize_t*> self._zeros(slots * K, np.intp)
        self.paths.factors = <double*> self._zeros(slots * K * K, np.float64)
        self.paths.loading = <double*> self._zeros(slots * K, np.float64)
        self.paths.drop = <double*> self._zeros(slots * K, np.float64)
        self.paths.score = <double*> self._zeros(slots, np.float64)
        self.paths.count = <Py_ssize_t*> self._zeros(slots, np.intp)
        self.paths.parents = <Py_ssize_t*> self._zeros(slots * d, np.intp)
        self.own.rows = <double*> self._zeros(d * d, np.float64)
        self.own.cov = <double*> self._zeros(d, np.float64)
        self.own.var = <double*> self._zeros(d, np.float64)
        self.own.drop = <double*> self._zeros(d, np.float64)
        self.own.chosen = <Py_ssize_t*> self._zeros(d, np.intp)
        self.own.loading = <double*> self._zeros(d, np.float64)
        self.own.taken = <unsigned char*> self._zeros(d, np.uint8)
        self.own.inv = <double*> self._zeros(d * d, np.float64)
        self.work.cand = <Py_ssize_t*> self._zeros(d, np.intp)
        self.work.picked = <Py_ssize_t*> self._zeros(d, np.intp)
        self.work.free = <unsigned char*> self._zeros(d, np.uint8)
        self.work.grow = <double*> self._zeros((d + 3) * (d + 1), np.float64)
        self.work.L = <double*> self._zeros(d * d, np.float64)
        self.work.l = <double*> self._zeros(d, np.float64)
        self.work.inv = <double*> self._zeros(d * d, np.float64)
        self.work.M = <double*> self._zeros(d * d, np.float64)
        self.work.coef = <double*> self._zeros(d, np.float64)
        self.work.f = <double*> self._zeros(K, np.float64)
        self.work.kept = <Py_ssize_t*> self._zeros(d, np.intp)
        self.work.rest = <Py_ssize_t*> self._zeros(d, np.intp)
        self.work.with_v = <double*> self._zeros(d, np.float64)
        self.work.without_v = <double*> self._zeros(d, np.float64)
        self.work.own_score = <double*> self._zeros(d, np.float64)
        self.work.allowed = <unsigned char*> self._zeros(d, np.uint8)
        self.work.start = <Py_ssize_t*> self._zeros(d, np.intp)
        self.work.settled = <Py_ssize_t*> self._zeros(d, np.intp)
        self.tol = np.nan

    cdef void* _zeros(self, Py_ssize_t size, dtype) except NULL:
        """Data of a new zeroed array, kept alive by the search."""
        buffer = np.zeros(max(size, 1), dtype=dtype)
        self.buffers.append(buffer)
        return cnp.PyArray_DATA(buffer)

    cdef void _check_order(self, Py_ssize_t[::1] order) except *:
        if order.shape[0] != self.problem.d:
            raise ValueError(f"order must have {self.problem.d} entries, got {order.shape[0]}")

    def score_order(self, Py_ssize_t[::1] order):
        """Select every node's parents among its predecessors in ``order``; the order's score."""
        self._check_order(order)
        cdef double total
        with nogil:
            total = _order_scores(&self.problem, &order[0], &self.paths, &self.work)
        self._forget_settled()
        return total

    cdef void _forget_settled(self):
        cdef Py_ssize_t i
        self.work.moves = 0
        for i in range(self.problem.d):
            self.work.settled[i] = -1

    def insertion_pass(self, Py_ssize_t[::1] order, double tol):
        """Move every node once to its best position; the score after the pass.

        A node moves also when that only ties its current score (moves between equivalent
        orders let the search leave plateaus). ``order`` (changed in place) must be the one
        the records were last built for (:meth:`score_order` or the previous pass).
        """
        self._check_order(order)
        if tol != self.tol:
            self._forget_settled()
            self.tol = tol
        cdef double total
        with nogil:
            total = _insertion_pass(&self.problem, &order[0], &self.paths, &self.own,
                                    &self.work, tol)
        return total

    def best_insertion(self, Py_ssize_t[::1] order, Py_ssize_t v_pos, double tol):
        """``(q, change)``: the best position of the node at ``v_pos`` and the score change."""
        self._check_order(order)
        if not 0 <= v_pos < self.problem.d:
            raise ValueError(f"v_pos must be in range({self.problem.d}), got {v_pos}")
        cdef double change
        cdef Py_ssize_t q
        with nogil:
            q = _best_insertion(&self.problem, &order[0], v_pos, &self.paths, &self.own,
                                &self.work, tol, &change)
        return q, change

    def parents(self, Py_ssize_t v):
        """The selected parents of node ``v`` (in the order they were kept)."""
        if not 0 <= v < self.problem.d:
            raise ValueError(f"v must be in range({self.problem.d}), got {v}")
        cdef Py_ssize_t count = self.paths.count[v]
        return np.array(<Py_ssize_t[:count]> (self.paths.parents + v * self.problem.d)) if count \
            else np.zeros(0, dtype=np.intp)
