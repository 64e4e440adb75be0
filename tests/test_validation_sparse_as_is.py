"""``check_matrix`` returns an already canonical sparse matrix itself after its finiteness
test (no scikit-learn round trip), and every other sparse input still takes the full check:
conversions, copies and the same errors."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve._validation import check_matrix


def _canonical(fmt="csc", dtype=np.float64):
    return sp.random(30, 12, density=0.3, format=fmt, random_state=0).astype(dtype)


@pytest.mark.parametrize("fmt", ["csc", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_canonical_matrix_is_returned_itself(fmt, dtype):
    X = _canonical(fmt, dtype)
    assert X.has_canonical_format and X.indices.dtype == np.int32
    assert check_matrix(X, accept_sparse=True, sparse_format=fmt) is X


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entries_are_refused_by_name(bad):
    X = _canonical()
    X.data[3] = bad
    with pytest.raises(ValueError, match="Input design contains (NaN|infinity)"):
        check_matrix(X, "design", accept_sparse=True, sparse_format="csc")


def test_finite_entries_whose_sum_overflows_pass():
    X = _canonical()
    X.data[:] = np.finfo(np.float64).max
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.sum(X.data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning reaches the caller
        assert check_matrix(X, accept_sparse=True, sparse_format="csc") is X


def test_other_sparse_forms_take_the_full_check():
    X = _canonical()
    as_array = check_matrix(sp.csc_array(X), accept_sparse=True, sparse_format="csc")
    assert isinstance(as_array, sp.csc_matrix)
    wide = sp.csc_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                         shape=X.shape)
    narrowed = check_matrix(wide, accept_sparse=True, sparse_format="csc")
    assert narrowed.indices.dtype == np.int32 and narrowed.indptr.dtype == np.int32
    assert check_matrix(X, accept_sparse=True, sparse_format="csr").format == "csr"
    assert check_matrix(X, accept_sparse=True, sparse_format="csc", dtype=np.float32).dtype \
        == np.float32
    copied = check_matrix(X, accept_sparse=True, sparse_format="csc", copy=True)
    assert copied is not X and not np.shares_memory(copied.data, X.data)
    with pytest.raises(ValueError, match="0 feature"):
        check_matrix(sp.csc_matrix((3, 0)), accept_sparse=True, sparse_format="csc")
    with pytest.raises(TypeError, match="Sparse data was passed"):
        check_matrix(X, accept_sparse=False)
