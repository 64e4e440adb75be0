"""numsolve: numerical solvers from recent papers.

Layers: scikit-learn estimators (``numsolve.<area>.<Estimator>``) over low-level solver
functions that return a :class:`SolveResult`, over kernels compiled ahead of time (Cython) for
NumPy/SciPy inputs and an array-namespace path that keeps CuPy or torch arrays on their device.

Areas, imported on first use: ``linalg`` (SOR with a bandit-tuned omega), ``linear_model``
(block coordinate descent), ``semi_supervised`` (label propagation), ``completion`` (matrix
completion), ``dag`` (DAG structure learning), ``neural`` (gradient-boosted networks, Sven).
"""

import importlib

from ._result import SolveResult


def _unbuilt_kernels():
    """Cython modules missing beside a source checkout's package (none when installed).

    ``csrc/`` sits next to the package only in a source tree; a wheel or an editable install
    has every module of it built. Python started in the repository root imports that tree.
    """
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    package = Path(__file__).resolve().parent
    sources = package.parent / "csrc"
    if not sources.is_dir():
        return []
    missing = []
    for source in sorted(sources.rglob("*.pyx")):
        module = source.relative_to(sources).with_suffix("")
        built = package / module.parent
        if not any((built / (module.name + suffix)).is_file() for suffix in EXTENSION_SUFFIXES):
            missing.append("numsolve." + ".".join(module.parts))
    return missing


_unbuilt = _unbuilt_kernels()
if _unbuilt:
    raise ImportError(
        f"numsolve is being imported from its source tree ({__path__[0]}) whose compiled "
        f"kernels are not built: {', '.join(_unbuilt)}. "
        "For development, build them in place with `pip install -e . --no-build-isolation` "
        "(or `python setup.py build_ext --inplace`) in the repository root; to use an "
        "installed numsolve, start Python from another folder."
    )

__version__ = "0.1.0.dev0"

_AREAS = (
    "linalg", "linear_model", "semi_supervised", "completion", "dag", "neural", "plotting",
)

__all__ = ["SolveResult", "__version__", *_AREAS]


def __getattr__(name):
    if name in _AREAS:
        return importlib.import_module(f"numsolve.{name}")
    raise AttributeError(f"module 'numsolve' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_AREAS))
