"""The whole-block second-order route of :func:`bcd` for smooth penalties (L2 or none).

Without an L1 part every coefficient is in the support, so the working-set engine built for
sparse solutions would grow its working set to the whole problem and run coordinate epochs
on it. Here the whole block ``(W, b)`` is solved at once:

* least squares on dense ``X`` whose smaller side is at most :data:`CHOLESKY_LIMIT`: one
  Cholesky solve of ``X'AX + l2 I`` (``p <= n``) or of the dual system
  ``A^(1/2) X X' A^(1/2) + l2 I`` (``p > n``; ``A = diag(a)``), a least-squares solve
  without penalty; several targets share that factorisation
  (:func:`solve_least_squares_targets`). Larger dense problems keep the working-set engine.
* L2-penalised least squares on sparse ``X``: the same Cholesky solve of the implicitly
  centred Gram matrix ``X'AX - m m' + l2 I`` (``m = X'a``) up to :data:`SPARSE_GRAM_LIMIT`
  features, above it conjugate gradients on those normal equations with products by ``X``
  and ``X'`` and a Jacobi preconditioner, stopped once the gap (``||grad||^2 / (2 l2)`` for
  a quadratic) meets the threshold; on wide ``X`` (``p > n``, no warm start) on their dual
  form, an ``n x n`` system (see :func:`_dual_conjugate_gradients`). The iteration is a
  plain loop whose stopping test may be any function of the residual (the dual's takes a
  product); scipy's ``cg`` ran the same iterations 1-9 % slower. Sparse least squares
  without penalty keeps the working-set engine.
* binary logistic loss with an L2 penalty on small dense ``X`` (the explicit Hessian of
  :data:`_EXPLICIT_HESSIAN`): damped Newton steps on ``(W, b)``, one Cholesky solve of that
  Hessian each, backtracked by Armijo's test (:func:`_damped_newton`). Affine invariant, it
  takes the same iterations on raw and standardised features, and runs without scipy's
  trust-region bookkeeping (Python around every Hessian product): breast_cancer's default
  fit, best of 21 interleaved, 2.23 -> 1.83 ms standardised (7 iterations both), 8.55 ->
  1.94 ms raw (14 -> 8; liblinear 2.16 / 3.83 ms). Its backtracking (:func:`_armijo_step`:
  halving, sufficient decrease ``1e-4``, the gradient kept for the next step) is not the block
  updates' ``_updates._armijo``, which interpolates on a composite objective with an L1 part
  through the change of ``Z``: one shared rule would change the iterates of both.
* other logistic and multinomial problems: :func:`scipy.optimize.minimize` on the flat
  variable ``(W, b)`` with a fused loss and gradient. Up to :data:`NEWTON_LIMIT` variables
  a trust-region Newton-CG (``"trust-ncg"``) whose Hessian-vector products cost two
  products with ``X``; above it L-BFGS (``"L-BFGS-B"``), one product pair per iteration.
  Each runs in variables scaled to their columns' spread (trust-ncg) or its square root
  (L-BFGS); see :func:`_minimise`.

Both stop on the engines' criterion (:func:`._objective.optimality`): the duality gap at
most ``tol * P(0)``, or the KKT violation at most ``tol`` without a penalty. With an L2
penalty and an optimal intercept the gap equals ``||grad_W||^2 / (2 l2)``, which each
iteration reads from its gradient for free. Once that estimate meets the threshold the
intercept is refined by Newton steps and the estimate taken again there; only if it still
meets it is the gap computed in full, at the point that is then returned (a failing check
costs about two loss evaluations: on digits, 1797 x 64 x 10 classes, the gap rose by up to
50 % once the intercept was refined, and checking only below half the threshold cost five
more iterations than checking from the threshold itself). The history records that estimate per iteration (plus ``||sum_i G_i||^2 / (2 l2)`` with an
intercept, or the KKT violation without a penalty), and the full criterion last.
"""

from typing import NamedTuple

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
from scipy.optimize import minimize

from ._cd import DatafitKind
from ._cd_gram import sparse_weighted_gram
from ._objective import newton_on_intercept, optimality, stopping_scale
from .._blas_threads import blas_threads_for
from ._ws_gap import least_squares_optimality, logistic_gap

__all__ = ["CHOLESKY_LIMIT", "NEWTON_LIMIT", "SPARSE_GRAM_LIMIT", "SmoothResult",
           "smooth_route_applies", "solve_least_squares_targets", "solve_smooth"]

