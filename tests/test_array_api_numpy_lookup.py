"""NumPy inputs resolve to array-api-compat's NumPy namespace, looked up once per process."""

import array_api_compat
import numpy as np
import scipy.sparse as sp

from numsolve import _array_api


def test_numpy_inputs_share_one_namespace_looked_up_once(monkeypatch):
    expected = array_api_compat.array_namespace(np.empty(0))
    lookups = []
    real = array_api_compat.array_namespace

    def counting(*arrays, **options):
        lookups.append(arrays)
        return real(*arrays, **options)

    monkeypatch.setattr(array_api_compat, "array_namespace", counting)
    _array_api._numpy_namespace.cache_clear()
    for inputs in [(np.ones(3),), (sp.csr_matrix(np.eye(2)), [1.0, 2.0]), (None,), ()]:
        for _ in range(3):
            assert _array_api.array_namespace(*inputs) is expected
    assert len(lookups) == 1
