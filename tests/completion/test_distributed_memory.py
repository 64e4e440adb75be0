"""A dataset larger than one worker's memory_limit fits on a LocalCluster, no worker killed."""

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from numsolve.completion import altmin  # noqa: E402

ROWS, COLS, PER_ROW, ROWS_PER_PART, PARTS = 200_000, 20_000, 220, 2_500, 80
MEMORY_LIMIT = 1_000_000_000
PLANTED = np.random.default_rng(0).normal(size=(ROWS + COLS, 2))


def _partition(index):
    """Rows ``[index * 2500, (index + 1) * 2500)``, 220 distinct columns each, rank 2 + noise."""
    rows = np.repeat(np.arange(index * ROWS_PER_PART, (index + 1) * ROWS_PER_PART), PER_ROW)
    cols = (rows * 7919 + np.tile(np.arange(PER_ROW), ROWS_PER_PART) * 104729) % COLS
    noise = np.random.default_rng(index).normal(scale=0.1, size=rows.size)
    values = np.einsum("ij,ij->i", PLANTED[rows], PLANTED[ROWS + cols]) + noise
    return pd.DataFrame({"row": rows, "col": cols, "value": values})


@pytest.mark.slow
def test_data_larger_than_a_workers_memory_limit_fits_without_a_kill():
    triples = dd.from_map(_partition, range(PARTS))  # generated on the workers, never here
    data_bytes = PARTS * ROWS_PER_PART * PER_ROW * 24
    assert data_bytes > MEMORY_LIMIT
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit=MEMORY_LIMIT, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        result = altmin(triples, 2, reg=0.01, solver="exact", init="random", max_iter=2,
                        tol=0.0, random_state=0, client=client)
        assert set(client.scheduler_info()["workers"]) == workers  # none restarted
    assert result.n_blocks > 4  # sized to the memory limit, not only to the workers
    # The last half-step solved every row's ridge regression exactly for the returned V.
    frame = _partition(0)
    for row in range(0, ROWS_PER_PART, 250):
        entries = frame[frame["row"] == row]
        fixed = result.V[entries["col"].to_numpy()]
        lhs = fixed.T @ fixed + 0.01 * len(entries) * np.eye(2)
        rhs = fixed.T @ entries["value"].to_numpy()
        assert np.linalg.norm(lhs @ result.U[row] - rhs) <= 1e-8 * np.linalg.norm(rhs)
