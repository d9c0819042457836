"""A connected engine as the audit session reads it: every Docker SDK call outside connecting lives behind here."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import docker.errors
import requests

from dockaudit.engine import api
from dockaudit.engine.client import Engine
from dockaudit.engine.collect import (
    BaseIndex,
    SharedCalls,
    collect_container,
    collect_image,
    inventory,
    short_reference,
)
from dockaudit.engine.fleet import EngineFailure, EngineSpec, connect_all
from dockaudit.errors import DockauditError, EngineError
from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts
from dockaudit.facts.inventory import ContainerSummary, ImageSummary, Inventory
from dockaudit.model import EngineInfo
from dockaudit.parse.timestamps import parse_timestamp
from dockaudit.source import TrivyInput

if TYPE_CHECKING:
    from dockaudit.facts.host import HostFacts

Then = TypeVar("Then")

EVENT_TYPES = ("image", "container")
"""Docker event types that change what the lists show."""


class EngineEvents:
    """Docker's `/events` stream (a blocking HTTP response), closable from another thread."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[str]:
        for event in self._stream:
            if isinstance(event, dict):
                yield f"{event.get('Type', '?')} {event.get('Action', '?')}"

    def close(self) -> None:
        """Unblock a reader in another thread."""
        self._stream.close()


FRESH_SECONDS = 10.0
"""How long the inspect a lookup made stands in for the collection's own (used once): a run that looks a target
up and then audits it asks the engine once, as a bare SDK script would."""
IMAGES_KEPT = 256
"""Image inspects kept by full ID for containers' image defaults (an ID names immutable content)."""


