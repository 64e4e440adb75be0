"""LabelSpreading's default stopping rule: labels certified by a bound on the iterate's error."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_moons
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NearestNeighbors

from numsolve.semi_supervised import LabelSpreading, label_spreading, make_moons_problem
from numsolve.semi_supervised._certify import certification_ratio
from numsolve.semi_supervised._spreading import SpreadingOperator, spreading_matrix


def moons_graph(kernel, n=2000):
    X, y = make_moons_problem(n, random_state=0)[:2]
    if kernel == "knn":
        return NearestNeighbors().fit(X).kneighbors_graph(X, 7, mode="connectivity"), y
    return rbf_kernel(X, gamma=20.0), y


def spreading_system(W, y, alpha):
    classes = np.unique(y[y >= 0])
    B = (1 - alpha) * (y[:, None] == classes[None, :]).astype(float)
    A = spreading_matrix(W, alpha)
    exact = np.linalg.solve(A.toarray() if sp.issparse(A) else A, B)
    return A, B, exact


@pytest.mark.parametrize("kernel", ["rbf", "knn"])
@pytest.mark.parametrize("alpha", [0.2, 0.9])
def test_default_labels_are_the_exact_fixed_points(kernel, alpha):
    W, y = moons_graph(kernel)
    exact = label_spreading(W, y, alpha=alpha, method="direct").transduction
    result = label_spreading(W, y, alpha=alpha)
    assert np.array_equal(result.transduction, exact)
    assert result.converged
    if alpha == 0.2:
        # a loose residual, as scikit-learn's default rule, mislabels points the rule does not
        loose = label_spreading(W, y, alpha=alpha, tol=1e-2).transduction
        assert np.any(loose != exact)


def test_certification_stops_before_the_residual_backstop():
    W, y = moons_graph("rbf")
    certified = label_spreading(W, y)
    backstop = label_spreading(W, y, tol=1e-10)
    assert certified.certified and not backstop.certified
    assert certified.n_iter < backstop.n_iter
    assert np.array_equal(certified.transduction, backstop.transduction)


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.parametrize("symmetric", [True, False])
def test_a_flipped_label_is_never_certified(symmetric, local):
    rng = np.random.default_rng(0)
    X, _ = make_moons(150, noise=0.1, random_state=0)
    if symmetric:
        W = rbf_kernel(X, gamma=10.0)
    else:
        W = NearestNeighbors().fit(X).kneighbors_graph(X, 6, mode="connectivity")
    y = np.where(rng.random(150) < 0.2, rng.integers(0, 3, 150), -1)
    alpha = 0.5
    A, B, exact = spreading_system(W, y, alpha)
    operator = SpreadingOperator(sp.csr_matrix(W) if local else W, alpha)
    # the row-by-row tightening of the bound by products with the graph
    propagate = operator.propagate if local else None
    labels = np.argmax(exact, axis=1)
    for _ in range(20):
        # move one row's runner-up just past its best class, the rest by tiny noise
        F = exact + 1e-14 * rng.standard_normal(exact.shape)
        row = rng.integers(150)
        order = np.argsort(exact[row])
        F[row, order[-2]] = exact[row, order[-1]] * (1 + 1e-9) + 1e-300
        assert np.argmax(F[row]) != labels[row]
        assert certification_ratio(F, B - A @ F, operator.scale, alpha, symmetric,
                                   propagate) <= 1
    # and the exact solution, barely perturbed, is certified
    F = exact * (1 + 1e-13 * rng.standard_normal(exact.shape))
    assert certification_ratio(F, B - A @ F, operator.scale, alpha, symmetric, propagate) > 1


def test_propagate_is_the_normalised_graph_without_its_diagonal():
    W, _ = moons_graph("knn", 300)  # scikit-learn's graph: each point its own neighbour
    operator = SpreadingOperator(W, 0.3)
    v = np.random.default_rng(2).random(300)
    plain = W.toarray()
    np.fill_diagonal(plain, 0.0)
    degree = plain.sum(axis=0)
    degree[degree == 0] = 1.0  # a point no other lists: D's entry 1, as scikit-learn's
    assert np.any(plain.sum(axis=0) == 0)
    np.testing.assert_allclose(operator.propagate(v), 0.3 * (plain @ v) / degree, rtol=1e-12)


def test_row_by_row_bound_certifies_the_exact_labels_earlier():
    # digits-like: 10 classes, few labels, scikit-learn's directed kNN graph, where the
    # bound spread over every row needs the 1e-10 backstop and the local one does not
    from sklearn.datasets import load_digits

    X, truth = load_digits(return_X_y=True)
    y = np.where(np.random.default_rng(0).random(truth.size) < 0.05, truth, -1)
    W = NearestNeighbors().fit(X).kneighbors_graph(X, 7, mode="connectivity")
    exact = label_spreading(W, y, method="direct").transduction
    operator = SpreadingOperator(W, 0.2)
    A = spreading_matrix(W, 0.2)
    result = label_spreading(W, y)
    assert result.certified and np.array_equal(result.transduction, exact)
    # the iterate it stopped at: the global bound alone does not certify it
    classes = np.unique(y[y >= 0])
    B = 0.8 * (y[:, None] == classes[None, :]).astype(float)
    F = B.copy()
    for _ in range(result.n_iter):
        F += B - A @ F
    R = B - A @ F
    assert certification_ratio(F, R, operator.scale, 0.2, False, operator.propagate) > 1
    assert certification_ratio(F, R, operator.scale, 0.2, False) < 1
    assert result.n_iter < label_spreading(W, y, tol=1e-10).n_iter


@pytest.mark.parametrize("method", ["auto", "fixed-point", "bicgstab", "direct"])
def test_directed_methods_solve_the_fixed_point(method):
    W, y = moons_graph("knn", 500)
    A, B, exact = spreading_system(W, y, 0.3)
    exact /= exact.sum(axis=1, keepdims=True)
    result = label_spreading(W, y, alpha=0.3, tol=1e-12, method=method)
    np.testing.assert_allclose(result.x, exact, atol=1e-9)
    assert result.method == ("fixed-point" if method == "auto" else method)


def test_weights_far_below_the_diagonal_keep_their_digits():
    # gamma 5 on points about 6 apart: off-diagonal weights far below 1e-20 beside a unit
    # diagonal; subtracting the diagonal after the product would cancel them
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 20))
    y = np.where(np.arange(60) < 6, np.arange(60) % 2, -1)
    dense = rbf_kernel(X, gamma=5.0)
    sparse = sp.csr_matrix(dense)
    assert 0 < dense[dense < 1].max() < 1e-20 and dense.min() > 0
    exact = label_spreading(dense, y, method="direct")
    results = [label_spreading(W, y, tol=1e-12) for W in (dense, sparse)]
    for result in results:
        assert np.array_equal(result.transduction, exact.transduction)
    np.testing.assert_allclose(results[0].x, results[1].x, atol=1e-12)
    assert np.array_equal(dense, rbf_kernel(X, gamma=5.0))  # the caller's W untouched


def test_estimator_default_matches_the_exact_solution_and_reports_it():
    X, truth = make_moons(400, noise=0.15, random_state=3)
    y = np.where(np.random.default_rng(3).random(400) < 0.1, truth, -1)
    for kernel in ("rbf", "knn"):
        model = LabelSpreading(kernel=kernel).fit(X, y)
        exact = LabelSpreading(kernel=kernel, method="direct").fit(X, y)
        assert np.array_equal(model.transduction_, exact.transduction_)
        assert isinstance(model.labels_certified_, bool)
    assert LabelSpreading(kernel="knn").fit(X, y).method_ == "fixed-point"


def test_float32_input_gives_the_float64_labels():
    X, truth = make_moons(300, noise=0.15, random_state=4)
    y = np.where(np.random.default_rng(4).random(300) < 0.1, truth, -1)
    for kernel in ("rbf", "knn"):
        single = LabelSpreading(kernel=kernel).fit(X.astype(np.float32), y)
        double = LabelSpreading(kernel=kernel).fit(X, y)
        assert single.label_distributions_.dtype == np.float64
        assert np.array_equal(single.transduction_, double.transduction_)


def test_dense_kernel_solved_on_its_significant_weights():
    # digits with gamma 20: 98 % of the kernel's weights are below 1e-16 of their rows'
    # largest; CG runs on the rest (sparse) and corrects with the dense kernel's residual
    from sklearn.datasets import load_digits

    X, truth = load_digits(return_X_y=True)
    X = X[:1200] / 16.0
    y = np.where(np.random.default_rng(1).random(1200) < 0.1, truth[:1200], -1)
    W = rbf_kernel(X, gamma=20.0)
    operator = SpreadingOperator(W, 0.2)
    inner = operator.significant_part()
    assert inner is not None and inner.sparse_parts[0].nnz < 0.05 * W.size
    np.testing.assert_allclose(inner.scale, operator.scale)  # the dense kernel's degrees
    exact = label_spreading(W, y, method="direct")
    for tol in (None, 1e-12):
        result = label_spreading(W, y, tol=tol)
        assert np.array_equal(result.transduction, exact.transduction)
        # the residual of the dense system itself, and one dense product per round
        assert result.residual <= (1e-10 if tol is None else tol)
        assert len(result.history["residual"]) <= 3
    # a small kernel keeps its dense products
    assert SpreadingOperator(W[:200, :200], 0.2).significant_part() is None


def test_significant_part_drops_only_negligible_normalised_weights():
    # weights spread over 300 orders of magnitude, a point whose weights are all tiny and an
    # isolated one: every dropped entry of S is below 1e-16, and zeros are never stored
    rng = np.random.default_rng(5)
    W = np.exp(-rng.uniform(0.0, 700.0, (1000, 1000)))
    W = np.minimum(W, W.T)
    W[3, :] = W[:, 3] = 1e-200 * rng.random(1000)
    W[7, :] = W[:, 7] = 0.0
    np.fill_diagonal(W, 0.0)
    operator = SpreadingOperator(W, 0.5)
    kept = operator.significant_part()._product.toarray() / -0.5  # S on the kept entries
    S = operator.scale[:, None] * W * operator.scale[None, :]
    assert np.all(S[kept == 0] < 1e-16)
    np.testing.assert_allclose(kept[kept != 0], S[kept != 0], rtol=1e-12)
    assert np.any(kept[3] != 0) and not np.any(kept[7])
