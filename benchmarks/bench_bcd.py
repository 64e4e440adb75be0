"""numsolve's BCD (Lasso, L1 logistic, L1 multinomial, Lasso path) against scikit-learn,
skglm, celer and liblinear.

Every contender solves the same problem (same data, seeds, alpha, no intercept, float64) and
is asked for a duality gap of about ``1e-8`` times the objective at zero, each in its own
stopping rule (scikit-learn and celer: gap <= tol ||y||^2/n, i.e. ``tol = 5e-9`` on the
1/(2n)-scaled objective; skglm: KKT violation <= 1e-8; liblinear: its own criterion at
1e-8). The gap each one actually reached is then computed by one function for all
(``numsolve.linear_model._objective.optimality``, the Fenchel gap of section 3.2 of the spec)
and reported with the relative suboptimality against the best objective found. Every
contender is timed by its solve or fit alone (the ``fit_s`` it reports); the quality figures
are computed after it, outside the timing.

The shape grid (cases ``grid_*``, issue #22): Lasso and L1-logistic over n/p from 1/100 to
200, dense and sparse (densities 1e-4 to 1e-1), alpha from alpha_max/10 to alpha_max/1000,
against skglm, celer, scikit-learn and liblinear, one timed round per cell by default. Each
peer is compared at equal or smaller gap: its tolerance is tightened 10x at a time until its
final gap meets the target (skglm's KKT rule otherwise stops up to 1000x above it), and the
tightening is reported. Run it
alone with ``python benchmarks/run.py bcd --case grid_``; then
``python benchmarks/bench_bcd.py benchmarks/results/bcd_grid.json`` writes the grid's table
and heat map of numsolve's time over the fastest peer's (``bcd_grid_summary.md`` and
``bcd_grid_heatmap.png`` beside the JSON). The problems of the issue's own table (cases
``issue22_*``: dense 50,000 x 300 correlated, sparse 20,000 x 100,000 at density 2e-4) run
with ``--case issue22``.

Defaults on real data (cases ``real_defaults_*``): ``LogisticRegression()`` and ``Ridge()``
with no arguments on scikit-learn's bundled data sets (raw and standardised), against
scikit-learn's defaults (lbfgs, Ridge's auto solver) and liblinear for binary problems; each
reports the objective on scikit-learn's scale (mean loss plus ``||w||^2 / (2 C n)``, or
Ridge's sum) and the duality gap at its point after the intercept is refined (the default
``tol`` asks numsolve for a gap of ``1e-4`` times the objective at zero). Run them alone with
``python benchmarks/run.py bcd --case real_defaults``.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from _harness import Case, Contender

TARGET = 1e-8
# peers asked again with tolerances 10x, 100x, ... tighter until their gap meets the target
_TIGHTENINGS = 6


def _lasso_quality(problem, w):
    from numsolve.linear_model import L1, Quadratic
    from numsolve.linear_model._objective import optimality

    X, y, alpha = problem["X"], problem["y"], problem["alpha"]
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    w = np.asarray(w, dtype=float).reshape(-1, 1)
    Z = np.asarray(X @ w)
    G = Quadratic().raw_gradient(Z, y, a, np)
    primal, gap, _ = optimality(Quadratic(), L1(alpha), w, Z, y, a, np.asarray(X.T @ G), G, np)
    return {"objective": primal, "gap": gap, "nnz": int(np.count_nonzero(w)),
            "target_gap": _target_gap(Quadratic(), y, a)}


def _logistic_quality(problem, w):
    from numsolve.linear_model import L1, Logistic, Multinomial
    from numsolve.linear_model._objective import optimality

    X, y, alpha = problem["X"], problem["y"], problem["alpha"]
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    datafit = Multinomial() if problem.get("multinomial") else Logistic()
    W = np.asarray(w, dtype=float)
    W = W.reshape(-1, 1) if W.ndim == 1 else W
    Z = np.asarray(X @ W)
    G = datafit.raw_gradient(Z, y, a, np)
    primal, gap, _ = optimality(datafit, L1(alpha), W, Z, y, a, np.asarray(X.T @ G), G, np)
    return {"objective": primal, "gap": gap, "nnz": int(np.count_nonzero(W)),
            "target_gap": _target_gap(datafit, y, a, K=W.shape[1])}


def _target_gap(datafit, y, a, K=1):
    """The gap every contender is asked for: ``TARGET`` times the objective at zero."""
    from numsolve.linear_model._objective import stopping_scale

    return TARGET * stopping_scale(datafit, y, a, K, False, np)


# -- problems ---------------------------------------------------------------------------
def _correlated(n, p, divisor):
    def setup():
        from skglm.utils.data import make_correlated_data

        X, y, _ = make_correlated_data(n_samples=n, n_features=p, rho=0.5, snr=3,
                                       density=0.1, random_state=0)
        X = np.asfortranarray(X)
        alpha = np.abs(X.T @ y).max() / n / divisor
        return {"X": X, "y": y, "alpha": alpha}
    return setup


def _sparse_random(n, p, density, divisor):
    def setup():
        import scipy.sparse as sp

        rng = np.random.default_rng(0)
        X = sp.random(n, p, density=density, format="csc", random_state=0,
                      data_rvs=rng.standard_normal)
        w = np.zeros(p)
        w[rng.choice(p, 50, replace=False)] = 3 * rng.standard_normal(50)
        y = X @ w + 0.1 * rng.standard_normal(n)
        return {"X": X, "y": y, "alpha": np.abs(X.T @ y).max() / n / divisor}
    return setup


def _paper(name, n, p, divisor, sparse=True, n_classes=50):
    def setup():
        from numsolve.linear_model._datasets import make_paper_dataset

        X, y = make_paper_dataset(name, n, p, n_classes=n_classes, sparse=sparse,
                                  random_state=0)
        if name == "B":
            alpha = np.abs(X.T @ y).max() / (2 * n) / divisor
        elif name == "C":
            Y = np.eye(int(y.max()) + 1)[y.astype(int)]
            alpha = np.abs(X.T @ (Y - Y.mean(axis=0))).max() / n / divisor
        else:
            alpha = np.abs(X.T @ y).max() / n / divisor
        return {"X": X, "y": y, "alpha": alpha, "multinomial": name == "C"}
    return setup


# -- timing: the solve alone, not the quality figures -------------------------------------
def _timed(call, quiet=False):
    """``call()``'s result and its seconds; ``quiet`` silences the peers' warnings (at
    ``max_iter`` or on a loose tolerance)."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        out = call()
    return out, time.perf_counter() - start


