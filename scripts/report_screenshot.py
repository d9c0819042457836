"""Regenerate screenshots/report.png: the HTML report of the sample fixtures, rendered by headless Chromium.

Run from the repository root: `.venv/bin/python scripts/report_screenshot.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.report.chromium import screenshot  # noqa: E402
from tests.report.sample import sample_report  # noqa: E402

from dockaudit.report.html import render_html  # noqa: E402


def main() -> None:
    """Render and screenshot."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(render_html(sample_report()), encoding="utf-8")
        out = ROOT / "screenshots" / "report.png"
        screenshot(page, out, width=1280, height=1600)
        print(out)


if __name__ == "__main__":
    main()
