"""Parallel model selection: numsolve estimators under joblib's Dask and threading backends."""

import inspect
import pickle

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV

from numsolve.linear_model import Lasso


@pytest.fixture(scope="module")
def data():
    return make_regression(n_samples=120, n_features=60, n_informative=8, noise=5.0,
                           random_state=0)


def _search(n_jobs):
    return GridSearchCV(Lasso(tol=1e-8), {"alpha": [0.01, 0.1, 1.0, 10.0]}, cv=3,
                        n_jobs=n_jobs)


def test_grid_search_on_dask_matches_sequential(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    sequential = _search(1).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with parallel_backend("dask"):
            on_dask = _search(-1).fit(X, y)
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"], rtol=1e-10)


def test_grid_search_with_threads_matches_sequential(data):
    X, y = data
    sequential = _search(1).fit(X, y)
    with parallel_backend("threading", n_jobs=2):
        threaded = _search(2).fit(X, y)
    assert threaded.best_params_ == sequential.best_params_
    np.testing.assert_allclose(threaded.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"], rtol=1e-10)


def test_fitted_estimators_pickle_with_their_results(data):
    X, y = data
    model = Lasso(alpha=0.1, tol=1e-8).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def _numba_dispatchers():
    import importlib
    import pkgutil

    import numba.core.registry

    import numsolve

    for info in pkgutil.walk_packages(numsolve.__path__, "numsolve."):
        if "cupy" in info.name:  # GPU kernels: imported only where CuPy is
            continue
        module = importlib.import_module(info.name)
        for name, obj in inspect.getmembers(module):
            if (isinstance(obj, numba.core.registry.CPUDispatcher)
                    and obj.__module__ == module.__name__):
                yield f"{info.name}.{name}", obj


def test_numba_kernels_release_the_gil_and_are_cached():
    kernels = list(_numba_dispatchers())
    assert kernels, "no Numba kernels found"
    holding = [name for name, fn in kernels if not fn.targetoptions.get("nogil")]
    uncached = [name for name, fn in kernels if type(fn._cache).__name__ == "NullCache"]
    assert not holding, f"kernels holding the GIL: {holding}"
    assert not uncached, f"kernels without cache=True: {uncached}"