class EngineSource:
    """Facts from one connected engine; thread-safe, read-only, one per audit session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._bases: dict[str, ImageFacts | None] = {}
        self._base_index: BaseIndex | None = None
        self._lock = threading.Lock()
        self._fresh: dict[tuple[str, str], tuple[float, api.Json]] = {}
        """Inspects lookups just made, by (`image` or `container`, ref as asked and full ID), taken once."""
        self._images_by_ref: dict[str, tuple[float, api.Json]] = {}
        """Image inspects just made, by reference as asked, for `recall`: a collection taking its inspect from
        `_fresh` leaves the tag's answer here for the containers that name that tag."""
        self._images_by_id: dict[str, api.Json] = {}
        self._image_calls = SharedCalls(keep=False)

    @property
    def info(self) -> EngineInfo:
        """Which engine this is."""
        return self.engine.info

    @property
    def _client(self) -> docker.DockerClient:
        return self.engine.client

    # ---- lists and lookups ------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        """Every image and container: two list calls."""
        return inventory(self._client)

    def find_container(self, ref: str) -> ContainerSummary | None:
        """The container named (or with the ID) `ref`; None when the engine has none."""
        data = self._lookup(api.inspect_container, ref)
        if data is None:
            return None
        self._remember("container", ref, data)
        cid = str(data.get("Id") or "")
        state = data.get("State") or {}
        return ContainerSummary(
            id=cid,
            name=str(data.get("Name") or "").lstrip("/") or cid[:12],
            image=str((data.get("Config") or {}).get("Image") or ""),
            image_id=str(data.get("Image") or ""),
            state=str(state.get("Status") or ""),
            status=str(state.get("Status") or ""),
            created=parse_timestamp(data.get("Created")),
        )

    def find_image(self, ref: str) -> ImageSummary | None:
        """The image with reference or ID `ref`; None when the engine has none."""
        data = self._lookup(api.inspect_image, ref)
        if data is None:
            return None
        self._remember("image", ref, data)
        return ImageSummary(
            id=str(data.get("Id") or ""),
            repo_tags=tuple(short_reference(t) for t in data.get("RepoTags") or () if t != "<none>:<none>"),
            repo_digests=tuple(data.get("RepoDigests") or ()),
            size=int(data.get("Size") or 0),
            created=parse_timestamp(data.get("Created")),
        )

    def _lookup(self, fn: Callable[[docker.DockerClient, str], api.Json], ref: str) -> api.Json | None:
        # The SDK keeps `/` in the URL and the engine's router cleans `.`, `..` and empty segments, so `.`
        # would ask `GET /containers/json` (the list) instead of one object.
        if not ref or any(segment in ("", ".", "..") for segment in ref.split("/")):
            return None
        try:
            return fn(self._client, ref)
        except api.NotFoundError:
            return None
        except EngineError as exc:
            cause = exc.__cause__
            if isinstance(cause, docker.errors.APIError):
                # 400 "invalid reference format": `Dockerfile` or `./app` cannot name an image.
                if cause.status_code in (400, 404):
                    return None
                raise EngineError(f"looking up {ref!r}: {cause.explanation or cause}") from exc
            raise EngineError(f"looking up {ref!r}: {api.transport_reason(cause or exc)}") from exc

    def _remember(self, kind: str, ref: str, data: api.Json) -> None:
        now = time.monotonic()
        object_id = str(data.get("Id") or "")
        with self._lock:
            for key in [k for k, (at, _) in self._fresh.items() if now - at > FRESH_SECONDS]:
                del self._fresh[key]
            self._fresh[(kind, ref)] = self._fresh[(kind, object_id)] = (now, data)
            if kind == "image":
                for stale in [r for r, (at, _) in self._images_by_ref.items() if now - at > FRESH_SECONDS]:
                    del self._images_by_ref[stale]
                self._images_by_ref[ref] = (now, data)
                if object_id:
                    self._keep_image(object_id, data)

    def _keep_image(self, image_id: str, data: api.Json) -> None:
        # Called with the lock held.
        self._images_by_id[image_id] = data
        if len(self._images_by_id) > IMAGES_KEPT:
            del self._images_by_id[next(iter(self._images_by_id))]

    def image(self, ref: str, inspect: Callable[[], api.Json]) -> api.Json:
        """An image inspect for a container's image (`ImageMemo`): held by full ID at any age (the content cannot
        have changed), by reference when it is recent (`FRESH_SECONDS`), else `inspect()`'s, made once however
        many containers of that image are collected at the same time, and held for the next."""

        def fetch() -> api.Json:
            # Another thread may have finished this very inspect between the check below and this call.
            data = self._recall(ref)
            if data is None:
                data = inspect()
                self._remember("image", ref, data)
            return data

        held = self._recall(ref)
        return held if held is not None else self._image_calls.get(ref, fetch)

    def _recall(self, ref: str) -> api.Json | None:
        with self._lock:
            if ref in self._images_by_id:
                return self._images_by_id[ref]
            at, data = self._images_by_ref.get(ref, (0.0, None))
        return data if data is not None and time.monotonic() - at <= FRESH_SECONDS else None

    def _fresh_inspect(self, kind: str, ref: str) -> api.Json | None:
        """The inspect a lookup of `ref` made moments ago, once; None when there is none (or it is too old)."""
        with self._lock:
            at, data = self._fresh.pop((kind, ref), (0.0, None))
            # Taken under every name it was kept by (as asked, and by ID): the next collection asks the engine.
            for key in [k for k, (_, kept) in self._fresh.items() if kept is data]:
                del self._fresh[key]
        return data if data is not None and time.monotonic() - at <= FRESH_SECONDS else None

    def running_image_ids(self) -> list[str]:
        """The image of each running container (for DA510)."""
        return sorted({c.image_id for c in self.inventory().containers if c.running and c.image_id})

    # ---- facts --------------------------------------------------------------------------------------

    def image_facts(
        self,
        ref: str,
        *,
        read_layers: bool = True,
        cancel: threading.Event | None = None,
        allow_secret_names: Iterable[str] = (),
        name_base: bool = False,
    ) -> ImageFacts:
        """Inspect, history and (unless `read_layers` is off) one pass over the layers; `name_base` also looks
        through every local image for the one this image is built on (one inspect each, cached)."""
        return collect_image(
            self._client,
            ref,
            read_layers=read_layers,
            engine_id=self.info.id,
            cancel=cancel,
            base_index=self._index() if name_base else None,
            allow_secret_names=allow_secret_names,
            inspected=self._fresh_inspect("image", ref),
        )

    def container_facts(self, ref: str, *, allow_secret_names: Iterable[str] = ()) -> ContainerFacts:
        """Inspect, `docker top` when running, its image's defaults, tag drift."""
        return collect_container(
            self._client,
            ref,
            engine_id=self.info.id,
            allow_secret_names=allow_secret_names,
            inspected=self._fresh_inspect("container", ref),
            image_memo=self,
        )

    def host_facts(self) -> HostFacts:
        """The daemon's settings and the client's config."""
        from dockaudit.engine.collect_host import collect_host

        endpoint = self.engine.endpoint
        return collect_host(self._client, engine_id=self.info.id, endpoint=endpoint.url, tls=endpoint.tls is not None)

    def base_image(self, ref: str) -> ImageFacts | None:
        """A base image named in a Dockerfile, with its files, when the engine has it (cached per reference)."""
        with self._lock:
            if ref in self._bases:
                return self._bases[ref]
        try:
            facts: ImageFacts | None = collect_image(self._client, ref, engine_id=self.info.id)
        except DockauditError:
            facts = None
        with self._lock:
            self._bases[ref] = facts
        return facts

    def _index(self) -> BaseIndex:
        with self._lock:
            if self._base_index is not None:
                return self._base_index
        index = BaseIndex()
        try:
            rows = api.list_images(self._client)
        except DockauditError:
            rows = []
        for row in rows:
            try:
                index.add(api.inspect_image(self._client, str(row["Id"])))
            except DockauditError:
                continue
        with self._lock:
            self._base_index = index
        return index

    def with_usage(self, container: ContainerFacts) -> ContainerFacts:
        """The container with one `docker stats` sample, so hardened limits come from observed usage."""
        if not container.state.running:
            return container
        try:
            sample: dict[str, Any] = api.call(
                f"sampling {container.name}", lambda: self._client.api.stats(container.id, stream=False)
            )
        except EngineError:
            return container
        return with_stats(container, sample)

    # ---- Trivy and events ------------------------------------------------------------------------------

    def trivy_input(self, image_id: str, cancel: threading.Event | None = None) -> TrivyInput:
        """Trivy reads a local engine itself; a remote one's image is exported through the same stream the
        checklist reads, cancellable."""
        if self.engine.trivy_docker_host:
            return TrivyInput(self.engine.trivy_docker_host, self.info.podman, None)

        def export(path: Path) -> None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in api.export_image(self._client, image_id, cancel=cancel):
                    out.write(chunk)

        return TrivyInput(None, self.info.podman, export)

    def events(self) -> EngineEvents:
        """Image and container events, as one long-lived GET (no polling)."""
        try:
            stream = self._client.events(decode=True, filters={"type": list(EVENT_TYPES)})
        except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
            raise EngineError(f"following engine events: {api.transport_reason(exc)}") from exc
        return EngineEvents(stream)

    def close(self) -> None:
        """Close the client and any ssh tunnel."""
        self.engine.close()


