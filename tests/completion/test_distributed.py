"""Alternating minimisation on a real Dask LocalCluster agrees with the single-machine solver."""

import contextlib
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from numsolve.completion import altmin, make_low_rank  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as dask_client:
            yield dask_client


@pytest.fixture(scope="module")
def problem():
    return make_low_rank(240, 160, 3, density=0.3, random_state=1)


@pytest.fixture(params=["one task", "blocks"])
def plan(request, monkeypatch):
    """Both plans of the distributed fit: the default one task for data this small, or blocks
    of 2,000 entries (4 row and 4 column blocks here, two per worker)."""
    if request.param == "blocks":
        from numsolve.completion import _distributed

        monkeypatch.setattr(_distributed, "MIN_BLOCK_ENTRIES", 2_000)
    return request.param


def _triples(problem, npartitions=3):
    coo = problem.observed.tocoo()
    frame = pd.DataFrame({"row": coo.row, "col": coo.col, "value": coo.data})
    return frame, dd.from_pandas(frame, npartitions=npartitions)


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("solver", ["exact", "cg"])
@pytest.mark.parametrize("bias", [False, True])
def test_distributed_fit_equals_single_machine(client, problem, plan, solver, bias):
    _, triples = _triples(problem)
    kwargs = dict(solver=solver, init="random", random_state=0, max_iter=8, bias=bias,
                  reg=0.01 if bias else 0.0)
    with _ignoring_warnings():
        local = altmin(problem.observed, 3, **kwargs)
        remote = altmin(triples, 3, client=client, **kwargs)
    assert remote.n_blocks == (1 if plan == "one task" else 4)
    assert remote.n_iter == local.n_iter
    assert _relative(remote.U, local.U) <= 1e-8
    assert _relative(remote.V, local.V) <= 1e-8
    assert remote.rmse == pytest.approx(local.rmse, rel=1e-8, abs=1e-14)
    if bias:
        assert _relative(remote.row_bias, local.row_bias) <= 1e-8
        assert _relative(remote.col_bias, local.col_bias) <= 1e-8


@contextlib.contextmanager
def _ignoring_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_spectral_start_recovers_the_planted_matrix(client, problem, plan):
    _, triples = _triples(problem)
    local = altmin(problem.observed, 3, solver="exact", random_state=0, max_iter=50)
    remote = altmin(triples, 3, solver="exact", random_state=0, max_iter=50, client=client)
    assert remote.converged
    assert _relative(remote.U @ remote.V.T, problem.matrix) < 1e-6
    assert _relative(remote.U @ remote.V.T, local.U @ local.V.T) < 1e-6


def test_sketched_solver_within_its_tolerance(client, problem):
    _, triples = _triples(problem)
    remote = altmin(triples, 3, solver="sketched", random_state=0, max_iter=60, client=client)
    assert _relative(remote.U @ remote.V.T, problem.matrix) < 1e-5


def test_block_count_does_not_change_the_answer(client, problem):
    _, triples = _triples(problem)
    kwargs = dict(solver="cg", init="random", random_state=3, max_iter=5)
    with _ignoring_warnings():
        two = altmin(triples, 3, client=client, **kwargs)
        from numsolve.completion._distributed import altmin_distributed

        seven = altmin_distributed(triples, 3, client=client, n_blocks=7, solver="cg",
                                   init="random", max_iter=5,
                                   random_state=np.random.RandomState(3))
    assert two.n_blocks == 1 and seven.n_blocks == 7
    assert _relative(seven.U, two.U) <= 1e-10


def test_fit_from_partitioned_parquet(client, problem, plan, tmp_path):
    pytest.importorskip("pyarrow")
    frame, _ = _triples(problem)
    frame = frame.assign(part=frame["row"] % 4)
    frame.to_parquet(tmp_path / "ratings", partition_cols=["part"])
    triples = dd.read_parquet(tmp_path / "ratings", columns=["row", "col", "value"])
    remote = altmin(triples, 3, solver="exact", random_state=0, max_iter=50, client=client)
    assert _relative(remote.U @ remote.V.T, problem.matrix) < 1e-6


def test_dask_array_with_missing_entries(client, problem, plan):
    da = pytest.importorskip("dask.array")
    dense = problem.observed.toarray()
    dense[problem.observed.toarray() == 0] = np.nan
    remote = altmin(da.from_array(dense, chunks=(100, 70)), 3, solver="exact", random_state=0,
                    max_iter=50, client=client)
    assert _relative(remote.U @ remote.V.T, problem.matrix) < 1e-6


