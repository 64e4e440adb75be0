"""The DAG scores and diagnostics check their data and graph alike, before any work."""

import numpy as np
import pytest

from numsolve.dag import (
    additive_score,
    bic_score,
    dag_to_cpdag,
    gaussian_score,
    logistic_score,
    ls_score,
    prune_parents,
    r2_sortability,
    varsortability,
)

TAKING_DATA_AND_GRAPH = [additive_score, bic_score, gaussian_score, logistic_score, ls_score,
                         prune_parents, r2_sortability, varsortability]


@pytest.mark.parametrize("function", TAKING_DATA_AND_GRAPH)
def test_graph_must_match_the_columns(function):
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match=r"W must have shape \(3, 3\), got \(2, 2\)"):
        function(X, np.zeros((2, 2)))


@pytest.mark.parametrize("function", TAKING_DATA_AND_GRAPH)
def test_data_needs_two_finite_samples(function):
    chain = np.array([[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        function(np.ones((1, 2)), chain)
    X = np.random.default_rng(1).normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        function(X, chain)


@pytest.mark.parametrize("function", TAKING_DATA_AND_GRAPH)
def test_float32_data_and_integer_graphs_are_left_untouched(function):
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    X = np.c_[x, 2 * x + rng.normal(size=200)].astype(np.float32)
    chain = np.array([[0, 1], [0, 0]])
    X_before, chain_before = X.copy(), chain.copy()
    function(X, chain)
    assert X.dtype == np.float32 and np.array_equal(X, X_before)
    assert np.array_equal(chain, chain_before)


def test_cpdag_needs_a_square_graph():
    with pytest.raises(ValueError, match=r"B must be a square matrix, got shape \(2, 3\)"):
        dag_to_cpdag(np.zeros((2, 3)))
