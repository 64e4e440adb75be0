"""Build the Cython kernels in ``csrc/``; all metadata lives in ``pyproject.toml``.

``csrc/`` mirrors the package: ``csrc/linalg/_sor.pyx`` becomes the module
``numsolve.linalg._sor``. Set ``NUMSOLVE_NO_OPENMP=1`` to build without OpenMP, and
``NUMSOLVE_OPTIMIZE`` to a compiler flag other than ``-O3`` (``-O0`` for a quick build that
only checks the packaging). Extensions compile in parallel, one job per CPU.
"""

import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent


def openmp_flags():
    """Return compile and link flags that enable OpenMP, or none where unavailable."""
    if os.environ.get("NUMSOLVE_NO_OPENMP") or sys.platform == "darwin":
        return [], []
    if sys.platform == "win32":
        return ["/openmp"], []
    return ["-fopenmp"], ["-fopenmp"]


def headers(source):
    """C headers beside ``source`` and in the folders above it up to ``csrc/`` (the ones it
    may include), so that editing a header rebuilds the extension."""
    folders = source.relative_to(HERE / "csrc").parents
    return [str(header.relative_to(HERE)) for folder in folders
            for header in sorted((HERE / "csrc" / folder).glob("*.h"))]


def extensions():
    """One extension per ``.pyx`` under ``csrc/``, named after its path."""
    compile_flags, link_flags = openmp_flags()
    if sys.platform != "win32":
        compile_flags = [os.environ.get("NUMSOLVE_OPTIMIZE", "-O3"), *compile_flags]
    modules = []
    for source in sorted((HERE / "csrc").rglob("*.pyx")):
        relative = source.relative_to(HERE / "csrc").with_suffix("")
        flags = compile_flags
        if relative.parts[0] == "neural" and sys.platform != "win32":
            # no fused multiply-add: a boosting loop amplifies the round-off, so a wheel built
            # for a CPU with FMA would fit other models than one built without
            flags = [*compile_flags, "-ffp-contract=off"]
        modules.append(
            Extension(
                "numsolve." + ".".join(relative.parts),
                [str(source.relative_to(HERE))],
                depends=headers(source),
                include_dirs=[np.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
                extra_compile_args=flags,
                extra_link_args=link_flags,
            )
        )
    return modules


setup(
    options={"build_ext": {"parallel": os.cpu_count() or 1}},
    ext_modules=cythonize(
        extensions(),
        nthreads=os.cpu_count() or 1,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
