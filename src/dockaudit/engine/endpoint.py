"""Resolve which Docker engine to talk to, in the Docker CLI's order, without touching the network.

Order: `--context`, `-H/--host` (both at once is a usage error), `DOCKER_HOST`, `DOCKER_CONTEXT`,
`currentContext` in `$DOCKER_CONFIG/config.json` (`default` or empty: the platform socket), the platform socket.
The context store is read directly (`contexts/meta/<sha256(name)>/meta.json`) because docker-py's context
support differs between versions.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from dockaudit.errors import DockauditError, EngineError, UsageError

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_URL = f"unix://{DEFAULT_SOCKET}"
DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock"
DEFAULT_CONTEXT = "default"

SOURCES = ("flag", "env", "context", "default")
"""How an endpoint was chosen: a command-line flag, an environment variable, config.json, or nothing at all."""


# NamedTuples, not dataclasses: plain records that a dataclass would cost ~1 ms of start-up each to create.


class TlsSettings(NamedTuple):
    """TLS material for a `tcp://` engine; paths are None when the file is absent."""

    verify: bool
    """Verify the server certificate (against `ca_cert` when given, else the system store)."""
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    origin: str = ""
    """Where the material came from: a DOCKER_CERT_PATH directory or a context's TLS directory."""


class SshTarget(NamedTuple):
    """The parts of an `ssh://[user@]host[:port][/remote/socket]` URL."""

    host: str
    user: str | None = None
    port: int | None = None
    socket_path: str = DEFAULT_REMOTE_SOCKET
    """The engine socket on the remote host; a URL path overrides it (a dockaudit extension)."""

    @property
    def destination(self) -> str:
        """`user@host` (or `host`), as ssh takes it."""
        return f"{self.user}@{self.host}" if self.user else self.host


class Endpoint(NamedTuple):
    """A resolved engine address and how it was chosen."""

    url: str
    """Normalised: `unix:///path`, `tcp://host:port` or `ssh://[user@]host[:port][/path]`."""
    source: str
    """One of `SOURCES`."""
    context: str | None = None
    """The Docker CLI context whose endpoint this is; None for the default context."""
    tls: TlsSettings | None = None
    detail: str = ""
    """Human wording of the source (`DOCKER_HOST`, `--context prod`, `currentContext in ~/.docker/config.json`)."""
    notes: tuple[str, ...] = ()
    """Oddities met while resolving (an unreadable config.json...), for `doctor` to show."""

    @property
    def scheme(self) -> str:
        """`unix`, `tcp` or `ssh`."""
        return self.url.split("://", 1)[0]

    @property
    def socket_path(self) -> str | None:
        """The socket path of a `unix://` endpoint, else None."""
        return self.url[len("unix://") :] if self.scheme == "unix" else None

    @property
    def is_local(self) -> bool:
        """Whether the engine is reached through a local socket (so Trivy can use it directly)."""
        return self.scheme == "unix"

    def ssh_target(self) -> SshTarget:
        """The parsed ssh URL; raises UsageError for non-ssh endpoints."""
        return parse_ssh_url(self.url)

    def describe(self) -> str:
        """One line for headers and errors: `ssh://me@box (context prod)`."""
        where = f"context {self.context}" if self.context else self.detail
        return f"{self.url} ({where})" if where else self.url


def parse_ssh_url(url: str) -> SshTarget:
    """Split an ssh:// URL; raises UsageError when it names no host or carries an option-like host."""
    parts = urlsplit(url)
    if parts.scheme != "ssh":
        raise UsageError(f"not an ssh:// URL: {url}")
    host = parts.hostname or ""
    if not host or host.startswith("-"):
        raise UsageError(f"ssh URL names no usable host: {url}")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"ssh URL has an invalid port: {url}") from None
    user = unquote(parts.username) if parts.username else None
    if user is not None and user.startswith("-"):
        raise UsageError(f"ssh URL has an invalid user: {url}")
    path = unquote(parts.path) if parts.path not in ("", "/") else DEFAULT_REMOTE_SOCKET
    return SshTarget(host=host, user=user, port=port, socket_path=path)


