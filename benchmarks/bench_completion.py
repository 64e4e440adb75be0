"""Matrix completion: numsolve's robust alternating minimisation against its peers.

Cases (sizes, seeds and stopping rules are the same for every contender of a case):

* exact recovery: a noiseless planted rank-10 matrix, uniform sampling; time until the
  held-out relative RMSE is below 1e-6 (numsolve's solvers; SGD peers report what they reach);
* noisy completion: planted rank 10, power-law sampling, noise 0.1; held-out RMSE and time;
* time per sweep as k grows (k = 8, 32, 64) on a power-law sampling pattern, against
  implicit's ALS (conjugate-gradient and Cholesky), which solves the same per-row regressions
  for its implicit-feedback objective (timing only);
* a small dense table, against scikit-learn's IterativeImputer;
* MovieLens 100k (read from the ``recbole`` 1.2.1 wheel into a cache folder, never committed;
  ``NUMSOLVE_DATA`` names a folder that already holds the wheel) against Spark MLlib's ALS and
  scikit-surprise's SVD, each with its defaults.

fancyimpute (SoftImpute) is not benchmarked: version 0.7.0 calls
``check_array(force_all_finite=...)``, removed in scikit-learn 1.8. Spark MLlib (pyspark, with a
Java runtime) runs on MovieLens; on the 10-million-entry scale case the spec's figures are quoted.
"""

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from _harness import Case, Contender
from numsolve.completion import MatrixCompletion, altmin, make_low_rank, solve_rows
from numsolve.completion._entries import max_threads
from numsolve.completion._observed import sparse_to_index_arrays
from numsolve.completion._rows import row_ridge

FANCYIMPUTE_NOTE = ("fancyimpute's SoftImpute is not run: fancyimpute 0.7.0 fails with "
                    "scikit-learn >= 1.8 (check_array(force_all_finite=...))")

CACHE = Path(os.environ.get("NUMSOLVE_DATA", Path.home() / ".cache" / "numsolve"))
RECBOLE_WHEEL = "recbole-1.2.1-py3-none-any.whl"
ML100K_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"


def _threads():
    """Threads every multi-threaded contender gets: the OpenMP pool (OMP_NUM_THREADS)."""
    return max_threads()


def _thread_note():
    return (f"threads: numsolve (OpenMP) and implicit {_threads()}, BLAS "
            f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; scikit-surprise and "
            "IterativeImputer are single-threaded")


def _entries(X):
    coo = X.tocoo()
    return coo.row, coo.col, coo.data


def _rmse(pred, values):
    return float(np.sqrt(np.mean((np.asarray(pred) - values) ** 2)))


# --- numsolve contenders ---------------------------------------------------------------------

def _numsolve_altmin(solver, rank, reg, tol, max_iter=200, **extra):
    def run(problem):
        result = altmin(problem["train"], rank, reg=reg, solver=solver, tol=tol,
                        max_iter=max_iter, random_state=0, **extra)
        rows, cols, values = problem["test"]
        pred = np.einsum("ij,ij->i", result.U[rows], result.V[cols])
        rmse = _rmse(pred, values)
        elapsed = result.history["elapsed"]
        return {"heldout_rmse": rmse, "relative_rmse": rmse / problem["test_scale"],
                "sweeps": result.n_iter,
                "s_per_sweep": float(elapsed[-1] / max(len(elapsed), 1))}
    return run


def _numsolve_estimator(**params):
    def run(problem):
        model = MatrixCompletion(random_state=0, **params).fit(problem["train"])
        rows, cols, values = problem["test"]
        return {"test_rmse": _rmse(model.predict_entries(rows, cols), values),
                "sweeps": model.n_iter_, "reg": model.reg_}
    return run


def _numsolve_als_wr(problem):
    """Spark's objective (ALS-WR, reg 0.1 per observation, no biases) and sweep count."""
    result = altmin(problem["train"], 10, reg=0.1, reg_scaling="count", max_iter=10, tol=0.0,
                    random_state=0)
    rows, cols, values = problem["test"]
    pred = np.einsum("ij,ij->i", result.U[rows], result.V[cols])
    return {"test_rmse": _rmse(pred, values), "sweeps": result.n_iter}


def _spark_defaults(problem):
    """Spark MLlib ALS with its defaults: rank 10, regParam 0.1, maxIter 10."""
    import pandas as pd
    from bench_scale_out import _spark_als

    if "frame" not in problem:
        rows, cols, values = _entries(problem["train"])
        problem["frame"] = pd.DataFrame({"row": rows.astype(np.int64),
                                         "col": cols.astype(np.int64), "value": values})
    return _spark_als(10, 0.1, 10)(problem)


# --- peers -----------------------------------------------------------------------------------

def _surprise_svd(n_factors, n_epochs, biased=True, **extra):
    def run(problem):
        from surprise import SVD, Dataset, Reader

        import pandas as pd

        rows, cols, values = _entries(problem["train"])
        frame = pd.DataFrame({"u": rows, "i": cols, "r": values})
        low, high = float(values.min()), float(values.max())
        data = Dataset.load_from_df(frame, Reader(rating_scale=(low, high)))
        model = SVD(n_factors=n_factors, n_epochs=n_epochs, biased=biased, random_state=0,
                    **extra)
        model.fit(data.build_full_trainset())
        t_rows, t_cols, t_values = problem["test"]
        pred = np.array([model.predict(u, i, clip=False).est
                         for u, i in zip(t_rows.tolist(), t_cols.tolist())])
        rmse = _rmse(pred, t_values)
        return {"test_rmse": rmse, "relative_rmse": rmse / problem["test_scale"],
                "epochs": n_epochs}
    return run


def _iterative_imputer(problem):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    filled = IterativeImputer(max_iter=10, random_state=0).fit_transform(problem["dense"])
    rows, cols, values = problem["test"]
    return {"heldout_rmse": _rmse(filled[rows, cols], values)}


def _numsolve_imputer(problem):
    filled = MatrixCompletion(rank=problem["rank"], reg="auto", random_state=0).fit_transform(
        problem["dense"])
    rows, cols, values = problem["test"]
    return {"heldout_rmse": _rmse(filled[rows, cols], values)}


# --- per-sweep timing ------------------------------------------------------------------------

def _numsolve_sweep(solver, k):
    def run(problem):
        X, Xc = problem["csr"], problem["csc"]
        rng = np.random.default_rng(0)
        U = np.ascontiguousarray(problem["U"][k])
        V = np.ascontiguousarray(problem["V"][k])
        lam_u = row_ridge(np.diff(X.indptr), 0.05, "count")
        lam_v = row_ridge(np.diff(Xc.indptr), 0.05, "count")
        V, steps_v = solve_rows(*sparse_to_index_arrays(Xc), U, V, lam_v, solver=solver,
                                random_state=rng)
        U, steps_u = solve_rows(*sparse_to_index_arrays(X), V, U, lam_u, solver=solver,
                                random_state=rng)
        return {"k": k, "cg_steps_per_row": (steps_u + steps_v) / sum(X.shape)}
    return run


def _implicit_sweep(use_cg, k):
    def run(problem):
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(factors=k, regularization=0.05, iterations=1,
                                        use_cg=use_cg, dtype=np.float64, random_state=0,
                                        num_threads=_threads())
        model.fit(problem["csr"], show_progress=False)
        return {"k": k}
    return run


def _sweep_setup(m, n, nnz, ks):
    def setup():
        problem = make_low_rank(m, n, 8, density=nnz / (m * n), sampling="power_law",
                                exponent=0.8, random_state=0)
        X = problem.observed
        rng = np.random.default_rng(1)
        return {
            "csr": X, "csc": X.tocsc(),
            "U": {k: rng.standard_normal((m, k)) / np.sqrt(k) for k in ks},
            "V": {k: rng.standard_normal((n, k)) / np.sqrt(k) for k in ks},
        }
    return setup


# --- problems --------------------------------------------------------------------------------

def _planted_setup(m, n, rank, density, sampling, noise, seed, exponent=1.0):
    def setup():
        problem = make_low_rank(m, n, rank, density=density, sampling=sampling, noise=noise,
                                exponent=exponent, test_fraction=0.05, random_state=seed)
        rows, cols, values = _entries(problem.heldout)
        clean = np.einsum("ij,ij->i", problem.U[rows], problem.V[cols])
        return {"train": problem.observed, "test": (rows, cols, clean if noise == 0 else values),
                "test_scale": float(np.sqrt(np.mean(clean ** 2)))}
    return setup


def _dense_setup(m, n, rank, density, seed):
    def setup():
        problem = make_low_rank(m, n, rank, density=density, noise=0.01, random_state=seed)
        dense = problem.observed_dense()
        rng = np.random.default_rng(seed)
        missing = np.argwhere(np.isnan(dense))
        pick = missing[rng.random(missing.shape[0]) < 0.2]
        truth = problem.matrix[pick[:, 0], pick[:, 1]]
        return {"dense": dense, "rank": rank, "test": (pick[:, 0], pick[:, 1], truth)}
    return setup


