"""Demo rows of the neural area (see :mod:`numsolve._demo`)."""

from .gbnn._demo import demo as gbnn_demo
from ._sven._demo import demo as sven_demo

__all__ = ["demo"]


def demo():
    """Rows of every neural solver's demo: GBNN, then Sven."""
    return gbnn_demo() + sven_demo()
