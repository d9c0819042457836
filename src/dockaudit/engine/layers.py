"""Read a saved image (classic `manifest.json` or OCI `index.json` layout) as one forward-only stream.

The outer tar is read once, in order, never written to disk: layer tars are scanned as they pass
(the classic layout puts `manifest.json` after the layers, so scans are keyed by their path and put in
order at the end), keeping per-file facts and the size-capped content of the few files rules parse.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from dockaudit.engine.configshape import ShapeError, check_image_config
from dockaudit.engine.overlay import OPAQUE_MARKER, WHITEOUT_PREFIX, LayerScan, RawEntry, stack_layers
from dockaudit.engine.tarstream import BLOCK, ChunkSource, Header, Limited, Reader, TarFormatError, gunzip, iter_tar
from dockaudit.errors import DockauditError
from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType, LayerInfo
from dockaudit.parse.osrelease import detect_os
from dockaudit.secrets import classify_file
from dockaudit.text import without_surrogates

_KIB = 1024
_MIB = 1024 * _KIB
CONTENT_CAPS: dict[str, int] = {
    "/etc/passwd": 1 * _MIB,
    "/etc/shadow": 1 * _MIB,
    "/etc/group": 1 * _MIB,
    "/etc/os-release": 64 * _KIB,
    "/usr/lib/os-release": 64 * _KIB,
    "/etc/alpine-release": 4 * _KIB,
    "/etc/debian_version": 4 * _KIB,
    "/var/lib/dpkg/status": 16 * _MIB,
    "/lib/apk/db/installed": 16 * _MIB,
}
"""Files whose content is kept (up to the cap, in bytes) because rules parse them."""
STATUS_D = "/var/lib/dpkg/status.d/"
STATUS_D_CAP = 256 * _KIB
CREDENTIAL_CAP = 64 * _KIB
"""Credential candidates are read up to this size to classify them; their content is never kept."""
_PEM_SNIFF_MAX = 16 * _KIB
_CREDENTIAL_NAMES = frozenset(
    {".git-credentials", ".netrc", "_netrc", ".npmrc", ".pypirc", ".env", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"}
)
_KEY_SUFFIXES = (".pem", ".key", ".ppk")
_JSON_MAX = 32 * _MIB
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class ArchiveError(DockauditError):
    """A saved image that cannot be read: not a tar, no manifest, a missing or unsupported layer."""

    exit_code = 3
    title = "Image archive error"


# NamedTuples rather than dataclasses: internal records, created at start-up at a fraction of a dataclass's cost.


class SavedImage(NamedTuple):
    """What the saved image says about itself: config, tags and the stacked filesystem."""

    config: dict[str, Any]
    """The image config JSON (`architecture`, `config`, `history`, `rootfs`...), parsed."""
    config_digest: str
    """`sha256:...` of the config blob: the image ID."""
    repo_tags: tuple[str, ...]
    filesystem: FilesystemFacts
    has_manifest_list: bool = False


def normalise(name: str) -> str:
    """A tar member name as an absolute, normalised path (`./etc/passwd` → `/etc/passwd`)."""
    path = posixpath.normpath("/" + name)
    # normpath keeps a leading `//`, which POSIX allows to mean something else; we never do.
    return "/" + path.lstrip("/")


_TYPES: dict[bytes, FileType] = {
    b"0": FileType.FILE,
    b"\0": FileType.FILE,
    b"7": FileType.FILE,
    b"5": FileType.DIR,
    b"2": FileType.SYMLINK,
    b"1": FileType.HARDLINK,
    b"3": FileType.CHAR,
    b"4": FileType.BLOCK,
    b"6": FileType.FIFO,
}


def _is_credential_candidate(path: str) -> bool:
    name = posixpath.basename(path)
    parent = posixpath.basename(posixpath.dirname(path))
    if name in _CREDENTIAL_NAMES or name.startswith(".env."):
        return True
    if (name == "credentials" and parent == ".aws") or (name == "config.json" and parent == ".docker"):
        return True
    return name.endswith(_KEY_SUFFIXES) or (parent == ".ssh" and not name.endswith(".pub"))


def scan_layer(src: Reader, first_block: bytes | None = None) -> LayerScan:
    """Per-file facts of one (uncompressed) layer tar, read forward only; content only for files rules parse."""
    scan = LayerScan()
    try:
        for header, data in iter_tar(src, first_block):
            _scan_member(header, data, scan)
    except TarFormatError as exc:
        raise ArchiveError(f"a layer is not a readable tar: {exc}") from exc
    return scan


def _scan_member(member: Header, data: Limited, scan: LayerScan) -> None:
    path = normalise(member.name)
    if path == "/":
        return
    directory, name = posixpath.split(path)
    if name == OPAQUE_MARKER:
        scan.opaque_dirs.append(directory)
        return
    if name.startswith(WHITEOUT_PREFIX):
        scan.whiteouts.append(posixpath.join(directory, name[len(WHITEOUT_PREFIX) :]))
        return
    ftype = _TYPES.get(member.type, FileType.OTHER)
    link: str | None = None
    if ftype is FileType.SYMLINK:
        link = member.linkname
    elif ftype is FileType.HARDLINK:
        link = normalise(member.linkname)
    content: bytes | None = None
    secret = None
    if ftype is FileType.FILE:
        scan.content_bytes += member.size
        cap = CONTENT_CAPS.get(path) or (STATUS_D_CAP if path.startswith(STATUS_D) else 0)
        if cap:
            content = data.read(cap)
        elif 0 < member.size <= CREDENTIAL_CAP and _is_credential_candidate(path):
            secret = classify_file(path, data.read(CREDENTIAL_CAP))
        elif 0 < member.size <= _PEM_SNIFF_MAX:
            # A private key may have any name; its PEM header is at the very start.
            head = data.read(16)
            if head.startswith(b"-----BEGIN"):
                secret = classify_file(path, head + data.read(_PEM_SNIFF_MAX))
    scan.entries.append(
        RawEntry(path, ftype, member.mode & 0o7777, member.uid, member.gid, member.size, link, content, secret)
    )


class _Collected(NamedTuple):
    """Everything the outer stream held, by member path."""

    docs: dict[str, Any]
    layers: dict[str, LayerScan]
    aliases: dict[str, str]
    unreadable: dict[str, str]


def _read_outer(src: ChunkSource, first_block: bytes) -> _Collected:
    got = _Collected({}, {}, {}, {})
    try:
        for member, data in iter_tar(src, first_block):
            name = member.name.removeprefix("./")
            if member.type in (b"1", b"2"):
                # Docker links a layer.tar shared by two v1 layer dirs to the first copy.
                target = member.linkname
                if member.type == b"2":
                    target = posixpath.join(posixpath.dirname(name), member.linkname)
                got.aliases[name] = posixpath.normpath(target)
                continue
            if member.type in (b"0", b"\0", b"7"):
                _read_outer_file(member, data, name, got)
    except TarFormatError as exc:
        raise ArchiveError(f"not a saved image (docker save / OCI archive): {exc}") from exc
    src.drain()
    return got


def _read_outer_file(member: Header, data: Limited, name: str, got: _Collected) -> None:
    base = posixpath.basename(name)
    if base in ("VERSION", "json", "oci-layout") or member.size == 0:
        return
    head = data.read(BLOCK)
    if head.lstrip()[:1] in (b"{", b"["):
        if member.size <= _JSON_MAX:
            # Invalid UTF-8 and lone surrogates become U+FFFD, as the engine's own JSON decoder makes them.
            with contextlib.suppress(ValueError):
                text = (head + data.read(member.size)).decode("utf-8", "replace")
                got.docs[name] = without_surrogates(json.loads(text))
        return
    if head.startswith(_ZSTD_MAGIC):
        got.unreadable[name] = "zstd-compressed layers are not supported"
        return
    if head.startswith(_GZIP_MAGIC):
        got.layers[name] = scan_layer(gunzip(head, data))
    elif len(head) == BLOCK:
        got.layers[name] = scan_layer(data, first_block=head)


class _Plan(NamedTuple):
    config_path: str
    layer_paths: tuple[str, ...]
    repo_tags: tuple[str, ...]
    layout: str
    has_manifest_list: bool = False


def _blob(digest: str) -> str:
    algo, _, hexdigest = digest.partition(":")
    return f"blobs/{algo}/{hexdigest}"


def _list(value: Any, what: str) -> list[Any]:
    """A JSON list field (null is empty); another type makes the archive malformed, as the engine would say."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ArchiveError(f"not a saved image: {what} is not a list")
    return value


