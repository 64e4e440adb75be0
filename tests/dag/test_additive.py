"""The additive-noise score: model, search, estimator."""

import pickle

import numpy as np
import pytest
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.dag import TopoDAG, additive_score, count_accuracy, simulate_dag, topo_swaps
from numsolve.dag._additive import N_KNOTS, BlockGram, _Selection, block_cost
from numsolve.dag._topo import order_from_W


def test_planted_nonlinear_dag_recovered_where_the_linear_score_fails(planted):
    X, B = planted()
    additive = TopoDAG(loss="additive").fit(X)
    np.testing.assert_array_equal(additive.adjacency_ != 0, B != 0)
    np.testing.assert_array_equal(additive.cpdag_, B.astype(int))
    assert count_accuracy(B, TopoDAG(loss="bic").fit(X).adjacency_)["shd"] >= 2


def test_rescaling_and_shifting_columns_keeps_the_graph_and_shifts_the_score(planted):
    X, _ = planted(n=800, seed=1)
    scale = np.array([1e-3, -40.0, 7.0, 1e4, -0.5])
    Y = X * scale + np.arange(5)
    a, b = topo_swaps(X, score="additive"), topo_swaps(Y, score="additive")
    np.testing.assert_array_equal(a.x, b.x)
    n = X.shape[0]
    assert b.extras["score"] == pytest.approx(a.extras["score"] + n * np.sum(np.log(np.abs(scale))),
                                              rel=1e-9)


def test_search_score_equals_direct_computation(planted):
    X, _ = planted(n=600, seed=2)
    res = topo_swaps(X, score="additive")
    assert res.extras["score"] == pytest.approx(additive_score(X, res.x), rel=1e-9)
    assert res.history["score"][-1] == pytest.approx(res.extras["score"], rel=1e-12)


def test_block_residual_variance_equals_least_squares_on_the_spline_design(planted):
    X, _ = planted(n=500, seed=3)
    gram = BlockGram(X, N_KNOTS, 0.1)
    for v, parents in [(4, [2, 3]), (2, [0]), (0, [1, 3, 4])]:
        Z = [np.ones(len(X))]
        for p in parents:
            knots = np.quantile(X[:, p], np.linspace(0, 1, N_KNOTS))[:, None]
            Z.append(SplineTransformer(knots=knots).fit_transform(X[:, [p]]).T[:-1])
        Z = np.vstack(Z).T
        r = X[:, v] - Z @ np.linalg.lstsq(Z, X[:, v], rcond=None)[0]
        expected = r @ r / (len(X) * X[:, v].var())
        assert gram.rss(v, parents) == pytest.approx(expected, rel=1e-8)
        others = [u for u in range(5) if u != v and u not in parents]
        np.testing.assert_allclose(gram.rss_after_adding(v, parents, others),
                                   [gram.rss(v, parents + [u]) for u in others], rtol=1e-8)
        np.testing.assert_allclose(gram.rss_along(v, parents, others[0]),
                                   [gram.rss(v, parents[:t] + [others[0]]) for t in range(len(parents) + 1)],
                                   rtol=1e-8)


def test_memoised_moves_give_the_selection_made_afresh(planted):
    X, _ = planted(n=800, seed=8)
    gram = BlockGram(X, N_KNOTS, 0.0)
    select = _Selection(gram, tol=1e-9)
    moved = 0
    for v in range(5):
        others = [u for u in range(5) if u != v]
        for mask in range(16):
            base = frozenset(u for b, u in enumerate(others) if mask >> b & 1)
            for x in others:
                add = x not in base
                derived = select.changed(v, base, x, add)
                fresh = _Selection(gram, tol=1e-9).get(v, base | {x} if add else base - {x})
                assert derived.parents == fresh.parents
                assert derived.score == pytest.approx(fresh.score, rel=1e-12)
                moved += derived.parents != select.get(v, base).parents
    assert moved > 10  # the cases where one candidate more or less changes the choice


def test_selection_is_a_local_minimum_over_single_blocks(planted):
    X, _ = planted(n=800, seed=4)
    gram = BlockGram(X, N_KNOTS, 0.1)
    select = _Selection(gram, tol=1e-9)
    for v in range(5):
        candidates = [u for u in range(5) if u != v]
        choice = select.get(v, frozenset(candidates))
        value, parents = choice.score, choice.parents
        assert value == pytest.approx(gram.node_score(v, list(parents)), rel=1e-10)
        for p in parents:
            assert gram.node_score(v, [q for q in parents if q != p]) >= value - 1e-9
        for u in set(candidates) - set(parents):
            assert gram.node_score(v, list(parents) + [u]) >= value - 1e-9


def test_effect_size_floor_drops_weak_parents_bic_keeps():
    rng = np.random.default_rng(5)
    n = 20000
    x = rng.normal(size=n)
    # x explains about 3 % of y's variance: detectable at this n, below a 10 % floor
    y = 0.18 * x + rng.normal(size=n)
    X = np.c_[x, y]
    assert np.count_nonzero(topo_swaps(X, score="additive", min_explained=0.0).x) == 1
    assert np.count_nonzero(topo_swaps(X, score="additive", min_explained=0.1).x) == 0
    assert block_cost(n, 5, 0.1) == pytest.approx(-n / 2 * np.log(0.9))
    assert block_cost(n, 5, 0.0) == pytest.approx(5 * np.log(n) / 2)


