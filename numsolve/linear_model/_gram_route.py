"""The Gram route of the working-set engine for least squares (tall data).

A coordinate epoch over the working set ``S`` reads every stored entry of ``X[:, S]``:
``O(n |S|)`` for dense ``X``. On the Gram matrix ``Q = X_S' A X_S`` (``A`` the sample
weights; an intercept adds a column of ones) the same epoch costs ``O(|S|^2)``
(:func:`._cd_gram.gram_epochs`), and the objective, the gradient and the duality gap of the
restricted problem follow from ``Q``, the gradient ``g = X_S' A (X_S w + b - y)`` and the
datafit value alone, so no check touches ``X``. An intercept's dual constraint holds to
round-off there: its exact step comes last in every epoch. The Gram of every feature that
has entered a working set is kept (:class:`WorkingSetGram`) and grown by the entering
columns only: on dense data their float64 copies are appended to a buffer of the columns
seen so far, so each growth is one BLAS product of that contiguous buffer with the new
columns (no gather of the old ones; over a solve, the work of one ``syrk`` of the columns
that ever entered). On tall dense data a growth that is a large share of the whole Gram's
work takes the whole Gram instead, in one SYRK of ``X`` read in place (see
:data:`_WHOLE_SHARE`).

The route pays when the working set's stored entries outnumber the Gram's entries
(:data:`GRAM_RATIO`): an epoch then reads fewer numbers, and the Gram's columns are built by
BLAS at many times the speed of the memory-bound coordinate epochs. When the signs of the
coefficients have not changed over a round of epochs and the gap fell less than tenfold, a
Newton step on ``Q``'s support block replaces the remaining epochs (the column route's Newton
finish, without its ``O(n |S|^2)`` Hessian). The restricted gap costs ``O(|S|)`` here, so it
is checked after every epoch (in the compiled loop) and the solve stops close to the
tolerance it was given.
"""

import numpy as np
import scipy.linalg
import scipy.linalg.blas

from ._cd_gram import gram_epochs, gram_extrapolate
from ._stall import StallWatch

__all__ = ["GRAM_RATIO", "MAX_GRAM_SIZE", "WorkingSetGram", "both_triangles", "gram_pays",
           "solve_on_gram", "solve_restricted"]

# The route is taken when the working set's stored entries are at least this many times the
# Gram's (|S| + intercept)^2: each Gram epoch then reads at most a quarter of what a column
# epoch reads, which also covers building the new Gram columns within a few epochs.
GRAM_RATIO = 4
# Largest Gram kept (|S| + intercept): 3000^2 doubles are 72 MB.
MAX_GRAM_SIZE = 3000
# On dense data with n >= _WHOLE_TALL p, a growth whose work is at least 1 / _WHOLE_SHARE of
# the whole Gram's takes the whole Gram instead (one SYRK of X in place: no column copies,
# no small products, no later growth or pass over X for features without a Gram row):
# 40000 x 200 at alpha_max/1000 grew 200 features over 6 working sets, 74 ms of a 110 ms
# fit, where one SYRK of X takes 34 ms. A growth to a third of the whole (_WHOLE_SHARE 3,
# only the last growth there) saved nothing measurable; on the correlated 1200 x 200 of
# the tests (n = 6p) the whole Gram took the same time (14.8 ms) for 70 columns no working
# set needed, so squarer data keeps growing by working sets.
_WHOLE_SHARE = 4
_WHOLE_TALL = 8
_ANDERSON = 5
# A compiled run of epochs lasts about this many multiply-adds (between _ANDERSON + 1 and
# _LONGEST_RUN epochs, the gap checked after each) and ends with one Anderson step: a run
# and its extrapolation cost tens of microseconds of Python, an epoch on a 64 x 64 Gram a
# few. Runs that started at _ANDERSON + 1 epochs and doubled after every rejected
# extrapolation spent most of the small real fits there (best of 11, interleaved, loaded:
# wine without intercept 443 -> 398 us, float32 561 -> 419 us; scikit-learn 345-400 us);
# 2**14 multiply-adds per run against 2**18 (best of 13, interleaved, loaded): Lasso() on
# digits float32 with intercept 1032 -> 919 us, breast cancer without 702 -> 520 us,
# ElasticNet() on digits without 1649 -> 1105 us; the dense grid cells within noise
_RUN_WORK = 2**18
_LONGEST_RUN = 96
# A round of epochs that leaves the gap above this fraction of the last round's has stalled
_STALL = 0.1