# Least squares: a Gram (or dual Gram) matrix of at most 4000^2 entries (128 MB) and its
# O(min(n, p)^3) factorisation; beyond it the working-set engine's epochs are cheaper.
CHOLESKY_LIMIT = 4000
# Sparse least squares: Gram and Cholesky up to this many features, conjugate gradients
# above. Measured (loaded machine, default Ridge, scikit-learn's auto solver for reference):
# digits as CSR (64 features) 6 ms by the Gram (1.5 ms since the Gram is compiled) against
# 15 ms by CG (124 unpreconditioned iterations) and scikit-learn's 18 ms; scipy.sparse.random 20000 x 2000 at density 1e-2,
# 255 ms by the Gram's p^3 / 3 factorisation against 18 ms by CG (6 iterations).
SPARSE_GRAM_LIMIT = 500
# Logistic losses: Newton-CG up to this many variables ((p + 1) K), L-BFGS above. Measured
# on scikit-learn's bundled data (loaded machine, iterations to the default gap): on
# ill-conditioned raw features Newton-CG needs 21-22 iterations where L-BFGS needs 340-400
# (breast_cancer 569 x 30, wine 178 x 13 x 3 classes); on digits (1797 x 64 x 10 classes,
# 650 variables) L-BFGS needs 35 loss evaluations where Newton-CG needs 9 plus 87
# Hessian-vector products, each as costly as one evaluation. A full Newton method with the
# explicit Hessian (scipy's "trust-exact") was slower on all of them: 4.4 / 9.5 ms against
# trust-ncg's 3.4 / 3.7 ms on standardised breast_cancer / wine.
NEWTON_LIMIT = 256
# Newton-CG on small dense problems: Hessian-vector products by the Hessian matrix, built
# once per iteration (n ((p + 1) K)^2 operations), when that is at most this many operations.
# On scikit-learn's standardised breast_cancer, wine and iris (0.6, 0.3 and 0.03 million)
# each product by X costs about 40 us of Python and array overhead, a product by the matrix
# 5 us, and an iteration takes four or five.
_EXPLICIT_HESSIAN = 2_000_000
# Intercept refinement before a full gap evaluation: at most this many Newton steps on b
# alone, ending once the step's predicted decrease is below _SETTLED times the threshold
_INTERCEPT_STEPS = 4
_SETTLED = 1e-3
# Damped Newton (_damped_newton): Armijo's sufficient-decrease fraction and the halvings of
# a step tried before it counts as stalled
_ARMIJO = 1e-4
_MAX_HALVINGS = 30
# Logistic losses: the optimiser runs on one BLAS thread while a product by X costs at most
# this many multiply-adds (n (p + 1) K). Each evaluation makes a few such products and
# L-BFGS's own BLAS-1 calls; on 2 cores shared with other work a threaded call waited for a
# descheduled thread: default LogisticRegression on digits (1797 x 64 x 10) took 4.1 s of
# CPU under default threads against 73 ms on one (best of 5 interleaved), and a product
# (10, 1797) @ (1797, 64) 0.58 against 0.14 ms of CPU (median of 15).
_SINGLE_THREAD_WORK = 10_000_000


class SmoothResult(NamedTuple):
    """What :func:`solve_smooth` returns (``W`` and ``b`` are updated in place)."""

    n_iter: int
    converged: bool
    criterion: float
    primal: float
    threshold: float
    method: str
    """``"cholesky"``, ``"dual-cholesky"``, ``"lstsq"``, ``"sparse-cholesky"``, ``"cg"``,
    ``"dual-cg"``, ``"trust-ncg"`` or ``"lbfgs"``."""


def smooth_route_applies(X, datafit, penalty):
    """Whether :func:`solve_smooth` takes this problem (see the module's text)."""
    if not penalty.smooth:
        return False
    if datafit.kind == DatafitKind.LEAST_SQUARES:
        if sp.issparse(X):
            return penalty.l2 > 0
        return min(X.shape) <= CHOLESKY_LIMIT
    return datafit.kind in (DatafitKind.LOGISTIC, DatafitKind.MULTINOMIAL)


def solve_smooth(X, y, a, datafit, penalty, W, b, *, fit_intercept, tol, max_iter, recorder,
                 bar):
    """Solve in place on ``W`` (p, K) and ``b`` (K,); return a :class:`SmoothResult`.

    ``X`` is dense with columns centred under the weights ``a`` when an intercept is fitted
    (as :func:`bcd` passes it), or sparse. ``max_iter`` bounds the optimiser's iterations.
    """
    problem = _Problem(X, y, a, datafit, penalty, W.shape[1], fit_intercept, tol)
    evaluated = None
    if datafit.kind == DatafitKind.LEAST_SQUARES and sp.issparse(X):
        method, n_iter = _solve_sparse_least_squares(problem, W, b, max_iter)
        bar.update(n_iter)
    elif datafit.kind == DatafitKind.LEAST_SQUARES:
        method = _solve_least_squares(problem.X, problem.y[:, None], a, penalty.l2,
                                      fit_intercept, W, b)
        n_iter = 1
        bar.update(1)
    else:
        with blas_threads_for(problem.n * (problem.p + 1) * problem.K, _SINGLE_THREAD_WORK):
            method, n_iter, evaluated = _minimise(problem, W, b, max_iter, recorder, bar)
    solved = _finish(problem, W, b, n_iter, method, recorder, evaluated)
    bar.set_postfix(gap=f"{solved.criterion:.2e}", refresh=False)
    return solved