def _dict(value: Any, what: str) -> dict[str, Any]:
    """A JSON object field (null is empty); another type makes the archive malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ArchiveError(f"not a saved image: {what} is not an object")
    return value


def _plan(docs: dict[str, Any]) -> _Plan:
    """Which blob is the config and in which order the layers stack, from either layout."""
    layout = "oci" if "index.json" in docs else "classic"
    manifest = docs.get("manifest.json")
    if isinstance(manifest, list) and manifest and isinstance(manifest[0], dict):
        entry = manifest[0]
        return _Plan(
            str(entry.get("Config", "")),
            tuple(str(p) for p in _list(entry.get("Layers"), "manifest.json Layers")),
            tuple(str(t) for t in _list(entry.get("RepoTags"), "manifest.json RepoTags")),
            layout,
        )
    index = docs.get("index.json")
    if not isinstance(index, dict):
        raise ArchiveError("not a saved image: it has neither manifest.json nor index.json")
    tags: list[str] = []
    nested = False
    descriptor: dict[str, Any] | None = None
    current: dict[str, Any] = index
    for _ in range(4):
        manifests = [m for m in _list(current.get("manifests"), "an index's manifests") if isinstance(m, dict)]
        if not manifests:
            break
        chosen = _pick_platform(manifests)
        annotations = _dict(chosen.get("annotations"), "a manifest descriptor's annotations")
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            if key in annotations and annotations[key] not in tags:
                tags.append(str(annotations[key]))
        doc = docs.get(_blob(str(chosen.get("digest", ""))))
        if not isinstance(doc, dict):
            break
        if "manifests" in doc:
            nested = True
            current = doc
            continue
        descriptor = doc
        break
    if descriptor is None:
        raise ArchiveError("the OCI index names no image manifest present in the archive")
    config = _dict(descriptor.get("config"), "the manifest's config")
    layers = tuple(
        _blob(str(_dict(layer, "a manifest layer").get("digest", "")))
        for layer in _list(descriptor.get("layers"), "the manifest's layers")
    )
    return _Plan(_blob(str(config.get("digest", ""))), layers, tuple(_full_tags(tags)), layout, nested)


def _full_tags(names: list[str]) -> list[str]:
    """Keep full references; a bare OCI ref name (`latest`) only when nothing better is known."""
    full = [n for n in names if ":" in n or "/" in n]
    return full or names


def _pick_platform(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    for m in manifests:
        platform = _dict(m.get("platform"), "a manifest descriptor's platform")
        if platform.get("os", "linux") == "linux" and platform.get("architecture", "amd64") == "amd64":
            return m
    return manifests[0]


def _assemble(got: _Collected) -> SavedImage:
    plan = _plan(got.docs)
    config = got.docs.get(plan.config_path)
    if not isinstance(config, dict):
        raise ArchiveError(f"the image config {plan.config_path} is missing from the archive")
    try:
        check_image_config(config)
    except ShapeError as exc:
        raise ArchiveError(f"the image config {plan.config_path} is malformed: {exc}") from exc
    diff_ids = [str(d) for d in (config.get("rootfs") or {}).get("diff_ids") or ()]
    scans: list[LayerScan] = []
    infos: list[LayerInfo] = []
    for index, path in enumerate(plan.layer_paths):
        resolved = got.aliases.get(path, path)
        if resolved in got.unreadable:
            raise ArchiveError(f"layer {index} ({path}): {got.unreadable[resolved]}")
        scan = got.layers.get(resolved)
        if scan is None:
            raise ArchiveError(f"layer {index} ({path}) is missing from the archive")
        scans.append(scan)
        digest = diff_ids[index] if index < len(diff_ids) else path
        infos.append(LayerInfo(index=index, digest=digest, size=scan.content_bytes))
    # The scans are handed over: stacking frees their raw entries as it makes the file facts.
    got.layers.clear()
    stacked = stack_layers(scans)
    final: dict[str, FileFact] = {}
    for fact in stacked.files:
        if fact.in_final:
            final[fact.path] = fact
    filesystem = FilesystemFacts(
        files=stacked.files,
        layers=tuple(infos),
        total_size=sum(i.size for i in infos),
        wasted_bytes=stacked.wasted_bytes,
        os_release=detect_os(final),
        layout=plan.layout,
    )
    config_digest = plan.config_path.removeprefix("blobs/").replace("/", ":", 1)
    if plan.layout == "classic" and not plan.config_path.startswith("blobs/"):
        config_digest = "sha256:" + posixpath.basename(plan.config_path).removesuffix(".json")
    return SavedImage(config, config_digest, plan.repo_tags, filesystem, plan.has_manifest_list)


def read_image_stream(chunks: Iterable[bytes], *, cancel: threading.Event | None = None) -> SavedImage:
    """Parse a saved image arriving as byte chunks (`GET /images/{name}/get`), in one pass.

    A gzip-compressed archive (`docker save IMAGE | gzip`) is inflated on the fly.
    """
    src = ChunkSource(chunks, cancel)
    head = src.read(BLOCK)
    if head.startswith(_ZSTD_MAGIC):
        raise ArchiveError("zstd-compressed archives are not supported: decompress it first (zstd -d)")
    if head.startswith(_GZIP_MAGIC):
        try:
            inflated = gunzip(head, src)
            return _assemble(_read_outer(inflated, inflated.read(BLOCK)))
        except TarFormatError as exc:
            raise ArchiveError(f"not a saved image: {exc}") from exc
    return _assemble(_read_outer(src, head))


def read_image_archive(path: Path, *, cancel: threading.Event | None = None) -> SavedImage:
    """Parse a saved image tarball (`docker save -o`, `skopeo copy ... oci-archive:`) from disk."""
    try:
        with path.open("rb") as handle:
            return read_image_stream(iter(lambda: handle.read(_MIB), b""), cancel=cancel)
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc
