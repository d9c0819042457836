"""Typed, immutable facts about images, containers, the host and Dockerfiles, built once per audit.

Values that look like secrets are already redacted here (see `dockaudit.secrets`); a fact keeps the
classification (`SecretMatch`) so rules can decide without ever seeing the raw value.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime

from dockaudit.model import Location, Origin
from dockaudit.parse.steps import base_step_count, parse_created_by
from dockaudit.secrets import SecretMatch

_LONG_DIGEST = re.compile(r"\b(file|dir|multi|sha256):([0-9a-f]{12})[0-9a-f]{20,}")
_MAX_SHOWN = 160


@dataclass(frozen=True)
class NamedValue:
    """An env entry, label or build arg: its value is redacted when `secret` is set."""

    name: str
    value: str
    secret: SecretMatch | None = None
    """Why the value was judged a secret (name pattern or credential format); None when it is not."""


@dataclass(frozen=True)
class Healthcheck:
    """`Config.Healthcheck` as inspect returns it (durations in nanoseconds)."""

    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    retries: int = 0
    start_period_ns: int = 0

    @property
    def disabled(self) -> bool:
        """`HEALTHCHECK NONE` (or an empty test) disables any inherited check."""
        return not self.test or self.test[0] == "NONE"


@dataclass(frozen=True)
class ImageConfig:
    """The runtime defaults an image carries (`docker image inspect` `.Config`)."""

    user: str = ""
    env: tuple[NamedValue, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    healthcheck: Healthcheck | None = None
    labels: tuple[NamedValue, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    """Like `80/tcp`, sorted."""
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""
    workdir: str = ""
    shell: tuple[str, ...] | None = None
    on_build: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryEntry:
    """One `docker history` step; `created_by` has secrets redacted."""

    index: int
    created_by: str
    comment: str = ""
    empty_layer: bool = False
    created: datetime | None = None
    layer_index: int | None = None
    """Index into `ImageFacts.layers` of the layer this step made; None for empty steps."""
    build_args: tuple[NamedValue, ...] = ()
    """The `|N NAME=value` prefix the legacy builder records, parsed and redacted."""
    from_base: bool | None = None
    """True when the step belongs to the base image; None when that cannot be told."""
    secrets: tuple[SecretMatch, ...] = ()
    """What redaction found in `created_by` outside the build-arg prefix (`secrets.redact_history_line`)."""
    line: int | None = None
    """Dockerfile line of the instruction, when the entry was derived from a parsed Dockerfile."""
    instruction: str = ""
    """Upper-case Dockerfile instruction (`RUN`, `ADD`...), parsed from `created_by` when the entry is made;
    `""` when the entry names none (a `docker commit`)."""
    body: str = ""
    """The instruction's arguments; for RUN the shell command without build args or `/bin/sh -c`."""
    flags: tuple[str, ...] = ()
    """Leading `--flag=value` options (`--mount=type=secret,id=x`, `--checksum=...`)."""

    def __post_init__(self) -> None:
        if not self.instruction and self.created_by.strip():
            instruction, body, flags = parse_created_by(self.created_by)
            # Frozen: the parse is part of making the entry, so it is set once here.
            object.__setattr__(self, "instruction", instruction)
            object.__setattr__(self, "body", body)
            object.__setattr__(self, "flags", flags)

    @property
    def origin(self) -> Origin:
        """Whether the step is the base image's or the user's own."""
        if self.from_base is None:
            return Origin.UNKNOWN
        return Origin.BASE if self.from_base else Origin.USER

    @property
    def shown(self) -> str:
        """The step as a short, already-redacted Dockerfile-like line."""
        text = f"{self.instruction} {self.body}".strip() if self.instruction else self.created_by.strip()
        # The legacy builder names sources by a 64-hex digest; 12 digits identify it well enough to read.
        text = _LONG_DIGEST.sub(r"\1:\2…", " ".join(text.split()))
        return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"

    @property
    def location(self) -> Location:
        """Where the step is: its layer, its (shortened) text and its Dockerfile line when known."""
        return Location(layer=self.layer_index, instruction=self.shown, line=self.line)

    @property
    def where(self) -> str:
        """`history step 5` or `Dockerfile line 12`, for evidence text."""
        if self.line is not None:
            return f"Dockerfile line {self.line}"
        return f"history step {self.index}"


