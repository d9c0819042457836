"""Writes one benchmark's block into benchmarks/RESULTS.md, replacing only its own marked section."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
_START = re.compile(r"<!-- bench:([a-z-]+):start -->")


def write_block(block: str, path: Path = RESULTS) -> None:
    """Put `block` (from its `<!-- bench:NAME:start -->` marker to its end marker) in place, or append it."""
    match = _START.search(block)
    if match is None:
        raise ValueError("a results block starts with its <!-- bench:NAME:start --> marker")
    start, end = match.group(0), f"<!-- bench:{match.group(1)}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block.strip() + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block.strip() + "\n"
    path.write_text(text, encoding="utf-8")
