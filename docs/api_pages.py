"""Write the API reference's source pages from the public names of every area.

Each area's ``__all__`` is the list: a name added to the package gets its page at the next
build, and one without a docstring fails the build (``sphinx-build -W``).
"""

import importlib
from pathlib import Path

import numsolve

AREAS = {
    "numsolve": "Results",
    "numsolve.linear_model": "Linear models: block coordinate descent",
    "numsolve.linalg": "Linear systems: SOR with a learned relaxation",
    "numsolve.semi_supervised": "Semi-supervised learning: label propagation",
    "numsolve.completion": "Matrix completion",
    "numsolve.dag": "DAG structure learning",
    "numsolve.neural": "Neural networks: GBNN and Sven",
    "numsolve.plotting": "Plotting",
}


def public_names(module_name):
    """The documented names of a module: its ``__all__`` less the areas and the version."""
    module = importlib.import_module(module_name)
    skipped = set(numsolve._AREAS) | {"__version__"}
    return [name for name in module.__all__ if name not in skipped]


def _page(module_name, title):
    lines = [title, "=" * len(title), "", f".. currentmodule:: {module_name}", "",
             f".. automodule:: {module_name}", "   :no-members:", "",
             ".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
    lines += [f"   {name}" for name in public_names(module_name)]
    return "\n".join(lines) + "\n"


def write_api_pages(folder):
    """Write ``index.rst`` and one page per area into ``folder`` (only when changed)."""
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    pages = {f"{name}.rst": _page(name, title) for name, title in AREAS.items()}
    toc = "\n".join(f"   {name[:-4]}" for name in pages)
    pages["index.rst"] = ("API reference\n=============\n\nEvery public name, with the "
                          "docstring it carries.\n\n.. toctree::\n   :maxdepth: 1\n\n"
                          + toc + "\n")
    for name, text in pages.items():
        path = folder / name
        # Rewriting an unchanged page would make Sphinx rebuild it each time.
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