def load_movielens_100k():
    """MovieLens 100k ratings as ``(users, items, ratings)`` from the recbole 1.2.1 wheel.

    The wheel is fetched with ``pip download`` into the cache folder (``$NUMSOLVE_DATA`` or
    ``~/.cache/numsolve``) and the ratings member is read from it with :mod:`zipfile`; nothing
    is installed and the data are never written into the repository.
    """
    wheel = CACHE / RECBOLE_WHEEL
    if not wheel.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "recbole==1.2.1", "--no-deps",
                        "--quiet", "-d", str(CACHE)], check=True, timeout=300)
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(ML100K_MEMBER).decode()
    table = np.loadtxt(io.StringIO(text), skiprows=1, usecols=(0, 1, 2), dtype=np.float64)
    _, users = np.unique(table[:, 0], return_inverse=True)
    _, items = np.unique(table[:, 1], return_inverse=True)
    return users, items, table[:, 2]


def _movielens_setup(test_mask):
    def setup():
        users, items, ratings = load_movielens_100k()
        test = test_mask(ratings.shape[0])
        shape = (users.max() + 1, items.max() + 1)
        train = sp.csr_matrix((ratings[~test], (users[~test], items[~test])), shape=shape)
        return {"train": train, "test": (users[test], items[test], ratings[test]),
                "test_scale": 1.0}
    return setup


def _movielens_available():
    try:
        load_movielens_100k()
        return True
    except Exception as error:  # no network, no pip: say so and skip the case
        print(f"MovieLens 100k unavailable ({error}); skipping its cases")
        return False


def cases(quick):
    out = _cases(quick)
    for case in out:
        case.notes.append(_thread_note())
    return out


