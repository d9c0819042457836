"""A forward-only tar reader over byte chunks that skips file data without copying it.

`tarfile`'s stream mode copies every byte through several buffers, even the bytes it skips; nested
layer tars make that two levels deep. Here skipping drops whole chunks, so reading a saved image costs
little more than receiving it.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol

from dockaudit.errors import CancelledError, DockauditError

BLOCK = 512
_GZIP_READ = 256 * 1024
_GZIP_OUT = 1024 * 1024


class TarFormatError(DockauditError):
    """The bytes are not a tar archive (or it is truncated)."""

    exit_code = 3
    title = "Image archive error"


class Reader(Protocol):
    """What the tar parser needs from a byte source."""

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; fewer only at the end."""
        ...

    def skip(self, size: int) -> int:
        """Discard up to `size` bytes; returns how many were discarded."""
        ...


class ChunkSource:
    """Bytes from an iterable of chunks; `skip` drops whole chunks without copying them."""

    def __init__(self, chunks: Iterable[bytes], cancel: threading.Event | None = None) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._cancel = cancel
        self._buf = memoryview(b"")

    def _fill(self) -> bool:
        if self._cancel is not None and self._cancel.is_set():
            raise CancelledError("reading the image layers was cancelled")
        for chunk in self._chunks:
            if chunk:
                self._buf = memoryview(chunk)
                return True
        return False

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; fewer only at the end of the stream."""
        if len(self._buf) >= size:
            out, self._buf = self._buf[:size], self._buf[size:]
            return bytes(out)
        parts: list[bytes] = []
        need = size
        while need > 0:
            if not self._buf and not self._fill():
                break
            piece, self._buf = self._buf[:need], self._buf[need:]
            parts.append(bytes(piece))
            need -= len(piece)
        return b"".join(parts)

    def skip(self, size: int) -> int:
        """Discard up to `size` bytes."""
        done = 0
        while done < size:
            if not self._buf and not self._fill():
                break
            step = min(size - done, len(self._buf))
            self._buf = self._buf[step:]
            done += step
        return done

    def drain(self) -> None:
        """Consume the rest, so the HTTP connection ends cleanly."""
        self._buf = memoryview(b"")
        while self._fill():
            self._buf = memoryview(b"")


class Limited:
    """The next `size` bytes of another reader: one tar member's data."""

    def __init__(self, parent: Reader, size: int) -> None:
        self._parent = parent
        self.remaining = size

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of the member."""
        data = self._parent.read(min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def skip(self, size: int) -> int:
        """Discard up to `size` bytes of the member."""
        done = self._parent.skip(min(size, self.remaining))
        self.remaining -= done
        return done

    def finish(self) -> None:
        """Skip whatever of the member was not read."""
        if self.remaining:
            if self._parent.skip(self.remaining) != self.remaining:
                raise TarFormatError("the archive ends in the middle of a member")
            self.remaining = 0


def gunzip(head: bytes, rest: Reader) -> ChunkSource:
    """A reader of the decompressed bytes of a gzip stream whose first bytes were already read."""

    def chunks() -> Iterator[bytes]:
        inflater = zlib.decompressobj(wbits=31)
        data = head
        while True:
            if not data:
                data = rest.read(_GZIP_READ)
                if not data:
                    return
            try:
                out = inflater.decompress(data, _GZIP_OUT)
                while out:
                    yield out
                    out = inflater.decompress(inflater.unconsumed_tail, _GZIP_OUT)
            except zlib.error as exc:
                raise TarFormatError(f"a gzip layer is corrupt: {exc}") from exc
            if inflater.eof:
                return
            data = b""

    return ChunkSource(chunks())


class Header(NamedTuple):
    """One tar member's header, pax and GNU long names already applied."""

    name: str
    type: bytes
    mode: int
    uid: int
    gid: int
    size: int
    linkname: str


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:
        # GNU base-256 for values too large for octal; 0xff marks a negative number.
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * (len(field) - 1))) if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError as exc:
        raise TarFormatError(f"not a tar header (bad number {text!r})") from exc


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "replace")


def _checksum_ok(block: bytes) -> bool:
    stored = _number(block[148:156])
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32
    return stored == unsigned


def _pax(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        if length <= 0:
            break
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        pos += length
    return records


def _pax_number(pax: dict[str, str], key: str, default: int) -> int:
    """A numeric pax record (`uid`, `gid`, `size`), or the header's value when there is none."""
    if key not in pax:
        return default
    try:
        value = int(pax[key])
    except ValueError as exc:
        raise TarFormatError(f"not a tar header (bad pax {key} {pax[key][:20]!r})") from exc
    if value < 0:
        raise TarFormatError(f"not a tar header (negative pax {key})")
    return value


def _padding(size: int) -> int:
    return -size % BLOCK


def iter_tar(src: Reader, first_block: bytes | None = None) -> Iterator[tuple[Header, Limited]]:
    """Members of a tar stream with a reader for each one's data; unread data is skipped afterwards."""
    global_pax: dict[str, str] = {}
    pending: dict[str, str] = {}
    long_name: str | None = None
    long_link: str | None = None
    block = first_block if first_block is not None else src.read(BLOCK)
    while True:
        if len(block) < BLOCK:
            if not block:
                return
            raise TarFormatError("the archive ends in the middle of a header")
        if block.count(0) == BLOCK:
            return
        if not _checksum_ok(block):
            raise TarFormatError("not a tar archive (header checksum mismatch)")
        kind = block[156:157]
        size = _number(block[124:136])
        if size < 0:
            raise TarFormatError("not a tar header (negative size)")
        if kind in (b"x", b"g", b"L", b"K"):
            data = src.read(size)
            src.skip(_padding(size))
            if len(data) < size:
                raise TarFormatError("the archive ends in the middle of a header")
            if kind == b"x":
                pending.update(_pax(data))
            elif kind == b"g":
                global_pax.update(_pax(data))
            elif kind == b"L":
                long_name = data.split(b"\0", 1)[0].decode("utf-8", "replace")
            else:
                long_link = data.split(b"\0", 1)[0].decode("utf-8", "replace")
            block = src.read(BLOCK)
            continue
        name = _text(block[0:100])
        if block[257:263] == b"ustar\x00":
            prefix = _text(block[345:500])
            if prefix:
                name = f"{prefix}/{name}"
        pax = {**global_pax, **pending} if global_pax else pending
        header = Header(
            # GNU tar's pax sparse files keep their real name in GNU.sparse.name.
            name=pax.get("GNU.sparse.name") or pax.get("path") or long_name or name,
            type=kind,
            mode=_number(block[100:108]),
            uid=_pax_number(pax, "uid", _number(block[108:116])),
            gid=_pax_number(pax, "gid", _number(block[116:124])),
            size=_pax_number(pax, "size", size),
            linkname=pax.get("linkpath") or long_link or _text(block[157:257]),
        )
        pending, long_name, long_link = {}, None, None
        # Links, directories and devices carry no data whatever their size field says.
        data_size = header.size if kind in (b"0", b"\0", b"7", b"S") else 0
        member = Limited(src, data_size)
        yield header, member
        member.finish()
        src.skip(_padding(data_size))
        block = src.read(BLOCK)
