"""Parallel model selection: numsolve estimators under joblib's Dask and threading backends."""

import ast
import pickle
from pathlib import Path

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


def _imported_modules(source):
    """Top-level names of every module ``source`` imports."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_no_module_needs_a_jit_compiler():
    """Kernels are compiled when the package is built: no module imports Numba."""
    import numsolve

    package = Path(numsolve.__file__).parent
    importing = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                       if "numba" in set(_imported_modules(path.read_text())))
    assert not importing, f"modules importing numba: {importing}"


def test_imported_modules_finds_numba_imports():
    assert "numba" in set(_imported_modules("from numba import njit\nimport numpy"))
    assert "numba" in set(_imported_modules("import numba.core.registry as r"))
    assert "numba" not in set(_imported_modules("from . import _numba_free"))
