"""What a finished Trivy run means: ok, degraded (results may be incomplete), failed or skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dockaudit.model import Finding
from dockaudit.scanners.process import ProcessResult
from dockaudit.scanners.trivy_db import classify_db_error
from dockaudit.scanners.trivy_options import ImageSource, TrivyOptions
from dockaudit.scanners.trivy_parse import TrivyOutputError, parse_report
from dockaudit.secrets import redact_text

BENIGN_ERRORS = ("Falling back to embedded checks",)
"""ERROR lines that do not lose results: offline, Trivy uses the checks built into the binary."""


MISSING_CONFIG_RESULT = (
    "no misconfiguration result for the image config: Trivy could not read the image's build history "
    "(seen with legacy-builder images that have a HEALTHCHECK)"
)


@dataclass(frozen=True)
class TrivyScan:
    """The outcome of scanning one image."""

    status: str
    """`ok`, `degraded` (results may be incomplete), `failed` or `skipped`."""
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    db_error: bool = False
    """The failure is the vulnerability DB: an infrastructure error (exit 3), not the image's fault."""
    raw_schema_version: int | None = None
    cached: bool = False
    scanned_at: datetime | None = None

    @property
    def summary(self) -> str:
        """`ok`, `degraded: reason`, `failed: reason` or `skipped`, as the report's `scans.trivy` shows it."""
        return f"{self.status}: {self.reason}" if self.reason and self.status != "ok" else self.status


def _log_lines(stderr: str, level: str) -> list[str]:
    """Messages of Trivy log lines at `level` (`<time>\\tLEVEL\\t<message>\\t<fields>`), redacted."""
    found: list[str] = []
    for line in stderr.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[1].strip() == level:
            text = " ".join(p.strip() for p in parts[2:] if p.strip())
            found.append(redact_text(text)[0][:400])
    return found


def failure_reason(stderr: str, returncode: int) -> str:
    """One line on why Trivy failed: its last FATAL message, else its last stderr line."""
    fatal = _log_lines(stderr, "FATAL")
    if fatal:
        return f"Trivy failed: {fatal[-1]}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    tail = redact_text(lines[-1].strip())[0][:400] if lines else "no message"
    return f"Trivy exited with code {returncode}: {tail}"


def interpret(result: ProcessResult, source: ImageSource, options: TrivyOptions) -> TrivyScan:
    """Turn a finished Trivy process into a scan outcome (failed, degraded or ok)."""
    now = datetime.now(UTC)
    if result.cancelled:
        return TrivyScan("skipped", "cancelled", scanned_at=now)
    if result.timed_out:
        return TrivyScan(
            "failed",
            f"Trivy did not finish within {options.timeout:g} s and was stopped (raise --timeout for big images)",
            scanned_at=now,
        )
    cache_dir = options.resolved_cache_dir
    offline = options.offline or options.skip_db_update
    if result.returncode != 0:
        db = classify_db_error(result.stderr, result.returncode or 0, cache_dir, offline=offline)
        if db is not None:
            return TrivyScan("failed", db.message, db_error=True, scanned_at=now)
        return TrivyScan("failed", failure_reason(result.stderr, result.returncode or 0), scanned_at=now)
    try:
        report = parse_report(result.stdout, base_layers=source.base_layers)
    except TrivyOutputError as exc:
        return TrivyScan("failed", f"unreadable Trivy output: {exc}", scanned_at=now)
    errors = [f"Trivy error: {e}" for e in _log_lines(result.stderr, "ERROR") if not any(b in e for b in BENIGN_ERRORS)]
    if "misconfig" in options.scanners and not report.image_config_checked:
        # Trivy caches its per-image analysis, so the ERROR that explains this only shows on the first run.
        errors.append(MISSING_CONFIG_RESULT)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        reason = f"results may be incomplete: {errors[0]}{more}"
        return TrivyScan("degraded", reason, report.findings, raw_schema_version=report.schema_version, scanned_at=now)
    return TrivyScan("ok", "", report.findings, raw_schema_version=report.schema_version, scanned_at=now)
