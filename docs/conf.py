"""Sphinx configuration of numsolve's documentation.

Build: ``sphinx-build -W -b html docs docs/_build/html`` from the repository root.
Intersphinx links to NumPy, SciPy and scikit-learn need their inventories from the network;
they are off unless ``NUMSOLVE_DOCS_INTERSPHINX=1`` is set, so that an offline build has no
warning (unresolved references then render as plain code).
"""

import os
import sys
from pathlib import Path

from sphinx_gallery.sorting import ExplicitOrder

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

from api_pages import write_api_pages  # noqa: E402  (needs the docs folder on the path)
from result_pages import write_result_pages  # noqa: E402

import numsolve  # noqa: E402

project = "numsolve"
author = "numsolve developers"
copyright = "numsolve developers"
release = numsolve.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
if os.environ.get("NUMSOLVE_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "numpy": ("https://numpy.org/doc/stable/", None),
        "scipy": ("https://docs.scipy.org/doc/scipy/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
    }

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
# numpydoc lists the methods itself; autosummary's own member tables would repeat them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"numsolve {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

# One gallery section per area, in the user guide's order.
AREAS = ["linear_model", "linalg", "semi_supervised", "completion", "dag", "neural"]

# Paths relative to this folder: sphinx-gallery writes them into the toctrees of the sections.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # The gallery holds the scripts named plot_*: each is run and its figures kept. The
    # others print tables for a terminal and carry no gallery title.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(^|/)(?!plot_)[^/]*\.py$",
    "download_all_examples": False,
    "remove_config_comments": True,
    "subsection_order": ExplicitOrder([f"../examples/{area}" for area in AREAS]),
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
}


def skip_foreign_member(app, what, name, obj, skip, options):
    """Document only members numsolve defines.

    Methods that scikit-learn's base classes add (``score``, ``set_params``, the generated
    ``set_fit_request``) are documented by scikit-learn; their docstrings cite its own pages.
    """
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and callable(obj) and not module.startswith("numsolve"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", skip_foreign_member)


# One reference page per public name, listed from each area's __all__ so none can be missed.
write_api_pages(DOCS / "api")
write_result_pages(DOCS / "benchmarks", DOCS.parent / "benchmarks" / "results")