def test_bad_dask_input_is_refused_before_work(client, problem):
    frame, triples = _triples(problem)
    with pytest.raises(ValueError, match="lacks the columns"):
        altmin(triples.rename(columns={"value": "rating"}), 3, client=client)
    with pytest.raises(ValueError, match="validation is not available"):
        altmin(triples, 3, client=client, validation=problem.observed)
    with pytest.raises(ValueError, match="rank must be"):
        altmin(triples, 500, client=client)
    with pytest.raises(ValueError, match="solver must be"):
        altmin(triples, 3, client=client, solver="magic")
    with pytest.raises(TypeError, match="dask DataFrame or dask Array"):
        from numsolve.completion._distributed import altmin_distributed

        altmin_distributed(frame, 3, client=client)


@pytest.mark.parametrize("bias", ["none", "full"])
def test_estimator_fits_dask_triples_like_a_sparse_matrix(client, problem, plan, bias,
                                                          monkeypatch):
    from numsolve.completion import MatrixCompletion, _distributed, _estimators

    one_task_fits = []
    monkeypatch.setattr(_estimators, "fit_on_one_worker", lambda *args: one_task_fits.append(
        args) or _distributed.fit_on_one_worker(*args))
    _, triples = _triples(problem)
    params = dict(rank=3, bias=bias, reg=0.01, solver="exact", init="random", max_iter=10,
                  random_state=0)
    with _ignoring_warnings():
        local = MatrixCompletion(**params).fit(problem.observed)
        remote = MatrixCompletion(client=client, **params).fit(triples)
    assert len(one_task_fits) == (1 if plan == "one task" else 0)
    assert remote.n_features_in_ == problem.observed.shape[1]
    assert remote.intercept_ == pytest.approx(local.intercept_, rel=1e-12)
    assert _relative(remote.row_bias_ + 1, local.row_bias_ + 1) <= 1e-8
    assert _relative(remote.components_, local.components_) <= 1e-8
    rows, cols = np.array([0, 5, 17]), np.array([3, 9, 100])
    np.testing.assert_allclose(remote.predict_entries(rows, cols),
                               local.predict_entries(rows, cols), rtol=1e-8)


def test_estimator_defaults_on_the_cluster(client, problem, plan):
    """The default model (relative ridge, joint biases, clipping) is the local one; reg="auto"
    runs where one task fits the data and is refused, before any work, for blocks."""
    from numsolve.completion import MatrixCompletion

    _, triples = _triples(problem)
    with _ignoring_warnings():
        local = MatrixCompletion(rank=3, random_state=0).fit(problem.observed)
        remote = MatrixCompletion(rank=3, random_state=0, client=client).fit(triples)
    assert remote.scale_ == pytest.approx(local.scale_, rel=1e-10)
    assert remote.value_range_ == local.value_range_
    rows, cols = np.array([0, 5, 17]), np.array([3, 9, 100])
    np.testing.assert_allclose(remote.predict_entries(rows, cols),
                               local.predict_entries(rows, cols), rtol=1e-6)
    auto = MatrixCompletion(rank=3, reg="auto", max_iter=5, random_state=0, client=client)
    if plan == "blocks":
        with pytest.raises(ValueError, match="reg='auto'"):
            auto.fit(triples)
    else:
        with _ignoring_warnings():
            auto.fit(triples)
        assert auto.reg_ in auto.reg_path_["reg"]