def solve_least_squares_targets(X, Y, a, datafit, penalty, *, fit_intercept, tol, recorders):
    """Least squares on dense ``X`` (as :func:`solve_smooth` takes it, smaller side at most
    :data:`CHOLESKY_LIMIT`) for every column of ``Y`` (n, T) by one factorisation.

    Returns ``W`` (p, T), ``b`` (T,) and a :class:`SmoothResult` per column, whose gap is
    recorded in that column's recorder. Ten targets on digits (1797 x 64) took 10 ms as ten
    solves (copies of ``X``, Gram matrices and factorisations), 1 ms as one. With an L2
    penalty each column's gap is one compiled call on rows of the shared products, without
    the per-column problem object the other penalties build (its set-up was half of a
    column's 25 us).
    """
    W, b = np.zeros((X.shape[1], Y.shape[1])), np.zeros(Y.shape[1])
    method = _solve_least_squares(X, Y, a, penalty.l2, fit_intercept, W, b)
    # every target's predictor and gradient by matrix products, then each target's gap
    Zt = W.T @ X.T
    Zt += b[:, None]
    Rt = Zt - Y.T
    Gt = Rt * a
    grad = (Gt @ X).T
    if penalty.has_dual:
        Yt, Wt, grad_t = (np.ascontiguousarray(M.T) for M in (Y, W, grad))
        return W, b, [_result(1, method, recorder,
                              *_least_squares_criterion(Zt[k], Yt[k], a, Gt[k], Wt[k],
                                                        grad_t[k], penalty.l2, fit_intercept),
                              tol * stopping_scale(datafit, Yt[k], a, 1, fit_intercept, np))
                      for k, recorder in enumerate(recorders)]
    values = 0.5 * ((Rt * Rt) @ a)
    results = []
    for k, recorder in enumerate(recorders):
        problem = _Problem(X, Y[:, k], a, datafit, penalty, 1, fit_intercept, tol)
        W_k = W[:, k:k + 1]
        results.append(_finish(problem, W_k, b[k:k + 1], 1, method, recorder,
                               problem.criterion_at(W_k, Zt[k:k + 1], Gt[k:k + 1],
                                                    grad[:, k:k + 1], values[k])))
    return W, b, results


def _finish(problem, W, b, n_iter, method, recorder, evaluated=None):
    """The criterion at ``(W, b)`` (unless ``evaluated`` already), recorded; the result."""
    primal, crit = evaluated or problem.criterion(W, b)
    return _result(n_iter, method, recorder, primal, crit, problem.last_kkt,
                   problem.threshold)


def _result(n_iter, method, recorder, primal, crit, kkt, threshold):
    """The final figures recorded; the result."""
    recorder.record(n_iter, force=True, objective=primal, gap=crit, kkt=kkt)
    return SmoothResult(n_iter, crit <= threshold, crit, primal, threshold, method)


def _least_squares_criterion(z, y, a, g, w, grad, l2, fit_intercept):
    """``(primal, gap, kkt)`` of one least-squares target with the L2 penalty ``l2`` on
    dense centred ``X``, by :func:`._ws_gap.least_squares_optimality`: the predictor
    ``z``, raw gradient ``g``, coefficients ``w`` and ``grad = X'g``, all contiguous. With
    an intercept the dual point is centred (the centred columns of ``X`` are unchanged by
    it) and the intercept's own violation ``|sum g|`` joins the KKT figure."""
    total = float(g.sum()) if fit_intercept else 0.0
    if fit_intercept:
        g = g - a * total
    primal, gap, kkt = least_squares_optimality(z, y, a, g, w, grad, 0.0, l2, False)
    return primal, gap, max(kkt, abs(total))


