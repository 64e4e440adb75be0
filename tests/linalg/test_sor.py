"""``sor`` and ``ssor_cg``: convergence, agreement with SciPy, dtypes, bad input."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from numsolve import SolveResult
from numsolve.linalg import _sor, poisson_2d, sor, ssor_cg, young_omega
from numsolve.linalg._operator import split_matrix
from numsolve.linalg._sor_solver import quiet_sor
from numsolve.linalg._ssor_cg import quiet_ssor_cg


@pytest.fixture
def system(rng):
    A = poisson_2d(8)
    return A, rng.standard_normal(64)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("ordering", ["natural", "multicolor"])
def test_sor_reaches_tolerance_and_matches_spsolve(system, symmetric, ordering):
    A, b = system
    res = sor(A, b, omega=1.5, rtol=1e-10, symmetric=symmetric, ordering=ordering)
    assert isinstance(res, SolveResult) and res.converged
    assert np.linalg.norm(b - A @ res.x) <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(res.x, spla.spsolve(A.tocsc(), b), atol=1e-8)
    hist = res.history["residual"]
    assert len(hist) == res.n_iter + 1 and hist[0] == pytest.approx(1.0)
    assert hist[-1] <= 1e-10 < hist[-2]


def test_young_omega_is_near_the_best_omega(system):
    A, b = system
    omegas = np.linspace(1.0, 1.95, 20)
    iterations = [sor(A, b, omega=w).n_iter for w in omegas]
    best = omegas[int(np.argmin(iterations))]
    assert abs(best - young_omega(A)) < 0.1
    assert min(iterations) * 3 < iterations[0]


def test_inputs_unchanged_and_dense_equals_sparse(system, rng):
    A, b = system
    x0 = rng.standard_normal(64)
    copies = A.copy(), b.copy(), x0.copy()
    sparse = sor(A, b, omega=1.3, x0=x0)
    dense = sor(A.toarray(), b, omega=1.3, x0=x0)
    np.testing.assert_array_equal(sparse.x, dense.x)
    assert (A != copies[0]).nnz == 0
    np.testing.assert_array_equal(b, copies[1])
    np.testing.assert_array_equal(x0, copies[2])


def test_float32_and_int64_indices(system):
    A, b = system
    A32 = A.astype(np.float32)
    res = sor(A32, b.astype(np.float32), omega=1.5, rtol=1e-5)
    assert res.x.dtype == np.float32 and res.converged
    A64 = sp.csr_matrix((A.data, A.indices.astype(np.int64), A.indptr.astype(np.int64)))
    np.testing.assert_allclose(sor(A64, b, omega=1.5).x, sor(A, b, omega=1.5).x)


def test_verbose_chunks_give_the_same_result(system):
    A, b = system
    quiet = sor(A, b, omega=1.1)
    loud = sor(A, b, omega=1.1, verbose=1)
    assert loud.n_iter == quiet.n_iter
    np.testing.assert_allclose(loud.history["residual"], quiet.history["residual"])
    np.testing.assert_allclose(loud.x, quiet.x)


def test_not_converged_warns(system):
    A, b = system
    with pytest.warns(ConvergenceWarning) as caught:
        res = sor(A, b, maxiter=3)
    assert not res.converged and res.n_iter == 3 and len(res.history["residual"]) == 4
    # the warning points at the caller's line, not at numsolve's internals
    assert [w.filename for w in caught] == [__file__]


@pytest.mark.parametrize("public, quiet, kwargs", [
    (sor, quiet_sor, {}), (sor, quiet_sor, {"symmetric": True}), (ssor_cg, quiet_ssor_cg, {})])
def test_quiet_entries_return_the_same_result_without_warning(system, public, quiet, kwargs):
    """The internal entries the cut-short trials use: same iterates, no warning (and no
    process-wide warning filter, which is not thread-safe)."""
    A, b = system
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = quiet(A, b, omega=1.3, maxiter=2, **kwargs)
    with pytest.warns(ConvergenceWarning, match=silent.message):
        loud = public(A, b, omega=1.3, maxiter=2, **kwargs)
    assert not silent.converged and silent.n_iter == loud.n_iter == 2
    np.testing.assert_array_equal(silent.x, loud.x)
    np.testing.assert_array_equal(silent.history["residual"], loud.history["residual"])


def test_zero_rhs_converges_immediately():
    res = sor(poisson_2d(3), np.zeros(9))
    assert res.converged and res.n_iter == 0 and not res.x.any()


@given(seed=st.integers(0, 2**31 - 1), omega=st.floats(0.05, 1.95), n=st.integers(2, 12))
@settings(max_examples=25, deadline=None)
def test_property_spd_and_omega_in_range_converges(seed, omega, n):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, n))
    A = G @ G.T + 0.5 * np.eye(n)
    b = rng.standard_normal(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = sor(A, b, omega=omega, rtol=1e-6, maxiter=200000)
    assert res.converged
    assert np.linalg.norm(b - A @ res.x) <= 1e-6 * np.linalg.norm(b) * (1 + 1e-9)
    # each sweep decreases the A-norm of the error (the SPD convergence argument)
    solution = np.linalg.solve(A, b)
    M, x = split_matrix(A), np.zeros(n)
    errors = []
    for _ in range(4):
        errors.append((x - solution) @ A @ (x - solution))
        _sor.sor_sweep(*M.kernel_args(), b, x, omega, 0, 1)
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(errors, errors[1:]))


@pytest.mark.parametrize("omega", [1.0, 1.5, 1.8])
def test_ssor_cg_matches_scipy_cg(system, omega):
    A, b = system
    res = ssor_cg(A, b, omega=omega, rtol=1e-10)
    reference, info = spla.cg(A, b, rtol=1e-12)
    assert info == 0 and res.converged
    np.testing.assert_allclose(res.x, reference, atol=1e-8)
    assert np.linalg.norm(b - A @ res.x) <= 1.01e-10 * np.linalg.norm(b)
    plain = []
    spla.cg(A, b, rtol=1e-10, callback=lambda xk: plain.append(1))
    assert res.n_iter < len(plain)


def test_ssor_cg_warm_start_and_float32(system):
    A, b = system
    exact = spla.spsolve(A.tocsc(), b)
    assert ssor_cg(A, b, omega=1.5, x0=exact).n_iter <= 1
    res = ssor_cg(A.astype(np.float32), b.astype(np.float32), omega=1.5, rtol=1e-5)
    assert res.x.dtype == np.float32 and res.converged


BAD = [
    (dict(omega=0.0), ValueError, "open interval"),
    (dict(omega=2.0), ValueError, "open interval"),
    (dict(omega=-1.0), ValueError, "open interval"),
    (dict(omega=float("nan")), ValueError, "open interval"),
    (dict(omega="1"), TypeError, "omega"),
    (dict(rtol=-1.0), ValueError, "rtol"),
    (dict(maxiter=0), ValueError, "maxiter"),
    (dict(maxiter=2.5), TypeError, "maxiter"),
]


@pytest.mark.parametrize("solver", [sor, ssor_cg])
@pytest.mark.parametrize("kwargs, error, match", BAD)
def test_bad_parameters(system, solver, kwargs, error, match):
    A, b = system
    with pytest.raises(error, match=match):
        solver(A, b, **kwargs)


@pytest.mark.parametrize("solver", [sor, ssor_cg])
def test_bad_matrices_and_vectors(system, solver):
    A, b = system
    zero_diag = A.tolil()
    zero_diag[3, 3] = 0
    with pytest.raises(ValueError, match="zero .*diagonal"):
        solver(zero_diag.tocsr(), b)
    missing = sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="diagonal entries, at rows 0"):
        solver(missing, np.ones(2))
    with pytest.raises(ValueError, match="square"):
        solver(sp.random(4, 5, density=0.5, format="csr"), np.ones(4))
    with pytest.raises(ValueError, match="b has length"):
        solver(A, np.ones(63))
    with pytest.raises(ValueError, match="x0 has length"):
        solver(A, b, x0=np.ones(3))
    bad_b = b.copy()
    bad_b[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        solver(A, bad_b)
    bad_A = A.copy()
    bad_A.data[0] = np.inf
    with pytest.raises(ValueError, match="infinity|NaN"):
        solver(bad_A, b)
    with pytest.raises(TypeError, match="complex"):
        solver(A.astype(complex), b)


def test_bad_ordering(system):
    with pytest.raises(ValueError, match="ordering"):
        sor(*system, ordering="random")


def test_bad_n_jobs(system):
    with pytest.raises(ValueError, match="n_jobs"):
        sor(*system, ordering="multicolor", n_jobs=0)


def test_float32_converges_at_the_default_rtol():
    A = poisson_2d(30)
    b = np.random.default_rng(0).standard_normal(900)
    A32, b32 = A.astype(np.float32), b.astype(np.float32)
    with pytest.warns(ConvergenceWarning):
        sor(A32, b32, omega=1.9, rtol=1e-8, maxiter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for res in (sor(A32, b32, omega=1.9), ssor_cg(A32, b32, omega=1.5)):
            residual = b - A @ res.x.astype(np.float64)
            assert res.x.dtype == np.float32
            assert np.linalg.norm(residual) <= 1e-5 * np.linalg.norm(b) * (1 + 1e-3)
        res = sor(A, b, omega=1.9)
    assert np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b)


@pytest.mark.parametrize("solver", [sor, ssor_cg])
def test_linear_operator_is_refused_naming_why(system, solver):
    A, b = system
    with pytest.raises(TypeError, match="entries of A.*LinearOperator"):
        solver(spla.aslinearoperator(A), b)


def test_ssor_cg_verbose_reports_progress_and_changes_nothing(system, capsys):
    A, b = system
    quiet = ssor_cg(A, b, omega=1.5)
    loud = ssor_cg(A, b, omega=1.5, verbose=1)
    assert "ssor_cg" in capsys.readouterr().err
    np.testing.assert_array_equal(quiet.x, loud.x)
    assert quiet.n_iter == loud.n_iter
