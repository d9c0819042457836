"""Typed wrappers over the docker-py low-level calls the collector makes, mapping SDK errors to ours."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast
from urllib.parse import quote

import docker
import docker.errors
import requests

from dockaudit import errors
from dockaudit.errors import CancelledError, EngineError

Json = dict[str, Any]
_T = TypeVar("_T")


class NotFoundError(errors.NotFoundError):
    """The engine has no object by that name."""


def call(what: str, fn: Callable[[], _T]) -> _T:
    """Run one API call; SDK and transport errors become one-line `EngineError`s naming `what`."""
    try:
        return fn()
    except docker.errors.NotFound as exc:
        raise NotFoundError(f"{what}: not found") from exc
    except docker.errors.APIError as exc:
        reason = exc.explanation or str(exc)
        raise EngineError(f"{what}: {reason}") from exc
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise EngineError(f"{what}: {transport_reason(exc)}") from exc


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps (causes, contexts, urllib3 `reason`s, exceptions in args)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) not in seen:
            seen.add(id(current))
            yield current
            nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
            todo.extend(n for n in nested if isinstance(n, BaseException))


def transport_reason(exc: BaseException) -> str:
    """One plain phrase for a failure below HTTP: the engine died, went away, or stopped answering."""
    chain = list(_chain(exc))
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "the engine is not running (connection refused)"
    if any(isinstance(e, FileNotFoundError) for e in chain):
        return "the engine socket is gone"
    if any(isinstance(e, requests.Timeout | TimeoutError | socket.timeout) for e in chain):
        return "the engine stopped answering (timed out)"
    if any(isinstance(e, requests.exceptions.ChunkedEncodingError | http.client.IncompleteRead) for e in chain):
        return "the engine ended the stream early (connection broken mid-response)"
    aborted = "Connection aborted" in str(exc)
    if aborted or any(isinstance(e, requests.ConnectionError | ConnectionError) for e in chain):
        return "lost the connection to the engine (it closed the connection mid-request)"
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


def inspect_image(client: docker.DockerClient, ref: str) -> Json:
    """`GET /images/{ref}/json`."""
    return cast(Json, call(f"inspecting image {ref}", lambda: client.api.inspect_image(ref)))  # type: ignore[no-untyped-call]


def image_history(client: docker.DockerClient, ref: str) -> list[Json]:
    """`GET /images/{ref}/history`, newest step first as the engine returns it."""
    return cast(list[Json], call(f"reading history of {ref}", lambda: client.api.history(ref)))  # type: ignore[no-untyped-call]


def list_images(client: docker.DockerClient) -> list[Json]:
    """`GET /images/json` (tagged and dangling top-level images, not intermediate layers)."""
    return cast(list[Json], call("listing images", lambda: client.api.images(all=False)))


def list_containers(client: docker.DockerClient) -> list[Json]:
    """`GET /containers/json?all=1`: running, stopped and created containers."""
    return cast(list[Json], call("listing containers", lambda: client.api.containers(all=True)))


def inspect_container(client: docker.DockerClient, ref: str) -> Json:
    """`GET /containers/{ref}/json`."""
    return cast(Json, call(f"inspecting container {ref}", lambda: client.api.inspect_container(ref)))


def libpod_inspect_container(client: docker.DockerClient, ref: str) -> Json:
    """Podman's own `GET /libpod/containers/{ref}/json`, for what its Docker-compatible inspect leaves out."""
    what = f"inspecting container {ref} (Podman)"
    url = f"{client.api.base_url}/v{client.api.api_version}/libpod/containers/{quote(ref, safe='')}/json"
    response = call(what, lambda: client.api.get(url))
    if response.status_code >= 400:
        raise (NotFoundError if response.status_code == 404 else EngineError)(f"{what}: {response.reason}")
    try:
        return cast(Json, response.json())
    except ValueError as exc:
        raise EngineError(f"{what}: the answer is not JSON") from exc


