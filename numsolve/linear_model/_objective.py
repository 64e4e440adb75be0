"""Primal objective, duality gap and KKT violation, in array code shared by all engines.

The problem is ``P(W, b) = f(XW + b) + g(W)``; with ``G = dF/dZ`` the Fenchel dual point is
``theta = s G`` (``s`` scales ``X' theta`` into the penalty's dual domain) and
``D = -sum_i a_i phi*(theta_i / a_i) - g*(-X' theta)``. An unpenalised intercept adds the dual
constraint ``sum_i theta_i = 0``: ``G`` is centred (``G - a sum_i G_i``) before scaling, and the
engines call :func:`refine_intercept` first so that the centring is a round-off correction.
"""

import numpy as np

from ._cd import DatafitKind
from ._prox_newton_kernels import logistic_intercept_newton, multinomial_intercept_newton
from ._ws_gap import logistic_gap

__all__ = ["checkpoint", "dual_correlation", "logistic_duality_gap", "newton_on_intercept",
           "optimality", "refine_intercept", "stopping_scale"]


def stopping_scale(datafit, y, a, K, fit_intercept, xp):
    """``P(0)`` of the stopping test ``gap <= tol * P(0)``: the objective at zero coefficients,
    with the intercept at its optimum when one is fitted.

    With an intercept the test is thus relative to what the intercept-only model leaves to
    explain (for least squares half the weighted variance of ``y``, as scikit-learn scales its
    tolerance by the centred targets), not to a mean that the intercept absorbs at once.
    """
    if fit_intercept:
        return datafit.constant_fit_value(y, a, K, xp)
    if xp is np and datafit.kind == DatafitKind.LEAST_SQUARES and K == 1:
        # the value at zero predictions, the same floats without forming them (sparse
        # 20000 x 2000: 27 -> 12 us)
        return 0.5 * float(np.sum(a * y * y))
    zero = xp.zeros((y.shape[0], K), dtype=y.dtype, device=_device(y))
    return float(datafit.value(zero, y, a, xp))


def optimality(datafit, penalty, W, Z, y, a, grad, G, xp, col_means=None):
    """Primal value, duality gap (or KKT violation when there is no dual) and criterion.

    Parameters
    ----------
    W : array of shape (p, K)
    Z : array of shape (n, K)
        Linear predictor ``XW + b``.
    grad : array of shape (p, K)
        ``X' G``.
    G : array of shape (n, K)
        Raw gradient of the datafit at ``Z``.
    col_means : array of shape (p,), optional
        ``X' a`` when an intercept is fitted (the dual point is then centred).

    Returns
    -------
    primal : float
    gap : float
        Duality gap; ``nan`` when the penalty has no dual.
    kkt : float
        Largest subdifferential distance over the coefficients (and intercept gradient).
    """
    loss = float(datafit.value(Z, y, a, xp))
    primal = loss + float(penalty.value(W, xp))
    kkt = float(xp.max(penalty.subdiff_distance(W, grad, xp))) if W.shape[0] else 0.0
    if col_means is not None:
        kkt = max(kkt, float(xp.max(xp.abs(xp.sum(G, axis=0)))))
    if _compiled_gap_applies(datafit, penalty, xp, W, G, grad, y, a):
        return primal, logistic_duality_gap(loss, penalty, W, y, a, grad, G, col_means), kkt
    if col_means is not None:
        G, grad = _centre(G, grad, a, col_means, xp)
    if not penalty.has_dual:
        return primal, float("nan"), kkt
    s = penalty.dual_scale(-grad, xp)
    dual = -float(datafit.conjugate(s * G, y, a, xp)) - float(penalty.conjugate(-s * grad, xp))
    return primal, max(primal - dual, 0.0), kkt


def _compiled_gap_applies(datafit, penalty, xp, W, G, grad, y, a):
    """True for the binary logistic loss on float64 NumPy arrays with a penalty that has a
    finite dual: :func:`._ws_gap.logistic_gap` then gives the gap in one call (with the
    array passes, centring and conjugates a gap check took 39 us on breast_cancer 569 x 30,
    with the call 29.5 us)."""
    return (datafit.kind == DatafitKind.LOGISTIC and penalty.has_dual
            and (penalty.l1 > 0 or penalty.l2 > 0)
            and _compiled_vectors(xp, G, y, a)
            and all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in (W, grad)))


