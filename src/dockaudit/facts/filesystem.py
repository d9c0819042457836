"""Facts about an image's layers and files, read by streaming the saved image once."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dockaudit.records import Record, record
from dockaudit.secrets import SecretMatch


class FileType(enum.StrEnum):
    """Kinds of tar entries."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    OTHER = "other"


@dataclass(frozen=True, repr=False, eq=False)
class FileFact(Record):
    """One path as a layer of the image wrote it."""

    path: str
    """Absolute, normalised (`/etc/passwd`)."""
    type: FileType
    mode: int
    """Permission bits including setuid/setgid/sticky (`0o4755`)."""
    uid: int
    gid: int
    size: int
    layer_index: int
    deleted_later: bool = False
    """A later layer removes it (whiteout or an opaque directory above it)."""
    replaced_later: bool = False
    """A later layer writes the same path again."""
    link_target: str | None = None
    content: bytes | None = None
    """Size-capped content, kept only for files the rules parse (passwd, os-release, dpkg status...)."""
    secret: SecretMatch | None = None
    """Set when the file is a credential (private key, .aws/credentials...); its content is never kept."""

    @property
    def in_final(self) -> bool:
        """Whether the path is visible in the image's final filesystem (from this layer)."""
        return not self.deleted_later and not self.replaced_later


@record
class LayerInfo(Record):
    """Size and origin of one layer, with the instruction that made it."""

    index: int
    digest: str
    size: int
    created_by: str = ""
    from_base: bool | None = None


@record
class OsRelease(Record):
    """The distribution detected from `/etc/os-release` and friends."""

    id: str
    """`alpine`, `debian`, `ubuntu`, `rhel`, `distroless`, `scratch`, `busybox`..."""
    version_id: str = ""
    pretty_name: str = ""
    id_like: tuple[str, ...] = ()


@record
class FilesystemFacts(Record):
    """What the layers hold, read by streaming the saved image once."""

    files: tuple[FileFact, ...]
    """Every entry of every layer, in layer order, with whiteouts already applied as flags."""
    layers: tuple[LayerInfo, ...]
    total_size: int
    wasted_bytes: int
    """Bytes in lower layers that later layers delete or overwrite."""
    os_release: OsRelease | None = None
    layout: str = "classic"
    """`classic` (manifest.json) or `oci` (index.json)."""

    def final_files(self) -> tuple[FileFact, ...]:
        """Entries visible in the final filesystem."""
        return tuple(f for f in self.files if f.in_final)

    def get(self, path: str) -> FileFact | None:
        """The final entry at `path`, if any."""
        for fact in reversed(self.files):
            if fact.path == path and fact.in_final:
                return fact
        return None
