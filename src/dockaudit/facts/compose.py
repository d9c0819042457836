"""Facts about a Compose project: its services as Compose's canonical model has them, with their source lines."""

from __future__ import annotations

import enum
from dataclasses import field
from typing import TYPE_CHECKING

from dockaudit.facts.image import Healthcheck
from dockaudit.model import Location
from dockaudit.records import Record, record
from dockaudit.secrets import SecretMatch

if TYPE_CHECKING:
    from dockaudit.facts.image import ImageFacts


class EnvOrigin(enum.StrEnum):
    """Where a Compose service's environment value comes from."""

    COMPOSE_FILE = "compose-file"
    """A literal written under `environment:` in a Compose file."""
    DEFAULT = "default"
    """The default of a `${VAR:-default}` reference, written in the Compose file."""
    INTERPOLATED = "interpolated"
    """A `${VAR}` reference, resolved from the shell or `.env` when the file was read."""
    SHELL = "shell"
    """A bare `- NAME` entry: the value is whatever the shell has when Compose runs."""
    ENV_FILE = "env-file"
    """A line of an `env_file:` inside the project directory."""
    EXTERNAL_ENV_FILE = "external-env-file"
    """A line of an `env_file:` outside the project directory (e.g. provisioned on the host)."""


@record
class ComposeEnvVar(Record):
    """One variable of a service's environment as Compose resolves it; values are already redacted."""

    name: str
    value: str
    """The value the container gets (`$$` unescaped), redacted when `secret` is set."""
    secret: SecretMatch | None
    """Why the value the container gets is a secret; None when it is not."""
    origin: EnvOrigin
    written_secret: SecretMatch | None
    """Why the text written in the project's own files (literal, default or env_file line) is a secret."""
    location: Location


@record
class ComposePort(Record):
    """A published port in Compose's long form."""

    target: int
    published: str
    """Host port (`"8080"`); empty when Docker picks a random one."""
    host_ip: str
    """Empty when the port listens on all interfaces (Compose omits `host_ip` then)."""
    protocol: str
    location: Location

    @property
    def host_port(self) -> int:
        """The published host port as a number; 0 when random or not numeric."""
        return int(self.published) if self.published.isdecimal() else 0


@record
class ComposeMount(Record):
    """A service volume in Compose's long form; bind sources are absolute."""

    type: str
    source: str
    target: str
    read_only: bool
    propagation: str
    in_project: bool
    """A bind source inside the project directory (written as a relative path, usually)."""
    location: Location


@record
class ComposeDependency(Record):
    """A `depends_on` entry with its condition (`service_started` for the short form)."""

    service: str
    condition: str
    required: bool
    service_healthcheck: bool
    """The service depended on defines a healthcheck of its own in the Compose files."""
    location: Location


@record
class ComposeBuild(Record):
    """A service's `build:` section."""

    context: str
    """Absolute path, or a URL for a remote context."""
    dockerfile: str
    target: str = ""

    @property
    def dockerfile_path(self) -> str | None:
        """The Dockerfile to audit for this build (relative to the context); None for a remote context."""
        if "://" in self.context or self.context.startswith("git@"):
            return None
        if self.dockerfile.startswith("/"):
            return self.dockerfile
        return f"{self.context.rstrip('/')}/{self.dockerfile}"


@record
class ComposeService(Record):
    """One service of a Compose project as Compose's canonical model has it, with its source lines."""

    name: str
    project: str
    image: str
    """The image reference after interpolation; empty when only `build:` names it."""
    build: ComposeBuild | None
    user: str | None
    """None when `user:` is not set (the image's user applies)."""
    privileged: bool = False
    read_only: bool = False
    init: bool = False
    network_mode: str = ""
    pid: str = ""
    ipc: str = ""
    uts: str = ""
    userns_mode: str = ""
    cgroup: str = ""
    cgroup_parent: str = ""
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    memory_limit: int = 0
    """Bytes, from `mem_limit` or `deploy.resources.limits.memory`; 0 when unlimited."""
    cpus: float = 0.0
    """From `cpus` or `deploy.resources.limits.cpus`; 0 when unlimited."""
    cpu_quota: int = 0
    cpu_shares: int = 0
    pids_limit: int | None = None
    """From `pids_limit` or `deploy.resources.limits.pids`."""
    oom_kill_disable: bool = False
    devices: tuple[str, ...] = ()
    """`source:target:permissions`."""
    device_cgroup_rules: tuple[str, ...] = ()
    healthcheck: Healthcheck | None = None
    """None when the service sets none (the image's applies); `disable: true` is a `NONE` test."""
    logging_driver: str = ""
    """Empty when `logging:` does not name a driver (the daemon's default applies)."""
    logging_options: tuple[tuple[str, str], ...] = ()
    logging_set: bool = False
    environment: tuple[ComposeEnvVar, ...] = ()
    ports: tuple[ComposePort, ...] = ()
    volumes: tuple[ComposeMount, ...] = ()
    tmpfs: tuple[str, ...] = ()
    depends_on: tuple[ComposeDependency, ...] = ()
    secrets: tuple[str, ...] = ()
    """Names of the `secrets:` the service mounts."""
    expose: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    restart: str = ""
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    """Entrypoint and command as Compose has them, redacted; None when the image's apply."""
    location: Location = field(default_factory=Location)
    """The line of `services.<name>:` in the file that defines the service."""
    key_locations: tuple[tuple[str, Location], ...] = ()
    """Where each key (`ports`, `deploy.resources.limits.memory`...) is written, when it is written."""

    def where(self, *keys: str) -> Location:
        """The location of the first of `keys` that is written, else of the service itself."""
        found = dict(self.key_locations)
        for key in keys:
            if key in found:
                return found[key]
        return self.location

    @property
    def target_name(self) -> str:
        """`project/service`, the name of the service as a report target."""
        return f"{self.project}/{self.name}"

    @property
    def target_id(self) -> str:
        """`compose.yaml#web`: the file that defines the service and its name, unique within a report."""
        return f"{self.location.path or ''}#{self.name}"


@record
class ComposeProject(Record):
    """A Compose project read through Compose itself: its services and the files they come from."""

    name: str
    working_dir: str
    """The project directory (absolute)."""
    files: tuple[str, ...]
    """The Compose files, as given, in merge order."""
    services: tuple[ComposeService, ...]
    file_paths: tuple[str, ...] = ()
    """The same files as absolute paths."""
    profiles: tuple[str, ...] = ()
    """The profiles asked for; empty means every profile (`COMPOSE_PROFILES='*'`)."""
    env_files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    """Compose's own warnings (unset variables...), one line each."""
    compose_version: str = ""

    def service(self, name: str) -> ComposeService | None:
        """The service called `name`, if the project has it."""
        return next((s for s in self.services if s.name == name), None)


@record
class ServiceFacts(Record):
    """What the Compose rules read about one service: its definition, and its image when that is known."""

    service: ComposeService
    image: ImageFacts | None = None
    """The image present locally (or derived from the `build:` Dockerfile); None when unknown."""
