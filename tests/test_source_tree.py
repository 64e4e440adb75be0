"""Python started in an unbuilt source tree gets an ImportError that says how to build it."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not (ROOT / "csrc").is_dir(), reason="needs a source checkout")

IMPORT = "import numsolve, numsolve.linalg; print(numsolve.__file__)"


def source_tree(destination):
    """Copy ``numsolve/`` and ``csrc/`` without any built kernel to ``destination``."""
    for folder in ("numsolve", "csrc"):
        shutil.copytree(ROOT / folder, destination / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd"))
    return destination


def run_in(folder):
    """``python -c IMPORT`` started in ``folder``, which puts that folder first on sys.path."""
    return subprocess.run([sys.executable, "-c", IMPORT], cwd=folder, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin"})


def test_unbuilt_tree_says_how_to_build(tmp_path):
    result = run_in(source_tree(tmp_path))
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("ImportError: numsolve is being imported from its source tree")
    assert "numsolve.linalg._sor" in message
    assert "pip install -e . --no-build-isolation" in message
    assert "python setup.py build_ext --inplace" in message
    assert "partially initialized" not in result.stderr


def test_built_tree_imports(tmp_path):
    tree = source_tree(tmp_path)
    for source in (ROOT / "csrc").rglob("*.pyx"):  # the kernels this test process imports
        name = "numsolve." + ".".join(source.relative_to(ROOT / "csrc").with_suffix("").parts)
        kernel = Path(importlib.import_module(name).__file__)
        shutil.copy2(kernel, tree / kernel.relative_to(kernel.parents[len(name.split(".")) - 1]))
    result = run_in(tree)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(tmp_path / "numsolve" / "__init__.py")
