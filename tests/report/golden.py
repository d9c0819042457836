"""Golden-file comparison: `DOCKAUDIT_UPDATE_GOLDEN=1 pytest` rewrites the files instead of comparing."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"


def check_golden(name: str, actual: str) -> None:
    """Fail with a diff unless `actual` equals tests/golden/NAME (or rewrite it when asked)."""
    path = GOLDEN_DIR / name
    if os.environ.get("DOCKAUDIT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with DOCKAUDIT_UPDATE_GOLDEN=1 to create it", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), f"golden/{name}", "actual", lineterm="")
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"{name} differs from its golden file (DOCKAUDIT_UPDATE_GOLDEN=1 if intended):\n{shown}", pytrace=False
        )
