"""Target resolution: what `dockaudit scan` arguments and selection flags name, engine by engine.

An unprefixed TARGET is tried as a container, then an image, then a path (as `docker inspect` does);
`container:`, `image:` and `path:` force one. A TARGET that names nothing is a usage error. A Compose file
(or a project directory holding one) names one target per service, read through Compose itself.
"""

from __future__ import annotations

import fnmatch
import re
import tarfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from dockaudit.errors import DockauditError, UsageError
from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory
from dockaudit.model import TargetKind
from dockaudit.records import Record, record

if TYPE_CHECKING:
    from dockaudit.facts.compose import ComposeProject
    from dockaudit.source import FactSource

PREFIXES = ("container", "image", "path")
DOCKERFILE_NAMES = ("Dockerfile", "dockerfile", "Containerfile")
"""Looked up, in this order, in a project directory."""
COMPOSE_SUFFIXES = (".yaml", ".yml")
"""A file with one of these suffixes is read as a Compose file (a Dockerfile or an image tarball never has one)."""


# The records a run is given and hands back are NamedTuples: a dataclass costs ~1 ms of start-up to create.


class TargetSpec(NamedTuple):
    """One TARGET argument: its text and the kind its prefix forces (`auto` when unprefixed)."""

    text: str
    kind: str
    """`auto`, `container`, `image` or `path`."""
    value: str


@record
class ResolvedTarget(Record):
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
    """For a container, the image it runs: its findings belong on that image's own target. For a Compose service
    audited `--with-images`, its image on this target's engine: its facts feed the service's rules."""
    services: tuple[str, ...] = ()
    """The Compose services (`project/service`) an image or Dockerfile target is audited for (`--with-images`)."""
    compose: ComposeProject | None = field(default=None, compare=False, repr=False)
    """For a Compose service, the project it belongs to, as Compose read it."""
    dockerfile: str = ""
    """For a Compose service audited `--with-images` whose image is not present, the Dockerfile of its `build:`,
    which stands in for the image in its rules."""
    size: int = field(default=0, compare=False, repr=False)
    """For an image, its size in bytes as the engine listed it (0 when unknown): the largest are audited first."""

    @property
    def service(self) -> str:
        """For a Compose service, its name in the project (`ref` is `file#service`)."""
        return self.ref.rpartition("#")[2] if self.kind is TargetKind.COMPOSE_SERVICE else ""

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


class Selection(NamedTuple):
    """The selection flags of `scan`."""

    all_images: bool = False
    all_containers: bool = False
    running: bool = False
    host_checks: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    with_images: bool = False
    """Audit each Compose service's image (when an engine has it) and its `build:` Dockerfile too."""


class ComposeOptions(NamedTuple):
    """How Compose files are read: `--compose-file` (merged into one project), `--profile`, `--env-file`."""

    files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    allow_secret_names: tuple[str, ...] = ()

    def load(self, files: Sequence[str | Path]) -> ComposeProject:
        """The project of `files` (or of one project directory), read through Compose."""
        from dockaudit.parse.compose import load_project

        return load_project(
            files,
            profiles=self.profiles,
            env_files=self.env_files,
            allow_secret_names=self.allow_secret_names,
        )


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
        return ResolvedTarget(TargetKind.IMAGE, ref, engine, short_ref(ref), row.id, tags, size=row.size)
    first = tags[0] if tags else None
    name = first or f"<none>@{row.id}"
    return ResolvedTarget(TargetKind.IMAGE, first or row.id, engine, name, row.id, tags, size=row.size)


def is_compose_file(path: Path) -> bool:
    """Whether a file is read as a Compose file: by its suffix (`compose.yaml`, `docker-compose.prod.yml`...)."""
    return path.suffix.lower() in COMPOSE_SUFFIXES


def compose_targets(project: ComposeProject) -> list[ResolvedTarget]:
    """Every service of a Compose project as a target `project/service`, answering to its bare name too."""
    return [
        ResolvedTarget(
            TargetKind.COMPOSE_SERVICE,
            svc.target_id,
            None,
            svc.target_name,
            svc.target_id,
            (svc.name,),
            compose=project,
        )
        for svc in project.services
    ]


