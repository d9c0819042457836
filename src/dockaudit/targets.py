"""Target resolution: what `dockaudit scan` arguments and selection flags name, engine by engine.

An unprefixed TARGET is tried as a container, then an image, then a path (as `docker inspect` does);
`container:`, `image:` and `path:` force one. A TARGET that names nothing is a usage error.
"""

from __future__ import annotations

import fnmatch
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.errors import DockauditError, UsageError
from dockaudit.facts import ContainerSummary, ImageSummary, Inventory
from dockaudit.model import TargetKind

if TYPE_CHECKING:
    from dockaudit.source import FactSource

PREFIXES = ("container", "image", "path")
DOCKERFILE_NAMES = ("Dockerfile", "dockerfile", "Containerfile")
"""Looked up, in this order, in a project directory."""


@dataclass(frozen=True)
class TargetSpec:
    """One TARGET argument: its text and the kind its prefix forces (`auto` when unprefixed)."""

    text: str
    kind: str
    """`auto`, `container`, `image` or `path`."""
    value: str


@dataclass(frozen=True)
class ResolvedTarget:
    """Something to audit: its kind, the engine it lives on (None for files) and how to address it."""

    kind: TargetKind
    ref: str
    """Image reference or ID, container ID, file path; for a host target the engine id."""
    engine: str | None = None
    name: str = ""
    """Display name for progress and filters (short ref, container name, path as given)."""
    id: str = ""
    """Object ID when known (image or container), used to drop duplicates."""
    aliases: tuple[str, ...] = ()
    """Other names the target answers to in `--include/--exclude` (every tag of an image)."""
    image_id: str = ""
    """For a container, the image it runs: its findings belong on that image's own target."""

    @property
    def key(self) -> str:
        """`image:<id>`, `container:<id>`, `host`, or the path: what progress and the TUI track a target by."""
        if self.kind is TargetKind.HOST:
            return "host"
        if self.kind in (TargetKind.IMAGE, TargetKind.CONTAINER):
            return f"{self.kind.value}:{self.id or self.ref}"
        return self.ref

    @property
    def label(self) -> str:
        """`image nginx:1.27 @ local`."""
        where = f" @ {self.engine}" if self.engine else ""
        return f"{self.kind.value} {self.name or self.ref}{where}"


@dataclass(frozen=True)
class Selection:
    """The selection flags of `scan`."""

    all_images: bool = False
    all_containers: bool = False
    running: bool = False
    host_checks: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def parse_target(text: str) -> TargetSpec:
    """Split an optional `container:`/`image:`/`path:` prefix off a TARGET argument."""
    if not text.strip():
        raise UsageError("an empty TARGET names nothing")
    head, sep, rest = text.partition(":")
    if sep and head in PREFIXES:
        if not rest:
            raise UsageError(f"{text!r}: nothing after the {head}: prefix")
        return TargetSpec(text, head, rest)
    return TargetSpec(text, "auto", text)


