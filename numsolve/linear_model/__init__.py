"""Block coordinate descent for sparse generalised linear models (Nutini, Laradji & Schmidt,
JMLR 2022): datafits and penalties kept apart, greedy selection rules, block updates,
working sets with a Newton finish, and scikit-learn estimators; sparse quadratics on graphs
solved with forest blocks by linear-time message passing (``quadratic_bcd``).
"""

from ._datafits import Logistic, Multinomial, Quadratic
from ._datasets import make_paper_dataset
from ._estimators import ElasticNet, Lasso, LogisticRegression, Ridge
from ._graph_blocks import (
    colour_partition,
    forest_order,
    forest_partition,
    greedy_forest_block,
    is_forest_partition,
    lattice_forests,
)
from ._path import lasso_path
from ._penalties import L1, L2, L1PlusL2, NonNegL1, NoPenalty
from ._quadratic_bcd import QuadraticProblem, quadratic_bcd
from ._solver import bcd
from ._tree_solve import tree_solve

__all__ = [
    "ElasticNet",
    "L1",
    "L1PlusL2",
    "L2",
    "Lasso",
    "Logistic",
    "LogisticRegression",
    "Multinomial",
    "NoPenalty",
    "NonNegL1",
    "Quadratic",
    "QuadraticProblem",
    "Ridge",
    "bcd",
    "colour_partition",
    "forest_order",
    "forest_partition",
    "greedy_forest_block",
    "is_forest_partition",
    "lasso_path",
    "lattice_forests",
    "make_paper_dataset",
    "quadratic_bcd",
    "tree_solve",
]
