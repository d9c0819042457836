#!/usr/bin/env python3
"""Compile `parse/data/known_images.toml` into the JSON the package reads (`--check` exits 1 when it is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

from dockaudit.parse.base_images import compile_table

DATA = Path(__file__).resolve().parent.parent / "src" / "dockaudit" / "parse" / "data"


def main(argv: list[str]) -> int:
    """Write the JSON, or with `--check` only compare."""
    wanted = compile_table((DATA / "known_images.toml").read_text(encoding="utf-8"))
    target = DATA / "known_images.json"
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if "--check" in argv:
        if current != wanted:
            sys.stderr.write("parse/data/known_images.json is stale: run scripts/gen_known_images.py\n")
            return 1
        return 0
    if current != wanted:
        target.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