class _Problem:
    """``f(XW + b) + (l2/2)||W||^2`` on the flat variable ``x = (W.ravel(), b)``.

    ``b`` is part of ``x`` only with an intercept; ``threshold`` is the stopping criterion's
    (``tol * P(0)`` with a penalty, ``tol`` without). Dense ``X`` is read as float64 once. The
    predictor is kept as ``Z'`` of shape (K, n): the softmax's reductions over classes then
    run along whole rows of samples, and ``(X' G)' = G' X`` is a product of two C-ordered
    arrays.
    """

    def __init__(self, X, y, a, datafit, penalty, K, fit_intercept, tol=0.0):
        self.X = X.astype(np.float64, copy=False) if X.dtype != np.float64 else X
        self.y = np.ascontiguousarray(y, dtype=np.float64)  # a column of 2-D targets is not
        self.a = np.ascontiguousarray(a, dtype=np.float64)
        self.datafit, self.penalty = datafit, penalty
        self.l2 = penalty.l2
        self.n, self.p = X.shape
        self.K = K
        self.fit_intercept = fit_intercept
        self.col_means = None
        if fit_intercept:
            self.col_means = (np.zeros(self.p) if not sp.issparse(X)
                              else np.asarray(X.T @ a).reshape(-1))
        self.multinomial = datafit.kind == DatafitKind.MULTINOMIAL
        # flat position of each sample's own class in Z' (K, n)
        self._label_at = (self.y.astype(np.intp) * self.n + np.arange(self.n)) \
            if self.multinomial else None
        self.last_kkt = np.nan
        self.evaluated_at = None
        self.threshold = tol * stopping_scale(datafit, self.y, self.a, K, fit_intercept, np) \
            if penalty.has_dual else tol
        # small dense problems: Hessian products by the Hessian matrix (see _EXPLICIT_HESSIAN)
        self._columns = None
        n_columns = self.p + fit_intercept
        if (datafit.kind != DatafitKind.LEAST_SQUARES and not sp.issparse(X)
                and self.n * (n_columns * K) ** 2 <= _EXPLICIT_HESSIAN):
            self._columns = (np.hstack([self.X, np.ones((self.n, 1))]) if fit_intercept
                             else self.X)
        self._hessian = None

    def variable_scale(self):
        """Scale of each variable in ``x``: the weighted root mean square of its column (the
        spread of dense columns, centred with an intercept; sparse columns are not centred,
        whose spread would come from a cancelling difference), one for the intercept and
        for zero columns."""
        if sp.issparse(self.X):
            square = np.asarray(self.X.multiply(self.X).T @ self.a).reshape(-1)
        else:
            square = self.a @ (self.X * self.X)
        spread = np.sqrt(square)
        spread[spread == 0] = 1.0
        scale = np.repeat(spread, self.K)
        return np.concatenate([scale, np.ones(self.K)]) if self.fit_intercept else scale

    def intercept_at_zero(self):
        """The optimal intercept when ``W = 0``: the log-odds of the weighted class
        frequencies (zeros when a class has no weight, whose optimum is at infinity)."""
        frequencies = self.datafit.class_masses(self.y, self.a, self.K, np)
        if not np.all(frequencies > 0):
            return np.zeros(self.K)
        logs = np.log(frequencies)
        return logs - logs.mean() if self.multinomial else logs[1:] - logs[0]

    def split(self, x):
        pK = self.p * self.K
        W = x[:pK].reshape(self.p, self.K)
        b = x[pK:] if self.fit_intercept else np.zeros(self.K)
        return W, b

    def join(self, W, b):
        return np.concatenate([W.ravel(), b]) if self.fit_intercept else W.ravel().copy()

    def predict(self, W, b):
        """``Z' = (XW + b)'`` of shape (K, n), C-ordered."""
        if sp.issparse(self.X):
            Zt = np.ascontiguousarray((self.X @ W).T)
        else:
            Zt = W.T @ self.X.T
        Zt += b[:, None]
        return Zt

    def correlate(self, Rt):
        """``X' R`` of shape (p, K) for ``R'`` of shape (K, n)."""
        if sp.issparse(self.X):
            return np.asarray(self.X.T @ Rt.T)
        return (Rt @ self.X).T  # a third faster than X' R' with a C-ordered X

    def loss_and_raw_gradient(self, Zt):
        """``f(Z)`` and ``G' = (dF/dZ)'`` (K, n); keeps the probabilities that curvature
        needs."""
        a = self.a
        if self.datafit.kind == DatafitKind.LEAST_SQUARES:
            residual = Zt[0] - self.y
            return 0.5 * float(a @ (residual * residual)), (a * residual)[None, :]
        if not self.multinomial:
            margin = -self.y * Zt[0]
            value = float(a @ np.logaddexp(0.0, margin))
            wrong = 0.5 * (1.0 + np.tanh(0.5 * margin))  # probability of the other label
            self._probability = wrong  # the curvature p (1 - p) is the same for either label
            return value, (-a * self.y * wrong)[None, :]
        top = Zt.max(axis=0)
        E = np.exp(Zt - top)
        total = E.sum(axis=0)
        value = float(a @ (top + np.log(total) - Zt.ravel()[self._label_at]))
        E /= total
        self._probability = E
        Gt = E * a
        Gt.ravel()[self._label_at] -= a
        return value, Gt

    def value_and_gradient(self, x):
        """Objective and gradient at ``x`` (the fused evaluation the optimisers call)."""
        W, b = self.split(x)
        value, Gt = self.loss_and_raw_gradient(self.predict(W, b))
        grad_W = self.correlate(Gt)
        grad_W += self.l2 * W
        value += 0.5 * self.l2 * float(np.vdot(W, W))
        self.evaluated_at = x.copy()
        self._hessian = None
        self.last = (W, b, Gt, grad_W)
        if not self.fit_intercept:
            return value, grad_W.ravel()
        gradient = np.empty_like(x)
        gradient[:W.size] = grad_W.ravel()
        gradient[W.size:] = Gt.sum(axis=1)
        return value, gradient

    def ensure_evaluated(self, x):
        """Make :attr:`last` and the probabilities those at ``x``."""
        if self.evaluated_at is None or not (self.evaluated_at == x).all():
            self.value_and_gradient(x)

    def hessian_product(self, x, v):
        """Hessian at ``x`` times ``v``: two products with ``X``, or one with the Hessian
        matrix on small dense problems (:data:`_EXPLICIT_HESSIAN`)."""
        self.ensure_evaluated(x)
        if self._columns is not None:
            if self._hessian is None:
                self._hessian = self._hessian_matrix()
            return self._hessian @ v
        V, c = self.split(v)
        Dt = self.predict(V, c)
        P = self._probability
        if self.multinomial:
            Rt = P * (Dt - (P * Dt).sum(axis=0))
            Rt *= self.a
        else:
            Rt = self.a * P * (1.0 - P) * Dt
        out = self.correlate(Rt)
        out += self.l2 * V
        if not self.fit_intercept:
            return out.ravel()
        product = np.empty_like(v)
        product[:out.size] = out.ravel()
        product[out.size:] = Rt.sum(axis=1)
        return product

    def newton_applies(self):
        """Whether :func:`_damped_newton` solves this problem: the explicit Hessian is
        built (small dense logistic problems) and an L2 penalty makes it positive
        definite (:data:`_EXPLICIT_HESSIAN`)."""
        return self._columns is not None and self.l2 > 0 and not self.multinomial

    def _hessian_matrix(self):
        """The Hessian at the evaluated point, in the order of ``x``: the columns of ``X``
        (then the intercept's column of ones) are the outer index, the classes the inner,
        as ``W.ravel()`` followed by ``b`` is."""
        Xa, P, K = self._columns, self._probability, self.K
        q = Xa.shape[1]
        if not self.multinomial:
            H = (Xa.T * (self.a * P * (1.0 - P))) @ Xa
        else:
            H = np.empty((q, K, q, K))
            aP = P * self.a
            for k in range(K):
                for m in range(k, K):
                    weight = aP[k] - aP[k] * P[m] if k == m else -aP[k] * P[m]
                    H[:, k, :, m] = H[:, m, :, k] = (Xa.T * weight) @ Xa
            H = H.reshape(q * K, q * K)
        coefficients = np.arange(self.p * K)
        H[coefficients, coefficients] += self.l2
        return H

    def estimate(self, grad_W, Gt):
        """Cheap stopping estimate from a gradient: with a penalty the gap
        ``||grad_W||^2 / (2 l2)`` it equals at an optimal intercept, to which the intercept's
        gradient adds the same amount (as if it were penalised too, so that a full check
        rarely finds the intercept far from optimal); the KKT violation without one."""
        if self.fit_intercept:
            intercept_gradient = Gt.sum(axis=1)
        if self.penalty.has_dual:
            total = float(np.vdot(grad_W, grad_W))
            if self.fit_intercept:
                total += float(np.vdot(intercept_gradient, intercept_gradient))
            return total / (2.0 * self.l2)
        kkt = float(np.max(np.abs(grad_W))) if grad_W.size else 0.0
        if self.fit_intercept:
            kkt = max(kkt, float(np.max(np.abs(intercept_gradient))))
        return kkt

    def criterion(self, W, b, screen=None):
        """Refine the intercept in place, then ``(primal, criterion)`` by
        :func:`._objective.optimality` at ``(W, b)``; keeps the KKT violation.

        With ``screen``, None instead when the gradient's estimate at the refined point
        (:meth:`estimate`, the gap itself with an L2 penalty) exceeds it: a failing check
        then costs no conjugate.
        """
        Zt = self.predict(W, b)
        value, Gt = self.loss_and_raw_gradient(Zt)
        least_squares = self.datafit.kind == DatafitKind.LEAST_SQUARES
        if self.fit_intercept and not least_squares:
            Zt, Gt, value = self._refine_intercept(Zt, Gt, value, b)
        return self.criterion_at(W, Zt, Gt, self.correlate(Gt), value, screen)

    def criterion_at(self, W, Zt, Gt, grad, value, screen=None):
        """:meth:`criterion` from the predictor ``Z'``, raw gradient ``G'``, ``X'G`` and loss
        at ``W``, the intercept taken as it is."""
        if screen is not None and self.estimate(grad + self.l2 * W, Gt) > screen:
            return None
        if self.penalty.has_dual and self.K == 1 and not sp.issparse(self.X):
            return self._compiled_criterion(W, Zt, Gt, grad, value)
        primal, gap, kkt = optimality(self.datafit, self.penalty, W, Zt.T, self.y, self.a,
                                      grad, Gt.T, np, self.col_means)
        self.last_kkt = kkt
        return primal, (gap if self.penalty.has_dual else kkt)

    def _compiled_criterion(self, W, Zt, Gt, grad, value):
        """:meth:`criterion` for a single task with an L2 penalty on dense centred ``X`` by
        the compiled gaps of :mod:`._ws_gap`: the same figures as
        :func:`._objective.optimality` (whose many array passes cost more than the whole
        solve on small data), the dual point centred as there."""
        g = Gt[0]
        w = np.ascontiguousarray(W[:, 0])
        grad = np.ascontiguousarray(grad[:, 0])
        if self.datafit.kind == DatafitKind.LEAST_SQUARES:
            primal, gap, self.last_kkt = _least_squares_criterion(
                Zt[0], self.y, self.a, g, w, grad, self.l2, self.fit_intercept)
            return primal, gap
        total = float(g.sum()) if self.fit_intercept else 0.0
        means = np.zeros(self.p) if self.fit_intercept else np.empty(0)
        gap = logistic_gap(value, g, self.y, self.a, w, grad, means, 0.0, self.l2, False)
        primal = value + 0.5 * self.l2 * float(w @ w)
        kkt = float(np.max(np.abs(grad + self.l2 * w))) if w.size else 0.0
        self.last_kkt = max(kkt, abs(total))
        return primal, gap

    def _refine_intercept(self, Zt, Gt, value, b):
        """Newton steps on ``b`` alone (:func:`._objective.newton_on_intercept`), each kept
        only if the loss does not increase, the curvature from the cached probabilities;
        ``b`` is updated in place."""
        tried = []

        def evaluate(trial):
            tried.append(trial)
            return self.loss_and_raw_gradient(trial)

        def newton_step(_, G):
            g = G.sum(axis=1)
            if not np.any(g):
                return None
            step = self._intercept_newton_step(g)
            return step, float(g @ step)

        Zt, b[:], value, Gt = newton_on_intercept(
            evaluate, newton_step, lambda Z, step: Z - step[:, None], Zt, b.copy(),
            (value, Gt), max_steps=_INTERCEPT_STEPS, tries=1,
            settled=_SETTLED * self.threshold)
        if tried and tried[-1] is not Zt:
            self.loss_and_raw_gradient(Zt)  # the probabilities of the kept point
        return Zt, Gt, value

    def _intercept_newton_step(self, g):
        P = self._probability
        if not self.multinomial:
            curvature = float(self.a @ (P * (1.0 - P)))
            return g / curvature if curvature > 0 else np.zeros_like(g)
        aP = P * self.a
        H = np.diag(aP.sum(axis=1)) - aP @ P.T
        # the softmax ignores a common shift: H is singular along the ones, g orthogonal to them
        H += 1.0 / self.K
        return np.linalg.solve(H, g)


