"""A random_state fixes the model: the same bits in another process (fresh kernel state)."""

import subprocess
import sys

import numpy as np

_FITS = """
import numpy as np
from sklearn.datasets import load_diabetes
from numsolve.neural import GBNNClassifier, GBNNRegressor, SvenRegressor


def fits():
    X, y = load_diabetes(return_X_y=True)
    out = []
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        out.append(GBNNRegressor(n_estimators=8, random_state=3).fit(Xd, y).predict(Xd))
        out.append(GBNNClassifier(n_estimators=8, random_state=3).fit(
            Xd, y > y.mean()).predict_proba(Xd))
        out.append(SvenRegressor(hidden_layer_sizes=(8,), max_iter=3,
                                 random_state=3).fit(Xd, y).predict(Xd))
    return out
"""


def test_same_random_state_same_bits_across_processes(tmp_path):
    namespace = {}
    exec(_FITS, namespace)
    here = namespace["fits"]()
    # float32 stays float32, through the compiled kernels to the predictions
    assert [p.dtype for p in here] == [np.float64] * 3 + [np.float32] * 3
    path = tmp_path / "fits.npz"
    script = _FITS + f"\nnp.savez({str(path)!r}, *fits())\n"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    there = np.load(path)
    for index, prediction in enumerate(here):
        np.testing.assert_array_equal(there[f"arr_{index}"], prediction)