@pytest.mark.parametrize("plan", ["blocks"], indirect=True)
def test_a_worker_killed_mid_fit_does_not_change_the_result(problem, plan, monkeypatch):
    """The fit pauses after its third sweep (an event, not a timer), one worker's process is
    killed while it holds blocks and factors, its nanny starts a new one, and the fit goes on:
    the lost pieces are recomputed from their lineage and the factors are bit for bit those
    of an undisturbed fit."""
    import os
    import signal
    import threading
    import time

    from numsolve.completion import _stopping

    _, triples = _triples(problem, npartitions=4)
    kwargs = dict(solver="cg", init="random", random_state=0, max_iter=12, tol=0.0)
    under_way, killed = threading.Event(), threading.Event()
    sweeps = []
    original = _stopping.stop_reason

    def pausing_stop_reason(*args):
        sweeps.append(len(sweeps) + 1)
        if len(sweeps) == 3:
            under_way.set()
            assert killed.wait(timeout=120), "the worker was not killed"
        return original(*args)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as own_client, _ignoring_warnings():
        reference = altmin(triples, 3, client=own_client, **kwargs)
        monkeypatch.setattr(_stopping, "stop_reason", pausing_stop_reason)
        outcome = {}
        fit = threading.Thread(target=lambda: outcome.update(
            result=altmin(triples, 3, client=own_client, **kwargs)))
        fit.start()
        assert under_way.wait(timeout=120), "the fit never reached its third sweep"
        before = own_client.run(os.getpid)
        held = own_client.has_what()
        victim = max(sorted(held), key=lambda worker: len(held[worker]))
        assert held[victim]  # it holds blocks and factors the rest of the fit needs
        os.kill(before[victim], signal.SIGKILL)
        deadline = time.monotonic() + 120
        while victim in own_client.scheduler_info()["workers"]:
            assert time.monotonic() < deadline, "the scheduler never noticed the dead worker"
            time.sleep(0.05)
        own_client.wait_for_workers(2, timeout=120)
        after = own_client.run(os.getpid)
        killed.set()
        fit.join(timeout=300)
        assert not fit.is_alive() and "result" in outcome
    assert victim not in after and len(after) == 2
    assert before[victim] not in after.values()
    result = outcome["result"]
    assert result.n_iter == reference.n_iter == len(sweeps) == 12
    np.testing.assert_array_equal(result.U, reference.U)
    np.testing.assert_array_equal(result.V, reference.V)


def test_the_given_client_is_used_when_another_one_is_current(client, problem):
    _, triples = _triples(problem)
    persisted = client.persist(triples)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as other, \
            distributed.Client(other):  # now the current client
        result = altmin(persisted, 3, solver="exact", random_state=0, max_iter=50,
                        client=client)
    assert _relative(result.U @ result.V.T, problem.matrix) < 1e-6


@pytest.mark.parametrize("bias", [False, True])
def test_factors_kept_on_the_cluster_equal_the_gathered_ones(client, problem, plan, bias):
    da = pytest.importorskip("dask.array")
    _, triples = _triples(problem)
    kwargs = dict(solver="cg", init="random", random_state=0, max_iter=6, bias=bias,
                  reg=0.01, client=client)
    with _ignoring_warnings():
        gathered = altmin(triples, 3, **kwargs)
        kept = altmin(triples, 3, keep_factors=True, **kwargs)
    assert isinstance(kept.U, da.Array) and isinstance(kept.V, da.Array)
    assert kept.U.shape == gathered.U.shape and kept.V.shape == gathered.V.shape
    # the RMSE and the factors sum the blocks' terms in the order they arrive: equal up to
    # rounding
    assert kept.n_iter == gathered.n_iter
    assert kept.rmse == pytest.approx(gathered.rmse, rel=1e-12)
    round_off = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(kept.U.compute(), gathered.U, **round_off)
    np.testing.assert_allclose(kept.V.compute(), gathered.V, **round_off)
    if bias:
        np.testing.assert_allclose(kept.row_bias.compute(), gathered.row_bias, **round_off)
        np.testing.assert_allclose(kept.col_bias.compute(), gathered.col_bias, **round_off)
    with pytest.raises(ValueError, match="dask input only"):
        altmin(problem.observed, 3, keep_factors=True)


def test_bad_init_is_refused_before_work(client, problem, monkeypatch):
    from numsolve.completion import _distributed

    def no_work(*args, **kwargs):
        raise AssertionError("the cluster was asked to count the entries")

    monkeypatch.setattr(_distributed, "count_and_shape", no_work)
    _, triples = _triples(problem)
    with pytest.raises(ValueError, match="init must be 'svd', 'random'"):
        altmin(triples, 3, client=client, init="zeros")
    with pytest.raises(ValueError, match=r"init as a tuple must be \(U0, V0\)"):
        altmin(triples, 3, client=client, init=(np.ones((240, 3)),))


def test_given_factors_must_be_finite(client, problem):
    _, triples = _triples(problem)
    U = np.ones((240, 3))
    U[0, 0] = np.nan
    with pytest.raises(ValueError, match="init factors contain NaN or infinity"):
        altmin(triples, 3, client=client, init=(U, np.ones((160, 3))))