def _solve_least_squares(X, Y, a, l2, fit_intercept, W, b):
    """One direct solve of the ridge (or least-squares) normal equations for every column
    of ``Y`` (n, T), into ``W`` (p, T) and ``b`` (T,); returns the method."""
    if fit_intercept:  # X is centred, so the weighted mean of y is the intercept
        b[:] = a @ Y
    n, p = X.shape
    if np.all(a == a[0]):  # equal weights divide out: no weighted copy of X
        Xs, target, l2 = X, Y - b, l2 / a[0]
    else:
        root = np.sqrt(a)
        Xs, target = X * root[:, None], root[:, None] * (Y - b)
    if l2 <= 0:
        W[:] = la.lstsq(Xs, target, check_finite=False)[0]
        return "lstsq"
    if p <= n:
        gram = Xs.T @ Xs
        gram.flat[::p + 1] += l2
        W[:] = la.cho_solve(la.cho_factor(gram, check_finite=False), Xs.T @ target,
                            check_finite=False)
        return "cholesky"
    gram = Xs @ Xs.T
    gram.flat[::n + 1] += l2
    W[:] = Xs.T @ la.cho_solve(la.cho_factor(gram, check_finite=False), target,
                               check_finite=False)
    return "dual-cholesky"


def _solve_sparse_least_squares(problem, W, b, max_iter):
    """Ridge on sparse ``X``: the normal equations of the implicitly centred problem, by
    Cholesky on the Gram matrix or by preconditioned conjugate gradients on them or on their
    dual form (see the module's text); returns the method and its iterations."""
    X, y, a, l2 = problem.X, problem.y, problem.a, problem.l2
    n, p = X.shape
    centred = _CentredColumns(X, problem.col_means if problem.fit_intercept else np.zeros(p))
    y_mean = float(a @ y) if problem.fit_intercept else 0.0
    # the gap of a quadratic is ||grad||^2 / (2 l2): met once ||grad||^2 reaches this
    squared_gradient = 2.0 * l2 * problem.threshold
    if p <= SPARSE_GRAM_LIMIT:
        W[:, 0] = _sparse_gram_solve(X, a, y, y_mean, centred.means, l2)
        method, n_iter = "sparse-cholesky", 1
    elif p > n and not np.any(W):
        W[:, 0], n_iter = _dual_conjugate_gradients(centred, a, y - y_mean, l2,
                                                    squared_gradient, max_iter)
        method = "dual-cg"
    else:
        def normal_product(v):
            return centred.rmatvec(a * centred.matvec(v)) + l2 * v

        diagonal = centred.squared_column_norms(a) + l2
        W[:, 0], n_iter = _conjugate_gradients(
            normal_product, centred.rmatvec(a * (y - y_mean)),
            np.array(W[:, 0], dtype=np.float64), diagonal,
            lambda residual: residual @ residual <= squared_gradient, max_iter)
        method = "cg"
    b[0] = y_mean - centred.means @ W[:, 0]
    return method, n_iter


