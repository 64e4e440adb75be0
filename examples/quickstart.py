"""numsolve quickstart: run every solver on built-in or generated data and print a summary.

Run with ``python examples/quickstart.py`` (the same as ``python -m numsolve demo``).
"""

from numsolve._demo import run_demo

if __name__ == "__main__":
    run_demo()
