"""Benchmark: evaluating the whole rule catalog over 200 images and 100 containers with facts already collected.

Run from the repo root with the Docker engine up: `.venv/bin/python benchmarks/bench_rules.py`.
Collects the fixture images (bad, good, base; layers read) and one running container for real, timing
each collection; then evaluates every rule over 200 image facts and 100 container facts cycled from
those, and reports the evaluation time as a share of the collection time the same 300 targets would
take at the measured per-target collection cost. Rewrites its block of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from results import write_block  # noqa: E402 (benchmarks/ is on sys.path when a script runs)
from tests.fixtures import recipes  # noqa: E402

from dockaudit.config import Settings  # noqa: E402
from dockaudit.engine.collect import collect_container, collect_image  # noqa: E402
from dockaudit.rules import load_all  # noqa: E402
from dockaudit.rules.registry import RULES, RuleContext, Scope, evaluate  # noqa: E402

IMAGE_SCOPES = (Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM)
N_IMAGES, N_CONTAINERS, RUNS = 200, 100, 5
START, END = "<!-- bench:rules:start -->", "<!-- bench:rules:end -->"


def main() -> int:
    """Measure and write the results block."""
    client = docker.from_env(timeout=120)
    base = recipes.build_base(client)
    refs = [base, recipes.build_bad(client, base), recipes.build_good(client, base)]
    container = client.containers.run(
        refs[2], detach=True, labels={"dockaudit.test": "1"}, name=f"dockaudit-bench-rules-{int(time.time())}"
    )
    try:
        image_times: list[float] = []
        images = []
        for _ in range(3):
            for ref in refs:
                t0 = time.perf_counter()
                images.append(collect_image(client, ref))
                image_times.append(time.perf_counter() - t0)
        container_times: list[float] = []
        containers = []
        for _ in range(5):
            t0 = time.perf_counter()
            containers.append(collect_container(client, container.id))
            container_times.append(time.perf_counter() - t0)
    finally:
        container.remove(force=True)

    load_all()
    image_facts = [replace(images[i % len(refs)], id=f"sha256:{i:064x}") for i in range(N_IMAGES)]
    container_facts = [replace(containers[0], id=f"{i:064x}", name=f"c{i}") for i in range(N_CONTAINERS)]
    ctx = RuleContext(settings=Settings())
    runs: list[float] = []
    findings = 0
    for _ in range(RUNS):
        findings = 0
        t0 = time.perf_counter()
        for facts in image_facts:
            findings += len(evaluate(IMAGE_SCOPES, facts, ctx)[0])
        for cfacts in container_facts:
            findings += len(evaluate((Scope.CONTAINER,), cfacts, ctx)[0])
        runs.append(time.perf_counter() - t0)

    evaluate_s = statistics.median(runs)
    image_s, container_s = statistics.median(image_times), statistics.median(container_times)
    collect_s = N_IMAGES * image_s + N_CONTAINERS * container_s
    ratio = evaluate_s / collect_s
    n_rules = sum(1 for r in RULES.values() if r.scope in (*IMAGE_SCOPES, Scope.CONTAINER))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"""{START}
### Rule evaluation (benchmarks/bench_rules.py, {stamp})

{n_rules} image, history, filesystem and container rules over {N_IMAGES} image facts (the bad, good and base
fixture images, layers read, cycled) and {N_CONTAINERS} container facts (a running container of the good
image), facts already collected; median of {RUNS} runs; {platform.machine()}, CPython {platform.python_version()}.
Collection time for the same targets is extrapolated from the measured median per target.

| measurement | value | target | result |
| --- | --- | --- | --- |
| collect one image (inspect, history, layer stream) | {image_s * 1000:.0f} ms | | |
| collect one container (inspect, top) | {container_s * 1000:.0f} ms | | |
| collection, {N_IMAGES} images + {N_CONTAINERS} containers (extrapolated) | {collect_s:.1f} s | | |
| evaluate the whole catalog over them ({findings} findings) | {evaluate_s * 1000:.0f} ms | | |
| evaluation / collection | {ratio:.1%} | small fraction (< 10%) | {"pass" if ratio < 0.10 else "FAIL"} |
{END}"""
    write_block(block)
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
