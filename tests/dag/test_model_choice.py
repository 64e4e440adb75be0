"""loss="auto": the linear model unless BIC prefers the additive one on the linear graph's parents."""

import pickle

import numpy as np
import pytest
from sklearn.preprocessing import SplineTransformer

from numsolve.dag import TopoDAG, simulate_dag, simulate_linear_sem, simulate_parameter, topo_swaps
from numsolve.dag._additive import N_KNOTS
from numsolve.dag._model_choice import model_scores
from numsolve.dag._splines import SplineBasis


def _linear_sem(noise, seed, d=10, n=1000):
    B = simulate_dag(d, 2 * d, "ER", random_state=seed)
    X = simulate_linear_sem(simulate_parameter(B, random_state=seed), n, noise=noise, random_state=seed)
    return (X - X.mean(axis=0)) / X.std(axis=0), B


def _same_graph(a, b):
    np.testing.assert_array_equal(a.adjacency_, b.adjacency_)
    np.testing.assert_array_equal(a.cpdag_, b.cpdag_)
    np.testing.assert_array_equal(a.order_, b.order_)


@pytest.mark.parametrize("noise, seed", [("gauss", 0), ("gauss", 1), ("exp", 2), ("gumbel", 3)])
def test_linear_sems_keep_the_linear_graph(noise, seed):
    X, _ = _linear_sem(noise, seed)
    auto = TopoDAG(random_state=0).fit(X)
    assert auto.loss_ == "bic"
    assert auto.model_scores_["bic"] < auto.model_scores_["additive"]
    assert auto.additive_model_ is None
    _same_graph(auto, TopoDAG(loss="bic", random_state=0).fit(X))


def test_planted_additive_sem_chooses_splines_and_is_recovered(planted):
    X, B = planted()
    auto = TopoDAG(random_state=0).fit(X)
    assert auto.loss_ == "additive"
    assert auto.model_scores_["additive"] < auto.model_scores_["bic"]
    np.testing.assert_array_equal(auto.adjacency_ != 0, B != 0)
    np.testing.assert_array_equal(auto.cpdag_, B.astype(int))
    # what the linear model alone finds, and what auto would have kept had it not tested
    linear = TopoDAG(loss="bic", random_state=0).fit(X)
    assert np.any((linear.adjacency_ != 0) != (B != 0))
    assert auto.score(X) > linear.score(X)


def test_choice_and_graph_do_not_depend_on_the_units(planted):
    scale = np.array([1e-3, -40.0, 7.0, 1e4, -0.5])
    for X in (planted(n=1500, seed=4)[0], _linear_sem("exp", 5, d=5)[0]):
        Y = X * scale + np.arange(5)
        a, b = TopoDAG(random_state=0).fit(X), TopoDAG(random_state=0).fit(Y)
        assert a.loss_ == b.loss_
        np.testing.assert_array_equal(a.adjacency_ != 0, b.adjacency_ != 0)
        np.testing.assert_array_equal(a.cpdag_, b.cpdag_)
        # each model's likelihood shifts by the same n sum log|a|
        shift = len(X) * np.sum(np.log(np.abs(scale)))
        for model in ("bic", "additive"):
            assert b.model_scores_[model] == pytest.approx(a.model_scores_[model] + shift, rel=1e-9, abs=1e-6)


def test_deterministic_and_picklable(planted):
    X, _ = planted(n=800, seed=6)
    a, b = TopoDAG(random_state=3).fit(X), TopoDAG(random_state=3).fit(X)
    assert a.loss_ == b.loss_ == "additive"
    _same_graph(a, b)
    assert a.model_scores_ == b.model_scores_
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.score_samples(X), a.score_samples(X))


def _spline_design(X, parents):
    Z = [np.ones(len(X))]
    for p in parents:
        knots = np.quantile(X[:, p], np.linspace(0, 1, N_KNOTS))[:, None]
        Z.extend(SplineTransformer(knots=knots).fit_transform(X[:, [p]]).T[:-1])
    return np.array(Z).T


def _rss(Z, y):
    r = y - Z @ np.linalg.lstsq(Z, y, rcond=None)[0]
    return r @ r


@pytest.mark.parametrize("min_explained", [0.0, 0.1])
def test_model_scores_equal_direct_least_squares(planted, min_explained):
    X, _ = planted(n=700, seed=7)
    n = len(X)
    parents = [(), (), (0,), (1, 0), (2, 3)]
    linear = additive = 0.0
    for v, P in enumerate(parents):
        P = list(P)
        linear += n / 2 * np.log(_rss(np.c_[np.ones(n), X[:, P]], X[:, v]) / n) + np.log(n) / 2 * len(P)
        additive += n / 2 * np.log(_rss(_spline_design(X, P), X[:, v]) / n) + np.log(n) / 2 * len(P)
        if P:
            additive += max(np.log(n) / 2 * N_KNOTS * len(P), -n / 2 * np.log(1 - min_explained))
    scores = model_scores(X, parents, min_explained)
    assert scores["bic"] == pytest.approx(linear, rel=1e-9)
    assert scores["additive"] == pytest.approx(additive, rel=1e-9)


def test_skewed_noise_at_large_n_stays_linear_where_bic_alone_would_not():
    # a reversed edge's conditional mean bends under exponential noise; BIC's charge grows as
    # log n, the gain and the effect-size floor as n
    X, _ = _linear_sem("exp", 2, d=8, n=20000)
    auto = TopoDAG(random_state=0).fit(X)
    assert auto.loss_ == "bic"
    parents = [np.flatnonzero(column) for column in auto.adjacency_.T]
    bic_alone = model_scores(X, parents, min_explained=0.0)
    assert bic_alone["additive"] < bic_alone["bic"]


def test_topo_swaps_auto_reports_the_choice(planted):
    X, _ = planted(n=600, seed=8)
    res = topo_swaps(X, score="auto")
    assert res.extras["loss"] == "additive"
    assert set(res.extras["model_scores"]) == {"bic", "additive"}
    with pytest.raises(ValueError, match="lambda1"):
        topo_swaps(X, score="auto", lambda1=0.1)


@pytest.mark.parametrize("x", [np.random.default_rng(0).normal(size=400),
                               np.random.default_rng(1).exponential(size=300) ** 3,
                               np.random.default_rng(2).integers(0, 3, 100).astype(float)])
def test_spline_basis_is_scikit_learns_inside_and_beyond_the_knots(x):
    basis = SplineBasis.at_quantiles(x, N_KNOTS)
    knots = np.unique(np.quantile(x, np.linspace(0, 1, N_KNOTS)))[:, None]
    reference = SplineTransformer(knots=knots, extrapolation="linear").fit(x[:, None])
    span = x.max() - x.min()
    y = np.r_[x, np.linspace(x.min() - span, x.max() + span, 41)]
    np.testing.assert_allclose(basis.transform(y), reference.transform(y[:, None])[:, :-1],
                               rtol=1e-12, atol=1e-12)
    assert SplineBasis.at_quantiles(np.ones(5), N_KNOTS) is None
