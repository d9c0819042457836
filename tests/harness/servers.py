"""Small servers the engine tests control: a TCP (optionally TLS) forwarder to the engine socket, a TCP listener
that never answers, and a fake engine on a unix socket that records every request it receives."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

ENGINE_SOCKET = "/var/run/docker.sock"
# Python 3.13 verifies strictly (VERIFY_X509_STRICT): leaf certificates need key identifiers.
_KEY_IDS = "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class TcpForwarder:
    """Listens on 127.0.0.1:<port> and relays each connection to a unix socket (TLS-terminating when given)."""

    def __init__(self, target: str = ENGINE_SOCKET, tls: ssl.SSLContext | None = None) -> None:
        self.target = target
        self.tls = tls
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port: int = self._server.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """`tcp://127.0.0.1:<port>`."""
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
        except OSError:
            conn.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
        back.start()
        _pump(conn, upstream)
        back.join()
        conn.close()
        upstream.close()

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that completes handshakes (through the backlog) but never reads or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@dataclass
class FakeEngineState:
    """What the fake engine answers and what it was asked."""

    api_version: str = "1.41"
    server_version: str = "20.10.24-fake"
    components: list[dict[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    state: FakeEngineState


class _Handler(BaseHTTPRequestHandler):
    server: _UnixHTTPServer
    protocol_version = "HTTP/1.1"

    def address_string(self) -> str:
        return "fake-engine"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _answer(self, status: int, body: object) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Api-Version", self.server.state.api_version)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        self.server.state.requests.append((self.command, path))
        return path

    def do_GET(self) -> None:
        path = self._record()
        state = self.server.state
        if path.endswith("/_ping"):
            self._answer(200, "OK")
        elif path.endswith("/version"):
            self._answer(
                200,
                {"ApiVersion": state.api_version, "Version": state.server_version, "Components": state.components},
            )
        elif path.endswith("/info"):
            self._answer(200, {"SecurityOptions": ["name=seccomp,profile=default"]})
        else:
            self._answer(404, {"message": f"fake engine has no {path}"})

    def do_HEAD(self) -> None:
        self._record()
        self._answer(200, "")

    def do_POST(self) -> None:
        self._record()
        self._answer(201, {"Id": "created-by-fake-engine", "Warnings": []})

    def do_PUT(self) -> None:
        self.do_POST()

    def do_DELETE(self) -> None:
        self.do_POST()


class FakeEngine:
    """A Docker-API-shaped HTTP server on a unix socket; `state.requests` lists (method, path) received."""

    def __init__(self, socket_path: Path, state: FakeEngineState | None = None) -> None:
        self.socket_path = socket_path
        self.state = state or FakeEngineState()
        self._server = _UnixHTTPServer(str(socket_path), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """`unix://` URL of the fake engine."""
        return f"unix://{self.socket_path}"

    def close(self) -> None:
        """Stop serving and remove the socket file."""
        self._server.shutdown()
        self._server.server_close()
        self.socket_path.unlink(missing_ok=True)


@dataclass(frozen=True)
class TlsMaterial:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as the Docker CLI names them."""

    directory: Path
    """Holds `ca.pem`, `cert.pem`, `key.pem` (client side, DOCKER_CERT_PATH layout) and `server-*.pem`."""

    def server_context(self) -> ssl.SSLContext:
        """Server side: presents the server certificate and requires a client certificate from the CA."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.directory / "server-cert.pem", self.directory / "server-key.pem")
        ctx.load_verify_locations(self.directory / "ca.pem")
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tls_material(directory: Path, *, name: str = "ca") -> TlsMaterial:
    """Generate a throwaway CA and certificates with the openssl CLI."""
    directory.mkdir(parents=True, exist_ok=True)
    days = "2"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
             "-days", days, "-subj", f"/CN=dockaudit-test-{name}", cwd=directory)  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" + _KEY_IDS
    )
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n" + _KEY_IDS)
    for role in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{role}-key.pem", "-out", f"{role}.csr",
                 "-subj", f"/CN={role}", cwd=directory)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-out", f"{role}-cert.pem", "-days", days, "-extfile", f"{role}.ext", cwd=directory)  # fmt: skip
    (directory / "cert.pem").write_bytes((directory / "client-cert.pem").read_bytes())
    (directory / "key.pem").write_bytes((directory / "client-key.pem").read_bytes())
    return TlsMaterial(directory)