def _fit_contender(label, run, requires=None):
    """A contender timed by its solve alone (the ``fit_s`` it reports): the quality figures
    computed after it (a pass or two over X) would pull every ratio towards 1."""
    return Contender(label, run, requires=requires, timed_figure="fit_s")


def _at_target(peer):
    """``peer`` run at the loosest of its tolerance, 10x, 100x, ... tighter whose final gap
    meets the target: peers whose own stopping rule is not the gap (skglm's KKT violation,
    liblinear's criterion) otherwise stop far above it, and a time at a larger gap is not
    comparable. The tightening stops early where the peer broke down (a gap above the
    objective at zero, or larger than the previous tolerance left: that one is kept) and is
    found once, on the untimed warm-up run;
    ``met_target`` is false where no tolerance reached the target."""
    def run(problem):
        found = problem.setdefault("tightening", {})
        if peer not in found:
            found[peer] = _tightening(peer, problem)
        figures = peer(problem, 10.0 ** -found[peer])
        return {**figures, "tol_tightened": 10 ** found[peer],
                "met_target": figures["gap"] <= figures["target_gap"]}
    return run


def _tightening(peer, problem):
    """How many tenfold tightenings of its tolerance ``peer`` needs to meet the target."""
    gaps = []
    for step in range(_TIGHTENINGS):
        figures = peer(problem, 10.0 ** -step)
        if gaps and figures["gap"] > gaps[-1]:
            return step - 1
        # at the target, or broken down (a gap above the objective at zero)
        if not figures["target_gap"] < figures["gap"] <= figures["target_gap"] / TARGET:
            return step
        gaps.append(figures["gap"])
    return _TIGHTENINGS - 1


# -- contenders: Lasso --------------------------------------------------------------------
def _ns_lasso(problem):
    from numsolve.linear_model import L1, Quadratic, bcd

    res, fit_s = _timed(lambda: bcd(problem["X"], problem["y"], Quadratic(),
                                    L1(problem["alpha"]), tol=TARGET))
    return {"fit_s": fit_s, **_lasso_quality(problem, res.x), "iterations": res.n_iter,
            "route": res.route,
            "epochs": res.extras["epochs"]}


def _sk_lasso(problem, tighter=1.0):
    from sklearn.linear_model import Lasso

    model, fit_s = _timed(lambda: Lasso(alpha=problem["alpha"], fit_intercept=False,
                                        tol=tighter * TARGET / 2, max_iter=100_000).fit(
        problem["X"], problem["y"]))
    return {"fit_s": fit_s, **_lasso_quality(problem, model.coef_),
            "iterations": model.n_iter_}


def _skglm_lasso(problem, tighter=1.0):
    from skglm import Lasso

    model, fit_s = _timed(lambda: Lasso(alpha=problem["alpha"], fit_intercept=False,
                                        tol=tighter * TARGET).fit(problem["X"], problem["y"]))
    return {"fit_s": fit_s, **_lasso_quality(problem, model.coef_)}


def _celer_lasso(problem, tighter=1.0):
    from celer import Lasso

    model, fit_s = _timed(lambda: Lasso(alpha=problem["alpha"], fit_intercept=False,
                                        tol=tighter * TARGET / 2).fit(problem["X"], problem["y"]),
                          quiet=True)
    return {"fit_s": fit_s, **_lasso_quality(problem, model.coef_)}


def _greedy_lasso(engine):
    def run(problem):
        from numsolve.linear_model import L1, Quadratic, bcd

        res, fit_s = _timed(lambda: bcd(problem["X"], problem["y"], Quadratic(),
                                        L1(problem["alpha"]), rule="gs-q", engine=engine,
                                        tol=TARGET, max_iter=1_000_000))
        return {"fit_s": fit_s, **_lasso_quality(problem, res.x), "updates": res.n_iter,
                "engine": res.engine}
    return run


def _lasso_contenders(at_target=False):
    """numsolve and the Lasso peers; ``at_target``: each peer's tolerance tightened until
    its gap meets the target (:func:`_at_target`)."""
    peer = _at_target if at_target else (lambda run: run)
    return [_fit_contender("numsolve bcd (auto)", _ns_lasso),
            _fit_contender("sklearn Lasso", peer(_sk_lasso)),
            _fit_contender("skglm Lasso", peer(_skglm_lasso), requires="skglm"),
            _fit_contender("celer Lasso", peer(_celer_lasso), requires="celer")]


# -- contenders: L1 logistic --------------------------------------------------------------
def _ns_logistic(problem):
    from numsolve.linear_model import L1, Logistic, Multinomial, bcd

    datafit = Multinomial() if problem.get("multinomial") else Logistic()
    res, fit_s = _timed(lambda: bcd(problem["X"], problem["y"], datafit,
                                    L1(problem["alpha"]), tol=TARGET))
    return {"fit_s": fit_s, **_logistic_quality(problem, res.x), "iterations": res.n_iter,
            "epochs": res.extras["epochs"]}


