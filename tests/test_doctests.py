"""Every docstring example in numsolve runs as a doctest; the gallery covers every area.

One case per module (public and private), so a reader who copies an Examples section gets
what it shows. Modules that exist only for CuPy are skipped where CuPy is missing. The gallery
scripts (``examples/<area>/plot_*.py``) run when the documentation is built; here they are
only read: at least two per area, each with a title, importing public names only.
"""

import ast
import doctest
import importlib
import importlib.util
import pkgutil
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

import numsolve

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Modules whose import needs CuPy.
CUPY_MODULES = frozenset({"numsolve.linalg._cupy"})


def _module_names():
    names = [numsolve.__name__]
    for info in pkgutil.walk_packages(numsolve.__path__, prefix="numsolve."):
        names.append(info.name)
    return sorted(names)


def _case(name):
    marks = []
    if name in CUPY_MODULES and importlib.util.find_spec("cupy") is None:
        marks.append(pytest.mark.skip(reason="needs CuPy"))
    return pytest.param(name, marks=marks, id=name)


def run_examples(module):
    """Run every docstring example of ``module`` in fresh globals.

    Returns the doctest report of the failing examples (empty when all pass) and the count run.
    """
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    # A warning is an error: an example that warns would print it to a reader who runs it.
    with np.printoptions(precision=8, suppress=False, linewidth=75), warnings.catch_warnings():
        warnings.simplefilter("error")
        for test in finder.find(module, module.__name__):
            # Empty globals: an example must import what it uses, as a reader copying it would.
            test.globs = {"__name__": "__main__"}
            runner.run(test, out=report.append, clear_globs=True)
    return "".join(report), runner.tries


@pytest.mark.parametrize("name", [_case(name) for name in _module_names()])
def test_docstring_examples(name):
    report, _ = run_examples(importlib.import_module(name))
    assert not report, report


def _module_with_example(example):
    module = types.ModuleType("broken_example")
    exec(f"def f():\n    {example!r}\n", module.__dict__)
    return module


def test_a_wrong_example_fails():
    report, tries = run_examples(_module_with_example(">>> 1 + 1\n3\n"))
    assert tries == 1 and "Expected:\n    3\nGot:\n    2" in report


def test_an_example_without_its_import_fails():
    # The module's own names are not in scope: an example must import what it calls.
    module = _module_with_example(">>> f()\n")
    assert "NameError: name 'f' is not defined" in run_examples(module)[0]


def test_an_example_that_warns_fails():
    module = _module_with_example(">>> import warnings\n>>> warnings.warn('noisy')\n")
    assert "UserWarning: noisy" in run_examples(module)[0]


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# The areas are numsolve's subpackages; plotting draws results and solves nothing.
AREAS = sorted(name for name in numsolve.__all__
               if isinstance(getattr(numsolve, name), types.ModuleType) and name != "plotting")


def private_imports(source):
    """The numsolve imports in ``source`` that reach a private module or name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("numsolve"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("numsolve")]
        else:
            continue
        found += [name for name in names if any(part.startswith("_") for part in name.split("."))]
    return found


def test_every_area_has_a_gallery_section_of_two_examples():
    sections = {path.name: len(list(path.glob("plot_*.py")))
                for path in EXAMPLES.iterdir() if path.is_dir()}
    assert sorted(sections) == AREAS
    assert all(count >= 2 for count in sections.values()), sections


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/plot_*.py")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_gallery_example_has_a_title_and_public_imports(path):
    source = path.read_text()
    title, underline = ast.get_docstring(ast.parse(source)).splitlines()[:2]
    assert title and underline == "=" * len(title)
    assert not private_imports(source)


def test_a_private_import_is_found():
    assert private_imports("from numsolve.linalg._safe import SafeSearch\n"
                           "from numsolve.dag import _gaussian\n"
                           "import numsolve.completion._rows\n"
                           "from numsolve.linalg import sor\n") == [
        "numsolve.linalg._safe.SafeSearch", "numsolve.dag._gaussian",
        "numsolve.completion._rows"]
