"""Matrix completion by robust alternating minimisation (Gu, Song, Yin, Zhang, 2023).

``altmin`` is the solver function (factors ``U``, ``V`` with ``U V^T`` matching the observed
entries), ``MatrixCompletion`` the scikit-learn estimator (biases, fold-in, imputation), and
``make_low_rank`` / ``split_entries`` generate planted problems and held-out splits.
"""

from ._data import CompletionProblem, make_low_rank, split_entries
from ._estimators import MatrixCompletion
from ._rows import solve_rows
from ._solver import altmin

__all__ = [
    "CompletionProblem",
    "MatrixCompletion",
    "altmin",
    "make_low_rank",
    "solve_rows",
    "split_entries",
]
