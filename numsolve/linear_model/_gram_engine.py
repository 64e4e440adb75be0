"""The Gram engine: the working-set loop of dense tall least squares run on ``X' A X``.

On tall dense data (``n >= GRAM_RATIO p``) every working set is solved on its Gram
(:mod:`._gram_route`), so what is left of an outer iteration of the working-set engine is
its pass over ``X``: the prediction ``Z = X w`` and the full gradient ``X' A (Z - y)``, each
``O(n p)`` and memory-bound. Here the gradient of every feature ``j`` whose Gram column is
known (it entered a working set) is read from the Gram, ``g_j = (X_F' A X_F w)_j - (X' A y)_j``
in ``O(|F| |support|)``, and the objective from ``f = (y'Ay + w'(g - X'Ay)) / 2``; only the
features never seen pay a product with ``X`` (over them alone). Once the working sets have
covered every feature, an outer iteration no longer touches ``X``: the cost of a fit is one
pass for ``X'Ay`` and the column norms, and the Gram of the features that ever entered
(one GEMM per growth). The duality gap is that of the full problem, from ``g``, ``w`` and
``f`` (:func:`._cd_gram.gap_penalty_kkt` over all features), the same figure the column
route computes from ``X`` (equal to round-off, ``~1e-16 y'Ay``).

Working sets are chosen as in :func:`._working_set.solve_working_set` (the support plus the
best GS-q scores, twice the support, at least ``p0``), except that where fewer features
violate their optimality condition the set is filled with those nearest to violating it
(largest ``|g_j| - l1``), not with arbitrary zero scores: every feature that enters costs
its Gram column against all the others (correlated 5000 x 500 at alpha_max/100: 387 -> 252
Gram columns for a support of 190, 7 -> 6 outer iterations, 25 -> 17 ms). Each set is
solved at once to half the requested gap (its epochs cost ``O(|S|^2)``, far less than an
outer iteration). Screening is not run: without passes over ``X`` it would save nothing.
Small problems (``n m^2 <= 2 WHOLE_GRAM_WORK``: the usual real data sets of a few dozen
features) get their whole Gram in one SYRK of ``X`` as given and are solved as one working
set, to the requested gap itself (its gap is the problem's; half of it ran past the
threshold on breast cancer: 1.22 -> 1.00 of scikit-learn's time); a fitted intercept is
eliminated on that Gram (:class:`_WholeGram`) rather than by a centred copy of ``X``
(``Lasso()`` on digits, best of 15 interleaved under load: float64 1217 -> 1063 us,
float32 1125 -> 989 us; scikit-learn 1128 and 752 us). That SYRK and the products with
``X`` read a float64 ``X`` in C order in place too (through its transpose), and no
:class:`._design.Design` (a Fortran copy of C-ordered data) is made for it: :func:`bcd`
at ``L1(1)`` on digits in C order, median of 27 in alternating processes under load,
1050 -> 825 us; Fortran input is read as before, bit for bit.
"""

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp

from .._blas_threads import one_blas_thread
from ._cd import DatafitKind
from ._cd_gram import gap_penalty_kkt
from ._datafits import Quadratic
from ._design import Design
from ._gram_route import (GRAM_RATIO, MAX_GRAM_SIZE, WorkingSetGram, both_triangles,
                          solve_restricted)
from ._objective import stopping_scale
from ._working_set import WorkingSetResult, fill_keys, gsq_scores

__all__ = ["dense_gram_pays", "gram_engine_centres", "gram_engine_pays", "solve_gram_engine"]

# A problem whose whole Gram costs at most this many multiply-adds (``n m^2 / 2``, about a
# millisecond of BLAS) gets it in one SYRK and is solved as one working set: on such
# problems (the small real data sets: diabetes, digits, breast cancer) an outer iteration
# costs more in Python than all the epochs over every feature, and a lazily grown Gram
# pays a copy of every column and a product per growth.
WHOLE_GRAM_WORK = 2**23


def gram_engine_pays(X, datafit, n_tasks, fit_intercept, gram):
    """True for dense least squares (one task) with ``n >= GRAM_RATIO (p + intercept)`` and
    a Gram of at most :data:`MAX_GRAM_SIZE` rows, unless ``gram`` is False."""
    return (gram is not False and not sp.issparse(X) and n_tasks == 1
            and datafit.kind == DatafitKind.LEAST_SQUARES
            and dense_gram_pays(X.shape, fit_intercept))


