"""Parameter and attribute text shared by the linear models' docstrings.

Written once and substituted into each docstring, so that every page reads whole.
"""
DOC = {
    "fit_intercept": """fit_intercept : bool, default=True
        Fit an unpenalised intercept ``b``; False when the data are already centred.""",
    "max_iter": """max_iter : int, default=100
        Epochs: passes over all coefficients, whatever the rule, as in scikit-learn. With
        ``rule="auto"`` an epoch is one outer iteration of the working-set solver (the full
        gradient, a new working set, then coordinate epochs on that set until its own gap
        is met); with any other rule it is ``ceil(n_coefficients / block_size)`` block
        updates.""",
    "tol": """tol : float, default=1e-4
        Stop when the duality gap falls below ``tol`` times the objective at zero
        coefficients, with the intercept at its optimum when one is fitted (a scale-free
        test, the same for every rule).""",
    "warm_start": """warm_start : bool, default=False
        Start from the previous fit's coefficients and intercept when their shape fits the
        new data (useful along a sequence of penalties); otherwise start from zero.""",
    "rule": """rule : str, default="auto"
        Block selection rule of :func:`bcd`: ``"auto"`` (the fastest: with a smooth penalty
        the whole coefficient block by a second-order method, see :func:`bcd`; otherwise
        greedy working sets with a Newton finish; for least squares on tall data, ``n_samples >= 4 |working
        set|``, a working set is solved on its Gram matrix, see :func:`bcd`'s ``gram``; for
        the binary logistic loss each working set is solved by proximal Newton steps),
        ``"cyclic"``, ``"random"``, ``"lipschitz"`` (random with
        probability proportional to the blocks' Lipschitz constants) or a greedy rule of
        Nutini et al. (``"gs"``, ``"gsl"``, ``"gs-q"``, ...).""",
    "update": """update : str, default="auto"
        Block update of :func:`bcd`: ``"auto"`` is a proximal gradient step of length
        ``1/L_b`` (``"lipschitz"``) on the block engine and keeps the Newton finish (binary
        logistic: proximal Newton steps) of ``rule="auto"``; ``"lipschitz"`` with
        ``rule="auto"`` switches them off for plain coordinate epochs;
        ``"newton"``, ``"matrix"`` and ``"exact"`` use the block's curvature (worth it for
        large blocks of correlated features).""",
    "block_size": """block_size : int, default=1
        Coordinates per block for the rules other than ``"auto"``.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
        Seeds the randomised choices of the rules other than ``"auto"`` (random and
        Lipschitz sampling, the variable blocks of ``"cyclic"``); pass an int for the same
        result on every fit.""",
    "positive": """positive : bool, default=False
        Constrain the coefficients to be non-negative.""",
    "sample_weight": """sample_weight : array-like of shape (n_samples,), optional
        Weights ``s_i`` of the samples in the loss; all one by default.""",
    "verbose": """verbose : int, default=0
        When positive, show a progress bar with the current duality gap.""",
    "regression_attributes": """coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Fitted coefficients ``w``, in ``X``'s floating dtype.
    intercept_ : float or ndarray of shape (n_targets,)
        Fitted intercept ``b`` (0 without ``fit_intercept``); a float for 1-D ``y``.
    n_iter_ : int or list of int
        Epochs run (per target for 2-D ``y``), in ``max_iter``'s unit. With
        ``rule="auto"`` the coordinate epochs within working sets, restricted to those
        sets, are not counted: they are cheaper than a pass over all coefficients
        (``history_`` has one record per outer iteration).
    dual_gap_ : float or ndarray of shape (n_targets,)
        Final duality gap, on the objective's scale.
    history_ : dict of ndarray, or list of dict per target
        Per-iteration ``objective``, ``gap``, ``kkt`` and ``elapsed`` seconds; draw it with
        :func:`numsolve.plotting.plot_convergence`.""",
}

# The settings every estimator shares, in the order of their signatures.
DOC["convergence_parameters"] = "\n    ".join(
    DOC[name] for name in ("fit_intercept", "max_iter", "tol", "warm_start"))
DOC["solver_parameters"] = "\n    ".join(
    DOC[name] for name in ("rule", "update", "block_size", "random_state", "verbose"))


def with_shared_text(obj):
    """Fill the ``{name}`` fields of ``obj``'s docstring from the shared text."""
    obj.__doc__ = obj.__doc__.format(**DOC)
    return obj

