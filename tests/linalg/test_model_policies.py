"""Structured omega learners: Young's model (counts only) and the shared smooth regression."""

import numpy as np
import pytest

from numsolve.linalg import (
    OmegaBandit,
    best_fixed_omega,
    shifted_iteration_table,
    shifted_laplacian_sequence,
    young_omega,
)
from numsolve.linalg._young import YoungModel, sor_rate, young_iterations

OMEGAS = np.linspace(1.0, 1.95, 20)


def replay(bandit, table, contexts):
    """Play ``bandit`` on a table of iterations (its omegas are grid points)."""
    costs = []
    for row, context in zip(table, contexts):
        arm = int(np.argmin(np.abs(OMEGAS - bandit.select(context))))
        bandit.observe(row[arm])
        costs.append(row[arm])
    return np.asarray(costs)


@pytest.fixture(scope="module")
def short_sequence():
    """60 shifted Poisson systems on a 20 x 20 grid, shifts down to 0.9 of -lambda_min."""
    grid = 20
    offset = -0.9 * 8 * np.sin(np.pi / (2 * grid + 2)) ** 2
    A, shifts, B = shifted_laplacian_sequence(60, grid=grid, offset=offset, random_state=0)
    table = shifted_iteration_table(A, shifts, B, OMEGAS, n_jobs=2)
    return shifts, table, (offset, offset + 0.6)


def test_sor_rate_is_youngs_formula():
    beta = 0.95
    best = young_omega(beta=beta)
    assert sor_rate(1.0, beta) == pytest.approx(beta**2)
    assert sor_rate(best, beta) == pytest.approx(best - 1, rel=1e-6)
    assert sor_rate(1.9, beta) == pytest.approx(0.9)
    fine = np.linspace(1.0, 1.99, 10_000)
    assert fine[np.argmin(sor_rate(fine, beta))] == pytest.approx(best, abs=2e-4)


def test_one_count_reveals_the_jacobi_radius():
    model = YoungModel(OMEGAS, 1e-8)
    beta = 0.97
    for omega in (1.0, 1.3):
        cost = young_iterations([omega], beta, model.log_below, model.log_above)[0]
        assert model.jacobi_radius(omega, cost) == pytest.approx(beta, rel=1e-9)
    # above Young's omega the count only bounds beta
    cost = young_iterations([1.9], beta, model.log_below, model.log_above)[0]
    assert beta < model.jacobi_radius(1.9, cost) == pytest.approx(2 * np.sqrt(0.9) / 1.9)


def test_young_policy_is_near_the_best_fixed_omega_on_a_short_sequence(short_sequence):
    shifts, table, _ = short_sequence
    young = replay(OmegaBandit("young"), table, shifts)
    tsallis = replay(OmegaBandit("tsallis-inf", random_state=0), table, shifts)
    totals = np.sort(table.sum(axis=0))
    _, best_total = best_fixed_omega(table, OMEGAS)
    # baselines that fail: Tsallis-INF, and 16 of the 20 fixed omegas (all but the four
    # best in hindsight, which no one knows in advance)
    assert young.sum() <= 1.2 * best_total
    assert young.sum() < totals[4]
    assert young.sum() < tsallis.sum()


def test_smoothcb_approaches_the_instance_optimal_policy():
    A, shifts, B = shifted_laplacian_sequence(400, random_state=0)
    table = shifted_iteration_table(A, shifts, B, OMEGAS, n_jobs=2)
    smooth = replay(OmegaBandit("smoothcb", random_state=0), table, shifts)
    chebcb = replay(OmegaBandit("chebcb", random_state=0), table, shifts)
    last = slice(200, None)
    assert smooth[last].sum() <= 1.1 * table[last].min(axis=1).sum()
    assert smooth.sum() < chebcb.sum()
    assert smooth.sum() < best_fixed_omega(table, OMEGAS)[1]


def vector_context_costs(policy, seed, rounds):
    """Costs ``100 |omega - 1.2 - 0.5 c_0| + 10`` over 2-D contexts, and those of the best
    fixed grid omega over the second half of the rounds."""
    bandit = OmegaBandit(policy, context_range=(0, 1), random_state=seed)
    contexts = np.random.default_rng(1).uniform(0, 1, (rounds, 2))
    costs = []
    for c in contexts:
        costs.append(100 * abs(bandit.select(c) - 1.2 - 0.5 * c[0]) + 10)
        bandit.observe(costs[-1])
    half = contexts[rounds // 2:, :1]
    fixed = (100 * np.abs(OMEGAS[None, :] - 1.2 - half * 0.5) + 10).mean(axis=0).min()
    return np.asarray(costs), fixed, bandit.arms_


@pytest.mark.parametrize("policy, rounds", [("smoothcb", 100), ("chebcb", 200)])
def test_contextual_policies_follow_a_vector_context_deterministically(policy, rounds):
    costs, best_fixed, arms = vector_context_costs(policy, 0, rounds)
    # baseline that fails: every fixed omega (the best one in hindsight included)
    assert costs[rounds // 2:].mean() < 0.85 * best_fixed
    assert vector_context_costs(policy, 0, rounds)[2] == arms
    assert vector_context_costs(policy, 1, rounds)[2] != arms


def test_bad_use_of_the_model_policies():
    with pytest.raises(ValueError, match="rtol"):
        OmegaBandit("young", rtol=1.5)
    with pytest.raises(ValueError, match="needs a context"):
        OmegaBandit("smoothcb").select()
    bandit = OmegaBandit("young")
    bandit.select()
    with pytest.raises(ValueError, match="cost"):
        bandit.observe(float("inf"))
