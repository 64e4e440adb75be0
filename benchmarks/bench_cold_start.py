"""First call in a fresh process: every estimator and solver function against scikit-learn.

What a new user, a fresh container, CI job or Dask worker pays before the first result.
numsolve's kernels are compiled when the package is built. Each timed run starts a new Python
process (``NUMBA_CACHE_DIR`` set to a new empty folder, so a contender that compiles with Numba
reuses nothing from an earlier run), imports the public name, builds a small problem and makes
one call. The harness times the whole process (interpreter start, import, data, the call); the
figures give the parts measured inside it: ``import_s`` (importing the public name) and
``first_call_s`` (the call alone). Where scikit-learn (or SciPy) has the matching estimator or
function, it solves the same problem the same way, in its own fresh process. The last case is
the wall time of ``python -m numsolve demo`` in a fresh process.

Problems are small (a few hundred rows): a warm call takes milliseconds, so the first call's
time is what compilation or loading costs. One BLAS/OpenMP thread everywhere.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _harness import Case, Contender


_MOONS = ("from sklearn.datasets import make_moons\n"
          "X, y = make_moons(200, noise=0.05, random_state=0)\n"
          "y_partial = np.full(200, -1); y_partial[:20] = y[:20]\n")
_REGRESSION = ("from sklearn.datasets import load_diabetes\n"
               "X, y = load_diabetes(return_X_y=True)\n")
_CLASSIFICATION = ("from sklearn.datasets import load_breast_cancer\n"
                   "X, y = load_breast_cancer(return_X_y=True)\n"
                   "X = (X - X.mean(0)) / X.std(0)\n")
_SEQUENCE = ("import scipy.sparse as sp\n"
             "A, shifts, B = shifted_laplacian_sequence(5, random_state=0)\n"
             "systems = [(A + c * sp.identity(100), b, c) for c, b in zip(shifts, B)]\n")
_DAG = ("B = simulate_dag(6, 6, 'ER', random_state=1)\n"
        "X = simulate_linear_sem(simulate_parameter(B, random_state=1), 500, random_state=1)\n")
_POISSON = ("import scipy.sparse as sp\n"
            "T = sp.diags([[-1.0] * 9, [2.0] * 10, [-1.0] * 9], [-1, 0, 1])\n"
            "A = (sp.kron(T, sp.identity(10)) + sp.kron(sp.identity(10), T)).tocsr()\n"
            "b = np.ones(100)\n")
_QUADRATIC = ("import scipy.sparse as sp\n"
              "Q = sp.diags([[-1.0] * 99, [2.1] * 100, [-1.0] * 99], [-1, 0, 1], format='csr')\n")

# name: (import line, problem set-up, the first call); each runs in a fresh process
NUMSOLVE = {
    "GBNNRegressor": ("from numsolve.neural import GBNNRegressor", _REGRESSION,
                      "GBNNRegressor(n_estimators=10, random_state=0).fit(X, y)"),
    "GBNNClassifier": ("from numsolve.neural import GBNNClassifier", _CLASSIFICATION,
                       "GBNNClassifier(n_estimators=10, random_state=0).fit(X, y)"),
    "SvenRegressor": ("from numsolve.neural import SvenRegressor", _REGRESSION,
                      "SvenRegressor(max_iter=3, random_state=0).fit(X, y)"),
    "SvenClassifier": ("from numsolve.neural import SvenClassifier", _CLASSIFICATION,
                       "SvenClassifier(max_iter=3, random_state=0).fit(X, y)"),
    "sven": ("from numsolve.neural import sven",
             "t = np.linspace(0, 1, 50); obs = 2.0 * np.exp(-1.5 * t)\n",
             "sven(lambda x: x[0] * np.exp(x[1] * t) - obs, np.array([1.0, 0.0]),\n"
             "     jac=lambda x: np.stack([np.exp(x[1] * t), x[0] * t * np.exp(x[1] * t)], 1))"),
    "Lasso": ("from numsolve.linear_model import Lasso", _REGRESSION, "Lasso(alpha=0.1).fit(X, y)"),
    "ElasticNet": ("from numsolve.linear_model import ElasticNet", _REGRESSION,
                   "ElasticNet(alpha=0.1).fit(X, y)"),
    "Ridge": ("from numsolve.linear_model import Ridge", _REGRESSION, "Ridge(alpha=1.0).fit(X, y)"),
    "LogisticRegression": ("from numsolve.linear_model import LogisticRegression",
                           _CLASSIFICATION, "LogisticRegression().fit(X, y)"),
    "bcd": ("from numsolve.linear_model import bcd, Quadratic, L1", _REGRESSION,
            "bcd(X, y - y.mean(), Quadratic(), L1(0.1))"),
    "lasso_path": ("from numsolve.linear_model import lasso_path", _REGRESSION,
                   "lasso_path(X, y, n_alphas=20)"),
    "quadratic_bcd": ("from numsolve.linear_model import quadratic_bcd", _QUADRATIC,
                      "quadratic_bcd(Q, np.ones(100), blocks='colour', tol=1e-10)"),
    "tree_solve": ("from numsolve.linear_model import tree_solve", _QUADRATIC,
                   "tree_solve(Q, np.ones(100))"),
    "LabelPropagation": ("from numsolve.semi_supervised import LabelPropagation", _MOONS,
                         "LabelPropagation(kernel='knn', n_neighbors=10).fit(X, y_partial)"),
    "label_propagation": ("from numsolve.semi_supervised import label_propagation",
                          "import scipy.sparse as sp\n"
                          "W = sp.diags([[1.0] * 99, [1.0] * 99], [-1, 1], format='csr')\n"
                          "y = np.full(100, -1); y[0], y[-1] = 0, 1\n",
                          "label_propagation(W, y)"),
    "harmonic_solution": ("from numsolve.semi_supervised import harmonic_solution",
                          "import scipy.sparse as sp\n"
                          "W = sp.diags([[1.0] * 99, [1.0] * 99], [-1, 1], format='csr')\n",
                          "harmonic_solution(W, [0, 99], [0.0, 1.0])"),
    "MatrixCompletion": ("from numsolve.completion import MatrixCompletion, make_low_rank",
                         "X = make_low_rank(60, 40, 2, density=0.5, random_state=0)"
                         ".observed_dense()\n",
                         "MatrixCompletion(rank=2, random_state=0).fit(X)"),
    "altmin": ("from numsolve.completion import altmin, make_low_rank",
               "M = make_low_rank(60, 50, 2, density=0.5, random_state=0).observed\n",
               "altmin(M, 2, random_state=0)"),
    "solve_rows": ("from numsolve.completion import solve_rows",
                   "F = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])\n"
                   "indptr, indices = np.array([0, 3]), np.array([0, 1, 2])\n",
                   "solve_rows(indptr, indices, np.array([1.0, 2.0, 3.0]), F, np.zeros((1, 2)),"
                   " np.zeros(1))"),
    "TopoDAG": ("from numsolve.dag import TopoDAG, simulate_dag, simulate_parameter, "
                "simulate_linear_sem", _DAG, "TopoDAG(random_state=0).fit(X)"),
    "topo_swaps": ("from numsolve.dag import topo_swaps, simulate_dag, simulate_parameter, "
                   "simulate_linear_sem", _DAG, "topo_swaps(X, random_state=0)"),
    "fit_order": ("from numsolve.dag import fit_order, simulate_dag, simulate_parameter, "
                  "simulate_linear_sem", _DAG, "fit_order(X, list(range(6)))"),
    "sor": ("from numsolve.linalg import sor", _POISSON, "sor(A, b, omega=1.5)"),
    "ssor_cg": ("from numsolve.linalg import ssor_cg", _POISSON, "ssor_cg(A, b, omega=1.5)"),
    "solve_sequence": ("from numsolve.linalg import OmegaBandit, shifted_laplacian_sequence, "
                       "solve_sequence", _SEQUENCE,
                       "solve_sequence(systems, OmegaBandit('chebcb', random_state=0))"),
    "SequenceSolver": ("from numsolve.linalg import OmegaBandit, SequenceSolver, "
                       "shifted_laplacian_sequence", _SEQUENCE,
                       "solver = SequenceSolver(OmegaBandit(random_state=0))\n"
                       "for A_t, b_t, _ in systems:\n    solver.solve(A_t, b_t)"),
    "iteration_table": ("from numsolve.linalg import iteration_table, "
                        "shifted_laplacian_sequence", _SEQUENCE,
                        "iteration_table(systems, [1.0, 1.5])"),
    "shifted_iteration_table": ("from numsolve.linalg import shifted_iteration_table, "
                                "shifted_laplacian_sequence",
                                "A, shifts, B = shifted_laplacian_sequence(4, random_state=0)\n",
                                "shifted_iteration_table(A, shifts, B, [1.0, 1.6])"),
}

# the matching scikit-learn (or SciPy) call on the same problem
PEERS = {
    "GBNNRegressor": ("from sklearn.ensemble import GradientBoostingRegressor",
                      "GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X, y)"),
    "GBNNClassifier": ("from sklearn.ensemble import GradientBoostingClassifier",
                       "GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)"),
    "SvenRegressor": ("from sklearn.neural_network import MLPRegressor",
                      "MLPRegressor(hidden_layer_sizes=(16, 16, 16), max_iter=3, random_state=0).fit(X, y)"),
    "SvenClassifier": ("from sklearn.neural_network import MLPClassifier",
                       "MLPClassifier(hidden_layer_sizes=(16, 16, 16), max_iter=3, random_state=0).fit(X, y)"),
    "sven": ("from scipy.optimize import least_squares",
             "least_squares(lambda x: x[0] * np.exp(x[1] * t) - obs, np.array([1.0, 0.0]))"),
    "Lasso": ("from sklearn.linear_model import Lasso", "Lasso(alpha=0.1).fit(X, y)"),
    "ElasticNet": ("from sklearn.linear_model import ElasticNet",
                   "ElasticNet(alpha=0.1).fit(X, y)"),
    "Ridge": ("from sklearn.linear_model import Ridge", "Ridge(alpha=1.0).fit(X, y)"),
    "LogisticRegression": ("from sklearn.linear_model import LogisticRegression",
                           "LogisticRegression().fit(X, y)"),
    "bcd": ("from sklearn.linear_model import Lasso",
            "Lasso(alpha=0.1, fit_intercept=False).fit(X, y - y.mean())"),
    "lasso_path": ("from sklearn.linear_model import lasso_path", "lasso_path(X, y, n_alphas=20)"),
    "quadratic_bcd": ("from scipy.sparse.linalg import spsolve", "spsolve(Q.tocsc(), np.ones(100))"),
    "tree_solve": ("from scipy.sparse.linalg import spsolve", "spsolve(Q.tocsc(), np.ones(100))"),
    "LabelPropagation": ("from sklearn.semi_supervised import LabelPropagation",
                         "LabelPropagation(kernel='knn', n_neighbors=10).fit(X, y_partial)"),
    "sor": ("from scipy.sparse.linalg import cg", "cg(A, b)"),
    "ssor_cg": ("from scipy.sparse.linalg import cg", "cg(A, b)"),
}

_SCRIPT = """
import time
start = time.perf_counter()
{imports}
import numpy as np
imported = time.perf_counter()
{setup}
called = time.perf_counter()
{call}
done = time.perf_counter()
print(f"{{imported - start}} {{done - called}}")
"""


def _environment(cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    # the fresh process imports the numsolve this one runs (an installed one, or a checkout
    # built in place), never an unbuilt source tree
    package_root = str(Path(importlib.util.find_spec("numsolve").origin).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


def _fresh(args):
    """Run ``args`` in a new process (empty Numba cache for any JIT contender); its stdout."""
    with tempfile.TemporaryDirectory(prefix="numsolve-cold-") as cache:
        done = subprocess.run(args, env=_environment(cache), cwd=tempfile.gettempdir(),
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[-1][:200]!r} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _first_call(imports, setup, call):
    script = _SCRIPT.format(imports=imports, setup=setup, call=textwrap.dedent(call))

    def run(problem):
        import_s, first_call_s = map(float, _fresh([sys.executable, "-c", script])
                                     .split()[-2:])
        return {"import_s": round(import_s, 3), "first_call_s": round(first_call_s, 3)}

    return run


def _demo(problem):
    start = time.perf_counter()
    _fresh([sys.executable, "-m", "numsolve", "demo"])
    return {"wall_s": round(time.perf_counter() - start, 2)}


def cases(quick=False):
    """One case per public estimator and solver function, then ``numsolve demo``."""
    names = (["GBNNRegressor", "SvenRegressor", "Lasso", "sor"] if quick else list(NUMSOLVE))
    result = []
    for name in names:
        imports, setup, call = NUMSOLVE[name]
        contenders = [Contender(f"numsolve {name}", _first_call(imports, setup, call))]
        if name in PEERS:
            peer_imports, peer_call = PEERS[name]
            peer = peer_call.split("(")[0]
            contenders.append(Contender(f"{peer} (fresh process)",
                                        _first_call(peer_imports, setup, peer_call)))
        result.append(Case(
            name=name,
            description=f"first call of {name} in a fresh process",
            setup=lambda: None, contenders=contenders, repeats=1))
    if not quick:
        result.append(Case(name="numsolve demo",
                           description="python -m numsolve demo, fresh process, empty cache",
                           setup=lambda: None,
                           contenders=[Contender("numsolve demo", _demo)], repeats=1))
    return result
