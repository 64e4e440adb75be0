"""Datafits and penalties: gradients, Hessians, conjugates, prox and subdifferentials."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numsolve.linear_model import (L1, L2, L1PlusL2, Logistic, Multinomial, NoPenalty,
                                   NonNegL1, Quadratic)


def _problem(datafit, rng, n=7, K=1):
    Z = rng.standard_normal((n, K))
    if isinstance(datafit, Quadratic):
        y = rng.standard_normal(n)
    elif isinstance(datafit, Logistic):
        y = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    else:
        y = rng.integers(0, K, n).astype(float)
    a = rng.uniform(0.5, 1.5, n)
    return Z, y, a / a.sum()


DATAFITS = [(Quadratic(), 1), (Logistic(), 1), (Multinomial(n_classes=3), 3)]


@pytest.mark.parametrize("datafit,K", DATAFITS)
def test_gradient_and_hessian_match_finite_differences(datafit, K, rng):
    Z, y, a = _problem(datafit, rng, K=K)
    G = datafit.raw_gradient(Z, y, a, np)
    H = datafit.raw_hessian(Z, y, a, np)
    eps = 1e-6
    for i in range(Z.shape[0]):
        for c in range(K):
            E = np.zeros_like(Z)
            E[i, c] = eps
            fd = (datafit.value(Z + E, y, a, np) - datafit.value(Z - E, y, a, np)) / (2 * eps)
            assert fd == pytest.approx(G[i, c], abs=1e-8)
            gd = (datafit.raw_gradient(Z + E, y, a, np) - datafit.raw_gradient(Z - E, y, a, np))
            np.testing.assert_allclose(gd[i] / (2 * eps), H[i, c], atol=1e-7)


@pytest.mark.parametrize("datafit,K", DATAFITS)
def test_curvature_bound_dominates_hessian(datafit, K, rng):
    Z, y, a = _problem(datafit, rng, K=K)
    H = datafit.raw_hessian(Z, y, a, np)
    S = datafit.bound_matrix(K, np, np.float64)
    for i in range(Z.shape[0]):
        assert np.linalg.eigvalsh(a[i] * S - H[i]).min() >= -1e-12


@pytest.mark.parametrize("datafit,K", DATAFITS)
def test_fenchel_young_equality_at_gradient(datafit, K, rng):
    Z, y, a = _problem(datafit, rng, K=K)
    G = datafit.raw_gradient(Z, y, a, np)
    # f(Z) + f*(G) = <G, Z> at G = grad f(Z)
    total = datafit.value(Z, y, a, np) + datafit.conjugate(G, y, a, np)
    assert total == pytest.approx(np.sum(G * Z), abs=1e-10)


PENALTIES = [NoPenalty(), L2(0.7), L1(0.3), NonNegL1(0.3), L1PlusL2(0.5, 0.4)]


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@given(v=st.floats(-5, 5), step=st.floats(0.01, 3))
@settings(max_examples=30, deadline=None)
def test_prox_minimises_its_objective(penalty, v, step):
    x = float(penalty.prox(np.array([v]), step, np)[0])
    grid = np.linspace(-6, 6, 4001)
    if penalty.positive:
        grid = grid[grid >= 0]
        assert x >= 0
    objective = step * (penalty.l1 * np.abs(grid) + 0.5 * penalty.l2 * grid**2) \
        + 0.5 * (grid - v) ** 2
    best = step * penalty.value(np.array([x]), np) + 0.5 * (x - v) ** 2
    assert best <= objective.min() + 1e-9


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_subdiff_distance_vanishes_at_minimiser(penalty, rng):
    # w = prox(-c) minimises c'w + ||w||^2/2 + g(w); the smooth gradient there is c + w
    c = rng.standard_normal(20)
    w = penalty.prox(-c, 1.0, np)
    np.testing.assert_allclose(penalty.subdiff_distance(w, c + w, np), 0.0, atol=1e-12)
    assert penalty.subdiff_distance(w, c + w + 0.1, np).max() > 0


def test_weights_are_normalised_and_checked():
    a = Quadratic(sample_weight=[1.0, 3.0]).weights(2, np, np.float64)
    np.testing.assert_allclose(a, [0.25, 0.75])
    with pytest.raises(ValueError, match="sample_weight"):
        Quadratic(sample_weight=[1.0, -1.0]).weights(2, np, np.float64)
    with pytest.raises(ValueError, match="length"):
        Quadratic(sample_weight=[1.0]).weights(2, np, np.float64)


def test_bad_parameters():
    with pytest.raises(ValueError, match="alpha"):
        L1(-1.0)
    with pytest.raises(ValueError, match="l1_ratio"):
        L1PlusL2(1.0, 2.0)
    with pytest.raises(ValueError, match="-1, \\+1"):
        Logistic().encode([0.0, 1.0])
    with pytest.raises(ValueError, match="class indices"):
        Multinomial().encode([0.5, 1.0])


def test_multinomial_value_reads_each_sample_class_score(rng):
    """The value is ``sum_i a_i (logsumexp(z_i) - z_{i, y_i})``, the label's score read
    in place (not through one-hot labels), also for classes absent from ``y``."""
    Z, y, a = _problem(Multinomial(n_classes=4), rng, n=30, K=4)
    y[y == 2] = 0.0
    expected = a @ (np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(30), y.astype(int)])
    assert Multinomial(n_classes=4).value(Z, y, a, np) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_array_equal(Multinomial().label_scores(Z, y, np),
                                  Z[np.arange(30), y.astype(int)])


@pytest.mark.parametrize("datafit,K", DATAFITS[1:])
def test_class_masses_are_weighted_label_frequencies(datafit, K, rng):
    """One computation of the weighted class frequencies, whose entropy is the constant
    fit's value (the stopping scale) and whose log-odds the smooth route's first
    intercept."""
    _, y, a = _problem(datafit, rng, n=40, K=K)
    masses = datafit.class_masses(y, a, K, np)
    labels = (y > 0).astype(int) if isinstance(datafit, Logistic) else y.astype(int)
    np.testing.assert_allclose(masses, np.bincount(labels, weights=a, minlength=max(K, 2)),
                               rtol=1e-14)
    frequencies = masses / masses.sum()
    assert datafit.constant_fit_value(y, a, K, np) == pytest.approx(
        -np.sum(frequencies * np.log(frequencies)), rel=1e-14)
