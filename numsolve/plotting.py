"""Convergence plots from :class:`~numsolve.SolveResult` histories (matplotlib optional)."""

import numpy as np

__all__ = ["plot_convergence"]

_PREFERRED = ("gap", "residual", "kkt", "objective", "loss", "score", "rmse", "cost")
# Bookkeeping columns every history has; never the default curve.
_AXES = ("iteration", "elapsed")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "plot_convergence needs matplotlib: pip install 'numsolve[plot]'"
        ) from error
    return plt


def _histories(source, label=None):
    """``(label, history dict)`` pairs of a result, a fitted estimator, or a list/dict of them."""
    if isinstance(source, dict) and not hasattr(source, "history"):
        return [pair for name, item in source.items() for pair in _histories(item, name)]
    if isinstance(source, (list, tuple)):
        return [pair for item in source for pair in _histories(item, label)]
    if isinstance(getattr(source, "history", None), dict):  # SolveResult
        return [(label, source.history)]
    if hasattr(source, "result_"):
        return _histories(source.result_, label)
    history = getattr(source, "history_", None)
    if isinstance(history, dict):
        return [(label, history)]
    if isinstance(history, list):  # one history per target
        names = [None if label is None else f"{label} [{k}]" for k in range(len(history))]
        return [(name, h) for name, h in zip(names, history)]
    raise TypeError(
        "plot_convergence draws a SolveResult, a fitted estimator with history_ or result_, "
        f"or a list or dict of them; got {type(source).__name__}")


def _default_key(history):
    """The first preferred figure the history recorded, else its first figure."""
    figures = [key for key in history if key not in _AXES]
    return next((key for key in _PREFERRED if key in figures), figures[0] if figures else None)


def plot_convergence(result_or_results, *, y=None, x="iteration", labels=None, ax=None,
                     log=True):
    """Draw one or several convergence histories on one axis.

    Parameters
    ----------
    result_or_results : SolveResult or fitted estimator, or list or dict of them
        Histories to draw: a result's ``history``, or an estimator's ``history_`` (one
        curve per target when it holds several) or ``result_``; a dict maps labels to them.
    y : str, optional
        History key to draw; by default the first of gap, residual, kkt, objective, loss,
        score, rmse, cost that the first history recorded, else its first figure.
    x : {"iteration", "elapsed"}, default="iteration"
        Horizontal axis: iteration count or seconds.
    labels : list of str, optional
        Legend entries, one per curve (ignored when a dict is passed).
    ax : matplotlib Axes, optional
        Axis to draw on; a new figure is made otherwise.
    log : bool, default=True
        Logarithmic vertical axis. Values that are not positive (a gap of exactly zero)
        are left out of the curve; when no value is positive the axis stays linear.

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
    curves = _histories(result_or_results)
    if not curves:
        raise ValueError("plot_convergence needs at least one result")
    if isinstance(result_or_results, dict):
        labels = [label for label, _ in curves]
    elif labels is not None and len(labels) != len(curves):
        raise ValueError(f"got {len(labels)} labels for {len(curves)} histories")
    key = y or _default_key(curves[0][1])
    if key is None:
        raise ValueError(
            "the result has no history to plot; recorded keys: "
            + (", ".join(curves[0][1]) or "none")
        )
    if x not in _AXES:
        raise ValueError(f"x must be 'iteration' or 'elapsed', got {x!r}")
    columns = []
    for index, (_, history) in enumerate(curves):
        if key not in history:
            raise ValueError(f"result {index} has no {key!r} in its history")
        values = np.asarray(history[key], dtype=float)
        columns.append((np.asarray(history.get(x, np.arange(values.size)), dtype=float),
                        values))
    log = log and any(np.any(values > 0) for _, values in columns)
    if ax is None:
        _, ax = plt.subplots()
    for index, (abscissa, values) in enumerate(columns):
        if log:
            values = np.where(values > 0, values, np.nan)
        ax.plot(abscissa, values, label=labels[index] if labels is not None else None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("seconds" if x == "elapsed" else "iteration")
    ax.set_ylabel(key)
    if labels is not None:
        ax.legend()
    return ax
