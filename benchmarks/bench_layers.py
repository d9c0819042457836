"""Benchmark: dockaudit's single-pass layer stream of a ~500 MB image vs `docker save IMAGE > /dev/null`.

Run from the repo root with the Docker engine up: `.venv/bin/python benchmarks/bench_layers.py`.
Builds (or reuses) `dockaudit-test/bench-layers:HASH` (labelled `dockaudit.test=1`: two 200 MB random files
and 20,000 small files, one big file deleted again), times both sides interleaved, measures the peak RSS
of the streaming process, and writes its table into benchmarks/RESULTS.md between the bench:layers markers.
Pass `--remove` to delete the image afterwards (it is kept by default, so reruns skip the build).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from results import write_block  # noqa: E402 (benchmarks/ is on sys.path when a script runs)
from tests.fixtures import recipes  # noqa: E402
from tests.fixtures.images import FileSpec, build_image  # noqa: E402

START, END = "<!-- bench:layers:start -->", "<!-- bench:layers:end -->"
TARGET_RATIO = 1.3
TARGET_RSS_MB = 150
SMALL_FILES = 20_000

DOCKERFILE = """\
FROM {base}
COPY many/ /many/
RUN mkdir -p /data && dd if=/dev/urandom of=/data/one.bin bs=1048576 count=200 2>/dev/null
RUN dd if=/dev/urandom of=/data/two.bin bs=1048576 count=200 2>/dev/null
RUN rm /data/one.bin
"""

# Runs in a fresh interpreter so its peak RSS is the streaming's alone.
STREAM_CHILD = """
import json, sys, time
sys.path.insert(0, {src!r})
import docker
from dockaudit.engine import api
from dockaudit.engine.layers import read_image_stream

def hwm_kb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (v)forked parent.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


client = docker.from_env()
start = time.perf_counter()
saved = read_image_stream(api.export_image(client, {image!r}))
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "files": len(saved.filesystem.files),
                  "bytes": saved.filesystem.total_size, "wasted": saved.filesystem.wasted_bytes,
                  "maxrss_kb": hwm_kb()}}))
"""


def build_bench_image(client: docker.DockerClient) -> str:
    base = recipes.build_base(client)
    rng = random.Random(42)
    files: dict[str, bytes | FileSpec] = {
        f"many/{i // 1000:02d}/{i:05d}.bin": rng.randbytes(4096) for i in range(SMALL_FILES)
    }
    return build_image(client, "bench-layers", DOCKERFILE.format(base=base), files)


def time_docker_save(image: str) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["docker", "save", image], stdout=sink, check=True)
    return time.perf_counter() - start


def time_stream(image: str) -> dict[str, float]:
    code = STREAM_CHILD.format(src=str(ROOT / "src"), image=image)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def write_section(text: str) -> None:
    write_block(f"{START}\n{text.rstrip()}\n{END}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--remove", action="store_true", help="remove the benchmark image afterwards")
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    t0 = time.perf_counter()
    image = build_bench_image(client)
    build_s = time.perf_counter() - t0
    size = client.api.inspect_image(image)["Size"]
    print(f"image {image}: {size / 1e6:.0f} MB (ready in {build_s:.1f} s)", flush=True)

    time_docker_save(image)  # warm the page cache for both sides
    saves: list[float] = []
    streams: list[dict[str, float]] = []
    for _ in range(args.runs):
        saves.append(time_docker_save(image))
        streams.append(time_stream(image))
        print(
            f"  docker save {saves[-1]:.2f} s, dockaudit stream {streams[-1]['seconds']:.2f} s "
            f"(rss {streams[-1]['maxrss_kb'] / 1024:.0f} MB)",
            flush=True,
        )
    save_med = statistics.median(saves)
    stream_med = statistics.median(s["seconds"] for s in streams)
    rss_mb = max(s["maxrss_kb"] for s in streams) / 1024
    ratio = stream_med / save_med
    last = streams[-1]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = f"""### Layer stream (benchmarks/bench_layers.py, {stamp})

Image `{image}`: {size / 1e6:.0f} MB in {len(client.api.inspect_image(image)["RootFS"]["Layers"])} layers, \
{int(last["files"]):,} file entries (two 200 MB random files, one deleted later, and {SMALL_FILES:,} files of 4 KB); \
median of {args.runs} interleaved runs, page cache warm; {platform.machine()}, {os.cpu_count()} CPUs, \
load average {os.getloadavg()[0]:.1f} (a shared machine: the engine's own tar writing dominates both sides), \
CPython {platform.python_version()}, Docker Engine {client.version()["Version"]}.

| measurement | value | target | result |
| --- | --- | --- | --- |
| `docker save IMAGE > /dev/null` | {save_med:.2f} s | | |
| dockaudit `read_image_stream` (GET /images/{{name}}/get, every file's facts) | {stream_med:.2f} s | \
<= {TARGET_RATIO} x | {ratio:.2f} x {"pass" if ratio <= TARGET_RATIO else "FAIL"} |
| peak RSS of the streaming process | {rss_mb:.0f} MB | <= {TARGET_RSS_MB} MB | \
{"pass" if rss_mb <= TARGET_RSS_MB else "FAIL"} |
| wasted bytes found (deleted 200 MB file) | {int(last["wasted"]) / 1e6:.0f} MB | | |
"""
    write_section(table)
    print(table)
    if args.remove:
        client.api.remove_image(image)
    return 0 if ratio <= TARGET_RATIO and rss_mb <= TARGET_RSS_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
