"""Connect to a resolved engine: a read-only docker SDK client, the engine's identity, one-line failures.

The API version is always negotiated (the engine's own, from `/version`), never pinned. Engines older than API 1.40
(Docker 19.03, Podman 3) are refused: the inspect fields the rules read are only complete from there on.
"""

from __future__ import annotations

import grp
import math
import os
import pwd
import socket
import ssl
import stat
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import docker
import docker.errors
import requests
import urllib3
from docker.tls import TLSConfig

from dockaudit.engine.endpoint import (
    Endpoint,
    SshTarget,
    TlsSettings,
    alternative_sockets,
    list_contexts,
    normalize_host,
    resolve_endpoint,
)
from dockaudit.engine.readonly import ReadOnlyDockerClient, ReadOnlyError
from dockaudit.engine.ssh_tunnel import SshTunnel, install_signal_handlers
from dockaudit.errors import EngineError
from dockaudit.model import EngineInfo

__all__ = [
    "MIN_API_VERSION",
    "Endpoint",
    "Engine",
    "ReadOnlyError",
    "SshTarget",
    "TlsSettings",
    "alternative_sockets",
    "connect",
    "install_signal_handlers",
    "list_contexts",
    "normalize_host",
    "resolve_endpoint",
]

MIN_API_VERSION = (1, 40)
_PLACEHOLDER_API = "1.40"
"""The SDK client's API version until the engine's own is known; never used for a request."""
DEFAULT_TIMEOUT = 10.0
DEFAULT_REQUEST_TIMEOUT = 120.0
"""Per-request read timeout once connected: `system df` or a big `top` can take a while on busy hosts."""


class Engine:
    """A connected engine: the read-only SDK client, where it is, what it is; `close()` ends any ssh tunnel."""

    def __init__(
        self,
        client: docker.DockerClient,
        endpoint: Endpoint,
        info: EngineInfo,
        *,
        version: Mapping[str, Any],
        host_info: Mapping[str, Any],
        tunnel: SshTunnel | None = None,
    ) -> None:
        self.client = client
        """Read-only: any non-GET request raises `ReadOnlyError` before it is sent."""
        self.endpoint = endpoint
        self.info = info
        self.version = version
        """`GET /version` as the engine answered it at connect time."""
        self.host_info = host_info
        """`GET /info` as the engine answered it at connect time."""
        self.tunnel = tunnel
        self.trivy_docker_host: str | None = endpoint.url if endpoint.is_local else None
        """A unix:// URL for Trivy's `--docker-host` when the engine is local; None for ssh/tcp (export a tarball)."""

    def close(self) -> None:
        """Close the SDK's connections and tear down the ssh tunnel, if any."""
        try:
            self.client.close()
        finally:
            if self.tunnel is not None:
                self.tunnel.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def parse_api_version(text: str) -> tuple[int, int]:
    """`"1.41"` → `(1, 41)`; unparsable versions sort lowest."""
    try:
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def engine_info(
    version: Mapping[str, Any], host_info: Mapping[str, Any], endpoint: Endpoint, engine_id: str
) -> EngineInfo:
    """`EngineInfo` from the engine's `/version` and `/info` answers."""
    components = version.get("Components") or []
    podman = any("podman" in str(c.get("Name", "")).lower() for c in components if isinstance(c, dict))
    security = [str(opt) for opt in host_info.get("SecurityOptions") or []]
    rootless = any("name=rootless" in opt for opt in security) or bool(host_info.get("Rootless"))
    return EngineInfo(
        id=engine_id,
        endpoint=endpoint.url,
        context=endpoint.context,
        server_version=str(version.get("Version")) if version.get("Version") else None,
        api_version=str(version.get("ApiVersion")) if version.get("ApiVersion") else None,
        rootless=rootless,
        podman=podman,
    )


