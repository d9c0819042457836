"""The saved-image reader on synthetic archives: layouts, whiteouts, content capture, errors."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dockaudit.engine.layers import ArchiveError, read_image_archive, read_image_stream
from dockaudit.errors import CancelledError
from dockaudit.facts.filesystem import FileType
from tests.fixtures import planted
from tests.fixtures.archives import (
    SyntheticImage,
    chunked,
    classic_archive,
    directory,
    file,
    hardlink,
    oci_archive,
    opaque,
    symlink,
    whiteout,
)

AWS_CREDENTIALS = f"[default]\naws_secret_access_key = {planted.DELETED_AWS_SECRET}\n"
OS_RELEASE = 'ID=alpine\nVERSION_ID=3.20.1\nPRETTY_NAME="Alpine Linux v3.20"\n'


def sample() -> SyntheticImage:
    return SyntheticImage(
        layers=[
            [
                directory("etc"),
                file("etc/os-release", OS_RELEASE),
                file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                directory("app"),
                file("app/big.bin", b"x" * 5000),
                directory("app/cache"),
                file("app/cache/a", b"a" * 100),
                file("app/cache/b", b"b" * 200),
                directory("root/.aws"),
                file("root/.aws/credentials", AWS_CREDENTIALS, 0o600),
                symlink("bin/sh", "busybox"),
            ],
            [
                whiteout("root/.aws/credentials"),
                opaque("app/cache"),
                file("app/cache/c", b"c" * 10),
                file("app/big.bin", b"y" * 10),
                file("usr/bin/sudo", b"#!", 0o4755),
                hardlink("usr/bin/sudoedit", "usr/bin/sudo"),
            ],
        ]
    )


def by_path(files, path):
    return [f for f in files if f.path == path]


def test_classic_stream_gives_every_entry_with_layer_index_and_flags() -> None:
    saved = read_image_stream(chunked(classic_archive(sample())))
    fs = saved.filesystem
    assert fs.layout == "classic"
    assert saved.repo_tags == ("example/synthetic:1",)
    assert len(fs.layers) == 2
    big_lower, big_upper = by_path(fs.files, "/app/big.bin")
    assert (big_lower.layer_index, big_lower.replaced_later, big_lower.deleted_later) == (0, True, False)
    assert (big_upper.layer_index, big_upper.in_final) == (1, True)
    assert by_path(fs.files, "/app/cache/a")[0].deleted_later
    assert by_path(fs.files, "/app/cache/b")[0].deleted_later
    assert by_path(fs.files, "/app/cache/c")[0].in_final
    # The opaque directory itself stays.
    assert fs.get("/app/cache") is not None
    creds = by_path(fs.files, "/root/.aws/credentials")[0]
    assert fs.wasted_bytes == 5000 + 100 + 200 + creds.size


def test_whiteout_marks_the_secret_file_deleted_but_keeps_its_classification() -> None:
    fs = read_image_stream(chunked(classic_archive(sample()))).filesystem
    (creds,) = by_path(fs.files, "/root/.aws/credentials")
    assert creds.deleted_later and not creds.in_final
    assert creds.secret is not None and creds.secret.kind == "aws-credentials"
    assert creds.content is None
    assert fs.get("/root/.aws/credentials") is None


def test_modes_types_and_links_are_read() -> None:
    fs = read_image_stream(chunked(classic_archive(sample()))).filesystem
    sudo = fs.get("/usr/bin/sudo")
    assert sudo is not None and sudo.mode == 0o4755 and sudo.type is FileType.FILE
    link = fs.get("/usr/bin/sudoedit")
    assert link is not None and link.type is FileType.HARDLINK and link.link_target == "/usr/bin/sudo"
    sh = fs.get("/bin/sh")
    assert sh is not None and sh.type is FileType.SYMLINK and sh.link_target == "busybox"
    assert fs.get("/etc").type is FileType.DIR  # type: ignore[union-attr]


def test_content_is_kept_only_for_files_rules_parse() -> None:
    fs = read_image_stream(chunked(classic_archive(sample()))).filesystem
    assert fs.get("/etc/passwd").content == b"root:x:0:0:root:/root:/bin/sh\n"  # type: ignore[union-attr]
    assert fs.get("/app/big.bin").content is None  # type: ignore[union-attr]
    assert fs.os_release is not None and (fs.os_release.id, fs.os_release.version_id) == ("alpine", "3.20.1")


def test_oci_layout_gives_the_same_files_as_classic() -> None:
    classic = read_image_stream(chunked(classic_archive(sample()))).filesystem
    oci = read_image_stream(chunked(oci_archive(sample()))).filesystem
    assert oci.layout == "oci"
    assert oci.files == classic.files
    assert [layer.digest for layer in oci.layers] == [layer.digest for layer in classic.layers]
    assert oci.wasted_bytes == classic.wasted_bytes


def test_oci_nested_index_is_followed_and_reported_as_manifest_list() -> None:
    saved = read_image_stream(chunked(oci_archive(sample(), compress=False, nested_index=True)))
    assert saved.has_manifest_list
    assert saved.repo_tags == ("example/synthetic:1",)
    assert saved.filesystem.get("/etc/passwd") is not None


def test_manifest_first_or_last_reads_the_same() -> None:
    last = read_image_stream(chunked(classic_archive(sample(), manifest_last=True)))
    first = read_image_stream(chunked(classic_archive(sample(), manifest_last=False)))
    assert first.filesystem == last.filesystem


def test_config_and_id_come_from_the_config_blob() -> None:
    saved = read_image_stream(chunked(classic_archive(sample())))
    assert saved.config["architecture"] == "amd64"
    assert saved.config_digest.startswith("sha256:") and len(saved.config_digest) == 71
    oci = read_image_stream(chunked(oci_archive(sample())))
    assert oci.config_digest == saved.config_digest


def test_private_key_with_any_name_is_classified_without_content() -> None:
    image = SyntheticImage(layers=[[file("srv/deploy", planted.PRIVATE_KEY_PEM), file("srv/readme", "hello")]])
    fs = read_image_stream(chunked(classic_archive(image))).filesystem
    key = fs.get("/srv/deploy")
    assert key is not None and key.secret is not None and key.content is None
    assert fs.get("/srv/readme").secret is None  # type: ignore[union-attr]


def test_directory_replaced_by_file_hides_its_children() -> None:
    image = SyntheticImage(layers=[[directory("opt/x"), file("opt/x/a", "1")], [file("opt/x", "now a file")]])
    fs = read_image_stream(chunked(classic_archive(image))).filesystem
    assert by_path(fs.files, "/opt/x/a")[0].deleted_later
    assert fs.get("/opt/x").type is FileType.FILE  # type: ignore[union-attr]


def test_whiteout_of_a_directory_deletes_its_subtree() -> None:
    # No entry for `a/b/c`: tars may omit parent directories.
    image = SyntheticImage(layers=[[directory("a"), directory("a/b"), file("a/b/c/d", "1")], [whiteout("a/b")]])
    fs = read_image_stream(chunked(classic_archive(image))).filesystem
    assert [f.path for f in fs.files if f.deleted_later] == ["/a/b", "/a/b/c/d"]
    assert fs.get("/a") is not None


def test_whiteouts_do_not_hide_entries_of_their_own_layer() -> None:
    image = SyntheticImage(layers=[[file("etc/x", "old")], [whiteout("etc/x"), opaque("etc"), file("etc/x", "new")]])
    fs = read_image_stream(chunked(classic_archive(image))).filesystem
    old, new = by_path(fs.files, "/etc/x")
    assert old.deleted_later and new.in_final


def test_empty_layer_tar_is_a_layer_with_no_files() -> None:
    image = SyntheticImage(layers=[[file("a", "1")], []])
    fs = read_image_stream(chunked(classic_archive(image))).filesystem
    assert [layer.size for layer in fs.layers] == [1, 0]


def rewrite(data: bytes, keep: Callable[[tarfile.TarInfo], tarfile.TarInfo | None]) -> bytes:
    """Copy an archive member by member; `keep` may replace a member or drop it (None)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=out, mode="w") as tar:
        for member in src.getmembers():
            kept = keep(member)
            if kept is not None:
                tar.addfile(kept, src.extractfile(member) if kept.isfile() else None)
    return out.getvalue()