def compose_files(path: Path) -> list[str]:
    """The files to read for a Compose file given alone: an override file brings the main file it overrides."""
    from dockaudit.parse.compose_names import COMPOSE_FILE_NAMES, OVERRIDE_FILE_NAMES

    if path.name in OVERRIDE_FILE_NAMES and any((path.parent / n).is_file() for n in COMPOSE_FILE_NAMES):
        return [str(path.parent)]
    return [str(path)]


def resolve_path(text: str, compose: ComposeOptions | None = None) -> list[ResolvedTarget] | None:
    """What a path names: a saved image tarball, a Dockerfile, a Compose file's services, or a project directory's
    Dockerfile and Compose services (both, when it holds both); None when nothing is there."""
    from dockaudit.parse.compose_names import COMPOSE_FILE_NAMES

    compose = compose if compose is not None else ComposeOptions()
    path = Path(text)
    if path.is_dir():
        found: list[ResolvedTarget] = []
        dockerfile = next((path / n for n in DOCKERFILE_NAMES if (path / n).is_file()), None)
        if dockerfile is not None:
            found.append(ResolvedTarget(TargetKind.DOCKERFILE, str(dockerfile), None, str(dockerfile), str(dockerfile)))
        if any((path / n).is_file() for n in COMPOSE_FILE_NAMES):
            found += compose_targets(compose.load([text]))
        if not found:
            raise UsageError(
                f"{text}: a directory without a Dockerfile or a Compose file "
                f"(looked for {', '.join((*DOCKERFILE_NAMES, *COMPOSE_FILE_NAMES))})"
            )
        return found
    if path.is_file() and is_compose_file(path):
        return compose_targets(compose.load(compose_files(path)))
    single = file_target(text)
    return None if single is None else [single]


_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".oci")
"""A file so named is meant as a saved image: when it is no tar archive, say so instead of reading a Dockerfile."""


def file_target(text: str) -> ResolvedTarget | None:
    """A saved image tarball, a Dockerfile, or a project directory's Dockerfile; None when nothing is there."""
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
    if not is_tar and path.name.lower().endswith(_ARCHIVE_SUFFIXES):
        raise UsageError(f"{text}: not an image tarball (not a tar archive; `docker save IMAGE -o FILE` writes one)")
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
    """The images the given containers run, as targets of their own (one inspect per distinct image not already
    among the targets)."""
    wanted = {t.image_id for t in targets if t.kind is TargetKind.CONTAINER and t.engine == engine and t.image_id}
    wanted -= {t.id for t in targets if t.kind is TargetKind.IMAGE and t.engine == engine}
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
    """Each target once; a target named twice keeps the Compose services of both."""
    index: dict[tuple[str, str | None, str], int] = {}
    out: list[ResolvedTarget] = []
    for target in targets:
        key = (target.kind.value, target.engine, target.id or target.ref)
        if key not in index:
            index[key] = len(out)
            out.append(target)
        elif target.services:
            kept = out[index[key]]
            out[index[key]] = replace(kept, services=tuple(dict.fromkeys((*kept.services, *target.services))))
    return out


