"""TUI start-up, and audit-all at fleet scale.

Start-up (default): process start to a rendered list of 1,000 images and 300 containers, and RSS then. Runs
the app headless in child processes (so imports count), on the fixed-data backend padded to 1,000 images /
300 containers, and on the real engine; times `docker images` on the same engine in the same run. Also times
list operations on the 1,000 rows (filter keystroke, sort). Usage: `.venv/bin/python benchmarks/bench_tui.py
[--runs N]`.

Audit-all (`--audit-all`): loads 1,000 distinct images sharing one busybox layer with one `docker load` and
makes 300 containers from them (20 running), then, interleaved per run: `dockaudit scan --all-images
--no-trivy` as a fresh process (the baseline); the TUI headless under Pilot at 80x24 pressing `A` and
probing keys (Down/Up) until the audit ends; and the real `dockaudit tui --no-trivy` in tmux at 80x24 over
`ssh 127.0.0.1` (a private sshd), timing first paint, keys (send-keys until the cursor row moves on the
captured screen) and the audit. Removes what it made unless `--keep`. Usage: `.venv/bin/python
benchmarks/bench_tui.py --audit-all [--runs N] [--keep]`.

Each mode rewrites its own block of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from results import write_block  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:tui:start -->", "<!-- bench:tui:end -->"
AUDIT_START, AUDIT_END = "<!-- bench:tui-audit-all:start -->", "<!-- bench:tui-audit-all:end -->"
N_IMAGES, N_CONTAINERS = 1000, 300
N_RUNNING = 20
SIZE = (160, 48)
SMALL = (80, 24)
FLEET_REPO = "dockaudit-bench/tui-fleet"
PROBE_GAP_S = 0.05
"""Pause between key probes during audit-all (a user pressing keys, not a flood)."""
POLL_GAP_S = 0.005
"""Pause between screen captures while a key's answer is awaited (the latency's resolution)."""


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
    from dockaudit.audit_options import AuditOptions
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


async def child_audit_all() -> None:
    """Headless at 80x24 on the real engine: paint, press A, probe Down/Up until the audit ends."""
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    from textual.screen import Screen
    from textual.widgets import DataTable

    from dockaudit.audit_options import AuditOptions
    from dockaudit.config import Settings
    from dockaudit.tui.app import make_app
    from dockaudit.tui.backend import EngineConnector
    from dockaudit.tui.screens.main import MainScreen
    from dockaudit.tui.widgets.audit_progress import AuditProgress

    # When the cursor moved and when each frame was composed: a key's latency is until the first frame after
    # the move (what a terminal would be sent), not until Pilot's press() returns (that waits for the whole
    # process, the thread reading the audit's results included, to go idle for 20 ms).
    frames: list[float] = []
    moves: list[float] = []
    compose_frame, watch_cursor = Screen._compositor_refresh, DataTable.watch_cursor_coordinate

    def timed_frame(screen: Screen[Any]) -> None:
        compose_frame(screen)
        frames.append(time.perf_counter())

    def timed_move(table: DataTable[Any], old: Any, new: Any) -> None:
        moves.append(time.perf_counter())
        watch_cursor(table, old, new)

    Screen._compositor_refresh = timed_frame  # type: ignore[method-assign,assignment]
    DataTable.watch_cursor_coordinate = timed_move  # type: ignore[method-assign,assignment]
    options = AuditOptions(settings=Settings(), scanners=frozenset({"checklist"}))
    app = make_app(EngineConnector(options), watch_events=False, ascii_borders=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        while not (isinstance(screen, MainScreen) and screen.inventory.images):
            await pilot.pause()
            screen = app.screen
        table = screen.browser("image").table
        while table.row_count < len(screen.inventory.images):
            await pilot.pause()
        await pilot.pause()
        print(json.dumps({"painted": True, "rows": table.row_count}), flush=True)
        await pilot.pause(0.5)
        await pilot.press("A")
        progress = screen.query_one("#audit-progress", AuditProgress)
        latencies: list[float] = []
        to_frame: list[float] = []
        while progress.running:
            moved = len(moves)
            start = time.perf_counter()
            await pilot.press("down" if len(latencies) % 2 == 0 else "up")
            latencies.append((time.perf_counter() - start) * 1000)
            deadline = time.perf_counter() + 60
            while len(moves) == moved or frames[-1] < moves[moved]:
                if time.perf_counter() > deadline:
                    raise RuntimeError("a key moved no cursor, or no frame followed, in 60 s")
                await asyncio.sleep(0.001)  # the frame with the cursor moved
            to_frame.append((next(f for f in frames if f >= moves[moved]) - start) * 1000)
            await asyncio.sleep(PROBE_GAP_S)
        print(
            json.dumps(
                {
                    "audit_s": progress._ended_at - progress._started,
                    "done": progress.done,
                    "total": progress.total,
                    "failed": progress.failed,
                    "keys_ms": latencies,
                    "frame_ms": to_frame,
                    "rss": rss_mb(),
                }
            ),
            flush=True,
        )


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
    parser.add_argument("--child", choices=("demo", "engine", "audit-all"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--audit-all", action="store_true", help="audit-all at fleet scale (see above)")
    parser.add_argument("--keep", action="store_true", help="leave the fleet on the engine (the next run reuses it)")
    parser.add_argument(
        "--paint",
        action="store_true",
        help="first paint only, in tmux over ssh on the fleet; with --tree, A/B against other source trees",
    )
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="DIR",
        help="another source tree (e.g. `git archive main` unpacked) run with this venv, interleaved (--paint)",
    )
    args = parser.parse_args()
    if args.child == "audit-all":
        asyncio.run(child_audit_all())
        return 0
    if args.child:
        asyncio.run(child(args.child))
        return 0
    if args.audit_all:
        return audit_all_main(args.runs, args.keep, [Path(t).resolve() for t in args.tree])
    if args.paint:
        return paint_main(args.runs, args.keep, [Path(t).resolve() for t in args.tree])
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


# ---- audit-all at fleet scale -------------------------------------------------------------------------------


def make_fleet() -> list[str]:
    """1,000 distinct images (one `docker load`) and 300 containers made from them; the container IDs.

    A fleet left by `--keep` is reused as it is."""
    sys.path.insert(0, str(ROOT))
    import docker
    from tests.fixtures.fleet import load_fleet

    client = docker.from_env(timeout=300)
    tags = [f"{FLEET_REPO}:{n}" for n in range(N_IMAGES)]
    if len(client.api.images(name=FLEET_REPO)) != N_IMAGES:
        start = time.perf_counter()
        load_fleet(client, FLEET_REPO, N_IMAGES)
        print(f"fleet: {N_IMAGES} images loaded in {time.perf_counter() - start:.1f} s", flush=True)
    created = [c["Id"] for c in client.api.containers(all=True, filters={"label": "dockaudit.bench=tui"})]
    for n in range(len(created), N_CONTAINERS):
        running = n < N_RUNNING
        cid = client.api.create_container(
            tags[n % len(tags)],
            command=["/bin/busybox", "sleep", "3600"] if running else None,
            labels={"dockaudit.test": "1", "dockaudit.bench": "tui"},
            name=f"dockaudit-bench-tui-{os.getpid()}-{n}",
        )["Id"]
        created.append(cid)
        if running:
            client.api.start(cid)
    print(f"fleet: {N_IMAGES} images, {len(created)} containers", flush=True)
    return created


def remove_fleet(containers: list[str]) -> None:
    """Remove the fleet's containers and images."""
    import docker
    from tests.fixtures.fleet import remove_fleet as remove

    remove(docker.from_env(timeout=300), FLEET_REPO, containers)


