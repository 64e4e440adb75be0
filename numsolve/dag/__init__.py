"""DAG structure learning by search over topological orders (TOPO).

Scores: the NOTEARS least-squares and logistic objectives (equal noise variances), and the
scale-invariant Gaussian likelihood with one noise variance per node (BIC), whose Markov
equivalence class is reported as a CPDAG; the additive-noise score (splines of the parents,
one noise variance per node); metrics on DAGs and CPDAGs; sortability diagnostics.
"""

from numsolve.dag._acyclicity import h_exp, h_logdet, h_poly
from numsolve.dag._cpdag import dag_to_cpdag, shd_cpdag
from numsolve.dag._estimators import TopoDAG
from numsolve.dag._fit import fit_order, logistic_score, ls_score
from numsolve.dag._additive import additive_score
from numsolve.dag._gaussian import gaussian_score
from numsolve.dag._metrics import count_accuracy, is_dag
from numsolve.dag._prune import bic_score, prune_parents
from numsolve.dag._simulate import (
    simulate_dag,
    simulate_linear_sem,
    simulate_logistic_sem,
    simulate_parameter,
)
from numsolve.dag._sortability import r2_sortability, varsortability
from numsolve.dag._topo import order_from_W, refine, topo_swaps

__all__ = [
    "TopoDAG",
    "additive_score",
    "bic_score",
    "count_accuracy",
    "dag_to_cpdag",
    "fit_order",
    "gaussian_score",
    "h_exp",
    "h_logdet",
    "h_poly",
    "is_dag",
    "logistic_score",
    "ls_score",
    "order_from_W",
    "prune_parents",
    "r2_sortability",
    "refine",
    "shd_cpdag",
    "simulate_dag",
    "simulate_linear_sem",
    "simulate_logistic_sem",
    "simulate_parameter",
    "topo_swaps",
    "varsortability",
]
