"""Collect typed facts about images and containers from the Engine API, in bulk and cheaply (the host's are in
`collect_host`)."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import docker

from dockaudit.command_secrets import redact_command
from dockaudit.engine import api, convert
from dockaudit.engine.layers import SavedImage, read_image_archive, read_image_stream
from dockaudit.errors import CancelledError, DockauditError, EngineError
from dockaudit.facts.container import ContainerFacts, PortBinding, Process
from dockaudit.facts.filesystem import FilesystemFacts
from dockaudit.facts.image import HistoryEntry, ImageFacts
from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory
from dockaudit.parse.history import RawStep, base_from_api_tags, build_history, steps_from_api, steps_from_config
from dockaudit.parse.timestamps import parse_timestamp

PS_ARGS = "-o pid,ppid,uid,stat,args"
"""`docker top` columns: numeric UIDs and process states (`Z` for zombies) besides the default's."""


# ------------------------------------------------------------------------------------------------ inventory


def _registry_digests(values: Iterable[str] | None) -> tuple[str, ...]:
    """`RepoDigests` that name a registry: not Docker's `<none>@<none>`, not Podman's `localhost/` digests.

    Podman records a digest under its `localhost/` pseudo-registry for every image it builds or commits; no
    registry holds that manifest, so it pins nothing anywhere else (`localhost:5000/...` is a real registry).
    """
    return tuple(d for d in values or () if d != "<none>@<none>" and not d.startswith("localhost/"))


def _image_summary(row: api.Json, counts: dict[str, int] | None) -> ImageSummary:
    tags = tuple(t for t in row.get("RepoTags") or () if t != "<none>:<none>")
    digests = _registry_digests(row.get("RepoDigests"))
    image_id = str(row.get("Id") or "")
    count = counts.get(image_id, 0) if counts is not None else int(row.get("Containers", -1) or -1)
    return ImageSummary(
        id=image_id,
        repo_tags=tags,
        repo_digests=digests,
        size=int(row.get("Size") or 0),
        created=parse_timestamp(row.get("Created")),
        containers=count,
        labels=convert.labels(row.get("Labels")),
        parent_id=str(row.get("ParentId") or ""),
    )


def _container_summary(row: api.Json) -> ContainerSummary:
    names = row.get("Names") or ()
    ports = tuple(
        PortBinding(f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}", str(p.get("IP") or ""), int(p["PublicPort"]))
        for p in row.get("Ports") or ()
        if p.get("PublicPort")
    )
    return ContainerSummary(
        id=str(row.get("Id") or ""),
        name=str(names[0]).lstrip("/") if names else "",
        image=str(row.get("Image") or ""),
        image_id=str(row.get("ImageID") or ""),
        state=str(row.get("State") or ""),
        status=str(row.get("Status") or ""),
        created=parse_timestamp(row.get("Created")),
        command=redact_command(str(row.get("Command") or "")),
        ports=ports,
        labels=convert.labels(row.get("Labels")),
    )


