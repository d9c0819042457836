"""Facts about one image: its config (env, labels, healthcheck), its history steps and what inspect says."""

from __future__ import annotations

import dataclasses
import functools
import re
from datetime import datetime
from typing import TYPE_CHECKING

from dockaudit.model import Location, Origin
from dockaudit.parse.steps import base_step_count, parse_created_by
from dockaudit.records import Record, record
from dockaudit.secrets import SecretMatch

if TYPE_CHECKING:
    from dockaudit.facts.dockerfile import RuntimeFacts
    from dockaudit.facts.filesystem import FilesystemFacts, OsRelease


_LONG_DIGEST = re.compile(r"\b(file|dir|multi|sha256):([0-9a-f]{12})[0-9a-f]{20,}")


_MAX_SHOWN = 160


@record
class NamedValue(Record):
    """An env entry, label or build arg: its value is redacted when `secret` is set."""

    name: str
    value: str
    secret: SecretMatch | None = None
    """Why the value was judged a secret (name pattern or credential format); None when it is not."""


@record
class Healthcheck(Record):
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


@record
class ImageConfig(Record):
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


@record
class HistoryEntry(Record):
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
    fed_from: str | None = None
    """For a Dockerfile: the build stage (`builder`) this step ran in when it is not the image's own but what it
    made reaches the image (copied from, or built FROM); it makes no layer here. Only rules about what a download
    brings in (DA204, DA210) read such steps."""

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


@record
class ImageFacts(Record):
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