def _liblinear(problem, tighter=1.0):
    from sklearn.linear_model import LogisticRegression

    n = problem["X"].shape[0]
    model, fit_s = _timed(lambda: LogisticRegression(
        penalty="l1", C=1 / (n * problem["alpha"]), solver="liblinear", fit_intercept=False,
        tol=tighter * TARGET, max_iter=10_000).fit(problem["X"], problem["y"]), quiet=True)
    return {"fit_s": fit_s, **_logistic_quality(problem, model.coef_[0])}


def _saga(problem):
    from sklearn.linear_model import LogisticRegression

    n = problem["X"].shape[0]
    model, fit_s = _timed(lambda: LogisticRegression(
        l1_ratio=1.0, C=1 / (n * problem["alpha"]), solver="saga", fit_intercept=False,
        tol=1e-4, max_iter=100).fit(problem["X"], problem["y"]), quiet=True)
    coef = model.coef_.T
    # saga's symmetric parametrisation of the multinomial: same objective
    return {"fit_s": fit_s, **_logistic_quality(
        problem, coef if problem.get("multinomial") else coef[:, 0])}


def _skglm_logistic(problem, tighter=1.0):
    from skglm import SparseLogisticRegression

    model, fit_s = _timed(lambda: SparseLogisticRegression(
        alpha=problem["alpha"], fit_intercept=False, tol=tighter * TARGET, max_iter=50).fit(
        problem["X"], problem["y"]))
    return {"fit_s": fit_s, **_logistic_quality(problem, model.coef_[0])}


def _celer_logistic(problem, tighter=1.0):
    from celer import LogisticRegression

    n = problem["X"].shape[0]
    model, fit_s = _timed(lambda: LogisticRegression(
        C=1 / (n * problem["alpha"]), tol=tighter * TARGET).fit(problem["X"], problem["y"]),
        quiet=True)
    return {"fit_s": fit_s, **_logistic_quality(problem, model.coef_[0])}


# -- contenders: lasso path ---------------------------------------------------------------
def _path_grid(problem):
    X, y = problem["X"], problem["y"]
    alpha_max = np.abs(X.T @ y).max() / X.shape[0]
    return alpha_max * np.logspace(0, -2, problem["n_alphas"])


def _path_quality(problem, coefs, alphas):
    gaps = [_lasso_quality({**problem, "alpha": alpha}, coefs[:, k])["gap"]
            for k, alpha in enumerate(alphas)]
    return {"max_gap": float(np.max(gaps)), "n_alphas": len(alphas)}


def _ns_path(problem):
    from numsolve.linear_model import lasso_path

    alphas = _path_grid(problem)
    (_, coefs, _), fit_s = _timed(lambda: lasso_path(problem["X"], problem["y"],
                                                     alphas=alphas, tol=TARGET))
    return {"fit_s": fit_s, **_path_quality(problem, coefs, alphas)}


def _sk_path(problem):
    from sklearn.linear_model import lasso_path

    alphas = _path_grid(problem)
    (_, coefs, _), fit_s = _timed(lambda: lasso_path(
        problem["X"], problem["y"], alphas=alphas, tol=TARGET / 2, max_iter=100_000),
        quiet=True)
    return {"fit_s": fit_s, **_path_quality(problem, coefs, alphas)}


def _skglm_path(problem):
    from skglm import Lasso

    alphas = _path_grid(problem)
    def path():
        model = Lasso(alpha=alphas[0], fit_intercept=False, tol=TARGET, warm_start=True)
        coefs = np.zeros((problem["X"].shape[1], alphas.size))
        for k, alpha in enumerate(alphas):
            model.alpha = alpha
            coefs[:, k] = model.fit(problem["X"], problem["y"]).coef_
        return coefs
    coefs, fit_s = _timed(path)
    return {"fit_s": fit_s, **_path_quality(problem, coefs, alphas)}


def _celer_path(problem):
    from celer import celer_path

    alphas = _path_grid(problem)
    (_, coefs, _), fit_s = _timed(lambda: celer_path(problem["X"], problem["y"], "lasso",
                                                     alphas=alphas, tol=TARGET / 2),
                                  quiet=True)
    return {"fit_s": fit_s, **_path_quality(problem, coefs, alphas)}


def _with_grid(setup, n_alphas):
    def wrapped():
        return {**setup(), "n_alphas": n_alphas}
    return wrapped


# -- the shape grid (#22) -------------------------------------------------------------------
# (n, p, density or None for dense correlated data); n/p from 1/100 to 200
_GRID_LASSO_SHAPES = [(100, 10_000, None), (1000, 1000, None), (5000, 500, None),
                      (40_000, 200, None), (2000, 20_000, 1e-3), (5000, 25_000, 2e-4),
                      (2000, 2000, 1e-1), (20_000, 2000, 1e-2)]
_GRID_LOGISTIC_SHAPES = [(200, 5000, None), (2000, 500, None), (20_000, 100, None),
                         (2000, 20_000, 1e-3), (20_000, 1000, 1e-2)]
_GRID_DIVISORS = (10, 100, 1000)
_GRID_QUICK = [(60, 600, None), (2000, 20, None), (300, 3000, 1e-2)]


