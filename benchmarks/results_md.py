"""Shared helper of the benchmark scripts: replace one marked section of benchmarks/RESULTS.md."""

from pathlib import Path


def write_section(path: Path, section: str, md: str) -> None:
    """Put ``md`` between ``<!-- section:begin -->`` / ``<!-- section:end -->`` (appended if absent)."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = f"{begin}\n{md}{end}\n"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if begin in text and end in text:
        pre, rest = text.split(begin, 1)
        post = rest.split(end, 1)[1].lstrip("\n")
        text = pre + block + ("\n" + post if post else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)
