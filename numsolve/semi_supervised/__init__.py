"""Semi-supervised learning on graphs: label propagation by block coordinate descent.

The harmonic solution of label propagation is a sparse SPD system over the unlabelled
nodes; numsolve solves it with forest blocks and linear-time tree solves
(:mod:`numsolve.linear_model._quadratic_bcd`), all classes at once.
"""

from ._estimators import LabelPropagation
from ._harmonic import (
    UnreachedNodesWarning,
    harmonic_solution,
    harmonic_system,
    label_propagation,
)
from ._recipes import lattice_graph, make_lattice_problem, make_moons_problem

__all__ = [
    "LabelPropagation",
    "UnreachedNodesWarning",
    "harmonic_solution",
    "harmonic_system",
    "label_propagation",
    "lattice_graph",
    "make_lattice_problem",
    "make_moons_problem",
]
