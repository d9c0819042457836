"""Hand-built reports covering every shape a writer must handle, with a fixed clock for golden files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from dockaudit.model import (
    DbStatus,
    EngineInfo,
    Finding,
    Fix,
    ImageRef,
    Location,
    Origin,
    Report,
    ScanError,
    Severity,
    Source,
    Status,
    Suppression,
    TargetKind,
    TargetResult,
    TrivyInfo,
    TwinEvidence,
    Vulnerability,
)

CLOCK = datetime(2026, 11, 28, 8, 0, 0, tzinfo=UTC)
XSS = "<script>document.documentElement.setAttribute('data-pwned','1')</script>"
XSS_IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">"


@dataclass(frozen=True)
class CatalogRule:
    """Rule metadata for golden files, fixed so rule-text edits elsewhere do not churn them."""

    id: str
    slug: str
    title: str
    severity: Severity
    section: str
    rationale: str
    references: tuple[str, ...] = ()


CATALOG: dict[str, CatalogRule] = {
    r.id: r
    for r in (
        CatalogRule(
            "DA101",
            "root-user",
            "Image runs as root",
            Severity.HIGH,
            "Run as non-root",
            "A process running as root in the container is root on the host if it escapes.",
            ("CIS 4.1", "DS-0002"),
        ),
        CatalogRule(
            "DA102",
            "no-healthcheck",
            "No HEALTHCHECK",
            Severity.MEDIUM,
            "HEALTHCHECK",
            "Without a healthcheck the orchestrator cannot tell a hung app from a working one.",
        ),
        CatalogRule(
            "DA103",
            "shell-form-command",
            "Shell-form command",
            Severity.MEDIUM,
            "STOPSIGNAL and PID 1",
            "Signals stop at the shell.",
        ),
        CatalogRule(
            "DA105",
            "secret-in-label",
            "Secret in a label",
            Severity.HIGH,
            "Never bake secrets in",
            "Labels are readable by anyone who can pull the image.",
        ),
        CatalogRule("DA106", "mutable-tag", "Mutable tag", Severity.MEDIUM, "Pin tags, never latest", "latest moves."),
        CatalogRule(
            "DA301",
            "setuid-binary",
            "setuid binary",
            Severity.MEDIUM,
            "Least privilege",
            "setuid binaries are privilege escalation paths.",
        ),
        CatalogRule(
            "DA404",
            "host-network",
            "Host network",
            Severity.HIGH,
            "Isolation",
            "The container shares the host's network stack.",
        ),
        CatalogRule(
            "DA410",
            "capabilities-not-dropped",
            "Capabilities not dropped",
            Severity.MEDIUM,
            "cap_drop: ALL",
            "Default capabilities are broader than most apps need.",
        ),
        CatalogRule("DA420", "shell-pid1", "Shell is PID 1", Severity.MEDIUM, "PID 1", "Signals stop at the shell."),
        CatalogRule(
            "DA504", "no-live-restore", "Live restore off", Severity.LOW, "Daemon", "Restarts kill containers."
        ),
        CatalogRule(
            "DA601",
            "no-dockerignore",
            "No .dockerignore",
            Severity.MEDIUM,
            ".dockerignore",
            "The whole context is sent to the builder.",
        ),
        CatalogRule(
            "DA606",
            "no-user-instruction",
            "No USER instruction",
            Severity.HIGH,
            "Run as non-root",
            "The final stage runs as root.",
        ),
    )
}


def _checklist(rule_id: str, severity: Severity, evidence: str, **kwargs: object) -> Finding:
    meta = CATALOG[rule_id]
    base = Finding(
        rule_id=rule_id,
        slug=meta.slug,
        source=Source.CHECKLIST,
        severity=severity,
        status=Status.FAIL,
        title=meta.title,
        section=meta.section,
        evidence=evidence,
        references=meta.references,
    )
    return replace(base, **kwargs)  # type: ignore[arg-type]


def _vuln(cve: str, severity: Severity, package: str, installed: str, fixed: str | None, cvss: float | None) -> Finding:
    return Finding(
        rule_id=cve,
        slug=cve.lower(),
        source=Source.TRIVY_VULN,
        severity=severity,
        status=Status.FAIL,
        title=f"{package}: {cve}",
        section="Vulnerabilities",
        evidence=f"{package} {installed}",
        origin=Origin.BASE,
        fix=Fix(summary=f"upgrade {package} to {fixed}" if fixed else "no fixed version yet; change the base image"),
        vulnerability=Vulnerability(
            id=cve,
            package=package,
            installed=installed,
            fixed=fixed,
            cvss=cvss,
            url=f"https://avd.aquasec.com/nvd/{cve.lower()}",
            title=f"{package} flaw",
        ),
    )


def image_target() -> TargetResult:
    """An image with checklist findings (one planted with markup), vulns, a skip, a suppression and a diff."""
    findings = (
        _checklist(
            "DA101",
            Severity.HIGH,
            "Config.User is empty",
            fix=Fix(
                summary="Run as an unprivileged user",
                dockerfile="USER 65532:65532",
                run="docker run --user 65532:65532 ...",
            ),
        ),
        _checklist(
            "DA102",
            Severity.MEDIUM,
            "no Config.Healthcheck",
            origin=Origin.USER,
            fix=Fix(summary="Add a HEALTHCHECK", dockerfile='HEALTHCHECK CMD ["/app/health"]'),
        ),
        _checklist(
            "DA105",
            Severity.HIGH,
            f"label {XSS}=…(redacted, 12 chars)",
            location=Location(path=XSS_IMG),
            fix=Fix(summary="Remove the label | pass secrets at run time"),
        ),
        _checklist(
            "DA106",
            Severity.MEDIUM,
            "only tag is :latest",
            suppressed=Suppression(reason="internal dev image", by=".dockaudit.toml:4", expires="2027-01-31"),
        ),
        _checklist(
            "DA301",
            Severity.MEDIUM,
            "/usr/bin/passwd mode 4755",
            location=Location(layer=0, path="/usr/bin/passwd"),
            origin=Origin.BASE,
        ),
        _checklist("DA103", Severity.MEDIUM, "layers not read: --no-layers", status=Status.SKIPPED),
        _vuln("CVE-2024-0727", Severity.MEDIUM, "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", 5.5),
        _vuln("CVE-2023-9999", Severity.CRITICAL, "zlib1g", "1:1.2.13", None, 9.8),
    )
    return TargetResult(
        kind=TargetKind.IMAGE,
        engine="local",
        id="sha256:" + "a" * 64,
        name="myapp:1.2.3",
        findings=findings,
        passed=("DA104", "DA107", "DA108"),
        image=ImageRef(id="sha256:" + "a" * 64, ref="myapp:1.2.3"),
        score=58,
        grade="D",
        scans={"checklist": "ok", "layers": "ok", "trivy": "ok"},
        hardened_dockerfile_diff=(
            "--- Dockerfile\n+++ Dockerfile.hardened\n@@ -1,3 +1,5 @@\n FROM debian:12-slim\n"
            '-CMD python app.py\n+USER 65532:65532\n+HEALTHCHECK CMD ["/app/health"]\n+CMD ["python", "app.py"]\n'
        ),
    )


def container_target() -> TargetResult:
    """A container on a second engine with runtime findings and a failed Trivy stage."""
    return TargetResult(
        kind=TargetKind.CONTAINER,
        engine="remote",
        id="c" * 64,
        name="web-1",
        findings=(
            _checklist(
                "DA404",
                Severity.HIGH,
                "NetworkMode is host",
                fix=Fix(summary="Use a bridge network", compose="network_mode: bridge", run="--network bridge"),
            ),
            _checklist("DA410", Severity.MEDIUM, "CapDrop is empty", fix=Fix(summary="Drop all", run="--cap-drop ALL")),
            _checklist("DA420", Severity.MEDIUM, "docker top failed: container is not running", status=Status.SKIPPED),
        ),
        passed=("DA401", "DA402"),
        image=ImageRef(id="sha256:" + "b" * 64, ref="nginx:1.27"),
        score=74,
        grade="C",
        scans={"checklist": "ok"},
        errors=(ScanError(stage="trivy", message="exit 1: context deadline exceeded"),),
    )


def dockerfile_target() -> TargetResult:
    """A Dockerfile with line numbers."""
    return TargetResult(
        kind=TargetKind.DOCKERFILE,
        engine=None,
        id="app/Dockerfile",
        name="app/Dockerfile",
        findings=(
            _checklist(
                "DA606",
                Severity.HIGH,
                "no USER in the final stage",
                location=Location(line=7),
                fix=Fix(summary="Add a USER", dockerfile="USER 10001"),
                # Merged with its image twin, and joined with the image built from it (scanned in the same run).
                also=("DA101",),
                twin_evidence=(TwinEvidence("DA101", "Config.User is empty", Location(), "myapp:1.2.3"),),
            ),
            _checklist(
                "DA601", Severity.MEDIUM, "app has no .dockerignore", location=Location(path="app"), also=("DA602",)
            ),
        ),
        passed=("DA603",),
        score=80,
        grade="B",
        scans={"checklist": "ok"},
    )


def host_target() -> TargetResult:
    """The daemon checks of the local engine."""
    return TargetResult(
        kind=TargetKind.HOST,
        engine="local",
        id="local",
        name="unix:///var/run/docker.sock",
        findings=(_checklist("DA504", Severity.LOW, "LiveRestoreEnabled is false"),),
        passed=("DA502", "DA503"),
        score=97,
        grade="A",
        scans={"checklist": "ok"},
    )


def clean_target() -> TargetResult:
    """An image with nothing to report."""
    return TargetResult(
        kind=TargetKind.IMAGE,
        engine="local",
        id="sha256:" + "d" * 64,
        name="good:1.0",
        passed=("DA101", "DA102", "DA103"),
        scans={"checklist": "ok", "layers": "ok", "trivy": "skipped"},
    )


def sample_report() -> Report:
    """Two engines, every target kind but archives, an engine error, Trivy info."""
    return Report(
        tool_version="0.1.0",
        generated_at=CLOCK,
        engines=(
            EngineInfo(
                id="local",
                endpoint="unix:///var/run/docker.sock",
                context="default",
                server_version="20.10.24",
                api_version="1.41",
            ),
            EngineInfo(id="remote", endpoint="ssh://ops@10.0.0.5", server_version="27.3.1", api_version="1.47"),
            EngineInfo(id="down", endpoint="tcp://10.0.0.9:2376"),
        ),
        targets=(container_target(), image_target(), dockerfile_target(), host_target(), clean_target()),
        trivy=TrivyInfo(
            version="0.76.0", db=DbStatus(status="ok", updated_at=datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
        ),
        errors=(ScanError(stage="engine", message="engine down (tcp://10.0.0.9:2376): connection refused"),),
    )


def report_with(*targets: TargetResult, errors: tuple[ScanError, ...] = ()) -> Report:
    """A one-engine report over the given targets."""
    return Report(
        tool_version="0.1.0",
        generated_at=CLOCK,
        engines=(EngineInfo(id="local", endpoint="unix:///var/run/docker.sock"),),
        targets=targets,
        errors=errors,
    )
