#!/usr/bin/env python3
"""Regenerate the rule table in README.md from the registry (`--check` exits 1 when it is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

from dockaudit.rules.catalog_table import all_rules, markdown_table, readme_with_table

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str]) -> int:
    """Write the table, or with `--check` only compare."""
    current = README.read_text(encoding="utf-8")
    wanted = readme_with_table(current, markdown_table(all_rules()))
    if "--check" in argv:
        if current != wanted:
            sys.stderr.write("README.md rule table is stale: run scripts/gen_readme_rules.py\n")
            return 1
        return 0
    if current != wanted:
        README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