def cli_scan() -> tuple[float, int]:
    """Wall time of `dockaudit scan --all-images --no-trivy` as a fresh process, and how many targets it audited."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        argv = [sys.executable, "-m", "dockaudit", "scan", "--all-images", "--no-trivy", "-f", "json", "-o", str(out)]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        # 1: findings; 3: some target failed (other sessions' broken fixtures live on the shared engine).
        if done.returncode not in (0, 1, 3) or not out.exists():
            raise RuntimeError(f"dockaudit scan failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return seconds, len(json.loads(out.read_text())["targets"])


def pilot_audit_all() -> dict[str, Any]:
    """The headless run: spawn to painted, then the audit line."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "audit-all"], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    painted = json.loads(proc.stdout.readline())
    paint_s = time.perf_counter() - start
    audit = json.loads(proc.stdout.readline())
    proc.wait(timeout=120)
    return {"paint_s": paint_s, "rows": painted["rows"], **audit}


class Tmux:
    """One tmux server of our own (-L), one session at 80x24."""

    def __init__(self, command: str) -> None:
        self.socket = f"dockaudit-bench-{os.getpid()}-{time.monotonic_ns()}"
        self._tmux("new-session", "-d", "-s", "bench", "-x", str(SMALL[0]), "-y", str(SMALL[1]), command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        """The pane with its colours (SGR sequences)."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "bench")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "bench", *keys)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._tmux("kill-server")


SGR = re.compile(r"\x1b\[[0-9;]*m")
BACKGROUND = re.compile(r"48;5;(\d+)")


def list_rows(screen: str) -> list[str]:
    """Raw lines of the image list: after its header row, up to the rule above the detail pane."""
    lines = screen.splitlines()
    plain = [SGR.sub("", line) for line in lines]
    header = next((i for i, line in enumerate(plain) if "Image" in line and "Grade" in line), None)
    if header is None:
        return []
    rows = []
    for raw, text in zip(lines[header + 1 :], plain[header + 1 :], strict=True):
        if text.strip().startswith("─") or not text.strip():
            break
        rows.append(raw)
    return rows


def cursor_row(screen: str, cursor_bg: str) -> int | None:
    """Which list row carries the cursor's background."""
    for index, raw in enumerate(list_rows(screen)):
        first = BACKGROUND.search(raw)
        if first is not None and first.group(1) == cursor_bg:
            return index
    return None


def tui_over_ssh(ssh_config: Path, tree: Path | None = None) -> str:
    """The command tmux runs: `dockaudit tui --no-trivy` over ssh, from this tree or another source tree."""
    # A user's Python caches bytecode (this workplace's shells turn that off).
    run = ".venv/bin/dockaudit tui --no-trivy"
    if tree is not None:
        src = shlex.quote(str(tree / "src"))
        run = f"env PYTHONPATH={src} .venv/bin/python -m dockaudit tui --no-trivy"
    remote = f"cd {shlex.quote(str(ROOT))} && unset PYTHONDONTWRITEBYTECODE; LANG=C.UTF-8 exec {run}"
    return f"ssh -F {shlex.quote(str(ssh_config))} -t root@127.0.0.1 {shlex.quote(remote)}"


def ssh_floor(ssh_config: Path) -> float:
    """Seconds for `ssh 127.0.0.1 true` with a terminal (the same connection the TUI runs over): the part of the
    first paint that is not dockaudit's."""
    start = time.perf_counter()
    subprocess.run(
        ["ssh", "-F", str(ssh_config), "-tt", "root@127.0.0.1", "true"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def wait_painted(tmux: Tmux, start: float) -> float:
    """Seconds from `start` until the captured screen shows list rows."""
    deadline = start + 60
    while True:
        screen = tmux.screen()
        if len(list_rows(screen)) >= 5:
            return time.perf_counter() - start
        if time.perf_counter() > deadline:
            raise RuntimeError("the list never painted:\n" + SGR.sub("", screen))
        time.sleep(0.01)


def tmux_paint(ssh_config: Path, tree: Path | None) -> float:
    """First paint in tmux over ssh, then quit."""
    start = time.perf_counter()
    tmux = Tmux(tui_over_ssh(ssh_config, tree))
    try:
        paint_s = wait_painted(tmux, start)
        tmux.keys("q")
        time.sleep(0.3)
    finally:
        tmux.close()
    return paint_s


@contextlib.contextmanager
def fleet_over_ssh(keep: bool, trees: list[Path]) -> Iterator[Path]:
    """The fleet on the engine, every tree's bytecode compiled, and a private sshd: yields its ssh config; stops the
    sshd and removes the fleet (unless `keep`) however the measurement ends."""
    sys.path.insert(0, str(ROOT))
    from tests.harness import sshd

    containers = make_fleet()
    for tree in [ROOT, *trees]:  # the first run of a tree must not pay for compiling it
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "src")], check=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            info = sshd.start(Path(tmp) / "sshd")
            try:
                yield info.config
            finally:
                sshd.stop(Path(tmp) / "sshd")
    finally:
        if not keep:
            remove_fleet(containers)


def paint_main(runs: int, keep: bool, trees: list[Path]) -> int:
    """First paint in tmux over ssh on the fleet, this tree and `trees` interleaved; prints medians."""
    names: list[Path | None] = [None, *trees]
    paints: dict[Path | None, list[float]] = {name: [] for name in names}
    floors: list[float] = []
    with fleet_over_ssh(keep, trees) as ssh_config:
        for run in range(runs):
            for name in names if run % 2 == 0 else reversed(names):
                paints[name].append(tmux_paint(ssh_config, name))
            floors.append(ssh_floor(ssh_config))
            print(
                f"run {run + 1}, load {os.getloadavg()[0]:.1f}, ssh true {floors[-1]:.2f} s: "
                + "; ".join(f"{name or 'this tree'} {p[-1]:.2f} s" for name, p in paints.items()),
                flush=True,
            )
    for name, p in paints.items():
        print(f"{name or 'this tree'}: median {statistics.median(p):.2f} s, min {min(p):.2f} s ({len(p)} runs)")
    print(f"ssh 127.0.0.1 true: median {statistics.median(floors):.2f} s; load {os.getloadavg()[0]:.1f}")
    return 0


def tmux_audit_all(ssh_config: Path, tree: Path | None = None) -> dict[str, Any]:
    """`dockaudit tui --no-trivy` in tmux at 80x24 over ssh: first paint, key latency during A, audit time."""
    tracebacks = 0
    start = time.perf_counter()
    tmux = Tmux(tui_over_ssh(ssh_config, tree))
    try:
        paint_s = wait_painted(tmux, start)
        time.sleep(0.5)
        match = BACKGROUND.search(list_rows(tmux.screen())[0])
        assert match is not None, "no cursor colour on the first row"
        cursor_bg = match.group(1)
        tmux.keys("A")
        audit_start = time.perf_counter()
        latencies: list[float] = []
        audited = ""
        while not audited:
            before = cursor_row(tmux.screen(), cursor_bg)
            tmux.keys("Down" if len(latencies) % 2 == 0 else "Up")
            sent = time.perf_counter()
            while True:
                screen = tmux.screen()
                text = SGR.sub("", screen)
                tracebacks += "Traceback" in text
                found = re.search(r"(Audited|Cancelled:?) (\d+)/(\d+)", text)
                if found and not audited:
                    audited = found.group(0)
                    audit_s = time.perf_counter() - audit_start
                now = cursor_row(screen, cursor_bg)
                if now is not None and now != before:
                    latencies.append((time.perf_counter() - sent) * 1000)
                    break
                if time.perf_counter() - sent > 60:
                    raise RuntimeError("a key went unanswered for 60 s:\n" + text)
                # Each capture is a tmux client process: polled back to back they took most of a core from the
                # audit being measured (the TUI's audit read 1.45x the CLI, Pilot's 1.12x on the same run).
                time.sleep(POLL_GAP_S)
            time.sleep(PROBE_GAP_S)
        tmux.keys("q")
        time.sleep(0.5)
    finally:
        tmux.close()
    return {"paint_s": paint_s, "audit_s": audit_s, "audited": audited, "keys_ms": latencies, "tracebacks": tracebacks}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


def audit_all_main(runs: int, keep: bool, trees: list[Path]) -> int:
    """Make the fleet, measure CLI, Pilot and tmux-over-ssh runs interleaved, write the block, clean up; `trees`
    (other source trees) get a tmux-over-ssh run each per run too, printed for comparison, not written."""
    cli: list[float] = []
    cli_targets = 0
    pilot: list[dict[str, Any]] = []
    real: list[dict[str, Any]] = []
    others: dict[Path, list[dict[str, Any]]] = {tree: [] for tree in trees}
    with fleet_over_ssh(keep, trees) as ssh_config:
        for run in range(runs):  # interleaved so load drift hits every measurement alike
            seconds, cli_targets = cli_scan()
            cli.append(seconds)
            pilot.append(pilot_audit_all())
            # The trees' tmux runs alternate in order, so a load trend does not favour one.
            for tree in [None, *trees] if run % 2 == 0 else [*trees, None]:
                if tree is None:
                    real.append(tmux_audit_all(ssh_config))
                    real[-1]["ssh_s"] = ssh_floor(ssh_config)
                    continue
                try:
                    other = tmux_audit_all(ssh_config, tree)
                except RuntimeError as exc:  # a comparison run that hangs is reported, not fatal
                    print(f"run {run + 1}: {tree}: {str(exc).splitlines()[0]}", flush=True)
                    continue
                others[tree].append(other)
                keys = other["keys_ms"]
                print(
                    f"run {run + 1}: {tree}: tmux/ssh {other['audit_s']:.1f} s (p50 {percentile(keys, 50):.0f}"
                    f" ms, p95 {percentile(keys, 95):.0f} ms, paint {other['paint_s']:.2f} s)",
                    flush=True,
                )
            print(
                f"run {run + 1}: cli {seconds:.1f} s; pilot {pilot[-1]['audit_s']:.1f} s "
                f"(p95 {percentile(pilot[-1]['keys_ms'], 95):.0f} ms); tmux/ssh {real[-1]['audit_s']:.1f} s "
                f"(p95 {percentile(real[-1]['keys_ms'], 95):.0f} ms, paint {real[-1]['paint_s']:.2f} s)",
                flush=True,
            )
    for name, measured in [(str(ROOT), real), *((str(tree), m) for tree, m in others.items() if m)]:
        keys = [k for r in measured for k in r["keys_ms"]]
        print(
            f"{name}: tmux/ssh keys p50 / p95 {percentile(keys, 50):.0f} / {percentile(keys, 95):.0f} ms "
            f"({len(keys)} presses), audit {statistics.median(r['audit_s'] for r in measured):.1f} s, paint "
            f"{statistics.median(r['paint_s'] for r in measured):.2f} s; load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    write_block(audit_block(runs, cli, cli_targets, pilot, real))
    return 0


def audit_block(
    runs: int, cli: list[float], cli_targets: int, pilot: list[dict[str, Any]], real: list[dict[str, Any]]
) -> str:
    """The RESULTS.md block of the audit-all runs."""
    med = statistics.median
    cli_s = med(cli)
    pilot_keys = [k for r in pilot for k in r["keys_ms"]]
    pilot_frames = [k for r in pilot for k in r["frame_ms"]]
    real_keys = [k for r in real for k in r["keys_ms"]]
    pilot_s, real_s = med(r["audit_s"] for r in pilot), med(r["audit_s"] for r in real)
    real_paint = med(r["paint_s"] for r in real)
    floor = med(r["ssh_s"] for r in real)
    p95_pilot, p95_real = percentile(pilot_keys, 95), percentile(real_keys, 95)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    from dockaudit.tui.screens.target_detail import DETAIL_REST_SECONDS

    rows = pilot[-1]["rows"]
    tracebacks = sum(r["tracebacks"] for r in real)
    rows_md = [
        ("measurement", "value", "target", "result"),
        ("---", "---", "---", "---"),
        (f"`dockaudit scan --all-images --no-trivy` ({cli_targets} targets)", f"{cli_s:.1f} s", "baseline", ""),
        (
            "Pilot: audit-all",
            f"{pilot_s:.1f} s",
            "<= 1.2 x",
            f"{pilot_s / cli_s:.2f} x {verdict(pilot_s / cli_s <= 1.2)}",
        ),
        (
            f"Pilot: key to the frame showing the moved cursor, p50 / p95 ({len(pilot_frames)} presses)",
            f"{percentile(pilot_frames, 50):.0f} / {percentile(pilot_frames, 95):.0f} ms",
            "p95 <= 100 ms",
            verdict(percentile(pilot_frames, 95) <= 100),
        ),
        (
            "Pilot: key until `press()` returns (it waits for the whole process to idle 20 ms), p50 / p95",
            f"{percentile(pilot_keys, 50):.0f} / {p95_pilot:.0f} ms",
            "",
            "",
        ),
        (
            "tmux over `ssh 127.0.0.1`, 80x24: start → list painted",
            f"{real_paint:.2f} s",
            "<= 1.5 s",
            verdict(real_paint <= 1.5),
        ),
        ("of which `ssh 127.0.0.1 true` alone (same sshd, with a terminal)", f"{floor:.2f} s", "", ""),
        (
            "tmux over ssh: audit-all",
            f"{real_s:.1f} s",
            "<= 1.2 x",
            f"{real_s / cli_s:.2f} x {verdict(real_s / cli_s <= 1.2)}",
        ),
        (
            f"tmux over ssh: keys during audit-all, p50 / p95 ({len(real_keys)} presses)",
            f"{percentile(real_keys, 50):.0f} / {p95_real:.0f} ms",
            "p95 <= 100 ms",
            verdict(p95_real <= 100),
        ),
        ("tmux over ssh: slowest key", f"{max(real_keys, default=float('nan')):.0f} ms", "", ""),
        ("tracebacks on the captured screens", str(tracebacks), "0", verdict(tracebacks == 0)),
        ("resident memory of the TUI process at the end (Pilot)", f"{max(r['rss'] for r in pilot):.0f} MB", "", ""),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows_md)
    return f"""{AUDIT_START}
### TUI audit-all at fleet scale (benchmarks/bench_tui.py --audit-all, {now})

{N_IMAGES} distinct images sharing one busybox layer (one `docker load`) and {N_CONTAINERS} containers made from
them ({N_RUNNING} running) on the shared test engine ({rows} images listed in all, other sessions' included);
checklist only on both sides (`--no-trivy`), the default 4-way concurrency. Baseline: `dockaudit scan
--all-images --no-trivy` as a fresh process. TUI: `A` on the image list at 80x24, audited in a child process
(the same `AuditSession.audit_many`), while Down/Up are pressed one at a time ({PROBE_GAP_S * 1000:.0f} ms apart);
a key's latency is until the first frame composed with the cursor moved (Pilot; also shown: until Pilot's
`press()` returns), or, in tmux, until the captured screen shows the cursor on the other row (so it includes the
redraw over ssh and a capture-pane of a few ms). The detail pane is drawn once the cursor rests
({DETAIL_REST_SECONDS * 1000:.0f} ms), so probes that follow each other faster move the highlight only. Audit time
runs from `A` to the progress line reading `Audited N/N`. Median of {runs} interleaved runs (keys: all probes pooled);
{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, CPython
{platform.python_version()}.

{table}
{AUDIT_END}"""


if __name__ == "__main__":
    raise SystemExit(main())
