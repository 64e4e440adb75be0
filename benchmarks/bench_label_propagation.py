"""Label propagation and spreading: numsolve's solvers against SciPy, pyamg and scikit-learn.

Problems (spec bcd.md, sections 1.8 and 3.3), all seeds 0:

* lattice R x R: 4-neighbour grid, weight 1e5, 4% of the nodes labelled (at least 100) with
  values 10 * randn; the harmonic system (D - W)[U, U] x = W[U, L] y_L;
* two moons n: make_moons(noise=0.2), symmetrised 5-NN graph with unit weights, 5% labelled
  (at least 100), one right-hand side per class (2 columns);
* digits: the estimators with their defaults (rbf with gamma 20, or knn), 5% and 10% labelled,
  against scikit-learn's LabelPropagation and LabelSpreading; and numsolve's LabelSpreading
  against scikit-learn's, with its defaults and run to convergence;
* label spreading, two moons n: make_moons(noise=0.2), 5% labelled, alpha 0.2, knn (7
  neighbours, scikit-learn's directed graph) and rbf (gamma 20, n = 2,000 only: scikit-learn
  forms the dense kernel); every estimator's labels are compared with those of the exact
  fixed point (sparse LU), "equal accuracy" being scikit-learn iterated to tol 1e-10.

The knn estimators also run with ``n_jobs=-1`` (numsolve's compiled search on every core:
scikit-learn's brute search takes every OpenMP thread whatever its ``n_jobs``, its kd-tree
one thread unless told), so run with ``OMP_NUM_THREADS`` unset or at the core count.

Every system solver gets the same (Q, c) and stops at the same relative residual
||c - Qx|| / ||c|| <= 1e-8 (per column), measured identically afterwards. Times include each
solver's setup (partition and factorisation, AMG hierarchy, LU). scikit-learn's estimators
solve the classification problem end to end with their own stopping rule (default tol) on
their own kNN graph; they are compared with numsolve's estimator on accuracy and agreement.
"""

import tracemalloc

import numpy as np
from _harness import Case, Contender
from sklearn.datasets import make_moons
from scipy.sparse.linalg import LinearOperator, cg, spsolve

from numsolve.linear_model._graph_blocks import lattice_forests
from numsolve.linear_model._quadratic_bcd import quadratic_bcd
from numsolve.semi_supervised import (
    LabelPropagation,
    LabelSpreading,
    harmonic_system,
    make_lattice_problem,
    make_moons_problem,
)
from numsolve.semi_supervised._harmonic import solve_system

TOL = 1e-8


def _residual(problem, x):
    Q, c = problem["Q"], problem["c"]
    x = x.reshape(c.shape)
    return float((np.linalg.norm(c - Q @ x, axis=0) / np.linalg.norm(c, axis=0)).max())


def _graph_bytes(Q):
    return Q.data.nbytes + Q.indices.nbytes + Q.indptr.nbytes


def _lattice_setup(rows):
    def setup():
        W, labelled, values = make_lattice_problem(rows, rows, random_state=0)
        Q, c, unlabelled = harmonic_system(W, labelled, values)
        combs = lattice_forests((rows, rows))[unlabelled]
        return _with_memory({"Q": Q, "c": c[:, 0], "combs": combs}, combs)
    return setup


def _moons_setup(n):
    def setup():
        X, y, W = make_moons_problem(n, random_state=0)
        labelled = np.flatnonzero(y >= 0)
        Q, c, _ = harmonic_system(W, labelled, np.eye(2)[y[labelled]])
        return _with_memory({"Q": Q, "c": c}, "forest")
    return setup


def _with_memory(problem, blocks):
    """Peak memory of numsolve's solve (tracemalloc, untimed) in copies of the graph."""
    tracemalloc.start()
    quadratic_bcd(problem["Q"], problem["c"], blocks=blocks, acceleration="cg", tol=TOL)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    problem["memory"] = peak / _graph_bytes(problem["Q"])
    return problem


def _numsolve(blocks_key):
    def run(problem):
        blocks = problem[blocks_key] if blocks_key in problem else blocks_key
        result = quadratic_bcd(problem["Q"], problem["c"], blocks=blocks, acceleration="cg",
                               tol=TOL, max_iter=10_000)
        return {"residual": _residual(problem, result.x), "iterations": result.n_iter,
                "peak_memory_graph_copies": round(problem["memory"], 2)}
    return run


def _numsolve_default(problem):
    result = solve_system(problem["Q"], _columns(problem), tol=TOL, max_iter=100_000)
    return {"residual": _residual(problem, result.x), "iterations": result.n_iter,
            "method": result.method}


def _numsolve_plain(problem):
    result = quadratic_bcd(problem["Q"], problem["c"], blocks=problem["combs"], tol=TOL,
                           max_iter=100_000)
    return {"residual": _residual(problem, result.x), "iterations": result.n_iter}


