"""The neural examples import only public names that exist."""

import ast
import importlib
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _numsolve_imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("numsolve"):
            for alias in node.names:
                yield node.module, alias.name


@pytest.mark.parametrize("name", ["sven.py", "gbnn.py"])
def test_example_imports_public_names(name):
    imports = list(_numsolve_imports(EXAMPLES / name))
    assert imports
    for module, attribute in imports:
        assert not any(part.startswith("_") for part in module.split(".")), module
        assert hasattr(importlib.import_module(module), attribute), (module, attribute)