def normalize_host(raw: str, *, tls: bool = False, what: str = "-H/--host", usage: bool = True) -> str:
    """Normalise an engine URL the way `docker -H` accepts it; errors name `what` supplied the value."""
    err: type[DockauditError] = UsageError if usage else EngineError
    text = raw.strip()
    if not text:
        raise err(f"{what} is empty")
    if "://" not in text:
        # The Docker CLI reads a bare path as a socket and `host:port` as TCP.
        text = f"unix://{text}" if text.startswith("/") else f"tcp://{text}"
    scheme, rest = text.split("://", 1)
    scheme = scheme.lower()
    if scheme == "unix":
        path = rest or DEFAULT_SOCKET
        if not path.startswith("/"):
            raise err(f"{what}: unix socket path must be absolute: {raw}")
        return f"unix://{path}"
    if scheme in ("tcp", "http", "https"):
        parts = urlsplit(f"tcp://{rest}")
        try:
            port = parts.port
        except ValueError:
            raise err(f"{what}: invalid port in {raw}") from None
        host = parts.hostname or "localhost"
        if ":" in host:
            host = f"[{host}]"
        if port is None:
            port = 2376 if tls or scheme == "https" else 2375
        return f"tcp://{host}:{port}"
    if scheme == "ssh":
        target = parse_ssh_url(text)
        netloc = target.destination + (f":{target.port}" if target.port else "")
        suffix = target.socket_path if target.socket_path != DEFAULT_REMOTE_SOCKET else ""
        return f"ssh://{netloc}{suffix}"
    raise err(f"{what}: unsupported engine URL scheme {scheme}:// in {raw} (use unix://, tcp:// or ssh://)")


def config_dir(env: Mapping[str, str]) -> Path:
    """The Docker CLI config directory: `$DOCKER_CONFIG`, else `~/.docker`."""
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".docker"


def context_store_id(name: str) -> str:
    """The directory name the Docker CLI stores a context under."""
    return hashlib.sha256(name.encode()).hexdigest()


def _tls_from_env(env: Mapping[str, str], cfg: Path) -> TlsSettings | None:
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    cert_path = env.get("DOCKER_CERT_PATH")
    if not (verify or env.get("DOCKER_TLS") or cert_path):
        return None
    directory = Path(cert_path) if cert_path else cfg
    return _tls_files(directory, verify=verify, origin=f"DOCKER_CERT_PATH={directory}" if cert_path else str(directory))


def _tls_files(directory: Path, *, verify: bool, origin: str) -> TlsSettings:
    def present(name: str) -> str | None:
        path = directory / name
        return str(path) if path.is_file() else None

    return TlsSettings(
        verify=verify,
        ca_cert=present("ca.pem"),
        client_cert=present("cert.pem"),
        client_key=present("key.pem"),
        origin=origin,
    )


def _default_endpoint(
    host: str | None, env: Mapping[str, str], cfg: Path, *, source: str, detail: str, notes: tuple[str, ...] = ()
) -> Endpoint:
    """The `default` context: `-H`, else DOCKER_HOST, else the platform socket, with env TLS settings."""
    tls = _tls_from_env(env, cfg)
    raw = host if host is not None else env.get("DOCKER_HOST", "")
    if tls is None and raw.strip().lower().startswith("https://"):
        tls = TlsSettings(verify=True, origin="https:// URL (system CA store)")
    if host is not None:
        url = normalize_host(host, tls=tls is not None)
        return Endpoint(url, "flag", None, tls if url.startswith("tcp://") else None, "-H/--host", notes)
    if env.get("DOCKER_HOST"):
        url = normalize_host(env["DOCKER_HOST"], tls=tls is not None, what="DOCKER_HOST", usage=False)
        return Endpoint(url, "env", None, tls if url.startswith("tcp://") else None, "DOCKER_HOST", notes)
    return Endpoint(DEFAULT_URL, source, None, None, detail, notes)


def _read_current_context(cfg: Path) -> tuple[str | None, tuple[str, ...]]:
    path = cfg / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, ()
    except (OSError, ValueError) as exc:
        # The Docker CLI refuses to start here; we go on with the default socket and say why.
        return None, (f"ignored unreadable {path}: {exc}",)
    if not isinstance(data, dict):
        return None, (f"ignored {path}: not a JSON object",)
    current = data.get("currentContext")
    return (current if isinstance(current, str) and current else None), ()


