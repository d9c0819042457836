"""A recording HTTP proxy in front of a Docker engine socket, with optional fault injection.

`DockerProxy` listens on a unix socket of its own, relays every connection to the engine socket and records the
method and path of every request (keep-alive and streamed responses included: `/images/{id}/get`, `/events`).
A `hook` sees each request before it is forwarded and may answer for the engine (`Respond`), drop the
connection (`Drop`) or cut the response after some bytes (`Truncate`): these stand in for an engine that
errs, dies mid-request or dies mid-stream. The hook may also act on the world
(kill a real dockerd) and return `FORWARD`.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

ENGINE_SOCKET = "/var/run/docker.sock"
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")


@dataclass(frozen=True)
class Request:
    """One request the proxy saw."""

    method: str
    target: str
    """The request target as sent (API version prefix and query string included)."""
    agent: str = ""
    """The User-Agent header: docker-py's for dockaudit, Go's (or Trivy's) for Trivy."""

    @property
    def path(self) -> str:
        """The target without the `/v1.41` prefix and the query string: `/images/sha256:.../json`."""
        return unquote(_VERSION_PREFIX.sub("", self.target.split("?", 1)[0]))


@dataclass(frozen=True)
class Forward:
    """Relay the request to the engine unchanged."""


@dataclass(frozen=True)
class Respond:
    """Answer for the engine without forwarding (e.g. a 404 for a container that is gone)."""

    status: int
    message: str


@dataclass(frozen=True)
class Drop:
    """Close the client's connection without an answer (a daemon that dies while a request is open)."""


@dataclass(frozen=True)
class Truncate:
    """Forward, then cut the response after `after` bytes and close the connection."""

    after: int


Action = Forward | Respond | Drop | Truncate
FORWARD = Forward()
Hook = Callable[[Request, int], Action]
"""Called with each request and its 0-based index over the proxy's life."""

_REASONS = {404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}


def _read_head(conn: socket.socket, buffer: bytearray) -> bytes | None:
    """Bytes of the next request head (through the blank line), or None at end of stream."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    del buffer[:end]
    return head


def _read_exact(conn: socket.socket, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed mid-body")
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


def _read_line(conn: socket.socket, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed mid-body")
        buffer += chunk
    end = buffer.index(b"\r\n") + 2
    line = bytes(buffer[:end])
    del buffer[:end]
    return line


def _read_body(conn: socket.socket, buffer: bytearray, headers: dict[str, str]) -> bytes:
    """The request body as it was sent (Content-Length or chunked), so it can be relayed verbatim."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            line = _read_line(conn, buffer)
            body += line
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            body += _read_exact(conn, buffer, size + 2)
            if size == 0:
                return body
    length = int(headers.get("content-length") or 0)
    return _read_exact(conn, buffer, length) if length else b""


class _Connection:
    """One client connection and its upstream connection."""

    def __init__(self, proxy: DockerProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.cut_after: int | None = None
        self._lock = threading.Lock()
        self.closed = False

    def run(self) -> None:
        try:
            self.upstream.connect(self.proxy.upstream)
        except OSError:
            self.close()
            return
        threading.Thread(target=self._pump_back, daemon=True).start()
        buffer = bytearray()
        try:
            while True:
                head = _read_head(self.client, buffer)
                if head is None:
                    break
                lines = head.decode("latin-1").split("\r\n")
                method, target = [*lines[0].split(" "), "", ""][:2]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = _read_body(self.client, buffer, headers)
                action = self.proxy._record(Request(method, target, headers.get("user-agent", "")))
                if isinstance(action, Respond):
                    self._respond(action)
                    continue
                if isinstance(action, Drop):
                    break
                if isinstance(action, Truncate):
                    with self._lock:
                        self.cut_after = action.after
                self.upstream.sendall(head + body)
        except OSError:
            pass
        self.close()

    def _respond(self, action: Respond) -> None:
        data = json.dumps({"message": action.message}).encode()
        reason = _REASONS.get(action.status, "Error")
        head = (
            f"HTTP/1.1 {action.status} {reason}\r\nContent-Type: application/json\r\n"
            f"Api-Version: 1.41\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        with self._lock:
            self.client.sendall(head + data)

    def _pump_back(self) -> None:
        try:
            while chunk := self.upstream.recv(65536):
                with self._lock:
                    if self.cut_after is not None:
                        chunk = chunk[: self.cut_after]
                        self.cut_after -= len(chunk)
                    if chunk:
                        self.client.sendall(chunk)
                    if self.cut_after == 0:
                        break
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.proxy._forget(self)


@dataclass
class DockerProxy:
    """A recording (and optionally faulty) proxy on `socket_path` in front of `upstream`."""

    socket_path: Path
    upstream: str = ENGINE_SOCKET
    hook: Hook | None = None
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()
        self._dead = False
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.socket_path))
        self._server.listen(128)
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        """`unix://` URL for DOCKER_HOST, `-H` or Trivy's `--docker-host`."""
        return f"unix://{self.socket_path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                if self._dead:
                    conn.close()
                    continue
                connection = _Connection(self, conn)
                self._open.add(connection)
            threading.Thread(target=connection.run, daemon=True).start()

    def _record(self, request: Request) -> Action:
        with self._lock:
            index = len(self.requests)
            self.requests.append(request)
        return self.hook(request, index) if self.hook is not None else FORWARD

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._open.discard(connection)

    def die(self) -> None:
        """Close every connection and refuse new ones (the socket file stays, as a dead daemon's does)."""
        with self._lock:
            self._dead = True
            connections = list(self._open)
        for connection in connections:
            connection.close()

    def calls(self) -> set[tuple[str, str]]:
        """(method, path) pairs seen so far."""
        with self._lock:
            return {(r.method, r.path) for r in self.requests}

    def close(self) -> None:
        """Stop listening and close every connection."""
        self.die()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self.socket_path.unlink(missing_ok=True)
