"""The forward-only tar reader: formats tarfile writes, long names, gzip, truncation, skipping."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from dockaudit.engine.tarstream import ChunkSource, TarFormatError, gunzip, iter_tar
from tests.fixtures.archives import chunked

LONG = "deep/" + "d" * 120 + "/" + "f" * 110


def make_tar(fmt: int, members: list[tuple[str, bytes]], **extra: object) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o4755
            for key, value in extra.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data))
        long_links = fmt != tarfile.USTAR_FORMAT
        link = tarfile.TarInfo("link-" + "l" * (110 if long_links else 10))
        link.type = tarfile.SYMTYPE
        link.linkname = "target-" + "t" * (110 if long_links else 10)
        tar.addfile(link)
    return buf.getvalue()


def read_all(data: bytes, chunk: int = 7) -> list[tuple[str, bytes, int, int, int, str]]:
    out = []
    for header, member in iter_tar(ChunkSource(chunked(data, chunk))):
        out.append((header.name, member.read(1 << 20), header.mode, header.uid, header.size, header.linkname))
    return out


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_reads_what_tarfile_writes(fmt: int) -> None:
    members = [("a.txt", b"hello"), ("dir/b.bin", bytes(range(256)) * 5)]
    if fmt != tarfile.USTAR_FORMAT:
        members.append((LONG, b"long name"))
    got = read_all(make_tar(fmt, members, uid=1000))
    assert [(n, d) for n, d, *_ in got[:-1]] == members
    assert all(mode == 0o4755 and uid == 1000 for _, _, mode, uid, _, _ in got[:-1])
    if fmt != tarfile.USTAR_FORMAT:
        assert got[-1][0].startswith("link-") and got[-1][5] == "target-" + "t" * 110


def test_ustar_prefix_is_joined() -> None:
    name = "p" * 90 + "/" + "n" * 90
    (entry, *_rest) = read_all(make_tar(tarfile.USTAR_FORMAT, [(name, b"x")]))
    assert entry[0] == name


def test_huge_uid_in_base_256() -> None:
    got = read_all(make_tar(tarfile.GNU_FORMAT, [("a", b"x")], uid=2**40))
    assert got[0][3] == 2**40


def test_unread_data_is_skipped_and_partial_reads_continue() -> None:
    data = make_tar(tarfile.PAX_FORMAT, [("a", b"A" * 3000), ("b", b"B" * 10)])
    names = []
    for header, member in iter_tar(ChunkSource(chunked(data, 100))):
        names.append(header.name)
        if header.name == "a":
            assert member.read(5) == b"AAAAA"
    assert names[:2] == ["a", "b"]


def test_gzip_stream_is_inflated() -> None:
    data = gzip.compress(make_tar(tarfile.PAX_FORMAT, [("z", b"zipped" * 1000)]))
    src = ChunkSource(chunked(data, 1000))
    head = src.read(10)
    (first, *_rest) = [(h.name, m.read(100)) for h, m in iter_tar(gunzip(head, src))]
    assert first == ("z", b"zipped" * 16 + b"zipp")


def test_truncated_archive_is_an_error() -> None:
    data = make_tar(tarfile.PAX_FORMAT, [("a", b"x" * 5000)])
    with pytest.raises(TarFormatError):
        read_all(data[:2048])


def test_garbage_is_an_error() -> None:
    with pytest.raises(TarFormatError):
        read_all(b"\x01" * 1024)


def test_empty_archive_has_no_members() -> None:
    assert read_all(bytes(1024)) == []
    assert read_all(b"") == []