class FileType(enum.StrEnum):
    """Kinds of tar entries."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    OTHER = "other"


@dataclass(frozen=True)
class FileFact:
    """One path as a layer of the image wrote it."""

    path: str
    """Absolute, normalised (`/etc/passwd`)."""
    type: FileType
    mode: int
    """Permission bits including setuid/setgid/sticky (`0o4755`)."""
    uid: int
    gid: int
    size: int
    layer_index: int
    deleted_later: bool = False
    """A later layer removes it (whiteout or an opaque directory above it)."""
    replaced_later: bool = False
    """A later layer writes the same path again."""
    link_target: str | None = None
    content: bytes | None = None
    """Size-capped content, kept only for files the rules parse (passwd, os-release, dpkg status...)."""
    secret: SecretMatch | None = None
    """Set when the file is a credential (private key, .aws/credentials...); its content is never kept."""

    @property
    def in_final(self) -> bool:
        """Whether the path is visible in the image's final filesystem (from this layer)."""
        return not self.deleted_later and not self.replaced_later


@dataclass(frozen=True)
class LayerInfo:
    """Size and origin of one layer, with the instruction that made it."""

    index: int
    digest: str
    size: int
    created_by: str = ""
    from_base: bool | None = None


@dataclass(frozen=True)
class OsRelease:
    """The distribution detected from `/etc/os-release` and friends."""

    id: str
    """`alpine`, `debian`, `ubuntu`, `rhel`, `distroless`, `scratch`, `busybox`..."""
    version_id: str = ""
    pretty_name: str = ""
    id_like: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilesystemFacts:
    """What the layers hold, read by streaming the saved image once."""

    files: tuple[FileFact, ...]
    """Every entry of every layer, in layer order, with whiteouts already applied as flags."""
    layers: tuple[LayerInfo, ...]
    total_size: int
    wasted_bytes: int
    """Bytes in lower layers that later layers delete or overwrite."""
    os_release: OsRelease | None = None
    layout: str = "classic"
    """`classic` (manifest.json) or `oci` (index.json)."""

    def final_files(self) -> tuple[FileFact, ...]:
        """Entries visible in the final filesystem."""
        return tuple(f for f in self.files if f.in_final)

    def get(self, path: str) -> FileFact | None:
        """The final entry at `path`, if any."""
        for fact in reversed(self.files):
            if fact.path == path and fact.in_final:
                return fact
        return None


@dataclass(frozen=True)
class ImageFacts:
    """Everything known about one image."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    size: int
    created: datetime | None
    architecture: str
    os: str
    config: ImageConfig
    history: tuple[HistoryEntry, ...]
    layers: tuple[str, ...]
    """`RootFS.Layers` diff IDs, bottom first."""
    variant: str = ""
    parent: str = ""
    author: str = ""
    engine: str | None = None
    """Engine id the image was read from; None for a tarball."""
    filesystem: FilesystemFacts | None = None
    """None until the layer stream was read (or when it could not be)."""
    filesystem_skip_reason: str | None = None
    filesystem_error: str | None = None
    """Set when the layer stream was asked for and failed (cut, engine gone): a failure, not a skip."""
    os_release: OsRelease | None = None
    base_image: str | None = None
    """The local base image (ref or id) whose layers this image starts with, when one was found."""
    has_manifest_list: bool = False
    reference: str | None = None
    """The reference the user typed, in short form, when one was typed."""
    dockerfile: str | None = None
    """Path of the Dockerfile these facts were derived from (`rules.dockerfile_adapter`); None for a real image."""
    runtime: RuntimeFacts | None = None
    """The Dockerfile's runtime analysis when these facts were derived from one; None for a real image."""

    @functools.cached_property
    def steps(self) -> tuple[HistoryEntry, ...]:
        """The history with every step's origin: the collector's, else the boundary heuristic's (made once)."""
        if any(entry.from_base is not None for entry in self.history):
            return self.history
        count = base_step_count(self.history)
        if count is None:
            return self.history
        return tuple(dataclasses.replace(e, from_base=i < count) for i, e in enumerate(self.history))

    @property
    def name(self) -> str:
        """Short display name: typed ref, else first tag, else `<none>@id`."""
        if self.reference:
            return self.reference
        if self.repo_tags:
            return self.repo_tags[0]
        return f"<none>@{self.id}"


