"""TOPO (numsolve.dag) against DAGMA, GES and the empty graph, on real and simulated data.

Three groups of cases (``--case`` filters by name):

- ``Sachs raw`` / ``Sachs log`` / ``Sachs std-log``: the 7,466 x 11 flow-cytometry data and
  the 18-edge consensus graph of the ``cdt`` 0.6.0 wheel (``cyto_full_*.csv``); the columns'
  units say nothing, so this is where a score's scale (in)variance shows.
- ``std ...``: linear SEMs (ER2, ER4, SF4; d 20 to 100; Gaussian, exponential and Gumbel
  noise; n = 1000) with every column standardised, which removes the varsortability that
  equal-variance simulations hand to variance-based scores (Reisach et al. 2021).
- ``ER2 d=.. seed=..``: the paper's equal-variance setting (unstandardised), where the
  equal-variance score identifies the DAG.
- ``additive ER.. d=.. seed=..``: nonlinear additive SEMs (each parent's standardised value
  ``z`` enters its child as one of ``sin(1.5 z)``, ``tanh(1.5 z)``, ``(1.5 z)^2 / 2``,
  ``|1.5 z|``, drawn per edge; standard Gaussian noise; n = 1000), where the default should
  leave the linear model.
- ``scale ER2 d=.. n=2000`` / ``scale SF4 d=.. n=2000``: the size series of issue #21 (d = 100, 200, 400,
  1000; n = 2000; equal-variance Gaussian SEMs), time and SHD of ``TopoDAG(loss="bic")``, the l2
  search (``topo_swaps(score="l2", prune="ebic")``: ``TopoDAG(loss="l2")``'s search, pruned
  by the extended BIC; ``shd_bic`` is the full fit alone pruned by BIC,
  :func:`numsolve.dag.prune_parents`, the pruning ``TopoDAG(loss="l2")`` used before it
  weighed a forward-backward selection against it) and DAGMA (d = 100 only), each up to
  the size where it still finishes in minutes; ``python benchmarks/bench_topo.py --growth FILE.json ...`` then
  fits the growth exponent of each contender's time from the JSON reports ``run.py`` wrote.

Contenders: numsolve's ``TopoDAG()`` with its defaults (``loss="auto"``: the linear-Gaussian
search, then the additive one where BIC prefers splines on its parents; ``loss`` in the table
says which it chose), ``TopoDAG(loss="bic")`` (the linear-Gaussian search with the extended
BIC's edge penalty, the default before), ``TopoDAG(loss="bic", edge_penalty=1.0)`` (the plain
BIC), ``TopoDAG(loss="l2")`` (the equal-variance score and the first default),
``TopoDAG(loss="additive")`` (spline functions of the parents; d <= 50 only, to keep the
real and standardised series short), DAGMA
(``DagmaLinear(loss_type="l2").fit(X, lambda1=0.02)``, threshold 0.3), GES (causal-learn,
``local_score_BIC``; d <= 20 only: at d = 30 ER4 it ran over ten minutes here) and the empty
graph. Figures: ``shd`` (extra + missing + reversed, a reversed pair once; GES's undirected
edges count as one of each direction), ``shd_cpdag`` (between the Markov equivalence classes,
every pair whose marks differ once, as causal-learn and cdt count; what a score-equivalent
method such as GES or the Gaussian score can be asked for), ``nnz`` (predicted edges).
"""

import argparse
import graphlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from _harness import Case, Contender
from numsolve.dag import (TopoDAG, count_accuracy, dag_to_cpdag, is_dag, ls_score, prune_parents,
                          refine, shd_cpdag, simulate_dag, simulate_linear_sem, simulate_parameter,
                          topo_swaps)

# DAGMA's fit draws a progress bar per iteration; the report needs none
os.environ.setdefault("TQDM_DISABLE", "1")

THRESHOLD = 0.3
GES_MAX_D = 20
ADDITIVE_MAX_D = 50
CDT_WHEEL = "cdt-0.6.0-py3-none-any.whl"
SACHS_DATA = "cdt/data/resources/cyto_full_data.csv"
SACHS_TARGET = "cdt/data/resources/cyto_full_target.csv"
DATA_DIRS = [Path(os.environ.get("NUMSOLVE_DATA", Path.home() / ".cache" / "numsolve")), Path("/work/data")]


