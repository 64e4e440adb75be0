"""LabelSpreading: scikit-learn's model, solved as a linear system."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_moons
from sklearn.semi_supervised import LabelSpreading as SkLabelSpreading

from numsolve.semi_supervised import LabelSpreading, label_spreading


def partially_labelled(n=300, seed=0):
    X, y = make_moons(n, noise=0.1, random_state=seed)
    return X, np.where(np.random.default_rng(seed).random(n) < 0.1, y, -1), y


@pytest.mark.parametrize("kernel, options", [("rbf", {"gamma": 5.0}), ("rbf", {"gamma": 20.0}),
                                             ("knn", {"n_neighbors": 7})])
@pytest.mark.parametrize("alpha", [0.2, 0.9])
def test_agrees_with_scikit_learn(kernel, options, alpha):
    X, y, _ = partially_labelled()
    # scikit-learn iterated far past its default stopping rule, to its fixed point
    reference = SkLabelSpreading(kernel=kernel, alpha=alpha, max_iter=100_000, tol=1e-13,
                                 **options).fit(X, y)
    model = LabelSpreading(kernel=kernel, alpha=alpha, tol=1e-13, rbf_cutoff=1e-15,
                           **options).fit(X, y)
    np.testing.assert_allclose(model.label_distributions_, reference.label_distributions_,
                               atol=1e-6)
    assert np.array_equal(model.transduction_, reference.transduction_)
    # scikit-learn's kNN graph is directed: its own iteration up to alpha 0.5, then BiCGSTAB
    directed = "fixed-point" if alpha <= 0.5 else "bicgstab"
    assert model.method_ == (directed if kernel == "knn" else "cg")
    np.testing.assert_array_equal(model.predict(X[:50]), reference.predict(X[:50]))


@pytest.mark.parametrize("method", ["cg", "bicgstab", "fixed-point", "direct"])
def test_every_method_solves_the_fixed_point(method):
    X, y, _ = partially_labelled(200, seed=1)
    W = sp.csr_matrix(np.exp(-4.0 * ((X[:, None] - X[None]) ** 2).sum(-1)))
    result = label_spreading(W, y, alpha=0.8, tol=1e-12, method=method)
    # the unnormalised fixed point F = alpha S F + (1 - alpha) Y, S from W without diagonal
    off = W - sp.diags(W.diagonal())
    scale = 1.0 / np.sqrt(np.asarray(off.sum(axis=0)).ravel())
    S = off.toarray() * scale[:, None] * scale[None, :]
    Y = np.eye(2)[np.maximum(y, 0)] * (y >= 0)[:, None]
    F = np.linalg.solve(np.eye(len(y)) - 0.8 * S, 0.2 * Y)
    F /= F.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(result.x, F, atol=1e-9)
    assert result.method == method


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.5, 2.0])
def test_alpha_outside_the_open_unit_interval_raises(alpha):
    X, y, _ = partially_labelled(50)
    with pytest.raises(ValueError, match="alpha"):
        LabelSpreading(alpha=alpha).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        label_spreading(sp.identity(50, format="csr"), y, alpha=alpha)


def test_cg_on_a_directed_graph_raises():
    W = sp.csr_matrix(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="symmetric"):
        label_spreading(W, np.array([0, -1, 1]), method="cg")


def test_input_is_not_modified_and_fit_is_deterministic():
    X, y, _ = partially_labelled(120)
    X_copy, y_copy = X.copy(), y.copy()
    first = LabelSpreading(kernel="knn").fit(X, y).label_distributions_
    assert np.array_equal(X, X_copy) and np.array_equal(y, y_copy)
    assert np.array_equal(first, LabelSpreading(kernel="knn").fit(X, y).label_distributions_)


def test_precomputed_and_callable_kernels_agree_with_scikit_learn():
    X, y, _ = partially_labelled(150, seed=2)
    X_new = make_moons(40, noise=0.1, random_state=3)[0]

    def kernel(A, B):
        return np.exp(-5.0 * ((A[:, None] - B[None]) ** 2).sum(-1))

    reference = SkLabelSpreading(kernel=kernel, max_iter=100_000, tol=1e-13).fit(X, y)
    called = LabelSpreading(kernel=kernel, tol=1e-13).fit(X, y)
    given = LabelSpreading(kernel="precomputed", tol=1e-13).fit(kernel(X, X), y)
    for model in (called, given):
        np.testing.assert_allclose(model.label_distributions_, reference.label_distributions_,
                                   atol=1e-6)
    np.testing.assert_array_equal(called.predict(X_new), reference.predict(X_new))
    np.testing.assert_array_equal(given.predict(kernel(X_new, X)), reference.predict(X_new))
