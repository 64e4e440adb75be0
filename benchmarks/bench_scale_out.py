"""Scale-out: numsolve's alternating minimisation on a Dask LocalCluster against Spark MLlib ALS.

Contenders, on the same training entries, rank, ridge (ALS-WR: the ridge of a row scaled by its
observations, Spark's convention) and number of sweeps:

* numsolve ``altmin`` in one process (the single-machine reference);
* numsolve ``altmin`` on a ``distributed.LocalCluster`` of 2 workers and of 1 worker (one thread
  each), the entries given as a persisted dask DataFrame of ``(row, col, value)`` triples, as
  ``dd.read_parquet`` would give them;
* Spark MLlib ``ALS`` (pyspark, ``local[2]``), the ratings a cached Spark DataFrame.

On the 10-million-entry matrix the Dask contenders also report a cost model's prediction of
their seconds per sweep, from constants measured once per problem (see :func:`_calibrate`):

    t(w) = t_1(w) / w + beta * words(w) + tau * tasks,
    words(w) = (w - 1) * ((2 m + n) + (m + n) / w) * k,    tasks = 3 * blocks + 8,

where ``t_1(w)`` is one sweep of the single-machine kernels on one thread (compute
O(|Omega| k), split over ``w`` workers), timed on each of the ``w`` workers running it at once
(on one machine they share the memory bandwidth; across machines ``t_1(w) = t_1(1)``), ``beta`` the seconds per float64 word moved from one
worker to another, and ``tau`` the scheduler's cost per task. ``words(w)`` counts what one sweep
moves: each half-step sends the fixed factor from the worker that assembled it to the ``w - 1``
others and gathers the blocks' solutions on one worker, and the RMSE pass sends the new row
factor once more. Across machines, adding workers pays while ``t_1(1) / w`` falls faster than
``beta * words(w)`` grows, up to about ``w* = sqrt(t_1(1) / (beta * (2 m + n) k))`` workers
(reported as ``model_best_workers``).

Clusters, the Spark session and the input frames are built in the setup, untimed; the timed run
is the fit plus the held-out RMSE. Each contender also reports its own fit time and seconds per
sweep. Problems: MovieLens 100k (80/20 split, ``default_rng(0).random(n) < 0.2`` marks the test
ratings; rank 10, reg 0.1, 20 sweeps) and the spec's synthetic 200,000 x 50,000 rank-10 matrix
with 10 million observed entries (noise 0.1, 2 % held out; rank 10, reg 0.01, 10 sweeps).
"""

import tempfile
import time
import warnings

import numpy as np
from _harness import Case, Contender
from bench_completion import _entries, _planted_setup, _rmse, load_movielens_100k

from numsolve.completion import MatrixCompletion, altmin

_SPARK = {}


def _quiet():
    warnings.simplefilter("ignore")


def _local_cluster(n_workers):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=50)
    return Client(cluster)


def _with_frames(setup, workers):
    """Add the dask triples (persisted on each cluster) and the Spark frame to a problem."""
    def build():
        import dask.dataframe as dd
        import pandas as pd

        problem = setup()
        rows, cols, values = _entries(problem["train"])
        frame = pd.DataFrame({"row": rows.astype(np.int64), "col": cols.astype(np.int64),
                              "value": values})
        problem["frame"] = frame
        problem["clients"] = {}
        for n_workers in workers:
            client = _local_cluster(n_workers)
            triples = dd.from_pandas(frame, npartitions=4 * n_workers)
            problem["clients"][n_workers] = (client, client.persist(triples))
        return problem
    return build