def short_ref(ref: str) -> str:
    """`docker.io/library/nginx:1` → `nginx:1`, as the Docker CLI shows it; other registries are kept."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def container_target(row: ContainerSummary, engine: str) -> ResolvedTarget:
    """A container as a target, answering to its name and ID."""
    name = row.name or row.id[:12]
    return ResolvedTarget(TargetKind.CONTAINER, row.id, engine, name, row.id, (name,), row.image_id)


def image_target(row: ImageSummary, engine: str, ref: str | None = None) -> ResolvedTarget:
    """An image as a target: addressed by `ref` when the user typed one, else by its first tag (so the report
    names it as users do), else by its ID; it answers to every tag."""
    tags = tuple(short_ref(t) for t in row.repo_tags)
    if ref is not None:
        return ResolvedTarget(TargetKind.IMAGE, ref, engine, short_ref(ref), row.id, tags)
    first = tags[0] if tags else None
    return ResolvedTarget(TargetKind.IMAGE, first or row.id, engine, first or f"<none>@{row.id}", row.id, tags)


def resolve_path(text: str) -> ResolvedTarget | None:
    """A saved image tarball, a Dockerfile, or a project directory holding one; None when nothing is there."""
    path = Path(text)
    if path.is_dir():
        for name in DOCKERFILE_NAMES:
            if (path / name).is_file():
                return ResolvedTarget(TargetKind.DOCKERFILE, str(path / name), None, str(path / name), str(path / name))
        raise UsageError(f"{text}: a directory without a Dockerfile (looked for {', '.join(DOCKERFILE_NAMES)})")
    if not path.is_file():
        return None
    try:
        is_tar = tarfile.is_tarfile(path)
    except OSError as exc:
        raise UsageError(f"{text}: cannot read it: {exc.strerror or exc}") from exc
    kind = TargetKind.IMAGE_ARCHIVE if is_tar else TargetKind.DOCKERFILE
    return ResolvedTarget(kind, text, None, text, text)


def _listed(inventory: Inventory, engine: str, selection: Selection) -> list[ResolvedTarget]:
    found: list[ResolvedTarget] = []
    if selection.all_images:
        found += [image_target(row, engine) for row in inventory.images]
    if selection.all_containers or selection.running:
        found += [container_target(row, engine) for row in inventory.containers if row.running or not selection.running]
    return found


def images_of_containers(source: FactSource, engine: str, targets: Sequence[ResolvedTarget]) -> list[ResolvedTarget]:
    """The images the given containers run, as targets of their own (one inspect per distinct image)."""
    wanted = {t.image_id for t in targets if t.kind is TargetKind.CONTAINER and t.engine == engine and t.image_id}
    found: list[ResolvedTarget] = []
    for image_id in sorted(wanted):
        row = source.find_image(image_id)
        found.append(image_target(row or ImageSummary(image_id, (), (), 0, None), engine))
    return found


def _matches(target: ResolvedTarget, patterns: Sequence[str]) -> bool:
    names = {target.name, target.ref, *target.aliases}
    if target.id:
        names.add(target.id)
        names.add(target.id.removeprefix("sha256:")[:12])
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)


def apply_filters(targets: Sequence[ResolvedTarget], selection: Selection) -> list[ResolvedTarget]:
    """Keep targets matching any `--include` glob (all when none) and no `--exclude` glob; host targets stay."""
    kept = []
    for target in targets:
        if target.kind is TargetKind.HOST:
            kept.append(target)
            continue
        if selection.include and not _matches(target, selection.include):
            continue
        if selection.exclude and _matches(target, selection.exclude):
            continue
        kept.append(target)
    return kept


def _dedupe(targets: Sequence[ResolvedTarget]) -> list[ResolvedTarget]:
    seen: set[tuple[str, str | None, str]] = set()
    out = []
    for target in targets:
        key = (target.kind.value, target.engine, target.id or target.ref)
        if key not in seen:
            seen.add(key)
            out.append(target)
    return out


@dataclass(frozen=True)
class Resolution:
    """Resolved targets, plus the engine failures met while resolving (errors as values)."""

    targets: tuple[ResolvedTarget, ...]
    errors: tuple[tuple[str, str], ...] = ()
    """`(engine id, message)` for engines that failed while listing or looking up."""


def resolve(
    specs: Sequence[TargetSpec],
    sources: Mapping[str, FactSource],
    selection: Selection,
    *,
    unreachable: Sequence[str] = (),
) -> Resolution:
    """Every target the arguments name, on every reachable engine, filtered and without duplicates.

    `unreachable` lists engines that could not be connected: a TARGET found nowhere is then not a usage
    error (it may live there), and is left out; the engine's own failure already fails the run.
    """
    targets: list[ResolvedTarget] = []
    errors: list[tuple[str, str]] = []
    failed = set(unreachable)
    inventories: dict[str, Inventory] = {}

    def inventory_of(engine: str) -> Inventory:
        if engine not in inventories:
            inventories[engine] = sources[engine].inventory()
        return inventories[engine]

    for engine in sources:
        try:
            if selection.all_images or selection.all_containers or selection.running:
                targets += _listed(inventory_of(engine), engine, selection)
            if selection.host_checks:
                targets.append(ResolvedTarget(TargetKind.HOST, engine, engine, engine, engine))
        except DockauditError as exc:
            errors.append((engine, f"listing images and containers on engine {engine}: {exc}"))
            failed.add(engine)
    for spec in specs:
        found: list[ResolvedTarget] = []
        if spec.kind != "path":
            for engine, source in sources.items():
                if engine in failed:
                    continue
                try:
                    hit = _find(source, spec, engine)
                except DockauditError as exc:
                    errors.append((engine, str(exc)))
                    failed.add(engine)
                    continue
                if hit is not None:
                    found.append(hit)
        if not found and spec.kind in ("auto", "path"):
            hit = resolve_path(spec.value)
            if hit is not None:
                found.append(hit)
        if not found:
            if failed and spec.kind != "path":
                continue
            raise UsageError(_nothing(spec, list(sources)))
        targets += found
    for engine in sources:
        if engine in failed or not any(t.kind is TargetKind.CONTAINER and t.engine == engine for t in targets):
            continue
        try:
            targets += images_of_containers(sources[engine], engine, targets)
        except DockauditError as exc:
            errors.append((engine, f"listing images on engine {engine}: {exc}"))
    return Resolution(tuple(apply_filters(_dedupe(targets), selection)), tuple(errors))


def _find(source: FactSource, spec: TargetSpec, engine: str) -> ResolvedTarget | None:
    """The container (first) or image a TARGET names on one engine."""
    if spec.kind in ("auto", "container"):
        container = source.find_container(spec.value)
        if container is not None:
            return container_target(container, engine)
    if spec.kind in ("auto", "image"):
        image = source.find_image(spec.value)
        if image is not None:
            return image_target(image, engine, spec.value)
    return None


def _nothing(spec: TargetSpec, engines: Sequence[str]) -> str:
    where = f" on engine{'s' if len(engines) > 1 else ''} {', '.join(engines)}" if engines else ""
    what = {
        "auto": "no container, image or file",
        "container": "no container",
        "image": "no image",
        "path": "no file or directory",
    }[spec.kind]
    if spec.kind == "path" or not engines:
        where = ""
    return f"TARGET {spec.text!r} names nothing: {what} by that name{where}"


def needs_engine(specs: Sequence[TargetSpec], selection: Selection) -> bool:
    """Whether any target could live on an engine (only `path:` targets never do)."""
    if selection.all_images or selection.all_containers or selection.running or selection.host_checks:
        return True
    return any(spec.kind != "path" for spec in specs)
