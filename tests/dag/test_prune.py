import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression

from numsolve.dag import (
    TopoDAG,
    bic_score,
    count_accuracy,
    is_dag,
    prune_parents,
    refine,
    simulate_dag,
    simulate_linear_sem,
    simulate_logistic_sem,
    simulate_parameter,
    topo_swaps,
)
from numsolve.dag._prune import select_parents


def planted(d, seed, n=1000, k=2):
    B = simulate_dag(d, k * d, "ER", random_state=seed)
    return B, simulate_linear_sem(simulate_parameter(B, random_state=seed), n, random_state=seed)


def thresholded(W, t=0.3):
    return np.where(np.abs(W) >= t, W, 0)


def refit(X, W):
    """Least squares of every node on the support of its column of W (sklearn, no intercept)."""
    out = np.zeros(W.shape)
    for v in range(W.shape[1]):
        P = np.flatnonzero(W[:, v])
        if P.size:
            out[P, v] = LinearRegression(fit_intercept=False).fit(X[:, P], X[:, v]).coef_
    return out


def test_pruned_weights_solve_the_normal_equations():
    _, X = planted(30, 4)
    res = topo_swaps(X, random_state=0, prune="bic")
    W = res.x
    n = X.shape[0]
    for v in range(30):
        S = np.flatnonzero(W[:, v])
        residual = X[:, S].T @ (X[:, v] - X[:, S] @ W[S, v]) / n
        assert np.max(np.abs(residual), initial=0.0) < 1e-10
    np.testing.assert_allclose(W, refit(X, W), atol=1e-10)
    np.testing.assert_array_equal(prune_parents(X, res.weights), W)


def test_bic_of_pruned_graph_at_most_unpruned_and_locally_minimal():
    _, X = planted(30, 4)
    # from the marginal-variance order the search stops with extra edges above the threshold
    res = topo_swaps(X, init="variance", random_state=0, prune="bic")
    start = refit(X, thresholded(res.weights))
    pruned = bic_score(X, res.x)
    assert np.count_nonzero(res.x) < np.count_nonzero(start)
    assert pruned < bic_score(X, start)
    assert pruned < bic_score(X, res.weights)
    # the backward elimination stopped: dropping any kept parent (and refitting) raises the BIC
    for i, j in zip(*np.nonzero(res.x)):
        fewer = res.x.copy()
        fewer[i, j] = 0
        assert bic_score(X, refit(X, fewer)) > pruned


def test_bic_score_formula():
    _, X = planted(8, 1, n=300)
    W = refit(X, thresholded(topo_swaps(X, random_state=0).x))
    n = X.shape[0]
    rss = ((X - X @ W) ** 2).sum(axis=0)
    assert bic_score(X, W) == pytest.approx(np.sum(n * np.log(rss / n)) + np.count_nonzero(W) * np.log(n))


@pytest.mark.parametrize("d,seed", [(30, 4), (20, 0), (25, 1)])
def test_pruning_recovers_planted_dag(d, seed):
    B, X = planted(d, seed)
    res = topo_swaps(X, random_state=0, prune="bic")
    assert count_accuracy(B, res.x)["shd"] == 0
    if (d, seed) == (30, 4):  # from the marginal-variance order the threshold alone keeps an extra edge
        res = topo_swaps(X, init="variance", random_state=0, prune="bic")
        assert count_accuracy(B, res.x)["shd"] == 0
        assert count_accuracy(B, thresholded(res.weights))["shd"] > 0


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 7), st.integers(2, 40), st.integers(0, 10**6), st.floats(0.0, 1.0))
def test_pruned_graph_respects_the_order(d, n, seed, w_threshold):
    # n < d included: more candidate parents than samples, singular Gram blocks
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    res = topo_swaps(X, init="random", prune="bic", w_threshold=w_threshold, random_state=seed)
    assert np.all(np.isfinite(res.x)) and is_dag(res.x)
    pos = np.empty(d, int)
    pos[res.order] = np.arange(d)
    i, j = np.nonzero(res.x)
    assert np.all(pos[i] < pos[j])
    # every kept edge passed the threshold in the full fit or in the order's selected fit
    selected = select_parents(X.T @ X / n, n, res.order)
    assert np.all((np.abs(res.weights[i, j]) >= w_threshold) | (np.abs(selected[i, j]) >= w_threshold))


def test_refine_and_estimator_prune():
    B, X = planted(30, 4)
    W0 = topo_swaps(X, random_state=0).x
    assert count_accuracy(B, refine(thresholded(W0), X, prune="bic").x)["shd"] == 0
    est = TopoDAG(loss="l2", random_state=0).fit(X)  # prune="auto": extended BIC for the l2 loss
    np.testing.assert_array_equal(est.adjacency_, topo_swaps(X, random_state=0, prune="ebic").x)
    np.testing.assert_array_equal(est.weights_, W0)
    plain = TopoDAG(loss="l2", prune=None, random_state=0).fit(X)
    np.testing.assert_array_equal(plain.adjacency_, thresholded(W0))
    Bb = simulate_dag(4, 4, "ER", random_state=0)
    Xb = simulate_logistic_sem(simulate_parameter(Bb, random_state=0), 300, random_state=0)
    assert is_dag(TopoDAG(loss="logistic", lambda1=0.01, random_state=0).fit(Xb).adjacency_)


@pytest.mark.parametrize("kwargs,match", [
    ({"prune": "aic"}, "prune"), ({"prune": 1}, "prune"), ({"prune": True}, "prune"),
    ({"prune": "bic", "w_threshold": -0.1}, "w_threshold"),
    ({"prune": "bic", "w_threshold": np.nan}, "w_threshold"),
    ({"prune": "bic", "w_threshold": "0.3"}, "w_threshold"),
])
def test_bad_prune_options(kwargs, match):
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=match):
        topo_swaps(X, **kwargs)


def test_bad_prune_input():
    X = np.random.default_rng(0).normal(size=(20, 3))
    Xb = (X > 0).astype(float)
    with pytest.raises(ValueError, match="score='l2'"):
        topo_swaps(Xb, score="logistic", prune="bic")
    with pytest.raises(ValueError, match="DAG"):
        prune_parents(X, np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0.0]]))
    with pytest.raises(ValueError, match="shape"):
        prune_parents(X, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="criterion"):
        prune_parents(X, np.zeros((3, 3)), prune=None)
    with pytest.raises(ValueError, match="w_threshold"):
        prune_parents(X, np.zeros((3, 3)), w_threshold=-1)
    with pytest.raises(ValueError, match="prune"):
        TopoDAG(prune="aic").fit(X)


def test_inputs_unchanged():
    _, X = planted(10, 2, n=300)
    X_copy = X.copy()
    res = topo_swaps(X, random_state=0, prune="bic")
    W = res.weights.copy()
    pruned = prune_parents(X, W)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(W, res.weights)
    np.testing.assert_array_equal(pruned, res.x)
    X32 = X.astype(np.float32)
    assert topo_swaps(X32, random_state=0, prune="bic").x.dtype == np.float32
