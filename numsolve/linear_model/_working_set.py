"""The working-set engine: greedy (GS-q) working sets, compiled coordinate epochs with
Anderson extrapolation, duality-gap stopping and an active-set Newton finish.

This is what ``bcd(..., rule="auto")`` runs for NumPy and SciPy sparse inputs. Each outer
iteration computes the full gradient once, scores every feature by the GS-q rule (the
decrease the proximal coordinate model promises), keeps the support plus the best-scoring
features (dense least squares: past the violators, those nearest to violating; twice the
support size, at least ``p0``, the first at least an eighth of the violators, see
``_FIRST_SHARE``; for sparse least squares at least twice the last working set when that one was solved in few epochs, while the support still grows
or epochs are fast; every feature on tall sparse data, n >= 10 p), and solves the
restricted problem with cyclic proximal block-coordinate epochs (a feature's K coefficients
form one block) until its own duality gap falls below a fraction of the global one (for
least squares checked where the observed rate predicts it is met, so that fast solves do not
run far past it). When the support is unchanged between two checks of the inner loop, or
between two outer iterations (dense least squares: changed by at most 2 % of its features),
Newton steps on the support finish the job (on sparse least squares, epochs do where the
support is small against n and their rate reaches the requested gap soon: the exact finish
would land at round-off). For the binary logistic loss the restricted problem is instead
solved by proximal Newton steps (:mod:`._prox_newton`): the finish would factor an ``m x m``
Hessian of rank at most ``n`` per step, which dominated once supports grew near ``n``, and
its sign projections left the support a few coefficients per step. Once the gap is small,
gap-safe screening (:mod:`._screening`) removes the features it proves to be zero at the
solution. A converged fit whose gap fell far below the request is stepped back to near it on
its support (:mod:`._landing`), after the solve rather than by a looser one. The outer
gradient is a pass over ``X`` on the Gram route too: reading the features that have a Gram
row from it (``X' A y`` kept once) cost more than it saved where the Gram holds a fifth of
the features (1000 x 1000 at alpha_max/10: 7.5 -> 8.4 ms; tall data runs :mod:`._gram_engine`).
"""

from typing import NamedTuple

import numpy as np

from . import _cd as kernels
from ._cd import DatafitKind
from ._gram_route import WorkingSetGram, gram_pays, solve_on_gram
from ._anderson import anderson_guess
from ._landing import Previous, land, overshot
from ._newton import newton_finish
from ._prox_newton import prox_newton_inner
from ._objective import dual_correlation, optimality, refine_intercept, stopping_scale
from ._screening import gap_safe_screen, screening_possible
from ._stall import StallWatch
from ._ws_gap import least_squares_optimality, multinomial_optimality
from ._ws_scores import gsq_scores_single

__all__ = ["WorkingSetResult", "fill_keys", "gsq_scores", "solve_working_set"]

