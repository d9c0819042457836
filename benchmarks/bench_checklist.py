"""Benchmark: a whole `dockaudit scan --no-trivy` process over a small corpus, vs the floor of its engine calls.

Run from the repo root with the Docker engine up: `.venv/bin/python benchmarks/bench_checklist.py`.
The corpus is like the held-out eval's: 7 images (loaded with one `docker load`) and 10 containers of them and of
the busybox base (5 running, 5 created), all labelled `dockaudit.test=1` and removed afterwards.

The floor is the calls the checklist audit must make, in a process of their own that imports only the Docker SDK:
inspect + history + one saved-image stream per image (the containers' images included, as `scan` audits them
too), inspect + top per container, with the same 4-way concurrency as `scan`'s default. Both sides run as fresh
processes with bytecode caching on, as a user has it (PYTHONDONTWRITEBYTECODE is unset), in an empty working
directory as a user's own project would be to dockaudit (this repository's pyproject.toml names dockaudit, so run
from here `scan` would parse it as a possible configuration file); they are timed interleaved, and the median of each
run's ratio to the floor run just before it is the result (the ratio of the two medians is shown too). Results
go into benchmarks/RESULTS.md between the bench:checklist markers.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import docker
import docker.errors

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_collect import image_archive  # noqa: E402
from results import write_block  # noqa: E402
from tests.fixtures import recipes  # noqa: E402

START, END = "<!-- bench:checklist:start -->", "<!-- bench:checklist:end -->"
TARGET_RATIO = 1.25
LABELS = {"dockaudit.test": "1", "dockaudit.bench": "checklist"}
REPO = "dockaudit-bench/collect"

FLOOR = r"""
import sys
from concurrent.futures import ThreadPoolExecutor
import docker

images, containers = sys.argv[1].split(","), sys.argv[2].split(",")
api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto")

def image(ref):
    api.inspect_image(ref)
    api.history(ref)
    for _chunk in api.get_image(ref, chunk_size=1 << 20):
        pass

def container(cid):
    state = api.inspect_container(cid)["State"]
    if state["Running"]:
        api.top(cid, ps_args="-o pid,ppid,uid,stat,args")

with ThreadPoolExecutor(max_workers=4) as pool:
    list(pool.map(container, containers))
    list(pool.map(image, images))
"""

# Start-up alone, to tell import time from the audit's own: what `scan` imports before and while it audits, and
# what the floor imports.
OUR_IMPORTS = """
import dockaudit.cli, dockaudit.commands.scan, dockaudit.audit, dockaudit.connect, dockaudit.run, dockaudit.targets
import dockaudit.engine.fleet, dockaudit.engine.source, dockaudit.report.json
from dockaudit.rules import load_for
load_for(["image", "history", "filesystem", "container"])
"""
FLOOR_IMPORTS = "import docker"


def run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: findings at or above --fail-on, as expected here
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    client = docker.from_env(timeout=300)
    base = recipes.build_base(client)
    refs = [f"{REPO}:{n}" for n in range(7)]
    session = hashlib.sha256(str(time.time()).encode()).hexdigest()[:6]
    created: list[str] = []
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    python = str(ROOT / ".venv" / "bin" / "python")
    workdir = tempfile.mkdtemp(prefix="dockaudit-bench-")
    try:
        for message in client.api.load_image(image_archive(7)):
            if isinstance(message, dict) and message.get("error"):
                raise RuntimeError(message["error"])
        for n in range(10):
            running = n < 5
            cid = client.api.create_container(
                base if running else refs[n % 7],
                command=["sleep", "600"] if running else None,
                labels=LABELS,
                name=f"dockaudit-bench-checklist-{session}-{n}",
            )["Id"]
            created.append(str(cid))
            if running:
                client.api.start(cid)
        base_id = str(client.api.inspect_image(base)["Id"])
        audited = [*refs, base_id]  # `scan` audits the image each container runs, as a target of its own
        ours = [python, "-m", "dockaudit", "scan", "--no-trivy", "-f", "json", "-o", os.devnull, *refs, *created]
        floor = [python, "-c", FLOOR, ",".join(audited), ",".join(created)]
        ours_imports, floor_imports = [python, "-c", OUR_IMPORTS], [python, "-c", FLOOR_IMPORTS]
        for argv in (ours, floor, ours_imports):  # warm: bytecode written, page cache filled
            run(argv, env, workdir)
        times: dict[str, list[float]] = {"ours": [], "floor": [], "ours_imports": [], "floor_imports": []}
        for i in range(args.runs):
            times["floor"].append(run(floor, env, workdir))
            times["ours"].append(run(ours, env, workdir))
            times["floor_imports"].append(run(floor_imports, env, workdir))
            times["ours_imports"].append(run(ours_imports, env, workdir))
            print(f"  run {i + 1}: floor {times['floor'][-1]:.2f} s, dockaudit {times['ours'][-1]:.2f} s", flush=True)
        version = client.version()["Version"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for cid in created:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_container(cid, force=True)
        for ref in refs:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_image(ref)

    floor_s, ours_s = statistics.median(times["floor"]), statistics.median(times["ours"])
    floor_imports_s = statistics.median(times["floor_imports"])
    ours_imports_s = statistics.median(times["ours_imports"])
    # Each dockaudit run against the floor run made just before it: this machine's speed drifts by 10-15% within
    # minutes (the floor's median moved from 0.29 s to 0.34 s between two series), which the ratio of the two
    # medians carries and back-to-back pairs cancel.
    ratio = statistics.median(o / f for o, f in zip(times["ours"], times["floor"], strict=True))
    medians_ratio = ours_s / floor_s
    verdict = "pass" if ratio <= TARGET_RATIO else "FAIL"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = f"""### Checklist audit, whole process (benchmarks/bench_checklist.py, {stamp})

7 images and 10 containers (5 running); `dockaudit scan --no-trivy -f json` as a fresh process vs a process making \
only the engine calls the audit needs (inspect + history + saved-image stream per image, inspect + top per \
container; 4-way concurrency on both sides); bytecode caching on; an empty working directory; median of \
{args.runs} interleaved runs; {platform.machine()}, {os.cpu_count()} CPUs, load average \
{os.getloadavg()[0]:.1f}, CPython {platform.python_version()}, Docker Engine {version}.

| measurement | value | target | result |
| --- | --- | --- | --- |
| floor: the engine calls alone | {floor_s:.2f} s | | |
| `dockaudit scan --no-trivy` | {ours_s:.2f} s | | {medians_ratio:.2f} x the floor's median |
| each run over the floor run just before it, median | | <= {TARGET_RATIO} x | {ratio:.2f} x {verdict} |
| of which start-up: a process importing only the Docker SDK | {floor_imports_s:.2f} s | | |
| of which start-up: a process importing what this `scan` imports (its rules included) | {ours_imports_s:.2f} s | | |
"""
    write_block(f"{START}\n{table.rstrip()}\n{END}")
    print(table)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
