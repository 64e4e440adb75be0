"""Starting factors: spectral initialisation (clipped, balanced) and random start."""

import numpy as np

from numsolve.completion import make_low_rank
from numsolve.completion._init import TRIM_FACTOR, random_init, spectral_init


def test_spectral_init_is_balanced_and_close_on_dense_data():
    problem = make_low_rank(60, 40, 3, density=1.0, random_state=0)
    U, V = spectral_init(problem.observed, 3, np.random.RandomState(0))
    np.testing.assert_allclose(U @ V.T, problem.matrix, atol=1e-8)
    gram_u, gram_v = U.T @ U, V.T @ V
    np.testing.assert_allclose(gram_u, gram_v, atol=1e-8)
    np.testing.assert_allclose(gram_u, np.diag(np.diag(gram_u)), atol=1e-8)


def test_spectral_init_trims_coherent_rows():
    problem = make_low_rank(400, 300, 2, density=0.2, random_state=1)
    X = problem.observed.tolil()
    X[0, :] = 1e3  # one row dominates the top singular vector
    X = X.tocsr()
    U, _ = spectral_init(X, 2, np.random.RandomState(0))
    np.testing.assert_allclose(U[0], 0.0, atol=1e-12)
    assert np.all(np.linalg.norm(U[1:], axis=1) > 0)
    assert TRIM_FACTOR > 1


def test_random_init_scale_matches_the_data():
    problem = make_low_rank(200, 100, 4, density=0.3, random_state=2)
    U, V = random_init(problem.observed, 4, np.random.RandomState(0))
    assert not V.any()
    norms = np.linalg.norm(U, axis=0)
    np.testing.assert_allclose(norms, norms[0])
    p = problem.observed.nnz / (200 * 100)
    expected = np.sqrt(np.linalg.norm(problem.observed.data) / np.sqrt(p * 4))
    np.testing.assert_allclose(norms[0], expected)