_ANDERSON = 5
_NO_MEANS = np.empty(0)
_CHECK_EVERY = 10
# The multinomial loss: its epochs step each class by its own curvature and divide the gap
# by orders of magnitude within ten, so the gap is checked every _SOFTMAX_CHECK_EVERY epochs
# (iris' elastic net landed at 0.6 % of the requested gap after ten), the Newton finish
# taken every _SOFTMAX_FINISH_EVERY (each costs a support Hessian)
_SOFTMAX_CHECK_EVERY = 5
_SOFTMAX_FINISH_EVERY = 10
_INNER_FRACTION = 0.3
# Sparse least squares: the support's growth lags twice the support by several outer
# iterations (each a full gradient); doubling the working set instead cut the grid's sparse
# cells from 8 / 19 / 29 to 6 / 13 / 16 outer iterations (2000 x 20000, density 1e-3) and
# 4 / 14 / 22 to 3 / 11 / 17 (5000 x 25000, 2e-4). It pays only while working sets are
# solved in few epochs (_GROWTH_EPOCHS): at alpha_max/1000 the doubled sets, up to 8x the
# support, made every epoch dearer (CPU time under load at alpha_max/10, /100, /1000:
# 2000 x 20000 always doubling 11.9 / 58.5 / 683 ms, never 14.6 / 52.7 / 421, after fast
# solves only 11.2 / 56.9 / 547; 5000 x 25000 7.6 / 48.3 / 2798, 8.7 / 44.9 / 1266,
# 7.6 / 46.3 / 1367); on dense data it added outer iterations on tall cells. Nor does it
# pay once the support has settled (grew by less than _SETTLED in the last outer iteration)
# unless epochs are fast (_FAST_RATE): 2000 x 20000 at alpha_max/100 doubled 1280 -> 15595
# features around a support of 870-885 with epochs dividing the gap by 1.2 each, and a set
# of twice the support took it from 39.5 to 28.4 ms CPU (same 182 epochs, 14 outer
# iterations instead of 13); 2000 x 2000 (density 0.1) at alpha_max/1000 keeps its doubling
# to the whole problem, solved there in 8 fast epochs.
_GROWTH = 2
_GROWTH_EPOCHS = 20
_SETTLED = 1.1
# Dense least squares on column epochs: where a full gradient costs at most _CHEAP_GRADIENT
# epochs over twice the support (p <= 8 |support|), extra outer iterations are cheap and the
# working set keeps 1.5x the support instead of 2x. Supports near n (correlated 1000 x 5000
# at alpha_max/100, 934 of them) made the restricted problems rank-deficient and slow to
# solve: 560 -> 400 epochs, same 21 outer iterations; 1000 x 1000 at alpha_max/100 161 ->
# 166 epochs on working sets 955 instead of 1000 wide. Gram-route cells keep 2x (their
# outer gradient is the dear part: 5000 x 500 at alpha_max/1000 went 7 -> 9 iterations).
_LEAN_GROWTH = 1.5
_CHEAP_GRADIENT = 4
# Least squares: a working set's criterion is checked before the regular check where a
# rate of decrease of at least this log-factor per epoch predicts its tolerance is met
# (sparse 20000 x 2000 at alpha_max/1000: 55 -> 21 epochs, every set was solved to about
# 1e-9 for a tolerance near 1e-3); slower solves gain nothing from early stops
# (5000 x 25000 at alpha_max/1000: 3040 -> 6307 epochs without this floor).
_FAST_RATE = -1.0
# Sparse least squares on tall data (n >= _TALL p): X'X is well conditioned and coordinate
# epochs over every feature converge in about ten, each costing about one full gradient,
# while growing working sets from p0 spends a full gradient per outer iteration to find the
# support. Every kept feature is then the working set, solved by epochs alone (a Newton
# finish on a support of hundreds would form its dense Hessian) with a check every
# _TALL_CHECK_EVERY epochs: first down to where screening starts (_SCREEN_FROM), so that
# the rest runs on what screening keeps, then to the requested gap. Sparse 20000 x 2000
# (density 1e-2) at alpha_max/10, /100, /1000: outer iterations 4 / 4 / 9 -> 2 / 2 / 2,
# epochs 26 / 26 / 35 -> 6 / 6 / 10 (the last on 40-50 features at the first two), CPU time
# under load 9.7 / 12.0 / 26.6 -> 6.5 / 9.7 / 17.8 ms, final gaps 1e-15 / 6e-16 / 2e-9 ->
# 9.5e-10 / 2.7e-9 / 3.4e-9 for a threshold of 2.4e-8. Square data lose (2000 x 2000,
# density 0.1, at alpha_max/100 and /1000: 7.8 -> 12.9 and 39 -> 52 ms).
_TALL = 10
# Sparse least squares: where a settled support is small against n (at most n / _TALL
# features, so X_S'X_S is well conditioned, as on tall data) and the observed rate takes its
# working set to the requested gap within this many epochs, epochs finish it instead of the
# exact Newton finish. Epochs over such a set cost microseconds on sparse data, the finish
# (support Hessian, factor, sign projections) milliseconds, and it lands at round-off:
# 2000 x 20000 (density 1e-3) at alpha_max/10 went 17.1 -> 13.5 ms CPU under load, same
# 6 outer iterations, final gap 2.8e-17 -> 5.4e-10 for a threshold of 1.6e-9. Without the
# support bound, alpha_max/1000 (1881 features for n = 2000) took 1080 -> 1840 epochs and
# 0.78-0.89 -> 1.1 s.
_EPOCH_FINISH = 30
_TALL_CHECK_EVERY = 5
# Dense least squares: the outer iterations' Newton finish starts once the support changed
# by at most this fraction of its features since the last one, not only when it repeats
# exactly: the finish solves the support exactly, the next outer iteration adds or drops
# the few features still moving. 1000 x 1000 at alpha_max/100, 635 -> 638 -> 638 -> 637
# -> 637 features (4, 1, 0 changed): 13 -> 11 outer iterations, 174 -> 144 epochs; at
# alpha_max/1000 303 -> 283 epochs. 0.05 and 0.1 finished on supports still moving
# (1000 x 1000 at alpha_max/1000: one more finish, 10 % slower than 0.02).
_SETTLED_CHANGE = 0.02
# Screening starts once the gap is below this fraction of P(0): with a looser gap it discards
# few features, and the smaller restricted gap only perturbs the working-set schedule (on
# L1-logistic problems at alpha_max/100 that cost about 10% more epochs).
_SCREEN_FROM = 1e-2
# Binary logistic: a working set of every kept feature with at most this many entries
# (n x size) is solved to the requested gap at once: its proximal Newton steps cost less
# than the ~130 us of Python around an outer iteration. breast_cancer (569 x 30,
# standardised, best of 21 interleaved): L1 C=1 2.82 -> 2.43 ms (6 -> 4 outer iterations),
# raw C=10 7.5 -> 2.9 ms (5 -> 3), elastic net C=1 / 10 2.9 -> 2.4 / 6.0 -> 3.0 ms (7 / 9 -> 3),
# L1 C=10 3.7 ms both (5 -> 3). Without the bound, the grid's larger cells (2000 x 500,
# 20000 x 100, 20000 x 1000 at alpha_max/100 and /1000) took 1-4 % more epochs.
_SMALL_WHOLE = 100_000
# Dense least squares: a working set that leaves out most features (at most 1 / _FILL_SHARE
# of them taken) is topped up past the violators by those nearest to violating
# (:func:`fill_keys`); larger sets, which leave out few, keep GS-q's order: on 1000 x 1000
# at alpha_max/100 (sets of 950 of 1000) the other fill took the same 11 outer iterations
# and 144 epochs, 0.3-1.5 % slower over three runs.
_FILL_SHARE = 2
# Dense least squares: the first working set (no support yet) holds at least 1 / _FIRST_SHARE
# of the features violating their optimality condition at zero, at most n / _FIRST_CAP,
# instead of p0 doubled per outer iteration up to the support. 1000 x 1000 at alpha_max/10
# (569 violators, final support 126): 6 -> 3 outer iterations, 87 -> 62 epochs, 7.56 ->
# 5.12 ms CPU; /100 11 -> 7 and 144 -> 109, /1000 12 -> 8 and 283 -> 304, both equal in
# time (52.9 / 172.5 -> 53.2 / 172.0 ms); 100 x 10000 at /1000 94.9 -> 87.8 ms; tall cells
# unchanged (best of 11, interleaved, process_time, loaded). A quarter of the violators
# solved 1000 x 1000 at /100 in 65.7 instead of 51.8 ms; without the cap 100 x 10000 at
# /1000 (supports near n) took 79 -> 129 ms.
_FIRST_SHARE = 8
_FIRST_CAP = 4


