"""Benchmark: the checklist audit of 200 images and 100 containers through the audit session, vs the bare SDK calls.

Run from the repo root with the Docker engine up: `.venv/bin/python benchmarks/bench_collect.py`.
It loads 200 small distinct images with one `docker load` (tags `dockaudit-bench/collect:N`), creates 100
containers from them (20 running, 80 created), all labelled `dockaudit.test=1`, times both sides
interleaved, removes what it created and writes its table into benchmarks/RESULTS.md between the
bench:collect markers.

The dockaudit side is the production path: `AuditSession.audit_many` over targets made from the inventory
(collect, then every checklist rule), as `dockaudit scan --no-trivy` runs it. The bare side makes the same
requests dockaudit needs for the same data (list images, list containers, inspect + history per image, [the
saved image per image], inspect + top per container, one inspect per distinct image and per distinct tag the
containers use), with the same 8-way concurrency, and parses nothing beyond the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import statistics
import sys
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from results import write_block  # noqa: E402 (benchmarks/ is on sys.path when a script runs)
from tests.fixtures import recipes  # noqa: E402

from dockaudit.audit import AuditSession  # noqa: E402
from dockaudit.audit_options import AuditOptions  # noqa: E402
from dockaudit.config import Settings  # noqa: E402
from dockaudit.engine.client import Engine, connect, resolve_endpoint  # noqa: E402
from dockaudit.engine.collect import inventory  # noqa: E402
from dockaudit.engine.source import EngineSource  # noqa: E402
from dockaudit.targets import container_target, image_target  # noqa: E402

START, END = "<!-- bench:collect:start -->", "<!-- bench:collect:end -->"
TARGET_RATIO = 1.3
REPO = "dockaudit-bench/collect"
LABELS = {"dockaudit.test": "1", "dockaudit.bench": "collect"}
CONCURRENCY = 8


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_archive(count: int) -> bytes:
    """One classic `docker save` archive holding `count` two-layer images that share their first layer."""
    shared = _tar_bytes({"etc/os-release": b"ID=alpine\nVERSION_ID=3.20.0\n", "bin/app": b"\x7fELF" + b"\0" * 4096})
    shared_id = hashlib.sha256(shared).hexdigest()
    blobs: dict[str, bytes] = {f"{shared_id}/layer.tar": shared}
    manifest = []
    for n in range(count):
        own = _tar_bytes({"app/id.txt": f"{n}\n".encode(), "app/data.bin": bytes(1024)})
        own_id = hashlib.sha256(own).hexdigest()
        blobs[f"{own_id}/layer.tar"] = own
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-11-01T00:00:00Z",
            "config": {"Env": ["PATH=/bin", f"BENCH_N={n}"], "Cmd": ["/bin/app"], "Labels": LABELS},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{shared_id}", f"sha256:{own_id}"]},
            "history": [
                {"created_by": "/bin/sh -c #(nop) ADD file:shared in / "},
                {"created_by": '/bin/sh -c #(nop)  CMD ["/bin/app"]', "empty_layer": True},
                {"created_by": f"/bin/sh -c #(nop) COPY dir:{own_id[:16]} in /app "},
            ],
        }
        config_bytes = json.dumps(config).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        blobs[config_name] = config_bytes
        manifest.append(
            {
                "Config": config_name,
                "RepoTags": [f"{REPO}:{n}"],
                "Layers": [f"{shared_id}/layer.tar", f"{own_id}/layer.tar"],
            }
        )
    blobs["manifest.json"] = json.dumps(manifest).encode()
    return _tar_bytes(blobs)


def parallel(items: list[Any], fn: Callable[[Any], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        return list(pool.map(fn, items))


def bare(client: docker.DockerClient, refs: list[str], layers: bool) -> None:
    """The SDK requests for the same data, JSON only."""
    api = client.api
    with ThreadPoolExecutor(max_workers=2) as pool:
        f1 = pool.submit(api.images)
        f2 = pool.submit(api.containers, all=True)
        f1.result()
        containers = f2.result()

    def image(ref: str) -> None:
        api.inspect_image(ref)
        api.history(ref)
        if layers:
            for _chunk in api.get_image(ref, chunk_size=1 << 20):
                pass

    parallel(refs, image)
    inspects = parallel(
        [c["Id"] for c in containers if c["Labels"].get("dockaudit.bench") == "collect"], api.inspect_container
    )
    running = [c["Id"] for c in inspects if c["State"]["Running"]]
    parallel(running, lambda cid: api.top(cid, ps_args="-o pid,ppid,uid,stat,args"))
    parallel(sorted({c["Image"] for c in inspects} | {c["Config"]["Image"] for c in inspects}), api.inspect_image)


def ours(engine: Engine, refs: list[str], layers: bool) -> None:
    """The session `dockaudit scan --no-trivy` runs: targets from the inventory, then collect + checklist."""
    options = AuditOptions(
        settings=Settings(), scanners=frozenset({"checklist"}), read_layers=layers, concurrency=CONCURRENCY
    )
    session = AuditSession(EngineSource(engine), options)
    inv = session.inventory()
    wanted = set(refs)
    targets = [image_target(row, "local") for row in inv.images if wanted & set(row.repo_tags)]
    targets += [
        container_target(row, "local")
        for row in inv.containers
        if ("dockaudit.bench", "collect") in {(lb.name, lb.value) for lb in row.labels}
    ]
    failed = [r for r in session.audit_many(targets) if r.errors]
    if failed:
        raise RuntimeError(f"{len(failed)} targets failed, first: {failed[0].errors[0].message}")


def write_section(text: str) -> None:
    write_block(f"{START}\n{text.rstrip()}\n{END}")


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = docker.from_env(timeout=300)
    base = recipes.build_base(client)
    t0 = time.perf_counter()
    refs = [f"{REPO}:{n}" for n in range(args.images)]
    session = hashlib.sha256(str(time.time()).encode()).hexdigest()[:6]
    created: list[str] = []

    def make(n: int) -> str:
        # Runnable containers come from the busybox base; the rest from the bench images (never started).
        running = n < args.running
        image = base if running else refs[n % len(refs)]
        cid = client.api.create_container(
            image,
            command=["sleep", "600"] if running else None,
            labels=LABELS,
            name=f"dockaudit-bench-collect-{session}-{n}",
            environment={"APP_TOKEN": "not-a-real-token-value", "N": str(n)},
        )["Id"]
        created.append(cid)  # before starting: a failing start still gets cleaned up
        if running:
            client.api.start(cid)
        return str(cid)

    try:
        # The engine reports progress as a stream and finishes loading only as it is read.
        for message in client.api.load_image(image_archive(args.images)):
            if isinstance(message, dict) and message.get("error"):
                raise RuntimeError(message["error"])
        parallel(list(range(args.containers)), make)
        setup_s = time.perf_counter() - t0
        print(f"{args.images} images and {args.containers} containers ready in {setup_s:.1f} s", flush=True)
        engine = connect(resolve_endpoint(host="unix:///var/run/docker.sock"), timeout=300)
        ours(engine, refs[:5], False)  # warm connection pools and imports
        bare(client, refs[:5], False)
        rows: dict[str, dict[str, list[float]]] = {
            "config": {"bare": [], "ours": []},
            "layers": {"bare": [], "ours": []},
        }
        inv_times: list[float] = []
        for run in range(args.runs):
            for mode, layers in (("config", False), ("layers", True)):
                rows[mode]["bare"].append(timed(lambda layers=layers: bare(client, refs, layers)))
                rows[mode]["ours"].append(timed(lambda layers=layers: ours(engine, refs, layers)))
            inv_times.append(timed(lambda: inventory(client)))
            print(
                f"  run {run + 1}: "
                + ", ".join(f"{m} bare {rows[m]['bare'][-1]:.2f} s ours {rows[m]['ours'][-1]:.2f} s" for m in rows),
                flush=True,
            )
    finally:
        for cid in created:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_container(cid, force=True)
        for ref in refs:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_image(ref)

    med = {m: {s: statistics.median(v) for s, v in sides.items()} for m, sides in rows.items()}
    ratios = {m: med[m]["ours"] / med[m]["bare"] for m in med}
    load = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = f"""### Collection (benchmarks/bench_collect.py, {stamp})

{args.images} images (two layers each, loaded with one `docker load`) and {args.containers} containers \
({args.running} running, the rest created); both sides use {CONCURRENCY}-way concurrency; median of \
{args.runs} interleaved runs; {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} (a shared \
machine), CPython {platform.python_version()}, Docker Engine {client.version()["Version"]}.

| measurement | bare SDK | dockaudit | ratio (target <= {TARGET_RATIO}) |
| --- | --- | --- | --- |
| inventory + image config/history + container inspect/top/image/drift, checklist | {med["config"]["bare"]:.2f} s | \
{med["config"]["ours"]:.2f} s | {ratios["config"]:.2f} {"pass" if ratios["config"] <= TARGET_RATIO else "FAIL"} |
| the same plus every image's layer stream (`GET /images/{{name}}/get`) | {med["layers"]["bare"]:.2f} s | \
{med["layers"]["ours"]:.2f} s | {ratios["layers"]:.2f} {"pass" if ratios["layers"] <= TARGET_RATIO else "FAIL"} |
| inventory alone (2 list calls) | | {statistics.median(inv_times) * 1000:.0f} ms | |
"""
    write_section(table)
    print(table)
    return 0 if all(r <= TARGET_RATIO for r in ratios.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