def top(client: docker.DockerClient, ref: str, ps_args: str | None = None) -> Json:
    """`GET /containers/{ref}/top`."""
    return cast(Json, call(f"listing processes of {ref}", lambda: client.api.top(ref, ps_args=ps_args)))


def info(client: docker.DockerClient) -> Json:
    """`GET /info`."""
    return call("reading engine info", lambda: client.api.info())


def version(client: docker.DockerClient) -> Json:
    """`GET /version`."""
    return call("reading engine version", lambda: client.api.version())


def system_df(client: docker.DockerClient) -> Json:
    """`GET /system/df`."""
    return call("reading disk usage", lambda: client.api.df())


EXPORT_READ_TIMEOUT = 900.0
"""Seconds a save may stay silent: the engine copies a big image to a temp dir before it sends a byte."""


def export_image(
    client: docker.DockerClient, ref: str, chunk_size: int = 1 << 20, cancel: threading.Event | None = None
) -> Iterator[bytes]:
    """`GET /images/{ref}/get`: the saved image as a stream of chunks, never buffered whole.

    A reader that stops early (cancel, error) closes the connection: docker-py's own `get_image` would
    read the rest of a multi-gigabyte stream to release it. `cancel` also ends a read that is waiting
    for the engine, which writes nothing while it prepares a large image.
    """
    what = f"saving image {ref}"
    url = f"{client.api.base_url}/v{client.api.api_version}/images/{quote(ref, safe='')}/get"
    timeout = (client.api.timeout, max(client.api.timeout or 0, EXPORT_READ_TIMEOUT))
    response = _cancellable(what, lambda: call(what, lambda: client.api.get(url, stream=True, timeout=timeout)), cancel)
    if response.status_code >= 400:
        try:
            message = str(response.json().get("message") or response.reason)
        except ValueError:
            message = response.reason
        response.close()
        if response.status_code == 404:
            raise NotFoundError(f"{what}: not found ({message})")
        raise EngineError(f"{what}: {message}")
    return _guarded(what, response, chunk_size, cancel)


def _cancellable(
    what: str, request: Callable[[], requests.Response], cancel: threading.Event | None
) -> requests.Response:
    """Run `request` in a helper thread when `cancel` is given, so cancelling never waits for the engine.

    The engine sends the response headers of a save only when the tar is ready, seconds for a big image.
    An abandoned request is closed by its helper thread as soon as it answers.
    """
    if cancel is None:
        return request()
    lock = threading.Lock()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            result: Any = request()
            key = "response"
        except BaseException as exc:  # handed over to the waiting caller
            result, key = exc, "error"
        with lock:
            if box.get("abandoned"):
                if key == "response":
                    result.close()
                return
            box[key] = result
            ready.set()

    threading.Thread(target=run, name="dockaudit-export", daemon=True).start()
    while not ready.wait(0.1):
        if cancel.is_set():
            with lock:
                if not ready.is_set():
                    box["abandoned"] = True
                    raise CancelledError(f"{what}: cancelled")
    if "error" in box:
        raise box["error"]
    response: requests.Response = box["response"]
    return response


def _interrupt(response: requests.Response, cancel: threading.Event, done: threading.Event) -> None:
    """Shut the socket down when `cancel` is set before the stream ends, waking a blocked read."""
    while not done.wait(0.1):
        if cancel.is_set():
            connection = getattr(response.raw, "_connection", None)
            sock = getattr(connection, "sock", None)
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return


def _guarded(
    what: str, response: requests.Response, chunk_size: int, cancel: threading.Event | None
) -> Iterator[bytes]:
    """Transport errors while streaming become `EngineError`s; the response is closed however the reader stops."""
    done = threading.Event()
    if cancel is not None:
        threading.Thread(
            target=_interrupt, args=(response, cancel, done), name="dockaudit-export-cancel", daemon=True
        ).start()
    try:
        yield from response.iter_content(chunk_size)
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        if cancel is not None and cancel.is_set():
            raise CancelledError(f"{what}: cancelled") from exc
        raise EngineError(f"{what}: {transport_reason(exc)}") from exc
    finally:
        done.set()
        response.close()
