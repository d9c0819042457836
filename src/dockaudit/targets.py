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
from typing import Any

import docker
import docker.errors
import requests

from dockaudit.engine.api import transport_reason
from dockaudit.engine.collect import short_reference
from dockaudit.errors import EngineError, UsageError
from dockaudit.model import TargetKind

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
    """`docker.io/library/nginx:1` → `nginx:1`; other registries are kept."""
    return short_reference(ref)


def _nameable(ref: str) -> bool:
    """Whether `ref` can name an engine object: the SDK keeps `/` in the URL, and the engine's router cleans
    `.`, `..` and empty segments, so `.` would ask `GET /containers/json` (the list) instead of one object."""
    return bool(ref) and not any(segment in ("", ".", "..") for segment in ref.split("/"))


def _lookup(fn: Any, ref: str) -> dict[str, Any] | None:
    """Inspect by name; None when the engine has no such object (or the name cannot be one)."""
    if not _nameable(ref):
        return None
    try:
        result = fn(ref)
        return result if isinstance(result, dict) else None
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as exc:
        # 400 "invalid reference format": `Dockerfile` or `./app` cannot name an image.
        if exc.status_code in (400, 404):
            return None
        raise EngineError(f"looking up {ref!r}: {exc.explanation or exc}") from exc
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise EngineError(f"looking up {ref!r}: {transport_reason(exc)}") from exc


def find_container(client: docker.DockerClient, ref: str, engine: str) -> ResolvedTarget | None:
    """The container named (or with the ID) `ref`, if the engine has one."""
    data = _lookup(client.api.inspect_container, ref)
    if data is None:
        return None
    name = str(data.get("Name") or "").lstrip("/") or str(data["Id"])[:12]
    image_id = str(data.get("Image") or "")
    return ResolvedTarget(TargetKind.CONTAINER, str(data["Id"]), engine, name, str(data["Id"]), (name,), image_id)


def find_image(client: docker.DockerClient, ref: str, engine: str) -> ResolvedTarget | None:
    """The image with reference or ID `ref`, if the engine has one."""
    data = _lookup(client.api.inspect_image, ref)
    if data is None:
        return None
    image_id = str(data["Id"])
    tags = tuple(short_ref(t) for t in data.get("RepoTags") or ())
    return ResolvedTarget(TargetKind.IMAGE, ref, engine, short_ref(ref), image_id, tags)


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


def _inventory(client: docker.DockerClient, engine: str, selection: Selection) -> list[ResolvedTarget]:
    found: list[ResolvedTarget] = []
    try:
        if selection.all_images:
            for image in client.api.images(all=False):
                image_id = str(image["Id"])
                tags = tuple(short_ref(t) for t in image.get("RepoTags") or () if t != "<none>:<none>")
                found.append(_image_target(image_id, tags, engine))
        if selection.all_containers or selection.running:
            for container in client.api.containers(all=not selection.running):
                names = [str(n).lstrip("/") for n in container.get("Names") or ()]
                cid = str(container["Id"])
                name = names[0] if names else cid[:12]
                image_id = str(container.get("ImageID") or "")
                found.append(ResolvedTarget(TargetKind.CONTAINER, cid, engine, name, cid, tuple(names), image_id))
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise EngineError(f"listing images and containers on engine {engine}: {transport_reason(exc)}") from exc
    return found


def _image_target(image_id: str, tags: Sequence[str], engine: str) -> ResolvedTarget:
    """An image addressed by its first tag (so the report names it as users do), else by its ID."""
    ref = tags[0] if tags else image_id
    name = tags[0] if tags else f"<none>@{image_id}"
    return ResolvedTarget(TargetKind.IMAGE, ref, engine, name, image_id, tuple(tags))


def images_of_containers(
    client: docker.DockerClient, engine: str, targets: Sequence[ResolvedTarget]
) -> list[ResolvedTarget]:
    """The images the given containers run, as targets of their own (one list call, not one per container)."""
    wanted = {t.image_id for t in targets if t.kind is TargetKind.CONTAINER and t.engine == engine and t.image_id}
    if not wanted:
        return []
    try:
        listed = client.api.images(all=True)
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise EngineError(f"listing images on engine {engine}: {transport_reason(exc)}") from exc
    tags_by_id = {
        str(image["Id"]): [short_ref(t) for t in image.get("RepoTags") or () if t != "<none>:<none>"]
        for image in listed
    }
    return [_image_target(image_id, tags_by_id.get(image_id, []), engine) for image_id in sorted(wanted)]


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
    clients: Mapping[str, docker.DockerClient],
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
    for engine, client in clients.items():
        try:
            targets += _inventory(client, engine, selection)
            if selection.host_checks:
                targets.append(ResolvedTarget(TargetKind.HOST, engine, engine, engine, engine))
        except EngineError as exc:
            errors.append((engine, str(exc)))
            failed.add(engine)
    for spec in specs:
        found: list[ResolvedTarget] = []
        if spec.kind != "path":
            for engine, client in clients.items():
                if engine in failed:
                    continue
                try:
                    hit = None
                    if spec.kind in ("auto", "container"):
                        hit = find_container(client, spec.value, engine)
                    if hit is None and spec.kind in ("auto", "image"):
                        hit = find_image(client, spec.value, engine)
                except EngineError as exc:
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
            raise UsageError(_nothing(spec, list(clients)))
        targets += found
    for engine, client in clients.items():
        if engine in failed:
            continue
        try:
            targets += images_of_containers(client, engine, targets)
        except EngineError as exc:
            errors.append((engine, str(exc)))
    return Resolution(tuple(apply_filters(_dedupe(targets), selection)), tuple(errors))


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
