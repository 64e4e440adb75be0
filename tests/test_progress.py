"""The shared verbose helper: silent by default, a bar on stderr when asked."""

from numsolve._progress import progress


def test_silent_by_default(capsys):
    with progress(5, verbose=0, desc="quiet") as bar:
        bar.update(5)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_verbose_shows_progress_on_stderr(capsys):
    with progress(4, verbose=1, desc="solver", unit="sweep") as bar:
        for _ in range(4):
            bar.update(1)
            bar.set_postfix(residual=1e-3)
    err = capsys.readouterr().err
    assert "solver" in err and "4/4" in err
