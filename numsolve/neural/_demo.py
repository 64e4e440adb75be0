"""Demo rows of the neural area (see :mod:`numsolve._demo`)."""

from ._sven_demo import demo as sven_demo


def demo():
    """Rows of every neural solver's demo."""
    return sven_demo()