def gram_pays(design, ws, fit_intercept):
    """True when the Gram route is cheaper than column epochs for the working set ``ws``."""
    m = ws.size + int(fit_intercept)
    return m <= MAX_GRAM_SIZE and design.stored(ws) >= GRAM_RATIO * m * m


class WorkingSetGram:
    """``X_F' A X_F`` for every feature ``F`` that entered a working set so far, grown by
    the entering columns; :meth:`matrix` reads a working set's block from it.

    Parameters
    ----------
    design : Design
    a : ndarray of shape (n_samples,)
        Normalised sample weights.
    col_means : ndarray of shape (n_features,) or None
        ``X' a`` when an intercept is fitted (its Gram row), else None.
    """

    def __init__(self, design, a, col_means):
        self.design, self.a, self.col_means = design, a, col_means
        self.position = np.full(design.shape[1], -1, dtype=np.intp)  # row of a feature
        self.features = np.empty(0, dtype=np.intp)  # in the order they entered
        # X_F' A X_F and (dense X) the float64 columns X_F, capacity-sized (see _reserve)
        self.block = np.empty((0, 0))
        self.columns = np.empty((design.shape[0], 0), order="F")
        # equal weights scale the product instead of a weighted copy of the new columns
        self.weight = float(a[0]) if a.size and np.all(a == a[0]) else None

    @property
    def size(self):
        """Features whose Gram rows are known."""
        return self.features.size

    def matrix(self, ws):
        """The Gram of the features ``ws`` (intercept last when fitted); the columns of
        features never seen before are computed first."""
        new = ws[self.position[ws] < 0]
        if new.size:
            self._grow(new)
        rows = self.position[ws]
        m = ws.size
        size = m + (self.col_means is not None)
        Q = np.empty((size, size))
        if m == self.block.shape[0] and np.array_equal(rows, np.arange(m)):
            Q[:m, :m] = self.block  # every feature in order (the whole Gram): a plain copy
        else:
            Q[:m, :m] = self.block[np.ix_(rows, rows)]
        if self.col_means is not None:
            Q[:m, m] = Q[m, :m] = self.col_means[ws]
            Q[m, m] = self.a.sum()
        return Q

    def known_block(self):
        """``X_F' A X_F`` in the order of :attr:`features`."""
        return self.block[: self.size, : self.size]

    def _grow(self, new):
        """Rows and columns of ``new`` (features not seen before)."""
        m, k = self.size, new.size
        if self._whole_pays(m + k):
            self._take_whole()
            return
        self._reserve(m + k)
        self.position[new] = np.arange(m, m + k)
        self.features = np.concatenate([self.features, new])
        if self.design.sparse:
            cross = self.design.weighted_cross(self.features, new, self.a)
        else:
            X = self.design.X
            for row, j in enumerate(new, start=m):  # contiguous copies, no temporary
                self.columns[:, row] = X[:, j]
            cross = self._dense_cross(m + k, k)
        self.block[: m + k, m:m + k] = cross
        self.block[m:m + k, :m] = cross[:m].T

    def _whole_pays(self, size):
        """True when a growth to ``size`` features should take every feature instead (dense
        tall ``X``, ``n >= _WHOLE_TALL p``): its work ``n (size^2 - known^2) / 2`` is at
        least ``1 / _WHOLE_SHARE`` of the whole Gram's ``n p^2 / 2``, so the working sets
        are heading for most of ``X``."""
        n, p = self.design.shape
        known = self.size
        return (not self.design.sparse and p <= MAX_GRAM_SIZE and n >= _WHOLE_TALL * p
                and _WHOLE_SHARE * (size * size - known * known) >= p * p)

    def _take_whole(self):
        """Every feature's Gram in one SYRK of ``X`` read in place (a weighted or float32
        ``X``: of one float64 copy), replacing the grown block and its column buffer."""
        X = self.design.X
        p = X.shape[1]
        if self.weight is None:
            upper = scipy.linalg.blas.dsyrk(1.0, np.sqrt(self.a)[:, None] * X, trans=1)
        else:
            upper = scipy.linalg.blas.dsyrk(self.weight, X, trans=1)
        self.block = both_triangles(upper)
        self.columns = np.empty((X.shape[0], 0), order="F")
        self.features = np.arange(p)
        self.position = np.arange(p)

    def _dense_cross(self, size, k):
        """``X_F' A X_new`` for the last ``k`` of the ``size`` buffered columns, read in
        place: a GEMM against the earlier columns and a SYRK among the new ones (half the
        work of their square block, a fifth of the growth's over a solve)."""
        old = self.columns[:, :size - k]
        new = self.columns[:, size - k:size]
        scale, weighted, rooted = self.weight, new, new
        if scale is None:
            scale = 1.0
            weighted = np.asfortranarray(self.a[:, None] * new)
            rooted = np.asfortranarray(np.sqrt(self.a)[:, None] * new)
        cross = np.empty((size, k))
        if size > k:
            cross[:size - k] = scipy.linalg.blas.dgemm(scale, old, weighted, trans_a=True)
        upper = scipy.linalg.blas.dsyrk(scale, rooted, trans=1)  # upper triangle only
        cross[size - k:] = both_triangles(upper)
        return cross

    def _reserve(self, size):
        """Room for ``size`` features. The first call takes every feature up to
        :data:`MAX_GRAM_SIZE` (memory is committed only where written, so the usual case
        never copies); past it the capacity doubles."""
        capacity = self.block.shape[0]
        if size <= capacity:
            return
        n, p = self.design.shape
        capacity = min(p, max(size, 2 * capacity, MAX_GRAM_SIZE))
        block = np.empty((capacity, capacity))
        block[: self.size, : self.size] = self.known_block()
        self.block = block
        if not self.design.sparse:
            columns = np.empty((n, capacity), order="F")
            columns[:, : self.size] = self.columns[:, : self.size]
            self.columns = columns


