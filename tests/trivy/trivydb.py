"""A stdlib-only writer of a tiny Trivy vulnerability DB (bbolt file + metadata.json) for offline tests.

Format per ../shared/spec/trivy-offline-db.md: one leaf page per bucket (overflowing into consecutive pages
when large), small leaf-only buckets inlined into their parent as bbolt does, no branch pages.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Union

Tree = Mapping[str, Union[bytes, "Tree"]]

PAGE_SIZE = 4096
_MAGIC = 0xED0CDAED
_BBOLT_VERSION = 2
_FLAG_BRANCH_LEAF = 0x02
_FLAG_META = 0x04
_FLAG_FREELIST = 0x10
_BUCKET_LEAF_FLAG = 1
_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
_ELEM = struct.Struct("<IIII")  # flags, pos, ksize, vsize


def _fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _leaf(page_id: int, elements: list[tuple[int, bytes, bytes]]) -> bytes:
    n = len(elements)
    head = bytearray(_HEADER.pack(page_id, _FLAG_BRANCH_LEAF, n, 0))
    data = bytearray()
    for i, (flags, key, value) in enumerate(elements):
        # pos is measured from the element itself, not from the page start.
        pos = (16 + 16 * n + len(data)) - (16 + 16 * i)
        head += _ELEM.pack(flags, pos, len(key), len(value))
        data += key + value
    return bytes(head + data)


class _Writer:
    def __init__(self, page_size: int, inline: bool) -> None:
        self.page_size = page_size
        self.inline = inline
        self.pages: list[bytes] = []  # page images from id 3 on, in id order
        self.next_id = 3

    def _allocate(self, build: bytes) -> int:
        page_id = self.next_id
        count = -(-len(build) // self.page_size)
        image = bytearray(build)
        _HEADER.pack_into(image, 0, page_id, _FLAG_BRANCH_LEAF, _HEADER.unpack_from(build)[2], count - 1)
        image += b"\0" * (count * self.page_size - len(image))
        self.pages.append(bytes(image))
        self.next_id += count
        return page_id

    def bucket(self, tree: Tree, *, root: bool = False) -> bytes:
        """Emit a bucket post-order; return its value in the parent (or the root page id, packed)."""
        elements: list[tuple[int, bytes, bytes]] = []
        nested = False
        for key in sorted(tree, key=lambda k: k.encode()):
            value = tree[key]
            if isinstance(value, bytes):
                elements.append((0, key.encode(), value))
            else:
                nested = True
                elements.append((_BUCKET_LEAF_FLAG, key.encode(), self.bucket(value)))
        body = _leaf(0, elements)
        if self.inline and not root and not nested and len(body) <= self.page_size // 4:
            return struct.pack("<QQ", 0, 0) + body
        return struct.pack("<QQ", self._allocate(body), 0)


def write_bbolt(path: Path, tree: Tree, *, page_size: int = PAGE_SIZE, inline: bool = True) -> None:
    """Write `tree` (str keys; bytes values or nested mappings as buckets) as a bbolt file, atomically."""
    writer = _Writer(page_size, inline)
    root_id = struct.unpack("<Q", writer.bucket(tree, root=True)[:8])[0]
    hwm = writer.next_id
    out = bytearray()
    for txid in (0, 1):
        meta = struct.pack("<IIII QQ QQQ", _MAGIC, _BBOLT_VERSION, page_size, 0, root_id, 0, 2, hwm, txid)
        page = _HEADER.pack(txid, _FLAG_META, 0, 0) + meta + struct.pack("<Q", _fnv1a64(meta))
        out += page + b"\0" * (page_size - len(page))
    freelist = _HEADER.pack(2, _FLAG_FREELIST, 0, 0)
    out += freelist + b"\0" * (page_size - len(freelist))
    for image in writer.pages:
        out += image
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(out))
    os.replace(tmp, path)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_metadata(
    db_dir: Path,
    *,
    version: int = 2,
    updated_at: datetime | None = None,
    next_update: datetime | None = None,
    downloaded_at: datetime | None = None,
) -> None:
    """Write `metadata.json`; defaults: updated and downloaded now, next update in ten years."""
    now = datetime.now(UTC).replace(microsecond=0)
    meta = {
        "Version": version,
        "NextUpdate": _rfc3339(next_update or now + timedelta(days=3650)),
        "UpdatedAt": _rfc3339(updated_at or now),
        "DownloadedAt": _rfc3339(downloaded_at or now),
    }
    db_dir.mkdir(parents=True, exist_ok=True)
    (db_dir / "metadata.json").write_text(json.dumps(meta))


def _j(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


DATA_SOURCES: dict[str, dict[str, str]] = {
    "alpine 3.22": {"ID": "alpine", "Name": "Alpine Secdb", "URL": "https://secdb.alpinelinux.org/"},
    "debian 12": {
        "ID": "debian",
        "Name": "Debian Security Tracker",
        "URL": "https://salsa.debian.org/security-tracker-team/security-tracker",
    },
    "pip::GitHub Security Advisory pip": {
        "ID": "ghsa",
        "Name": "GitHub Security Advisory pip",
        "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Apip",
    },
}

# Advisories: bucket -> package key -> vulnerability id -> advisory.
ADVISORIES: dict[str, dict[str, dict[str, dict[str, object]]]] = {
    "alpine 3.22": {
        "busybox": {"CVE-2023-42363": {"FixedVersion": "1.36.1-r16"}},
        # Installed musl is newer than the fix: must not be reported.
        "musl": {"CVE-2025-26519": {"FixedVersion": "1.2.5-r9"}},
    },
    "debian 12": {
        "openssl": {"CVE-2024-0727": {"FixedVersion": "3.0.13-1~deb12u1", "VendorIDs": ["DSA-5678-1"]}},
        "zlib": {"CVE-2023-45853": {"Status": 5, "Severity": 1}},
    },
    "pip::GitHub Security Advisory pip": {
        "jinja2": {
            "CVE-2024-22195": {
                "VendorIDs": ["GHSA-h5c8-rqwp-cp95"],
                "VulnerableVersions": ["< 3.1.3"],
                "PatchedVersions": ["3.1.3"],
            },
            "CVE-2024-34064": {
                "VendorIDs": ["GHSA-h75v-3vvj-5mfj"],
                "VulnerableVersions": ["< 3.1.4"],
                "PatchedVersions": ["3.1.4"],
            },
        },
        "requests": {
            "CVE-2024-35195": {
                "VendorIDs": ["GHSA-9wx4-h78v-vm56"],
                "VulnerableVersions": ["< 2.32.0"],
                "PatchedVersions": ["2.32.0"],
            }
        },
    },
}

VULNERABILITIES: dict[str, dict[str, object]] = {
    "CVE-2023-42363": {
        "Title": "busybox: use-after-free in awk",
        "Description": "A use-after-free vulnerability was discovered in xasprintf function in xfuncs_printf.c.",
        "Severity": "MEDIUM",
        "VendorSeverity": {"nvd": 2},
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", "V3Score": 5.5}},
        "References": ["https://bugs.busybox.net/show_bug.cgi?id=15865"],
        "PublishedDate": "2023-11-27T22:15:07Z",
    },
    "CVE-2025-26519": {"Title": "musl: iconv out-of-bounds write", "Severity": "HIGH", "VendorSeverity": {"nvd": 3}},
    "CVE-2024-0727": {
        "Title": "openssl: denial of service via null dereference",
        "Description": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
        "Severity": "MEDIUM",
        "VendorSeverity": {"debian": 1, "nvd": 2},
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", "V3Score": 5.5}},
        "References": ["https://www.openssl.org/news/secadv/20240125.txt"],
        "PublishedDate": "2024-01-26T09:15:07Z",
    },
    "CVE-2023-45853": {
        "Title": "zlib: integer overflow in MiniZip",
        "Severity": "CRITICAL",
        "VendorSeverity": {"nvd": 4},
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": 9.8}},
    },
    "CVE-2024-22195": {
        "Title": "jinja2: HTML attribute injection when passing user input as keys to xmlattr filter",
        "Severity": "MEDIUM",
        "VendorSeverity": {"ghsa": 2, "nvd": 2},
        "CVSS": {
            "ghsa": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", "V3Score": 5.4},
            "nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", "V3Score": 6.1},
        },
    },
    "CVE-2024-34064": {
        "Title": "jinja2: accepts keys containing non-attribute characters",
        "Severity": "MEDIUM",
        "VendorSeverity": {"ghsa": 2},
        "CVSS": {"ghsa": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", "V3Score": 5.4}},
    },
    "CVE-2024-35195": {
        "Title": "requests: cert verification skipped",
        "Severity": "MEDIUM",
        "VendorSeverity": {"ghsa": 2},
    },
}


def fixture_tree() -> dict[str, object]:
    """The logical DB used by the tests: advisories, data sources and the vulnerability bucket."""
    tree: dict[str, object] = {
        bucket: {pkg: {vid: _j(adv) for vid, adv in vulns.items()} for pkg, vulns in pkgs.items()}
        for bucket, pkgs in ADVISORIES.items()
    }
    tree["data-source"] = {name: _j(src) for name, src in DATA_SOURCES.items()}
    tree["vulnerability"] = {vid: _j(v) for vid, v in VULNERABILITIES.items()}
    return tree


def write_fixture_db(cache_dir: Path, **metadata: object) -> Path:
    """Write the fixture DB under `<cache_dir>/db/`; keyword arguments go to `write_metadata`."""
    db_dir = cache_dir / "db"
    write_bbolt(db_dir / "trivy.db", fixture_tree())  # type: ignore[arg-type]
    write_metadata(db_dir, **metadata)  # type: ignore[arg-type]
    return db_dir
