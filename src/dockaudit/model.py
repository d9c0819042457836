"""The audit's vocabulary: severities, findings, fixes, targets and the report they make up."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from dockaudit.records import Record, record


class Severity(enum.IntEnum):
    """Ordered severity; comparisons follow risk (CRITICAL > INFO)."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """Lower-case name as used in reports and on the command line."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Severity from a name in any case; Trivy's UNKNOWN maps to INFO."""
        name = text.strip().upper()
        if name == "UNKNOWN":
            return cls.INFO
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}") from None


class Status(enum.StrEnum):
    """Outcome of one rule on one target; passes are recorded in `TargetResult.passed`."""

    FAIL = "fail"
    SKIPPED = "skipped"


class Origin(enum.StrEnum):
    """Whether the user's own layers or the base image caused a finding."""

    USER = "user"
    BASE = "base"
    UNKNOWN = "unknown"


class Source(enum.StrEnum):
    """Which engine produced a finding."""

    CHECKLIST = "checklist"
    TRIVY_VULN = "trivy-vuln"
    TRIVY_MISCONFIG = "trivy-misconfig"
    TRIVY_SECRET = "trivy-secret"
    TRIVY_LICENSE = "trivy-license"


class TargetKind(enum.StrEnum):
    """What was audited."""

    IMAGE = "image"
    CONTAINER = "container"
    HOST = "host"
    DOCKERFILE = "dockerfile"
    IMAGE_ARCHIVE = "image-archive"
    COMPOSE_SERVICE = "compose-service"


# Report ordering: targets by kind in this order, then name.
TARGET_KIND_ORDER: tuple[TargetKind, ...] = (
    TargetKind.HOST,
    TargetKind.IMAGE,
    TargetKind.IMAGE_ARCHIVE,
    TargetKind.CONTAINER,
    TargetKind.DOCKERFILE,
    TargetKind.COMPOSE_SERVICE,
)


@dataclass(frozen=True, repr=False, eq=False)
class Fix(Record):
    """A concrete remedy; each field is empty when it does not apply."""

    summary: str
    dockerfile: str = ""
    compose: str = ""
    run: str = ""


@dataclass(frozen=True, repr=False, eq=False)
class Location(Record):
    """Where the evidence was seen; every field is optional."""

    layer: int | None = None
    path: str | None = None
    instruction: str | None = None
    line: int | None = None


@record
class Suppression(Record):
    """An ignore entry that matched a finding."""

    reason: str
    by: str
    expires: str | None = None


@record
class Vulnerability(Record):
    """Trivy vulnerability details carried by a `trivy-vuln` finding."""

    id: str
    package: str
    installed: str
    fixed: str | None
    cvss: float | None = None
    url: str | None = None
    title: str = ""
    status: str = ""
    layer: str | None = None
    from_base: bool | None = None
    package_path: str | None = None


@record
class TwinEvidence(Record):
    """What the twin rule of a merged finding saw: its id, evidence and location, and on which target."""

    rule_id: str
    evidence: str
    location: Location = field(default_factory=Location)
    target: str | None = None
    """The other target's name when an image and its Dockerfile were scanned together; None for the same target."""


@dataclass(frozen=True, repr=False, eq=False)
class Finding(Record):
    """One failed or skipped check on one target. All text is already redacted."""

    rule_id: str
    slug: str
    source: Source
    severity: Severity
    status: Status
    title: str
    section: str
    evidence: str
    origin: Origin = Origin.UNKNOWN
    location: Location = field(default_factory=Location)
    fix: Fix | None = None
    references: tuple[str, ...] = ()
    suppressed: Suppression | None = None
    vulnerability: Vulnerability | None = None
    also: tuple[str, ...] = ()
    """Ids of other rules that see the same flaw, reported once through this finding (`DA606` also `DA101`);
    ignores, gates and disabled rules match them too."""
    twin_evidence: tuple[TwinEvidence, ...] = ()
    """The twins' own evidence, when it adds something (another target's view of the same flaw)."""

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """This finding's id and its twins', for ignores, gates and disabled rules."""
        return (self.rule_id, *self.also)

    def sort_key(self) -> tuple[int, str, str, int, str]:
        """Report order: severity (worst first), rule id, then location."""
        loc = self.location
        return (
            -int(self.severity),
            self.rule_id,
            loc.path or loc.instruction or "",
            loc.line if loc.line is not None else (loc.layer if loc.layer is not None else -1),
            self.evidence,
        )

    @property
    def counts(self) -> bool:
        """Whether this finding counts toward `--fail-on` and the score."""
        return self.status is Status.FAIL and self.suppressed is None