def load_sachs():
    """Sachs et al. (2005) flow cytometry: ``(X, B)``, 7,466 x 11 and the consensus graph.

    Read with :mod:`zipfile` from the ``cdt`` 0.6.0 wheel, looked up in ``$NUMSOLVE_DATA``
    (default ``~/.cache/numsolve``) and ``/work/data``, else fetched with ``pip download``.
    """
    found = [folder / CDT_WHEEL for folder in DATA_DIRS if (folder / CDT_WHEEL).exists()]
    if not found:
        DATA_DIRS[0].mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "cdt==0.6.0", "--no-deps", "--quiet",
                        "-d", str(DATA_DIRS[0])], check=True, timeout=300)
        found = [DATA_DIRS[0] / CDT_WHEEL]
    with zipfile.ZipFile(found[0]) as archive:
        data = archive.read(SACHS_DATA).decode()
        target = archive.read(SACHS_TARGET).decode()
    names = data.splitlines()[0].split(",")
    X = np.loadtxt(io.StringIO(data), delimiter=",", skiprows=1)
    index = {name: i for i, name in enumerate(names)}
    B = np.zeros((len(names), len(names)))
    for line in target.splitlines()[1:]:
        cause, effect = (field.strip('"') for field in line.split(","))
        B[index[cause], index[effect]] = 1.0
    return X, B