def inventory(client: docker.DockerClient) -> Inventory:
    """Every image and container (running, stopped, created): two list calls, made at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        images_f = pool.submit(api.list_images, client)
        containers_f = pool.submit(api.list_containers, client)
        image_rows, container_rows = images_f.result(), containers_f.result()
    containers = tuple(_container_summary(r) for r in container_rows)
    counts: dict[str, int] = {}
    for c in containers:
        counts[c.image_id] = counts.get(c.image_id, 0) + 1
    images = tuple(_image_summary(r, counts) for r in image_rows)
    return Inventory(images, containers)


# ------------------------------------------------------------------------------------------------ images


_HEX_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}")


def _looks_like_id(ref: str, image_id: str) -> bool:
    return bool(_HEX_ID.fullmatch(ref)) and image_id.removeprefix("sha256:").startswith(ref.removeprefix("sha256:"))


def short_reference(ref: str) -> str:
    """`docker.io/library/nginx:1` → `nginx:1`, as the Docker CLI shows it."""
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


class BaseIndex:
    """Local images by their layer lists, to find the base an image starts with."""

    def __init__(self) -> None:
        self._by_layers: dict[tuple[str, ...], tuple[str, str, datetime | None]] = {}
        self._lock = threading.Lock()

    def add(self, inspect: api.Json) -> None:
        """Index one image from its inspect JSON; of images with the same layers the oldest is the base."""
        layers = tuple((inspect.get("RootFS") or {}).get("Layers") or ())
        if not layers:
            return
        tags = [t for t in inspect.get("RepoTags") or () if t != "<none>:<none>"]
        image_id = str(inspect.get("Id") or "")
        created = parse_timestamp(inspect.get("Created"))
        entry = (tags[0] if tags else image_id, image_id, created)
        with self._lock:
            current = self._by_layers.get(layers)
            # A later image with the same layers (a retag, a `docker commit` with no changes) is a copy.
            if current is None or (created is not None and (current[2] is None or created < current[2])):
                self._by_layers[layers] = entry

    def find(self, layers: Sequence[str], image_id: str) -> tuple[str, str] | None:
        """The (ref, id) of the indexed image with the longest strict prefix of `layers`."""
        with self._lock:
            for n in range(len(layers) - 1, 0, -1):
                hit = self._by_layers.get(tuple(layers[:n]))
                if hit is not None and hit[1] != image_id:
                    return hit[0], hit[1]
        return None


def _facts_from_parts(
    *,
    meta: api.Json,
    config: api.Json | None,
    steps: list[RawStep],
    diff_ids: Sequence[str],
    base: tuple[str, int] | None,
    saved: SavedImage | None,
    skip_reason: str | None,
    engine_id: str | None,
    reference: str | None,
    allow: tuple[str, ...],
) -> ImageFacts:
    """ImageFacts from inspect-shaped `meta` and the image `config`, the history steps and the layers."""
    history = build_history(steps, len(diff_ids), base_steps=base[1] if base else None, allow=allow)
    filesystem = _with_history(saved.filesystem, history) if saved is not None else None
    return ImageFacts(
        id=str(meta.get("Id") or ""),
        repo_tags=tuple(t for t in meta.get("RepoTags") or () if t != "<none>:<none>"),
        repo_digests=_registry_digests(meta.get("RepoDigests")),
        size=int(meta.get("Size") or 0),
        created=parse_timestamp(meta.get("Created")),
        architecture=str(meta.get("Architecture") or ""),
        os=str(meta.get("Os") or ""),
        config=convert.image_config(config, allow),
        history=history,
        layers=tuple(diff_ids),
        variant=str(meta.get("Variant") or ""),
        parent=str(meta.get("Parent") or ""),
        author=str(meta.get("Author") or ""),
        engine=engine_id,
        filesystem=filesystem,
        filesystem_skip_reason=skip_reason,
        os_release=filesystem.os_release if filesystem is not None else None,
        base_image=base[0] if base else None,
        has_manifest_list=saved.has_manifest_list if saved is not None else False,
        reference=reference,
    )


def _with_history(fs: FilesystemFacts, history: Sequence[HistoryEntry]) -> FilesystemFacts:
    """Layers annotated with the step that made them and its origin."""
    by_layer = {h.layer_index: h for h in history if h.layer_index is not None}
    layers = tuple(
        dataclasses.replace(info, created_by=by_layer[info.index].created_by, from_base=by_layer[info.index].from_base)
        if info.index in by_layer
        else info
        for info in fs.layers
    )
    return dataclasses.replace(fs, layers=layers)


def _complete_config(inspected: api.Json | None, exact: Any) -> api.Json | None:
    """The inspect `Config` with the keys it lacks taken from the image's own config blob.

    Podman 4.3's Docker-compatible image inspect leaves out `Healthcheck` and `Shell`; Docker's has every key
    of the blob, so nothing changes there.
    """
    if not isinstance(exact, dict):
        return inspected
    missing = {k: v for k, v in exact.items() if k not in (inspected or {})}
    return {**(inspected or {}), **missing} if missing else inspected


def _base_steps(client: docker.DockerClient, base_id: str) -> int | None:
    try:
        return len(api.image_history(client, base_id))
    except EngineError:
        return None


def _collect_image(
    client: docker.DockerClient,
    ref: str,
    meta: api.Json,
    *,
    read_layers: bool,
    engine_id: str | None,
    cancel: threading.Event | None,
    base_index: BaseIndex | None,
    allow: tuple[str, ...],
) -> ImageFacts:
    image_id = str(meta.get("Id") or "")
    diff_ids = tuple((meta.get("RootFS") or {}).get("Layers") or ())
    api_steps = steps_from_api(api.image_history(client, image_id))
    saved: SavedImage | None = None
    skip_reason: str | None = None
    layer_error: str | None = None
    if read_layers:
        try:
            saved = read_image_stream(api.export_image(client, image_id, cancel=cancel), cancel=cancel)
        except CancelledError:
            raise
        except DockauditError as exc:
            skip_reason = f"the layers could not be read: {exc}"
            layer_error = str(exc)
    else:
        skip_reason = "the layers were not read (a quick inspect-only collection)"
    steps = api_steps
    if saved is not None:
        exact = steps_from_config(saved.config.get("history") or ())
        if len(exact) == len(api_steps):
            steps = [dataclasses.replace(s, tags=a.tags) for s, a in zip(exact, api_steps, strict=True)]
    base = base_from_api_tags(steps)
    if base is None and base_index is not None:
        hit = base_index.find(diff_ids, image_id)
        if hit is not None:
            count = _base_steps(client, hit[1])
            base = (hit[0], count) if count is not None else None
    reference = None if _looks_like_id(ref, image_id) else short_reference(ref)
    facts = _facts_from_parts(
        meta=meta,
        config=_complete_config(meta.get("Config"), saved.config.get("config") if saved is not None else None),
        steps=steps,
        diff_ids=diff_ids,
        base=base,
        saved=saved,
        skip_reason=skip_reason,
        engine_id=engine_id,
        reference=reference,
        allow=allow,
    )
    return dataclasses.replace(facts, filesystem_error=layer_error) if layer_error else facts


def collect_image(
    client: docker.DockerClient,
    ref: str,
    *,
    read_layers: bool = True,
    engine_id: str | None = None,
    cancel: threading.Event | None = None,
    base_index: BaseIndex | None = None,
    allow_secret_names: Iterable[str] = (),
    inspected: api.Json | None = None,
) -> ImageFacts:
    """Facts of one image: inspect, history and (unless `read_layers` is off) one pass over its layers;
    `inspected` is the image's inspect when the caller just made it."""
    meta = inspected if inspected is not None else api.inspect_image(client, ref)
    return _collect_image(
        client,
        ref,
        meta,
        read_layers=read_layers,
        engine_id=engine_id,
        cancel=cancel,
        base_index=base_index,
        allow=tuple(allow_secret_names),
    )