def logistic_duality_gap(loss, penalty, W, y, a, grad, G, col_means):
    """:func:`optimality`'s gap for the binary logistic loss (value ``loss``) by one call of
    :func:`._ws_gap.logistic_gap`; the penalty needs a finite dual."""
    column = np.ascontiguousarray
    means = _NO_MEANS if col_means is None else column(col_means, dtype=np.float64)
    return logistic_gap(loss, column(G[:, 0]), y, a, column(W[:, 0], dtype=np.float64),
                        column(grad[:, 0], dtype=np.float64), means, penalty.l1, penalty.l2,
                        penalty.positive)


_NO_MEANS = np.zeros(0)


def checkpoint(datafit, penalty, W, Z, y, a, grad, G, xp, col_means, *, iteration, recorder,
               bar):
    """:func:`optimality`, recorded in the history and shown on the progress bar.

    Parameters
    ----------
    datafit, penalty, W, Z, y, a, grad, G, xp, col_means
        As for :func:`optimality` (``col_means`` is ``None`` without an intercept).
    iteration : int
        The record's iteration number.
    recorder : HistoryRecorder
        Gets ``objective``, ``gap`` (the criterion below) and ``kkt``.
    bar : progress bar
        Its postfix shows the criterion.

    Returns
    -------
    primal : float
    crit : float
        The duality gap, or the KKT violation when the penalty has no dual.
    """
    primal, gap, kkt = optimality(datafit, penalty, W, Z, y, a, grad, G, xp, col_means)
    crit = gap if penalty.has_dual else kkt
    recorder.record(iteration, objective=primal, gap=crit, kkt=kkt)
    bar.set_postfix(gap=f"{crit:.2e}", refresh=False)
    return primal, crit


def dual_correlation(penalty, grad, G, a, xp, col_means=None):
    """``X' theta`` for the dual point ``theta`` of :func:`optimality`.

    At a solution ``-X' theta*`` lies in the subdifferential of ``g`` at ``W*``; the gap-safe
    screening test (:mod:`._screening`) bounds it around this point.

    Parameters
    ----------
    penalty, grad, G, a, xp, col_means
        As for :func:`optimality`; ``grad = X' G`` of shape (p, K).

    Returns
    -------
    array of shape (p, K)
        ``s X' G``, ``s`` the penalty's dual scale, with ``G`` (and so ``grad``) centred
        first when ``col_means`` is given.
    """
    if col_means is not None:
        G, grad = _centre(G, grad, a, col_means, xp)
    return penalty.dual_scale(-grad, xp) * grad


def _centre(G, grad, a, col_means, xp):
    """``G`` and ``grad = X'G`` projected on the intercept's dual constraint ``sum_i G_i = 0``."""
    total = xp.sum(G, axis=0)
    G = G - xp.reshape(a, (-1, 1)) * total
    return G, grad - xp.reshape(col_means, (-1, 1)) * xp.reshape(total, (1, -1))


# A predicted decrease below this fraction of the loss is not resolved by its value
_ROUND_OFF = 1e-12


def refine_intercept(datafit, Z, y, a, b, xp, max_steps=20):
    """Newton steps on the intercept alone (exact in one step for least squares).

    Returns the updated ``(Z, b)``; the objective never increases (beyond its rounding).
    The binary logistic loss on float64 NumPy arrays takes the same loop compiled
    (:func:`._prox_newton_kernels.logistic_intercept_newton`): the array code's passes and
    2 x 2 solves were a fifth of a small fit (breast_cancer 569 x 30).
    """
    if datafit.kind == DatafitKind.LOGISTIC and _compiled_vectors(xp, Z, y, a):
        return _refine_logistic_intercept(Z, y, a, b, max_steps)
    if datafit.kind == DatafitKind.MULTINOMIAL and xp is np and Z.dtype == np.float64:
        return _refine_multinomial_intercept(datafit, Z, y, a, b, max_steps)
    eye = xp.eye(Z.shape[1], dtype=Z.dtype, device=_device(Z))

    def newton_step(Z, _):
        g = xp.sum(datafit.raw_gradient(Z, y, a, xp), axis=0)
        if float(xp.max(xp.abs(g))) <= 1e-15:
            return None
        H = xp.sum(datafit.raw_hessian(Z, y, a, xp), axis=0) + 1e-12 * eye
        step = xp.linalg.solve(H, g[:, None])[:, 0]
        return step, float(xp.sum(g * step))

    def evaluate(Z):
        return float(datafit.value(Z, y, a, xp)), None

    Z, b, _, _ = newton_on_intercept(
        evaluate, newton_step, lambda Z, step: Z - step, Z, b, evaluate(Z),
        max_steps=max_steps, tries=30, round_off=_ROUND_OFF,
        settled=float("inf") if datafit.kind == DatafitKind.LEAST_SQUARES else 0.0)
    return Z, b


