"""The HEALTHCHECK probes harden writes, run for real: each passes while a server answers and fails once none
listens, so an added check can pass and still tells a dead server from a live one.

The language runtimes (python3, node, ruby) are the host's, installed by scripts/test; the images they stand for
ship the same interpreters. A missing runtime fails the test: a probe nobody ran is no evidence."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from dockaudit.harden.healthcheck import probe
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_runtime import runtime_of

RUNTIMES = {"python3": "python:3.12-slim", "node": "node:20-slim", "ruby": "ruby:3.3-slim"}


class _Status(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.HTTPServer]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Status)
    httpd.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _probe_for(runtime: str, url: str, strict: bool) -> list[str]:
    """The probe harden picks on the runtime's official slim image, which has no curl or wget."""
    facts = runtime_of(parse_dockerfile_text(f'FROM {RUNTIMES[runtime]}\nCMD ["app"]\n'))
    argv = probe(facts, url, strict)
    assert argv is not None and argv[0] == runtime, argv
    return argv


def _run(argv: list[str]) -> int:
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is not installed: scripts/test installs it")
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_any_answer_passes_and_no_server_fails(runtime: str, server: http.server.HTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    argv = _probe_for(runtime, url, strict=False)
    assert _run(argv) == 0
    server.status = 500  # type: ignore[attr-defined]
    assert _run(argv) == 0  # the server answers: up, whatever its page says
    assert _run(_probe_for(runtime, f"http://127.0.0.1:{_free_port()}/", strict=False)) != 0


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_a_health_path_must_answer_below_400(runtime: str, server: http.server.HTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    argv = _probe_for(runtime, url, strict=True)
    assert _run(argv) == 0
    server.status = 503  # type: ignore[attr-defined]
    assert _run(argv) != 0
    assert _run(_probe_for(runtime, f"http://127.0.0.1:{_free_port()}/health", strict=True)) != 0
