"""LabelPropagation and the harmonic solution: agreement with scikit-learn and SciPy, bad input."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from sklearn.datasets import load_digits, load_iris, make_moons
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.semi_supervised import LabelPropagation as SklearnLabelPropagation

from numsolve.linear_model._graph_blocks import lattice_forests
from numsolve.semi_supervised import (
    LabelPropagation,
    UnreachedNodesWarning,
    harmonic_solution,
    harmonic_system,
    label_propagation,
    lattice_graph,
    make_lattice_problem,
)


def partially_labelled(n=150, labelled=20, noise=0.08, seed=0):
    X, y = make_moons(n, noise=noise, random_state=seed)
    y_partial = np.full(n, -1)
    picks = np.random.default_rng(seed).choice(n, labelled, replace=False)
    y_partial[picks] = y[picks]
    return X, y, y_partial


def sklearn_exact(kernel, X, y_partial, **params):
    return SklearnLabelPropagation(kernel=kernel, tol=1e-13, max_iter=200_000,
                                   **params).fit(X, y_partial)


def test_rbf_agrees_with_scikit_learn():
    X, _, y_partial = partially_labelled()
    ours = LabelPropagation(kernel="rbf", gamma=20, rbf_cutoff=1e-12, tol=1e-12).fit(
        X, y_partial)
    theirs = sklearn_exact("rbf", X, y_partial, gamma=20)
    np.testing.assert_allclose(ours.label_distributions_, theirs.label_distributions_,
                               atol=1e-6)
    assert np.array_equal(ours.transduction_, theirs.transduction_)
    np.testing.assert_allclose(ours.predict_proba(X[:30]), theirs.predict_proba(X[:30]),
                               atol=1e-5)


def test_precomputed_and_callable_agree_with_scikit_learn():
    X, _, y_partial = partially_labelled(seed=1)
    K = rbf_kernel(X, gamma=5.0)
    theirs = sklearn_exact(lambda A, B: rbf_kernel(A, B, gamma=5.0), X, y_partial)
    pre = LabelPropagation(kernel="precomputed", tol=1e-12).fit(sp.csr_matrix(K), y_partial)
    call = LabelPropagation(kernel=lambda A, B: rbf_kernel(A, B, gamma=5.0), tol=1e-12).fit(
        X, y_partial)
    for model in (pre, call):
        np.testing.assert_allclose(model.label_distributions_, theirs.label_distributions_,
                                   atol=1e-7)
    np.testing.assert_allclose(pre.predict_proba(K[:10]), theirs.predict_proba(X[:10]),
                               atol=1e-7)


def test_knn_agrees_with_scikit_learn_transduction():
    """scikit-learn propagates on the non-symmetric kNN graph, numsolve on its symmetrisation."""
    X, y, y_partial = partially_labelled(n=300, labelled=30, noise=0.1)
    ours = LabelPropagation(kernel="knn", n_neighbors=7).fit(X, y_partial)
    theirs = sklearn_exact("knn", X, y_partial, n_neighbors=7)
    assert np.mean(ours.transduction_ == theirs.transduction_) >= 0.97
    assert np.mean(ours.predict(X) == theirs.predict(X)) >= 0.97
    assert np.mean(ours.transduction_ == y) >= 0.95


def test_multiclass_radius_and_sparse_input():
    X, y = load_iris(return_X_y=True)
    y_partial = np.full_like(y, -1)
    y_partial[::5] = y[::5]
    model = LabelPropagation(kernel="radius", radius=1.0).fit(sp.csr_matrix(X), y_partial)
    assert model.label_distributions_.shape == (150, 3)
    np.testing.assert_allclose(model.label_distributions_.sum(axis=1), 1.0)
    assert np.array_equal(model.transduction_[::5], y[::5])
    assert np.mean(model.transduction_ == y) > 0.9
    proba = model.predict_proba(X + 0.01)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1.0)
    clone = pickle.loads(pickle.dumps(model))
    assert np.array_equal(clone.predict(X), model.predict(X))


def test_string_labels():
    X, y, _ = partially_labelled()
    names = np.array(["left", "right"])[y]
    names = names.astype(object)
    model = LabelPropagation(kernel="knn").fit(X, names)
    assert set(model.classes_) == {"left", "right"}
    assert np.array_equal(model.transduction_, names)


@pytest.mark.parametrize("blocks", ["forest", "greedy-forest", "colour", "coordinate"])
def test_every_block_rule_gives_the_same_harmonic_solution(blocks):
    W, labelled, values = make_lattice_problem(20, 25, weight=1.0, random_state=3)
    exact = harmonic_solution(W, labelled, values, method="direct").x
    result = harmonic_solution(W, labelled, values, method="bcd", blocks=blocks, tol=1e-10,
                               max_iter=20000)
    np.testing.assert_allclose(result.x, exact, atol=1e-7)
    assert np.array_equal(result.x[labelled], values)


def test_lattice_harmonic_solution_matches_spsolve_with_comb_forests():
    W, labelled, values = make_lattice_problem(40, 40, random_state=1)
    Q, c, unlabelled = harmonic_system(W, labelled, values)
    expected = spsolve(Q.tocsc(), c[:, 0])
    result = harmonic_solution(W, labelled, values, method="bcd",
                               blocks=lattice_forests((40, 40)), tol=1e-10)
    assert result.converged and result.n_blocks == 2
    np.testing.assert_allclose(result.x[unlabelled], expected, rtol=1e-6, atol=1e-6)
    # the system is the Laplacian restricted to the unlabelled nodes
    L = sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    np.testing.assert_allclose(Q.toarray(), L[unlabelled][:, unlabelled].toarray())


def test_harmonic_system_skips_self_loops_and_is_sorted():
    W = lattice_graph(5, 6, weight=2.0) + sp.identity(30)
    Q, c, unlabelled = harmonic_system(W.tocsr(), [0, 7, 29], np.eye(3))
    assert Q.has_sorted_indices
    assert np.allclose(Q.sum(axis=1).A1, c.sum(axis=1))


def test_component_without_labels_warns_and_gets_zeros():
    lattice = lattice_graph(3, 3, 1.0)
    W = sp.block_diag([lattice, lattice_graph(2, 2, 1.0)]).tocsr()
    y = np.full(13, -1)
    y[0] = 0
    y[4] = 1
    with pytest.warns(UnreachedNodesWarning, match="4 node"):
        result = label_propagation(W, y, tol=1e-12)
    alone = label_propagation(lattice, y[:9], tol=1e-12)
    np.testing.assert_allclose(result.x[:9], alone.x, atol=1e-10)
    np.testing.assert_array_equal(result.x[9:], 0.0)
    np.testing.assert_array_equal(result.transduction[9:], 0)
    assert result.reached.tolist() == [True] * 9 + [False] * 4


def test_isolated_unlabelled_point_gets_what_scikit_learn_gives():
    """A point whose RBF weights all underflow: scikit-learn leaves it without label mass."""
    X, _, y_partial = partially_labelled()
    X, y_partial = np.r_[X, [[50.0, 50.0]]], np.r_[y_partial, -1]
    with pytest.warns(UnreachedNodesWarning, match="1 node"):
        ours = LabelPropagation(gamma=20).fit(X, y_partial)
    theirs = SklearnLabelPropagation(gamma=20).fit(X, y_partial)
    np.testing.assert_array_equal(ours.label_distributions_[-1],
                                  theirs.label_distributions_[-1])
    assert ours.transduction_[-1] == theirs.transduction_[-1] == ours.classes_[0]
    with pytest.warns(UnreachedNodesWarning):
        LabelPropagation(kernel="radius", radius=5.0).fit(X, y_partial)


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's digits scaled to [0, 1], 10 % of the labels kept (seed 0)."""
    X, y = load_digits(return_X_y=True)
    labelled = np.random.default_rng(0).random(y.size) < 0.1
    return X / 16.0, y, np.where(labelled, y, -1)