@dataclass(frozen=True)
class Mount:
    """A container mount (`.Mounts`)."""

    type: str
    source: str
    destination: str
    read_write: bool
    propagation: str = ""
    name: str = ""


@dataclass(frozen=True)
class PortBinding:
    """A published port: container `80/tcp` on host `0.0.0.0:8080`."""

    container_port: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class Process:
    """A `docker top` row (host PIDs)."""

    pid: int
    ppid: int
    uid: str
    """The user column as `docker top` prints it (name or number)."""
    state: str
    command: str


@dataclass(frozen=True)
class HostConfig:
    """The security-relevant part of `.HostConfig`."""

    privileged: bool = False
    network_mode: str = ""
    pid_mode: str = ""
    ipc_mode: str = ""
    uts_mode: str = ""
    userns_mode: str = ""
    cgroupns_mode: str = ""
    cgroup_parent: str = ""
    readonly_rootfs: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    memory: int = 0
    memory_swap: int = 0
    nano_cpus: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpu_shares: int = 0
    pids_limit: int | None = None
    devices: tuple[str, ...] = ()
    """`PathOnHost:PathInContainer:perms`."""
    device_cgroup_rules: tuple[str, ...] = ()
    restart_policy: str = ""
    restart_max_retries: int = 0
    log_driver: str = ""
    log_options: tuple[tuple[str, str], ...] = ()
    masked_paths: tuple[str, ...] | None = None
    """None when the engine set the defaults; an empty tuple means unmasked."""
    readonly_paths: tuple[str, ...] | None = None
    oom_kill_disable: bool = False
    init: bool = False
    port_bindings: tuple[PortBinding, ...] = ()
    tmpfs: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerState:
    """`.State` plus restart count."""

    status: str
    running: bool
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    health_status: str | None = None
    restart_count: int = 0
    started_at: datetime | None = None


@dataclass(frozen=True)
class ContainerFacts:
    """Everything known about one container."""

    id: str
    name: str
    """Without the leading `/`."""
    image_ref: str
    """`Config.Image`: what the container was started from, as typed."""
    image_id: str
    created: datetime | None
    state: ContainerState
    host_config: HostConfig
    mounts: tuple[Mount, ...]
    user: str
    """`Config.User` of the container (empty: the image's user applies)."""
    env: tuple[NamedValue, ...]
    """The container's own env entries, not those inherited unchanged from the image."""
    labels: tuple[NamedValue, ...]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    healthcheck: Healthcheck | None
    """The container's own healthcheck setting; the image's is in `image_healthcheck`."""
    image_user: str = ""
    image_healthcheck: Healthcheck | None = None
    networks: tuple[str, ...] = ()
    processes: tuple[Process, ...] | None = None
    """None when `docker top` cannot run (the container is not running)."""
    processes_skip_reason: str | None = None
    tag_drift: bool | None = None
    """True when `image_ref`'s tag now points to another image ID; None when unknown."""
    engine: str | None = None
    working_dir: str = ""
    hostname: str = ""
    stats_memory_bytes: int | None = None
    stats_cpu_percent: float | None = None
    stats_pids: int | None = None


@dataclass(frozen=True)
class RegistryAuth:
    """One `auths` entry of the client's config.json, without the secret."""

    registry: str
    has_auth: bool
    has_identity_token: bool
    helper: str | None = None
    """The credsStore or credHelpers entry that covers this registry."""


@dataclass(frozen=True)
class HostFacts:
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


@dataclass(frozen=True)
class DockerfileInstruction:
    """One instruction as the BuildKit parser returns it."""

    cmd: str
    """Upper-case instruction: `RUN`, `FROM`..."""
    value: tuple[str, ...]
    original: str
    """The instruction's text (secrets redacted)."""
    flags: tuple[str, ...]
    start_line: int
    end_line: int
    stage: int
    json_form: bool = False
    heredoc: bool = False


@dataclass(frozen=True)
class DockerfileStage:
    """A `FROM` and its instructions."""

    index: int
    base: str
    name: str | None
    from_line: int