class WorkingSetResult(NamedTuple):
    """What :func:`solve_working_set` returns."""

    n_iter: int
    converged: bool
    epochs: int
    criterion: float
    primal: float
    threshold: float
    gram_solves: int
    """Working sets solved on their Gram matrix (:mod:`._gram_route`)."""


def gsq_scores(penalty, W, grad, lips):
    """GS-q score per feature: the decrease promised by its proximal coordinate model.

    For coordinate ``i`` with ``d_i = prox_{g/L_i}(w_i - grad_i/L_i) - w_i`` the score is
    ``-(grad_i d_i + L_i d_i^2/2 + g(w_i + d_i) - g(w_i))``, summed over a feature's classes
    (one coefficient per feature: the compiled :func:`._ws_scores.gsq_scores_single`).
    """
    if W.shape[1] == 1:
        out = np.empty(W.shape[0])
        gsq_scores_single(np.ascontiguousarray(W[:, 0], dtype=np.float64),
                          np.ascontiguousarray(grad[:, 0], dtype=np.float64),
                          np.ascontiguousarray(lips, dtype=np.float64), penalty.l1,
                          penalty.l2, penalty.positive, out)
        return out
    L = np.where(lips > 0, lips, 1.0)[:, None]
    d = penalty.prox(W - grad / L, 1.0 / L, np) - W
    new = W + d
    change = penalty.l1 * (np.abs(new) - np.abs(W)) + 0.5 * penalty.l2 * (new * new - W * W)
    scores = -(grad * d + 0.5 * L * d * d + change).sum(axis=1)
    return np.where(lips > 0, np.maximum(scores, 0.0), 0.0)


def _criterion(datafit, penalty, W, Z, y, a, grad, G, col_means):
    """``(primal, criterion, kkt)``: the criterion is the duality gap, or the KKT violation
    without a dual; single-task least squares without an intercept and the multinomial loss
    in one compiled call (:mod:`._ws_gap`)."""
    if (datafit.kind == DatafitKind.LEAST_SQUARES and W.shape[1] == 1 and col_means is None
            and penalty.has_dual):
        column = np.ascontiguousarray
        return least_squares_optimality(column(Z[:, 0]), y, a, column(G[:, 0]),
                                        column(W[:, 0]), column(grad[:, 0]), penalty.l1,
                                        penalty.l2, penalty.positive)
    if datafit.kind == DatafitKind.MULTINOMIAL and penalty.has_dual:
        column = np.ascontiguousarray
        return multinomial_optimality(Z, G, y, a, column(W, dtype=np.float64),
                                      column(grad, dtype=np.float64),
                                      _NO_MEANS if col_means is None else column(col_means),
                                      penalty.l1, penalty.l2, penalty.positive)
    primal, gap, kkt = optimality(datafit, penalty, W, Z, y, a, grad, G, np, col_means)
    return primal, (gap if penalty.has_dual else kkt), kkt


def _evaluate(design, y, a, datafit, penalty, W, Z, G, keep, col_means):
    """Gradient over the kept features and the criterion of the problem restricted to them.

    Screened features are provably zero at every solution, so the restricted problem has the
    same solutions and its duality gap bounds the full problem's suboptimality.
    """
    kernels.raw_gradient(datafit.kind, Z, y, a, G)
    if keep.size == W.shape[0]:
        grad = design.gradient(G)
    elif G.shape[1] > 1:  # the library product beats a gather over columns
        grad = design.gradient(G)[keep]
    else:  # the kernel reads the kept columns only (sparse too: 2x SciPy's full product
        # on half of 20000 x 2000 or 2000 x 20000)
        grad = design.gradient(G, keep)
    means = None if col_means is None else col_means[keep]
    primal, crit, kkt = _criterion(datafit, penalty, W[keep], Z, y, a, grad, G, means)
    return grad, primal, crit, kkt


