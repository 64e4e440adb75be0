"""The rule that picks reg="auto"'s ridge from the pooled held-out errors."""

import numpy as np

from numsolve.completion._reg_path import nearest_within_one_error

GRID = 24.0 / 2.0 ** np.arange(8)  # 24 down to 0.1875, the default 12 second
DEFAULT = 12.0


def _excess_and_standard_error(errors):
    """Mean excess over the lowest row and the standard error of that paired difference,
    computed directly from their definitions."""
    best = np.argmin(errors.mean(axis=1))
    difference = errors - errors[best]
    excess = difference.mean(axis=1)
    standard_error = np.array([np.std(row, ddof=1) for row in difference]) / np.sqrt(
        errors.shape[1])
    return excess, standard_error


def _errors(offsets, n=4000, spread=0.02, seed=0):
    """Squared errors of each ridge on n shared held-out entries: a common part (the entries'
    own difficulty), a mean offset per ridge and independent noise of size ``spread``."""
    rng = np.random.default_rng(seed)
    common = rng.chisquare(1, n)
    return common + np.asarray(offsets)[:, None] + spread * rng.standard_normal((len(offsets), n))


def test_the_chosen_ridge_is_the_nearest_to_the_default_within_one_standard_error():
    for seed in range(20):
        offsets = np.random.default_rng(100 + seed).uniform(0, 2e-3, GRID.size)
        errors = _errors(offsets, seed=seed)
        chosen = nearest_within_one_error(errors, GRID, DEFAULT)
        excess, standard_error = _excess_and_standard_error(errors)
        assert excess[chosen] <= standard_error[chosen] * (1 + 1e-9)
        distance = np.abs(np.log(GRID / DEFAULT))
        closer = distance < distance[chosen] - 1e-12
        assert np.all(excess[closer] > standard_error[closer])


def test_a_flat_plateau_keeps_the_default_where_the_lowest_point_is_elsewhere():
    """Differences below the noise: the plain minimum lands on any ridge, the rule on the
    default."""
    errors = _errors(np.zeros(GRID.size), spread=0.05, seed=0)
    lowest = int(np.argmin(errors.mean(axis=1)))
    assert GRID[lowest] != DEFAULT
    assert GRID[nearest_within_one_error(errors, GRID, DEFAULT)] == DEFAULT


def test_a_clear_minimum_far_from_the_default_is_chosen():
    """Ridges far below the default fit low-noise data better by many standard errors."""
    offsets = 0.5 * np.abs(np.log2(GRID / GRID[6]))
    errors = _errors(offsets, seed=4)
    assert nearest_within_one_error(errors, GRID, DEFAULT) == 6


def test_ties_in_distance_go_to_the_lower_error():
    grid = np.array([24.0, 12.0, 6.0])
    errors = np.array([[1.0, 1.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0], [1.0, 1.1, 0.95, 1.0]])
    # 12 is far worse; 24 and 6 are equally far from it and within one error of each other,
    # 24 the lower
    assert nearest_within_one_error(errors, grid, DEFAULT) == 0
    assert nearest_within_one_error(errors[::-1], grid[::-1], DEFAULT) == 2


def test_a_single_held_out_entry_keeps_the_lowest_error():
    errors = np.array([[2.0], [1.0], [3.0]])
    assert nearest_within_one_error(errors, np.array([24.0, 12.0, 6.0]), 24.0) == 1