@dataclass(frozen=True)
class BaseImage:
    """A locally present base image as far as Dockerfile analysis and hardening care."""

    ref: str
    os_release: OsRelease | None = None
    files: frozenset[str] | None = None
    """Absolute paths in its final filesystem; None when its layers were not read."""
    passwd: str | None = None
    """`/etc/passwd` content, to resolve named users to UIDs."""
    group: str | None = None
    repo_digest: str | None = None
    """`name@sha256:...` when the engine knows one."""
    exposed_ports: tuple[str, ...] = ()
    user: str = ""
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    has_healthcheck: bool = False
    labels: tuple[str, ...] = ()
    """Names of the labels set (non-empty) on the image."""
    env: tuple[tuple[str, str], ...] = ()
    """`Config.Env` as (name, value) pairs, so `USER $APP_UID` can resolve a variable the base sets."""


@dataclass(frozen=True)
class Account:
    """A user the runtime stage has: created by the Dockerfile or provided by its base image."""

    name: str
    uid: int | None
    gid: int | None
    origin: str
    """Where it comes from: `Dockerfile line 7`, `base image node:20 (/etc/passwd)`, `base image table (node)`."""
    created: bool = False
    """Made by the Dockerfile itself (useradd, adduser, an /etc/passwd line)."""


@dataclass(frozen=True)
class PrivilegeDrop:
    """The image starts as root and switches to an unprivileged user itself."""

    tool: str
    """`gosu`, `su-exec`, `setpriv`, `runuser`, `chpst`, `s6-setuidgid`, `su`, or a server's own `user` setting."""
    user: str
    """The user it drops to as written (`postgres`, `$PUID`); empty when the script does not say."""
    where: str
    """`docker-entrypoint.sh line 12`, `ENTRYPOINT (line 9)`, `the postgres base image's entrypoint`."""


@dataclass(frozen=True)
class EffectiveUser:
    """Who the runtime stage runs as, with build args and variables resolved."""

    spec: str
    """The resolved `USER` value (`1000`, `app:app`, `root`); empty when nothing sets one."""
    written: str = ""
    """As written in the Dockerfile (`$APP_UID`); empty when inherited."""
    line: int | None = None
    """Line of the `USER` instruction; None when inherited from the base image."""
    root: bool | None = True
    """Whether it is root; None when it depends on a build arg without a default."""
    detail: str = ""
    """How it was resolved: `ARG APP_UID=1000 (line 3)`, `the base image bitnami/redis runs as 1001`."""


@dataclass(frozen=True)
class RuntimeFacts:
    """What the image a Dockerfile builds runs as and with: its runtime stage, user, entrypoint and tools."""

    stage: int | None
    """Index of the runtime stage; None when the file builds no runtime image (it only exports or tests)."""
    stage_reason: str
    chain: tuple[int, ...] = ()
    """The runtime stage and the stages of this file it is built `FROM`, nearest first."""
    base: str = ""
    """The external image the runtime stage ultimately starts from (`scratch`, `node:20-alpine`)."""
    base_image: str | None = None
    """Why the file is a base image for other builds (ONBUILD, no command of its own); None for an app image."""
    windows: str | None = None
    """Why the file builds a Windows image; None for Linux."""
    user: EffectiveUser = EffectiveUser("")
    accounts: tuple[Account, ...] = ()
    """Non-root users the runtime stage has: created by the file first, then the base image's."""
    drop: PrivilegeDrop | None = None
    tools: frozenset[str] = frozenset()
    """Executables known to be present in the runtime stage (by name)."""
    tools_complete: bool = False
    """Whether a watched tool (curl, wget, nc, sh, python3, node...) missing from `tools` is known to be absent."""
    http_port: int | None = None
    """An exposed port the runtime stage is known to serve HTTP on."""
    http_reason: str = ""
    health_path: str | None = None
    """A path the service answers 200 on when healthy (from the base image table), so a strict probe fits."""
    exposed_ports: tuple[int, ...] = ()
    command: tuple[str, ...] = ()
    """Entrypoint and command as the container starts them, as far as the file and the base tell."""
    base_known: str | None = None
    """The data table entry or local image that told about the base; None when nothing is known of it."""
    entrypoint_needs_root: str | None = None
    """Why the entrypoint script needs root when it starts (`entrypoint.sh line 4 runs chown`); None otherwise."""

    def has_tool(self, name: str) -> bool | None:
        """Whether the runtime stage has `name`; None when that cannot be told."""
        if name in self.tools:
            return True
        return False if self.tools_complete and name in WATCHED_TOOLS else None

    def account(self, name: str) -> Account | None:
        """The account named `name` (or with that numeric UID), if known."""
        for account in self.accounts:
            if account.name == name or (name.isdigit() and account.uid == int(name)):
                return account
        return None