def with_stats(container: ContainerFacts, sample: dict[str, Any]) -> ContainerFacts:
    """Memory, CPU and PIDs of one `docker stats` sample, counted as `docker stats` counts them."""
    memory = sample.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    # Page cache the kernel can drop does not count as usage.
    used = int(memory.get("usage") or 0) - int(detail.get("inactive_file") or detail.get("cache") or 0)
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = int(cpu.get("system_cpu_usage") or 0) - int(pre.get("system_cpu_usage") or 0)
    online = int(cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1)
    percent = cpu_delta / system_delta * online * 100 if system_delta > 0 and cpu_delta >= 0 else None
    pids = (sample.get("pids_stats") or {}).get("current")
    return dataclasses.replace(
        container,
        stats_memory_bytes=used if used > 0 else None,
        stats_cpu_percent=percent,
        stats_pids=int(pids) if pids else None,
    )


class EngineStart(Generic[Then]):
    """A run's engines connected, and `then` run over their sources (the targets' lookups), in a thread of its own.

    Connecting and looking targets up are waits on the engines; the caller loads the audit's code meanwhile, so the
    two overlap instead of adding up. `result` hands over the sources (the caller closes them), the failures and
    what `then` returned, or raises what either raised; sources nobody will take are closed here.
    """

    def __init__(
        self,
        specs: Sequence[EngineSpec],
        concurrency: int,
        then: Callable[[dict[str, EngineSource], list[str]], Then],
        timeout: float = 10.0,
    ) -> None:
        self._lock = threading.Lock()
        self._outcome: tuple[dict[str, EngineSource], list[EngineFailure], Then] | None = None
        self._error: BaseException | None = None
        self._abandoned = False
        # A daemon: Ctrl-C while an engine is slow to answer must not wait for its connection timeout at exit.
        self._thread = threading.Thread(
            target=self._work, args=(specs, concurrency, then, timeout), name="engine-start", daemon=True
        )
        self._thread.start()

    def _work(
        self,
        specs: Sequence[EngineSpec],
        concurrency: int,
        then: Callable[[dict[str, EngineSource], list[str]], Then],
        timeout: float,
    ) -> None:
        sources: dict[str, EngineSource] = {}
        try:
            engines, failures = connect_all(specs, timeout=timeout, concurrency=concurrency)
            sources = {eid: EngineSource(engine) for eid, engine in engines.items()}
            outcome = (sources, failures, then(sources, [f.spec.id for f in failures]))
        except BaseException as exc:  # handed to the caller's thread by `result`
            with self._lock:
                self._error = exc
            _close_all(sources)
            return
        with self._lock:
            self._outcome = outcome
            abandoned = self._abandoned
        if abandoned:
            _close_all(sources)

    def result(self) -> tuple[dict[str, EngineSource], list[EngineFailure], Then]:
        """Wait for the thread: the connected sources by engine id, the failures, and what `then` returned."""
        try:
            # In short waits: the kernel may hand Ctrl-C's SIGINT to the connecting thread, and Python runs the
            # handler in this thread only once it wakes; an unbounded join would sleep through it until the
            # connection timed out.
            while self._thread.is_alive():
                self._thread.join(0.05)
        except BaseException:  # Ctrl-C while waiting: whatever connects after this is closed by the thread
            with self._lock:
                self._abandoned = True
                outcome = self._outcome
            if outcome is not None:
                _close_all(outcome[0])
            raise
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome


def _close_all(sources: dict[str, EngineSource]) -> None:
    for source in sources.values():
        source.close()
