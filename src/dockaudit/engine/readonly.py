"""The docker SDK client dockaudit uses: it can only read (anything but GET/HEAD is refused before it is sent)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import docker
import requests
from docker.api.client import APIClient

from dockaudit.errors import EngineError

if TYPE_CHECKING:
    from requests.sessions import _Settings

ALLOWED_METHODS = frozenset({"GET", "HEAD"})


class ReadOnlyError(EngineError):
    """Code tried to change the engine's state; dockaudit only reads."""


class ReadOnlyAPIClient(APIClient):
    """`APIClient` whose every request passes through a method check (requests' `Session.send` is the funnel)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if str(kwargs.get("base_url") or "").startswith("unix://"):
            # No proxy or .netrc applies to a local socket, yet requests would look both up in the environment
            # on every request (a scan of os.environ each time: a third of the client's CPU per call).
            self.trust_env = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send GET and HEAD requests; refuse anything else without touching the connection."""
        method = (request.method or "").upper()
        if method not in ALLOWED_METHODS:
            path = (request.path_url or "").split("?", 1)[0]
            raise ReadOnlyError(f"refused {method} {path}: dockaudit only reads from the engine")
        response: requests.Response = super().send(request, **kwargs)
        return response

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
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
