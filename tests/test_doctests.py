"""Every docstring example in numsolve runs as a doctest.

One case per module (public and private), so a reader who copies an Examples section gets
what it shows. Modules that exist only for CuPy are skipped where CuPy is missing.
"""

import doctest
import importlib
import importlib.util
import pkgutil
import types
import warnings

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