def both_triangles(upper):
    """The symmetric matrix whose upper triangle SYRK left in ``upper`` (its strict lower
    triangle zero), C-ordered: one sum with the transpose, the doubled diagonal restored (a
    quarter of the time of adding the two triangles taken by ``np.triu``, 40 -> 10 us at
    116 columns; equal bit for bit)."""
    full = np.add(upper, upper.T, order="C")
    full.flat[:: upper.shape[0] + 1] = np.diagonal(upper)
    return full


def solve_on_gram(gram, design, y, a, datafit, penalty, W, b, Z, G, ws, grad, inner_tol,
                  max_epochs):
    """Solve the problem restricted to ``ws`` on its Gram until its gap is at most
    ``inner_tol``; update ``W``, ``b`` and ``Z`` in place and return the epochs run.

    ``G`` and ``grad`` (``X[:, ws]' G``) are the raw gradient and the working set's gradient
    at the current ``Z``, as the outer evaluation left them (see :func:`solve_restricted`).
    """
    m = ws.size
    intercept = gram.col_means is not None
    w = W[ws, 0].copy()
    g = np.array(grad[:, 0], dtype=np.float64)
    if intercept:
        w = np.append(w, b[0])
        g = np.append(g, G.sum())
    value = float(datafit.value(Z, y, a, np))
    epochs = solve_restricted(gram.matrix(ws), w, g, value, penalty, m, inner_tol, max_epochs)
    W[ws, 0] = w[:m]
    if intercept:
        b[0] = w[m]
    design.predict(W, ws, b, Z)
    return epochs


def solve_restricted(Q, w, g, value, penalty, m, tol, max_epochs):
    """Solve ``min f(w) + penalty(w[:m])`` on the Gram ``Q`` (coordinates after the first
    ``m``: an unpenalised intercept) until its duality gap is at most ``tol``; in place on
    ``w`` and on ``g``, the datafit's gradient at ``w``, whose value is ``value``.

    The compiled loop runs epochs (gap checked after each) in runs of about ``_RUN_WORK``
    multiply-adds; an Anderson step on the last ``_ANDERSON + 1`` iterates follows each
    run, and a Newton step where the epochs stall. A gap stalled at round-off
    (:class:`._stall.StallWatch`) ends the solve. Returns the epochs run.
    """
    run_length = min(max(_RUN_WORK // max(w.size, 1) ** 2, _ANDERSON + 1), _LONGEST_RUN)
    iterates = np.empty((run_length, w.size))
    epochs = 0
    signs = None
    previous_gap = np.inf
    watch = StallWatch()
    while epochs < max_epochs:
        chunk = iterates[: min(run_length, max_epochs - epochs)]
        run, value, gap = gram_epochs(Q, w, g, m, penalty.l1, penalty.l2, penalty.positive,
                                      value, tol, chunk)
        epochs += run
        if gap <= tol or watch.stalled(gap, lambda: value + float(penalty.value(w[:m], np))):
            break
        if run >= _ANDERSON + 1:
            value = gram_extrapolate(Q, w, g, m, penalty.l1, penalty.l2, penalty.positive,
                                     value, iterates[run - _ANDERSON - 1:run])
        # Newton only where the epochs stall: it solves exactly, far past the tolerance
        if gap > _STALL * previous_gap and np.array_equal(np.sign(w[:m]), signs):
            value = _newton(Q, w, g, value, penalty, m)
        signs, previous_gap = np.sign(w[:m]), gap
    return epochs


def _newton(Q, w, g, value, penalty, m):
    """Newton step on the support with its signs held, cut where a coefficient first
    reaches zero (that coefficient is set to zero); returns the datafit value.

    Once the signs are settled, coordinate epochs converge at a rate set by the support's
    conditioning (a ridge with a small penalty may need thousands); one Cholesky solve
    (``O(|S|^3 / 3)``) ends it. Along the step the objective is the quadratic the step
    minimises, so every cut step still decreases it: a step that changes the support is
    progress too (rejecting it wasted the factorisation: 1000 x 1000 at alpha_max/1000 ran
    15 of them per fit). The step is kept only when the objective decreases.
    """
    free = np.flatnonzero(np.concatenate([w[:m] != 0, np.ones(w.size - m, dtype=bool)]))
    penalised = free < m
    sigma = np.where(penalised, np.sign(w[free]), 0.0)
    ridge = np.where(penalised, penalty.l2, 0.0)
    H = Q[np.ix_(free, free)]
    try:
        factor = scipy.linalg.cho_factor(H + np.diag(ridge), check_finite=False)
    except np.linalg.LinAlgError:
        return value
    d = -scipy.linalg.cho_solve(factor, g[free] + penalty.l1 * sigma + ridge * w[free],
                                check_finite=False)
    if not np.all(np.isfinite(d)):
        return value
    current = w[free]
    crossing = np.flatnonzero(sigma * (current + d) < 0)
    t = 1.0
    if crossing.size:
        ratios = -current[crossing] / d[crossing]
        t = float(ratios.min())
        blocked = crossing[ratios == t]
    step = t * d
    new = current + step
    if crossing.size:
        new[blocked] = 0.0
        step = new - current
    new_value = value + float(step @ g[free]) + 0.5 * float(step @ H @ step)
    before = value + float(penalty.value(w[:m], np))
    trial = w.copy()
    trial[free] = new
    if new_value + float(penalty.value(trial[:m], np)) < before:
        g += Q[:, free] @ step
        w[:] = trial
        return new_value
    return value