def _grid_problem(n, p, density, divisor, logistic):
    def setup():
        rng = np.random.default_rng(0)
        if density is None:
            from skglm.utils.data import make_correlated_data

            X, y, _ = make_correlated_data(n_samples=n, n_features=p, rho=0.5, snr=3,
                                           density=0.1, random_state=0)
            X = np.asfortranarray(X)
        else:
            import scipy.sparse as sp

            X = sp.random(n, p, density=density, format="csc", random_state=0,
                          data_rvs=rng.standard_normal)
            w = np.zeros(p)
            support = rng.choice(p, min(p, 50), replace=False)
            w[support] = 3 * rng.standard_normal(support.size)
            y = X @ w + 0.1 * rng.standard_normal(n)
        if logistic:
            y = np.where(y > np.median(y), 1.0, -1.0)
            alpha = np.abs(X.T @ y).max() / (2 * n) / divisor
        else:
            alpha = np.abs(X.T @ y).max() / n / divisor
        return {"X": X, "y": y, "alpha": alpha}
    return setup


def _grid_name(loss, n, p, density, divisor):
    kind = "dense" if density is None else f"sparse_d{density:g}"
    return f"grid_{loss}_{kind}_{n}x{p}_amax/{divisor}"


_AT_TARGET = (f"no intercept, float64, target duality gap {TARGET:g} x P(0) in each solver's "
              "own stopping rule, a peer's tolerance tightened 10x at a time until its gap "
              "meets the target (the tightening is reported); reported gap computed "
              "identically for all")


def grid_cases(quick=False):
    """The grid's cells: one case per (loss, shape, alpha), every peer at the same target."""
    lasso_shapes = _GRID_QUICK if quick else _GRID_LASSO_SHAPES
    logistic_shapes = _GRID_QUICK if quick else _GRID_LOGISTIC_SHAPES
    out = []
    for loss, shapes in (("lasso", lasso_shapes), ("logistic", logistic_shapes)):
        contenders = (_lasso_contenders(at_target=True) if loss == "lasso" else
                      [_fit_contender("numsolve bcd (auto)", _ns_logistic),
                       _fit_contender("sklearn liblinear", _at_target(_liblinear)),
                       _fit_contender("skglm SparseLogisticRegression",
                                      _at_target(_skglm_logistic), requires="skglm"),
                       _fit_contender("celer LogisticRegression", _at_target(_celer_logistic),
                                      requires="celer")])
        for n, p, density in shapes:
            for divisor in _GRID_DIVISORS:
                data = ("correlated (make_correlated_data rho=0.5, snr=3, 10% support)"
                        if density is None else
                        f"scipy.sparse.random density {density:g}, 50 planted coefficients")
                labels = "; labels sign(y - median y)" if loss == "logistic" else ""
                out.append(Case(_grid_name(loss, n, p, density, divisor),
                                f"{n} x {p}, {data}{labels}, alpha = alpha_max/{divisor}; "
                                f"{_AT_TARGET}",
                                _grid_problem(n, p, density, divisor, loss == "logistic"),
                                contenders, repeats=1))
    return out


def issue_table_cases():
    """The problems of issue #22's own table, as filed: tall dense correlated data and wide
    very sparse data, every Lasso peer at the same target."""
    tall = [Case(f"issue22_lasso_dense_50000x300_amax/{divisor}",
                 "make_correlated_data(n=50000, p=300, rho=0.5, snr=3, density=0.1, "
                 f"random_state=0), dense F-order, alpha = alpha_max/{divisor}; {_AT_TARGET}",
                 _correlated(50_000, 300, divisor), _lasso_contenders(at_target=True), repeats=3)
            for divisor in _GRID_DIVISORS]
    wide = [Case(f"issue22_lasso_sparse_d0.0002_20000x100000_amax/{divisor}",
                 "scipy.sparse.random(20000, 100000, density=2e-4, CSC, standard normal "
                 "entries, seed 0), 50 planted coefficients, alpha = alpha_max/"
                 f"{divisor}; {_AT_TARGET}", _sparse_random(20_000, 100_000, 2e-4, divisor),
                 _lasso_contenders(at_target=True), repeats=1)
            for divisor in (10, 1000)]
    return tall + wide