def _relative(path: str) -> str:
    """A path relative to the working directory when it lies below it (as a user would type it), else as is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return path


def with_images(targets: Sequence[ResolvedTarget], sources: Mapping[str, FactSource]) -> list[ResolvedTarget]:
    """Compose services with what they run: the image each one names (or Compose builds for it, `project-service`)
    on the first engine that has it, and the Dockerfile of its `build:` context, both attributed to the service.

    A service whose image was found is audited on that engine, so the image's user and healthcheck feed its rules;
    else its `build:` Dockerfile stands in for the image.
    """
    out: list[ResolvedTarget] = []
    failed: set[str] = set()
    for target in targets:
        svc = target.compose.service(target.service) if target.compose is not None else None
        if svc is None:
            out.append(target)
            continue
        attributed = (svc.target_name,)
        refs = [svc.image] if svc.image else []
        if svc.build is not None:
            refs.append(f"{svc.project}-{svc.name}")
        found: ResolvedTarget | None = None
        for engine, source in sources.items():
            if engine in failed:
                continue
            for ref in refs:
                try:
                    row = source.find_image(ref)
                except DockauditError:
                    failed.add(engine)
                    break
                if row is not None:
                    found = replace(image_target(row, engine, ref), services=attributed)
                    break
            if found is not None:
                break
        dockerfile = svc.build.dockerfile_path if svc.build is not None else None
        extra: list[ResolvedTarget] = []
        if dockerfile is not None and Path(dockerfile).is_file():
            name = _relative(dockerfile)
            extra.append(ResolvedTarget(TargetKind.DOCKERFILE, name, None, name, name, services=attributed))
        if found is not None:
            out.append(replace(target, engine=found.engine, image_id=found.id))
            extra.insert(0, found)
        else:
            out.append(replace(target, dockerfile=extra[0].ref if extra else ""))
        out += extra
    return out


class Resolution(NamedTuple):
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
    compose: ComposeOptions | None = None,
) -> Resolution:
    """Every target the arguments name, on every reachable engine, filtered and without duplicates.

    `unreachable` lists engines that could not be connected: a TARGET found nowhere is then not a usage
    error (it may live there), and is left out; the engine's own failure already fails the run. `compose` says how
    Compose files are read; its `files` (`--compose-file`) make one more project.
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
    lookups = _look_up(specs, {e: s for e, s in sources.items() if e not in failed})
    for i, spec in enumerate(specs):
        found: list[ResolvedTarget] = []
        if spec.kind != "path":
            for engine in sources:
                if engine in failed or (i, engine) not in lookups:
                    continue
                hit = lookups[i, engine]
                if isinstance(hit, DockauditError):
                    errors.append((engine, str(hit)))
                    failed.add(engine)
                    continue
                if hit is not None:
                    found.append(hit)
        if not found and spec.kind in ("auto", "path"):
            found += resolve_path(spec.value, compose) or []
        if not found:
            if failed and spec.kind != "path":
                continue
            raise UsageError(_nothing(spec, list(sources)))
        targets += found
    if compose is not None and compose.files:
        targets += compose_targets(compose.load(compose.files))
    for engine in sources:
        if engine in failed or not any(t.kind is TargetKind.CONTAINER and t.engine == engine for t in targets):
            continue
        try:
            targets += images_of_containers(sources[engine], engine, targets)
        except DockauditError as exc:
            errors.append((engine, f"listing images on engine {engine}: {exc}"))
    kept = apply_filters(_dedupe(targets), selection)
    if selection.with_images:
        # After the filters: a service's image and Dockerfile follow the service in or out.
        kept = _dedupe(with_images(kept, {e: s for e, s in sources.items() if e not in failed}))
    return Resolution(tuple(kept), tuple(errors))


_LOOKUPS_IN_FLIGHT = 8
"""Engine lookups made at once while resolving: each is one small request, so latency, not the engine, bounds it."""


def _look_up(
    specs: Sequence[TargetSpec], sources: Mapping[str, FactSource]
) -> dict[tuple[int, str], ResolvedTarget | DockauditError | None]:
    """What each TARGET names on each engine, looked up at once (an engine's failure is kept as a value)."""
    keys = [(i, engine) for i, spec in enumerate(specs) if spec.kind != "path" for engine in sources]

    def find(key: tuple[int, str]) -> ResolvedTarget | DockauditError | None:
        i, engine = key
        try:
            return _find(sources[engine], specs[i], engine)
        except DockauditError as exc:
            return exc

    if len(keys) <= 1:
        return {key: find(key) for key in keys}
    with ThreadPoolExecutor(max_workers=min(_LOOKUPS_IN_FLIGHT, len(keys)), thread_name_prefix="resolve") as pool:
        return dict(zip(keys, pool.map(find, keys), strict=True))


_CONTAINER_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
"""What a container name or ID can look like; `nginx:1.27` or `ghcr.io/x/y` can only name an image."""


def _find(source: FactSource, spec: TargetSpec, engine: str) -> ResolvedTarget | None:
    """The container (first) or image a TARGET names on one engine."""
    if spec.kind == "container" or (spec.kind == "auto" and _CONTAINER_NAME.match(spec.value)):
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
    """Whether any target could live on an engine (only `path:` targets never do), or images are wanted."""
    if selection.all_images or selection.all_containers or selection.running or selection.host_checks:
        return True
    if selection.with_images:
        return True
    return any(spec.kind != "path" for spec in specs)
