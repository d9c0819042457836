"""`dockaudit rules`: print the rule catalog from the registry, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dockaudit.errors import UsageError
from dockaudit.model import Severity


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser(
        "rules",
        help="list the rule catalog",
        description="List every checklist rule with its default severity, section and references.",
    )
    parser.add_argument("--json", action="store_true", help="print the catalog as JSON")
    parser.add_argument("--section", metavar="TEXT", help="only rules whose checklist section contains TEXT")
    parser.add_argument(
        "--severity",
        metavar="LEVEL",
        help="only rules of this default severity (critical, high, medium, low, info)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the (filtered) catalog to stdout."""
    from dockaudit.rules.catalog_table import all_rules, as_json, select

    if args.severity:
        try:
            Severity.parse(args.severity)
        except ValueError:
            raise UsageError(f"unknown severity {args.severity!r} (critical, high, medium, low, info)") from None
    rules = select(all_rules(), args.section, args.severity)
    if args.json:
        json.dump([as_json(r) for r in rules], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"dockaudit rules ({len(rules)})", title_justify="left")
    table.add_column("ID", no_wrap=True)
    table.add_column("Slug", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Section")
    table.add_column("Title")
    for r in rules:
        table.add_row(r.id, r.slug, r.severity.label, str(r.section), r.title)
    Console(soft_wrap=False).print(table)
    return 0
