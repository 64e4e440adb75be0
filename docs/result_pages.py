"""Write one page per benchmark table of ``benchmarks/results/``, headed by its command."""

from pathlib import Path

_QUICK = "_quick"


def command_for(stem):
    """The command that writes ``benchmarks/results/<stem>.md``."""
    if stem.endswith(_QUICK):
        return f"python benchmarks/run.py {stem[:-len(_QUICK)]} --quick"
    return f"python benchmarks/run.py {stem}"


def _page(table, relative):
    lines = [f"# {table.stem}", ""]
    if "Command:" in table.read_text():
        lines += ["The table states the command that made it.", ""]
    else:
        lines += ["Made by", "", "```bash", command_for(table.stem), "```", "",
                  "from the repository root, after `pip install \".[test,bench]\"`; "
                  "`--case TEXT` runs only the cases whose name contains the text.", ""]
    lines += ["```{include} " + relative, ":heading-offset: 1", "```", ""]
    return "\n".join(lines)


def write_result_pages(folder, results):
    """Write ``index.md`` and a page per markdown table of ``results`` into ``folder``."""
    folder, results = Path(folder), Path(results)
    folder.mkdir(exist_ok=True)
    tables = sorted(results.glob("*.md"))
    pages = {f"{t.stem}.md": _page(t, Path("..", "..", "benchmarks", "results", t.name).as_posix())
             for t in tables}
    pages["index.md"] = "\n".join(
        ["# Benchmarks", "",
         "Side-by-side runs against the peers a user would otherwise pick, on the same "
         "problems, seeds and stopping criteria; medians of alternating rounds. Timings "
         "depend on the machine named in each table.", "", "```{toctree}", ":maxdepth: 1", ""]
        + [t.stem for t in tables] + ["```", ""])
    for name, text in pages.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
