"""Facts about the engine's host: the daemon's settings and the auditing client's config."""

from __future__ import annotations

from dockaudit.records import Record, record


@record
class RegistryAuth(Record):
    """One `auths` entry of the client's config.json, without the secret."""

    registry: str
    has_auth: bool
    has_identity_token: bool
    helper: str | None = None
    """The credsStore or credHelpers entry that covers this registry."""


@record
class HostFacts(Record):
    """The engine, its daemon and the auditing client."""

    engine: str
    endpoint: str
    server_version: str
    api_version: str
    os: str = ""
    kernel: str = ""
    rootless: bool = False
    podman: bool = False
    security_options: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    live_restore: bool = False
    logging_driver: str = ""
    daemon_json: dict[str, object] | None = None
    """Parsed `/etc/docker/daemon.json` when readable (local engines only)."""
    daemon_hosts: tuple[str, ...] = ()
    """`hosts` the daemon listens on, from daemon.json or the dockerd command line when visible."""
    tls: bool = False
    """The client reaches the engine over TLS."""
    client_config_path: str | None = None
    registry_auths: tuple[RegistryAuth, ...] = ()
    creds_store: str | None = None
    content_trust: bool = False
    reclaimable_bytes: int = 0
    """Space `docker system prune` would free: dangling images and stopped containers."""
    images_count: int = 0
    containers_count: int = 0
