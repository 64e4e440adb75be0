"""The two-sweep tree solve equals a dense solve on random forests."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model._tree_solve import tree_solve


def random_forest_matrix(n, n_trees, seed, dtype=np.float64):
    """SPD matrix whose graph is a random forest of ``n_trees`` trees (weights of both signs)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(n)
    rows, cols = [], []
    for i in range(n_trees, n):
        rows.append(labels[i])
        cols.append(labels[rng.integers(0, i)])
    weights = rng.uniform(0.2, 3.0, len(rows)) * rng.choice([-1, 1], len(rows))
    W = sp.coo_matrix((weights, (rows, cols)), shape=(n, n))
    W = (W + W.T).tocsr()
    diagonal = np.asarray(abs(W).sum(axis=1)).ravel() + rng.uniform(0.01, 1.0, n)
    return (W + sp.diags(diagonal)).tocsr().astype(dtype)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_trees", [1, 5])
def test_tree_solve_equals_dense_solve(seed, n_trees):
    Q = random_forest_matrix(300, n_trees, seed)
    b = np.random.default_rng(seed).standard_normal(300)
    x = tree_solve(Q, b)
    np.testing.assert_allclose(x, np.linalg.solve(Q.toarray(), b), rtol=1e-9, atol=1e-12)


def test_several_right_hand_sides_and_float32():
    Q = random_forest_matrix(200, 3, 7)
    B = np.random.default_rng(7).standard_normal((200, 4))
    X = tree_solve(Q, B)
    np.testing.assert_allclose(Q @ X, B, atol=1e-9)
    X32 = tree_solve(Q.astype(np.float32), B.astype(np.float32))
    assert X32.dtype == np.float32
    np.testing.assert_allclose(X32, X, rtol=2e-3, atol=2e-3)


def test_star_and_path_and_isolated_nodes():
    n = 50
    star = sp.lil_matrix((n, n))
    star[0, 1:] = -1.0
    star[1:, 0] = -1.0
    star = (star + sp.diags(np.r_[n, 2.0 * np.ones(n - 1)])).tocsr()
    b = np.arange(n, dtype=float)
    np.testing.assert_allclose(tree_solve(star, b), np.linalg.solve(star.toarray(), b))
    diagonal = sp.diags(np.arange(1.0, n + 1)).tocsr()
    np.testing.assert_allclose(tree_solve(diagonal, b), b / np.arange(1.0, n + 1))


def test_input_unchanged_and_errors():
    Q = random_forest_matrix(30, 1, 0)
    data = Q.data.copy()
    b = np.ones(30)
    tree_solve(Q, b)
    assert np.array_equal(Q.data, data) and np.all(b == 1)
    cycle = sp.csr_matrix(np.array([[3.0, 1, 1], [1, 3, 1], [1, 1, 3]]))
    with pytest.raises(ValueError, match="cycle"):
        tree_solve(cycle, np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        tree_solve(Q, np.ones(29))
    with pytest.raises(TypeError):
        tree_solve(Q.toarray(), b)
