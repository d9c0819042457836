"""The engine's image and container lists, one row per object (`GET /images/json`, `/containers/json`)."""

from __future__ import annotations

from datetime import datetime

from dockaudit.facts.container import PortBinding
from dockaudit.facts.image import NamedValue
from dockaudit.records import Record, record


@record
class ImageSummary(Record):
    """One row of the image list (`GET /images/json`)."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    size: int
    created: datetime | None
    containers: int = -1
    """Containers (any state) using the image, counted from the container list; -1 when unknown."""
    labels: tuple[NamedValue, ...] = ()
    parent_id: str = ""

    @property
    def name(self) -> str:
        """First tag, else `<none>@short-id`."""
        return self.repo_tags[0] if self.repo_tags else f"<none>@{short_id(self.id)}"

    @property
    def dangling(self) -> bool:
        """Untagged."""
        return not self.repo_tags


@record
class ContainerSummary(Record):
    """One row of the container list (`GET /containers/json?all=1`)."""

    id: str
    name: str
    image: str
    """The image as the container was created from it (`Config.Image`)."""
    image_id: str
    state: str
    """`created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`."""
    status: str
    """Human status (`Up 2 hours (healthy)`)."""
    created: datetime | None
    command: str = ""
    ports: tuple[PortBinding, ...] = ()
    labels: tuple[NamedValue, ...] = ()

    @property
    def running(self) -> bool:
        """Whether `docker top` can list its processes."""
        return self.state == "running"

    @property
    def up(self) -> bool:
        """Whether it is up in `docker ps` terms (running, paused or restarting), as lists show it."""
        return self.state in ("running", "paused", "restarting")


@record
class Inventory(Record):
    """Every image and container the engine holds, from two list calls."""

    images: tuple[ImageSummary, ...] = ()
    containers: tuple[ContainerSummary, ...] = ()


def short_id(image_id: str) -> str:
    """The 12-character form Docker prints."""
    return image_id.removeprefix("sha256:")[:12]
