"""The demo command runs every solver that exists and prints a readable summary."""

import subprocess
import sys

from numsolve._demo import discover, run_demo


def test_demo_rows_are_complete():
    lines = []
    rows = run_demo(out=lines.append)
    assert len(rows) == sum(len(m.demo()) for m in discover()) or not rows
    for row in rows:
        assert set(row) >= {"solver", "problem", "quality", "seconds"}
        assert row["seconds"] >= 0
    assert lines[-1].endswith("s") and "demos in" in lines[-1]


def test_command_line_entry_point():
    result = subprocess.run([sys.executable, "-m", "numsolve", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
