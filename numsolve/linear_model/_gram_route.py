"""The Gram route of the working-set engine for least squares (tall data).

A coordinate epoch over the working set ``S`` reads every stored entry of ``X[:, S]``:
``O(n |S|)`` for dense ``X``. On the Gram matrix ``Q = X_S' A X_S`` (``A`` the sample
weights; an intercept adds a column of ones) the same epoch costs ``O(|S|^2)``
(:func:`._cd_gram.gram_epochs`), and the objective, the gradient and the duality gap of the
restricted problem follow from ``Q``, the gradient ``g = X_S' A (X_S w + b - y)`` and the
datafit value alone, so no check touches ``X``. An intercept's dual constraint holds to
round-off there: its exact step comes last in every epoch. ``Q`` is kept between outer
iterations and grown by the columns that enter the working set (``X_S' A X_new``, one BLAS or
sparse product). On dense data, once that growth has cost as much as the whole Gram
``X' A X`` would (:data:`GROWTH_COST_WEIGHT`), the whole Gram is formed by one symmetric
rank-k update (BLAS ``syrk``: half the work of a product, no column gathers) and every later
working set's Gram is read from it, as scikit-learn's ``precompute`` does. The predictor
``Z`` is recomputed once, when the working set is solved.

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
import scipy.linalg.blas

from ._anderson import anderson_guess
from ._cd_gram import gram_epochs

__all__ = ["GRAM_RATIO", "WorkingSetGram", "gram_pays", "solve_on_gram"]

# The route is taken when the working set's stored entries are at least this many times the
# Gram's (|S| + intercept)^2: each Gram epoch then reads at most a quarter of what a column
# epoch reads, which also covers building the new Gram columns within a few epochs.
GRAM_RATIO = 4
# Largest Gram kept (|S| + intercept): 3000^2 doubles are 72 MB.
MAX_GRAM_SIZE = 3000
# Dense X: the whole Gram ``X' A X`` (one syrk, n p^2 / 2 multiply-adds) is formed once the
# column-by-column growth of the working sets' Gram has cost as much, times this weight (each
# growth gathers X[:, S], n |S|, and multiplies it by the k new columns, n |S| k): the
# rent-or-buy rule, never more than twice the better choice's work. Growth runs slower per
# multiply-add than syrk (40000 x 200 at alpha_max/1000, under load: 408 ms of growth against
# 101 ms for one syrk of X), but weights 2 and 3 formed the whole Gram on 5000 x 500 at
# alpha_max/100 where its working sets stop at 376 of 500 features (CPU 64 -> 74 ms); weight 1
# keeps that cell level and takes 40000 x 200 at alpha_max/1000 from 223 to 193 ms.
GROWTH_COST_WEIGHT = 1
_ANDERSON = 5
# A round of epochs that leaves the gap above this fraction of the last round's has stalled
_STALL = 0.1


def gram_pays(design, ws, fit_intercept):
    """True when the Gram route is cheaper than column epochs for the working set ``ws``."""
    m = ws.size + int(fit_intercept)
    return m <= MAX_GRAM_SIZE and design.stored(ws) >= GRAM_RATIO * m * m


class WorkingSetGram:
    """``[X_S, 1]' A [X_S, 1]`` for the current working set ``S``, grown from the previous one.

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
        self.features = np.empty(0, dtype=np.int32)
        self.block = np.empty((0, 0))
        self.full = None  # X' A X, once formed (see GROWTH_COST_WEIGHT)
        self.spent = 0.0  # multiply-adds of the column-by-column growth so far

    def matrix(self, ws):
        """The Gram of the sorted features ``ws`` (intercept last when fitted); only the
        columns of features new since the last call are computed, or it is read from the
        whole Gram (formed on the first call where that pays)."""
        m = ws.size
        size = m + (self.col_means is not None)
        known = np.isin(ws, self.features, assume_unique=True)
        n, p = self.design.shape
        if self.full is None and not self.design.sparse and p <= MAX_GRAM_SIZE:
            self.spent += GROWTH_COST_WEIGHT * n * m * (m - known.sum() + 1.0)
            if self.spent >= 0.5 * n * p * p:
                self.full = _whole_gram(self.design.X, self.a)
        Q = np.empty((size, size))
        if self.full is not None:
            Q[:m, :m] = self.full[np.ix_(ws, ws)]
            self._add_intercept(Q, ws)
            return Q
        kept = np.flatnonzero(known)
        cached = np.searchsorted(self.features, ws[kept])
        Q[np.ix_(kept, kept)] = self.block[np.ix_(cached, cached)]
        new = np.flatnonzero(~known)
        if new.size:
            cross = self.design.weighted_cross(ws, ws[new], self.a)
            Q[:m, new] = cross
            Q[new, :m] = cross.T
        self._add_intercept(Q, ws)
        self.features, self.block = ws, Q[:m, :m]
        return Q

    def _add_intercept(self, Q, ws):
        """The intercept's row and column of ``Q`` (last), when one is fitted."""
        if self.col_means is not None:
            m = ws.size
            Q[:m, m] = Q[m, :m] = self.col_means[ws]
            Q[m, m] = self.a.sum()