class _CentredColumns:
    """Products by ``X - 1 m'`` (columns centred by the weighted means ``m``) and its
    transpose, without forming it."""

    def __init__(self, X, means):
        self.X, self.X_T, self.means = X, X.T, means

    def matvec(self, v):
        return self.X @ v - self.means @ v

    def rmatvec(self, u):
        return self.X_T @ u - self.means * u.sum()

    def squared_column_norms(self, a):
        """``sum_i a_i (x_ij - m_j)^2`` per column, for means ``m = X'a`` or zero."""
        return self.X_T.power(2) @ a - self.means * self.means

    def squared_row_norms(self):
        """``||x_i - m||^2`` per row."""
        return (np.asarray(self.X.power(2).sum(axis=1)).reshape(-1)
                - 2.0 * (self.X @ self.means) + self.means @ self.means)


def _sparse_gram_solve(X, a, y, y_mean, means, l2):
    """Cholesky solve of ``(X'AX - m m' + l2 I) w = X'A y - m ybar``; ``X'AX`` by the
    compiled sum of the rows' outer products (:func:`._cd_gram.sparse_weighted_gram`)."""
    rows = X.tocsr()
    gram = np.empty((X.shape[1], X.shape[1]))
    indptr = rows.indptr.astype(rows.indices.dtype, copy=False)
    sparse_weighted_gram(rows.data, rows.indices, indptr, a, gram)
    gram -= np.outer(means, means)
    gram.flat[::gram.shape[0] + 1] += l2
    return la.cho_solve(la.cho_factor(gram, check_finite=False),
                        X.T @ (a * y) - means * y_mean, check_finite=False)