def image_facts_from_archive(
    path: Path, *, cancel: threading.Event | None = None, allow_secret_names: Iterable[str] = ()
) -> ImageFacts:
    """Facts of a saved image tarball (classic or OCI layout), with no engine at all."""
    saved = read_image_archive(path, cancel=cancel)
    cfg = saved.config
    meta: dict[str, Any] = {
        "Id": saved.config_digest,
        "RepoTags": list(saved.repo_tags),
        "Size": saved.filesystem.total_size,
        "Created": cfg.get("created"),
        "Architecture": cfg.get("architecture"),
        "Os": cfg.get("os"),
        "Variant": cfg.get("variant"),
        "Author": cfg.get("author"),
    }
    diff_ids = tuple((cfg.get("rootfs") or {}).get("diff_ids") or ())
    return _facts_from_parts(
        meta=meta,
        config=cfg.get("config"),
        steps=steps_from_config(cfg.get("history") or ()),
        diff_ids=diff_ids,
        base=None,
        saved=saved,
        skip_reason=None,
        engine_id=None,
        reference=None,
        allow=tuple(allow_secret_names),
    )


# ------------------------------------------------------------------------------------------------ containers


class SharedCalls:
    """One call per key at a time: a thread asking for a key another thread is fetching waits for that answer
    (or error) instead of asking the engine again. With `keep`, answers stay for the next asker too."""

    def __init__(self, *, keep: bool) -> None:
        self._keep = keep
        self._calls: dict[str, Future[api.Json]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, fetch: Callable[[], api.Json]) -> api.Json:
        """`fetch()`'s answer for `key`, asked once however many threads want it at the same time."""
        with self._lock:
            future = self._calls.get(key)
            owner = future is None
            if future is None:
                future = self._calls[key] = Future()
        if owner:
            try:
                future.set_result(fetch())
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                if not self._keep:
                    with self._lock:
                        del self._calls[key]
        return future.result()


class ImageMemo(Protocol):
    """Image inspects a source holds: recalled instead of asked again, shared between concurrent askers."""

    def image(self, ref: str, inspect: Callable[[], api.Json]) -> api.Json:
        """`ref`'s inspect: one held, one another thread is making, or `inspect()`'s (then held)."""


class _ImageCache:
    """Image inspects for the containers of one collection: each image is asked for once, even concurrently,
    and not at all when `memo` (the source's inspects, shared by all its collections) has it."""

    def __init__(self, client: docker.DockerClient, memo: ImageMemo | None = None) -> None:
        self._client = client
        self._memo = memo
        self._calls = SharedCalls(keep=True)

    def get(self, ref: str) -> api.Json | None:
        """The image's inspect JSON, or None when the engine has no such image."""

        def inspect() -> api.Json:
            return api.inspect_image(self._client, ref)

        try:
            return self._memo.image(ref, inspect) if self._memo is not None else self._calls.get(ref, inspect)
        except api.NotFoundError:
            return None


def _tag_drift(image_ref: str, image_id: str, images: _ImageCache) -> bool | None:
    """Whether the tag the container names now points to another image; None when that cannot be told."""
    if not image_ref or "@sha256:" in image_ref or _looks_like_id(image_ref, image_id):
        return False
    current = images.get(image_ref)
    if current is None:
        return None
    return str(current.get("Id")) != image_id


