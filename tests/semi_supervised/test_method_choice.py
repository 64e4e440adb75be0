"""The solvers of the harmonic system: every method, forced or chosen, meets the residual."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.semi_supervised import (
    choose_method,
    harmonic_solution,
    harmonic_system,
    lattice_graph,
    make_lattice_problem,
    make_moons_problem,
)
from numsolve.semi_supervised._krylov import jacobi_pcg

TOL = 1e-8


def _lattice():
    return make_lattice_problem(30, 30, random_state=0)


def _knn():
    _, y, W = make_moons_problem(1500, random_state=0)
    labelled = np.flatnonzero(y >= 0)
    return W, labelled, np.eye(2)[y[labelled]]


def _spread_weights():
    """A lattice whose edge weights span twelve orders of magnitude (1e-6 to 1e6)."""
    W, labelled, values = make_lattice_problem(25, 25, weight=1.0, random_state=1)
    upper = sp.triu(W, format="coo")
    rng = np.random.default_rng(0)
    upper.data = 10.0 ** rng.uniform(-6, 6, upper.nnz)
    return (upper + upper.T).tocsr(), labelled, values


GRAPHS = {"lattice": _lattice, "knn": _knn, "spread weights": _spread_weights}


def _system_residual(W, labelled, values, x):
    Q, c, unlabelled = harmonic_system(W, labelled, values)
    x = x.reshape(len(x), -1)[unlabelled]
    return np.max(np.linalg.norm(c - Q @ x, axis=0) / np.linalg.norm(c, axis=0))


@pytest.mark.parametrize("graph", GRAPHS)
@pytest.mark.parametrize("method", ["auto", "jacobi-pcg", "bcd", "direct"])
def test_every_method_reaches_the_requested_residual(graph, method):
    W, labelled, values = GRAPHS[graph]()
    result = harmonic_solution(W, labelled, values, method=method, tol=TOL, max_iter=50_000)
    Q = harmonic_system(W, labelled, values)[0]
    assert result.method == (choose_method(Q) if method == "auto" else method)
    assert result.converged
    # measured afresh from the system, not the solver's own figure
    assert _system_residual(W, labelled, values, result.x) <= TOL * (1 + 1e-6)
    assert np.array_equal(result.x.reshape(len(result.x), -1)[labelled],
                          values.reshape(len(values), -1))


def test_rule_takes_sparse_lu_for_weights_cg_cannot_resolve():
    # an RBF backbone: weights from 1 down to 1e-200 on a path
    n = 200
    weights = 10.0 ** -np.linspace(0, 200, n - 1)
    W = sp.diags([weights, weights], [-1, 1], format="csr")
    Q, c, _ = harmonic_system(W, [0, n - 1], [1.0, 0.0])
    assert choose_method(Q) == "direct"
    assert choose_method(harmonic_system(lattice_graph(20, 20), [0], [1.0])[0]) == "jacobi-pcg"


def test_jacobi_pcg_solves_every_column_and_float32():
    W, labelled, values = _knn()
    Q, c, _ = harmonic_system(W, labelled, values)
    result = jacobi_pcg(Q, c, tol=1e-10)
    expected = sp.linalg.spsolve(Q.tocsc(), c)
    np.testing.assert_allclose(result.x, expected, rtol=1e-7, atol=1e-9)
    single = jacobi_pcg(Q.astype(np.float32), c.astype(np.float32), tol=1e-5)
    assert single.x.dtype == np.float32 and single.converged
    np.testing.assert_allclose(single.x, expected, atol=1e-4)


def test_jacobi_pcg_leaves_a_zero_column_at_zero():
    Q, c, _ = harmonic_system(lattice_graph(10, 10), [0, 99], np.eye(2))
    c[:, 1] = 0.0
    result = jacobi_pcg(Q, c, tol=1e-10)
    assert result.converged and not result.x[:, 1].any()


def test_unknown_method_raises():
    W, labelled, values = _lattice()
    with pytest.raises(ValueError, match="method must be one of"):
        harmonic_solution(W, labelled, values, method="cholesky")


def test_shuffled_large_graph_is_solved_on_its_renumbering_with_the_same_iterates():
    _, y, W = make_moons_problem(22_000, random_state=0)
    labelled = np.flatnonzero(y >= 0)
    values = np.eye(2)[y[labelled]]
    result = harmonic_solution(W, labelled, values, method="jacobi-pcg", tol=TOL)
    assert result.extras.get("renumbered")
    Q, c, unlabelled = harmonic_system(W, labelled, values)
    plain = jacobi_pcg(Q, c, tol=TOL)
    # CG is invariant under a symmetric permutation: same iterations, same solution
    assert result.n_iter == plain.n_iter
    np.testing.assert_allclose(result.x[unlabelled], plain.x, rtol=1e-9, atol=1e-12)
    assert _system_residual(W, labelled, values, result.x) <= TOL
