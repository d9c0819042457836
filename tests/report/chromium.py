"""Headless Chromium for the HTML report: dump the DOM after scripts ran, and take screenshots."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Give the page's script time to run before the DOM is dumped or the screenshot taken.
    "--virtual-time-budget=2000",
)


def _run(extra: list[str], page: Path, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="dockaudit-chromium-") as profile:
        argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(page: Path) -> str:
    """The DOM as Chromium serialises it after loading the page and running its scripts."""
    proc = _run(["--dump-dom"], page)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc.stdout


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1600) -> None:
    """A PNG of the page at the given window size."""
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = _run([f"--screenshot={out.resolve()}", f"--window-size={width},{height}"], page)
    assert proc.returncode == 0 and out.exists(), f"chromium screenshot failed: {proc.stderr[-2000:]}"
