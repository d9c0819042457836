"""Regenerate the TUI screenshots in screenshots/ (SVG) from the app on fixed demo data.

Run from the repository root: `.venv/bin/python scripts/screenshots.py [--png DIR]`; `--png` also renders
each SVG with `rsvg-convert -w 1000` into DIR, to look at them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Pictures must not depend on animation timing (the indeterminate progress bar moves with the clock).
os.environ["TEXTUAL_ANIMATIONS"] = "none"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the scenes are test helpers: they live in tests/, not in the package

from tests.tui.scenes import SCENES, Scene, scene_connector  # noqa: E402

from dockaudit.tui.app import make_app  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)
"""Wide enough for the side-by-side layout to stay readable in a README."""

WANTED = (
    "image-list",
    "scanning",
    "findings",
    "vulnerabilities",
    "dockerfile-diff",
    "container-runtime",
    "overview",
    "export-dialog",
    "help",
    "engine-error",
)


async def shoot(scene: Scene, path: Path) -> None:
    """Run the demo app to a scene and save its SVG."""
    demo = scene_connector(scene)
    app = make_app(demo, watch_events=False, theme="dark", ascii_borders=False)
    async with app.run_test(size=SIZE) as pilot:
        await scene.steps(pilot)
        app.save_screenshot(filename=path.name, path=str(path.parent))


def main() -> None:
    """Write every wanted scene's SVG; optionally render PNGs to look at."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--png", type=Path, help="also write PNGs here (needs rsvg-convert)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    scenes = {s.name: s for s in SCENES}
    for name in WANTED:
        svg = OUT / f"tui-{name}.svg"
        asyncio.run(shoot(scenes[name], svg))
        print(svg.relative_to(ROOT))
        if args.png is not None and shutil.which("rsvg-convert"):
            args.png.mkdir(parents=True, exist_ok=True)
            png = args.png / f"tui-{name}.png"
            subprocess.run(["rsvg-convert", "-w", "1000", str(svg), "-o", str(png)], check=True)


if __name__ == "__main__":
    main()
