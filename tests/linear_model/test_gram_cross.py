"""The sparse weighted Gram blocks of the least-squares Gram route against the direct product
(the dense blocks: ``test_gram_engine.py``)."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linear_model._design import Design


@pytest.mark.parametrize("kind", ["csc32", "csc64-float32"])
def test_weighted_cross_is_the_weighted_product(rng, kind):
    n, p = 120, 40
    X = sp.random(n, p, density=0.15, format="csc", random_state=3,
                  data_rvs=rng.standard_normal)
    X = X.tolil()
    X[:, 7] = 0.0  # an empty column
    X = X.tocsc()
    if kind == "csc64-float32":
        X = X.astype(np.float32)
        X.indices, X.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)
    a = rng.uniform(0.0, 2.0, n)
    rows = np.array([0, 3, 7, 11, 39, 20], dtype=np.int32)
    cols = np.array([5, 7, 3, 39], dtype=np.int32)
    dense = X.toarray()
    expected = dense[:, rows].astype(np.float64).T @ (a[:, None] * dense[:, cols])
    before = X.copy()
    out = Design(X).weighted_cross(rows, cols, a)
    assert out.shape == (rows.size, cols.size) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-6 if kind.endswith("float32") else 1e-12,
                               atol=1e-12)
    assert np.all(out[:, 1] == 0.0) and np.all(out[2] == 0.0)
    np.testing.assert_array_equal(X.toarray(), before.toarray())
