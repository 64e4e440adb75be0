"""Shared input checks: clear errors before any work, dtype policy, sparse kept sparse."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numsolve._validation import (
    check_matrix,
    check_nonzero_diagonal,
    check_square,
    check_vector,
    check_xp_array,
    common_float_dtype,
    finite_by_sum,
)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_matrix_is_rejected_by_name(bad):
    X = np.ones((3, 2))
    X[1, 1] = bad
    before = X.copy()
    with pytest.raises(ValueError, match="Input design contains (NaN|infinity)"):
        check_matrix(X, "design")
    np.testing.assert_array_equal(X, before)


def test_wrong_shapes_and_empty_data():
    with pytest.raises(ValueError, match="Expected 2D"):
        check_matrix(np.ones(3), "X")
    with pytest.raises(ValueError, match="0 sample"):
        check_matrix(np.ones((0, 3)), "X")
    with pytest.raises(ValueError, match="0 feature"):
        check_matrix(np.ones((3, 0)), "X")
    with pytest.raises(ValueError, match="X is required"):
        check_matrix(None, "X")
    with pytest.raises(ValueError, match="square"):
        check_square(np.ones((2, 3)), "A")
    with pytest.raises(ValueError, match="b has length 2, expected 3"):
        check_vector(np.ones(2), 3, "b")
    with pytest.raises(ValueError, match="1-D"):
        check_vector(np.ones((2, 2)), 2, "b")
    with pytest.raises(ValueError, match="b contains NaN"):
        check_vector(np.array([1.0, np.nan]), 2, "b")


def test_complex_and_non_numeric_are_type_errors():
    with pytest.raises(TypeError, match="complex"):
        check_matrix(np.ones((2, 2), dtype=complex), "A")
    with pytest.raises(TypeError, match="complex"):
        check_vector(np.ones(2, dtype=complex), 2, "b")
    with pytest.raises(TypeError, match="sparse"):
        check_vector(sp.csr_matrix(np.ones((1, 2))), 2, "b")


def test_sparse_matrix_stays_sparse():
    with pytest.raises(TypeError, match="Sparse data was passed"):
        check_matrix(sp.csr_matrix(np.eye(2)), "X", accept_sparse=False)


def test_dtype_policy_keeps_float32_and_float64_converts_others():
    assert check_matrix(np.ones((2, 2), np.float32)).dtype == np.float32
    assert check_matrix(np.ones((2, 2), np.float64)).dtype == np.float64
    assert check_matrix(np.ones((2, 2), np.int64)).dtype == np.float64
    assert check_vector(np.ones(2, np.float32), 2, "b").dtype == np.float32
    assert check_vector([1, 2], 2, "b").dtype == np.float64
    assert common_float_dtype(np.ones(1, np.float32), np.ones(1, np.float32)) == np.float32
    assert common_float_dtype(np.ones(1, np.float32), np.ones(1)) == np.float64


def test_sparse_is_canonicalised_on_a_copy_without_densifying():
    rows = np.array([0, 0, 1, 2, 2])
    cols = np.array([2, 0, 1, 2, 2])   # unsorted, one duplicate
    vals = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    A = sp.csr_matrix((vals, (rows, cols)), shape=(3, 3))
    A.has_sorted_indices = False
    A.indices[:2] = [2, 0]
    A.data[:2] = [1.0, 2.0]
    A.indptr = A.indptr.astype(np.int64)
    A.indices = A.indices.astype(np.int64)
    data_before, indices_before = A.data.copy(), A.indices.copy()
    dense_before = A.toarray()
    B = check_matrix(A, "A", accept_sparse=True, sparse_format="csr")
    assert sp.issparse(B) and B.format == "csr"
    assert B.has_canonical_format
    assert B.indices.dtype == np.int32 and B.indptr.dtype == np.int32
    np.testing.assert_allclose(B.toarray(), dense_before)
    np.testing.assert_array_equal(A.data, data_before)
    np.testing.assert_array_equal(A.indices, indices_before)
    C = check_matrix(A, "A", accept_sparse=True, sparse_format="csc")
    assert C.format == "csc"
    np.testing.assert_allclose(C.toarray(), dense_before)


def test_sparse_nan_is_rejected():
    A = sp.random(5, 5, density=0.5, format="csr", random_state=0)
    A.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        check_matrix(A, "A", accept_sparse=True)


def test_zero_diagonal_is_reported_with_rows():
    A = sp.csr_matrix(np.array([[1.0, 2.0, 0], [2.0, 0.0, 1.0], [0, 1.0, 3.0]]))
    with pytest.raises(ValueError, match="1 zero .*rows 1"):
        check_nonzero_diagonal(A, "A")
    np.testing.assert_array_equal(check_nonzero_diagonal(sp.eye(3).tocsr()), np.ones(3))


def test_check_vector_copy_never_aliases_the_input():
    b = np.arange(3.0)
    c = check_vector(b, 3, "x0", copy=True)
    c[0] = 99
    assert b[0] == 0


def test_xp_array_checks_in_its_own_namespace(xp_device):
    xp, device = xp_device
    x = xp.asarray([1, 2, 3], device=device)
    y = check_xp_array(x, xp, "b", ndim=1, shape=(3,))
    assert xp.isdtype(y.dtype, "real floating")
    with pytest.raises(ValueError, match="b must have 2 dimensions"):
        check_xp_array(x, xp, "b", ndim=2)
    with pytest.raises(ValueError, match="contains NaN"):
        check_xp_array(xp.asarray([1.0, float("nan")], device=device), xp, "b")
    with pytest.raises(ValueError, match="empty"):
        check_xp_array(xp.asarray([], device=device), xp, "b")


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
              elements=st.floats(-1e6, 1e6)))
def test_valid_dense_input_passes_unchanged(X):
    before = X.copy()
    out = check_matrix(X, "X")
    np.testing.assert_array_equal(out, before)
    np.testing.assert_array_equal(X, before)


def test_xp_array_may_allow_missing_values_but_not_infinity(xp_device):
    xp, device = xp_device
    with_nan = xp.asarray([[1.0, float("nan")]], device=device)
    assert check_xp_array(with_nan, xp, "M", ndim=2, allow_nan=True) is with_nan
    with pytest.raises(ValueError, match="contains NaN"):
        check_xp_array(with_nan, xp, "M")
    with pytest.raises(ValueError, match="infinity"):
        check_xp_array(xp.asarray([[float("inf"), float("nan")]], device=device), xp, "M",
                       allow_nan=True)


def test_finite_by_sum_proves_finiteness_and_refuses_quietly():
    finite = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert finite_by_sum(finite, np.arange(3))
    assert not finite_by_sum(finite, np.array([1.0, np.nan]))
    both_infinities = np.array([np.inf, -np.inf])
    huge = np.full(4, np.finfo(np.float64).max)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not finite_by_sum(both_infinities)
        # every entry finite, but the sum overflows: left to the caller's full check
        assert not finite_by_sum(huge)