def grid_summary(path):
    """Table and heat map of the grid from ``run.py``'s JSON: numsolve's time over the
    fastest peer's that met the target gap per cell (and over the fastest peer's at any
    gap), the gaps reached over the target, and numsolve over skglm's median."""
    payload = json.loads(Path(path).read_text())
    rows = [_grid_row(record) for record in payload["cases"]
            if record["case"].startswith("grid_") and record["rows"]]
    skglm_ratios = [r["ratio_skglm"] for r in rows if r["ratio_skglm"] is not None]
    lines = ["# bcd shape grid: numsolve against the fastest peer", "",
             f"From `{Path(path).name}`; ratio = numsolve time / time (below 1: numsolve "
             "faster). The peers are compared at equal or smaller gap: the fastest peer whose "
             "final gap met the target (its tolerance tightened 10x at a time until it did, "
             "the factor in brackets); 'any gap' is the fastest peer whatever its gap. "
             "Gaps are shown over the target gap.", "",
             f"Cells: {len(rows)}; numsolve at its target in "
             f"{sum(r['numsolve_gap'] <= 1 for r in rows)}; numsolve fastest (against peers "
             f"at the target) in {sum(r['ratio_fastest'] <= 1 for r in rows)}; against every "
             f"peer at any gap in {sum(r['ratio_any'] <= 1 for r in rows)}; median ratio to "
             f"skglm {np.median(skglm_ratios) if skglm_ratios else float('nan'):.3f}.", "",
             "| cell | numsolve s | gap/target | fastest peer at target | its s | its gap/target"
             " | ratio | fastest at any gap | ratio | ratio to skglm |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        skglm = "-" if r["ratio_skglm"] is None else f"{r['ratio_skglm']:.3f}"
        lines.append(f"| {r['cell']} | {r['numsolve_s']:.4g} | {r['numsolve_gap']:.2g} | "
                     f"{r['fastest_peer']} | {r['fastest_s']:.4g} | {r['fastest_gap']:.2g} | "
                     f"{r['ratio_fastest']:.3f} | {r['any_peer']} | {r['ratio_any']:.3f} | "
                     f"{skglm} |")
    out = Path(path).with_name(Path(path).stem + "_summary.md")
    out.write_text("\n".join(lines) + "\n")
    _heat_map(rows, Path(path).with_name(Path(path).stem + "_heatmap.png"))
    return out


def _grid_row(record):
    """One cell of the summary: numsolve against the fastest peer at the target gap (none:
    ratio nan) and against the fastest at any gap; gaps over the target."""
    ours = next(row for row in record["rows"] if row["contender"] == record["reference"])
    peers = [row for row in record["rows"] if row is not ours]

    def relative_gap(row):
        return row["quality"]["gap"] / row["quality"]["target_gap"]

    def label(row):
        tightened = row["quality"].get("tol_tightened", 1)
        return row["contender"] + (f" (tol/{tightened:g})" if tightened > 1 else "")

    at_target = [row for row in peers if relative_gap(row) <= 1]
    fastest = min(at_target, key=lambda row: row["median_s"], default=None)
    fastest_any = min(peers, key=lambda row: row["median_s"])
    skglm = next((row for row in peers if row["contender"].startswith("skglm")), None)
    return {"cell": record["case"][len("grid_"):], "numsolve_s": ours["median_s"],
            "numsolve_gap": relative_gap(ours),
            "fastest_peer": "none at target" if fastest is None else label(fastest),
            "fastest_s": np.nan if fastest is None else fastest["median_s"],
            "fastest_gap": np.nan if fastest is None else relative_gap(fastest),
            "ratio_fastest": (np.nan if fastest is None
                              else ours["median_s"] / fastest["median_s"]),
            "any_peer": label(fastest_any),
            "ratio_any": ours["median_s"] / fastest_any["median_s"],
            "ratio_skglm": None if skglm is None else ours["median_s"] / skglm["median_s"]}


def _heat_map(rows, path):
    """Cells as rows (shape) by columns (alpha), coloured by log2 of the ratio to the
    fastest peer at the target gap (blue: numsolve faster; blank: no peer met it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = sorted({r["cell"].rsplit("_amax/", 1)[0] for r in rows})
    divisors = sorted({int(r["cell"].rsplit("_amax/", 1)[1]) for r in rows})
    grid = np.full((len(shapes), len(divisors)), np.nan)
    for r in rows:
        shape, divisor = r["cell"].rsplit("_amax/", 1)
        grid[shapes.index(shape), divisors.index(int(divisor))] = np.log2(r["ratio_fastest"])
    fig, ax = plt.subplots(figsize=(2 + 1.6 * len(divisors), 1 + 0.45 * len(shapes)))
    image = ax.imshow(grid, cmap="coolwarm", vmin=-3, vmax=3, aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        text = f"{2 ** value:.2f}" if np.isfinite(value) else "no peer"
        ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(divisors)), [f"amax/{d}" for d in divisors])
    ax.set_yticks(range(len(shapes)), shapes, fontsize=7)
    fig.colorbar(image, ax=ax, label="log2(numsolve / fastest peer)")
    ax.set_title("numsolve time / fastest peer's at the target gap")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


_REAL_SETS = ("digits", "breast_cancer", "wine", "iris")
_REAL_REPEATS = 15


def _real_problem(name, standardise, target="labels", sparse=False):
    """A bundled data set, standardised or raw, or (``sparse``) scaled by MaxAbsScaler, which
    keeps its zeros, and held as CSR."""
    from sklearn import datasets
    from sklearn.preprocessing import MaxAbsScaler, StandardScaler

    def setup():
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        if sparse:
            import scipy.sparse as sp

            X = sp.csr_matrix(MaxAbsScaler().fit_transform(X))
        elif standardise:
            X = StandardScaler().fit_transform(X)
        return {"X": X, "y": y.astype(float) if target == "values" else y}
    return setup


def _sparse_ridge_problem(source):
    """Sparse least-squares data: digits as CSR, or scipy.sparse.random at 20000 x 2000
    (density 1e-2, ``"random"``) or 2000 x 20000 (density 1e-3, ``"wide"``) with a linear
    target plus noise."""
    def setup():
        import scipy.sparse as sp
        from sklearn.datasets import load_digits

        if source == "digits":
            X, y = load_digits(return_X_y=True)
            return {"X": sp.csr_matrix(X), "y": y.astype(float)}
        n, p, density = (20_000, 2_000, 1e-2) if source == "random" else (2_000, 20_000, 1e-3)
        rng = np.random.default_rng(0)
        X = sp.random(n, p, density=density, format="csr", random_state=0)
        return {"X": X, "y": X @ rng.standard_normal(p) + rng.standard_normal(n)}
    return setup


def _defaults_quality(problem, estimator):
    """Objective of ``estimator`` on scikit-learn's scale and the duality gap at its point
    (intercept refined), on numsolve's scale (mean loss)."""
    import scipy.sparse as sp

    from numsolve.linear_model import L2, Logistic, Multinomial, Quadratic
    from numsolve.linear_model._smooth_route import _Problem

    X, y = problem["X"], problem["y"]
    n = X.shape[0]
    a = np.full(n, 1.0 / n)
    sparse = sp.issparse(X)  # kept uncentred: _Problem centres sparse columns implicitly
    shift = np.zeros(X.shape[1]) if sparse else a @ X
    coef = np.atleast_2d(estimator.coef_).T
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=float)) + shift @ coef
    if hasattr(estimator, "classes_"):
        classes, encoded = np.unique(y, return_inverse=True)
        binary = classes.size == 2
        datafit = Logistic() if binary else Multinomial(n_classes=classes.size)
        target = np.where(encoded == 1, 1.0, -1.0) if binary else encoded.astype(float)
        penalty, sk_scale = L2(1.0 / n), 1.0
    else:
        datafit, target, penalty, sk_scale = Quadratic(), y, L2(1.0 / n), 2.0 * n
    solved = _Problem(X if sparse else X - shift, target, a, datafit, penalty, coef.shape[1],
                      True)
    objective = solved.value_and_gradient(solved.join(coef, intercept))[0]
    primal, gap = solved.criterion(coef.copy(), intercept.copy())
    iterations = np.max(getattr(estimator, "n_iter_", 0) or 0)
    return {"objective": objective * sk_scale, "gap": gap, "iterations": int(iterations)}


