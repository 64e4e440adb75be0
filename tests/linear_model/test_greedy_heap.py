"""The heap engine: heap invariant, same picks as a full scan, agreement with scikit-learn,
work per update limited to Gram neighbours, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso as SkLasso

from numsolve.linear_model import (L1, L2, L1PlusL2, Logistic, NoPenalty, NonNegL1, Quadratic,
                                   bcd)
from numsolve.linear_model import _solver
from numsolve.linear_model._greedy_heap import (GREEDY_RULE_CODES, build_heap,
                                                greedy_heap_updates, heap_update_key,
                                                heap_valid)
from numsolve.linear_model._heap_engine import gram_operands

PENALTIES = [L1(0.05), NonNegL1(0.05), L1PlusL2(0.1, 0.5), L2(0.05), NoPenalty()]


# -- the heap -------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40).flatmap(lambda p: st.tuples(
    st.lists(st.integers(-3, 3), min_size=p, max_size=p),
    st.lists(st.tuples(st.integers(0, p - 1), st.integers(-3, 3)), max_size=60))))
def test_heap_invariant_after_key_changes(case):
    # few distinct keys: many ties, which must go to the smallest index
    keys, changes = case
    key = np.array(keys, dtype=float)
    p = key.shape[0]
    heap = np.empty(p, dtype=np.int64)
    pos = np.empty(p, dtype=np.int64)
    build_heap(heap, pos, key)
    assert heap_valid(heap, pos, key)
    for j, value in changes:
        heap_update_key(heap, pos, key, j, float(value))
        assert heap_valid(heap, pos, key)
        assert heap[0] == np.argmax(key)  # first maximum: smallest index among ties
    np.testing.assert_array_equal(np.sort(heap), np.arange(p))


def test_heap_valid_detects_a_broken_order():
    key = np.array([1.0, 5.0, 3.0])
    heap = np.array([0, 1, 2])
    pos = np.array([0, 1, 2])
    assert not heap_valid(heap, pos, key)
    build_heap(heap, pos, key)
    assert heap_valid(heap, pos, key) and heap[0] == 1


# -- same picks as a full scan ------------------------------------------------------------
def _integer_problem(sparse):
    # integer data and a = 1/64: the Gram matrix and the first gradient are exact, and the
    # duplicated columns 0/5 and 3/9 give exact ties that must go to the smaller index
    rng = np.random.default_rng(3)
    n, p = 64, 24
    X = rng.integers(-3, 4, size=(n, p)).astype(float)
    X[rng.random((n, p)) < 0.6] = 0.0
    X[:, 5] = X[:, 0]
    X[:, 9] = X[:, 3]
    y = rng.integers(-5, 6, size=n).astype(float)
    return (sp.csc_matrix(X) if sparse else X), X, y, np.full(n, 1.0 / n)


def _soft(v, t, positive):
    out = np.sign(v) * np.maximum(np.abs(v) - t, 0.0)
    return np.maximum(out, 0.0) if positive else out


def _reference_picks(X, y, a, penalty, rule, steps):
    """Plain greedy coordinate descent: full gradient from scratch and a full scan
    (``np.argmax``: first maximum) at every step."""
    l1, l2, positive = penalty.l1, penalty.l2, penalty.positive
    p = X.shape[1]
    L = np.array([np.dot(X[:, j], a * X[:, j]) for j in range(p)]) + l2
    L = np.where(L > 0, L, 1.0)
    w = np.zeros(p)
    picks = []
    for _ in range(steps):
        r = a * (X @ w - y)
        h = np.array([np.dot(X[:, j], r) for j in range(p)]) + l2 * w
        if rule == "gs-q":
            d = _soft(w - h / L, l1 / L, positive) - w
            score = -(h * d + 0.5 * L * d * d + l1 * (np.abs(w + d) - np.abs(w)))
        else:
            s = h
            if not penalty.smooth:
                s = np.where(w != 0, h + l1 * np.sign(w),
                             np.minimum(h + l1, 0.0) if positive else _soft(h, l1, False))
            score = s * s / L if rule == "gsl" else s * s
        i = int(np.argmax(score))
        if not score[i] > 0:
            break
        new = _soft(w[i] - h[i] / L[i], l1 / L[i], positive)
        if new == w[i]:
            break
        w[i] = new
        picks.append(i)
    return np.array(picks), w


def _run_kernel(Xs, y, a, penalty, rule, steps, use_heap):
    H, indptr, indices, data, lips = gram_operands(Xs, a, penalty.l2, False)
    p = H.shape[0]
    w = np.zeros(p)
    h = np.asarray(Xs.T @ (a * -y)).reshape(-1)
    trace = np.full(steps, -1, dtype=np.int64)
    heap, pos, key = np.empty(p, dtype=np.int64), np.empty(p, dtype=np.int64), np.empty(p)
    done, stalled, touched = greedy_heap_updates(
        GREEDY_RULE_CODES[rule], indptr, indices, data, lips, w, h, penalty.l1,
        penalty.positive, steps, use_heap, heap, pos, key, trace)
    if use_heap:
        assert heap_valid(heap, pos, key)
    return trace[:done], w, touched, H


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("rule", ["gs", "gsl", "gs-q"])
@pytest.mark.parametrize("sparse", [False, True])
def test_heap_picks_the_full_scan_sequence(sparse, rule, penalty):
    Xs, X, y, a = _integer_problem(sparse)
    steps = 40
    heap_picks, heap_w, _, _ = _run_kernel(Xs, y, a, penalty, rule, steps, True)
    scan_picks, scan_w, _, _ = _run_kernel(Xs, y, a, penalty, rule, steps, False)
    ref_picks, ref_w = _reference_picks(X, y, a, penalty, rule, steps)
    np.testing.assert_array_equal(heap_picks, scan_picks)
    np.testing.assert_array_equal(heap_w, scan_w)
    np.testing.assert_array_equal(heap_picks, ref_picks)
    np.testing.assert_allclose(heap_w, ref_w, rtol=1e-10, atol=1e-12)
    assert heap_picks.size == steps
    # the exact tie between the duplicated columns 0 and 5 went to column 0
    first = [i for i in heap_picks if i in (0, 5)]
    assert not first or first[0] == 0


# -- solutions ------------------------------------------------------------------------------
@pytest.fixture
def regression(rng):
    X = rng.standard_normal((70, 50))
    X[rng.random(X.shape) < 0.5] = 0.0
    w = np.zeros(50)
    w[:6] = rng.standard_normal(6) * 2
    return X, X @ w + 0.1 * rng.standard_normal(70) + 1.5


@pytest.mark.parametrize("rule", ["gs", "gsl", "gs-q"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_lasso_matches_sklearn(regression, rule, sparse, fit_intercept):
    X, y = regression
    alpha = np.abs(X.T @ (y - y.mean())).max() / X.shape[0] / 10
    Xs = sp.csc_matrix(X) if sparse else X
    res = bcd(Xs, y, Quadratic(), L1(alpha), rule=rule, tol=1e-15, max_iter=200_000,
              fit_intercept=fit_intercept)
    ref = SkLasso(alpha=alpha, tol=1e-14, max_iter=100_000,
                  fit_intercept=fit_intercept).fit(X, y)
    assert res.engine == "heap"
    assert res.converged and 0 <= res.gap <= res.threshold
    np.testing.assert_allclose(res.x, ref.coef_, atol=1e-8)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-8)
    objective = 0.5 * np.mean((y - X @ ref.coef_ - ref.intercept_) ** 2) \
        + alpha * np.abs(ref.coef_).sum()
    assert res.objective == pytest.approx(objective, rel=1e-10)
    assert res.history["gap"][-1] == pytest.approx(res.gap)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("positive", [False, True])
def test_weighted_elastic_net_matches_sklearn(regression, rng, sparse, positive):
    X, y = regression
    sw = rng.uniform(0.2, 2.0, X.shape[0])
    Xs = sp.csc_matrix(X) if sparse else X
    res = bcd(Xs, y, Quadratic(sample_weight=sw), L1PlusL2(0.05, 0.3, positive=positive),
              rule="gs-q", tol=1e-15, max_iter=200_000, fit_intercept=True)
    ref = SkElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-14, max_iter=100_000,
                       positive=positive).fit(X, y, sample_weight=sw)
    assert res.engine == "heap" and res.converged and res.gap <= res.threshold
    np.testing.assert_allclose(res.x, ref.coef_, atol=1e-6)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-6)
    fast = bcd(Xs, y, Quadratic(sample_weight=sw), L1PlusL2(0.05, 0.3, positive=positive),
               tol=1e-15, fit_intercept=True)
    # gap <= 1e-15 P(0) with strong convexity 0.035 bounds the error by ~6e-7
    np.testing.assert_allclose(res.x, fast.x, atol=1e-6)
    assert res.objective == pytest.approx(fast.objective, rel=1e-12)


def test_nonnegative_lasso_ridge_and_least_squares(regression):
    X, y = regression
    n = X.shape[0]
    alpha = np.abs(X.T @ y).max() / n / 10
    res = bcd(X, y, Quadratic(), NonNegL1(alpha), rule="gsl", tol=1e-15, max_iter=200_000)
    ref = SkLasso(alpha=alpha, positive=True, fit_intercept=False, tol=1e-14,
                  max_iter=100_000).fit(X, y)
    assert res.engine == "heap" and res.x.min() >= 0
    np.testing.assert_allclose(res.x, ref.coef_, atol=1e-8)
    ridge = bcd(X, y, Quadratic(), L2(0.3), rule="gs", tol=1e-15, max_iter=200_000)
    np.testing.assert_allclose(ridge.x, np.linalg.solve(X.T @ X / n + 0.3 * np.eye(50),
                                                        X.T @ y / n), atol=1e-7)
    plain = bcd(X[:, :10], y, Quadratic(), NoPenalty(), rule="gs-q", tol=1e-10,
                max_iter=200_000)
    assert plain.converged and plain.engine == "heap"
    np.testing.assert_allclose(plain.x, np.linalg.lstsq(X[:, :10], y, rcond=None)[0],
                               atol=1e-7)


def test_heap_and_block_engine_agree(regression):
    X, y = regression
    kwargs = dict(rule="gs-q", tol=1e-10, max_iter=100_000, coef_init=np.full(50, 0.1))
    heap = bcd(X, y, Quadratic(), L1(0.05), **kwargs)
    block = bcd(X, y, Quadratic(), L1(0.05), engine="block", **kwargs)
    assert heap.engine == "heap" and block.engine == "block"
    assert heap.converged and block.converged
    np.testing.assert_allclose(heap.x, block.x, atol=1e-6)
    assert heap.objective == pytest.approx(block.objective, rel=1e-9)


def test_inputs_unchanged_and_float32(regression):
    X, y = regression
    X0, y0 = X.copy(), y.copy()
    w0 = np.full(50, 0.1)
    res = bcd(X.astype(np.float32), y, Quadratic(), L1(0.05), rule="gs", coef_init=w0,
              fit_intercept=True, tol=1e-8, max_iter=100_000)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w0, 0.1)
    assert res.x.dtype == np.float32 and res.engine == "heap"


# -- work per update ------------------------------------------------------------------------
def _block_diagonal(rng, n_blocks, width, rows):
    blocks = [rng.standard_normal((rows, width)) for _ in range(n_blocks)]
    X = sp.block_diag(blocks, format="csc")
    return X, X @ rng.standard_normal(n_blocks * width)


@pytest.mark.parametrize("rule", ["gs", "gs-q"])
def test_key_updates_are_the_gram_neighbours(rng, rule):
    # block-diagonal design: the Gram column of a coordinate holds its own block only, so
    # an update recomputes exactly ``width`` scores, not p
    n_blocks, width = 100, 4
    X, y = _block_diagonal(rng, n_blocks, width, rows=6)
    p = n_blocks * width
    steps = 300
    picks, _, touched, H = _run_kernel(X, y, np.full(X.shape[0], 1 / X.shape[0]), L1(0.01),
                                       rule, steps, True)
    counts = np.diff(H.indptr)
    assert picks.size == steps
    assert np.all(counts == width)
    assert touched == counts[picks].sum() == steps * width
    res = bcd(X, y, Quadratic(), L1(0.01), rule=rule, tol=1e-10, max_iter=100_000)
    assert res.converged and res.engine == "heap"
    assert res.key_updates == width * res.n_iter
    assert res.key_updates < p * res.n_iter / 50


def test_banded_design_touches_its_band(rng):
    # each column shares rows with its two neighbours only: tridiagonal Gram
    n = p = 300
    X = sp.diags([rng.uniform(1, 2, p), rng.uniform(-1, 1, p - 1)], [0, -1], shape=(n, p),
                 format="csc")
    y = rng.standard_normal(n)
    picks, _, touched, H = _run_kernel(X, y, np.full(n, 1 / n), L1(0.001), "gsl", 500, True)
    counts = np.diff(H.indptr)
    assert counts.max() == 3
    assert touched == counts[picks].sum() <= 3 * picks.size


# -- dispatch and bad input ------------------------------------------------------------------
def test_dispatch_rules(regression):
    X, y = regression
    assert bcd(X, y, Quadratic(), L1(0.05), rule="gsl", max_iter=50_000).engine == "heap"
    assert bcd(X, y, Quadratic(), L1(0.05), rule="gsl", block_size=2,
               max_iter=50_000).engine == "block"
    assert bcd(X, y, Quadratic(), L1(0.05), rule="gsl", engine="block",
               max_iter=50_000).engine == "block"
    assert bcd(X, y, Quadratic(), L1(0.05), rule="cyclic", max_iter=50_000).engine == "block"
    assert bcd(X, y, Quadratic(), L1(0.05)).engine == "working-set"


@pytest.mark.parametrize("kwargs,match", [
    (dict(datafit=Logistic()), "Quadratic"),
    (dict(rule="cyclic"), "rules"),
    (dict(rule="auto"), "rules"),
    (dict(block_size=2), "block_size=1"),
    (dict(update="newton"), "exact coordinate"),
])
def test_forced_heap_rejects_unsupported_options(regression, kwargs, match):
    X, y = regression
    options = dict(datafit=Quadratic(), rule="gs")
    options.update(kwargs)
    datafit = options.pop("datafit")
    if isinstance(datafit, Logistic):
        y = np.where(y > y.mean(), 1.0, -1.0)
    with pytest.raises(ValueError, match=match):
        bcd(X, y, datafit, L1(0.05), engine="heap", **options)


def test_bad_engine(regression):
    X, y = regression
    with pytest.raises(ValueError, match="engine must be one of"):
        bcd(X, y, Quadratic(), L1(0.05), rule="gs", engine="tree")


def test_gram_limit(regression, monkeypatch):
    X, y = regression
    monkeypatch.setattr(_solver, "GRAM_NNZ_LIMIT", 100)
    with pytest.raises(ValueError, match="Gram matrix may hold 2500 entries"):
        bcd(X, y, Quadratic(), L1(0.05), rule="gs", engine="heap")
    fallback = bcd(X, y, Quadratic(), L1(0.05), rule="gs", max_iter=50_000)
    assert fallback.engine == "block" and fallback.converged