def gram_engine_centres(X, datafit, n_tasks, fit_intercept, gram):
    """True when the engine takes ``X`` uncentred and eliminates the intercept on the Gram
    itself: a fitted intercept on a problem small enough for its whole Gram at once."""
    return (fit_intercept and gram_engine_pays(X, datafit, n_tasks, fit_intercept, gram)
            and _whole(X.shape, fit_intercept))


def _whole(shape, fit_intercept):
    """True when the whole Gram (features, plus the intercept when fitted) costs at most
    :data:`WHOLE_GRAM_WORK` multiply-adds."""
    n, p = shape
    return n * (p + int(fit_intercept)) ** 2 <= 2 * WHOLE_GRAM_WORK


def dense_gram_pays(shape, fit_intercept):
    """True when a dense least-squares problem of this shape runs on the engine:
    ``n >= GRAM_RATIO m`` and ``m <= MAX_GRAM_SIZE`` (``m``: features plus intercept)."""
    n, p = shape
    m = p + int(fit_intercept)
    return m <= MAX_GRAM_SIZE and n >= GRAM_RATIO * m


# An intercept eliminated on the Gram (``X' A X - m m' / s``) keeps at least this share of
# every column's weighted square: a column whose mean dwarfs its spread (a sixth digit lost)
# is centred in ``X`` instead, as is a constant one.
_CENTRING_KEEPS = 1e-6


class _WholeGram:
    """Every feature's Gram at once (one SYRK of ``X`` read in place), and ``X' A y``,
    ``y' A y``, with a fitted intercept eliminated exactly: with ``m = X' a``, ``s = sum a``
    and the means ``mu = m / s``, the centred problem has the Gram ``X' A X - s mu mu'``,
    ``X' A y - s mu ybar`` and ``y' A y - s ybar^2``, and the intercept is
    ``ybar - mu' w``. Centring on the Gram spares the centred copy of ``X`` unless it
    would lose digits (:data:`_CENTRING_KEEPS`)."""

    whole = True
    intercept = False  # no intercept coordinate: it is eliminated

    def __init__(self, X, y, a, fit_intercept):
        self.p = X.shape[1]
        X = _blas_layout(X)
        weighted = a * y
        self.c = _cross(1.0, X, weighted)
        self.yy = float(weighted @ y)
        self.matrix = _weighted_gram(X, a)
        self.offset = None
        if fit_intercept:
            total = float(a.sum())
            means = _cross(1.0 / total, X, a)
            ybar = float(weighted.sum()) / total
            centred = self.matrix - total * np.outer(means, means)
            if not np.all(np.diagonal(centred) >= _CENTRING_KEEPS * np.diagonal(self.matrix)):
                centred = _weighted_gram(X - means, a)
            self.matrix = centred
            self.c -= total * ybar * means
            self.yy -= total * ybar * ybar
            self.offset = (ybar, means)
        self.lips = np.diagonal(self.matrix).copy()

    def start(self, w, b):
        """The engine's coordinates from a warm start (the intercept follows from ``w``)."""
        return w.copy()

    def refit_intercept(self, w):
        """Nothing to do: the intercept is eliminated."""

    def gradient(self, w):
        """``(g, f)``: the gradient and value of the (centred) datafit at ``w``."""
        g = self.matrix @ w - self.c
        return g, 0.5 * (self.yy + float(w @ (g - self.c)))

    def intercept_of(self, w):
        """The optimal intercept for the coefficients ``w``."""
        ybar, means = self.offset
        return ybar - float(means @ w)


def _blas_layout(X):
    """``X`` as float64 in C or Fortran order, whichever it is nearest to (no copy when it
    already is one): BLAS reads either in place, through the transpose of a C array."""
    if X.dtype == np.float64 and (X.flags.c_contiguous or X.flags.f_contiguous):
        return X
    return np.array(X, dtype=np.float64, order="K")


def _cross(alpha, X, v):
    """``alpha X' v`` for float64 ``X`` in C or Fortran order, by one GEMV in place."""
    if X.flags.f_contiguous:
        return scipy.linalg.blas.dgemv(alpha, X, v, trans=1)
    return scipy.linalg.blas.dgemv(alpha, X.T, v, trans=0)


def _upper_syrk(alpha, X):
    """The upper triangle of ``alpha X' X`` (float64 ``X`` in C or Fortran order)."""
    if X.flags.f_contiguous:
        return scipy.linalg.blas.dsyrk(alpha, X, trans=1)
    return scipy.linalg.blas.dsyrk(alpha, X.T, trans=0)


