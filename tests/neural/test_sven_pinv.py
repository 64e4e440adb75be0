"""The Sven step: truncated pseudo-inverse through the Gram matrix or an SVD."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numsolve.neural._sven._pinv import gram_weights, svd_step, truncation_rank


def explicit_truncated_pinv_step(J, r, k, rtol):
    """d = V_k S_k^-1 U_k^T r from numpy's SVD, the rule written out by hand."""
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    keep = s > rtol * s[0]
    keep &= s > 1e-7 * s[0]
    rank = int(keep.sum()) if k is None else min(int(keep.sum()), k)
    return Vt[:rank].T @ ((U[:, :rank].T @ r) / s[:rank]), rank


@pytest.mark.parametrize("shape", [(8, 5), (5, 12), (6, 6)])
@pytest.mark.parametrize("k", [1, 3, None])
@pytest.mark.parametrize("rtol", [0.0, 1e-3, 0.3])
def test_gram_step_equals_explicit_truncated_pseudoinverse(shape, k, rtol):
    rng = np.random.default_rng(sum(shape))
    J = rng.standard_normal(shape) * np.logspace(0, -2, shape[1])
    r = rng.standard_normal(shape[0])
    expected, expected_rank = explicit_truncated_pinv_step(J, r, k, rtol)
    w, rank = gram_weights(J @ J.T, r, k=k, rtol=rtol)
    assert rank == expected_rank
    np.testing.assert_allclose(J.T @ w, expected, rtol=1e-7, atol=1e-9)
    d, rank_svd = svd_step(J, r, k=k, rtol=rtol)
    assert rank_svd == expected_rank
    np.testing.assert_allclose(d, expected, rtol=1e-9, atol=1e-11)


def test_full_rank_full_k_is_the_gauss_newton_step():
    rng = np.random.default_rng(1)
    J = rng.standard_normal((30, 7))
    r = rng.standard_normal(30)
    gauss_newton = np.linalg.solve(J.T @ J, J.T @ r)
    w, rank = gram_weights(J @ J.T, r, k=7, rtol=0.0)
    assert rank == 7
    np.testing.assert_allclose(J.T @ w, gauss_newton, rtol=1e-8)


def test_overparametrised_step_is_the_minimum_norm_solution():
    rng = np.random.default_rng(2)
    J = rng.standard_normal((5, 40))
    r = rng.standard_normal(5)
    w, rank = gram_weights(J @ J.T, r, rtol=0.0)
    d = J.T @ w
    assert rank == 5
    np.testing.assert_allclose(J @ d, r, atol=1e-10)  # solves the system exactly
    np.testing.assert_allclose(d, np.linalg.pinv(J) @ r, atol=1e-10)  # with least norm


def test_randomized_svd_recovers_exactly_low_rank_step():
    rng = np.random.default_rng(3)
    J = rng.standard_normal((40, 4)) @ rng.standard_normal((4, 60))
    r = rng.standard_normal(40)
    d, rank = svd_step(J, r, k=4, rtol=1e-6, method="randomized", random_state=0)
    assert rank == 4
    np.testing.assert_allclose(d, np.linalg.pinv(J, rcond=1e-8) @ r, rtol=1e-6, atol=1e-8)


def test_rank_deficient_gram_never_inverts_noise():
    rng = np.random.default_rng(4)
    J = rng.standard_normal((10, 2)) @ rng.standard_normal((2, 30))
    r = rng.standard_normal(10)
    w, rank = gram_weights(J @ J.T, r, rtol=0.0)
    assert rank == 2
    np.testing.assert_allclose(J.T @ w, np.linalg.pinv(J, rcond=1e-8) @ r, atol=1e-8)


def test_truncation_rule():
    s = np.array([10.0, 5.0, 1e-2, 1e-5, 0.0])
    assert truncation_rank(s, None, 1e-4, 1e-12) == 3
    assert truncation_rank(s, 2, 1e-4, 1e-12) == 2
    assert truncation_rank(s, None, 0.0, 1e-12) == 4
    assert truncation_rank(np.zeros(3), None, 0.0, 1e-12) == 0


def test_zero_gram_gives_zero_step():
    w, rank = gram_weights(np.zeros((3, 3)), np.ones(3))
    assert rank == 0 and not w.any()


def test_float32_residuals_keep_dtype():
    rng = np.random.default_rng(5)
    J = rng.standard_normal((6, 9))
    w, _ = gram_weights(J @ J.T, rng.standard_normal(6).astype(np.float32))
    assert w.dtype == np.float32


def test_array_namespace_matches_numpy(xp_device):
    xp, device = xp_device
    rng = np.random.default_rng(6)
    J = rng.standard_normal((7, 11))
    r = rng.standard_normal(7)
    w_np, rank_np = gram_weights(J @ J.T, r, k=4, rtol=1e-3)
    G = xp.asarray(J @ J.T, device=device)
    w, rank = gram_weights(G, xp.asarray(r, device=device), k=4, rtol=1e-3, xp=xp)
    assert rank == rank_np
    from array_api_compat import device as device_of

    assert device_of(w) == device_of(G)
    from numsolve._array_api import to_numpy

    np.testing.assert_allclose(to_numpy(w), w_np, rtol=1e-8, atol=1e-10)
    d, rank = svd_step(xp.asarray(J, device=device), xp.asarray(r, device=device), k=4,
                       rtol=1e-3, xp=xp)
    np.testing.assert_allclose(to_numpy(d), J.T @ w_np, rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 9), p=st.integers(1, 9), seed=st.integers(0, 2**16),
       k=st.one_of(st.none(), st.integers(1, 9)))
def test_property_step_is_least_squares_in_the_kept_subspace(m, p, seed, k):
    """The step solves the normal equations restricted to the kept singular directions,
    has no component outside them, and never lengthens beyond the untruncated step."""
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((m, p))
    r = rng.standard_normal(m)
    w, rank = gram_weights(J @ J.T, r, k=k, rtol=1e-6)
    d = J.T @ w
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    Vk = Vt[:rank].T
    np.testing.assert_allclose(Vk.T @ (J.T @ (J @ d - r)), 0.0, atol=1e-6 * (1 + s[0] ** 2))
    np.testing.assert_allclose(d - Vk @ (Vk.T @ d), 0.0, atol=1e-8 * (1 + np.abs(d).max()))
    full = np.linalg.lstsq(J, r, rcond=1e-6)[0]
    assert np.linalg.norm(d) <= np.linalg.norm(full) * (1 + 1e-8) + 1e-12
    assert np.linalg.norm(J @ d - r) <= np.linalg.norm(r) * (1 + 1e-10)