GONE_STAGE = "gone"
"""The `ScanError` stage of a target the engine listed and then no longer had (removed while the audit ran): it is
reported as skipped, not a failure of the tool."""

INPUT_STAGE = "input"
"""The `ScanError` stage of a target whose own file is invalid (a Dockerfile BuildKit rejects, a broken tarball):
bad input, exit 2, not a tool failure."""


@record
class ScanError(Record):
    """A stage of a target's audit that failed; the other stages still report."""

    stage: str
    message: str


@record
class EngineInfo(Record):
    """The engine a target was read from."""

    id: str
    endpoint: str
    context: str | None = None
    server_version: str | None = None
    api_version: str | None = None
    rootless: bool = False
    podman: bool = False

    @property
    def kind(self) -> str:
        """`Podman` or `Docker`: which engine answered, as doctor, the TUI header and reports name it."""
        return "Podman" if self.podman else "Docker"


@record
class ImageRef(Record):
    """The image a container runs (or an archive holds)."""

    id: str
    ref: str


@record
class TargetResult(Record):
    """Everything the audit found about one target."""

    kind: TargetKind
    engine: str | None
    id: str
    name: str
    findings: tuple[Finding, ...] = ()
    passed: tuple[str, ...] = ()
    image: ImageRef | None = None
    score: int = 100
    grade: str = "A"
    scans: dict[str, str] = field(default_factory=dict)
    errors: tuple[ScanError, ...] = ()
    hardened_dockerfile_diff: str | None = None
    services: tuple[str, ...] = ()
    """The Compose services (`project/service`) this image or Dockerfile was audited for (`scan --with-images`)."""

    @property
    def graded(self) -> bool:
        """Whether the grade means anything: not when the checklist could not run (nothing was checked)."""
        gone = any(e.stage == GONE_STAGE for e in self.errors)
        return not gone and not self.scans.get("checklist", "ok").startswith("failed")

    @property
    def gone(self) -> str | None:
        """Why nothing was audited when the target was removed while the audit ran; None otherwise."""
        return next((e.message for e in self.errors if e.stage == GONE_STAGE), None)

    @property
    def shown_grade(self) -> str:
        """The grade as people read it: `-` when nothing was checked (an A there would read as a pass)."""
        return self.grade if self.graded else "-"

    @property
    def shown_score(self) -> str:
        """The score as people read it: `-` when nothing was checked."""
        return str(self.score) if self.graded else "-"

    def summary(self) -> dict[str, int]:
        """Counts of counting findings per severity label."""
        counts = {sev.label: 0 for sev in sorted(Severity, reverse=True)}
        for finding in self.findings:
            if finding.counts:
                counts[finding.severity.label] += 1
        return counts

    def sort_key(self) -> tuple[int, str, str]:
        """Report order: kind, then name, then id."""
        return (TARGET_KIND_ORDER.index(self.kind), self.name, self.id)


@record
class DbStatus(Record):
    """Trivy vulnerability DB state as shown to users."""

    status: str  # ok | stale | missing | skipped | failed
    updated_at: datetime | None = None
    next_update: datetime | None = None
    schema: int | None = None
    message: str = ""


@record
class TrivyInfo(Record):
    """Which Trivy ran, and its DB."""

    version: str
    db: DbStatus


@record
class Report(Record):
    """One audit run over any number of targets and engines."""

    tool_version: str
    generated_at: datetime
    engines: tuple[EngineInfo, ...]
    targets: tuple[TargetResult, ...]
    trivy: TrivyInfo | None = None
    errors: tuple[ScanError, ...] = ()

    def sorted_targets(self) -> tuple[TargetResult, ...]:
        """Targets in the stable report order."""
        return tuple(sorted(self.targets, key=TargetResult.sort_key))