def _weighted_gram(X, a):
    """``X' diag(a) X`` (float64 ``X`` in C or Fortran order), both triangles, C-ordered,
    by one SYRK."""
    if np.all(a == a[0]):
        upper = _upper_syrk(float(a[0]), X)
    else:
        upper = _upper_syrk(1.0, np.sqrt(a)[:, None] * X)
    return both_triangles(upper)


class _GramProblem:
    """The least-squares problem as the engine sees it on a Gram grown by working sets: the
    Gram of the features seen so far, ``X' A y`` (with ``a' y`` appended for an intercept, a
    free last coordinate), ``y' A y`` and the column norms."""

    whole = False

    def __init__(self, design, y, a, fit_intercept):
        self.design, self.y, self.a = design, y, a
        self.p = design.shape[1]
        self.intercept = fit_intercept
        weighted = a * y
        cross, self.lips, col_means = _column_moments(design, a, weighted, fit_intercept)
        self.gram = WorkingSetGram(design, a, col_means)
        self.c = np.append(cross, weighted.sum()) if fit_intercept else cross
        self.yy = float(weighted @ y)

    def start(self, w, b):
        """The engine's coordinates from a warm start (the intercept last when fitted); the
        support's Gram rows are computed."""
        start = np.flatnonzero(w)
        if start.size:
            self.gram.matrix(start)
        return np.append(w, b) if self.intercept else w.copy()

    def intercept_of(self, w):
        """The intercept coordinate."""
        return float(w[self.p])

    def refit_intercept(self, w):
        """The intercept's exact value given the coefficients (in place on ``w[-1]``)."""
        if self.intercept:
            support = np.flatnonzero(w[:-1])
            w[-1] = (self.c[-1] - self.gram.col_means[support] @ w[support]) / self.a.sum()

    def gradient(self, w):
        """``(g, f)``: the datafit's gradient over every coordinate and its value at ``w``
        (coefficients, then the intercept when fitted). The support must have Gram rows."""
        p = self.p
        gram = self.gram
        known = gram.features
        g = np.empty_like(w)
        g[known] = gram.known_block() @ w[known] - self.c[known]
        unknown = np.flatnonzero(gram.position < 0)
        support = np.flatnonzero(w[:p])
        if self.intercept:
            b = w[p]
            g[known] += b * gram.col_means[known]
            g[p] = gram.col_means[support] @ w[support] + b * self.a.sum() - self.c[p]
        if unknown.size and not support.size:  # X w = 0: the gradient is -X'Ay (+ b X'a)
            g[unknown] = -self.c[unknown]
            if self.intercept:
                g[unknown] += w[p] * gram.col_means[unknown]
        elif unknown.size:
            n = self.design.shape[0]
            Z = np.empty((n, 1))
            self.design.predict(w[:p, None], support.astype(np.int32),
                                w[p:] if self.intercept else np.zeros(1), Z)
            g[unknown] = self._cross(self.a * (Z[:, 0] - self.y), unknown)
        used = np.flatnonzero(w)
        f = 0.5 * (self.yy + float(w[used] @ (g[used] - self.c[used])))
        return g, f

    def _cross(self, v, features):
        """``X[:, features]' v``: one BLAS product over all of a float64 ``X`` when it covers
        at least half the features (a memory-bound pass that BLAS streams about twice as
        fast as the compiled column kernel), else the kernel over those columns."""
        X = self.design.X
        if X.dtype == np.float64 and 2 * features.size >= X.shape[1]:
            return scipy.linalg.blas.dgemv(1.0, X, v, trans=1)[features]
        return self.design.gradient(v[:, None], features.astype(np.int32))[:, 0]


def _column_moments(design, a, v, intercept):
    """``(X' v, sum_i a_i x_ij^2, X' a or None)``: the engine's one pass over ``X``.

    For float64 ``X``, BLAS dots column by column: each column is read from memory once and
    from cache for the other dots (a pass at BLAS speed; the compiled kernels stream at half
    to a third of it, and separate products read ``X`` once each). Float32 ``X`` goes to the
    compiled kernels, which sum in float64.
    """
    X = design.X
    p = X.shape[1]
    if X.dtype != np.float64:
        cross = design.gradient(v[:, None], np.arange(p, dtype=np.int32))[:, 0]
        means = np.asarray(X.T @ a).reshape(-1) if intercept else None
        return cross, design.col_sq_norms(a), means
    dot = scipy.linalg.blas.ddot
    uniform = bool(np.all(a == a[0]))
    cross, norms, sums = np.empty(p), np.empty(p), np.empty(p)
    with one_blas_thread():
        for j in range(p):
            column = X[:, j]
            cross[j] = dot(column, v)
            norms[j] = a[0] * dot(column, column) if uniform else dot(column * column, a)
            if intercept:
                sums[j] = dot(column, a)
    return cross, norms, sums if intercept else None


