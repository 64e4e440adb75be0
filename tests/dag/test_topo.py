import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numsolve.dag import (
    count_accuracy,
    fit_order,
    h_exp,
    h_logdet,
    h_poly,
    is_dag,
    logistic_score,
    ls_score,
    order_from_W,
    refine,
    simulate_dag,
    simulate_linear_sem,
    simulate_logistic_sem,
    simulate_parameter,
    topo_swaps,
)


def planted(d, seed, n=1000, graph="ER", k=2, noise="gauss"):
    B = simulate_dag(d, k * d, graph, random_state=seed)
    W = simulate_parameter(B, random_state=seed)
    return B, W, simulate_linear_sem(W, n, noise=noise, random_state=seed)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 7), st.integers(3, 40), st.integers(0, 10**6),
       st.sampled_from(["exp", "logdet", "poly"]), st.sampled_from(["variance", "random"]))
def test_result_is_always_acyclic(d, n, seed, acyclicity, init):
    X = np.random.default_rng(seed).normal(size=(n, d)) @ np.random.default_rng(seed + 1).normal(size=(d, d))
    res = topo_swaps(X, acyclicity=acyclicity, init=init, random_state=seed)
    assert is_dag(res.x)
    order = res.order
    pos = np.empty(d, int)
    pos[order] = np.arange(d)
    i, j = np.nonzero(res.x)
    assert np.all(pos[i] < pos[j])