def _columns(problem):
    c = problem["c"]
    return c.reshape(len(c), -1)


def _jacobi_pcg(problem):
    Q = problem["Q"]
    inverse = 1.0 / Q.diagonal()
    M = LinearOperator(Q.shape, matvec=lambda v: inverse * v.ravel(), dtype=Q.dtype)
    columns, iterations = [], 0
    for b in _columns(problem).T:
        count = [0]
        x, _ = cg(Q, b, rtol=TOL, atol=0.0, M=M, maxiter=100_000,
                  callback=lambda _: count.__setitem__(0, count[0] + 1))
        columns.append(x)
        iterations = max(iterations, count[0])
    x = np.column_stack(columns)
    return {"residual": _residual(problem, x), "iterations": iterations}


def _spsolve(problem):
    x = spsolve(problem["Q"].tocsc(), _columns(problem))
    return {"residual": _residual(problem, np.asarray(x))}


def _pyamg(problem):
    import pyamg

    Q = problem["Q"]
    hierarchy = pyamg.smoothed_aggregation_solver(Q, symmetry="symmetric")
    columns, iterations = [], 0
    for b in _columns(problem).T:
        history = []
        x = hierarchy.solve(b, tol=TOL, accel="cg", maxiter=10_000, residuals=history)
        columns.append(x)
        iterations = max(iterations, len(history) - 1)
    x = np.column_stack(columns)
    return {"residual": _residual(problem, x), "iterations": iterations}


def _system_contenders(lattice, direct=True):
    contenders = [Contender("numsolve default (method='auto')", _numsolve_default)]
    if lattice:
        contenders.append(Contender("numsolve BCD comb forests + CG", _numsolve("combs")))
    contenders.append(Contender("numsolve BCD forest partition + CG", _numsolve("forest")))
    contenders += [
        Contender("scipy Jacobi-PCG", _jacobi_pcg),
        Contender("pyamg smoothed aggregation + CG", _pyamg, requires="pyamg"),
    ]
    if direct:
        contenders.append(Contender("scipy spsolve (SuperLU)", _spsolve))
    return contenders


def _estimator_setup(n):
    def setup():
        X, y_true = make_moons(n_samples=n, noise=0.2, random_state=0)
        y = make_moons_problem(n, random_state=0)[1]
        reference = LabelPropagation(kernel="knn", n_neighbors=6, tol=TOL).fit(X, y)
        return {"X": X, "y": y, "truth": y_true, "reference": reference.transduction_}
    return setup


def _estimator(make):
    def run(problem):
        model = make().fit(problem["X"], problem["y"])
        unlabelled = problem["y"] == -1
        return {
            "accuracy_unlabelled": float(np.mean(model.transduction_[unlabelled]
                                                 == problem["truth"][unlabelled])),
            "agreement_with_numsolve": float(np.mean(model.transduction_
                                                     == problem["reference"])),
            "iterations": int(model.n_iter_),
        }
    return run


def _estimator_contenders():
    from sklearn.semi_supervised import LabelPropagation as SkLabelPropagation
    from sklearn.semi_supervised import LabelSpreading

    return [
        Contender("numsolve LabelPropagation knn", _estimator(
            lambda: LabelPropagation(kernel="knn", n_neighbors=6, tol=TOL))),
        Contender("numsolve LabelPropagation knn (n_jobs=-1)", _estimator(
            lambda: LabelPropagation(kernel="knn", n_neighbors=6, tol=TOL, n_jobs=-1))),
        Contender("sklearn LabelPropagation knn", _estimator(
            lambda: SkLabelPropagation(kernel="knn", n_neighbors=6, max_iter=10_000))),
        Contender("sklearn LabelSpreading knn", _estimator(
            lambda: LabelSpreading(kernel="knn", n_neighbors=6, max_iter=10_000))),
    ]


DIGITS_SPLITS = 5


def _digits_setup(fraction):
    def setup():
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        splits = [np.where(np.random.default_rng(seed).random(y.size) < fraction, y, -1)
                  for seed in range(DIGITS_SPLITS)]
        return {"X": X / 16.0, "truth": y, "splits": splits}
    return setup


def _digits(make, agreement="agreement_with_sklearn_lp"):
    """Fit every split; accuracy on the unlabelled points (mean and worst split) and agreement
    with the labels of the case's first contender (scikit-learn's estimator of the same
    kernel), reported under ``agreement``."""
    def run(problem):
        accuracies, labels = [], []
        for y in problem["splits"]:
            model = make().fit(problem["X"], y)
            unlabelled = y == -1
            accuracies.append(np.mean(model.transduction_[unlabelled]
                                      == problem["truth"][unlabelled]))
            labels.append(model.transduction_)
        figures = {"accuracy_mean": float(np.mean(accuracies)),
                   "accuracy_min": float(np.min(accuracies))}
        if "sklearn_labels" in problem:
            figures[agreement] = float(np.mean(
                np.concatenate(labels) == problem["sklearn_labels"]))
        else:
            problem["sklearn_labels"] = np.concatenate(labels)
        return figures
    return run


