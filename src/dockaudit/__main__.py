"""`python -m dockaudit`."""

from __future__ import annotations

from dockaudit.cli import console

raise SystemExit(console())