def _standardise(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _figures(problem, W):
    B = problem["B"]
    acc = count_accuracy(B, W)
    # the consensus Sachs graph has a cycle: no CPDAG of it
    cpdag = shd_cpdag(B, W) if problem["truth_is_dag"] and is_dag(W) else None
    return {"shd": acc["shd"], "shd_cpdag": cpdag, "tpr": round(acc["tpr"], 3), "nnz": acc["nnz"]}


def _pdag_figures(problem, P):
    """Figures of a CPDAG (GES): its undirected edges count once per direction in ``shd``."""
    B = problem["B"]
    acc = count_accuracy(B, P)
    figures = {"shd": acc["shd"], "shd_cpdag": None, "nnz": int(np.triu((P != 0) | (P.T != 0), 1).sum())}
    if problem["truth_is_dag"]:
        T = dag_to_cpdag(B).astype(bool)
        Q = P != 0
        figures["shd_cpdag"] = int(np.triu((T != Q) | (T.T != Q.T), 1).sum())
    return figures


def _topodag(problem):
    est = TopoDAG(random_state=0).fit(problem["X"])
    return _figures(problem, est.adjacency_) | {"loss": est.loss_, "passes": est.n_iter_}


def _topodag_linear(problem):
    est = TopoDAG(loss="bic", random_state=0).fit(problem["X"])
    return _figures(problem, est.adjacency_) | {"passes": est.n_iter_}


def _topodag_plain_bic(problem):
    est = TopoDAG(loss="bic", edge_penalty=1.0, random_state=0).fit(problem["X"])
    return _figures(problem, est.adjacency_) | {"passes": est.n_iter_}


def _topodag_additive(problem):
    est = TopoDAG(loss="additive").fit(problem["X"])
    return _figures(problem, est.adjacency_) | {"passes": est.n_iter_}


def _topodag_l2(problem):
    est = TopoDAG(loss="l2", random_state=0).fit(problem["X"])
    return _figures(problem, est.adjacency_)


def _dagma(X):
    from dagma.linear import DagmaLinear
    # DagmaLinear.fit centres its X in place: give it a copy so every contender sees the same data
    return DagmaLinear(loss_type="l2", verbose=False).fit(X.copy(), lambda1=0.02)


def _dagma_thresholded(problem):
    W = _dagma(problem["X"])
    return _figures(problem, np.where(np.abs(W) >= THRESHOLD, W, 0))


def _ges(problem):
    from causallearn.search.ScoreBased.GES import ges
    G = ges(problem["X"], score_func="local_score_BIC")["G"].graph
    # causal-learn: G[j, i] = 1 and G[i, j] = -1 for i -> j; -1 both ways for i - j
    P = ((G.T == 1) & (G == -1)) | ((G == -1) & (G.T == -1))
    return _pdag_figures(problem, P.astype(int))


def _empty(problem):
    return _figures(problem, np.zeros_like(problem["B"]))


def _real_and_standardised_contenders(d):
    contenders = [
        Contender("numsolve TopoDAG() (loss='auto')", _topodag),
        Contender("numsolve TopoDAG(loss='bic') (linear, extended BIC)", _topodag_linear),
        Contender("numsolve TopoDAG(loss='bic', edge_penalty=1.0) (plain BIC)", _topodag_plain_bic),
        Contender("numsolve TopoDAG(loss='l2')", _topodag_l2),
        Contender("dagma DagmaLinear", _dagma_thresholded, requires="dagma"),
    ]
    if d <= ADDITIVE_MAX_D:
        contenders.insert(2, Contender("numsolve TopoDAG(loss='additive')", _topodag_additive))
    if d <= GES_MAX_D:
        contenders.append(Contender("causal-learn GES (BIC)", _ges, requires="causallearn"))
    return contenders + [Contender("empty graph", _empty)]


def _sachs_setup(preprocessing):
    def setup():
        X, B = load_sachs()
        if preprocessing in ("log", "std-log"):
            X = np.log(X)
        if preprocessing == "std-log":
            X = _standardise(X)
        return {"X": X, "B": B, "truth_is_dag": is_dag(B)}
    return setup


def _standardised_setup(d, k, graph, noise, seed):
    def setup():
        B = simulate_dag(d, k * d, graph, random_state=seed)
        X = simulate_linear_sem(simulate_parameter(B, random_state=seed), 1000, noise=noise,
                                random_state=seed)
        return {"X": _standardise(X), "B": B, "truth_is_dag": True}
    return setup


# the bends of the additive SEMs, one drawn per edge, applied to the parent's standardised value
ADDITIVE_BENDS = (np.sin, np.tanh, lambda z: z ** 2 / 2, np.abs)
ADDITIVE_SEMS = [(10, 1, 0), (20, 2, 1), (50, 1, 1), (100, 2, 0)]


def _additive_sem_setup(d, k, seed):
    def setup():
        B = simulate_dag(d, k * d, "ER", random_state=seed)
        rng = np.random.default_rng(seed)
        X = np.zeros((1000, d))
        parents = {j: set(np.flatnonzero(B[:, j]).tolist()) for j in range(d)}
        for j in graphlib.TopologicalSorter(parents).static_order():
            X[:, j] = rng.normal(size=len(X))
            for p in sorted(parents[j]):
                z = (X[:, p] - X[:, p].mean()) / X[:, p].std()
                X[:, j] += ADDITIVE_BENDS[rng.integers(len(ADDITIVE_BENDS))](1.5 * z)
        return {"X": X, "B": B, "truth_is_dag": True}
    return setup


def _additive_cases(quick):
    contenders = [
        Contender("numsolve TopoDAG() (loss='auto')", _topodag),
        Contender("numsolve TopoDAG(loss='bic') (linear, extended BIC)", _topodag_linear),
        Contender("dagma DagmaLinear", _dagma_thresholded, requires="dagma"),
        Contender("causal-learn GES (BIC)", _ges, requires="causallearn"),
        Contender("empty graph", _empty),
    ]
    return [Case(
        name=f"additive ER{k} d={d} seed={seed}",
        description=f"nonlinear additive SEM, Gaussian noise, n=1000, ER{k}, d={d}, seed {seed} "
                    "(bends in ADDITIVE_BENDS); DAGMA lambda1=0.02 and threshold 0.3",
        setup=_additive_sem_setup(d, k, seed),
        contenders=[c for c in contenders if "GES" not in c.name or d <= GES_MAX_D],
        repeats=1,
    ) for d, k, seed in (ADDITIVE_SEMS[1:2] if quick else ADDITIVE_SEMS)]


# equal-variance cases (the paper's setting): TOPO with the equal-variance score and refine
def _equal_variance_setup(d, k, graph, seed):
    def setup():
        B = simulate_dag(d, k * d, graph, random_state=seed)
        X = simulate_linear_sem(simulate_parameter(B, random_state=seed), 1000, random_state=seed)
        return {"B": B, "X": X, "truth_is_dag": True}
    return setup


def _support_score(X, Wt):
    """Least-squares score of the graph with support ``Wt``, each node refitted on its parents."""
    W = np.zeros(Wt.shape)
    for v in range(Wt.shape[0]):
        P = np.flatnonzero(Wt[:, v])
        if P.size:
            W[P, v] = np.linalg.lstsq(X[:, P], X[:, v], rcond=None)[0]
    return ls_score(X, W)


def _ev_figures(problem, W, score=None):
    Wt = np.where(np.abs(W) >= THRESHOLD, W, 0)
    acc = count_accuracy(problem["B"], Wt)
    X = problem["X"]
    return {"shd": acc["shd"], "tpr": round(acc["tpr"], 3), "fdr": round(acc["fdr"], 3),
            "nnz": acc["nnz"], "score": ls_score(X, W) if score is None else score,
            "score_thr": _support_score(X, Wt)}


def _topo_pruned(problem):
    res = topo_swaps(problem["X"], random_state=0, prune="bic")
    return _ev_figures(problem, res.x, res.score) | {"rounds": res.n_iter}


def _topo_random(problem):
    res = topo_swaps(problem["X"], init="random", n_restarts=2, random_state=0)
    return _ev_figures(problem, res.x, res.score) | {"rounds": res.n_iter}


def _dagma_run(problem):
    W = _dagma(problem["X"])
    problem["W_dagma"] = W  # refine's input: DAGMA is deterministic, every run gives this W
    return _ev_figures(problem, W)


def _refine(problem):
    if "W_dagma" not in problem:
        problem["W_dagma"] = _dagma(problem["X"])
    W, X = problem["W_dagma"], problem["X"]
    Wt = np.where(np.abs(W) >= THRESHOLD, W, 0)
    res = refine(Wt, X, random_state=0, prune="bic")
    return _ev_figures(problem, res.x, res.score) | {
        "dagma_score": ls_score(X, W), "dagma_score_thr": _support_score(X, Wt),
        "dagma_shd": count_accuracy(problem["B"], Wt)["shd"]}


def _equal_variance_cases(quick):
    settings = [(10, 2, "ER", 0)] if quick else [(d, 2, "ER", seed) for d in (50, 100) for seed in (0, 1, 2)]
    return [Case(
        name=f"{graph}{k} d={d} seed={seed}",
        description=f"linear SEM, Gaussian equal variance (unstandardised), n=1000, {graph}{k}, d={d}, "
                    f"seed {seed}; DAGMA lambda1=0.02; threshold 0.3",
        setup=_equal_variance_setup(d, k, graph, seed),
        contenders=[
            Contender("numsolve topo_swaps (l2, greedy init, prune='bic')", _topo_pruned),
            Contender("numsolve topo_swaps (l2, random init, 2 restarts)", _topo_random),
            Contender("dagma DagmaLinear", _dagma_run, requires="dagma"),
            Contender("numsolve refine(DAGMA W, prune='bic')", _refine, requires="dagma"),
        ],
        repeats=1,
        notes=["refine starts from DAGMA's thresholded W (left by the DAGMA contender's runs); "
               "its time excludes DAGMA's own run"],
    ) for d, k, graph, seed in settings]


STANDARDISED = [
    (20, 2, "ER", "gauss", 0), (20, 2, "ER", "gauss", 1), (20, 2, "ER", "exp", 2),
    (20, 4, "ER", "gauss", 3), (20, 4, "SF", "gumbel", 4),
    (50, 2, "ER", "gauss", 5), (50, 4, "SF", "exp", 6),
    (100, 2, "ER", "gauss", 7), (100, 4, "ER", "gumbel", 8),
]


# the size series (issue #21); a contender runs only up to the size where it still finishes in
# minutes on a laptop, and the case says why it was left out above
SCALE_N = 2000
SCALE_SIZES = (100, 200, 400, 1000)
SCALE_GRAPHS = (("ER", 2), ("SF", 4))
SCALE_BIC = "numsolve TopoDAG(loss='bic')"
# the search of TopoDAG(loss='l2'), pruned by the extended BIC; the earlier pruning (the full
# fit alone, BIC) is reported from the same fit as shd_bic
SCALE_L2 = "numsolve topo_swaps(score='l2', prune='ebic')"
SCALE_DAGMA = "dagma DagmaLinear"
SCALE_MAX_D = {SCALE_BIC: 400, SCALE_L2: 1000, SCALE_DAGMA: 100}
SCALE_SKIP_REASON = {
    SCALE_BIC: "four insertion searches (side by side on threads) whose CPU time grows about as "
               "d^2.7 (d = 200: 18 s under load): d = 1000 would take over 20 minutes",
    SCALE_DAGMA: "25-48 s at d = 100 already, and its iterations cost O(d^3) with more of them as d "
                 "grows: hours above d = 100",
}


def _topo_l2_scale(problem):
    # CPU seconds beside the wall time: on a loaded machine they still say what the search costs
    start = time.process_time()
    res = topo_swaps(problem["X"], score="l2", prune="ebic")
    cpu = time.process_time() - start
    bic = prune_parents(problem["X"], res.weights, prune="bic")
    return _figures(problem, res.x) | {"shd_bic": count_accuracy(problem["B"], bic)["shd"],
                                       "rounds": res.n_iter, "cpu_s": round(cpu, 2)}


def _scale_setup(d, k, graph):
    def setup():
        B = simulate_dag(d, k * d, graph, random_state=0)
        X = simulate_linear_sem(simulate_parameter(B, random_state=0), SCALE_N, random_state=0)
        return {"X": X, "B": B, "truth_is_dag": True}
    return setup


def _scale_cases(quick):
    sizes = (20,) if quick else SCALE_SIZES
    contenders = [
        Contender(SCALE_BIC, _topodag_linear),
        Contender(SCALE_L2, _topo_l2_scale),
        Contender(SCALE_DAGMA, _dagma_thresholded, requires="dagma"),
    ]
    out = []
    for graph, k in SCALE_GRAPHS:
        for d in sizes:
            kept = [c for c in contenders if d <= SCALE_MAX_D[c.name]]
            out.append(Case(
                name=f"scale {graph}{k} d={d} n={SCALE_N}",
                description=f"linear SEM, Gaussian equal variance, n={SCALE_N}, {graph}{k}, d={d}, "
                            "seed 0; DAGMA lambda1=0.02 and threshold 0.3",
                setup=_scale_setup(d, k, graph),
                contenders=kept,
                repeats=1,
                notes=[f"{c.name} left out above d = {SCALE_MAX_D[c.name]}: {SCALE_SKIP_REASON[c.name]}"
                       for c in contenders if c not in kept],
            ))
    return out


def growth_exponents(reports):
    """Per series (graph) and contender, the slope of log(time) against log(d), least squares.

    ``reports`` are dicts of JSON reports of ``run.py`` (one run per size may be split over
    several ``--case`` reports); a contender needs two sizes. Where every size also recorded
    CPU seconds (``cpu_s``), their slope is given too: on a loaded machine it is the steadier one.
    """
    series = {}
    for report in reports:
        for record in report["cases"]:
            if not record["case"].startswith("scale "):
                continue
            _, graph, size, _ = record["case"].split()
            for row in record["rows"]:
                series.setdefault((graph, row["contender"]), []).append(
                    (int(size[len("d="):]), row["median_s"], row["quality"].get("cpu_s")))
    out = {}
    for (graph, contender), points in sorted(series.items()):
        if len(points) >= 2:
            points.sort()
            d = np.log([p[0] for p in points])
            fit = {"sizes": [p[0] for p in points],
                   "exponent": float(np.polyfit(d, np.log([p[1] for p in points]), 1)[0])}
            if all(p[2] for p in points):
                fit["cpu_exponent"] = float(np.polyfit(d, np.log([p[2] for p in points]), 1)[0])
            out[f"{graph} {contender}"] = fit
    return out


def cases(quick):
    out = [Case(
        name=f"Sachs {preprocessing}",
        description=f"Sachs flow cytometry, 7,466 x 11, {preprocessing}; truth: the 18-edge consensus "
                    "graph of cdt 0.6.0 (it has a cycle, so no CPDAG SHD)",
        setup=_sachs_setup(preprocessing),
        contenders=_real_and_standardised_contenders(11),
        repeats=1,
    ) for preprocessing in (("std-log",) if quick else ("raw", "log", "std-log"))]
    for d, k, graph, noise, seed in (STANDARDISED[:1] if quick else STANDARDISED):
        out.append(Case(
            name=f"std {graph}{k} d={d} {noise} seed={seed}",
            description=f"linear SEM, {noise} noise, n=1000, {graph}{k}, d={d}, seed {seed}, columns "
                        "standardised; DAGMA lambda1=0.02 and threshold 0.3",
            setup=_standardised_setup(d, k, graph, noise, seed),
            contenders=_real_and_standardised_contenders(d),
            repeats=1,
        ))
    return out + _additive_cases(quick) + _equal_variance_cases(quick) + _scale_cases(quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="growth exponents of the 'scale' series")
    parser.add_argument("--growth", nargs="+", required=True,
                        help="JSON reports of run.py with scale cases")
    reports = []
    for path in parser.parse_args().growth:
        with open(path) as handle:
            reports.append(json.load(handle))
    for name, fit in growth_exponents(reports).items():
        cpu = f", CPU time ~ d^{fit['cpu_exponent']:.2f}" if "cpu_exponent" in fit else ""
        print(f"{name}: time ~ d^{fit['exponent']:.2f}{cpu} over d = {fit['sizes']}")