def _digits_contenders(kernel):
    from sklearn.semi_supervised import LabelPropagation as SkLabelPropagation
    from sklearn.semi_supervised import LabelSpreading

    # scikit-learn's LabelPropagation runs first: its labels are the agreement reference
    return [
        Contender(f"sklearn LabelPropagation {kernel}",
                  _digits(lambda: SkLabelPropagation(kernel=kernel))),
        Contender(f"numsolve LabelPropagation {kernel}",
                  _digits(lambda: LabelPropagation(kernel=kernel))),
        *_all_cores(kernel, f"numsolve LabelPropagation {kernel}",
                    _digits(lambda: LabelPropagation(kernel=kernel, n_jobs=-1))),
        Contender(f"sklearn LabelSpreading {kernel}",
                  _digits(lambda: LabelSpreading(kernel=kernel))),
        *_nearest_labelled(kernel),
    ]


class _NearestLabelled:
    """Each point takes the label of its nearest labelled point (Euclidean 1-NN)."""

    def fit(self, X, y):
        from sklearn.neighbors import KNeighborsClassifier

        labelled = y != -1
        self.transduction_ = y.copy()
        self.transduction_[~labelled] = KNeighborsClassifier(n_neighbors=1).fit(
            X[labelled], y[labelled]).predict(X[~labelled])
        return self


def _nearest_labelled(kernel):
    """With the rbf kernel at gamma 20 the weights between most digits underflow and
    scikit-learn's iteration stops after two steps at (and after 100,000 steps stays at)
    the labels of the nearest labelled point: this row shows how close it is to them."""
    if kernel != "rbf":
        return []
    return [Contender("nearest labelled point (1-NN, no propagation)",
                      _digits(_NearestLabelled))]


def _all_cores(kernel, name, run):
    """The knn kernel's contender on every core (n_jobs=-1): scikit-learn's brute search
    uses every OpenMP thread whatever its n_jobs, numsolve's search n_jobs threads."""
    return [Contender(f"{name} (n_jobs=-1)", run)] if kernel == "knn" else []


def _digits_spreading_contenders(kernel):
    from sklearn.semi_supervised import LabelSpreading as SkLabelSpreading

    agreement = "agreement_with_sklearn_converged"
    # scikit-learn run to its fixed point first: its labels are the agreement reference
    return [
        Contender(f"sklearn LabelSpreading {kernel} (converged, tol 1e-10)", _digits(
            lambda: SkLabelSpreading(kernel=kernel, tol=1e-10, max_iter=100_000), agreement)),
        Contender(f"numsolve LabelSpreading {kernel}",
                  _digits(lambda: LabelSpreading(kernel=kernel), agreement)),
        *_all_cores(kernel, f"numsolve LabelSpreading {kernel}",
                    _digits(lambda: LabelSpreading(kernel=kernel, n_jobs=-1), agreement)),
        Contender(f"sklearn LabelSpreading {kernel} (defaults)",
                  _digits(lambda: SkLabelSpreading(kernel=kernel), agreement)),
    ]


def _digits_cases():
    out = []
    for fraction in (0.05, 0.1):
        for kernel in ("rbf", "knn"):
            spreading = (f"digits LabelSpreading {kernel}, {fraction:.0%} labelled",
                         f"scikit-learn's digits scaled to [0, 1], the {DIGITS_SPLITS} splits "
                         f"of the LabelPropagation cases ({fraction:.0%} labelled), alpha "
                         f"0.2, kernel '{kernel}'; numsolve's default (labels certified) "
                         "against scikit-learn's LabelSpreading with its defaults (tol 1e-3, "
                         "max_iter 30) and run to its fixed point; accuracy on the unlabelled "
                         "points, agreement with the converged scikit-learn labels over all "
                         "points",
                         _digits_spreading_contenders(kernel),
                         f"numsolve LabelSpreading {kernel}")
            propagation = (f"digits {kernel}, {fraction:.0%} labelled",
                           f"scikit-learn's digits (1,797 points, 10 classes) scaled to "
                           f"[0, 1]; {DIGITS_SPLITS} random splits (numpy default_rng(seed)"
                           f".random(n) < {fraction}, seeds 0-{DIGITS_SPLITS - 1}), all "
                           f"fitted in one run; every estimator with its defaults "
                           f"(kernel='{kernel}': gamma 20 or 7 neighbours, scikit-learn's "
                           "tol 1e-3, numsolve's exact solve); accuracy on the unlabelled "
                           "points, agreement over all points",
                           _digits_contenders(kernel),
                           f"numsolve LabelPropagation {kernel}")
            for name, description, contenders, reference in (spreading, propagation):
                out.append(Case(name=name, description=description,
                                setup=_digits_setup(fraction), contenders=contenders,
                                reference=reference, repeats=3))
    return out