def test_digits_rbf_with_scikit_learn_gamma_is_the_exact_harmonic_solution(digits):
    """gamma=20 leaves nearly every point alone under the cut-off; the nearest-neighbour
    backbone and the direct solve give the harmonic labels of scikit-learn's dense kernel,
    computed here by a dense solve. scikit-learn's own iteration stops after two steps at a
    nearest-labelled-point vote (the baseline), which the fixed point beats."""
    X, y, y_partial = digits
    ours = LabelPropagation().fit(X, y_partial)
    K = rbf_kernel(X, gamma=20)
    np.fill_diagonal(K, 0.0)
    unlabelled, labelled = y_partial == -1, y_partial != -1
    Q = np.diag(K[unlabelled].sum(axis=1)) - K[np.ix_(unlabelled, unlabelled)]
    F = np.linalg.solve(Q, K[np.ix_(unlabelled, labelled)] @ np.eye(10)[y[labelled]])
    assert np.mean(ours.transduction_[unlabelled] == F.argmax(axis=1)) >= 0.999
    theirs = SklearnLabelPropagation().fit(X, y_partial)
    accuracy = np.mean(ours.transduction_[unlabelled] == y[unlabelled])
    assert accuracy > np.mean(theirs.transduction_[unlabelled] == y[unlabelled]) + 0.01
    assert theirs.n_iter_ <= 3