def _timed_fit(make, X, y):
    """The fitted estimator ``make().fit(X, y)`` and the fit's seconds (warnings at
    ``max_iter``, e.g. lbfgs or saga on raw features, silenced)."""
    return _timed(lambda: make().fit(X, y), quiet=True)


def _defaults(make):
    def run(problem):
        estimator, fit_s = _timed_fit(make, problem["X"], problem["y"])
        return {"fit_s": fit_s, **_defaults_quality(problem, estimator)}
    return run


def _real_defaults_cases():
    """``LogisticRegression()`` and ``Ridge()`` with no arguments on the bundled data (and
    on sparse random data, wide and tall, and with several targets)."""
    from types import SimpleNamespace

    import sklearn.linear_model as sk

    import numsolve.linear_model as ns

    out = []
    for name in _REAL_SETS:
        binary = name == "breast_cancer"
        for standardise in (False, True):
            label = f"{name}_{'standardised' if standardise else 'raw'}"
            contenders = [_fit_contender("numsolve LogisticRegression()",
                                         _defaults(ns.LogisticRegression)),
                          _fit_contender("sklearn LogisticRegression() (lbfgs)",
                                         _defaults(sk.LogisticRegression))]
            if binary:
                contenders.append(_fit_contender(
                    "sklearn liblinear", _defaults(lambda: sk.LogisticRegression(
                        solver="liblinear"))))
            out.append(Case(
                f"real_defaults_logistic_{label}",
                f"load_{name}, {'StandardScaler' if standardise else 'raw features'}; "
                "every estimator with its defaults (C=1, L2, intercept, tol=1e-4, "
                "max_iter=100)", _real_problem(name, standardise), contenders,
                repeats=_REAL_REPEATS))
    for name in ("diabetes", "digits", "breast_cancer"):
        out.append(Case(
            f"real_defaults_ridge_{name}",
            f"load_{name} (targets as floats), raw features; Ridge() with its defaults "
            "(alpha=1, intercept)", _real_problem(name, False, target="values"),
            [_fit_contender("numsolve Ridge()", _defaults(ns.Ridge)),
             _fit_contender("sklearn Ridge()", _defaults(sk.Ridge))], repeats=_REAL_REPEATS))
    for source, description in (("digits", "load_digits as CSR"),
                                ("random", "scipy.sparse.random 20000 x 2000, density 1e-2"),
                                ("wide", "scipy.sparse.random 2000 x 20000, density 1e-3")):
        out.append(Case(
            f"real_defaults_ridge_sparse_{source}",
            f"{description}; Ridge() with its defaults (alpha=1, intercept)",
            _sparse_ridge_problem(source),
            [_fit_contender("numsolve Ridge()", _defaults(ns.Ridge)),
             _fit_contender("sklearn Ridge()", _defaults(sk.Ridge))], repeats=_REAL_REPEATS))

    def one_hot_digits():
        problem = _real_problem("digits", False)()
        X, y = problem["X"], problem["y"]
        return {"X": X, "Y": np.where(y[:, None] == np.arange(10), 1.0, -1.0)}

    def per_target(make):
        """Sum of the targets' objectives, largest gap and iterations."""
        def run(problem):
            estimator, fit_s = _timed_fit(make, problem["X"], problem["Y"])
            figures = [_defaults_quality({"X": problem["X"], "y": problem["Y"][:, k]},
                                         SimpleNamespace(coef_=estimator.coef_[k],
                                                         intercept_=estimator.intercept_[k]))
                       for k in range(problem["Y"].shape[1])]
            return {"fit_s": fit_s, "objective": sum(f["objective"] for f in figures),
                    "gap": max(f["gap"] for f in figures),
                    "iterations": int(np.max(getattr(estimator, "n_iter_", 0) or 0))}
        return run
    out.append(Case(
        "real_defaults_ridge_multi_target_digits",
        "load_digits, raw features, ten targets (one-hot labels as +-1, as RidgeClassifier "
        "fits them); Ridge() with its defaults (alpha=1, intercept)", one_hot_digits,
        [_fit_contender("numsolve Ridge()", per_target(ns.Ridge)),
         _fit_contender("sklearn Ridge()", per_target(sk.Ridge))], repeats=_REAL_REPEATS))
    return out


_REAL_LASSO_SETS = ("diabetes", "digits", "breast_cancer", "wine")


def _real_lasso_problem(name, dtype):
    from sklearn import datasets

    def setup():
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        return {"X": X.astype(dtype), "y": y.astype(dtype)}
    return setup


