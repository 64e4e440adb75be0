"""The source distribution carries the Cython sources, and the built package has kernels."""

import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_compiled_extensions_are_importable():
    """Every csrc/**/*.pyx is built into the module named after its path."""
    sources = sorted((ROOT / "csrc").rglob("*.pyx"))
    if not sources:
        pytest.skip("no Cython sources")
    for source in sources:
        relative = source.relative_to(ROOT / "csrc").with_suffix("")
        module = importlib.import_module("numsolve." + ".".join(relative.parts))
        assert module.__file__.endswith((".so", ".pyd")), module.__file__


@pytest.mark.skipif(not (ROOT / "setup.py").exists(), reason="needs a source checkout")
def test_sdist_grafts_csrc(tmp_path):
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    tree = tmp_path / "tree"
    for name in tracked.stdout.split():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(tree)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (archive,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    pyx = [n for n in names if n.endswith(".pyx")]
    expected = {str(p.relative_to(ROOT)) for p in (ROOT / "csrc").rglob("*.pyx")}
    assert expected <= {n.split("/", 1)[1] for n in pyx}
    assert not [n for n in names if n.endswith(".so")]
    if not expected:
        return
    # unoptimised: this checks what goes into the wheel, not the kernels' speed
    wheel = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheel"),
         str(archive)], capture_output=True, text=True,
        env={**os.environ, "NUMSOLVE_OPTIMIZE": "-O0"},
    )
    assert wheel.returncode == 0, wheel.stderr[-2000:]
    (built,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(built) as zipped:
        extensions = {n for n in zipped.namelist() if n.endswith(".so")}
    for source in expected:
        module = Path(source).relative_to("csrc").with_suffix("")
        assert any(n.startswith("numsolve/" + module.as_posix() + ".") for n in extensions)
