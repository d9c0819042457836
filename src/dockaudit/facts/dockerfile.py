"""Facts about a Dockerfile: its instructions and stages, its build context, and what the built image runs as."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockaudit.facts.image import NamedValue
from dockaudit.records import Record, record

if TYPE_CHECKING:
    from dockaudit.facts.filesystem import OsRelease


@record
class DockerfileInstruction(Record):
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


@record
class DockerfileStage(Record):
    """A `FROM` and its instructions."""

    index: int
    base: str
    name: str | None
    from_line: int


@record
class BaseImage(Record):
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


@record
class Account(Record):
    """A user the runtime stage has: created by the Dockerfile or provided by its base image."""

    name: str
    uid: int | None
    gid: int | None
    origin: str
    """Where it comes from: `Dockerfile line 7`, `base image node:20 (/etc/passwd)`, `base image table (node)`."""
    created: bool = False
    """Made by the Dockerfile itself (useradd, adduser, an /etc/passwd line)."""


@record
class PrivilegeDrop(Record):
    """The image starts as root and switches to an unprivileged user itself."""

    tool: str
    """`gosu`, `su-exec`, `setpriv`, `runuser`, `chpst`, `s6-setuidgid`, `su`, or a server's own `user` setting."""
    user: str
    """The user it drops to as written (`postgres`, `$PUID`); empty when the script does not say."""
    where: str
    """`docker-entrypoint.sh line 12`, `ENTRYPOINT (line 9)`, `the postgres base image's entrypoint`."""


@record
class EffectiveUser(Record):
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


@record
class RuntimeFacts(Record):
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
    command_at_run_time: str | None = None
    """Why the image's command is only known at run time (no CMD or ENTRYPOINT of its own, the base starts a
    shell or a language prompt): who it must run as is then not known from the file."""
    http_unsure: str | None = None
    """Why no HTTP port is taken as the image's although a server is in sight (a start script of several roles)."""
    http_fronts_app: bool = False
    """The HTTP server is one the file installs and an init or a script starts (nginx under s6): its `/` is an
    app's, which may answer an error status, so only a probe that takes any answer fits."""
    health_path: str | None = None
    """A path the service answers 200 on when healthy (from the base image table), so a strict probe fits."""
    slow_start: bool = False
    """The HTTP server runs on a JVM (java -jar, Tomcat, Jenkins), which can take minutes to answer."""
    health_command: tuple[str, ...] = ()
    """The server's own health command (`pg_isready ...`) when the image runs a server that has one."""
    health_command_reason: str = ""
    exposed_ports: tuple[int, ...] = ()
    command: tuple[str, ...] = ()
    """Entrypoint and command as the container starts them, as far as the file and the base tell."""
    base_known: str | None = None
    """The data table entry or local image that told about the base; None when nothing is known of it."""
    entrypoint_needs_root: str | None = None
    """Why the entrypoint script needs root when it starts (`entrypoint.sh line 4 runs chown`); None otherwise."""
    docker_socket: str | None = None
    """Why the image talks to the Docker engine through its socket (root:docker on the host); None otherwise."""

    def has_tool(self, name: str) -> bool | None:
        """Whether the runtime stage has `name`; None when that cannot be told."""
        if name in self.tools:
            return True
        return False if self.tools_complete and name in WATCHED_TOOLS else None

    def account(self, name: str) -> Account | None:
        """The account named `name` (or with that numeric UID), if known."""
        for account in self.accounts:
            if account.name == name or (name.isdecimal() and account.uid == int(name)):
                return account
        return None


WATCHED_TOOLS = frozenset(
    {"curl", "wget", "nc", "sh", "bash", "python", "python3", "node", "ruby", "pg_isready", "redis-cli", "mysqladmin"}
)
"""Tools whose absence a base image's data can vouch for (health probes and entrypoint shells use them)."""


@record
class DockerfileFacts(Record):
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

    def runtime_chain(self) -> tuple[DockerfileInstruction, ...]:
        """Instructions of the runtime stage and of the stages of this file it is built FROM, farthest first: what
        makes the image's layers and config (`FROM base` after `FROM ruby AS base` inherits base's RUNs and ENV)."""
        if self.runtime is None or not self.runtime.chain:
            return self.final_stage()
        chain = set(self.runtime.chain)
        # A stage can only be built FROM an earlier one, so file order is build order.
        return tuple(i for i in self.instructions if i.stage in chain)
