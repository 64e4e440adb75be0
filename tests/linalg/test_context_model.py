"""The default learner's context route: Young's omega read per system and regressed on the
context, refuted where reading trials below it keep winning."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linalg import (OmegaBandit, poisson_2d, shifted_iteration_table,
                             shifted_laplacian_sequence, solve_sequence, sor, young_omega)
from numsolve.linalg._context_model import ContextYoungModel
from numsolve.linalg._safe import SafeSearch
from numsolve.linalg._trial import Trial, TrialOutcome


def _slope(result):
    residual = result.history["residual"]
    half = len(residual) // 2
    return np.log(residual[-1] / residual[half]) / (len(residual) - 1 - half)


def test_a_solve_below_young_omega_reads_it_and_one_above_only_bounds_it():
    A = poisson_2d(12)
    b = np.random.default_rng(0).standard_normal(144)
    model = ContextYoungModel(1.0, 1.95)
    best = young_omega(beta=np.cos(np.pi / 13))
    for omega in (1.0, 1.3, best - 0.05):
        read = model.reading(omega, _slope(sor(A, b, omega=omega)))
        assert abs(read - best) < 0.01
    assert model.reading(best + 0.05, _slope(sor(A, b, omega=best + 0.05))) is None


def test_the_local_fit_follows_a_curved_omega_of_the_context():
    model = ContextYoungModel(1.0, 1.95)
    contexts = np.linspace(0.0, 1.0, 40)
    for c in contexts:
        model.observe(c, 1.2 + 0.6 * c**2)
    low, high = np.array([0.0]), np.array([1.0])
    for c in (0.1, 0.5, 0.9):
        assert abs(model.predict(c, low, high) - (1.2 + 0.6 * c**2)) < 5e-3
    # never beyond the readings it rests on
    assert model.predict(5.0, low, high) <= 1.8 + 1e-12


def _reference_prediction(points, values, here, low, high, k=10, ridge=1e-3):
    """The local linear fit written out in NumPy: the k nearest readings in scaled context,
    intercept of the ridge-on-slope least squares fit, clipped to their values."""
    span = np.where(high > low, high - low, 1.0)
    offsets = (points - here) / span
    nearest = np.argsort(np.einsum("ij,ij->i", offsets, offsets), kind="stable")[:k]
    design = np.hstack([np.ones((nearest.size, 1)), offsets[nearest]])
    gram = design.T @ design
    gram[1:, 1:] += ridge * nearest.size * np.eye(design.shape[1] - 1)
    intercept = np.linalg.solve(gram, design.T @ values[nearest])[0]
    return float(np.clip(intercept, max(values[nearest].min(), 1.0),
                         min(values[nearest].max(), 1.95)))


@pytest.mark.parametrize("dimension, readings", [(1, 7), (1, 300), (3, 600)])
def test_the_compiled_local_fit_equals_the_numpy_fit(dimension, readings):
    """Scalar and vector contexts, fewer readings than neighbours, and more than the 512
    kept (the oldest overwritten): the compiled call gives the NumPy fit to round-off."""
    rng = np.random.default_rng(dimension * readings)
    contexts = rng.uniform(-2.0, 3.0, (readings, dimension))
    truth = 1.3 + 0.2 * np.sin(contexts).sum(axis=1)
    model = ContextYoungModel(1.0, 1.95)
    for c, value in zip(contexts, truth):
        model.observe(c if dimension > 1 else c[0], value)
    kept_points, kept_values = contexts[-512:], truth[-512:]
    low, high = contexts.min(axis=0), contexts.max(axis=0)
    for here in rng.uniform(-2.5, 3.5, (25, dimension)):
        expected = _reference_prediction(kept_points, kept_values, here, low, high)
        got = model.predict(here if dimension > 1 else here[0], low, high)
        assert abs(got - expected) < 1e-10


def test_with_the_shift_as_context_the_default_approaches_the_instance_optimal_omega():
    """The paper's task (high variance), 400 rounds. Baseline that fails: the descent alone
    (the previous context route) spent 1.27-1.59x the instance-optimal grid omega's
    iterations on the last 150 rounds for these seeds."""
    A, shifts, B = shifted_laplacian_sequence(400, random_state=1)
    table = shifted_iteration_table(A, shifts, B)
    eye = sp.identity(100, format="csr")
    systems = [(sp.csr_matrix(A + c * eye), b, c) for c, b in zip(shifts, B)]
    for seed in range(3):
        result = solve_sequence(systems, OmegaBandit(random_state=seed))
        assert result.converged
        last = np.asarray(result.iterations)[-150:]
        assert last.sum() <= 1.10 * table[-150:].min(axis=1).sum()


def test_reading_trials_that_keep_winning_hand_omega_back_to_the_descent():
    search = SafeSearch(1.0, 1.95, 3)
    for c in np.linspace(0.0, 1.0, 6):
        search.features(c)
        search.context_model.observe(c, 1.8)
    search.mean_cost = 100.0
    phi = search.features(0.5)
    assert abs(search.incumbent(phi, 0.5) - 1.81) < 1e-9
    wins = 0
    while True:
        trial = search.plan(phi, 0.5)
        if not trial.reading:
            search.update(phi, trial, TrialOutcome(100, solver="sor"), 0.5)
            continue
        # the trial below decays twice as fast as the incumbent after it: a clear win
        search.update(phi, trial, TrialOutcome(100, trial_rate=-0.2, incumbent_rate=-0.1,
                                               censored=True, solver="sor"), 0.5)
        wins += 1
        if wins == 4:
            break
    assert search.incumbent(phi, 0.5) == search.omega(phi)
    assert not any(search.plan(phi, 0.5).reading for _ in range(50))