def test_shared_layer_written_once_as_a_symlink_is_resolved() -> None:
    image = SyntheticImage(layers=[[file("a", "1")], [file("a", "2")]])
    data = classic_archive(image)
    with tarfile.open(fileobj=io.BytesIO(data)) as src:
        manifest = json.loads(src.extractfile("manifest.json").read())  # type: ignore[union-attr]
    first, second = manifest[0]["Layers"]

    # `docker save` writes a layer two v1 images share once, and links the other dir's layer.tar to it.
    def link_second(member: tarfile.TarInfo) -> tarfile.TarInfo:
        if member.name != second:
            return member
        link = tarfile.TarInfo(second)
        link.type = tarfile.SYMTYPE
        link.linkname = "../" + first
        return link

    fs = read_image_stream(chunked(rewrite(data, link_second))).filesystem
    assert [f.path for f in fs.files] == ["/a", "/a"]
    assert fs.files[0].replaced_later


def test_not_a_tar_is_an_archive_error() -> None:
    with pytest.raises(ArchiveError):
        read_image_stream(chunked(b"this is not a tar archive at all" * 100))


def test_archive_without_manifest_is_an_archive_error() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ArchiveError, match=r"manifest\.json"):
        read_image_stream(chunked(buf.getvalue()))


def test_missing_layer_is_an_archive_error() -> None:
    data = classic_archive(SyntheticImage(layers=[[file("a", "1")]]))
    without_layers = rewrite(data, lambda m: None if m.name.endswith("layer.tar") else m)
    with pytest.raises(ArchiveError, match="missing"):
        read_image_stream(chunked(without_layers))


