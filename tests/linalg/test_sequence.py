"""Sequences of systems: solve_sequence, SequenceSolver, evaluation helpers, problem generators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from sklearn.exceptions import ConvergenceWarning

from numsolve.linalg import (
    HeatEquation2D,
    OmegaBandit,
    SequenceSolver,
    best_fixed_omega,
    instance_optimal_omegas,
    iteration_table,
    poisson_2d,
    shifted_iteration_table,
    shifted_laplacian_sequence,
    solve_sequence,
    sor,
    young_omega,
)

GRID = [1.0, 1.3, 1.6, 1.9]


def small_sequence(T=12, seed=0):
    A, shifts, B = shifted_laplacian_sequence(T, grid=5, random_state=seed)
    eye = sp.identity(A.shape[0])
    return [(A + c * eye, b, c) for c, b in zip(shifts, B)], (A, shifts, B)


def test_shifted_table_matches_one_solve_per_cell():
    systems, (A, shifts, B) = small_sequence()
    table = shifted_iteration_table(A, shifts, B, GRID, n_jobs=2)
    expected = iteration_table(systems, GRID)
    np.testing.assert_array_equal(table, expected)
    assert table.shape == (12, 4)


def test_best_fixed_and_instance_optimal():
    table = np.array([[10, 5, 7], [10, 8, 4]])
    assert best_fixed_omega(table, [1.0, 1.5, 1.8]) == (1.8, 11.0)
    omegas, costs = instance_optimal_omegas(table, [1.0, 1.5, 1.8])
    np.testing.assert_array_equal(omegas, [1.5, 1.8])
    np.testing.assert_array_equal(costs, [5, 4])


def test_solve_sequence_records_and_regret():
    systems, _ = small_sequence()
    res = solve_sequence(systems, OmegaBandit("chebcb", GRID, random_state=0), evaluate=True)
    assert res.converged and len(res.x) == 12
    for (A, b, _), x in zip(systems, res.x):
        assert np.linalg.norm(b - A @ x) <= 1e-8 * np.linalg.norm(b)
    seq = res.solver
    assert res.n_iter == sum(seq.iterations_) and len(seq.omegas_) == 12
    assert set(seq.omegas_) <= set(GRID)
    table = seq.costs_
    np.testing.assert_array_equal(seq.iterations_,
                                  table[np.arange(12), [GRID.index(w) for w in seq.omegas_]])
    expected = np.cumsum(seq.iterations_) - np.cumsum(table, axis=0).min(axis=1)
    np.testing.assert_allclose(seq.regret_, expected)
    np.testing.assert_allclose(res.history["regret"], expected)
    assert res.best_fixed_omega == best_fixed_omega(table, GRID)[0]


@pytest.mark.parametrize("solver", ["sor", "ssor", "ssor_cg"])
def test_sequence_solver_solvers_and_warm_start(solver):
    seq = SequenceSolver(OmegaBandit(omegas=GRID, random_state=0), solver=solver)
    A = poisson_2d(6)
    b = np.ones(36)
    first = seq.solve(A, b)
    again = seq.solve(A, b, x0=first.x)
    assert first.converged and again.n_iter <= 1
    with pytest.raises(AttributeError, match="evaluate=True"):
        seq.regret_


def test_sequence_rtol_and_its_warnings():
    """``rtol`` sets every solve's tolerance; an unconverged system warns once, at the
    caller, while the cut-short trials (unconverged by design) never warn."""
    A, b = poisson_2d(8), np.ones(64)
    loose = SequenceSolver(OmegaBandit(random_state=0), rtol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in range(6):
            res = loose.solve(A + 0.05 * t * sp.identity(64), b)
            assert np.linalg.norm(b - A @ res.x - 0.05 * t * res.x) <= 1e-4 * 8 * (1 + 1e-9)
            assert res.extras["residual"] > 1e-6  # stopped at rtol, not at the old 1e-8
    assert any(w is not None for w in loose.trial_omegas_)
    tight = solve_sequence([(A, b)] * 2, OmegaBandit(random_state=0), rtol=1e-10)
    assert all(n > m for n, m in zip(tight.iterations, loose.iterations_))
    with pytest.warns(ConvergenceWarning) as caught:
        SequenceSolver(maxiter=3).solve(A, b)
    assert [w.filename for w in caught] == [__file__]
    with pytest.raises(ValueError, match="rtol"):
        SequenceSolver(rtol=-1.0)


def test_sequence_solver_recovers_after_a_failed_solve():
    seq = SequenceSolver(OmegaBandit(random_state=0))
    with pytest.raises(ValueError, match="b has length"):
        seq.solve(poisson_2d(3), np.ones(4))
    assert seq.solve(poisson_2d(3), np.ones(9)).converged
    with pytest.raises(ValueError, match="solver"):
        SequenceSolver(solver="gmres")


def test_poisson_and_young():
    A = poisson_2d(10)
    assert A.shape == (100, 100) and (A != A.T).nnz == 0
    assert A.diagonal().tolist() == [4.0] * 100
    assert young_omega(A) == pytest.approx(young_omega(beta=np.cos(np.pi / 11)))
    with pytest.raises(ValueError, match="beta"):
        young_omega(beta=1.0)


def test_shifted_sequence_distributions():
    _, high, B = shifted_laplacian_sequence(2000, random_state=0)
    _, low, _ = shifted_laplacian_sequence(2000, variance="low", random_state=0)
    assert -0.15 <= high.min() and high.max() <= 0.45 and low.max() <= 0.45
    assert high.std() > low.std()
    assert np.all(np.linalg.norm(B, axis=1) <= 10.0 + 1e-12)
    with pytest.raises(ValueError, match="variance"):
        shifted_laplacian_sequence(3, variance="medium")


def test_heat_equation_steps_are_spd_and_solved():
    pde = HeatEquation2D(nx=10, n_steps=20)
    for _ in range(3):
        A, b, kappa = pde.system()
        assert kappa >= 0 and (abs(A - A.T)).max() < 1e-12
        res = sor(A, b, omega=1.2, x0=pde.u)
        np.testing.assert_allclose(res.x, spla.spsolve(A.tocsc(), b), atol=1e-6)
        pde.advance(res.x)
    assert pde.step == 3 and pde.t == pytest.approx(3 * 5.0 / 20)


def test_paper_task_context_beats_every_fixed_omega_and_the_default_matches_the_best():
    """The paper's task, 300 rounds. Baselines that fail: every fixed omega (the contextual
    learner's last 100 rounds must cost under 0.8x the best fixed omega's in hindsight on
    those rounds), and every fixed omega but the two best in hindsight (the default's total,
    from the first system on, within 1.05x of the best fixed omega's, for five seeds)."""
    A, shifts, B = shifted_laplacian_sequence(300, random_state=1)
    table = shifted_iteration_table(A, shifts, B)
    eye = sp.identity(100, format="csr")
    systems = [(sp.csr_matrix(A + c * eye), b, c) for c, b in zip(shifts, B)]
    chebcb = solve_sequence(systems, OmegaBandit("chebcb", random_state=0))
    assert chebcb.converged
    assert chebcb.iterations[-100:].sum() < 0.8 * table[-100:].sum(axis=0).min()
    for seed in range(5):
        # The default policy draws its probes at random: a fixed seed keeps the test
        # deterministic whatever the global random state earlier tests left behind.
        default = solve_sequence(systems, OmegaBandit(random_state=seed))
        assert default.converged
        assert default.n_iter <= 1.05 * table.sum(axis=0).min()
    assert np.sum(table.sum(axis=0) <= 1.05 * table.sum(axis=0).min()) <= 2
