"""What to scan and how: the options of a Trivy run and the image source it reads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dockaudit.records import Record, record

ALL_SCANNERS = ("vuln", "misconfig", "secret")
"""The default scanners; `license` may be added (Trivy's license scanner, off by default)."""

OFFLINE_FLAGS = (
    "--skip-db-update",
    "--skip-java-db-update",
    "--skip-check-update",
    "--offline-scan",
    # --offline-scan alone still calls check.trivy.dev; these two stop that request.
    "--skip-version-check",
    "--disable-telemetry",
)


@record
class TrivyOptions(Record):
    """How Trivy runs; the defaults suit an online workstation."""

    cache_dir: Path | None = None
    """Trivy's cache (DB and layer cache); None: `TRIVY_CACHE_DIR` or Trivy's default."""
    db_repository: str | None = None
    """A DB mirror (OCI reference) for air-gapped sites."""
    offline: bool = False
    """Never touch the network (implies skipping every update)."""
    timeout: float = 600.0
    """Seconds before the scan's whole process group is killed."""
    scanners: tuple[str, ...] = ALL_SCANNERS
    skip_db_update: bool = False
    db_max_age_days: int = 7
    """Warn (DbStatus `stale`) when the DB is at least this old."""
    layer_cache: bool = True
    """Use Trivy's on-disk layer cache (`fanal/`). Trivy locks it for a whole run, so parallel scans turn it off."""

    @property
    def resolved_cache_dir(self) -> Path:
        """The cache dir Trivy will use."""
        if self.cache_dir is not None:
            return self.cache_dir
        from dockaudit.scanners.trivy_db import default_cache_dir

        return default_cache_dir()

    def cache_fingerprint(self) -> str:
        """A digest of the options that change results (part of the result-cache key)."""
        material = json.dumps({"scanners": sorted(self.scanners), "argv": list(self.scan_flags())})
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def scan_flags(self) -> tuple[str, ...]:
        """Flags that select what is scanned (not where results or caches go)."""
        flags: list[str] = ["--scanners", ",".join(self.scanners)]
        config = [s for s in ("misconfig", "secret") if s in self.scanners]
        if config:
            # Image config checks (the Dockerfile rebuilt from history, ENV secrets) are opt-in in Trivy.
            flags += ["--image-config-scanners", ",".join(config)]
        return tuple(flags)


@record
class ImageSource(Record):
    """An image to scan: on a local engine (`docker_host`), or exported to a tarball (`archive`)."""

    ref: str
    image_id: str
    docker_host: str | None = None
    """unix:// URL of a local engine Trivy can read directly; None for remote engines."""
    archive: Path | None = None
    """A saved image tarball to scan with `--input`."""
    podman: bool = False
    base_layers: frozenset[str] | None = None
    """Diff IDs of the base image's layers, when known: findings in them are marked as from the base."""