def test_W_is_exact_least_squares_fit_for_its_order():
    _, _, X = planted(6, 3, n=200)
    res = topo_swaps(X, random_state=0)
    for k, v in enumerate(res.order):
        P = res.order[:k]
        expected = np.linalg.lstsq(X[:, P], X[:, v], rcond=None)[0] if k else np.zeros(0)
        np.testing.assert_allclose(res.x[P, v], expected, rtol=1e-8, atol=1e-10)
        others = np.setdiff1d(np.arange(6), P)
        assert np.all(res.x[others, v] == 0)
    assert res.score == pytest.approx(ls_score(X, res.x), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_local_minimum_and_brute_force(seed):
    d = 6
    _, _, X = planted(d, seed, n=50)
    res = topo_swaps(X, init="random", random_state=seed)
    for a, b in itertools.combinations(range(d), 2):
        order = res.order.copy()
        order[a], order[b] = order[b], order[a]
        assert ls_score(X, fit_order(X, order)) >= res.score - 1e-10
    best = min(ls_score(X, fit_order(X, p)) for p in itertools.permutations(range(d)))
    res_multi = topo_swaps(X, n_restarts=5, random_state=seed)
    assert res_multi.score == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("graph,seed", [("ER", 0), ("ER", 1), ("SF", 2)])
def test_exact_recovery_equal_variance(graph, seed):
    B, _, X = planted(15, seed, n=3000, graph=graph)
    res = topo_swaps(X, init="random", n_restarts=2, random_state=seed)
    Wt = np.where(np.abs(res.x) >= 0.3, res.x, 0)
    assert count_accuracy(B, Wt)["shd"] == 0


def test_score_at_most_planted_dag_fit():
    # the planted DAG refitted by least squares: what an exact continuous method would return
    for seed in range(3):
        B, W, X = planted(12, seed, n=500)
        res = topo_swaps(X, n_restarts=3, random_state=seed)
        assert res.score <= ls_score(X, fit_order(X, order_from_W(W))) + 1e-9


def test_lower_score_than_dagma():
    # runs wherever dagma is installed (CI installs it with --no-deps); the baseline it beats is
    # DAGMA's own solution, thresholded as DAGMA's users do
    dagma_linear = pytest.importorskip("dagma.linear")
    B, W, X = planted(10, 0, n=500)
    # DagmaLinear.fit centres its X in place
    W_dagma = dagma_linear.DagmaLinear(loss_type="l2").fit(X.copy(), lambda1=0.02, T=3)
    W_dagma = np.where(np.abs(W_dagma) >= 0.3, W_dagma, 0)
    res = topo_swaps(X, random_state=0)
    assert res.score < ls_score(X, W_dagma)
    assert ls_score(X, np.where(np.abs(res.x) >= 0.3, res.x, 0)) <= ls_score(X, W_dagma) + 1e-9
    assert refine(W_dagma, X).score < ls_score(X, W_dagma)


def test_refine_never_raises_score():
    B, W, X = planted(10, 4, n=500)
    rng = np.random.default_rng(0)
    noisy = W + 0.5 * rng.normal(size=W.shape) * (rng.uniform(size=W.shape) < 0.1)
    start = order_from_W(noisy)
    res = refine(noisy, X)
    assert res.score <= ls_score(X, fit_order(X, start)) + 1e-12
    assert res.history["score"][0] == pytest.approx(ls_score(X, fit_order(X, start)))
    assert np.all(np.diff(res.history["score"]) < 0)


def test_logistic_weights_are_the_unpenalised_logistic_fit():
    """Issue #26: each column of the result is scikit-learn's unpenalised logistic fit for the order."""
    from sklearn.linear_model import LogisticRegression

    B = simulate_dag(5, 6, "ER", random_state=1)
    Xb = simulate_logistic_sem(2 * simulate_parameter(B, random_state=1), 2000, random_state=1)
    res = topo_swaps(Xb, score="logistic", random_state=0)
    for k, v in enumerate(res.order[1:], start=1):
        P = res.order[:k]
        fit = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
        np.testing.assert_allclose(res.x[P, v], fit.fit(Xb[:, P], Xb[:, v]).coef_[0], atol=1e-3)
    assert res.score == pytest.approx(logistic_score(Xb, res.x), rel=1e-6)
    # baseline: the empty graph (every node a fair coin) scores log 2 per node
    assert res.score < logistic_score(Xb, np.zeros((5, 5))) - 0.05


def test_lasso_and_logistic_scores():
    _, _, X = planted(5, 0, n=300)
    res = topo_swaps(X, lambda1=0.05, random_state=0)
    assert is_dag(res.x)
    assert res.score == pytest.approx(ls_score(X, res.x, 0.05), rel=1e-6)
    lasso = fit_order(X, res.order, lambda1=0.05)
    np.testing.assert_allclose(lasso, res.x, atol=1e-7)
    B = simulate_dag(4, 4, "ER", random_state=0)
    Xb = simulate_logistic_sem(simulate_parameter(B, random_state=0), 300, random_state=0)
    rl = topo_swaps(Xb, score="logistic", lambda1=0.01, random_state=0)
    assert is_dag(rl.x) and rl.converged


def test_float32_and_input_unchanged():
    _, _, X = planted(6, 1, n=300)
    X32 = X.astype(np.float32)
    copy = X32.copy()
    res = topo_swaps(X32, random_state=0)
    assert res.x.dtype == np.float32
    np.testing.assert_array_equal(X32, copy)
    ref = topo_swaps(X, random_state=0)
    np.testing.assert_array_equal(res.order, ref.order)


def test_deterministic():
    _, _, X = planted(8, 2, n=200)
    a = topo_swaps(X, init="random", n_restarts=2, random_state=5)
    b = topo_swaps(X, init="random", n_restarts=2, random_state=5)
    np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("lambda1", [0.0, 0.05])
def test_restarts_same_result_whatever_n_jobs(lambda1):
    """Issue #12: restarts through joblib; threads and the Dask backend give the n_jobs=1 result."""
    joblib = pytest.importorskip("joblib")
    distributed = pytest.importorskip("distributed")
    _, _, X = planted(7, 3, n=300)
    kwargs = dict(init="random", n_restarts=3, lambda1=lambda1, random_state=4)
    ref = topo_swaps(X, n_jobs=1, **kwargs)
    runs = [topo_swaps(X, n_jobs=2, **kwargs), topo_swaps(X, n_jobs=-1, **kwargs)]
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None):
        with joblib.parallel_backend("dask"):
            runs.append(topo_swaps(X, n_jobs=2, **kwargs))
    for res in runs:
        np.testing.assert_array_equal(res.order, ref.order)
        np.testing.assert_array_equal(res.x, ref.x)
        assert res.score == ref.score


def test_swap_scan_threads_give_the_one_thread_search():
    """A single l2 search scores its swaps on n_jobs threads: every round, hence the graph, as one thread."""
    _, _, X = planted(30, 6, n=300, graph="SF", k=4)
    ref = topo_swaps(X, init="random", random_state=1, n_jobs=1)
    assert ref.n_iter > 5  # enough rounds for a thread-dependent scan to show
    for n_jobs in (2, 3):
        res = topo_swaps(X, init="random", random_state=1, n_jobs=n_jobs)
        np.testing.assert_array_equal(res.order, ref.order)
        np.testing.assert_array_equal(res.x, ref.x)
        np.testing.assert_array_equal(res.history["score"], ref.history["score"])


@pytest.mark.parametrize("h", [h_exp, h_logdet, h_poly])
def test_acyclicity_functions_and_gradients(h):
    rng = np.random.default_rng(0)
    B = simulate_dag(5, 6, "ER", random_state=0)
    assert h(simulate_parameter(B, random_state=0))[0] == pytest.approx(0, abs=1e-10)
    W = 0.3 * rng.normal(size=(5, 5))
    value, grad = h(W)
    assert value > 0
    E = np.zeros_like(W)
    num = np.empty_like(W)
    for idx in np.ndindex(W.shape):
        E[idx] = 1e-6
        num[idx] = (h(W + E)[0] - h(W - E)[0]) / 2e-6
        E[idx] = 0
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7)


