"""Fuzzing the saved-image reader: any archive gives facts (and rule results) or a DockauditError, nothing else."""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockaudit.engine.collect import image_facts_from_archive
from dockaudit.engine.layers import ArchiveError, read_image_stream, scan_layer
from dockaudit.engine.tarstream import BLOCK, ChunkSource
from dockaudit.errors import DockauditError
from dockaudit.facts.image import ImageFacts
from dockaudit.rules import load_all
from dockaudit.rules.registry import Scope, evaluate
from tests.fixtures.archives import SyntheticImage, chunked, classic_archive, file, oci_archive, symlink
from tests.reliability.fuzz_archives import member, saved_image, tar_bytes
from tests.reliability.fuzzing import FUZZ
from tests.reliability.hostile import layer_tar, sparse_layer_tar
from tests.reliability.hostile import saved_image as hostile_saved_image
from tests.rules.conftest import make_ctx

REGRESSIONS = sorted((Path(__file__).parent / "regressions" / "archives").glob("*.tar.gz"))


def _facts_or_error(data: bytes, tmp: Path) -> ImageFacts | DockauditError:
    path = tmp / "image.tar"
    path.write_bytes(data)
    try:
        facts = image_facts_from_archive(path)
    except DockauditError as exc:
        return exc
    load_all()
    # Rules read every field of the facts: they must cope with whatever a tarball could produce.
    evaluate((Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM), facts, make_ctx())
    return facts


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name.removesuffix(".tar.gz"))
def test_archives_that_once_crashed_are_clear_errors(path: Path, tmp_path: Path) -> None:
    result = _facts_or_error(gzip.decompress(path.read_bytes()), tmp_path)
    assert isinstance(result, ArchiveError), result
    assert str(result)


@FUZZ
@given(saved_image())
def test_any_structured_archive_gives_facts_or_an_error(data: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dockaudit-fuzz-") as tmp:
        _facts_or_error(data, Path(tmp))


_BASE_CLASSIC = classic_archive(
    SyntheticImage(
        layers=[
            [
                file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                file("etc/os-release", "ID=debian\n"),
                symlink("bin/sh", "busybox"),
                file("app/.env", "TOKEN=x\n"),
            ],
            [file("app/data", b"x" * 1500)],
        ]
    )
)
_BASE_OCI = oci_archive(
    SyntheticImage(layers=[[file("etc/passwd", "root:x:0:0::/:/bin/sh\n")], [file("a/b", b"y" * 700)]]), compress=False
)


def _fix_checksums(data: bytearray) -> None:
    """Recompute every header checksum at 512-byte boundaries that looks like a header (ustar magic)."""
    for offset in range(0, len(data) - BLOCK + 1, BLOCK):
        block = data[offset : offset + BLOCK]
        if block[257:262] != b"ustar":
            continue
        block[148:156] = b" " * 8
        block[148:156] = f"{sum(block):06o}\0 ".encode()
        data[offset : offset + BLOCK] = block


@FUZZ
@given(
    base=st.sampled_from([_BASE_CLASSIC, _BASE_OCI]),
    edits=st.lists(st.tuples(st.integers(0, 2**20), st.binary(min_size=1, max_size=12)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 2**20)),
    chunk=st.integers(1, 70_000),
)
@example(base=_BASE_CLASSIC, edits=[(124, b"\xff\xff\xff\xff")], cut=None, chunk=512)
def test_mutated_archives_with_valid_checksums_give_facts_or_an_error(
    base: bytes, edits: list[tuple[int, bytes]], cut: int | None, chunk: int
) -> None:
    # Byte edits anywhere (headers, sizes, nested layer headers, JSON), then checksums made right again,
    # so the reader gets past the first check and meets the broken structure behind it.
    data = bytearray(base)
    for offset, blob in edits:
        at = offset % len(data)
        data[at : at + len(blob)] = blob
    _fix_checksums(data)
    if cut is not None:
        del data[cut % len(data) :]
    with contextlib.suppress(DockauditError):
        read_image_stream(chunked(bytes(data), chunk))


@FUZZ
@given(st.lists(member(), max_size=8), st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT]), st.integers(1, 4096))
def test_any_layer_tar_scans_or_fails_cleanly(
    members: list[tuple[tarfile.TarInfo, bytes]], fmt: int, chunk: int
) -> None:
    data = tar_bytes(members, fmt)
    try:
        scan = scan_layer(ChunkSource(chunked(data, chunk)))
    except DockauditError:
        return
    # Every path is absolute and normalised, whatever the member name was (`../x`, `/x`, `./x`).
    assert all(e.path.startswith("/") and "/../" not in e.path + "/" for e in scan.entries)


def test_a_layer_claiming_a_huge_size_reads_in_bounded_memory() -> None:
    # A member whose size field says 64 GiB but whose data is missing: an error, without reading it in.
    info = tarfile.TarInfo("etc/passwd")
    info.size = 1
    header = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    header[124:136] = f"{64 * 1024**3:011o}\0".encode()
    _fix_checksums(header)
    data = bytes(header) + b"x" * 4096
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError):
            scan_layer(ChunkSource(chunked(data, 1024)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_a_huge_pax_sparse_file_is_named_by_its_real_name(tmp_path: Path) -> None:
    blobs = [layer_tar([]), sparse_layer_tar("app/huge.img", 100 * 1024**3)]
    archive = hostile_saved_image(blobs, {"architecture": "amd64", "os": "linux", "config": {}}, ["x/y:1"])
    saved = read_image_stream(iter([archive]))
    paths = {f.path for f in saved.filesystem.files}
    assert "/app/huge.img" in paths and not any("GNUSparseFile" in p for p in paths)


def test_gzip_of_garbage_is_an_error_not_a_crash() -> None:
    for data in (gzip.compress(b"\0" * 100), b"\x1f\x8b" + b"\xff" * 600, gzip.compress(b"not a tar" * 100)[:-8]):
        with pytest.raises(DockauditError):
            read_image_stream(iter([data]))


def test_empty_and_tiny_inputs_are_errors() -> None:
    for data in (b"", b"\0" * 10, b"\0" * 1024, io.BytesIO(b"x" * 511).getvalue()):
        with pytest.raises(DockauditError):
            read_image_stream(iter([data]))