WATCHED_TOOLS = frozenset(
    {"curl", "wget", "nc", "sh", "bash", "python", "python3", "node", "pg_isready", "redis-cli", "mysqladmin"}
)
"""Tools whose absence a base image's data can vouch for (health probes and entrypoint shells use them)."""


@dataclass(frozen=True)
class DockerfileFacts:
    """A parsed Dockerfile and its build context."""

    path: str
    instructions: tuple[DockerfileInstruction, ...]
    stages: tuple[DockerfileStage, ...]
    context_dir: str | None
    dockerignore: tuple[str, ...] | None
    """Patterns of `.dockerignore`; None when the context has none."""
    context_entries: tuple[str, ...] = ()
    """Top-level names in the build context (to tell which ignore patterns matter)."""
    build_args: tuple[NamedValue, ...] = ()
    env: tuple[NamedValue, ...] = ()
    runtime: RuntimeFacts | None = None
    """Who and what the built image runs as (`dockaudit.parse.dockerfile_runtime`); set by the parser."""

    def final_stage(self) -> tuple[DockerfileInstruction, ...]:
        """Instructions of the runtime stage (`--target`, else the last stage that is not an export or test stage)."""
        last = self.stages[-1].index if self.stages else 0
        if self.runtime is not None and self.runtime.stage is not None:
            last = self.runtime.stage
        return tuple(i for i in self.instructions if i.stage == last)


@dataclass(frozen=True)
class ImageSummary:
    """One row of the image list (`GET /images/json`)."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    size: int
    created: datetime | None
    containers: int = -1
    """Containers (any state) using the image, counted from the container list; -1 when unknown."""
    labels: tuple[NamedValue, ...] = ()
    parent_id: str = ""

    @property
    def name(self) -> str:
        """First tag, else `<none>@short-id`."""
        return self.repo_tags[0] if self.repo_tags else f"<none>@{short_id(self.id)}"

    @property
    def dangling(self) -> bool:
        """Untagged."""
        return not self.repo_tags


@dataclass(frozen=True)
class ContainerSummary:
    """One row of the container list (`GET /containers/json?all=1`)."""

    id: str
    name: str
    image: str
    """The image as the container was created from it (`Config.Image`)."""
    image_id: str
    state: str
    """`created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`."""
    status: str
    """Human status (`Up 2 hours (healthy)`)."""
    created: datetime | None
    command: str = ""
    ports: tuple[PortBinding, ...] = ()
    labels: tuple[NamedValue, ...] = ()

    @property
    def running(self) -> bool:
        """Whether `docker top` can list its processes."""
        return self.state == "running"

    @property
    def up(self) -> bool:
        """Whether it is up in `docker ps` terms (running, paused or restarting), as lists show it."""
        return self.state in ("running", "paused", "restarting")


@dataclass(frozen=True)
class Inventory:
    """Every image and container the engine holds, from two list calls."""

    images: tuple[ImageSummary, ...] = ()
    containers: tuple[ContainerSummary, ...] = ()


def short_id(image_id: str) -> str:
    """The 12-character form Docker prints."""
    return image_id.removeprefix("sha256:")[:12]


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


@dataclass(frozen=True)
class ComposeEnvVar:
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


@dataclass(frozen=True)
class ComposePort:
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
        return int(self.published) if self.published.isdigit() else 0


@dataclass(frozen=True)
class ComposeMount:
    """A service volume in Compose's long form; bind sources are absolute."""

    type: str
    source: str
    target: str
    read_only: bool
    propagation: str
    in_project: bool
    """A bind source inside the project directory (written as a relative path, usually)."""
    location: Location


@dataclass(frozen=True)
class ComposeDependency:
    """A `depends_on` entry with its condition (`service_started` for the short form)."""

    service: str
    condition: str
    required: bool
    service_healthcheck: bool
    """The service depended on defines a healthcheck of its own in the Compose files."""
    location: Location


@dataclass(frozen=True)
class ComposeBuild:
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


@dataclass(frozen=True)
class ComposeService:
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


@dataclass(frozen=True)
class ComposeProject:
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


@dataclass(frozen=True)
class ServiceFacts:
    """What the Compose rules read about one service: its definition, and its image when that is known."""

    service: ComposeService
    image: ImageFacts | None = None
    """The image present locally (or derived from the `build:` Dockerfile); None when unknown."""
