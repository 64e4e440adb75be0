import numpy as np
import pytest

from numsolve._array_api import to_numpy
from numsolve.dag import fit_order

xps = pytest.importorskip("array_api_strict")


@pytest.mark.parametrize("device", ["CPU_DEVICE", "device1"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_order_generic_matches_numpy(device, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(dtype)
    dev = xps.Device(device)
    Xs = xps.asarray(X, device=dev)
    order = [2, 0, 3, 1]
    W = fit_order(Xs, order)
    assert W.device == dev and W.dtype == Xs.dtype
    np.testing.assert_allclose(to_numpy(W), fit_order(X, order), rtol=1e-4 if dtype == "float32" else 1e-10,
                               atol=1e-5 if dtype == "float32" else 1e-12)


def test_generic_rejects_lasso():
    X = xps.asarray(np.ones((5, 2)))
    with pytest.raises(ValueError, match="NumPy"):
        fit_order(X, [0, 1], lambda1=0.1)