def _dual_conjugate_gradients(centred, a, target, l2, squared_gradient, max_iter):
    """Wide ridge (``p > n``): conjugate gradients on the dual system
    ``(R Xc Xc' R + l2 I) u = R t`` (``R = A^(1/2)``, ``t`` the centred target), then
    ``w = Xc' R u``.

    The primal gradient at that ``w`` is ``-Xc' R r`` for the dual residual ``r``: each
    iteration takes that one product more to read the gap. On scipy.sparse.random
    2000 x 20000 at density 1e-3 with the default Ridge, 5 iterations (Jacobi-preconditioned
    by ``a_i ||x_i - m||^2 + l2``) where the primal system took 10, each on vectors ten
    times shorter.
    """
    root = np.sqrt(a)

    def dual_product(u):
        return root * centred.matvec(centred.rmatvec(root * u)) + l2 * u

    def gap_met(residual):
        gradient = centred.rmatvec(root * residual)
        return gradient @ gradient <= squared_gradient

    u, n_iter = _conjugate_gradients(dual_product, root * target, np.zeros(a.shape[0]),
                                     a * centred.squared_row_norms() + l2, gap_met, max_iter)
    return centred.rmatvec(root * u), n_iter


def _conjugate_gradients(product, rhs, x, diagonal, converged, max_iter):
    """Conjugate gradients on ``product(x) = rhs`` from ``x`` (updated in place),
    preconditioned by ``diagonal``, until ``converged(rhs - product(x))`` or ``max_iter``
    iterations; returns ``x`` and the iterations run."""
    residual = rhs - product(x) if np.any(x) else rhs.copy()
    preconditioned = residual / diagonal
    direction = preconditioned.copy()
    inner = residual @ preconditioned
    n_iter = 0
    while n_iter < max_iter and inner > 0 and not converged(residual):
        curved = product(direction)
        step = inner / (direction @ curved)
        x += step * direction
        residual -= step * curved
        preconditioned = residual / diagonal
        previous, inner = inner, residual @ preconditioned
        direction *= inner / previous
        direction += preconditioned
        n_iter += 1
    return x, n_iter