def _calibrate(problem, rank, reg):
    """Measure the cost model's constants: ``t_1``, ``beta`` and ``tau`` (module docstring).

    ``t_1`` is measured on the workers of each cluster, all of them running the single-machine
    sweep on one thread at once: workers of one machine share its memory bandwidth.
    """
    import distributed

    def one_thread_sweep(train):
        from threadpoolctl import threadpool_limits

        warnings.simplefilter("ignore")
        with threadpool_limits(1, user_api="openmp"):
            result = altmin(train, rank, reg=reg, max_iter=3, tol=0.0, random_state=0)
        return float(np.median(np.diff(result.history["elapsed"])))

    sweep_one_thread = {}
    for n_workers, (client, _) in problem["clients"].items():
        train = client.scatter(problem["train"], broadcast=True)
        timings = client.gather([client.submit(one_thread_sweep, train, workers=[worker],
                                               pure=False)
                                 for worker in client.scheduler_info()["workers"]])
        sweep_one_thread[n_workers] = float(np.median(timings))
    client, _ = problem["clients"][max(problem["clients"])]
    first, second = list(client.scheduler_info()["workers"])[:2]
    m, n = problem["train"].shape
    words = (m + n) * rank
    transfers, latencies = [], []
    for _ in range(3):
        start = time.perf_counter()
        client.submit(len, [0], pure=False, workers=[first]).result()
        latencies.append(time.perf_counter() - start)
        block = client.submit(np.ones, words, pure=False, workers=[first])
        distributed.wait(block)
        start = time.perf_counter()
        client.submit(len, block, pure=False, workers=[second]).result()
        transfers.append(time.perf_counter() - start)
    latency = float(np.median(latencies))
    chain = [client.submit(len, [0], pure=False)]
    start = time.perf_counter()
    for _ in range(100):
        chain.append(client.submit(lambda previous: previous, chain[-1], pure=False))
    chain[-1].result()
    per_task = (time.perf_counter() - start) / 100
    return {"sweep_one_thread": sweep_one_thread, "per_task": per_task, "shape": (m, n),
            "seconds_per_word": max(float(np.median(transfers)) - latency, 0.0) / words}


def _model_sweep(calibration, n_workers, n_blocks, rank):
    """The cost model's seconds per sweep on ``n_workers`` workers (module docstring)."""
    m, n = calibration["shape"]
    w = n_workers
    words = (w - 1) * ((2 * m + n) + (m + n) / w) * rank
    return (calibration["sweep_one_thread"][w] / w + calibration["seconds_per_word"] * words
            + calibration["per_task"] * (3 * n_blocks + 8))


def _best_workers(calibration, rank):
    m, n = calibration["shape"]
    moved = calibration["seconds_per_word"] * (2 * m + n) * rank
    alone = calibration["sweep_one_thread"][min(calibration["sweep_one_thread"])]
    return float(np.sqrt(alone / moved)) if moved > 0 else np.inf


def _score(problem, U, V):
    rows, cols, values = problem["test"]
    return _rmse(np.einsum("ij,ij->i", U[rows], V[cols]), values)


def _numsolve(rank, reg, sweeps, n_workers=None, model=False):
    def run(problem):
        _quiet()
        start = time.perf_counter()
        if n_workers is None:
            result = altmin(problem["train"], rank, reg=reg, max_iter=sweeps, tol=0.0,
                            random_state=0)
        else:
            client, triples = problem["clients"][n_workers]
            result = altmin(triples, rank, reg=reg, max_iter=sweeps, tol=0.0, random_state=0,
                            client=client)
        fit = time.perf_counter() - start
        elapsed = result.history["elapsed"]
        per_sweep = float(np.median(np.diff(np.concatenate([[0.0], elapsed]))))
        figures = {"test_rmse": _score(problem, result.U, result.V), "fit_s": fit,
                   "s_per_sweep": per_sweep, "sweeps": result.n_iter}
        if model and n_workers is not None and result.n_blocks > 1:
            if "calibration" not in problem:
                problem["calibration"] = _calibrate(problem, rank, reg)
            calibration = problem["calibration"]
            figures["blocks"] = result.n_blocks
            figures["model_s_per_sweep"] = _model_sweep(calibration, n_workers,
                                                        result.n_blocks, rank)
            figures["model_best_workers"] = _best_workers(calibration, rank)
        return figures
    return run


def _numsolve_biases(n_workers=None):
    """MatrixCompletion with its defaults (relative ridge, joint biases, clipping), 15 sweeps."""
    def run(problem):
        _quiet()
        params = dict(rank=10, max_iter=15, tol=0.0, random_state=0)
        start = time.perf_counter()
        if n_workers is None:
            model = MatrixCompletion(**params).fit(problem["train"])
        else:
            client, triples = problem["clients"][n_workers]
            model = MatrixCompletion(client=client, **params).fit(triples)
        fit = time.perf_counter() - start
        rows, cols, values = problem["test"]
        return {"test_rmse": _rmse(model.predict_entries(rows, cols), values), "fit_s": fit,
                "s_per_sweep": fit / model.n_iter_, "sweeps": model.n_iter_}
    return run


def _spark_session():
    if "session" not in _SPARK:
        from pyspark.sql import SparkSession

        _SPARK["session"] = (SparkSession.builder.master("local[2]")
                             .appName("numsolve-bench").config("spark.ui.enabled", "false")
                             .config("spark.ui.showConsoleProgress", "false")
                             .config("spark.driver.memory", "8g")
                             .config("spark.driver.extraJavaOptions", "-Xss64m")
                             .getOrCreate())
        context = _SPARK["session"].sparkContext
        context.setLogLevel("ERROR")
        # ALS's lineage grows with every sweep; checkpoints keep it short (Spark's advice).
        context.setCheckpointDir(tempfile.mkdtemp(prefix="numsolve-spark-"))
    return _SPARK["session"]


