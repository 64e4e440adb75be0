"""The array-namespace path (multi-colour SOR in array code) against the NumPy/Cython path."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve._array_api import to_numpy
from numsolve.linalg import poisson_2d, sor, ssor_cg
from numsolve.linalg._coloring import color_rows, color_rows_dense


@pytest.mark.parametrize("symmetric", [False, True])
def test_generic_multicolor_matches_compiled(xp_device, rng, symmetric):
    xp, device = xp_device
    A = poisson_2d(6).toarray() + 0.3 * np.diag(rng.uniform(size=36))  # non-constant diagonal
    b, x0 = rng.standard_normal(36), rng.standard_normal(36)
    reference = sor(A, b, omega=1.4, x0=x0, symmetric=symmetric, ordering="multicolor")
    Ax = xp.asarray(np.asarray(A), device=device)
    res = sor(Ax, xp.asarray(b, device=device), omega=1.4, x0=xp.asarray(x0, device=device),
              symmetric=symmetric)
    assert res.ordering == "multicolor"
    assert res.n_iter == reference.n_iter and res.converged
    from array_api_compat import device as device_of

    assert device_of(res.x) == device_of(Ax)
    np.testing.assert_allclose(to_numpy(res.x), reference.x, atol=1e-10)
    np.testing.assert_allclose(res.history["residual"], reference.history["residual"],
                               rtol=1e-6)


def test_dense_colouring_equals_sparse_colouring(xp_device, rng):
    xp, device = xp_device
    A = poisson_2d(5).toarray() + 0.1 * np.eye(25)
    A[3, 17] = A[17, 3] = -0.5
    colour = color_rows_dense(xp, xp.asarray(A, device=device))
    np.testing.assert_array_equal(to_numpy(colour), color_rows(sp.csr_matrix(A)))


def test_generic_float32_and_bad_input(xp_device):
    xp, device = xp_device
    A = xp.asarray(poisson_2d(4).toarray(), dtype=xp.float32, device=device)
    b = xp.ones(16, dtype=xp.float32, device=device)
    res = sor(A, b, omega=1.3, rtol=1e-5)
    assert res.x.dtype == xp.float32 and res.converged
    with pytest.raises(ValueError, match="natural"):
        sor(A, b, ordering="natural")
    with pytest.raises(ValueError, match="square"):
        sor(A[:3, :], b)
    with pytest.raises(ValueError, match="shape"):
        sor(A, b[:5])
    zero = xp.asarray(np.diag([0.0, 1.0]), device=device)
    with pytest.raises(ValueError, match="diagonal"):
        sor(zero, xp.ones(2, dtype=zero.dtype, device=device))
    with pytest.raises(ValueError, match="open interval"):
        sor(A, b, omega=2.5)
    with pytest.raises(TypeError, match="no implementation"):
        ssor_cg(A, b)


def test_mixed_namespaces_rejected():
    import array_api_strict as xs

    with pytest.raises(TypeError, match="mix"):
        sor(xs.asarray(np.eye(3)), np.ones(3))


@pytest.mark.gpu
@pytest.mark.parametrize("symmetric", [False, True])
def test_cupy_sparse_multicolor_matches_compiled(rng, symmetric):
    import cupy
    import cupyx.scipy.sparse as csp

    A = poisson_2d(12)
    b = rng.standard_normal(144)
    reference = sor(A, b, omega=1.5, symmetric=symmetric, ordering="multicolor")
    res = sor(csp.csr_matrix(A), cupy.asarray(b), omega=1.5, symmetric=symmetric)
    assert isinstance(res.x, cupy.ndarray)
    assert res.n_iter == reference.n_iter
    np.testing.assert_allclose(res.x.get(), reference.x, atol=1e-10)


@pytest.mark.gpu
def test_cupy_dense_multicolor_matches_compiled(rng):
    import cupy

    A = poisson_2d(8)
    b = rng.standard_normal(64)
    reference = sor(A, b, omega=1.5, ordering="multicolor")
    res = sor(cupy.asarray(A.toarray()), cupy.asarray(b), omega=1.5)
    assert isinstance(res.x, cupy.ndarray) and res.n_iter == reference.n_iter
    np.testing.assert_allclose(res.x.get(), reference.x, atol=1e-10)