def test_log_likelihood_at_the_training_data_is_the_maximised_one(planted):
    X, _ = planted(n=700, seed=6)
    est = TopoDAG(loss="additive").fit(X)
    n = X.shape[0]
    # with noise variances RSS_j / n the squared residuals sum to n per node
    expected = -n / 2 * np.sum(np.log(2 * np.pi * est.noise_variance_) + 1)
    assert est.score_samples(X).sum() == pytest.approx(expected, rel=1e-9)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.score_samples(X[:50]), est.score_samples(X[:50]))


def test_float32_input_gives_the_float64_graph(planted):
    X, _ = planted(n=800, seed=7)
    a = TopoDAG(loss="additive").fit(X)
    b = TopoDAG(loss="additive").fit(X.astype(np.float32))
    np.testing.assert_array_equal(a.adjacency_, b.adjacency_)
    assert b.adjacency_.dtype == np.float32


@pytest.mark.parametrize("kwargs, message", [
    ({"min_explained": 1.0}, "min_explained"),
    ({"min_explained": -0.1}, "min_explained"),
    ({"lambda1": 0.1}, "lambda1"),
])
def test_bad_parameters_raise(kwargs, message, planted):
    X, _ = planted(n=100)
    with pytest.raises(ValueError, match=message):
        topo_swaps(X, score="additive", **kwargs)


def test_bad_input_raises(planted):
    X, _ = planted(n=100)
    with pytest.raises(ValueError, match="sample"):
        topo_swaps(X[:1], score="additive")
    with pytest.raises(ValueError, match="constant"):
        topo_swaps(np.c_[X, np.ones(100)], score="additive")
    with pytest.raises(ValueError, match="n_knots"):
        additive_score(X, np.zeros((5, 5)), n_knots=1)
    with pytest.raises(ValueError, match="shape"):
        additive_score(X, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="min_explained"):
        TopoDAG(loss="additive", min_explained=2.0).fit(X)


def test_few_distinct_values_and_duplicate_columns():
    rng = np.random.default_rng(9)
    n = 1000
    b = (rng.random(n) < 0.5).astype(float)
    x = 2 * b + rng.normal(size=n)
    y = np.sin(x) + 0.3 * rng.normal(size=n)
    X = np.c_[b, x, y, rng.integers(0, 3, n) + 0.5 * y, x]
    gram = BlockGram(X, N_KNOTS, 0.1)
    # a binary column spans one direction whatever its spline columns
    assert [gram.columns[j].size for j in range(5)] == [1, 5, 5, 5, 5]
    res = topo_swaps(X, score="additive")
    assert res.extras["score"] == pytest.approx(additive_score(X, res.x), rel=1e-9)
    assert res.x[1, 4] + res.x[4, 1] == 1  # the copy is explained by its original


@parametrize_with_checks([TopoDAG(loss="additive")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_compiled_regressions_fall_back_to_the_pseudo_inverse_on_dependent_blocks():
    rng = np.random.default_rng(4)
    x = rng.normal(size=800)
    X = np.c_[rng.normal(size=800), x, np.sin(x) + 0.3 * rng.normal(size=800), x ** 2, x]
    gram = BlockGram(X, N_KNOTS, 0.1)
    # column 4 copies column 1: once 1 is chosen, its block explains nothing more
    assert gram.rss_along(2, [1], 4)[1] == pytest.approx(gram.rss(2, [1]), rel=1e-8)
    # the chosen blocks themselves dependent: no factor of the path, the pseudo-inverse alone
    np.testing.assert_allclose(gram.rss_after_adding(2, [1, 4], [0, 3]),
                               [gram.rss(2, [1, 0]), gram.rss(2, [1, 3])], rtol=1e-8)
    assert gram.rss(2, [1, 4, 0]) == pytest.approx(gram.rss(2, [1, 0]), rel=1e-8)


def _additive_er_sem(d, seed, n=1000):
    """Each node standard Gaussian noise plus, per parent, a sine, tanh, half square or absolute
    value of the parent's standardised value (times 1.5)."""
    bends = (np.sin, np.tanh, lambda z: z ** 2 / 2, np.abs)
    B = simulate_dag(d, 2 * d, "ER", random_state=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    for j in order_from_W(B):
        for p in np.flatnonzero(B[:, j]):
            z = (X[:, p] - X[:, p].mean()) / X[:, p].std()
            X[:, j] += bends[rng.integers(len(bends))](1.5 * z)
    return X, B


def test_longer_paths_recovered_deterministically_with_the_direct_score():
    X, B = _additive_er_sem(15, seed=1)
    X_before = X.copy()
    a, b = topo_swaps(X, score="additive"), topo_swaps(X, score="additive")
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.extras["score"] == b.extras["score"]
    assert count_accuracy(B, a.x)["shd"] == 0
    assert count_accuracy(B, topo_swaps(X, score="bic").x)["shd"] >= 20
    assert a.extras["score"] == pytest.approx(additive_score(X, a.x), rel=1e-9)
