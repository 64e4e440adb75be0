"""Progress reporting shared by the solvers: a tqdm bar at ``verbose > 0``, silent otherwise."""

from tqdm.auto import tqdm

__all__ = ["progress"]


def progress(total, verbose=0, desc=None, unit="it"):
    """Return a progress bar for a loop of at most ``total`` steps.

    Parameters
    ----------
    total : int or None
        Iteration budget (the bar may close early when the solver converges).
    verbose : int, default=0
        0 is silent; any positive value shows a bar on standard error.
    desc : str, optional
        Label shown before the bar (the solver's name).
    unit : str, default="it"
        What one step is ("epoch", "sweep", "round", ...).

    Returns
    -------
    tqdm.tqdm
        Use ``bar.update(1)`` and ``bar.set_postfix(...)`` in the loop and close it (or use it
        as a context manager). When silent the bar is disabled and costs nothing.

    Examples
    --------
    >>> from numsolve._progress import progress
    >>> with progress(3, verbose=0, desc="demo") as bar:
    ...     for _ in range(3):
    ...         bar.update(1)
    """
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not verbose or verbose <= 0,
        leave=True,
        mininterval=0.2,
        dynamic_ncols=True,
    )
