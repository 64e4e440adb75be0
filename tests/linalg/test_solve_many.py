"""Batched bandit over a sequence of systems: delayed feedback, locally and on Dask."""

import numpy as np
import pytest
import scipy.sparse as sp

from numsolve.linalg import OmegaBandit, SequenceSolver, shifted_laplacian_sequence


def _systems(n, variance="high", seed=0):
    A, shifts, B = shifted_laplacian_sequence(n, variance=variance, random_state=seed)
    identity = sp.identity(A.shape[0], format="csr")
    return [((A + c * identity).tocsr(), b, c) for c, b in zip(shifts, B)]


def test_batch_of_one_is_the_sequential_learner():
    systems = _systems(60)
    sequential = SequenceSolver(OmegaBandit(random_state=3))
    for A, b, c in systems:
        sequential.solve(A, b, context=c)
    batched = SequenceSolver(OmegaBandit(random_state=3))
    results = batched.solve_many(systems, batch_size=1)
    assert batched.omegas_ == sequential.omegas_
    assert batched.iterations_ == sequential.iterations_
    assert [r.n_iter for r in results] == sequential.iterations_


def test_batches_draw_from_one_policy_and_observe_in_order():
    bandit = OmegaBandit("chebcb", random_state=0)
    omegas = bandit.select_batch([0.0, 0.3, 0.6])
    assert len(omegas) == 3 and bandit.costs_ == []
    with pytest.raises(RuntimeError, match="one cost per omega"):
        bandit.observe_batch([10, 20])
    with pytest.raises(RuntimeError, match="observed first"):
        bandit.select_batch([0.1])
    bandit.observe_batch([30, 20, 10])
    assert bandit.costs_ == [30.0, 20.0, 10.0]
    assert [bandit.omegas_[a] for a in bandit.arms_] == omegas
    with pytest.raises(ValueError, match="at least one"):
        bandit.select_batch([])


def test_small_batches_cost_about_as_much_as_the_sequential_learner():
    """On the paper's task (1000 systems), batches of 2 stay within 15 % of sequential."""
    systems = _systems(1000)
    totals = {}
    for batch in (1, 2):
        runs = []
        for seed in range(3):
            solver = SequenceSolver(OmegaBandit(random_state=seed))
            solver.solve_many(systems, batch_size=batch)
            runs.append(np.sum(solver.iterations_))
        totals[batch] = np.mean(runs)
    assert totals[2] <= 1.15 * totals[1]


def test_solve_many_on_a_dask_cluster_matches_local_batches():
    distributed = pytest.importorskip("distributed")
    systems = _systems(40)
    local = SequenceSolver(OmegaBandit(random_state=1))
    expected = local.solve_many(systems, batch_size=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = SequenceSolver(OmegaBandit(random_state=1))
        results = remote.solve_many(systems, client=client)
    assert remote.omegas_ == local.omegas_
    assert remote.iterations_ == local.iterations_
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got.x, want.x)
        assert got.converged
