"""The linalg demo runs and reports converged solves."""

from numsolve.linalg._demo import demo


def test_demo_rows():
    rows = demo()
    assert len(rows) == 7
    for row in rows:
        assert set(row) == {"solver", "problem", "quality", "seconds"}
        assert row["seconds"] >= 0
