"""Convergence plots from :class:`~numsolve.SolveResult` histories (matplotlib optional)."""

import numpy as np

__all__ = ["plot_convergence"]

_PREFERRED = ("gap", "residual", "kkt", "objective", "loss", "rmse", "cost")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "plot_convergence needs matplotlib: pip install 'numsolve[plot]'"
        ) from error
    return plt


def plot_convergence(result_or_results, *, y=None, x="iteration", labels=None, ax=None,
                     log=True):
    """Draw one or several convergence histories on one axis.

    Parameters
    ----------
    result_or_results : SolveResult, or list or dict of SolveResult
        Results to draw; a dict maps labels to results.
    y : str, optional
        History key to draw; by default the first of gap, residual, kkt, objective, loss,
        rmse, cost that the first result recorded.
    x : {"iteration", "elapsed"}, default="iteration"
        Horizontal axis: iteration count or seconds.
    labels : list of str, optional
        Legend entries (ignored when a dict is passed).
    ax : matplotlib Axes, optional
        Axis to draw on; a new figure is made otherwise.
    log : bool, default=True
        Logarithmic vertical axis.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from numsolve import SolveResult
    >>> from numsolve.plotting import plot_convergence
    >>> res = SolveResult(np.zeros(1), 3, True, "ok",
    ...                   history={"iteration": np.arange(3.0), "residual": [1, .1, .01]})
    >>> ax = plot_convergence(res)
    """
    plt = _pyplot()
    if isinstance(result_or_results, dict):
        labels, results = list(result_or_results), list(result_or_results.values())
    elif isinstance(result_or_results, (list, tuple)):
        results = list(result_or_results)
    else:
        results = [result_or_results]
    if not results:
        raise ValueError("plot_convergence needs at least one result")
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"got {len(labels)} labels for {len(results)} results")
    key = y or next((k for k in _PREFERRED if k in results[0].history), None)
    if key is None:
        raise ValueError(
            "the result has no history to plot; recorded keys: "
            + (", ".join(results[0].history) or "none")
        )
    if x not in ("iteration", "elapsed"):
        raise ValueError(f"x must be 'iteration' or 'elapsed', got {x!r}")
    if ax is None:
        _, ax = plt.subplots()
    for index, result in enumerate(results):
        if key not in result.history:
            raise ValueError(f"result {index} has no {key!r} in its history")
        values = np.asarray(result.history[key], dtype=float)
        abscissa = np.asarray(result.history.get(x, np.arange(values.size)), dtype=float)
        label = labels[index] if labels is not None else None
        ax.plot(abscissa, values, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("seconds" if x == "elapsed" else "iteration")
    ax.set_ylabel(key)
    if labels is not None:
        ax.legend()
    return ax