def _owner(st: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{user}:{group}"


def _socket_hint(current: str) -> str:
    others = [p for p in alternative_sockets() if p != current]
    existing = [p for p in others if Path(p).exists()]
    if existing:
        return "found " + ", ".join(f"unix://{p}" for p in existing) + " (use it with -H)"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return f"rootless Docker uses unix://{runtime}/docker.sock, Podman unix://{runtime}/podman/podman.sock"


def _probe_socket(path: str, endpoint: Endpoint, timeout: float) -> None:
    """Connect once to a unix socket so missing, forbidden and dead sockets get their own message."""
    where = endpoint.describe()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
    except FileNotFoundError:
        raise EngineError(
            f"no Docker engine socket at {path} (tried {where}); start the engine or pick one with "
            f"-H/--host, DOCKER_HOST or --context; {_socket_hint(path)}"
        ) from None
    except PermissionError:
        try:
            st = Path(path).stat()
            owned = f" (owned by {_owner(st)}, mode {stat.S_IMODE(st.st_mode):o})"
        except OSError:
            owned = ""
        runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
        if "podman" in Path(path).name.lower() or "/podman/" in path:
            # Rootful Podman's socket is root's alone: there is no group to join.
            raise EngineError(
                f"permission denied on {path}{owned} (tried {where}); rootful Podman's socket is root's: run as root "
                f"or use rootless Podman: systemctl --user start podman.socket, then -H unix://{runtime}/podman/podman.sock"
            ) from None
        raise EngineError(
            f"permission denied on {path}{owned} (tried {where}); add your user to the 'docker' group "
            f"(sudo usermod -aG docker $USER, then log in again) or use a rootless engine: -H unix://{runtime}/docker.sock"
        ) from None
    except ConnectionRefusedError:
        raise EngineError(
            f"nothing is listening on {path} (tried {where}): the engine is not running or the socket is stale"
        ) from None
    except TimeoutError:
        raise EngineError(f"timed out after {timeout:g} s connecting to {where}") from None
    except OSError as exc:
        raise EngineError(f"cannot connect to {where}: {exc.strerror or exc}") from None


def _tls_config(endpoint: Endpoint) -> TLSConfig | bool:
    tls = endpoint.tls
    if tls is None:
        return False
    if not tls.verify:
        # The user chose SkipTLSVerify; doctor and the header say so once, not a warning per request.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    client_cert = (tls.client_cert, tls.client_key) if tls.client_cert and tls.client_key else None
    try:
        return TLSConfig(client_cert=client_cert, ca_cert=tls.ca_cert, verify=tls.verify)
    except docker.errors.TLSParameterError as exc:
        raise EngineError(f"TLS settings for {endpoint.describe()} are unusable ({tls.origin}): {exc}") from None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (causes, contexts, urllib3 `reason`s, exceptions in args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(n for n in nested if isinstance(n, BaseException))


def explain_connect_error(exc: BaseException, endpoint: Endpoint, timeout: float) -> str:
    """One line for a failure while talking to the engine the first time."""
    where = endpoint.describe()
    chain = list(_causes(exc))
    for err in chain:
        if isinstance(err, ReadOnlyError):
            return str(err)
    for err in chain:
        if isinstance(err, requests.exceptions.SSLError | ssl.SSLError):
            reason = _ssl_reason(chain)
            origin = f"; check the certificates ({endpoint.tls.origin})" if endpoint.tls and endpoint.tls.origin else ""
            return f"TLS handshake with {where} failed: {reason}{origin}"
    for err in chain:
        if isinstance(err, requests.exceptions.Timeout | TimeoutError | socket.timeout):
            return f"timed out after {timeout:g} s waiting for the engine at {where}"
    for err in chain:
        if isinstance(err, ConnectionRefusedError):
            return f"connection refused by {where}: no engine is listening there"
        if isinstance(err, socket.gaierror):
            return f"cannot resolve the host of {where}: {err.strerror or err}"
        if isinstance(err, PermissionError | FileNotFoundError):
            return f"cannot open {where}: {err.strerror or err}"
    for err in chain:
        if isinstance(err, docker.errors.APIError):
            status = err.status_code or "an error"
            return f"the engine at {where} answered {status}: {err.explanation or err}"
        if isinstance(err, docker.errors.InvalidVersion):
            return f"the engine at {where} is too old for the docker SDK: {err}"
    for err in chain:
        if isinstance(err, requests.exceptions.ConnectionError | ConnectionError):
            return f"lost the connection to {where}: {_last_words(err)}"
    return f"cannot talk to the engine at {where}: {_last_words(exc)}"


def _ssl_reason(chain: list[BaseException]) -> str:
    for err in chain:
        if isinstance(err, ssl.SSLError):
            return err.reason if isinstance(err.reason, str) and err.reason else str(err)
    return _last_words(chain[-1])


def _last_words(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _handshake(
    endpoint: Endpoint, base_url: str, timeout: float
) -> tuple[ReadOnlyDockerClient, dict[str, Any], dict[str, Any]]:
    """The SDK client plus the engine's `/version` and `/info`, once the API version is acceptable."""
    try:
        client = ReadOnlyDockerClient(
            base_url=base_url, version=_PLACEHOLDER_API, timeout=timeout, tls=_tls_config(endpoint)
        )
    except EngineError:
        raise
    except Exception as exc:
        raise EngineError(explain_connect_error(exc, endpoint, timeout)) from exc
    try:
        version: dict[str, Any] = client.api.version(api_version=False)
    except Exception as exc:
        client.close()
        raise EngineError(explain_connect_error(exc, endpoint, timeout)) from exc
    api = str(version.get("ApiVersion", ""))
    if parse_api_version(api) < MIN_API_VERSION:
        client.close()
        need = ".".join(map(str, MIN_API_VERSION))
        raise EngineError(
            f"the engine at {endpoint.describe()} is too old: it speaks API {api or '?'} "
            f"(server {version.get('Version', '?')}); dockaudit needs API {need} or newer (Docker 19.03+, Podman 3+)"
        )
    # What `version="auto"` would negotiate, from the answer above instead of a second `/version`.
    client.api._version = api  # type: ignore[attr-defined]  # where `version="auto"` keeps it
    try:
        host_info: dict[str, Any] = client.api.info()
    except Exception as exc:
        client.close()
        raise EngineError(explain_connect_error(exc, endpoint, timeout)) from exc
    return client, version, host_info


def connect(
    endpoint: Endpoint,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    engine_id: str = "local",
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
) -> Engine:
    """Connect (opening an ssh tunnel for ssh:// endpoints) and check the engine answers; raises EngineError."""
    tunnel: SshTunnel | None = None
    base_url = endpoint.url
    if endpoint.scheme == "ssh":
        tunnel = SshTunnel(endpoint.ssh_target(), timeout=timeout).open()
        base_url = tunnel.url
    elif endpoint.socket_path is not None:
        _probe_socket(endpoint.socket_path, endpoint, timeout)
    try:
        client, version, host_info = _handshake(endpoint, base_url, timeout)
    except BaseException:
        if tunnel is not None:
            tunnel.close()
        raise
    client.api.timeout = math.ceil(request_timeout)
    return Engine(
        client,
        endpoint,
        engine_info(version, host_info, endpoint, engine_id),
        version=version,
        host_info=host_info,
        tunnel=tunnel,
    )