def test_metrics():
    B = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    E = np.array([[0, 0, 0], [1, 0, 1], [1, 0, 0]])
    m = count_accuracy(B, E)
    assert m == {"fdr": 2 / 3, "tpr": 0.5, "fpr": 2 / 1, "shd": 2, "nnz": 3}


@pytest.mark.parametrize("kwargs,match", [
    ({"score": "l1"}, "score"), ({"acyclicity": "trace"}, "acyclicity"),
    ({"lambda1": -1.0}, "lambda1"), ({"max_iter": 0}, "max_iter"),
    ({"init": [0, 0, 1]}, "init"), ({"init": "bogus"}, "init"),
    ({"candidate_size": (0, 3)}, "candidate_size"), ({"n_restarts": -1}, "n_restarts"),
    ({"n_jobs": 0}, "n_jobs"), ({"n_jobs": 1.5}, "n_jobs"),
])
def test_bad_parameters(kwargs, match):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=match):
        topo_swaps(X, **kwargs)


def test_bad_input():
    with pytest.raises(ValueError):
        topo_swaps(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError):
        topo_swaps(np.ones(4))
    with pytest.raises(ValueError, match="binary"):
        topo_swaps(np.random.default_rng(0).normal(size=(10, 3)), score="logistic")
    with pytest.raises(ValueError, match="W must have shape"):
        refine(np.zeros((2, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="order"):
        fit_order(np.ones((5, 3)), [0, 1])
    with pytest.raises(ValueError, match="graph_type"):
        simulate_dag(4, 3, "XX")
    with pytest.raises(ValueError, match="noise"):
        simulate_linear_sem(np.zeros((2, 2)), 5, noise="cauchy")


def _pivot_sum(Gp):
    """Sum of the residual variances of an order, from a fresh Cholesky factorisation."""
    return float(np.sum(np.diag(np.linalg.cholesky(Gp)) ** 2))


@pytest.mark.parametrize("seed", [0, 1])
def test_partial_scan_equals_fresh_fits_after_any_swaps(seed):
    from numsolve.dag._order_scan import order_factor, swap_changes

    rng = np.random.default_rng(seed)
    d = 12
    Z = rng.normal(size=(60, d)) @ rng.normal(size=(d, d))
    G = Z.T @ Z / 60
    order = rng.permutation(d)
    for _ in range(6):
        diag, C = order_factor(G[np.ix_(order, order)])
        base = _pivot_sum(G[np.ix_(order, order)])
        assert diag.sum() == pytest.approx(base, rel=1e-10)
        last = np.array([rng.integers(a, d) for a in range(d)])
        D = swap_changes(C, diag, last)
        # a row is computed the same way on any number of threads
        np.testing.assert_array_equal(swap_changes(C, diag, last, n_threads=3), D)
        for a in range(d):
            for b in range(d):
                if a < b <= last[a]:
                    swapped = order.copy()
                    swapped[[a, b]] = swapped[[b, a]]
                    fresh = _pivot_sum(G[np.ix_(swapped, swapped)]) - base
                    assert abs(D[a, b] - fresh) <= 1e-10 * base
                else:
                    assert np.isnan(D[a, b])
        a, b = np.sort(rng.choice(d, 2, replace=False))
        order[[a, b]] = order[[b, a]]


def test_singular_gram_factor_floors_determined_positions():
    from numsolve.dag._order_scan import order_factor

    x = np.random.default_rng(0).normal(size=(50, 2))
    X = np.c_[x, x[:, 0] + x[:, 1]]  # the third column is determined by the first two
    diag, C = order_factor(X.T @ X / 50)
    np.testing.assert_allclose(C @ C.T, X.T @ X / 50, atol=1e-12)
    assert diag[2] < 1e-12 * diag[0] and diag[:2].min() > 0.1


def test_lowest_candidates_are_the_stable_sort_prefix():
    from numsolve.dag._topo import _lowest

    rng = np.random.default_rng(0)
    for _ in range(300):
        values = rng.integers(0, 4, rng.integers(1, 40)).astype(float)  # many ties
        k = int(rng.integers(1, len(values) + 3))
        np.testing.assert_array_equal(_lowest(values, k), np.argsort(values, kind="stable")[:k])


def test_ordered_path_weights_equal_the_dense_inverse():
    from numsolve.dag._acyclicity import path_weights

    W = simulate_parameter(simulate_dag(15, 30, "ER", random_state=0), random_state=0)
    dense = path_weights(W, "logdet")  # (I - W o W)^{-T}: unit diagonal, zero where no path
    np.testing.assert_allclose(path_weights(W, "logdet", order_from_W(W)), dense, rtol=1e-12, atol=1e-12)
