"""Benchmark: dockaudit's Trivy scan vs the bare `trivy image` command, and a cached rescan.

Run from the repo root with the Docker engine up: `.venv/bin/python benchmarks/bench_trivy.py`.
Writes its table into benchmarks/RESULTS.md between the bench:trivy markers.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from results import write_block  # noqa: E402 (benchmarks/ is on sys.path when a script runs)
from tests.trivy import images, trivydb  # noqa: E402

from dockaudit.cache import ScanCache  # noqa: E402
from dockaudit.scanners.trivy import ImageSource, TrivyOptions, find_trivy, scan_image  # noqa: E402
from dockaudit.scanners.trivy_runner import build_argv  # noqa: E402

RUNS = 15
START, END = "<!-- bench:trivy:start -->", "<!-- bench:trivy:end -->"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    client = docker.from_env()
    image_id = images.build(client, "debian", images.DEBIAN_FILES)
    binary = find_trivy()
    with tempfile.TemporaryDirectory(prefix="bench-trivy-") as tmp:
        cache_dir = Path(tmp) / "trivy-cache"
        trivydb.write_fixture_db(cache_dir)
        options = TrivyOptions(cache_dir=cache_dir, offline=True)
        source = ImageSource(ref=image_id, image_id=image_id, docker_host="unix:///var/run/docker.sock")
        argv = build_argv(binary.path, source, options)

        def bare() -> None:
            proc = subprocess.run(argv, capture_output=True, check=False)
            assert proc.returncode == 0, proc.stderr[-500:]

        def ours() -> None:
            scan = scan_image(binary, source, options)
            assert scan.status == "ok", scan.reason

        bare()  # warm Trivy's layer cache so both sides start equal
        ours()
        bare_times: list[float] = []
        our_times: list[float] = []
        for _ in range(RUNS):  # interleaved, so drift affects both alike
            bare_times.append(timed(bare))
            our_times.append(timed(ours))

        result_cache = ScanCache(Path(tmp) / "results.sqlite3")
        first = scan_image(binary, source, options, cache=result_cache)
        cached_times: list[float] = []
        for _ in range(RUNS):
            start = time.perf_counter()
            hit = scan_image(binary, source, options, cache=result_cache)
            cached_times.append(time.perf_counter() - start)
            assert hit.cached and hit.findings == first.findings

    load = os.getloadavg()[0]
    bare_ms, our_ms = statistics.median(bare_times) * 1000, statistics.median(our_times) * 1000
    cached_ms = statistics.median(cached_times) * 1000
    overhead = (our_ms - bare_ms) / bare_ms * 100
    ok_overhead, ok_cached = overhead <= 10, cached_ms < 100
    table = "\n".join(
        [
            START,
            f"### Trivy scan (benchmarks/bench_trivy.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"Trivy {binary.version}, offline, scanners vuln,misconfig,secret, warm Trivy layer cache, test DB; "
            f"image: the Debian fixture (`{image_id[:19]}`); median of {RUNS} interleaved runs; "
            f"{platform.machine()}, {os.cpu_count()} CPUs (1-min load average {load:.1f} at the end), "
            f"{platform.python_implementation()} {platform.python_version()}.",
            "",
            "| measurement | median | target | result |",
            "| --- | --- | --- | --- |",
            f"| bare `trivy image` (same argv) | {bare_ms:.0f} ms | | |",
            f"| dockaudit `scan_image` (run + parse) | {our_ms:.0f} ms | overhead <= 10% | "
            f"{overhead:+.1f}% {'pass' if ok_overhead else 'FAIL'} |",
            f"| cached rescan of the unchanged image | {cached_ms:.1f} ms | < 100 ms | "
            f"{'pass' if ok_cached else 'FAIL'} |",
            END,
        ]
    )
    write_block(table)
    print(table)
    return 0 if ok_overhead and ok_cached else 1


if __name__ == "__main__":
    raise SystemExit(main())
