"""Hypothesis strategies for saved-image archives: valid tar framing around hostile structure and fields."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=20)
)
JSON_ANY = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The well-typed value most of the time, anything JSON otherwise."""
    return st.one_of(value, value, value, JSON_ANY)


PAX_KEYS = (
    "path",
    "linkpath",
    "uid",
    "gid",
    "size",
    "mtime",
    "GNU.sparse.name",
    "GNU.sparse.realsize",
    "GNU.sparse.major",
    "SCHILY.xattr.security.capability",
    "uname",
)
MEMBER_NAMES = st.one_of(
    st.sampled_from(
        [
            "etc/passwd",
            "etc/shadow",
            "etc/group",
            "etc/os-release",
            "var/lib/dpkg/status",
            "lib/apk/db/installed",
            "root/.ssh/id_rsa",
            "app/.env",
            "app/key.pem",
            "a/.wh.b",
            "a/.wh..wh..opq",
            ".wh.etc",
            "./",
            "../../x",
            "/abs/x",
            "a//b/./c/..",
            "",
        ]
    ),
    st.text(st.characters(codec="utf-8"), max_size=30),
)


@st.composite
def member(draw: st.DrawFn) -> tuple[tarfile.TarInfo, bytes]:
    """One layer member with arbitrary type, mode, owner, link, pax records and (small) content."""
    name = draw(MEMBER_NAMES)
    info = tarfile.TarInfo(name)
    info.type = draw(st.sampled_from([b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"S", b"V", b"Z"]))
    info.mode = draw(st.integers(0, 0o7777))
    info.uid = draw(st.integers(0, 2**21 - 1))
    info.gid = draw(st.integers(0, 2**21 - 1))
    info.linkname = draw(st.one_of(st.just(""), MEMBER_NAMES))
    info.mtime = 1_700_000_000
    pax = draw(
        st.dictionaries(
            st.sampled_from(PAX_KEYS), st.one_of(st.text(max_size=12), st.integers(-5, 2**40).map(str)), max_size=3
        )
    )
    # tarfile refuses to write some of these itself; the raw records are what a hostile archive carries.
    info.pax_headers = pax
    data = draw(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                [
                    b"root:x:0:0:root:/root:/bin/sh\n",
                    b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n",
                    b"ID=alpine\nVERSION_ID=3.19\n",
                    b"Package: x\nStatus: install ok installed\nVersion: 1\n\n",
                ]
            ),
        )
    )
    info.size = len(data) if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE) else 0
    return info, data


def tar_bytes(members: Sequence[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """Members written with valid headers and checksums (members tarfile refuses are left out)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in members:
            try:
                tar.addfile(info, io.BytesIO(data) if info.size else None)
            except (ValueError, UnicodeError, tarfile.HeaderError):
                continue
    return buf.getvalue()


LAYERS = st.lists(member(), max_size=6).map(tar_bytes)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@st.composite
def config_doc(draw: st.DrawFn, diff_ids: list[str]) -> Any:
    """An image config whose fields are usually well-typed and sometimes anything."""
    env = _maybe(
        st.lists(st.one_of(st.text(max_size=20), st.sampled_from(["A=B", "=x", "X", "TOKEN=ghp_x"])), max_size=4)
    )
    config = draw(
        _maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "User": _maybe(st.text(max_size=8)),
                    "Env": env,
                    "Labels": _maybe(st.dictionaries(st.text(max_size=8), st.text(max_size=8))),
                    "Cmd": _maybe(st.lists(st.text(max_size=8), max_size=3)),
                    "Entrypoint": JSON_ANY,
                    "ExposedPorts": _maybe(
                        st.dictionaries(st.sampled_from(["22/tcp", "80", "x/y", "70000/udp"]), st.just({}))
                    ),
                    "Healthcheck": JSON_ANY,
                    "Volumes": JSON_ANY,
                    "WorkingDir": JSON_ANY,
                    "StopSignal": JSON_ANY,
                    "Shell": JSON_ANY,
                    "OnBuild": JSON_ANY,
                },
            )
        )
    )
    history = draw(
        _maybe(
            st.lists(
                _maybe(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "created_by": _maybe(st.text(max_size=40)),
                            "empty_layer": JSON_ANY,
                            "created": JSON_ANY,
                            "comment": JSON_ANY,
                        },
                    )
                ),
                max_size=5,
            )
        )
    )
    doc = draw(
        _maybe(
            st.fixed_dictionaries(
                {"rootfs": _maybe(st.just({"type": "layers", "diff_ids": diff_ids}))},
                optional={
                    "config": st.just(config),
                    "history": st.just(history),
                    "created": JSON_ANY,
                    "architecture": JSON_ANY,
                    "os": JSON_ANY,
                    "variant": JSON_ANY,
                    "author": JSON_ANY,
                },
            )
        )
    )
    return doc


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@st.composite
def saved_image(draw: st.DrawFn) -> bytes:
    """A classic or OCI archive: plausible layers and JSON documents, each of which may be malformed."""
    layers = draw(st.lists(LAYERS, min_size=0, max_size=3))
    diff_ids = [_digest(layer) for layer in layers]
    config = json.dumps(draw(config_doc(diff_ids))).encode()
    oci = draw(st.booleans())
    files: list[tuple[str, bytes]] = []
    if oci:
        gz = draw(st.booleans())
        blobs = [gzip.compress(layer, mtime=0) if gz else layer for layer in layers]
        manifest = draw(
            _maybe(
                st.just(
                    {
                        "schemaVersion": 2,
                        "config": {"digest": _digest(config)},
                        "layers": [{"digest": _digest(b)} for b in blobs],
                    }
                )
            )
        )
        manifest_blob = json.dumps(manifest).encode()
        descriptor = draw(
            _maybe(
                st.fixed_dictionaries(
                    {"digest": st.just(_digest(manifest_blob))},
                    optional={
                        "platform": _maybe(st.just({"os": "linux", "architecture": "amd64"})),
                        "annotations": _maybe(
                            st.dictionaries(
                                st.sampled_from(["io.containerd.image.name", "org.opencontainers.image.ref.name"]),
                                st.text(max_size=10),
                            )
                        ),
                    },
                )
            )
        )
        index = draw(
            _maybe(st.fixed_dictionaries({"schemaVersion": st.just(2), "manifests": _maybe(st.just([descriptor]))}))
        )
        for blob in [*blobs, config, manifest_blob]:
            files.append(("blobs/sha256/" + _digest(blob).split(":", 1)[1], blob))
        files.append(("index.json", json.dumps(index).encode()))
    else:
        names = [f"{i:02d}/layer.tar" for i in range(len(layers))]
        files += list(zip(names, layers, strict=True))
        files.append(("config.json", config))
        entry = draw(
            _maybe(
                st.fixed_dictionaries(
                    {
                        "Config": _maybe(st.just("config.json")),
                        "Layers": _maybe(st.just(names)),
                        "RepoTags": _maybe(st.lists(st.text(max_size=10), max_size=2)),
                    }
                )
            )
        )
        files.append(("manifest.json", json.dumps(draw(_maybe(st.just([entry])))).encode()))
    order = draw(st.permutations(files))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in order:
            _add(tar, name, data)
    return buf.getvalue()