def _first_evaluation(design, y, a, datafit, penalty, W, b, Z, G, col_means):
    """``(lips, Z, evaluation)``: the coordinate Lipschitz constants, the linear predictor
    after the intercept's refinement and the first :func:`_evaluate` there (every feature
    kept), the column sums of both in one pass over ``X``
    (:meth:`._design.Design.col_sq_norms_gradient`)."""
    if col_means is not None:
        Z, b[:] = refine_intercept(datafit, Z, y, a, b, np)
    kernels.raw_gradient(datafit.kind, Z, y, a, G)
    norms, grad = design.col_sq_norms_gradient(a, G)
    return datafit.bound * norms, Z, (grad, *_criterion(datafit, penalty, W, Z, y, a, grad,
                                                        G, col_means))


def solve_working_set(design, y, a, datafit, penalty, W, b, *, fit_intercept, tol,
                      max_iter, max_epochs, p0, newton, recorder, bar, lips=None,
                      screening=True, gram="auto", gram_cache=None):
    """Run the engine in place on ``W`` (p, K) and ``b`` (K,); return a
    :class:`WorkingSetResult`.

    The stopping test is ``gap <= tol * P(0)`` (``P(0)``: :func:`._objective.stopping_scale`), or
    ``max KKT violation <= tol`` when the penalty has no dual (no penalty). A certified gap
    below a hundredth of ``tol * P(0)`` is landed (:mod:`._landing`): the returned point
    steps back toward the previous outer iteration's point, on the exact point's support,
    to a certified gap in ``[tol * P(0) / 100, tol * P(0)]`` (the exact point is returned
    when no trial lands there); the criterion returned and the history's last record are
    that point's. ``lips``
    (coordinate Lipschitz constants) may be passed to reuse them across calls. With
    ``screening``, every gap evaluation once the gap is below ``P(0)/100`` runs the gap-safe
    test (:mod:`._screening`): the features it discards are set to zero and leave the
    problem for good (gradients, gaps and working sets are then computed over the remaining
    features, whose restricted problem has the same solutions); the history's
    ``n_screened`` counts them. Each record is taken after that check's screening, at the
    iterate it leaves. ``gram`` (least squares only): ``"auto"`` solves a working set on its
    Gram matrix when :func:`._gram_route.gram_pays` says so, ``True`` always, ``False`` never;
    ``gram_cache`` (a :class:`._gram_route.WorkingSetGram` of the same design and weights)
    carries the Gram across calls, as along a regularisation path.
    """
    n, p = design.shape
    K = W.shape[1]
    y = np.ascontiguousarray(y, dtype=np.float64)  # the kernels' layout (a column of Y is not)
    a = np.ascontiguousarray(a, dtype=np.float64)
    keep = np.arange(p, dtype=np.int32)
    Z = np.empty((n, K))
    design.predict(W, keep, b, Z)
    G = np.empty((n, K))
    col_means = np.asarray(design.X.T @ a).reshape(-1) if fit_intercept else None
    # the first outer iteration's evaluation, taken with the Lipschitz constants when they
    # are computed here (one pass over X for both)
    reused = None
    if lips is None:
        lips, Z, reused = _first_evaluation(design, y, a, datafit, penalty, W, b, Z, G,
                                            col_means)
    scale = stopping_scale(datafit, y, a, K, fit_intercept, np)
    threshold = tol * scale if penalty.has_dual else tol
    screening = screening and penalty.l1 > 0
    epochs = 0
    previous_support = None
    # least squares: the support an exact Newton finish last solved; a second finish on it
    # cannot move (the epochs since left it at that support's optimum)
    quadratic = datafit.kind == DatafitKind.LEAST_SQUARES
    # dense least squares: leaner working sets after column solves (_LEAN_GROWTH), a first
    # working set sized from the violators (_FIRST_SHARE), a fill by the nearest violators
    # (_FILL_SHARE), and the outer iterations' finish started once the support changes by
    # few features (_SETTLED_CHANGE; every other fit waits for it to repeat exactly)
    dense_quadratic = quadratic and not design.sparse
    exact_at = None
    converged = False
    on_gram = gram is not False and quadratic and K == 1
    settled_change = _SETTLED_CHANGE if dense_quadratic else 0.0
    # binary logistic: proximal Newton steps on each working set (:mod:`._prox_newton`)
    prox_newton = newton and datafit.kind == DatafitKind.LOGISTIC and K == 1
    gram_solves = 0
    # sparse least squares: each working set at least doubles the last one after a solve
    # of at most _GROWTH_EPOCHS epochs (see _GROWTH)
    growth = _GROWTH if quadratic and design.sparse else 0
    on_columns = False
    ws_size = 0
    last_epochs = 0
    last_support = 0  # the support when the last working set was chosen
    rate = None  # the criterion's log-decrease per column epoch, last measured
    primal = crit = np.inf
    n_iter = 0
    # sparse least squares on tall data: the whole problem is the first working set (_TALL)
    tall = quadratic and design.sparse and K == 1 and n >= _TALL * p
    # its first solve stops where screening starts, so that later epochs skip what it drops
    screen_first = tall and screening
    # sparse least squares: epochs rather than the exact finish where they are fast
    # (_EPOCH_FINISH)
    finish_tol = 0.5 * threshold if quadratic and design.sparse else None
    # the last check of a working set holding every kept feature is the global evaluation
    # (without an intercept, whose refinement moves Z first): the next outer iteration
    # takes it instead of another full gradient
    previous = None  # the last outer iteration's point, where a landing steps back to
    for n_iter in range(1, max_iter + 1):
        if reused is not None:
            evaluation, reused = reused, None
        else:
            if fit_intercept:
                Z, b[:] = refine_intercept(datafit, Z, y, a, b, np)
            evaluation = _evaluate(design, y, a, datafit, penalty, W, Z, G, keep, col_means)
        if screening and threshold < evaluation[2] <= _SCREEN_FROM * scale:
            keep, evaluation = _screen(design, y, a, datafit, penalty, W, b, Z, G, keep, lips,
                                       col_means, evaluation)
        if previous is not None and overshot(evaluation[2], threshold):
            evaluation = _land(design, y, a, datafit, penalty, W, b, Z, G, keep, col_means,
                               evaluation, previous, threshold)
        grad, primal, crit, kkt = evaluation
        recorder.record(n_iter - 1, objective=primal, gap=crit, kkt=kkt, epochs=epochs,
                        n_screened=p - keep.size)
        bar.set_postfix(gap=f"{crit:.2e}", refresh=False)
        if crit <= threshold:
            converged = True
            n_iter -= 1
            break
        if keep.size == 0:  # W = 0 is the solution; the next check confirms it
            continue
        in_model = np.any(W[keep] != 0, axis=1)
        previous = Previous(keep[in_model], W[keep[in_model]], crit, b.copy(), Z.copy(),
                            G.copy(), grad, keep)
        support_size = int(in_model.sum())
        lean = dense_quadratic and on_columns and keep.size <= _CHEAP_GRADIENT * 2 * support_size
        size = min(keep.size, max(p0, int((_LEAN_GROWTH if lean else 2) * support_size),
                                  growth * ws_size if last_epochs <= _GROWTH_EPOCHS and (
                                      support_size > _SETTLED * last_support
                                      or rate is not None and rate <= _FAST_RATE) else 0))
        last_support = support_size
        if tall:
            size = keep.size
        elif dense_quadratic and support_size == 0 and K == 1:
            size = max(size, min(keep.size, n // _FIRST_CAP,
                                 _violators(penalty, grad[:, 0]) // _FIRST_SHARE))
        ws_size = size
        chosen = _best_features(penalty, W[keep], grad, lips[keep], in_model, size,
                                nearest=dense_quadratic)
        ws = keep[chosen]
        # a working set of every kept feature is the whole problem, its gap the global one:
        # where its epochs are fast, a looser inner stop only costs another outer iteration
        # (sparse 20000 x 2000 at alpha_max/1000: 12 -> 9 outer iterations); slow ones keep
        # the schedule and its Newton finishes (2000 x 20000 at alpha_max/1000 was 15 % slower)
        # (binary logistic: where the whole set is small, see _SMALL_WHOLE)
        whole = size == keep.size and (tall or rate is not None and rate <= _FAST_RATE or
                                       prox_newton and n * size <= _SMALL_WHOLE)
        inner_tol = 0.5 * threshold if whole else max(_INNER_FRACTION * crit, 0.5 * threshold)
        if screen_first:
            inner_tol, screen_first = max(inner_tol, _SCREEN_FROM * scale), False
        use_gram = on_gram and (gram is True or not (tall and whole) and gram_pays(
            design, ws, fit_intercept))
        on_columns = not use_gram
        solved = False
        if use_gram:
            # epochs on the Gram cost far less than an outer iteration (a full gradient over
            # X): each working set is solved to the requested gap at once; the Gram is
            # started here, as most sparse fits never take this route
            if gram_cache is None:
                gram_cache = WorkingSetGram(design, a, col_means)
            epochs += solve_on_gram(gram_cache, design, y, a, datafit, penalty, W, b, Z, G,
                                    ws, grad[chosen], 0.5 * threshold, max_epochs)
            gram_solves += 1
        else:
            stalled = True
            if prox_newton:
                means = None if col_means is None else col_means[ws]
                run, stalled = prox_newton_inner(
                    design, y, a, datafit, penalty, W, b, Z, G, ws, col_means, inner_tol,
                    max_epochs, lambda g: _criterion(datafit, penalty, W[ws], Z, y, a, g, G,
                                                     means)[1])
                epochs += run
            if stalled:
                epochs_only = tall and whole
                run = _inner(design, y, a, datafit, penalty, W, b, Z, G, ws, lips, col_means,
                             inner_tol, max_epochs, newton and not epochs_only, exact_at, crit,
                             quadratic, rate,
                             _TALL_CHECK_EVERY if epochs_only else
                             _SOFTMAX_CHECK_EVERY if K > 1 and datafit.kind ==
                             DatafitKind.MULTINOMIAL else _CHECK_EVERY,
                             finish_tol)
                epochs += run.epochs
                last_epochs = run.epochs
                rate = run.rate
                exact_at = run.tried if quadratic else None
                # the working set already meets the requested gap, or its epochs divide the
                # gap by e or more each: an exact finish (O(n |S|^2)) would only over-solve
                solved = quadratic and (run.criterion <= 0.5 * threshold or (
                    run.rate is not None and run.rate <= _FAST_RATE))
                if whole and not fit_intercept and run.evaluation is not None:
                    reused = run.evaluation
        support = np.flatnonzero(np.any(W != 0, axis=1))
        if newton and not (use_gram or prox_newton or solved) and _settled(
                support, previous_support, settled_change) and not np.array_equal(
                support, exact_at):
            if finish_tol is not None and _TALL * support.size <= n and _epochs_to(
                    finish_tol, run.criterion, run.rate) <= _EPOCH_FINISH:
                more = _inner(design, y, a, datafit, penalty, W, b, Z, G, ws, lips, col_means,
                              finish_tol, max_epochs, False, exact_at, run.criterion, True,
                              run.rate)
                epochs += more.epochs
                reused = more.evaluation if whole and not fit_intercept else None
            else:
                newton_finish(design, datafit, penalty, W, b, Z, y, a, fit_intercept,
                              **_finish_target(design, y, a, datafit, penalty, W,
                                               Z, G, ws, col_means, 0.5 * threshold))
                reused = None
            exact_at = support if quadratic else None
        previous_support = support
        bar.update(1)
    else:
        if fit_intercept:
            Z, b[:] = refine_intercept(datafit, Z, y, a, b, np)
        _, primal, crit, kkt = _evaluate(design, y, a, datafit, penalty, W, Z, G, keep,
                                         col_means)
        recorder.record(n_iter, force=True, objective=primal, gap=crit, kkt=kkt, epochs=epochs,
                        n_screened=p - keep.size)
        converged = crit <= threshold
    return WorkingSetResult(n_iter, converged, epochs, crit, primal, threshold, gram_solves)


def _land(design, y, a, datafit, penalty, W, b, Z, G, keep, col_means, evaluation, previous,
          threshold):
    """:func:`._landing.land` with this engine's evaluation and criterion over ``keep``: the
    certified gap, where it is far below ``threshold``, moved back up to near it."""
    means = None if col_means is None else col_means[keep]

    def evaluate(W, Z, b, G):
        if col_means is not None:
            Z, b[:] = refine_intercept(datafit, Z, y, a, b, np)
        return Z, _evaluate(design, y, a, datafit, penalty, W, Z, G, keep, col_means)

    def criterion(W, Z, grad, G):
        return _criterion(datafit, penalty, W[keep], Z, y, a, grad, G, means)

    return land(design, W, b, Z, G, keep, evaluation, previous, threshold,
                quadratic=datafit.kind == DatafitKind.LEAST_SQUARES, evaluate=evaluate,
                criterion=criterion)


def _settled(support, previous, change):
    """True when ``support`` differs from the ``previous`` one (None: none yet) in at most
    ``change`` times its size features (both sorted, without repeats)."""
    if previous is None:
        return False
    if change == 0:
        return np.array_equal(support, previous)
    return np.setxor1d(support, previous, assume_unique=True).size <= change * support.size


def _best_features(penalty, W, grad, lips, in_model, size, nearest=False):
    """Sorted positions of the ``size`` features to solve: every one in the model, then the
    best :func:`gsq_scores`, then, with ``nearest`` (one coefficient per feature, at most
    a ``1 / _FILL_SHARE`` share of the features taken), those nearest to violating their
    optimality condition (:func:`fill_keys`); no scoring when all are taken (tall sparse
    data, small problems)."""
    if size == W.shape[0]:
        return np.arange(size)
    scores = gsq_scores(penalty, W, grad, lips)
    if nearest and W.shape[1] == 1 and _FILL_SHARE * size <= W.shape[0]:
        scores = fill_keys(penalty, scores, grad[:, 0])
    scores[in_model] = np.inf
    return np.sort(np.argpartition(-scores, size - 1)[:size])


def _violators(penalty, g):
    """How many zero single-coefficient features violate their optimality condition."""
    return int(np.count_nonzero(_pull(penalty, g) > penalty.l1))


def _pull(penalty, g):
    """The gradient's pull away from zero, which the penalty's ``l1`` must hold back."""
    return -g if penalty.positive else np.abs(g)


def fill_keys(penalty, scores, g):
    """Ranking keys of single-coefficient features: the GS-q ``scores`` of those that violate
    their optimality condition (positive), then, for the others, how near their gradient
    ``g`` is to violating it (``|g_j| - l1``, at most zero).

    A working set topped up past the violators would otherwise take arbitrary zero-score
    features; the nearest ones are those most likely to enter next. 100 x 10000 at
    alpha_max/1000: 28 -> 19 outer iterations, 99 -> 90 ms CPU; at alpha_max/10 10 -> 8,
    12.9 -> 11.9 ms (best of 7 interleaved, loaded machine); the other dense cells equal.
    Dense least squares only: sparse 2000 x 20000 (density 1e-3) at alpha_max/100 took
    182 -> 202 epochs, 33.8 -> 37.4 ms; dense logistic cells moved both ways within 5 %.
    """
    return np.where(scores > 0, scores, _pull(penalty, g) - penalty.l1)


def _screen(design, y, a, datafit, penalty, W, b, Z, G, keep, lips, col_means, evaluation):
    """Gap-safe screening of the kept features at the current iterate.

    Parameters
    ----------
    keep : int array
        The features still in the problem.
    evaluation : tuple
        ``(grad, primal, crit, kkt)`` of :func:`_evaluate` at the current iterate; ``G``
        holds its raw gradient.

    Returns
    -------
    keep : int array
        The features that stay.
    evaluation : tuple
        ``(grad, primal, crit, kkt)`` over them. The discarded features are set to zero in
        ``W``; when one of them was nonzero, ``Z`` and ``G`` are updated and the whole
        evaluation is recomputed at the new iterate, otherwise only ``grad`` is restricted.
    """
    grad, primal, crit, kkt = evaluation
    kept_lips = lips[keep]
    if not screening_possible(penalty, crit, primal, kept_lips):
        return keep, evaluation
    means = None if col_means is None else col_means[keep]
    dropped = gap_safe_screen(penalty, dual_correlation(penalty, grad, G, a, np, means), crit,
                              primal, kept_lips)
    if not dropped.any():
        return keep, evaluation
    moved = np.any(W[keep[dropped]] != 0)
    W[keep[dropped]] = 0.0
    keep = keep[~dropped]
    if not moved:
        return keep, (grad[~dropped], primal, crit, kkt)
    design.predict(W, keep, b, Z)
    return keep, _evaluate(design, y, a, datafit, penalty, W, Z, G, keep, col_means)


def _inner(design, y, a, datafit, penalty, W, b, Z, G, ws, lips, col_means, inner_tol,
           max_epochs, newton, tried=None, entry_crit=np.inf, predict=False, rate=None,
           check_every=_CHECK_EVERY, finish_tol=None):
    """Proximal coordinate epochs on the working set with Anderson extrapolation until the
    restricted criterion is at most ``inner_tol``; returns an :class:`_InnerRun`.

    The criterion is checked every ``check_every`` epochs. With ``predict``, a check is
    also made where the rate of decrease seen since the last check (or since the working
    set's ``entry_crit``; before that, the ``rate`` of an earlier working set) predicts that
    ``inner_tol`` is crossed: on easy problems a few epochs divide the gap by orders of
    magnitude, and the regular checks alone solve every working set far past its tolerance.
    At every regular check, if the support has not changed since the previous one, Newton
    steps on the support (:func:`newton_finish`) replace the remaining coordinate epochs,
    unless they were already taken on that support (``tried``, which the caller may pass).
    With ``finish_tol``, where the rate predicts that epochs reach it within
    ``_EPOCH_FINISH`` more, they finish to it instead (the exact finish would land far
    below any request). A criterion stalled at round-off (:class:`._stall.StallWatch`) ends
    the run early, as a spent budget does.

    Without an intercept the epochs up to the next check or extrapolation run in one
    compiled call (:meth:`._design.Design.epochs`); for least squares without Newton steps
    that call also returns the check's gradient, read from its last epoch where no
    coefficient moved since (sparse 20000 x 2000 at density 1e-2, CPU time best of 25
    interleaved under load, alpha_max/10, /100, /1000: 3.46 / 3.76 / 6.49 ms with a full
    gradient after the call, 2.93 / 3.13 / 6.35 with it; same epochs).
    """
    kind, l1, l2, positive = datafit.kind, penalty.l1, penalty.l2, penalty.positive
    buffer = []
    previous = None
    regular = check_every
    target = inner_tol if predict else 0.0
    check = _predicted_check(regular, 0, entry_crit, target, rate)
    last_check, last_crit, crit = 0, entry_crit, entry_crit
    # least squares without a Newton finish: nothing moves the coefficients between a
    # check's last epoch and its gradient, which that epoch's call returns
    fused = not newton and kind == DatafitKind.LEAST_SQUARES and W.shape[1] == 1
    watch = StallWatch()
    epoch = 0
    while epoch < max_epochs:
        # without an intercept, the epochs up to the next check or extrapolation run in one
        # compiled call (an intercept step follows each epoch)
        count = 1 if col_means is not None else min(check, max_epochs) - epoch
        count = min(count, _ANDERSON + 1 - len(buffer))
        iterates = np.empty((count, ws.size * W.shape[1] + b.size))
        at_check = (fused and col_means is None and epoch + count == check
                    and len(buffer) + count <= _ANDERSON)
        grad = design.epochs(kind, y, a, W, Z, ws, lips, l1, l2, positive, iterates,
                             G if at_check else None)
        epoch += count
        if col_means is not None and kind == DatafitKind.MULTINOMIAL:
            kernels.softmax_intercept_step(y, a, b, Z, datafit.bound)
        elif col_means is not None:
            kernels.intercept_step(kind, y, a, b, Z, datafit.bound)
        iterates[:, ws.size * W.shape[1]:] = b
        buffer.extend(iterates)
        if len(buffer) == _ANDERSON + 1:
            _extrapolate(design, y, a, datafit, penalty, W, b, Z, ws, buffer)
            buffer = []
        if epoch != check:
            continue
        if epoch == regular:
            regular += check_every
            support = ws[np.any(W[ws] != 0, axis=1)]
            # the softmax finishes at every _SOFTMAX_FINISH_EVERY epochs, settled support or
            # not: its projected arcs drop wrongly signed coefficients by the hundred, and an
            # epoch costs K binary ones (digits' L1 problem: 190 -> 90 epochs, same landing)
            softmax = kind == DatafitKind.MULTINOMIAL
            settled = (epoch % _SOFTMAX_FINISH_EVERY == 0 if softmax else
                       np.array_equal(support, previous))
            if newton and settled and not np.array_equal(support, tried):
                by_epochs = finish_tol is not None and _TALL * support.size <= Z.shape[0]
                if by_epochs and _epochs_to(finish_tol, last_crit, rate) - (
                        epoch - last_check) <= _EPOCH_FINISH:
                    inner_tol = min(inner_tol, finish_tol)
                    target = inner_tol if predict else 0.0
                else:
                    newton_finish(design, datafit, penalty, W, b, Z, y, a,
                                  col_means is not None,
                                  **_finish_target(design, y, a, datafit, penalty,
                                                   W, Z, G, ws, col_means, inner_tol))
                tried = support
            previous = support
        if grad is None:
            kernels.raw_gradient(kind, Z, y, a, G)
            grad = design.gradient(G, ws)
        means = None if col_means is None else col_means[ws]
        primal, crit, kkt = _criterion(datafit, penalty, W[ws], Z, y, a, grad, G, means)
        if 0 < crit < last_crit < np.inf:
            rate = np.log(crit / last_crit) / (epoch - last_check)
        if crit <= inner_tol:
            return _InnerRun(epoch, tried, crit, rate, (grad, primal, crit, kkt))
        if watch.stalled(crit, primal):
            return _InnerRun(epoch, tried, crit, rate, None)
        check = _predicted_check(regular, epoch, crit, target, rate)
        last_check, last_crit = epoch, crit
    return _InnerRun(max_epochs, tried, crit, rate, None)


def _finish_target(design, y, a, datafit, penalty, W, Z, G, ws, col_means, target):
    """:func:`newton_finish`'s stopping arguments: the criterion of the problem restricted
    to ``ws`` and ``target``; none for least squares, whose one exact step the schedule
    above takes or replaces by epochs (``finish_tol``)."""
    if datafit.kind == DatafitKind.LEAST_SQUARES:
        return {}
    return {"criterion": _restricted_gap(design, y, a, datafit, penalty, W, Z, G, ws,
                                         col_means), "target": target}


def _restricted_gap(design, y, a, datafit, penalty, W, Z, G, ws, col_means):
    """The criterion of the problem restricted to ``ws`` as a function reading ``W`` and
    ``Z`` when called (``G`` is overwritten)."""
    means = None if col_means is None else col_means[ws]

    def gap():
        kernels.raw_gradient(datafit.kind, Z, y, a, G)
        grad = design.gradient(G, ws)
        return _criterion(datafit, penalty, W[ws], Z, y, a, grad, G, means)[1]

    return gap


class _InnerRun(NamedTuple):
    """What :func:`_inner` returns."""

    epochs: int
    tried: object
    """The support (feature indices) of the last Newton finish, or None."""
    criterion: float
    """The last restricted criterion checked (``inf`` when none was)."""
    rate: object
    """Log of the criterion's decrease per epoch, last measured (None when never)."""
    evaluation: object
    """``(grad, primal, crit, kkt)`` of the check that met ``inner_tol`` at the returned
    iterate (``G`` holds its raw gradient), or None when the budget ran out."""


def _epochs_to(target, crit, rate):
    """Epochs the log-rate ``rate`` needs to take ``crit`` down to ``target`` (inf when no
    decrease was measured)."""
    if rate is None or not rate < 0 or not 0 < target < crit < np.inf:
        return 0.0 if 0 < crit <= target else np.inf
    return np.log(target / crit) / rate


def _predicted_check(regular, epoch, crit, target, rate):
    """The epoch of the next check: the next regular one, or earlier where ``rate`` predicts
    that ``crit`` falls below ``target`` before it (fast rates only, see ``_FAST_RATE``)."""
    if not (target > 0 and rate is not None and rate <= _FAST_RATE and target < crit < np.inf):
        return regular
    return min(regular, epoch + max(1, int(np.ceil(np.log(target / crit) / rate))))


def _extrapolate(design, y, a, datafit, penalty, W, b, Z, ws, buffer):
    """Anderson extrapolation of the last iterates; kept only if the objective decreases."""
    guess = anderson_guess(buffer)
    if guess is None:
        return
    K = W.shape[1]
    W_new = guess[: ws.size * K].reshape(ws.size, K)
    if penalty.positive:
        W_new = np.maximum(W_new, 0.0)
    b_new = guess[ws.size * K:]
    Z_new = np.empty_like(Z)
    W_full = np.zeros_like(W)
    W_full[ws] = W_new
    design.predict(W_full, ws, b_new, Z_new)
    before = float(datafit.value(Z, y, a, np)) + float(penalty.value(W[ws], np))
    after = float(datafit.value(Z_new, y, a, np)) + float(penalty.value(W_new, np))
    if after < before:
        W[ws] = W_new
        b[:] = b_new
        Z[:] = Z_new
