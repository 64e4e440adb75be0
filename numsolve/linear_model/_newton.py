"""Active-set Newton finish: Newton on the identified support with the signs held fixed.

Once the support ``S`` and the signs ``sigma`` of the solution are identified, the L1 problem
restricted to ``S`` is smooth, ``min f(X_S w + b) + l1 sigma'w + (l2/2)||w||^2``, and Newton's
method converges quadratically (least squares: in one step). For the softmax loss ``S`` is a
set of (feature, class) entries and the Hessian couples every pair of them through the
per-sample blocks ``diag(p_i) - p_i p_i'``; that matrix is singular along shifts common to
all classes (a full row of ``W``, the intercepts), which a relative ridge of ``1e-12`` and,
for the intercepts, centred steps take care of. A step that would change a
coefficient's sign is first projected onto the orthant (every flipped coefficient set to
zero and removed from the active set at once), backtracking along that projected arc; if no
point of it decreases the objective, the step is truncated at the first sign change instead
and only that coefficient leaves the active set. Newton continues on the rest (a primal
active-set method). Steps are backtracked until the true objective decreases, so the finish
never makes the iterate worse. Given the caller's gap and its target, the finish stops at
that target instead of at round-off. On small softmax supports the gradient and Hessian
come from one compiled pass over the samples, the directions from LAPACK directly: the
array code around them was most of a Newton step on iris and wine. On a sparse X whose
support is at least 5 % full, the support's columns are copied dense (the softmax Hessian's
blocks of samples, where one copy would be too large): its sparse-sparse products cost 8
times the dense ones at 40 % nonzeros, and 4.6 of a 5.4 s fit on digits as CSR. A softmax
finish whose support's Hessian costs more than ten epochs is declined (the caller's epochs
go on) while its target is loose (above 4 % of the loss at zero) or its gap within 1.2
times that target: digits' L1 fits 303 -> 247 ms dense, 253 -> 214 ms as CSR, a sparse
2000 x 100, 5-class L1 problem at alpha_max/1000 2.0 -> 0.43 s. Measured alternatives: the
loose-target rule alone left dense digits flat, the near-target rule alone gave CSR digits
222 ms, and either without the cost gate took iris' L1 fit from 2 to 4 outer iterations.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .._blas_threads import one_blas_thread
from ._cd import DatafitKind
from ._objective import stopping_scale
from ._prox_newton_kernels import softmax_support_derivatives

__all__ = ["newton_finish"]

_MAX_SUPPORT = 3000
# Added to the Hessian's diagonal, relative to its mean: the softmax Hessian is singular
# along class-common shifts
_RELATIVE_RIDGE = 1e-12
_cholesky, _cholesky_solve = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potrs"),
                                                                  dtype=np.float64)
# A least-squares Hessian at most this dense is factored sparse (see _quadratic_hessian)
_SPARSE_HESSIAN = 0.05
# ... and only above this many variables: SuperLU's fixed cost per factorisation exceeds a
# dense Cholesky's whole cost on so few
_DENSE_SUPPORT = 100
# Relative ridges tried in turn where a step predicts more decrease than the caller's gap
# allows (see _bounded_direction)
_DAMPING = (_RELATIVE_RIDGE, 1e-6, 1e-4, 1e-2, 1e-1, 1.0)
# The softmax finish may be declined (epochs go on) where its support's Hessian costs more
# than this many epochs over every feature (see _declined) ...
_COSTLY_HESSIAN = 10
# ... when its target is above this fraction of the loss at zero, the stopping test's scale
# ...
_LOOSE_TARGET = 0.04
# ... or the gap at most this multiple of its target
_NEAR_TARGET = 1.2
# The finish stops when a step's decrement is below this fraction of the caller's target
_FUTILE = 1e-2
# A damped step aims at this fraction of the caller's target (see newton_finish)
_LANDING = 5.0
# Points of the projected arc tried before the finish truncates at the first sign change
# (logistic losses; least squares tries the full projected step only, the behaviour its
# epoch-finish schedule in _working_set was measured with)
_ARC_HALVINGS = 8
# The softmax finish forms its gradient and Hessian by a compiled O(n m^2) pass up to this
# many active variables, by BLAS products above (see _support_derivatives)
_COMPILED_SUPPORT = 32
# A sparse X's support columns at least this full are copied to a dense array for the finish
# (see _support_columns) ...
_DENSE_SUPPORT_COLUMNS = 0.05
# ... when the copy holds at most this many entries (32 MiB)
_DENSE_SUPPORT_ENTRIES = 1 << 22


def newton_finish(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps=40,
                  criterion=None, target=0.0):
    """Improve ``(W, b, Z)`` in place by Newton steps on the support; True if it moved.

    The free variables are the nonzero entries of ``W`` (a feature may be active in some
    classes only) and the intercepts. Least squares and the logistic loss (K = 1) and the
    softmax loss (any K) are handled. The dense factorisations run single-threaded: on
    small machines a multi-threaded LAPACK call of this size is many times slower under load
    than one thread.

    ``criterion`` (no arguments, reading the caller's ``W``, ``b``, ``Z``; the iterate is
    written there first) gives the caller's gap at the start and after every step: the
    finish does not start when it is at most ``target``, stops once it is, and damps a
    full step to land near ``target / _LANDING`` rather than at round-off. The gap falls
    in proportion to the gradient's violation, which a step of length ``1 - eta`` along the
    Newton direction divides by about ``1 / eta`` (the rest is second order): digits'
    10-class L1 problem went from 16 times the requested gap to 1e-5 of it in one full step.
    """
    # checked first: a met criterion costs neither the support's columns nor the thread
    # limit (two of iris' three elastic-net finishes, 40 us each)
    gap = np.inf if criterion is None else float(criterion())
    if gap <= target or _declined(datafit, y, a, W, fit_intercept, gap, target):
        return False
    with one_blas_thread():
        return _newton(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps,
                       criterion, target, gap)


def _declined(datafit, y, a, W, fit_intercept, gap, target):
    """Whether a softmax finish is left to the epochs: its support's Hessian (``n m^2``)
    costs more than :data:`_COSTLY_HESSIAN` epochs over every feature (``n p K``), and its
    target is loose against the loss at zero (``P(0)``, which the stopping threshold is a
    multiple of) or its gap nearly meets that target already.

    A softmax Newton step costs ``K^2`` times a binary one, the epochs' first orders of
    magnitude are fast: on digits as CSR (10 classes) the first finishes took the gap
    0.71 -> 0.63 against a target of 0.67 for 34 ms, 20 epochs' worth, and one stopped
    after its first Hessian (gap 0.020, target 0.014). Small supports keep their finish:
    declining iris' (7 variables, gap 0.046 for a target of 0.042) took two more outer
    iterations.
    """
    if datafit.kind != DatafitKind.MULTINOMIAL:
        return False
    support = np.count_nonzero(W)
    if support * support <= _COSTLY_HESSIAN * W.size:
        return False
    scale = stopping_scale(datafit, y, a, W.shape[1], fit_intercept, np)
    return target > _LOOSE_TARGET * scale or gap <= _NEAR_TARGET * target


def _newton(design, datafit, penalty, W, b, Z, y, a, fit_intercept, max_steps, criterion,
            target, gap):
    if datafit.kind is None:
        return False
    K = W.shape[1]
    rows, classes = np.nonzero(W)
    if rows.size == 0 or rows.size > _MAX_SUPPORT:
        return False
    m = rows.size
    XS = _support_columns(design, rows, K if fit_intercept else 0)
    if fit_intercept:
        classes = np.concatenate([classes, np.arange(K)])
    sigma = np.zeros(XS.shape[1])
    sigma[:m] = np.sign(W[rows, classes[:m]])
    ridge = np.zeros(XS.shape[1])
    ridge[:m] = penalty.l2
    theta = W[rows, classes[:m]]
    if fit_intercept:
        theta = np.concatenate([theta, b])
    active = np.ones(XS.shape[1], dtype=bool)
    Z_cur = Z.copy()
    quadratic = datafit.kind == DatafitKind.LEAST_SQUARES
    fixed_hessian = _FixedHessian.of(_quadratic_hessian(XS, a), ridge) if quadratic else None
    # the softmax is invariant to a common shift of the intercepts: keep their steps centred
    centre = slice(m, None) if fit_intercept and K > 1 else None

    def objective(Z_, theta_):
        return float(datafit.value(Z_, y, a, np)) + float(
            penalty.l1 * np.abs(theta_[:m]).sum() + 0.5 * penalty.l2 * theta_[:m] @ theta_[:m])

    def write():
        W[rows, classes[:m]] = theta[:m]
        if fit_intercept:
            b[:] = theta[m:]
        Z[:] = Z_cur

    def met():  # the caller's criterion at the iterate, read from its arrays
        nonlocal gap
        if criterion is None:
            return False
        write()
        gap = float(criterion())
        return gap <= target

    current = objective(Z_cur, theta)
    moved = False
    for _ in range(max_steps):
        if fixed_hessian is not None:
            G = datafit.raw_gradient(Z_cur, y, a, np)
            grad_all = _entry_products(XS, G, classes) + penalty.l1 * sigma + ridge * theta
            d_active = fixed_hessian.step(grad_all, active)[active]
            grad = grad_all[active]
        else:
            loss_grad, H = _support_derivatives(datafit, XS, classes, active, Z_cur, y, a)
            grad = (loss_grad + penalty.l1 * sigma + ridge * theta)[active]
            d_active = _bounded_direction(H, ridge[active], grad, gap)
        d = np.zeros_like(theta)
        d[active] = d_active
        if centre is not None:
            d[centre] -= d[centre].mean()
        decrement = -float(grad @ d[active])
        # the step's predicted gain (half the decrement) is far below what the caller
        # still asks for: what is left of its gap lies off the support
        if not decrement > max(1e-16 * abs(current), _FUTILE * target, 1e-300):
            break
        # least squares takes one exact step (its caller finishes by epochs where that
        # would over-solve)
        full = 1.0 if quadratic or gap == np.inf else 1.0 - min(1.0, target / _LANDING / gap)
        projected = _projected_arc(objective, Z_cur, theta, d, sigma, m, XS, classes, K,
                                   current, 1 if quadratic else _ARC_HALVINGS, full)
        if projected is not None:
            Z_cur, theta, current = projected
            moved = True
            dropped = (theta[:m] == 0) & active[:m]
            active[:m][dropped] = False
            sigma[:m][dropped] = 0.0
            if not active[:m].any() or met():
                break
            continue
        limit, crossing = _sign_limit(theta[:m], d[:m])
        step = min(full, limit)
        at_boundary = limit <= full
        dZ = _predictor_step(XS, classes, d, K)
        accepted = False
        for _ in range(40):
            trial = theta + step * d
            if at_boundary:
                trial[crossing] = 0.0
            value = objective(Z_cur + step * dZ, trial)
            if value <= current - 1e-4 * step * decrement or (quadratic and value <= current):
                accepted = True
                break
            step *= 0.5
            at_boundary = False
        if not accepted:
            break
        Z_cur = Z_cur + _predictor_step(XS, classes, trial - theta, K)
        theta = trial
        current = value
        moved = True
        if at_boundary:
            active[crossing] = False
            sigma[crossing] = 0.0
            if not active[:m].any():
                break
        elif quadratic:
            break
        if met():
            break
    if moved:
        write()
    return moved


def _support_columns(design, rows, ones):
    """The columns ``rows`` of X in float64 followed by ``ones`` columns of ones (the
    intercepts), each entry written once (the Newton system is solved in double precision
    whatever the dtype of X): dense for a dense X, and for a sparse X whose support's
    features store at least :data:`_DENSE_SUPPORT_COLUMNS` of their entries, the copy
    holding at most :data:`_DENSE_SUPPORT_ENTRIES`.

    A sparse support's Hessian is a sparse-sparse product whose cost grows with the square
    of the density against the dense products' flat cost: at 5 % nonzeros they cost the
    same (2000 x 300), at 40 % the sparse ones cost 8 times more, and on digits as CSR
    (1797 x 640 entries, 50-100 % nonzeros) they made 4.6 s of a 5.4 s fit. Written in place
    (the sparse columns into a Fortran-ordered block, where a support too large for the
    compiled derivatives reads them): 2.8 -> 0.7 ms a finish on digits as CSR (1797 x 210)
    against a dense copy of the distinct features, its repetition per class and the
    intercepts' concatenation, 2.0 -> 0.4 ms on dense digits.
    """
    n, m = design.shape[0], rows.size
    if not design.sparse:
        out = np.empty((n, m + ones))
        out[:, :m] = design.X[:, rows]
        out[:, m:] = 1.0
        return out
    columns = design.X[:, rows].astype(np.float64, copy=False)
    if not _dense_enough(design, rows):
        return sp.hstack([columns, np.ones((n, ones))], format="csc") if ones else columns
    out = np.zeros((n, m + ones), order="C" if m <= _COMPILED_SUPPORT else "F")
    if out.flags.f_contiguous:
        columns.toarray(out=out[:, :m])
    else:
        out[:, :m] = columns.toarray()
    out[:, m:] = 1.0
    return out


def _dense_enough(design, rows):
    """Whether the sparse X's columns ``rows`` are copied dense (see
    :func:`_support_columns`)."""
    n, features = design.shape[0], np.unique(rows)
    return (design.stored(features) >= _DENSE_SUPPORT_COLUMNS * n * features.size
            and n * rows.size <= _DENSE_SUPPORT_ENTRIES)


def _bounded_direction(H, ridge, grad, gap):
    """:func:`_newton_direction` with the relative ridge raised through :data:`_DAMPING`
    until the model's predicted decrease (half the decrement) is at most ``gap``.

    The gap bounds every decrease the objective allows, the orthant's included. A feature
    active in every class leaves the softmax Hessian (nearly) singular along a shift common
    to its K coefficients, where the sign-fixed model is linear: its Newton step is huge
    (1e10 on digits' 10 classes, a predicted decrease of 1e8 for a gap of 0.1), every point
    of the projected arc is worse, and each truncated step dropped one coefficient per
    Hessian (20 in a row).
    """
    for relative in _DAMPING:
        d = _newton_direction(H, ridge, grad, relative)
        if -0.5 * float(grad @ d) <= gap:
            break
    return d


def _newton_direction(H, ridge, grad, relative=_RELATIVE_RIDGE):
    """``-(H + diag(ridge) + eps I)^{-1} grad`` (``eps``: ``relative`` times ``H``'s mean
    diagonal), by Cholesky, least squares where that fails."""
    H = H + np.diag(ridge + relative * max(np.trace(H) / H.shape[0], 1e-300))
    # LAPACK itself: SciPy's cho_factor / cho_solve wrappers (the same routines) cost 30 us
    # a direction on a 13 x 13 system, a tenth of a small finish's Newton step
    factor, info = _cholesky(H, lower=False, clean=False)
    if info == 0:
        return -_cholesky_solve(factor, grad, lower=False)[0]
    return -np.linalg.lstsq(H, grad, rcond=None)[0]


class _FixedHessian:
    """Newton directions of a quadratic (fixed Hessian ``H``) on shrinking active sets, from
    one factorisation of ``H`` (dense Cholesky, or sparse LU for a sparse ``H``); ``solve``
    applies ``H^{-1}`` to a vector or to the columns of a matrix.

    The coordinates that left the active set are held at zero by Lagrange multipliers:
    ``d = -H^{-1}(g + E lam)`` with ``(E' H^{-1} E) lam = -E' H^{-1} g``, ``E`` their unit
    columns. Dropping ``k`` coordinates costs ``k`` triangular solves (``O(k m^2)``) and a
    ``k x k`` system where a new factorisation of ``H_AA`` costs ``O(m^3)``: on a 900-feature
    support, the sign changes of one finish took 9 factorisations before.
    """

    def __init__(self, solve, size):
        self.solve = solve
        self.fixed = np.empty(0, dtype=np.intp)
        self.solved = np.empty((size, 0))  # H^{-1} E, one column per fixed coordinate

    @classmethod
    def of(cls, H, ridge):
        """The solver for ``H + diag(ridge) + eps I``, or None when it is not positive
        definite (the caller then factors each active block, least squares as fallback).

        A sparse ``H`` (see :func:`_quadratic_hessian`) is factored by SuperLU with a
        symmetric fill-reducing order and diagonal pivots; a dense ``H`` is factored in
        place (overwritten: the finish's own array), the Cholesky reading its upper
        triangle only.
        """
        shift = ridge + _RELATIVE_RIDGE * max(H.diagonal().mean(), 1e-300)
        if sp.issparse(H):
            from scipy.sparse.linalg import splu  # not at import: keeps the package light

            try:
                factor = splu(sp.csc_matrix(H + sp.diags(shift)), permc_spec="MMD_AT_PLUS_A",
                              diag_pivot_thresh=0.0, options={"SymmetricMode": True})
            except RuntimeError:  # exactly singular
                return None
            return cls(factor.solve, H.shape[0])
        H[np.diag_indices_from(H)] += shift
        try:
            factor = scipy.linalg.cho_factor(H, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        return cls(lambda rhs: scipy.linalg.cho_solve(factor, rhs, check_finite=False),
                   H.shape[0])

    def step(self, grad, active):
        """The Newton direction over all coordinates, zero outside ``active``."""
        new = np.setdiff1d(np.flatnonzero(~active), self.fixed)
        if new.size:
            unit = np.zeros((self.solved.shape[0], new.size))
            unit[new, np.arange(new.size)] = 1.0
            self.solved = np.hstack([self.solved, self.solve(unit)])
            self.fixed = np.concatenate([self.fixed, new])
        u = self.solve(grad)
        if self.fixed.size:
            u += self.solved @ np.linalg.solve(self.solved[self.fixed], -u[self.fixed])
            u[self.fixed] = 0.0
        return -u


def _entry_products(XS, G, classes):
    """``XS[:, r]' G[:, classes[r]]`` for every variable ``r`` (the gradient on the support).

    A dense ``XS`` takes every class's products in one BLAS call and keeps its own: on
    digits' supports (1797 x 100-240, 10 classes) 9.4 ms a fit against 17.3 for the
    elementwise products with a gathered copy of ``G``.
    """
    if G.shape[1] == 1:
        return np.asarray(XS.T @ G[:, 0]).reshape(-1)
    if sp.issparse(XS):
        return np.asarray(XS.multiply(G[:, classes]).sum(axis=0)).reshape(-1)
    return np.take_along_axis(XS.T @ G, classes[:, None], axis=1)[:, 0]


def _predictor_step(XS, classes, d, K):
    """Change of the linear predictor ``Z`` (n, K) when the variables move by ``d``."""
    if K == 1:
        return np.asarray(XS @ d).reshape(-1, 1)
    if sp.issparse(XS):
        return (XS @ sp.csr_matrix((d, (np.arange(d.size), classes)),
                                   shape=(d.size, K))).toarray()
    # one dense BLAS product: building a sparse D cost about a millisecond a call, most of
    # a small problem's finish (iris: 160 calls, 0.15 s of 1 s)
    D = np.zeros((d.size, K))
    D[np.arange(d.size), classes] = d
    return XS @ D


def _support_derivatives(datafit, XS, classes, active, Z, y, a):
    """The datafit's gradient in every support variable (columns of ``XS``, class labels
    ``classes``) and its Hessian in the ``active`` ones.

    The softmax loss on a dense support of at most :data:`_COMPILED_SUPPORT` active
    variables takes one compiled pass over the samples
    (:func:`._prox_newton_kernels.softmax_support_derivatives`); the array code's probabilities,
    gradient and Hessian blocks were 0.3 ms a Newton step on iris' 13 variables. On a larger
    dense support the probabilities are formed once for both.
    """
    m = int(np.count_nonzero(active))
    softmax = datafit.kind == DatafitKind.MULTINOMIAL
    if softmax and m <= _COMPILED_SUPPORT and not sp.issparse(XS):
        loss_grad, H = np.empty(XS.shape[1]), np.empty((m, m))
        as_float = np.ascontiguousarray
        softmax_support_derivatives(as_float(XS), classes.astype(np.int32),
                                    np.flatnonzero(active).astype(np.int32), as_float(Z),
                                    as_float(y, dtype=np.float64),
                                    as_float(a, dtype=np.float64), loss_grad, H)
        return loss_grad, H
    if softmax and not sp.issparse(XS):
        P = datafit.probabilities(Z, np)
        G = a[:, None] * P
        G[np.arange(G.shape[0]), y.astype(np.intp)] -= a
        return (_entry_products(XS, G, classes),
                _dense_softmax_hessian(XS, P, a, classes, np.flatnonzero(active)))
    G = datafit.raw_gradient(Z, y, a, np)
    return (_entry_products(XS, G, classes),
            _support_hessian(datafit, XS[:, active], classes[active], Z, y, a))


def _support_hessian(datafit, XS, classes, Z, y, a):
    """Hessian of the datafit in the support variables (columns of ``XS``, class labels
    ``classes``).

    K = 1: ``XS' diag(h) XS``. Softmax: entry ``(r, s)`` is ``sum_i x_ir x_is h_i[k_r, k_s]``
    with ``h_i = a_i (diag(p_i) - p_i p_i')``, i.e. ``(XS' A U) * [k_r = k_s] - U' A U`` with
    ``U = XS * P[:, classes]``.
    """
    if datafit.kind != DatafitKind.MULTINOMIAL:
        return _weighted_gram(XS, datafit.raw_hessian(Z, y, a, np)[:, 0, 0])
    P = datafit.probabilities(Z, np)
    if not sp.issparse(XS):
        return _dense_softmax_hessian(XS, P, a, classes)
    if XS.nnz >= _DENSE_SUPPORT_COLUMNS * XS.shape[0] * XS.shape[1]:
        return _blockwise_softmax_hessian(XS, P, a, classes)
    Pc = P[:, classes]
    same = classes[:, None] == classes[None, :]
    U = sp.csc_matrix(XS.multiply(Pc))
    AU = sp.diags(a) @ U
    return (XS.T @ AU).toarray() * same - (U.T @ AU).toarray()


def _dense_softmax_hessian(XS, P, a, classes, columns=None):
    """The softmax support Hessian of :func:`_support_hessian` for a dense ``XS`` (its
    ``columns`` only, all by default), given the probabilities ``P`` (n, K).

    The columns are taken once, in class order, weighted by ``sqrt(a_i p_ik)`` (``Q``); the
    class blocks of the first term are then contiguous Gram matrices of ``Q`` and the second
    term the Gram matrix of ``Q sqrt(p_ik)``. Digits' 19 supports of an L1 fit (1797 x
    86-239, 10 classes): 102 -> 81 ms in all (best of 8, interleaved, under load) against
    weighting each class block's columns anew.
    """
    order = np.argsort(classes if columns is None else classes[columns], kind="stable")
    taken = order if columns is None else columns[order]
    by_class = classes[taken]
    root_p = np.sqrt(P)
    Q = XS[:, taken]
    Q *= (np.sqrt(a)[:, None] * root_p)[:, by_class]
    V = Q * root_p[:, by_class]
    H = -(V.T @ V)
    starts = np.flatnonzero(np.r_[True, by_class[1:] != by_class[:-1], True])
    for start, stop in zip(starts[:-1], starts[1:]):
        block = Q[:, start:stop]
        H[start:stop, start:stop] += block.T @ block
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    return H[np.ix_(back, back)]


def _blockwise_softmax_hessian(XS, P, a, classes):
    """The softmax support Hessian of a sparse ``XS`` too large for one dense copy (see
    :func:`_support_columns`) but as full: the sum of :func:`_dense_softmax_hessian` over
    blocks of samples, each copied dense (at most :data:`_DENSE_SUPPORT_ENTRIES`
    entries). 20000 x 198 at half density: 225 -> 80 ms a Hessian."""
    by_rows = XS.tocsr()
    step = max(1, _DENSE_SUPPORT_ENTRIES // XS.shape[1])
    H = np.zeros((XS.shape[1], XS.shape[1]))
    for start in range(0, XS.shape[0], step):
        block = slice(start, start + step)
        H += _dense_softmax_hessian(by_rows[block].toarray(), P[block], a[block], classes)
    return H


def _quadratic_hessian(XS, a):
    """``XS' diag(a) XS``, kept sparse when ``XS`` is sparse, has more than
    :data:`_DENSE_SUPPORT` columns and the product has at most :data:`_SPARSE_HESSIAN` of
    its entries nonzero, else dense; a dense ``XS`` gives the upper triangle only (see
    :func:`_upper_weighted_gram`), which is all the Cholesky of :class:`_FixedHessian` reads.

    Sparse wide least squares (2000 x 20000 at density 1e-3, supports of 900-1900 features):
    the product holds 0.15-0.7 % nonzeros and its sparse LU factors 3-25x faster than the
    dense Cholesky of the same matrix, each solve 15-50x faster.
    """
    if sp.issparse(XS):
        H = (XS.T @ sp.diags(a) @ XS).tocsc()
        m = H.shape[0]
        if m > _DENSE_SUPPORT and H.nnz <= _SPARSE_HESSIAN * m * m:
            return H
        return H.toarray()
    return _upper_weighted_gram(XS, a)


def _upper_weighted_gram(XS, h):
    """Upper triangle of ``XS' diag(h) XS`` (dense float64 ``XS``, ``h >= 0``; zeros below
    the diagonal): one symmetric rank-n update of ``sqrt(h) XS``, read in its own memory
    order, or of ``XS`` itself scaled by ``h``'s value when it is uniform. On a 1000 x 637
    support, single-threaded: 6.1 ms against 17.8 ms for the general product
    ``XS' (h XS)``; on 1000 x 900, uniform ``h``: 11.2 ms against 15.7 ms with the
    weighted copy."""
    if np.all(h == h[0]):
        V, scale = XS, float(h[0])
    else:
        V, scale = np.sqrt(h)[:, None] * XS, 1.0
    if V.flags.f_contiguous:
        return scipy.linalg.blas.dsyrk(scale, V, trans=1)
    return scipy.linalg.blas.dsyrk(scale, V.T, trans=0)


def _weighted_gram(XS, h):
    """``XS' diag(h) XS`` as a dense array (sparse products for sparse XS)."""
    if sp.issparse(XS):
        return np.asarray((XS.T @ sp.diags(h) @ XS).toarray())
    return XS.T @ (h[:, None] * XS)


