#!/usr/bin/env python3
"""Regenerate the rule table in README.md from the registry (`--check` exits 1 when it is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

from generated import write_or_check  # scripts/ is on sys.path when a script runs

from dockaudit.rules.catalog_table import all_rules, markdown_table, readme_with_table

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str]) -> int:
    """Write the table, or with `--check` only compare."""
    wanted = readme_with_table(README.read_text(encoding="utf-8"), markdown_table(all_rules()))
    return write_or_check(README, wanted, argv, "README.md rule table is stale: run scripts/gen_readme_rules.py")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
