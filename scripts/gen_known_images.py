#!/usr/bin/env python3
"""Compile `parse/data/known_images.toml` into the JSON the package reads (`--check` exits 1 when it is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

from generated import write_or_check  # scripts/ is on sys.path when a script runs

from dockaudit.parse.base_images import compile_table

DATA = Path(__file__).resolve().parent.parent / "src" / "dockaudit" / "parse" / "data"


def main(argv: list[str]) -> int:
    """Write the JSON, or with `--check` only compare."""
    wanted = compile_table((DATA / "known_images.toml").read_text(encoding="utf-8"))
    stale = "parse/data/known_images.json is stale: run scripts/gen_known_images.py"
    return write_or_check(DATA / "known_images.json", wanted, argv, stale)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
