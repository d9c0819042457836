"""`dockaudit rules`: placeholder until its issue lands."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    sub.add_parser("rules", help="(not yet available)")


def run(args: argparse.Namespace) -> int:
    """Not implemented yet."""
    raise SystemExit("dockaudit rules: not implemented yet")
