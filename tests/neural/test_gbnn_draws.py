"""The compiled stage draws are the RandomState calls they replace, number for number."""

import numpy as np
import pytest

from numsolve.neural.gbnn._draws import draw_stage_streams
from numsolve.neural.gbnn._stages import draw_stages


@pytest.mark.parametrize("n_samples, n_sub, size", [(398, 199, 125), (5, 5, 3), (1, 1, 2),
                                                    (1000, 3, 7), (2**16 + 3, 10, 1)])
def test_streams_equal_permutation_then_random_sample_per_stage(n_samples, n_sub, size):
    rows, uniform = np.empty((4, n_sub), dtype=np.int64), np.empty((4, size))
    compiled = np.random.RandomState(11)
    draw_stage_streams(compiled, n_samples, rows, uniform)
    rng = np.random.RandomState(11)
    for t in range(4):
        np.testing.assert_array_equal(rows[t], rng.permutation(n_samples)[:n_sub])
        np.testing.assert_array_equal(uniform[t], rng.random_sample(size))
    # the generator was advanced as by the Python calls
    assert compiled.random_sample() == rng.random_sample()


def test_no_permutation_without_subsample():
    rows, uniform = np.empty((3, 6), dtype=np.int64), np.empty((3, 4))
    draw_stage_streams(np.random.RandomState(2), 0, rows, uniform)
    np.testing.assert_array_equal(uniform.ravel(), np.random.RandomState(2).random_sample(12))


def test_draw_stages_keeps_the_streams_of_choice_and_uniform():
    rng = np.random.RandomState(5)
    rows, thetas = draw_stages(np.random.RandomState(5), 3, 40, 20, 3, 2, 1, "tanh")
    bound_in, bound_out = np.sqrt(6 / 5), np.sqrt(6 / 3)
    for t in range(3):
        np.testing.assert_array_equal(rows[t], np.sort(rng.choice(40, 20, replace=False)))
        expected = np.concatenate([rng.uniform(-bound_in, bound_in, 8),
                                   rng.uniform(-bound_out, bound_out, 3)])
        np.testing.assert_allclose(thetas[t], expected, rtol=1e-15)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="n_samples"):
        draw_stage_streams(np.random.RandomState(0), 3, np.empty((1, 4), dtype=np.int64),
                           np.empty((1, 1)))