def _elastic_net_quality(problem, estimator, l1_ratio):
    """scikit-learn's elastic-net objective at the estimator's point and its duality gap
    (the intercept at its optimum, on centred data), both in float64."""
    X = np.asarray(problem["X"], dtype=np.float64)
    y = np.asarray(problem["y"], dtype=np.float64)
    if estimator.fit_intercept:
        X, y = X - X.mean(axis=0), y - y.mean()
    n = X.shape[0]
    w = np.asarray(estimator.coef_, dtype=np.float64)
    l1, l2 = estimator.alpha * l1_ratio, estimator.alpha * (1 - l1_ratio)
    r = (y - X @ w) / n
    correlation = np.abs(X.T @ r).max()
    theta = r if l2 > 0 or correlation <= l1 else (l1 / correlation) * r
    excess = np.maximum(np.abs(X.T @ theta) - l1, 0.0)
    conjugate = excess @ excess / (2 * l2) if l2 > 0 else 0.0
    objective = 0.5 * n * r @ r + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w
    dual = theta @ y - 0.5 * n * theta @ theta - conjugate
    return {"objective": objective, "gap": objective - dual,
            "nnz": int(np.count_nonzero(w)), "iterations": int(estimator.n_iter_)}


def _estimator_defaults(make, l1_ratio, fit_intercept):
    def run(problem):
        estimator, fit_s = _timed_fit(lambda: make(fit_intercept=fit_intercept), problem["X"],
                                      problem["y"])
        return {"fit_s": fit_s, **_elastic_net_quality(problem, estimator, l1_ratio)}
    return run


def _real_lasso_cases():
    """``Lasso()`` and ``ElasticNet()`` with their defaults (alpha=1, tol=1e-4) on the
    bundled regression-style data, raw, float64 and float32, with and without intercept,
    against scikit-learn's estimators with the same arguments."""
    import sklearn.linear_model as sk

    import numsolve.linear_model as ns

    out = []
    for model, l1_ratio in (("Lasso", 1.0), ("ElasticNet", 0.5)):
        for name in _REAL_LASSO_SETS:
            for dtype in ("float64", "float32"):
                for fit_intercept in (True, False):
                    out.append(Case(
                        f"real_lasso_{model.lower()}_{name}_{dtype}_"
                        f"{'intercept' if fit_intercept else 'nointercept'}",
                        f"load_{name}, raw features, X and y as {dtype} (targets as numbers); "
                        f"{model}(fit_intercept={fit_intercept}) otherwise with its defaults "
                        "(alpha=1, l1_ratio=0.5 for ElasticNet, tol=1e-4, max_iter 100 / "
                        "1000); objective on scikit-learn's scale and duality gap computed "
                        "identically in float64",
                        _real_lasso_problem(name, dtype),
                        [_fit_contender(f"numsolve {model}()", _estimator_defaults(
                            getattr(ns, model), l1_ratio, fit_intercept)),
                         _fit_contender(f"sklearn {model}()", _estimator_defaults(
                             getattr(sk, model), l1_ratio, fit_intercept))],
                        repeats=_REAL_REPEATS))
    return out


def _real_l1_logistic_cases():
    """L1 and elastic-net (l1_ratio 0.5) ``LogisticRegression`` at its default C on the
    bundled data (standardised), against scikit-learn's saga (multiclass, and binary elastic
    net) or liblinear (binary L1) at the same C, each with its default ``tol``. Every
    contender is timed by its fit alone (``fit_s``), the objective on numsolve's scale (mean
    loss plus ``penalty / (C n)``) at its
    point and the duality gap there after the intercept is refined."""
    import sklearn.linear_model as sk

    import numsolve.linear_model as ns
    from numsolve.linear_model import L1, L1PlusL2, Logistic, Multinomial
    from numsolve.linear_model._objective import optimality, refine_intercept

    def quality(problem, model, l1_ratio):
        X, y = problem["X"], problem["y"]
        n = X.shape[0]
        a = np.full(n, 1.0 / n)
        classes, encoded = np.unique(y, return_inverse=True)
        binary = classes.size == 2
        datafit = Logistic() if binary else Multinomial(n_classes=classes.size)
        target = np.where(encoded == 1, 1.0, -1.0) if binary else encoded.astype(float)
        penalty = L1(1.0 / n) if l1_ratio == 1.0 else L1PlusL2(1.0 / n, l1_ratio)
        W = np.ascontiguousarray(model.coef_.T, dtype=float)
        b = np.atleast_1d(np.asarray(model.intercept_, dtype=float)).copy()
        Z = X @ W + b
        objective = float(datafit.value(Z, target, a, np)) + float(penalty.value(W, np))
        Z, b = refine_intercept(datafit, Z, target, a, b, np)
        G = datafit.raw_gradient(Z, target, a, np)
        _, gap, _ = optimality(datafit, penalty, W, Z, target, a, X.T @ G, G, np, a @ X)
        return {"objective": objective, "gap": gap, "nnz": int(np.count_nonzero(W)),
                "iterations": int(np.max(model.n_iter_))}

    def contender(label, make, l1_ratio):
        def run(problem):
            model, fit_s = _timed_fit(make, problem["X"], problem["y"])
            return {"fit_s": fit_s, **quality(problem, model, l1_ratio)}
        return _fit_contender(label, run)

    out = []
    layouts = [(name, False) for name in _REAL_SETS] + [("digits", True), ("breast_cancer", True)]
    for name, sparse in layouts:
        binary = name == "breast_cancer"
        for penalty, l1_ratio in (("l1", 1.0), ("elasticnet", 0.5)):
            settings = {"penalty": penalty,
                        **({"l1_ratio": l1_ratio} if penalty == "elasticnet" else {})}
            peer = "liblinear" if binary and penalty == "l1" else "saga"
            contenders = [
                contender(f"numsolve LogisticRegression({penalty})",
                          lambda s=settings: ns.LogisticRegression(**s), l1_ratio),
                contender(f"sklearn {peer}",
                          lambda s=settings, solver=peer: sk.LogisticRegression(
                              **s, solver=solver), l1_ratio)]
            out.append(Case(
                f"real_l1_logistic_{name}{'_csr' if sparse else ''}_{penalty}",
                f"load_{name}, {'MaxAbsScaler, as CSR' if sparse else 'StandardScaler'}; "
                f"penalty={penalty}"
                f"{', l1_ratio=0.5' if penalty == 'elasticnet' else ''}, C=1, intercept, "
                f"each solver's default tol and max_iter; numsolve against scikit-learn's "
                f"{peer}", _real_problem(name, True, sparse=sparse), contenders,
                repeats=_REAL_REPEATS))
    return out