def _own_env(container_env: Sequence[str], image_env: Sequence[str]) -> list[str]:
    """Entries the container sets itself: those not inherited unchanged from the image."""
    inherited = set(image_env)
    return [e for e in container_env if e not in inherited]


def _processes(
    client: docker.DockerClient, ref: str, allow: tuple[str, ...]
) -> tuple[tuple[Process, ...] | None, str | None]:
    try:
        return convert.processes(api.top(client, ref, PS_ARGS), allow), None
    except api.NotFoundError:
        raise
    except EngineError:
        # Some engines (Podman, old ps) reject custom columns; the default `ps -ef` still names users.
        try:
            return convert.processes(api.top(client, ref), allow), None
        except EngineError as exc:
            return None, f"docker top failed: {exc}"


def _podman_log_size(client: docker.DockerClient, inspect: api.Json) -> str | None:
    """A Podman container's log size limit (`--log-opt max-size`), which its Docker-compatible inspect leaves out.

    Podman puts `container=podman` in every container's environment; only those cost the extra request.
    """
    if "container=podman" not in ((inspect.get("Config") or {}).get("Env") or ()):
        return None
    try:
        own = api.libpod_inspect_container(client, str(inspect.get("Id") or ""))
    except EngineError:
        return None
    size = str(((own.get("HostConfig") or {}).get("LogConfig") or {}).get("Size") or "")
    return size if size and size not in ("0B", "-1B") else None


def _collect_container(
    client: docker.DockerClient,
    ref: str,
    images: _ImageCache,
    engine_id: str | None,
    allow: tuple[str, ...],
    inspected: api.Json | None = None,
) -> ContainerFacts:
    inspect = inspected if inspected is not None else api.inspect_container(client, ref)
    host_config = convert.host_config(inspect)
    log_size = _podman_log_size(client, inspect)
    if log_size is not None and not dict(host_config.log_options).get("max-size"):
        host_config = dataclasses.replace(host_config, log_options=(*host_config.log_options, ("max-size", log_size)))
    cfg = inspect.get("Config") or {}
    image_id = str(inspect.get("Image") or "")
    image = images.get(image_id) if image_id else None
    image_cfg = (image or {}).get("Config") or {}
    st = convert.state(inspect)
    procs: tuple[Process, ...] | None = None
    skip: str | None = f"the container is {st.status or 'not running'}: docker top needs a running container"
    if st.running:
        procs, skip = _processes(client, str(inspect.get("Id") or ref), allow)
    image_hc = convert.healthcheck(image_cfg.get("Healthcheck"))
    own_hc = convert.healthcheck(cfg.get("Healthcheck"))
    networks = (inspect.get("NetworkSettings") or {}).get("Networks") or {}
    image_ref = str(cfg.get("Image") or "")
    return ContainerFacts(
        id=str(inspect.get("Id") or ""),
        name=str(inspect.get("Name") or "").lstrip("/"),
        image_ref=image_ref,
        image_id=image_id,
        created=parse_timestamp(inspect.get("Created")),
        state=st,
        host_config=host_config,
        mounts=convert.mounts(inspect),
        user=str(cfg.get("User") or ""),
        env=convert.env(_own_env(cfg.get("Env") or (), image_cfg.get("Env") or ()), allow),
        labels=convert.labels(cfg.get("Labels"), allow),
        entrypoint=convert.command(cfg.get("Entrypoint"), allow),
        cmd=convert.command(cfg.get("Cmd"), allow),
        # The engine copies the image's healthcheck into the container's config; only a different one is its own.
        healthcheck=own_hc if own_hc != image_hc else None,
        image_user=str(image_cfg.get("User") or ""),
        image_healthcheck=image_hc,
        networks=tuple(sorted(networks)),
        processes=procs,
        processes_skip_reason=skip,
        tag_drift=_tag_drift(image_ref, image_id, images),
        engine=engine_id,
        working_dir=str(cfg.get("WorkingDir") or ""),
        hostname=str(cfg.get("Hostname") or ""),
    )


def collect_container(
    client: docker.DockerClient,
    ref: str,
    *,
    engine_id: str | None = None,
    allow_secret_names: Iterable[str] = (),
    inspected: api.Json | None = None,
    image_memo: ImageMemo | None = None,
) -> ContainerFacts:
    """Facts of one container: inspect, `docker top` when running, its image's defaults, tag drift.

    `inspected` is the container's inspect when the caller just made it; `image_memo` the source's recent image
    inspects."""
    images = _ImageCache(client, image_memo)
    return _collect_container(client, ref, images, engine_id, tuple(allow_secret_names), inspected)
