"""The extended BIC (``edge_penalty="ebic"``), TopoDAG's default edge penalty."""

import numpy as np
import pytest

from numsolve.dag import (
    TopoDAG,
    gaussian_score,
    shd_cpdag,
    simulate_dag,
    simulate_linear_sem,
    simulate_parameter,
    topo_swaps,
)


def standardised_sem(d, seed, n=1000):
    B = simulate_dag(d, 2 * d, "ER", random_state=seed)
    X = simulate_linear_sem(simulate_parameter(B, random_state=seed), n, random_state=seed)
    return B, (X - X.mean(axis=0)) / X.std(axis=0)


def test_ebic_adds_log_d_per_edge_to_the_bic_score():
    B, X = standardised_sem(12, 0, n=300)
    n, d = X.shape
    W = simulate_parameter(B, random_state=1)
    edges = np.count_nonzero(W)
    assert edges > 0
    bic = gaussian_score(X, W)
    assert gaussian_score(X, W, edge_penalty="ebic") == pytest.approx(bic + edges * np.log(d), rel=1e-12)
    # the same as the numeric edge_penalty with (log n)/2 + log d per edge
    equivalent = 1 + 2 * np.log(d) / np.log(n)
    assert gaussian_score(X, W, edge_penalty=equivalent) == pytest.approx(bic + edges * np.log(d), rel=1e-12)


def test_ebic_search_equals_its_numeric_penalty():
    _, X = standardised_sem(10, 2, n=400)
    n, d = X.shape
    named = topo_swaps(X, score="bic", edge_penalty="ebic", random_state=0)
    numeric = topo_swaps(X, score="bic", edge_penalty=1 + 2 * np.log(d) / np.log(n), random_state=0)
    np.testing.assert_array_equal(named.order, numeric.order)
    np.testing.assert_allclose(named.x, numeric.x, rtol=1e-12, atol=1e-14)
    assert named.score == pytest.approx(gaussian_score(X, named.x, edge_penalty="ebic"), rel=1e-10)


def test_ebic_drops_the_spurious_parents_bic_keeps():
    # standardised ER2, d = 20, n = 1000: BIC keeps extra parents, the extended BIC finds the
    # equivalence class exactly
    B, X = standardised_sem(20, 1)
    ebic = TopoDAG(random_state=0).fit(X)
    bic = TopoDAG(edge_penalty=1.0, random_state=0).fit(X)
    assert ebic.edge_penalty == "ebic"
    assert shd_cpdag(B, ebic.adjacency_) == 0
    assert shd_cpdag(B, bic.adjacency_) > 0
    assert np.count_nonzero(bic.adjacency_) > np.count_nonzero(B)
    assert ebic.score_ == pytest.approx(gaussian_score(X, ebic.adjacency_, edge_penalty="ebic"), rel=1e-10)


@pytest.mark.parametrize("bad", ["EBIC", "bic", "aic"])
def test_unknown_edge_penalty_names_raise(bad):
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match="edge_penalty"):
        topo_swaps(X, score="bic", edge_penalty=bad)
    with pytest.raises(ValueError, match="edge_penalty"):
        gaussian_score(X, np.zeros((3, 3)), edge_penalty=bad)
    with pytest.raises(ValueError, match="edge_penalty"):
        TopoDAG(edge_penalty=bad).fit(X)
