"""Shared data of the DAG tests."""

import numpy as np
import pytest


def _planted_additive_sem(n=2000, seed=0):
    """x0, x1 uniform; x2 = x0^2, x3 = sin(1.5 x1), x4 = tanh(x2 - 1.3) + x3^2, each plus noise:
    the square makes x0 and x2 uncorrelated, so no linear score sees that edge."""
    rng = np.random.default_rng(seed)
    noise = lambda: 0.3 * rng.normal(size=n)  # noqa: E731
    x0, x1 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    x2 = x0 ** 2 + noise()
    x3 = np.sin(1.5 * x1) + noise()
    x4 = np.tanh(x2 - 1.3) + x3 ** 2 + noise()
    B = np.zeros((5, 5))
    B[0, 2] = B[1, 3] = B[2, 4] = B[3, 4] = 1
    return np.c_[x0, x1, x2, x3, x4], B


@pytest.fixture
def planted():
    """``planted(n=2000, seed=0)``: a nonlinear additive SEM on 5 nodes and its graph."""
    return _planted_additive_sem