def test_digits_knn_agrees_with_scikit_learn(digits):
    X, y, y_partial = digits
    ours = LabelPropagation(kernel="knn").fit(X, y_partial)
    theirs = SklearnLabelPropagation(kernel="knn").fit(X, y_partial)
    assert np.mean(ours.transduction_ == theirs.transduction_) >= 0.97
    unlabelled = y_partial == -1
    assert np.mean(ours.transduction_[unlabelled] == y[unlabelled]) >= 0.95


def test_no_labelled_node():
    W = lattice_graph(3, 3, 1.0)
    with pytest.raises(ValueError, match="no labelled node"):
        label_propagation(W, np.full(9, -1))
    with pytest.raises(ValueError, match="no labelled node"):
        harmonic_solution(W, np.array([], dtype=int), np.zeros((0, 1)))
    X, _, _ = partially_labelled()
    with pytest.raises(ValueError, match="no labelled node"):
        LabelPropagation(kernel="knn").fit(X, np.full(len(X), -1))


def test_class_without_labels():
    W = lattice_graph(3, 3, 1.0)
    y = np.full(9, -1)
    y[[0, 8]] = 0
    with pytest.raises(ValueError, match=r"classes \[1\] have no labelled node"):
        label_propagation(W, y, classes=np.array([0, 1]))
    with pytest.raises(ValueError, match="not in classes"):
        label_propagation(W, np.r_[y[:-1], 2], classes=np.array([0]))


def test_other_bad_input():
    W = lattice_graph(3, 3, 1.0)
    with pytest.raises(ValueError, match="symmetric"):
        harmonic_solution(sp.triu(W).tocsr(), [0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        harmonic_solution(-W, [0], [1.0])
    with pytest.raises(ValueError, match="rows"):
        harmonic_solution(W, [0, 1], [1.0])
    with pytest.raises(ValueError, match="distinct"):
        harmonic_solution(W, [0, 0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        harmonic_solution(W, [9], [1.0])
    with pytest.raises(ValueError, match="square"):
        LabelPropagation(kernel="precomputed").fit(np.ones((4, 3)), [0, 1, -1, -1])


def test_inputs_unchanged():
    X, _, y_partial = partially_labelled()
    X0, y0 = X.copy(), y_partial.copy()
    LabelPropagation(kernel="knn").fit(X, y_partial)
    assert np.array_equal(X, X0) and np.array_equal(y_partial, y0)
    W, labelled, values = make_lattice_problem(10, 10, random_state=0)
    W0 = W.copy()
    harmonic_solution(W, labelled, values)
    assert (W != W0).nnz == 0


@pytest.mark.parametrize("solve", [harmonic_system, harmonic_solution])
def test_bad_values_are_refused_before_any_solve(solve):
    path = lattice_graph(1, 5)
    with pytest.raises(ValueError, match="values must have 2 rows"):
        solve(path, [0, 4], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="NaN or infinity"):
        solve(path, [0, 4], np.array([[0.0, 1.0], [np.nan, 0.0]]))
    values = np.array([0.0, 1.0])
    solve(path, [0, 4], values)
    assert values.tolist() == [0.0, 1.0]
