"""Pruning in topo_swaps weighs a forward-backward selection against the thresholded fit."""

import numpy as np
import pytest

from numsolve.dag import (count_accuracy, prune_parents, simulate_dag, simulate_linear_sem,
                          simulate_parameter, topo_swaps)
from numsolve.dag._prune import _parent_penalty, select_parents

# scale-free SEMs pile up variance at the sinks; the equal-variance score warns about it
pytestmark = pytest.mark.filterwarnings("ignore:the column standard deviations")


def _scale_free(d, seed):
    B = simulate_dag(d, 4 * d, "SF", random_state=seed)
    X = simulate_linear_sem(simulate_parameter(B, random_state=seed), 2000, random_state=seed)
    return B, X


def _criterion(X, W, prune):
    """Extended-BIC terms per node, computed from the residuals of the returned weights."""
    n, d = X.shape
    R = X - X @ W
    rss = np.einsum("ij,ij->j", R, R) / n
    return n * np.log(rss) + _parent_penalty(prune, n, d) * np.count_nonzero(W, axis=0)


def test_selection_recovers_scale_free_parents_the_full_fit_shrinks():
    B, X = _scale_free(400, 1)
    res = topo_swaps(X, score="l2", prune="ebic")
    assert count_accuracy(B, res.x)["shd"] == 0
    # the thresholded full fit alone, pruned the same way, misses parents on this graph
    assert count_accuracy(B, prune_parents(X, res.extras["weights"], prune="ebic"))["shd"] > 0


def test_each_node_keeps_the_cheaper_parent_set():
    B, X = _scale_free(60, 3)
    res = topo_swaps(X, score="l2", prune="ebic")
    plain = prune_parents(X, res.extras["weights"], prune="ebic")
    n = X.shape[0]
    G = X.T @ X / n
    alternative = prune_parents(X, select_parents(G, n, res.extras["order"]), prune="ebic")
    kept = _criterion(X, res.x, "ebic")
    np.testing.assert_allclose(kept, np.minimum(_criterion(X, plain, "ebic"),
                                                _criterion(X, alternative, "ebic")), rtol=1e-9)


def test_selected_parents_precede_their_children():
    _, X = _scale_free(40, 2)
    order = np.random.default_rng(0).permutation(40)
    W = select_parents(X.T @ X / X.shape[0], X.shape[0], order)
    position = np.argsort(order)
    i, j = np.nonzero(W)
    assert i.size and np.all(position[i] < position[j])