def cases(quick=False):
    """The spec's problems (section 3.3), or small versions of them with ``quick``."""
    if quick:
        corr, A, B, C = ((150, 300), (150, 600), (150, 600), (150, 60))
        greedy = (100, 1000, 0.01)
        n_classes, n_alphas, repeats = 4, 5, 1
    else:
        corr, A, B, C = ((1000, 5000), (1000, 10000), (1000, 10000), (1000, 1000))
        greedy = (2000, 20000, 0.002)
        n_classes, n_alphas, repeats = 50, 100, 3
    stop = (f"no intercept, float64, target duality gap {TARGET:g} x P(0) in each solver's "
            "own stopping rule; reported gap computed identically for all")
    return [
        Case(f"lasso_correlated_{corr[0]}x{corr[1]}_amax/100",
             f"make_correlated_data(n={corr[0]}, p={corr[1]}, rho=0.5, snr=3, density=0.1, "
             f"random_state=0), dense F-order, alpha = alpha_max/100; {stop}",
             _correlated(*corr, 100), _lasso_contenders(), repeats=repeats),
        Case(f"lasso_correlated_{corr[0]}x{corr[1]}_amax/10",
             f"as above, alpha = alpha_max/10; {stop}",
             _correlated(*corr, 10), _lasso_contenders(), repeats=repeats),
        Case(f"lasso_paperA_{A[0]}x{A[1]}_amax/100",
             f"paper dataset A recipe ({A[0]} x {A[1]}, CSC, random_state=0), "
             f"alpha = alpha_max/100; {stop}",
             _paper("A", *A, 100), _lasso_contenders(), repeats=repeats),
        Case(f"l1_logistic_paperB_{B[0]}x{B[1]}_amax/10",
             f"paper dataset B recipe ({B[0]} x {B[1]}, CSC, random_state=0), "
             f"alpha = ||X'y||_inf/(2n)/10; {stop}",
             _paper("B", *B, 10),
             [_fit_contender("numsolve bcd (auto)", _ns_logistic),
              _fit_contender("sklearn liblinear", _liblinear),
              _fit_contender("skglm SparseLogisticRegression", _skglm_logistic, requires="skglm"),
              _fit_contender("celer LogisticRegression", _celer_logistic, requires="celer")],
             repeats=repeats),
        Case(f"l1_multinomial_paperC_{C[0]}x{C[1]}x{n_classes}",
             f"paper dataset C recipe ({C[0]} x {C[1]}, {n_classes} classes, dense, "
             "random_state=0), alpha = alpha_max/10; numsolve at target gap, saga at its "
             "tol=1e-4 with max_iter=100 (its gap is reported)",
             _paper("C", *C, 10, sparse=False, n_classes=n_classes),
             [_fit_contender("numsolve bcd (auto)", _ns_logistic),
              _fit_contender("sklearn saga", _saga)], repeats=1),
        Case(f"lasso_path_paperA_{A[0]}x{A[1]}_{n_alphas}alphas",
             f"paper dataset A recipe, {n_alphas} alphas from alpha_max to alpha_max/100 "
             f"(log grid), warm starts; {stop} at every alpha",
             _with_grid(_paper("A", *A, 1), n_alphas),
             [_fit_contender("numsolve lasso_path", _ns_path),
              _fit_contender("sklearn lasso_path", _sk_path),
              _fit_contender("skglm Lasso warm path", _skglm_path, requires="skglm"),
              _fit_contender("celer celer_path", _celer_path, requires="celer")],
             repeats=1),
        Case(f"greedy_gsq_lasso_sparse_{greedy[0]}x{greedy[1]}_d{greedy[2]:g}_amax/10",
             f"scipy.sparse.random({greedy[0]}, {greedy[1]}, density={greedy[2]:g}, CSC, "
             "standard normal entries, seed 0), 50 planted coefficients (3 randn), noise "
             "0.1 randn, alpha = alpha_max/10. Greedy GS-q single-coordinate BCD: the heap "
             "engine (Gram matrix X'AX built once, gradient updated on Gram neighbours, "
             "indexed max-heap of scores) against the block engine (full gradient and full "
             "scan per update), both to the same duality gap; scikit-learn's cyclic Lasso "
             f"and numsolve's default working-set engine for reference; {stop}",
             _sparse_random(*greedy, 10),
             [_fit_contender("numsolve bcd gs-q, heap engine", _greedy_lasso("heap")),
              _fit_contender("numsolve bcd gs-q, block engine (full scan)", _greedy_lasso("block")),
              _fit_contender("sklearn Lasso", _sk_lasso),
              _fit_contender("numsolve bcd (auto, working sets)", _ns_lasso)],
             repeats=repeats),
    ] + (grid_cases(quick) + ([] if quick else issue_table_cases()) + _real_defaults_cases()
         + _real_lasso_cases() + _real_l1_logistic_cases())


if __name__ == "__main__":
    print(grid_summary(sys.argv[1]))