def test_cancel_stops_the_stream() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        read_image_stream(chunked(classic_archive(sample())), cancel=cancel)


def test_archive_path_reads_like_the_stream(tmp_path: Path) -> None:
    path = tmp_path / "image.tar"
    path.write_bytes(oci_archive(sample()))
    assert read_image_archive(path).filesystem == read_image_stream(chunked(path.read_bytes())).filesystem


def test_unreadable_archive_path_is_an_archive_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot read"):
        read_image_archive(tmp_path / "missing.tar")


def test_distroless_and_scratch_are_detected() -> None:
    distroless = SyntheticImage(
        layers=[
            [
                file("etc/os-release", 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Distroless"\n'),
                file("var/lib/dpkg/status.d/libc6", "Package: libc6\n"),
            ]
        ]
    )
    fs = read_image_stream(chunked(classic_archive(distroless))).filesystem
    assert fs.os_release is not None and fs.os_release.id == "distroless" and "debian" in fs.os_release.id_like
    assert fs.get("/var/lib/dpkg/status.d/libc6").content == b"Package: libc6\n"  # type: ignore[union-attr]
    scratch = SyntheticImage(layers=[[file("app", b"\x7fELF")]])
    assert read_image_stream(chunked(classic_archive(scratch))).filesystem.os_release.id == "scratch"  # type: ignore[union-attr]


def test_file_facts_are_frozen_values() -> None:
    fs = read_image_stream(chunked(classic_archive(sample()))).filesystem
    with pytest.raises(dataclasses.FrozenInstanceError):
        fs.files[0].path = "/x"  # type: ignore[misc]


def test_gzip_compressed_archive_is_read(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "image.tar.gz"
    path.write_bytes(gzip.compress(classic_archive(sample())))
    assert read_image_archive(path).filesystem == read_image_stream(chunked(classic_archive(sample()))).filesystem


def test_zstd_archive_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "image.tar.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(600))
    with pytest.raises(ArchiveError, match="zstd"):
        read_image_archive(path)


def test_docker_25_layout_with_both_index_and_manifest() -> None:
    saved = read_image_stream(chunked(oci_archive(sample(), docker_manifest=True)))
    classic = read_image_stream(chunked(classic_archive(sample())))
    assert saved.filesystem.layout == "oci"
    assert saved.filesystem.files == classic.filesystem.files
    assert saved.config_digest == classic.config_digest
    assert saved.repo_tags == ("example/synthetic:1",)