def _whole_gram(X, a):
    """``X' diag(a) X`` of a dense Fortran ``X`` by one ``syrk`` (in float64; equal
    weights scale the result instead of a weighted copy of ``X``)."""
    if X.dtype == np.float64 and np.all(a == a[0]):
        upper = scipy.linalg.blas.dsyrk(a[0], X, trans=1)
    else:
        scaled = np.asfortranarray(np.sqrt(a)[:, None] * X, dtype=np.float64)
        upper = scipy.linalg.blas.dsyrk(1.0, scaled, trans=1)
    # syrk fills the upper triangle only
    return np.triu(upper) + np.triu(upper, 1).T


def solve_on_gram(gram, design, y, a, datafit, penalty, W, b, Z, G, ws, grad, inner_tol,
                  max_epochs):
    """Solve the problem restricted to ``ws`` on its Gram until its gap is at most
    ``inner_tol``; update ``W``, ``b`` and ``Z`` in place and return the epochs run.

    ``G`` and ``grad`` (``X[:, ws]' G``) are the raw gradient and the working set's gradient
    at the current ``Z``, as the outer evaluation left them. The compiled loop runs
    ``_ANDERSON + 1`` epochs at a time (gap checked after each); an Anderson step follows.
    """
    m = ws.size
    intercept = gram.col_means is not None
    Q = gram.matrix(ws)
    w = W[ws, 0].copy()
    g = np.array(grad[:, 0], dtype=np.float64)
    if intercept:
        w = np.append(w, b[0])
        g = np.append(g, G.sum())
    value = float(datafit.value(Z, y, a, np))
    iterates = np.empty((_ANDERSON + 1, w.size))
    epochs = 0
    signs = None
    previous_gap = np.inf
    while epochs < max_epochs:
        chunk = iterates[: min(_ANDERSON + 1, max_epochs - epochs)]
        run, value, gap = gram_epochs(Q, w, g, m, penalty.l1, penalty.l2, penalty.positive,
                                      value, inner_tol, chunk)
        epochs += run
        if gap <= inner_tol:
            break
        if run == _ANDERSON + 1:
            value = _extrapolate(Q, w, g, value, penalty, m, iterates)
        # Newton only where the epochs stall: it solves exactly, far past the tolerance
        if gap > _STALL * previous_gap and np.array_equal(np.sign(w[:m]), signs):
            value = _newton(Q, w, g, value, penalty, m)
        signs, previous_gap = np.sign(w[:m]), gap
    W[ws, 0] = w[:m]
    if intercept:
        b[0] = w[m]
    design.predict(W, ws, b, Z)
    return epochs


def _newton(Q, w, g, value, penalty, m):
    """Newton step on the support with its signs held (exact on a quadratic: the
    solution when the signs are right); kept when no sign flips and the objective decreases.

    Once the signs are settled, coordinate epochs converge at a rate set by the support's
    conditioning (a ridge with a small penalty may need thousands); one ``O(|S|^3)`` solve
    ends it. Returns the datafit value.
    """
    free = np.flatnonzero(np.concatenate([w[:m] != 0, np.ones(w.size - m, dtype=bool)]))
    penalised = free < m
    sigma = np.where(penalised, np.sign(w[free]), 0.0)
    ridge = np.where(penalised, penalty.l2, 0.0)
    H = Q[np.ix_(free, free)]
    try:
        d = -np.linalg.solve(H + np.diag(ridge), g[free] + penalty.l1 * sigma + ridge * w[free])
    except np.linalg.LinAlgError:
        return value
    new = w[free] + d
    if np.any(sigma * new < 0) or not np.all(np.isfinite(new)):
        return value
    new_value = value + float(d @ g[free]) + 0.5 * float(d @ H @ d)
    before = value + float(penalty.value(w[:m], np))
    trial = w.copy()
    trial[free] = new
    if new_value + float(penalty.value(trial[:m], np)) < before:
        g += Q[:, free] @ d
        w[:] = trial
        return new_value
    return value


def _extrapolate(Q, w, g, value, penalty, m, buffer):
    """Anderson step on the Gram: kept when it lowers the objective; returns the datafit value."""
    guess = anderson_guess(buffer)
    if guess is None:
        return value
    if penalty.positive:
        guess[:m] = np.maximum(guess[:m], 0.0)
    d = guess - w
    Qd = Q @ d
    new_value = value + float(d @ g) + 0.5 * float(d @ Qd)
    if new_value + float(penalty.value(guess[:m], np)) < value + float(
            penalty.value(w[:m], np)):
        w[:] = guess
        g += Qd
        return new_value
    return value