def _cases(quick):
    out = []
    m = 800 if quick else 5000
    out.append(Case(
        name=f"exact recovery, {m} x {m}, rank 10, 2 % uniform" if not quick
        else f"exact recovery, {m} x {m}, rank 10, 8 % uniform",
        description=("noiseless planted rank-10 matrix (seed 0), 5 % of the sampled entries "
                     "held out; numsolve: altmin from the trimmed spectral start, reg 0, tol "
                     "1e-7 on the relative change of the training RMSE (held-out relative RMSE "
                     "reaches 1e-6); surprise SVD: unbiased, 10 factors, 50 epochs of SGD"),
        setup=_planted_setup(m, m, 10, 0.08 if quick else 0.02, "uniform", 0.0, 0),
        contenders=[
            Contender("numsolve altmin cg", _numsolve_altmin("cg", 10, 0.0, 1e-7)),
            Contender("numsolve altmin sketched", _numsolve_altmin("sketched", 10, 0.0, 1e-7)),
            Contender("numsolve altmin exact", _numsolve_altmin("exact", 10, 0.0, 1e-7)),
            Contender("surprise SVD (SGD)", _surprise_svd(10, 50, biased=False, lr_all=0.01,
                                                          reg_all=0.0), requires="surprise"),
        ],
        repeats=1 if quick else 3,
        notes=[FANCYIMPUTE_NOTE],
    ))
    out.append(Case(
        name=f"noisy completion, {m} x {m}, rank 10, power-law sampling",
        description=("planted rank 10 (seed 1), noise 0.1, about 2 % (quick: 8 %) of the "
                     "entries sampled with Zipf(0.5) row and column popularity, 5 % held out; "
                     "numsolve: altmin rank 10, reg 0.005 per observation, tol 1e-3; surprise "
                     "SVD: unbiased, 10 factors, 50 epochs, lr 0.01, reg 0.02"),
        setup=_planted_setup(m, m, 10, 0.08 if quick else 0.02, "power_law", 0.1, 1, 0.5),
        contenders=[
            Contender("numsolve altmin cg", _numsolve_altmin("cg", 10, 0.005, 1e-3)),
            Contender("numsolve altmin sketched", _numsolve_altmin("sketched", 10, 0.005, 1e-3)),
            Contender("numsolve altmin exact", _numsolve_altmin("exact", 10, 0.005, 1e-3)),
            Contender("surprise SVD (SGD)", _surprise_svd(10, 50, biased=False, lr_all=0.01,
                                                          reg_all=0.02), requires="surprise"),
        ],
        repeats=1 if quick else 3,
    ))
    sweep_shape = (2000, 500, 200_000) if quick else (20_000, 5_000, 2_000_000)
    ks = (10, 40) if quick else (10, 40, 64)
    contenders = []
    for k in ks:
        contenders += [
            Contender(f"numsolve cg sweep k={k}", _numsolve_sweep("cg", k)),
            Contender(f"numsolve sketched sweep k={k}", _numsolve_sweep("sketched", k)),
            Contender(f"numsolve exact sweep k={k}", _numsolve_sweep("exact", k)),
            Contender(f"implicit ALS CG sweep k={k}", _implicit_sweep(True, k),
                      requires="implicit"),
            Contender(f"implicit ALS Cholesky sweep k={k}", _implicit_sweep(False, k),
                      requires="implicit"),
        ]
    out.append(Case(
        name="time per sweep as k grows, planted rank 8, power-law pattern "
             f"{sweep_shape[0]} x {sweep_shape[1]}, {sweep_shape[2]} entries",
        description=("one sweep (all columns, then all rows) from the same random factors; "
                     "numsolve cg: at most 3 preconditioned CG steps per row; sketched: "
                     "CountSketch of 4k rows + CG; exact: Cholesky per row; implicit 0.7.3: "
                     "one iteration of its ALS (implicit-feedback objective, 3 CG steps per "
                     "row or Cholesky), float64, same threads; ratio column compares with "
                     f"numsolve cg at k={ks[0]}"),
        setup=_sweep_setup(*sweep_shape, ks),
        contenders=contenders,
        repeats=1 if quick else 5,
    ))
    out.append(Case(
        name="small dense table, 300 x 40, rank 4, 40 % observed",
        description=("planted rank 4, noise 0.01 (seed 2); held out: 20 % of the missing "
                     "entries, scored against the noiseless matrix; numsolve MatrixCompletion "
                     "rank 4, reg='auto' as an imputer; IterativeImputer: BayesianRidge, "
                     "10 rounds"),
        setup=_dense_setup(300, 40, 4, 0.4, 2),
        contenders=[
            Contender("numsolve MatrixCompletion", _numsolve_imputer),
            Contender("sklearn IterativeImputer", _iterative_imputer),
        ],
        repeats=1 if quick else 3,
    ))
    if not quick:
        out.append(Case(
            name="scale: 200,000 x 50,000, 10 million entries, rank 10",
            description=("the spec's Spark MLlib comparison problem: planted rank 10 (seed 0), "
                         "noise 0.1, uniform sampling, 2 % of the entries held out; numsolve "
                         "altmin rank 10, reg 0.01 per observation (ALS-WR, Spark's regParam "
                         "0.01), 10 sweeps (tol 0) as Spark ran, spectral start; time includes "
                         "the start"),
            setup=_planted_setup(200_000, 50_000, 10, 1e7 / (200_000 * 50_000), "uniform",
                                 0.1, 0),
            contenders=[
                Contender("numsolve altmin cg", _numsolve_altmin("cg", 10, 0.01, 0.0,
                                                                 max_iter=10)),
                Contender("numsolve altmin exact", _numsolve_altmin("exact", 10, 0.01, 0.0,
                                                                    max_iter=10)),
            ],
            repeats=1,
            notes=["Spark MLlib ALS (spec, local[2], same problem): 10 sweeps in 54 s, test "
                   "RMSE 0.137; pyspark needs a Java runtime and is not run here"],
        ))
    if quick or not _movielens_available():
        return out
    splits = [
        ("MovieLens 100k, 90/10 split (numpy default_rng(7).random(n) < 0.1)",
         lambda n: np.random.default_rng(7).random(n) < 0.1),
        ("MovieLens 100k, 80/20 split (numpy default_rng(0).random(n) < 0.2)",
         lambda n: np.random.default_rng(0).random(n) < 0.2),
    ]
    for name, mask in splits:
        out.append(Case(
            name=name,
            description=("943 users x 1682 items; rank 10 for everyone. numsolve "
                         "MatrixCompletion() with its defaults (relative ridge 12 scaled by "
                         "each row's and column's relative count to the power 0.375, "
                         "reg_scaling=0.375; joint biases, tol 1e-4, predictions clipped to the "
                         "observed range, exact row solves: solver='auto' at rank 10) and with "
                         "reg='auto' (ridge chosen on three disjoint 10 % parts of the training "
                         "entries, errors pooled, seed 0); "
                         "numsolve altmin on Spark's objective (ALS-WR, reg 0.1 per "
                         "observation, no biases, 10 sweeps); Spark MLlib ALS with its defaults "
                         "(regParam 0.1, maxIter 10, local[2]; cold-start test rows dropped, as "
                         "Spark must); surprise SVD with its defaults (SGD, 100 factors, biases, "
                         "20 epochs)"),
            setup=_movielens_setup(mask),
            contenders=[
                Contender("numsolve MatrixCompletion() defaults", _numsolve_estimator()),
                Contender("numsolve MatrixCompletion(reg='auto')",
                          _numsolve_estimator(reg="auto")),
                Contender("numsolve MatrixCompletion(solver='cg')",
                          _numsolve_estimator(solver="cg")),
                Contender("numsolve MatrixCompletion(solver='sketched')",
                          _numsolve_estimator(solver="sketched")),
                Contender("numsolve altmin ALS-WR reg 0.1", _numsolve_als_wr),
                Contender("Spark MLlib ALS (defaults)", _spark_defaults, requires="pyspark"),
                Contender("surprise SVD (defaults)", _surprise_svd(100, 20),
                          requires="surprise"),
            ],
            repeats=1,
            notes=["one timed run after an untimed warm-up: Spark starts slowly"],
        ))
    return out
