"""A dataset larger than one worker's memory_limit fits on a LocalCluster, no worker killed."""

import sys

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from numsolve.completion import altmin  # noqa: E402

ROWS, COLS, RANK, PER_ROW, ROWS_PER_PART, PARTS = 200_000, 20_000, 2, 220, 2_500, 80
MEMORY_LIMIT = 1_000_000_000

def _planted(seed, size):
    return np.random.default_rng(seed).normal(size=(size, RANK))


def _partition(index):
    """Rows ``[index * 2500, (index + 1) * 2500)``, 220 distinct columns each, rank 2 + noise.

    Generated where the task runs: the planted factors come from seeds, never from the client.
    """
    first = index * ROWS_PER_PART
    rows = np.repeat(np.arange(first, first + ROWS_PER_PART), PER_ROW)
    cols = (rows * 7919 + np.tile(np.arange(PER_ROW), ROWS_PER_PART) * 104729) % COLS
    U = _planted([0, index], ROWS_PER_PART)
    V = _planted([1], COLS)
    noise = np.random.default_rng([2, index]).normal(scale=0.1, size=rows.size)
    values = np.einsum("ij,ij->i", U[rows - first], V[cols]) + noise
    return pd.DataFrame({"row": rows, "col": cols, "value": values})


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:altmin did not converge")
def test_data_larger_than_a_workers_memory_limit_fits_without_a_kill(monkeypatch, pytestconfig):
    # The worker processes unpickle ``_partition`` by reference and start with this
    # process's sys.path: let them import this file from the repository root. Appended, not
    # prepended: the root also holds the unbuilt source tree of numsolve, which must not
    # shadow the installed package there.
    monkeypatch.setattr(sys, "path", [*sys.path, str(pytestconfig.rootpath)])
    triples = dd.from_map(_partition, range(PARTS))  # generated on the workers, never here
    data_bytes = PARTS * ROWS_PER_PART * PER_ROW * 24
    assert data_bytes > MEMORY_LIMIT
    # No pausing: a worker over its limit is then killed (and the test fails) instead of
    # waiting forever for memory that is not Dask's to spill.
    with dask.config.set({"distributed.worker.memory.pause": False}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     memory_limit=MEMORY_LIMIT, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        result = altmin(triples, RANK, reg=0.01, solver="exact", init="random", max_iter=2,
                        tol=0.0, random_state=0, client=client)
        assert set(client.scheduler_info()["workers"]) == workers  # none restarted
    assert result.n_blocks > 4  # sized to the memory limit, not only to the workers
    # The last half-step solved every row's ridge regression exactly for the returned V.
    frame = _partition(0)
    for row in range(0, ROWS_PER_PART, 250):
        entries = frame[frame["row"] == row]
        fixed = result.V[entries["col"].to_numpy()]
        lhs = fixed.T @ fixed + 0.01 * len(entries) * np.eye(RANK)
        rhs = fixed.T @ entries["value"].to_numpy()
        assert np.linalg.norm(lhs @ result.U[row] - rhs) <= 1e-8 * np.linalg.norm(rhs)