def _spark_als(rank, reg, sweeps):
    def run(problem):
        from pyspark.ml.recommendation import ALS

        spark = _spark_session()
        if "spark_train" not in problem:
            problem["spark_train"] = spark.createDataFrame(problem["frame"]).cache()
            problem["spark_train"].count()
            rows, cols, values = problem["test"]
            import pandas as pd

            test = pd.DataFrame({"row": rows.astype(np.int64), "col": cols.astype(np.int64),
                                 "value": values})
            problem["spark_test"] = spark.createDataFrame(test).cache()
            problem["spark_test"].count()
        als = ALS(rank=rank, regParam=reg, maxIter=sweeps, userCol="row", itemCol="col",
                  ratingCol="value", coldStartStrategy="drop", seed=0)
        start = time.perf_counter()
        model = als.fit(problem["spark_train"])
        fit = time.perf_counter() - start
        predictions = model.transform(problem["spark_test"]).toPandas()
        rmse = _rmse(predictions["prediction"].to_numpy(), predictions["value"].to_numpy())
        return {"test_rmse": rmse, "fit_s": fit, "s_per_sweep": fit / sweeps,
                "sweeps": sweeps}
    return run


def _movielens_setup():
    import scipy.sparse as sp

    users, items, ratings = load_movielens_100k()
    test = np.random.default_rng(0).random(ratings.shape[0]) < 0.2
    shape = (users.max() + 1, items.max() + 1)
    train = sp.csr_matrix((ratings[~test], (users[~test], items[~test])), shape=shape)
    return {"train": train, "test": (users[test], items[test], ratings[test])}


def _contenders(rank, reg, sweeps, workers, model=False):
    out = [Contender("numsolve altmin, 1 process", _numsolve(rank, reg, sweeps))]
    for n_workers in workers:
        out.append(Contender(f"numsolve altmin, Dask {n_workers} worker(s)",
                             _numsolve(rank, reg, sweeps, n_workers, model),
                             requires="distributed"))
    out.append(Contender("Spark MLlib ALS local[2]", _spark_als(rank, reg, sweeps),
                         requires="pyspark"))
    return out


def cases(quick):
    if quick:
        return [Case(
            name="synthetic 4,000 x 2,000, 200,000 entries, rank 5 (quick)",
            description="planted rank 5 (seed 0), noise 0.1, 2 % held out; rank 5, reg 0.01, "
                        "5 sweeps",
            setup=_with_frames(_planted_setup(4000, 2000, 5, 0.025, "uniform", 0.1, 0), [2]),
            contenders=_contenders(5, 0.01, 5, [2], model=True)[:2],
            repeats=1,
        )]
    return [
        Case(
            name="MovieLens 100k, 80/20 split",
            description=("943 x 1682, 100,000 ratings; test = default_rng(0).random(n) < 0.2; "
                         "rank 10, reg 0.1 per observation (ALS-WR, Spark regParam 0.1), "
                         "20 sweeps, no biases, every contender"),
            setup=_with_frames(_movielens_setup, [2]),
            contenders=_contenders(10, 0.1, 20, [2]) + [
                Contender("numsolve biases, 1 process", _numsolve_biases()),
                Contender("numsolve biases, Dask 2 workers", _numsolve_biases(2),
                          requires="distributed"),
            ],
            repeats=3,
            notes=["numsolve biases: MatrixCompletion defaults (mean + row and column biases "
                   "fitted jointly with rank-10 factors, ridge 12 growing as the 0.375th "
                   "power of a row's relative count, predictions clipped to the rating "
                   "range), 15 sweeps"],
        ),
        Case(
            name="synthetic 200,000 x 50,000, 10 million entries, rank 10",
            description=("planted rank 10 (seed 0), noise 0.1, uniform sampling, 2 % held out; "
                         "rank 10, reg 0.01 per observation (Spark regParam 0.01), 10 sweeps"),
            setup=_with_frames(_planted_setup(200_000, 50_000, 10, 1e7 / (200_000 * 50_000),
                                              "uniform", 0.1, 0), [2, 1]),
            contenders=_contenders(10, 0.01, 10, [2, 1], model=True),
            repeats=1,
        ),
    ]
