"""The softmax Newton finish's safeguards that the real data sets needed: steps bounded by
the gap, projected arcs, and the 10-class digits problem landing at the requested gap."""

import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.preprocessing import StandardScaler

from numsolve.linear_model import Logistic, LogisticRegression
from numsolve.linear_model._newton import _bounded_direction, _projected_arc


def test_bounded_direction_predicts_no_more_than_the_gap():
    """A singular Hessian (a shift common to two coefficients) gives a Newton step of
    1e12 without damping; the bounded step predicts a decrease of at most the gap and
    still descends."""
    H = np.array([[1.0, 1.0], [1.0, 1.0]])
    grad = np.array([1.0, 0.5])
    d = _bounded_direction(H, np.zeros(2), grad, gap=1.0)
    assert 0 < -0.5 * grad @ d <= 1.0
    undamped = _bounded_direction(H, np.zeros(2), grad, gap=np.inf)
    assert np.abs(undamped).max() > 1e6


def test_projected_arc_backtracks_to_a_decrease():
    """The full projected step and its halves up to 1/4 are worse, 1/8 of it is better
    and still flips the first sign: the arc takes that point with the flipped coefficient
    at zero."""
    target = np.array([-0.1, 1.0])

    def objective(Z, theta):
        return float(np.sum((theta - target) ** 2))

    theta = np.array([0.5, 0.5])
    d = np.array([-8.0, 10.0])  # overshoots the second coordinate badly
    sigma = np.sign(theta)
    XS = np.eye(2)
    current = objective(None, theta)
    assert objective(None, np.array([0.0, 10.5])) > current  # the full projected step
    Z, trial, value = _projected_arc(objective, np.zeros((2, 1)), theta, d, sigma, 2, XS,
                                     np.zeros(2, dtype=int), 1, current, 8)
    assert value < current
    assert trial[0] == 0.0 and trial[1] == pytest.approx(0.5 + 10.0 / 8)
    np.testing.assert_allclose(Z[:, 0], trial - theta)


def test_digits_lands_at_the_requested_gap_below_saga():
    """digits (1797 x 64, 10 classes, standardised), L1 at C = 1: the gap lands in
    [threshold / 100, threshold] (it was 6e-6 times the threshold) at an objective no
    worse than saga's at scikit-learn's defaults."""
    X, y = datasets.load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = LogisticRegression(penalty="l1").fit(X, y)
    shares = np.bincount(y) / y.size
    threshold = 1e-4 * -np.sum(shares * np.log(shares))
    assert threshold / 100 <= ours.dual_gap_ <= threshold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saga = SkLogistic(penalty="l1", solver="saga").fit(X, y)

    def objective(model):
        scores = X @ model.coef_.T + model.intercept_
        top = scores.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
        return np.mean(log_norm - scores[np.arange(y.size), y]) + \
            np.abs(model.coef_).sum() / y.size

    assert objective(ours) <= objective(saga)


def test_intercept_refinement_stops_at_round_off(monkeypatch):
    """breast_cancer's L1 fit refines its intercept at every outer iteration: once the
    Newton decrement is below the loss's rounding the refinement ends, where its line
    search used to halve the step 30 times on noise (471 loss evaluations a fit, now 25);
    the intercept's optimality is kept."""
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    evaluations = []
    value = Logistic.value

    def counted(self, *args):
        evaluations.append(1)
        return value(self, *args)

    monkeypatch.setattr(Logistic, "value", counted)
    model = LogisticRegression(penalty="l1").fit(X, y)
    assert len(evaluations) <= 60
    scores = X @ model.coef_[0] + model.intercept_[0]
    residual = 1.0 / (1.0 + np.exp(-scores)) - (y == 1)
    assert abs(residual.mean()) <= 1e-8
