"""Planted problem generators and entry splits."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.completion import make_low_rank, split_entries


@pytest.mark.parametrize("sampling", ["uniform", "power_law"])
def test_generator_sizes_and_disjoint_split(sampling):
    problem = make_low_rank(200, 100, 3, density=0.1, sampling=sampling, test_fraction=0.2,
                            random_state=0)
    assert problem.observed.nnz + problem.heldout.nnz == 2000
    overlap = problem.observed.multiply(problem.heldout)
    assert overlap.nnz == 0 or np.all(overlap.data == 0)
    rows, cols = problem.observed.nonzero()
    np.testing.assert_allclose(problem.observed[rows, cols].A1, problem.matrix[rows, cols])
    assert np.linalg.matrix_rank(problem.matrix) == 3


def test_power_law_sampling_is_long_tailed():
    problem = make_low_rank(500, 400, 2, density=0.05, sampling="power_law", random_state=0)
    counts = np.sort(np.diff(problem.observed.indptr))
    assert counts[-1] > 10 * max(np.median(counts), 1)


def test_split_entries_partitions_the_entries():
    X = sp.random(40, 30, density=0.3, random_state=0, format="csr")
    train, test = split_entries(X, test_size=0.25, random_state=0)
    assert train.nnz + test.nnz == X.nnz
    np.testing.assert_allclose((train + test).toarray(), X.toarray())


def test_generator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sampling"):
        make_low_rank(10, 10, 2, sampling="zipf")
    with pytest.raises(ValueError, match="density"):
        make_low_rank(10, 10, 2, density=0.0)
