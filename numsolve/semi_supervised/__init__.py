"""Semi-supervised learning on graphs: label propagation and label spreading as linear systems.

The harmonic solution of label propagation is a sparse SPD system over the unlabelled
nodes; label spreading's fixed point is the system ``(I - alpha S) F = (1 - alpha) Y``.
numsolve solves them with all classes at once: compiled Jacobi-preconditioned CG, forest-block
CG (:mod:`numsolve.linear_model._quadratic_bcd`), BiCGSTAB or sparse LU, chosen by a measured
rule.
"""

from ._estimators import LabelPropagation, LabelSpreading
from ._harmonic import (
    UnreachedNodesWarning,
    choose_method,
    harmonic_solution,
    harmonic_system,
    label_propagation,
)
from ._recipes import lattice_graph, make_lattice_problem, make_moons_problem
from ._spreading import label_spreading

__all__ = [
    "LabelPropagation",
    "LabelSpreading",
    "UnreachedNodesWarning",
    "choose_method",
    "harmonic_solution",
    "harmonic_system",
    "label_propagation",
    "label_spreading",
    "lattice_graph",
    "make_lattice_problem",
    "make_moons_problem",
]
