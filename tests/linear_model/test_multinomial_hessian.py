"""The softmax loss's Hessian on a support, as the active-set Newton finish forms it."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model import Multinomial
from numsolve.linear_model._newton import _support_hessian


@pytest.mark.parametrize("sparse", [False, True])
def test_support_hessian_is_the_sum_of_the_per_sample_blocks(sparse):
    """Entry ``(r, s)`` equals ``sum_i x_ir x_is H_i[k_r, k_s]`` from the datafit's
    per-sample Hessian blocks, with weights, repeated features across classes and a class
    holding no variable; the result is symmetric."""
    rng = np.random.default_rng(0)
    n, p, K = 300, 8, 4
    X = rng.standard_normal((n, p))
    if sparse:
        X = sp.csc_matrix(X * (rng.random((n, p)) < 0.4))
    Z = rng.standard_normal((n, K))
    y = rng.integers(0, K, n).astype(float)
    weights = rng.uniform(0.2, 3.0, n)
    a = weights / weights.sum()
    features = np.array([0, 3, 3, 5, 7, 0, 2])
    classes = np.array([0, 0, 1, 1, 3, 3, 3])  # class 2 holds no variable
    XS = X[:, features]
    datafit = Multinomial()
    H = _support_hessian(datafit, XS, classes, Z, y, a)
    blocks = datafit.raw_hessian(Z, y, a, np)  # (n, K, K)
    dense = XS.toarray() if sparse else XS
    expected = np.einsum("ir,is,irs->rs", dense, dense, blocks[:, classes][:, :, classes])
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-15)


@pytest.mark.parametrize("support", [4, 40])
def test_support_derivatives_agree_with_the_per_sample_blocks(support):
    """The finish's gradient in every support variable and Hessian in the active ones, by
    the compiled pass (few active variables) or the array code (more than
    ``_COMPILED_SUPPORT``), equal the sums over the samples of the datafit's raw gradient and
    per-sample Hessian blocks, with weights (a zero among them) and an inactive variable."""
    from numsolve.linear_model._newton import _COMPILED_SUPPORT, _support_derivatives

    rng = np.random.default_rng(1)
    n, K = 200, 3
    XS = rng.standard_normal((n, support + K))
    XS[:, support:] = 1.0  # the intercepts' columns
    classes = np.concatenate([rng.integers(0, K, support), np.arange(K)])
    active = np.ones(support + K, dtype=bool)
    active[1] = False
    Z = rng.standard_normal((n, K))
    y = rng.integers(0, K, n).astype(float)
    a = rng.uniform(0.0, 2.0, n) / n
    a[0] = 0.0
    datafit = Multinomial()
    grad, H = _support_derivatives(datafit, XS, classes, active, Z, y, a)
    G = datafit.raw_gradient(Z, y, a, np)
    np.testing.assert_allclose(grad, np.einsum("ir,ir->r", XS, G[:, classes]), rtol=1e-12,
                               atol=1e-15)
    blocks = datafit.raw_hessian(Z, y, a, np)
    kept, on = XS[:, active], classes[active]
    expected = np.einsum("ir,is,irs->rs", kept, kept, blocks[:, on][:, :, on])
    assert (active.sum() <= _COMPILED_SUPPORT) == (support == 4)
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-15)
