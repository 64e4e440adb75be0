"""The Sven demo rows."""

from numsolve.neural._sven._demo import demo


def test_demo_rows():
    rows = demo()
    assert [row["solver"] for row in rows] == ["SvenRegressor", "sven"]
    for row in rows:
        assert set(row) == {"solver", "problem", "quality", "seconds"} and row["seconds"] >= 0
