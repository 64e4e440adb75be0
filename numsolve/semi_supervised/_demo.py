"""Demo of the semi_supervised area: label propagation on a lattice and on two moons."""

import time

import numpy as np

from ..linear_model._graph_blocks import lattice_forests
from ._estimators import LabelPropagation
from ._harmonic import harmonic_solution
from ._recipes import make_lattice_problem, make_moons_problem


def demo():
    """Solve a 200 x 200 lattice and a 5,000-point two-moons problem; report the quality."""
    rows = []
    W, labelled, values = make_lattice_problem(200, 200, random_state=0)
    start = time.perf_counter()
    result = harmonic_solution(W, labelled, values, blocks=lattice_forests((200, 200)),
                               tol=1e-8)
    rows.append({
        "solver": "harmonic_solution (combs+CG)",
        "problem": "lattice 200x200, weight 1e5, 4% labelled",
        "quality": f"relative residual {result.residual:.1e} in {result.n_iter} iterations",
        "seconds": time.perf_counter() - start,
    })
    X, y, _ = make_moons_problem(5000, random_state=0)
    truth = make_moons_problem(5000, fraction=1.0, random_state=0)[1]
    start = time.perf_counter()
    model = LabelPropagation(kernel="knn", n_neighbors=6).fit(X, y)
    unlabelled = y == -1
    accuracy = np.mean(model.transduction_[unlabelled] == truth[unlabelled])
    rows.append({
        "solver": "LabelPropagation (knn)",
        "problem": "two moons n=5000, 5% labelled",
        "quality": f"accuracy on unlabelled points {accuracy:.3f}",
        "seconds": time.perf_counter() - start,
    })
    return rows
