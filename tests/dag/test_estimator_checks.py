import pickle

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from numsolve.dag import TopoDAG, is_dag, logistic_score, simulate_dag, simulate_linear_sem, simulate_parameter


@parametrize_with_checks([TopoDAG(random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_estimator_fit_and_pickle():
    B = simulate_dag(8, 12, "ER", random_state=3)
    X = simulate_linear_sem(simulate_parameter(B, random_state=3), 1000, random_state=3)
    est = TopoDAG(loss="l2", init="random", n_restarts=1, random_state=0).fit(X)
    assert is_dag(est.adjacency_)
    assert np.all((np.abs(est.weights_) >= 0.3) | (est.adjacency_ == 0))  # edges pass the threshold
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.adjacency_, est.adjacency_)
    assert est.history_["score"][-1] == est.score_


def _held_out_gaussian_loglik(W, X_train, X_test):
    """Each node's noise given its parents' weights ``W[:, j]``: mean and standard deviation on
    the training rows; the mean over test rows of the sum of the nodes' normal log-densities."""
    total = np.zeros(len(X_test))
    for j in range(X_train.shape[1]):
        noise = X_train[:, j] - X_train @ W[:, j]
        mean = X_test @ W[:, j] + noise.mean()
        total += norm.logpdf(X_test[:, j], loc=mean, scale=noise.std())
    return total.mean()


@pytest.mark.parametrize("loss", ["bic", "l2"])
def test_cross_val_score_is_held_out_gaussian_likelihood(loss):
    B = simulate_dag(6, 8, "ER", random_state=2)
    X = simulate_linear_sem(simulate_parameter(B, random_state=2), 600, random_state=2)
    folds = KFold(3, shuffle=True, random_state=0)
    est = TopoDAG(loss=loss, random_state=0)
    scores = cross_val_score(est, X, cv=folds)
    expected = [_held_out_gaussian_loglik(clone(est).fit(X[train]).adjacency_, X[train], X[test])
                for train, test in folds.split(X)]
    np.testing.assert_allclose(scores, expected, rtol=1e-10)
    # the learned edges predict held-out rows better than the empty graph does
    empty = cross_val_score(TopoDAG(edge_penalty=1e9), X, cv=folds)
    assert np.all(scores > empty + 0.5)


def test_logistic_score_is_bernoulli_likelihood():
    rng = np.random.default_rng(0)
    a = rng.random(300) < 0.5
    X = np.c_[a, a ^ (rng.random(300) < 0.1), rng.random(300) < 0.3].astype(float)
    est = TopoDAG(loss="logistic", random_state=0).fit(X)
    assert est.score(X) == pytest.approx(-logistic_score(X, est.adjacency_), rel=1e-12)


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        TopoDAG("l2")


def test_verbose_bic_reports_every_pass(capsys):
    X = simulate_linear_sem(simulate_parameter(simulate_dag(5, 5, "ER", random_state=0),
                                               random_state=0), 300, random_state=0)
    est = TopoDAG(n_restarts=0, verbose=1).fit(X)
    err = capsys.readouterr().err
    assert f"{est.n_iter_}/500" in err and "pass" in err and f"score={est.score_:.6g}" in err
    TopoDAG(n_restarts=0).fit(X)
    assert capsys.readouterr().err == ""
