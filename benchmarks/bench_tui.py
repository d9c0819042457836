"""TUI start-up: process start to a rendered list of 1,000 images and 300 containers, and RSS then.

Runs the app headless in child processes (so imports count), on the fixed-data backend padded to
1,000 images / 300 containers, and on the real engine; times `docker images` on the same engine in the
same run. Also times list operations on the 1,000 rows (filter keystroke, sort). Rewrites its block of
benchmarks/RESULTS.md. Usage: `.venv/bin/python benchmarks/bench_tui.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from results import write_block  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:tui:start -->", "<!-- bench:tui:end -->"
N_IMAGES, N_CONTAINERS = 1000, 300
SIZE = (160, 48)


def verdict(ok: bool) -> str:
    """`pass` or `FAIL` for the table."""
    return "pass" if ok else "FAIL"


def rss_mb() -> float:
    """Resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def child(mode: str) -> None:
    """Start the app, report when the list is painted, then time list operations."""
    # Time the work, not cosmetic animations (the tab underline slides for 300 ms after a label change).
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    from dockaudit.audit import AuditOptions
    from dockaudit.config import Settings
    from dockaudit.tui.app import make_app
    from dockaudit.tui.backend import Connector, EngineConnector
    from dockaudit.tui.screens.main import MainScreen

    sys.path.insert(0, str(ROOT))  # the test helpers (settle) live in tests/, not in the package
    from tests.tui.settle import settle

    connector: Connector
    if mode == "demo":
        from dockaudit.tui.demo import DemoConnector

        connector = DemoConnector(extra_images=N_IMAGES - 6, extra_containers=N_CONTAINERS - 4)
    else:
        connector = EngineConnector(AuditOptions(settings=Settings()))
    app = make_app(connector, watch_events=False, ascii_borders=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        while not (isinstance(screen, MainScreen) and screen.inventory.images):
            await pilot.pause()
            screen = app.screen
        table = screen.browser("image").table
        while table.row_count < len(screen.inventory.images):
            await pilot.pause()
        await pilot.pause()  # one more refresh: the rows are on screen
        print(
            json.dumps(
                {
                    "painted": True,
                    "rows": table.row_count,
                    "containers": len(screen.inventory.containers),
                    "rss": rss_mb(),
                }
            ),
            flush=True,
        )
        await settle(app, pilot)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        await pilot.press("slash", "s", "v", "c", "1")
        await pilot.pause()
        timings["filter_ms"] = (time.perf_counter() - t) * 1000 / 5
        await pilot.press("escape")
        t = time.perf_counter()
        await pilot.press("s")
        await pilot.pause()
        timings["sort_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        await pilot.press("down")
        await pilot.pause()
        timings["move_ms"] = (time.perf_counter() - t) * 1000
        timings["rss_after"] = rss_mb()
        print(json.dumps(timings), flush=True)


def run_child(mode: str) -> tuple[float, dict[str, float], dict[str, float]]:
    """Wall time from spawn to the painted line, the painted line, and the operations line."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    painted = json.loads(proc.stdout.readline())
    paint_s = time.perf_counter() - start
    ops = json.loads(proc.stdout.readline())
    proc.wait(timeout=120)
    return paint_s, painted, ops


def docker_images_s() -> tuple[float, int]:
    """Wall time of `docker images` (the CLI listing the same engine) and its row count."""
    start = time.perf_counter()
    out = subprocess.run(["docker", "images", "-a"], capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, max(0, len(out.splitlines()) - 1)


def main() -> int:
    """Measure, then rewrite the RESULTS.md block."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("demo", "engine"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child))
        return 0
    demo_paint, demo_rss, engine_paint, engine_rss, docker, ops = [], [], [], [], [], []
    engine_rows = docker_rows = containers = 0
    for _ in range(args.runs):  # interleaved so load drift hits every measurement alike
        paint, painted, op = run_child("demo")
        demo_paint.append(paint)
        demo_rss.append(painted["rss"])
        assert painted["rows"] == N_IMAGES and painted["containers"] == N_CONTAINERS, painted
        ops.append(op)
        paint, painted, _ = run_child("engine")
        engine_paint.append(paint)
        engine_rss.append(painted["rss"])
        engine_rows, containers = painted["rows"], painted["containers"]
        seconds, docker_rows = docker_images_s()
        docker.append(seconds)
    med = statistics.median
    paint_s, rss = med(demo_paint), max(demo_rss)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lists = f"{N_IMAGES} images + {N_CONTAINERS} containers"
    block = f"""{START}
### TUI start-up (benchmarks/bench_tui.py, {now})

Headless Textual app at {SIZE[0]}x{SIZE[1]} in a fresh process (imports included), time from spawn to the
image list painted; list operations timed until the next rendered frame (animations off);
median of {args.runs} interleaved runs; {platform.machine()}, CPython {platform.python_version()}, load average
{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other sessions were testing on this machine).

| measurement | value | target | result |
| --- | --- | --- | --- |
| start → list painted, {lists} (fixed data) | {paint_s:.2f} s | <= 1.5 s | {verdict(paint_s <= 1.5)} |
| resident memory then (max of runs) | {rss:.0f} MB | <= 200 MB | {verdict(rss <= 200)} |
| filter keystroke on {N_IMAGES} rows (re-filter and redraw) | {med(o["filter_ms"] for o in ops):.0f} ms | | |
| sort cycle on {N_IMAGES} rows | {med(o["sort_ms"] for o in ops):.0f} ms | | |
| cursor move | {med(o["move_ms"] for o in ops):.0f} ms | | |
| start → list painted, real engine ({engine_rows} images, {containers} containers) | {med(engine_paint):.2f} s | | |
| resident memory then, real engine | {max(engine_rss):.0f} MB | | |
| `docker images -a` on the same engine ({docker_rows} rows) | {med(docker):.2f} s | | |
{END}"""
    write_block(block)
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
