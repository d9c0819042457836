"""The docker SDK client dockaudit uses: it can only read (anything but GET/HEAD is refused before it is sent)."""

from __future__ import annotations

from typing import Any

import docker
import requests
from docker.api.client import APIClient
from docker.transport.unixconn import UnixHTTPAdapter

from dockaudit.errors import EngineError

ALLOWED_METHODS = frozenset({"GET", "HEAD"})


class ReadOnlyError(EngineError):
    """Code tried to change the engine's state; dockaudit only reads."""


POOL_SIZE = 64
"""Keep-alive connections kept to a local engine: more than an audit holds at once (lookups, workers, streams)."""


class OnePoolUnixAdapter(UnixHTTPAdapter):
    """The SDK's unix-socket adapter with one connection pool for every request.

    The SDK keys its pools by the whole request URL, so nearly every request opened (and later closed) a socket of
    its own; every request goes to the same socket, so one pool of kept-alive connections serves them all.
    """

    def get_connection(self, url: str | bytes, proxies: Any = None) -> Any:
        """The one pool, whatever the URL."""
        return super().get_connection(_POOL_KEY, proxies)


_POOL_KEY = "http+docker://localhost"


class ReadOnlyAPIClient(APIClient):
    """`APIClient` whose every request passes through a method check (requests' `Session.send` is the funnel)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if str(kwargs.get("base_url") or "").startswith("unix://"):
            # No proxy or .netrc applies to a local socket, yet requests would look both up in the environment
            # on every request (a scan of os.environ each time: a third of the client's CPU per call).
            self.trust_env = False
            sdk_adapter = self.get_adapter(self.base_url)
            if isinstance(sdk_adapter, UnixHTTPAdapter):
                adapter = OnePoolUnixAdapter(
                    f"http+unix://{sdk_adapter.socket_path}", sdk_adapter.timeout, max_pool_size=POOL_SIZE
                )
                self.mount("http+docker://", adapter)
                self._custom_adapter = adapter

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send GET and HEAD requests; refuse anything else without touching the connection."""
        method = (request.method or "").upper()
        if method not in ALLOWED_METHODS:
            path = (request.path_url or "").split("?", 1)[0]
            raise ReadOnlyError(f"refused {method} {path}: dockaudit only reads from the engine")
        response: requests.Response = super().send(request, **kwargs)
        return response

    # `Any` where requests' own annotations (2.34+) and types-requests' disagree (url `str` or `str | bytes | None`,
    # a private TypedDict or a dict): the override must type-check against whichever the environment installs.
    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        """Keep the engine's TLS verification: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override it."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        # Only an explicit CA file or "no verification" must win; plain `True` may use the env's bundle.
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return settings


class ReadOnlyDockerClient(docker.DockerClient):
    """`docker.DockerClient` built on `ReadOnlyAPIClient`; the high-level API (images, containers...) is unchanged."""

    def __init__(self, **kwargs: Any) -> None:
        # DockerClient.__init__ only builds its APIClient; build ours instead.
        self.api = ReadOnlyAPIClient(**kwargs)