def _projected_arc(objective, Z, theta, d, sigma, m, XS, classes, K, current, halvings,
                   step=1.0):
    """Backtrack along the projected arc ``P(theta + t d)`` (every coefficient that would
    change sign set to zero) for ``t = step, step/2, ...`` (``halvings`` points at most)
    while some sign changes; return ``(Z, theta, value)`` at the first point that lowers
    the objective, or None. A ``step`` below one is the damped landing of
    :func:`newton_finish` (a full projected step took iris' elastic net from 2.8 times the
    requested gap to 0.7 % of it).

    Away from the solution the step flips many signs at once: dropping them all on one arc
    replaces a truncated step (one coordinate, one Hessian) per flip, 40 steps in each
    finish on digits' 10-class L1 problem.
    """
    for _ in range(halvings):
        trial = theta + step * d
        flipped = np.flatnonzero(sigma[:m] * trial[:m] < 0)
        if flipped.size == 0:
            return None
        trial[flipped] = 0.0
        Z_new = Z + _predictor_step(XS, classes, trial - theta, K)
        value = objective(Z_new, trial)
        if value < current:
            return Z_new, trial, value
        step *= 0.5
    return None


def _sign_limit(w, d):
    """Largest step keeping every coefficient's sign (inf if none changes), and the indices
    of the coefficients that reach zero first."""
    crossing = np.flatnonzero((np.sign(w + d) != np.sign(w)) & (w != 0))
    if crossing.size == 0:
        return np.inf, crossing
    t = -w[crossing] / d[crossing]
    first = float(t.min())
    return first, crossing[t <= first * (1 + 1e-12)]
