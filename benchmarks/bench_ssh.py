"""Benchmark: dockaudit's inventory (every image and container) over the ssh tunnel vs the local socket.

Also times the one-time cost of opening an ssh:// engine (ssh start, auth, forward, first ping, version, info).
Run from the repo root as root with the Docker engine up: `.venv/bin/python benchmarks/bench_ssh.py`.
It uses the sshd scripts/test exported (DOCKAUDIT_TEST_SSH_*) or starts its own on 127.0.0.1, creates
`--containers` created-only containers (labelled `dockaudit.test=1`) so the lists have rows, and removes them.
Writes its table into benchmarks/RESULTS.md between the bench:ssh markers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
import sys  # noqa: E402

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from results import write_block  # noqa: E402 (benchmarks/ is on sys.path when a script runs)
from tests.harness import sshd as sshd_harness  # noqa: E402

from dockaudit.engine.client import connect, resolve_endpoint  # noqa: E402
from dockaudit.engine.collect import inventory  # noqa: E402

START, END = "<!-- bench:ssh:start -->", "<!-- bench:ssh:end -->"
LABELS = {"dockaudit.test": "1", "dockaudit.bench": "ssh"}
TARGET_RATIO = 2.0


def build_image(client: docker.DockerClient) -> str:
    """A tiny FROM-scratch image holding the static busybox, for created-only containers."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dockerfile = b'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n'
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add("/bin/busybox", arcname="busybox")
    buf.seek(0)
    tag = "dockaudit-bench-ssh:latest"
    client.images.build(fileobj=buf, custom_context=True, tag=tag, labels=LABELS, rm=True)
    return tag


@contextlib.contextmanager
def tunnel_mode(mode: str) -> Iterator[None]:
    """Open ssh tunnels in `mode` (`pty` or `plain`) inside the block."""
    before = os.environ.pop("DOCKAUDIT_SSH_TUNNEL", None)
    if mode == "plain":
        os.environ["DOCKAUDIT_SSH_TUNNEL"] = "plain"
    try:
        yield
    finally:
        os.environ.pop("DOCKAUDIT_SSH_TUNNEL", None)
        if before is not None:
            os.environ["DOCKAUDIT_SSH_TUNNEL"] = before


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def write_results(text: str) -> None:
    write_block(f"{START}\n{text.rstrip()}\n{END}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--setups", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()

    sshd = sshd_harness.SshdInfo.from_env(os.environ)
    own_sshd: Path | None = None
    if sshd is None:
        own_sshd = Path(tempfile.mkdtemp(prefix="bench-sshd-"))
        sshd = sshd_harness.start(own_sshd)
    os.environ["DOCKAUDIT_SSH_COMMAND"] = sshd.ssh_command

    writer = docker.from_env(timeout=120)  # a writable SDK client, only for the bench's own containers
    created: list[str] = []
    try:
        image = build_image(writer)
        for i in range(args.containers):
            created.append(writer.api.create_container(image, name=f"dockaudit-bench-ssh-{i}", labels=LABELS)["Id"])

        local_ep = resolve_endpoint(host="unix:///var/run/docker.sock")
        ssh_ep = resolve_endpoint(host=sshd.url)
        setup: dict[str, list[float]] = {"local": [], "pty": [], "plain": []}
        for _ in range(args.setups):
            setup["local"].append(timed(lambda: connect(local_ep).close()))
            for mode in ("pty", "plain"):
                with tunnel_mode(mode):
                    setup[mode].append(timed(lambda: connect(ssh_ep).close()))

        with (
            connect(local_ep) as local,
            tunnel_mode("pty"),
            connect(ssh_ep) as pty,
            tunnel_mode("plain"),
            connect(ssh_ep) as plain,
        ):
            assert pty.tunnel is not None and pty.tunnel.mode == "pty"
            assert plain.tunnel is not None and plain.tunnel.mode == "plain"
            counts = inventory(local.client)
            assert len(inventory(pty.client).containers) == len(counts.containers)
            times: dict[str, list[float]] = {"local": [], "pty": [], "plain": []}
            clients = {"local": local.client, "pty": pty.client, "plain": plain.client}
            order = list(clients)
            for i in range(args.rounds):
                # Interleaved and rotated, so load drift and position in the round hit every side alike.
                for name in order[i % 3 :] + order[: i % 3]:
                    client = clients[name]
                    times[name].append(timed(lambda client=client: inventory(client)))
            server = local.info.server_version
    finally:
        for cid in created:
            writer.api.remove_container(cid, force=True)
        writer.close()
        if own_sshd is not None:
            sshd_harness.stop(own_sshd)

    ratio = median_ms(times["pty"]) / median_ms(times["local"])
    plain_ratio = median_ms(times["plain"]) / median_ms(times["local"])
    verdict = "pass" if ratio <= TARGET_RATIO else "FAIL"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = f"""### Inventory over ssh (benchmarks/bench_ssh.py, {now})

dockaudit `inventory()` (images list + containers list with `all=True`, issued concurrently) through the
read-only client; {len(counts.images)} images, {len(counts.containers)} containers. ssh:// goes through one system
`ssh -L` tunnel to an sshd on 127.0.0.1, so the numbers are the tunnel's own overhead, not network latency.
Median of {args.rounds} interleaved, rotated rounds (connect: {args.setups}); Docker {server}, {platform.machine()},
{os.cpu_count()} CPUs (load average {load} at the end), CPython {platform.python_version()}.

| measurement | median | target | result |
| --- | --- | --- | --- |
| inventory, local socket | {median_ms(times["local"]):.1f} ms | | |
| inventory, ssh tunnel (default `pty` mode) | {median_ms(times["pty"]):.1f} ms | ratio <= {TARGET_RATIO:g} | \
{ratio:.2f}x {verdict} |
| inventory, ssh tunnel (`plain` fallback, `ssh -N`) | {median_ms(times["plain"]):.1f} ms | | {plain_ratio:.2f}x |
| connect, local socket (probe, /version, /info) | {median_ms(setup["local"]):.1f} ms | | |
| connect, ssh:// `pty` (one-time: ssh, auth, forward, session, /version, /info) | \
{median_ms(setup["pty"]):.0f} ms | | |
| connect, ssh:// `plain` | {median_ms(setup["plain"]):.0f} ms | | |

`pty` mode holds a terminal session so sshd sets TCP_NODELAY; a bare `ssh -N` forward can stall ~40 ms on
responses (Nagle against delayed ACKs). For comparison (machine-notes): docker-py's `use_ssh_client=True`
starts one ssh process per request, about 700 ms each.
"""
    print(text)
    if not args.no_write:
        write_results(text)
    return 0 if verdict == "pass" else 1


if __name__ == "__main__":
    raise SystemExit(main())
