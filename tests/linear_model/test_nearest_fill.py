"""Working sets of dense least squares topped up past the violators by the features nearest
to violating their optimality condition (largest ``|g_j| - l1``), not arbitrary ones."""

import numpy as np
import scipy.sparse as sp

from numsolve.linear_model import L1, L1PlusL2, Quadratic, bcd
from numsolve.linear_model import _working_set


def _keys(l1, W, grad, in_model):
    """The fill ranking over the features outside the model that do not violate."""
    pull = np.abs(grad[:, 0]) - l1
    return np.where(in_model | (pull > 0), np.nan, pull)


def _one_violator():
    """Feature 0 in the model, 1 violating (l1 = 1), 5 then 3 nearest to violating."""
    W = np.zeros((8, 1))
    W[0] = 0.5
    grad = np.array([[-1.0], [2.0], [0.1], [0.8], [0.0], [-0.95], [0.3], [0.2]])
    return W, grad, W[:, 0] != 0


def test_fill_takes_the_nearest_violators():
    W, grad, in_model = _one_violator()
    chosen = _working_set._best_features(L1(1.0), W, grad, np.ones(8), in_model, 4,
                                         nearest=True)
    np.testing.assert_array_equal(chosen, [0, 1, 3, 5])


def test_sets_taking_most_features_keep_the_gsq_order():
    W, grad, in_model = _one_violator()
    plain = _working_set._best_features(L1(1.0), W, grad, np.ones(8), in_model, 5)
    chosen = _working_set._best_features(L1(1.0), W, grad, np.ones(8), in_model, 5,
                                         nearest=True)
    np.testing.assert_array_equal(chosen, plain)


def test_fill_with_positive_coefficients_ranks_by_the_negative_gradient():
    W = np.zeros((4, 1))
    grad = np.array([[0.9], [-0.9], [-0.2], [0.0]])  # only -g can pull a feature in
    chosen = _working_set._best_features(L1PlusL2(1.0, l1_ratio=1.0, positive=True), W, grad, np.ones(4),
                                         W[:, 0] != 0, 2, nearest=True)
    np.testing.assert_array_equal(chosen, [1, 2])


def _dense_wide(n=60, p=600, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:30] = rng.standard_normal(30)
    y = X @ w + 0.1 * rng.standard_normal(n)
    return X, y, np.abs(X.T @ y).max() / n / 100


def _record_fills(monkeypatch):
    """Each choice's (l1, fill keys of the chosen, fill keys of the others)."""
    record = []
    choose = _working_set._best_features

    def recording(penalty, W, grad, lips, in_model, size, **fill):
        chosen = choose(penalty, W, grad, lips, in_model, size, **fill)
        if size < W.shape[0]:
            keys = _keys(penalty.l1, W, grad, in_model)
            taken = np.zeros(W.shape[0], dtype=bool)
            taken[chosen] = True
            record.append((keys[taken], keys[~taken]))
        return chosen

    monkeypatch.setattr(_working_set, "_best_features", recording)
    return record


def test_dense_least_squares_fills_by_nearest_violators(monkeypatch):
    record = _record_fills(monkeypatch)
    X, y, alpha = _dense_wide()
    result = bcd(X, y, Quadratic(), L1(alpha), tol=1e-8, gram=False)
    assert result.converged
    filled = [(taken, left) for taken, left in record if np.isfinite(taken).any()]
    assert filled  # the phase the rule is for: sets topped up past the violators
    for taken, left in filled:
        assert np.nanmin(taken) >= np.nanmax(left)


def test_nearest_fill_solution_meets_kkt_and_matches_sparse_fill():
    X, y, alpha = _dense_wide()
    dense = bcd(X, y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
    sparse = bcd(sp.csc_matrix(X), y, Quadratic(), L1(alpha), tol=1e-10, gram=False)
    np.testing.assert_allclose(sparse.x, dense.x, atol=1e-6)
    n = X.shape[0]
    w = dense.x
    grad = X.T @ (X @ w - y) / n
    support = w != 0
    np.testing.assert_allclose(grad[support], -alpha * np.sign(w[support]), atol=1e-6)
    assert np.all(np.abs(grad[~support]) <= alpha * (1 + 1e-6))