def _compiled_vectors(xp, Z, y, a):
    """True when ``Z`` (one column), ``y`` and ``a`` are float64 NumPy arrays, the vectors
    contiguous: the layout the compiled kernels take."""
    return (xp is np and all(isinstance(v, np.ndarray) and v.dtype == np.float64
                             for v in (Z, y, a))
            and Z.shape[1] == 1 and y.flags.c_contiguous and a.flags.c_contiguous)


def _refine_logistic_intercept(Z, y, a, b, max_steps):
    """:func:`refine_intercept`'s loop for the binary logistic loss, compiled."""
    z = np.array(Z[:, 0], dtype=np.float64, order="C")
    moved = logistic_intercept_newton(z, y, a, max_steps, 30, _ROUND_OFF)
    return z[:, None], b - moved


def _refine_multinomial_intercept(datafit, Z, y, a, b, max_steps):
    """:func:`refine_intercept`'s loop for the softmax loss, compiled
    (:func:`._prox_newton_kernels.multinomial_intercept_newton`): one pass over the samples
    per point gives its value, gradient and summed Hessian ``diag(a'P) - P' diag(a) P``
    (the array loop's per-sample K x K blocks took a third of a fit on wine 178 x 13, its
    NumPy form with the summed Hessian still 175 us a refinement against 15 compiled).
    Unit curvature along ones, where the loss is flat, keeps ``b``'s class mean (a ridge
    alone left that direction to the gradient's rounding over 1e-12: 1e-5 moves)."""
    K = Z.shape[1]
    masses = np.ascontiguousarray(datafit.class_masses(y, a, K, np), dtype=np.float64)
    Z = np.array(Z, dtype=np.float64, order="C")
    moved = np.zeros(K)
    multinomial_intercept_newton(Z, np.ascontiguousarray(y, dtype=np.float64),
                                 np.ascontiguousarray(a, dtype=np.float64), masses,
                                 max_steps, 30, _ROUND_OFF, moved)
    return Z, b - moved


def newton_on_intercept(evaluate, newton_step, shift, Z, b, evaluated, *, max_steps, tries,
                        round_off=None, settled=0.0):
    """Newton steps on the intercept alone, the loop of :func:`refine_intercept` and of the
    smooth route's refinement (which keeps its own layout and cached probabilities).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(Z) -> (value, state)``: the loss at a predictor and whatever
        ``newton_step`` needs there.
    newton_step : callable
        ``newton_step(Z, state) -> (step, g @ step)`` at the current point (``g`` the
        intercept's gradient), or None to stop (a zero gradient).
    shift : callable
        ``shift(Z, step)``: the predictor with the intercept moved by ``-step``.
    Z, b : arrays
        Predictor and intercept; ``evaluated`` is ``evaluate(Z)``.
    max_steps, tries : int
        Newton steps at most; trial lengths per step (halved from one), the step dropped
        and the refinement ended when none lowers the loss.
    round_off : float, optional
        A step whose ``g @ step`` is at most ``round_off * |value|`` is taken untested and
        ends the refinement: the loss would not resolve its decrease.
    settled : float
        The refinement ends after a step whose predicted decrease ``t (g @ step) / 2`` is at
        most this (infinity: one step, exact for least squares).

    Returns
    -------
    Z, b, value, state
        At the last point kept (``value`` and ``state`` of the last tested one; after an
        untested step, of the point before it).
    """
    value, state = evaluated
    for _ in range(max_steps):
        newton = newton_step(Z, state)
        if newton is None:
            break
        step, decrease = newton
        if round_off is not None and decrease <= round_off * abs(value):
            return shift(Z, step), b - step, value, state
        t = 1.0
        for _ in range(tries):
            trial = shift(Z, t * step)
            trial_value, trial_state = evaluate(trial)
            if trial_value <= value:
                break
            t *= 0.5
        else:
            break
        Z, b, value, state = trial, b - t * step, trial_value, trial_state
        if 0.5 * t * decrease <= settled:
            break
    return Z, b, value, state


def _device(x):
    from array_api_compat import device

    return device(x)