def cases(quick):
    lattice_sizes = [50, 100] if quick else [50, 200, 500, 1000]
    moons_sizes = [2000] if quick else [2000, 100_000]
    out = []
    for rows in lattice_sizes:
        n = rows * rows
        contenders = _system_contenders(lattice=True, direct=rows <= 500)
        if rows <= 200:
            contenders.append(Contender("numsolve BCD comb forests (no CG)", _numsolve_plain))
        out.append(Case(
            name=f"lattice {rows}x{rows} (n={n:,})",
            description=(f"{rows}x{rows} grid, weight 1e5, 4% labelled (min 100), values "
                         f"10*randn, seed 0; relative residual <= {TOL:g}"),
            setup=_lattice_setup(rows),
            contenders=contenders,
            repeats=1 if rows >= 1000 else 3,
            notes=["spsolve skipped above 500x500 (34 s and GBs of fill-in on the spec's "
                   "machine)"] if rows > 500 else [],
        ))
    for n in moons_sizes:
        out.append(Case(
            name=f"two moons system n={n:,}",
            description=(f"make_moons(n={n}, noise=0.2, seed 0), symmetrised 5-NN unit "
                         f"weights, 5% labelled (min 100), 2 classes solved together; "
                         f"relative residual <= {TOL:g}"),
            setup=_moons_setup(n),
            contenders=_system_contenders(lattice=False),
            repeats=3,
        ))
    estimator_sizes = [2000] if quick else [2000, 20_000]
    for n in estimator_sizes:
        out.append(Case(
            name=f"two moons estimators n={n:,}",
            description=(f"make_moons(n={n}, noise=0.2, seed 0), 5% labelled (min 100); "
                         "kNN graph with 6 neighbours (self included, scikit-learn's "
                         "convention); numsolve solves to relative residual 1e-8, "
                         "scikit-learn iterates to its default tol=1e-3"),
            setup=_estimator_setup(n),
            contenders=_estimator_contenders(),
            repeats=3,
        ))
    spreading_sizes = [2000] if quick else [2000, 20_000]
    for n in spreading_sizes:
        for kernel in ("knn", "rbf") if n <= 2000 else ("knn",):
            out.append(Case(
                name=f"two moons LabelSpreading {kernel} n={n:,}",
                description=(f"make_moons(n={n}, noise=0.2, seed 0), 5% labelled (min 100), "
                             f"alpha 0.2, kernel '{kernel}' (7 neighbours / gamma 20); "
                             "agreement: share of transduction_ equal to the exact fixed "
                             "point's (numsolve, sparse LU)"),
                setup=_spreading_setup(n, kernel),
                contenders=_spreading_contenders(kernel),
                reference="numsolve LabelSpreading (default)",
                repeats=3,
            ))
    return out + _digits_cases()


def _spreading_setup(n, kernel):
    def setup():
        X, y_true = make_moons(n_samples=n, noise=0.2, random_state=0)
        y = make_moons_problem(n, random_state=0)[1]
        exact = LabelSpreading(kernel=kernel, method="direct").fit(X, y)
        return {"X": X, "y": y, "truth": y_true, "exact": exact.transduction_}
    return setup


def _spreading(make):
    def run(problem):
        model = make().fit(problem["X"], problem["y"])
        unlabelled = problem["y"] == -1
        return {
            "agreement_with_fixed_point": float(np.mean(model.transduction_
                                                        == problem["exact"])),
            "accuracy_unlabelled": float(np.mean(model.transduction_[unlabelled]
                                                 == problem["truth"][unlabelled])),
            "iterations": int(model.n_iter_),
        }
    return run


def _spreading_contenders(kernel):
    from sklearn.semi_supervised import LabelSpreading as SkLabelSpreading

    return [
        Contender("numsolve LabelSpreading (default)",
                  _spreading(lambda: LabelSpreading(kernel=kernel))),
        *_all_cores(kernel, "numsolve LabelSpreading",
                    _spreading(lambda: LabelSpreading(kernel=kernel, n_jobs=-1))),
        Contender("sklearn LabelSpreading (converged, tol 1e-10)", _spreading(
            lambda: SkLabelSpreading(kernel=kernel, tol=1e-10, max_iter=100_000))),
        Contender("sklearn LabelSpreading (defaults: tol 1e-3, max_iter 30)",
                  _spreading(lambda: SkLabelSpreading(kernel=kernel))),
    ]