def _context_endpoint(name: str, cfg: Path, *, source: str, detail: str, usage: bool) -> Endpoint:
    store = cfg / "contexts"
    store_id = context_store_id(name)
    meta_path = store / "meta" / store_id / "meta.json"
    err: type[DockauditError] = UsageError if usage else EngineError
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise err(
            f"Docker context {name!r} ({detail}) not found in {store}; 'docker context ls' lists the contexts"
        ) from None
    except (OSError, ValueError) as exc:
        raise err(f"Docker context {name!r} ({detail}): cannot read {meta_path}: {exc}") from None
    docker_ep = meta.get("Endpoints", {}).get("docker", {}) if isinstance(meta, dict) else {}
    if not isinstance(docker_ep, dict):
        docker_ep = {}
    host = str(docker_ep.get("Host") or "")
    skip_verify = bool(docker_ep.get("SkipTLSVerify", False))
    tls_dir = store / "tls" / store_id / "docker"
    tls: TlsSettings | None = None
    if tls_dir.is_dir() or skip_verify:
        tls = _tls_files(tls_dir, verify=not skip_verify, origin=f"context {name} TLS ({tls_dir})")
    what = f"context {name!r} endpoint"
    url = normalize_host(host, tls=tls is not None, what=what, usage=False) if host else DEFAULT_URL
    return Endpoint(url, source, name, tls if url.startswith("tcp://") else None, detail)


def resolve_endpoint(
    host: str | None = None, context: str | None = None, env: Mapping[str, str] | None = None
) -> Endpoint:
    """The engine to use, from flags, environment and the Docker CLI config, in the Docker CLI's order."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if host is not None and context is not None:
        raise UsageError("conflicting options: either specify -H/--host or --context, not both")
    cfg = config_dir(environ)
    if context is not None:
        if context == DEFAULT_CONTEXT:
            return _default_endpoint(None, environ, cfg, source="flag", detail="--context default")
        return _context_endpoint(context, cfg, source="flag", detail=f"--context {context}", usage=True)
    if host is not None or environ.get("DOCKER_HOST"):
        return _default_endpoint(host, environ, cfg, source="flag", detail="-H/--host")
    if environ.get("DOCKER_CONTEXT"):
        name = environ["DOCKER_CONTEXT"]
        if name == DEFAULT_CONTEXT:
            return _default_endpoint(None, environ, cfg, source="env", detail="DOCKER_CONTEXT=default")
        return _context_endpoint(name, cfg, source="env", detail=f"DOCKER_CONTEXT={name}", usage=False)
    current, notes = _read_current_context(cfg)
    if current and current != DEFAULT_CONTEXT:
        detail = f"currentContext in {cfg / 'config.json'}"
        return _context_endpoint(current, cfg, source="context", detail=detail, usage=False)
    if current == DEFAULT_CONTEXT:
        return _default_endpoint(None, environ, cfg, source="context", detail="currentContext default", notes=notes)
    return _default_endpoint(None, environ, cfg, source="default", detail="platform default socket", notes=notes)


def list_contexts(env: Mapping[str, str] | None = None) -> list[tuple[str, Endpoint]]:
    """Every Docker CLI context: `default` first, then the store's contexts by name; broken ones are left out."""
    environ: Mapping[str, str] = os.environ if env is None else env
    cfg = config_dir(environ)
    found: list[tuple[str, Endpoint]] = []
    try:
        found.append((DEFAULT_CONTEXT, resolve_endpoint(context=DEFAULT_CONTEXT, env=environ)))
    except DockauditError:
        found.append((DEFAULT_CONTEXT, Endpoint(DEFAULT_URL, "default", None, None, "platform default socket")))
    named: list[tuple[str, Endpoint]] = []
    meta_root = cfg / "contexts" / "meta"
    for meta_path in sorted(meta_root.glob("*/meta.json")) if meta_root.is_dir() else []:
        try:
            name = json.loads(meta_path.read_text(encoding="utf-8")).get("Name")
        except (OSError, ValueError, AttributeError):
            continue
        if not isinstance(name, str) or not name or name == DEFAULT_CONTEXT:
            continue
        try:
            named.append((name, _context_endpoint(name, cfg, source="context", detail=f"context {name}", usage=False)))
        except DockauditError:
            continue
    return found + sorted(named, key=lambda item: item[0])


def alternative_sockets(env: Mapping[str, str] | None = None) -> list[str]:
    """Other local engine sockets worth suggesting: rootless Docker, Podman, Docker Desktop."""
    environ: Mapping[str, str] = os.environ if env is None else env
    runtime = environ.get("XDG_RUNTIME_DIR") or (f"/run/user/{os.getuid()}" if hasattr(os, "getuid") else "")
    home = environ.get("HOME") or str(Path.home())
    paths = [
        f"{runtime}/docker.sock" if runtime else "",
        f"{runtime}/podman/podman.sock" if runtime else "",
        "/run/podman/podman.sock",
        f"{home}/.docker/run/docker.sock",
        DEFAULT_SOCKET,
    ]
    return [p for p in dict.fromkeys(paths) if p]