def _minimise(problem, W, b, max_iter, recorder, bar):
    """scipy.optimize on ``(W, b)`` until the criterion meets the threshold."""
    threshold = problem.threshold
    n_variables = (problem.p + problem.fit_intercept) * problem.K
    method = ("newton" if problem.newton_applies() else
              "trust-ncg" if n_variables <= NEWTON_LIMIT else "L-BFGS-B")
    state = {"n_iter": 0, "solution": None}

    def solution_at(x, value, iteration):
        """Record the iterate ``x``; return the point refined from it, with its primal value
        and criterion, when that meets the threshold (None otherwise)."""
        problem.ensure_evaluated(x)
        W_x, b_x, Gt, grad_W = problem.last
        estimate = problem.estimate(grad_W, Gt)
        recorder.record(iteration, objective=value, gap=estimate,
                        kkt=float(np.max(np.abs(grad_W))) if grad_W.size else 0.0)
        bar.set_postfix(gap=f"{estimate:.2e}", refresh=False)
        if estimate > threshold:
            return None
        W_try, b_try = W_x.copy(), b_x.copy()
        evaluated = problem.criterion(W_try, b_try, screen=threshold)
        if evaluated is None or evaluated[1] > threshold:
            return None
        return W_try, b_try, evaluated

    def check_newton(x, value):
        """Count an iteration at ``x`` (unscaled); True once the solution is found."""
        state["n_iter"] += 1
        bar.update(1)
        state["solution"] = solution_at(x, value, state["n_iter"])
        return state["solution"] is not None

    def check(intermediate_result):
        if check_newton(intermediate_result.x / scale, intermediate_result.fun):
            raise StopIteration

    x0 = problem.join(W, b)
    # the optimisers see x * scale. trust-ncg's trust region is a ball: in variables scaled by
    # their columns' spread it fits raw features of unequal scales (iterations to the gap:
    # breast_cancer 25 -> 13, wine 19 -> 9; standardised data unchanged). L-BFGS, whose first
    # step and memory assume curvatures of one size, meets a Hessian diagonal between
    # spread^2 (data curvature, early) and l2 (near a separating solution): the square root
    # of the spread halves the range of either on a log scale (raw digits: 113 iterations
    # unscaled, 364 scaled by the spread, 78 by its square root).
    scale = problem.variable_scale()
    if method == "L-BFGS-B":
        scale = np.sqrt(scale)

    def value_and_gradient(v):
        value, gradient = problem.value_and_gradient(v / scale)
        return value, gradient / scale

    def hessian_product(v, u):
        return problem.hessian_product(v / scale, u / scale) / scale

    if np.any(x0):  # a warm start may be a solution already: no iteration then
        state["solution"] = solution_at(x0, problem.value_and_gradient(x0)[0], 0)
    elif problem.fit_intercept:
        x0[problem.p * problem.K:] = problem.intercept_at_zero()
    last = x0
    if state["solution"] is None and method == "newton":
        last = _damped_newton(problem, x0, max_iter, check_newton)
    elif state["solution"] is None:
        options = {"maxiter": max_iter, "gtol": 0.0}
        if method == "trust-ncg":
            extra = {"hessp": hessian_product}
        else:
            options["ftol"] = 0.0
            extra = {}
        last = minimize(value_and_gradient, x0 * scale, jac=True, method=method,
                        callback=check, options=options, **extra).x / scale
    evaluated = None
    if state["solution"] is not None:
        W_new, b_new, evaluated = state["solution"]
    else:
        W_new, b_new = problem.split(last)
    W[:] = W_new
    b[:] = b_new
    return ("lbfgs" if method == "L-BFGS-B" else method), state["n_iter"], evaluated


def _damped_newton(problem, x, max_iter, converged):
    """Newton steps on ``x`` (the flat ``(W, b)``) with the explicit Hessian, each
    backtracked by Armijo's test; ``converged(x, value)`` is asked after every step.
    Returns the last iterate: after ``max_iter`` steps, once ``converged`` says so, or
    where no step lowers the objective any more (round-off; or a Hessian singular to
    working precision, whose intercept row vanishes when every sample saturates), for the
    caller's final criterion to judge.
    """
    value, gradient = problem.value_and_gradient(x)
    for _ in range(max_iter):
        try:
            step = -la.solve(problem._hessian_matrix(), gradient, assume_a="pos",
                             check_finite=False)
        except la.LinAlgError:
            break
        decrease = float(gradient @ step)
        trial = _armijo_step(problem, x, step, value, decrease) if decrease < 0 else None
        if trial is None:
            break
        x, value, gradient = trial
        if converged(x, value):
            break
    return x


def _armijo_step(problem, x, step, value, decrease):
    """``(x, value, gradient)`` at the longest of ``step`` halved that passes Armijo's
    test, or None when none of ``_MAX_HALVINGS`` does."""
    length = 1.0
    for _ in range(_MAX_HALVINGS):
        candidate = x + length * step
        trial_value, trial_gradient = problem.value_and_gradient(candidate)
        if trial_value <= value + _ARMIJO * length * decrease:
            return candidate, trial_value, trial_gradient
        length *= 0.5
    return None