def solve_gram_engine(X, y, a, penalty, W, b, *, fit_intercept, tol, max_iter,
                      max_epochs, p0, recorder, bar):
    """Run the engine in place on ``W`` (p, 1) and ``b`` (1,); return a
    :class:`._working_set.WorkingSetResult` (every working set is a Gram solve).

    ``X`` is dense, in any order: the whole Gram reads it in place where it is float64 in
    C or Fortran order (one copy otherwise); a Gram grown by working sets takes its columns
    from a :class:`._design.Design` of it (a Fortran copy where it is not one).

    The stopping test is the working-set engine's: ``gap <= tol * P(0)``, or the largest
    KKT violation ``<= tol`` when the penalty has no dual.
    """
    p = X.shape[1]
    y = np.ascontiguousarray(y, dtype=np.float64)
    a = np.ascontiguousarray(a, dtype=np.float64)
    problem = (_WholeGram(X, y, a, fit_intercept) if _whole(X.shape, fit_intercept)
               else _GramProblem(Design(X), y, a, fit_intercept))
    w = problem.start(W[:, 0], b[0])
    threshold = tol * stopping_scale(Quadratic(), y, a, 1, fit_intercept, np) \
        if penalty.has_dual else tol
    epochs = 0
    converged = False
    primal = crit = np.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        primal, crit, kkt, g, f = _evaluate(problem, penalty, w)
        recorder.record(n_iter - 1, objective=primal, gap=crit, kkt=kkt, epochs=epochs,
                        n_screened=0)
        bar.set_postfix(gap=f"{crit:.2e}", refresh=False)
        if crit <= threshold:
            converged = True
            n_iter -= 1
            break
        if problem.whole:  # every coordinate, in place: its gap is the problem's
            epochs += solve_restricted(problem.matrix, w, g, f, penalty, p, threshold,
                                       max_epochs)
            bar.update(1)
            continue
        ws = _working_set(penalty, w[:p], g[:p], problem.lips, p0)
        chosen = np.append(ws, p) if problem.intercept else ws
        w_ws, g_ws = w[chosen], g[chosen]
        epochs += solve_restricted(problem.gram.matrix(ws), w_ws, g_ws, f, penalty, ws.size,
                                   0.5 * threshold, max_epochs)
        w[chosen] = w_ws
        bar.update(1)
    else:
        primal, crit, kkt, _, _ = _evaluate(problem, penalty, w)
        recorder.record(n_iter, force=True, objective=primal, gap=crit, kkt=kkt, epochs=epochs,
                        n_screened=0)
        converged = crit <= threshold
    W[:, 0] = w[:p]
    if fit_intercept:
        b[0] = problem.intercept_of(w)
    return WorkingSetResult(n_iter, converged, epochs, crit, primal, threshold, n_iter)


def _evaluate(problem, penalty, w):
    """Primal value, criterion (gap, or KKT violation without a dual), KKT violation, and
    the gradient and datafit value, after the intercept's exact refit."""
    p = problem.p
    problem.refit_intercept(w)
    g, f = problem.gradient(w)
    gap, penalty_value, kkt = gap_penalty_kkt(w, g, p, penalty.l1, penalty.l2,
                                              penalty.positive, f)
    primal = f + penalty_value
    if problem.intercept:
        kkt = max(kkt, abs(float(g[p])))
    return primal, (gap if penalty.has_dual else kkt), kkt, g, f


def _working_set(penalty, w, g, lips, p0):
    """The support, the features that violate their optimality condition (best GS-q scores
    first), then those nearest to violating it (largest ``|g_j| - l1``): twice the support,
    at least ``p0`` (sorted)."""
    keys = fill_keys(penalty, gsq_scores(penalty, w[:, None], g[:, None], lips), g)
    in_model = w != 0
    keys[in_model] = np.inf
    size = min(w.size, max(p0, 2 * int(in_model.sum())))
    return np.sort(np.argpartition(-keys, size - 1)[:size])
