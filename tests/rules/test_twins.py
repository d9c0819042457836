"""One finding per flaw: image rules and their Dockerfile twins are reported once, and either id still matches."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dockaudit.audit import AuditSession
from dockaudit.audit_options import AuditOptions
from dockaudit.config import Ignore, Settings, apply_config
from dockaudit.model import Finding, Location, Severity, Source, Status, TargetKind, TargetResult
from dockaudit.rules.twins import attach_twin_evidence, merge_twins
from dockaudit.score import score
from dockaudit.targets import ResolvedTarget

# A Flask app the way many public repositories ship it (several seen on GitHub): the whole context is
# copied, a secret is baked into ENV, no USER, no HEALTHCHECK, and a shell-form CMD.
FLASK_APP = """\
FROM python:3.12-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -r requirements.txt
ENV FLASK_SECRET_KEY=f1a5k-s3cr3t-k3y-2024
EXPOSE 5000
CMD python app.py
"""


def _audit(tmp_path: Path, dockerfile: str, settings: Settings | None = None) -> TargetResult:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "app.py").write_text("print('hi')\n")
    options = AuditOptions(settings=settings or Settings(), scanners=frozenset({"checklist"}), harden=False)
    return AuditSession(None, options).audit(ResolvedTarget(TargetKind.DOCKERFILE, str(tmp_path)))


def _fails(result: TargetResult) -> dict[str, Finding]:
    return {f.rule_id: f for f in result.findings if f.status is Status.FAIL}


def test_dockerfile_scan_reports_each_twin_pair_once_under_the_dockerfile_id(tmp_path: Path) -> None:
    result = _audit(tmp_path, FLASK_APP)
    found = _fails(result)
    assert not {"DA101", "DA102", "DA103", "DA104"} & set(found)
    assert found["DA606"].also == ("DA101",)
    assert found["DA608"].also == ("DA102",)
    assert found["DA607"].also == ("DA103",) and found["DA607"].location.line == 7
    assert found["DA605"].also == ("DA104",) and found["DA605"].location.line == 5
    assert found["DA601"].also == ("DA602",)
    assert not any(f.rule_id == "DA602" for f in result.findings)
    assert not {"DA101", "DA102", "DA103", "DA104", "DA602"} & set(result.passed)


def test_the_grade_falls_once_for_one_flaw(tmp_path: Path) -> None:
    result = _audit(tmp_path, FLASK_APP)
    assert (result.score, result.grade) == score(result.findings)
    highs = [f for f in result.findings if f.counts and f.severity is Severity.HIGH]
    assert [f.rule_id for f in highs] == ["DA606"]


def test_an_ignore_written_for_the_image_id_suppresses_the_merged_finding(tmp_path: Path) -> None:
    settings = Settings(ignores=(Ignore("DA101", "runs as root by design: a build tool image"),))
    found = _fails(_audit(tmp_path, FLASK_APP, settings))
    assert found["DA606"].suppressed is not None
    assert found["DA606"].suppressed.reason == "runs as root by design: a build tool image"


def test_disabling_either_id_drops_the_merged_finding_and_overrides_match_either_id(tmp_path: Path) -> None:
    settings = Settings(disabled_rules=frozenset({"DA102"}), severity_overrides={"DA104": Severity.LOW})
    found = _fails(_audit(tmp_path, FLASK_APP, settings))
    assert "DA608" not in found
    assert found["DA605"].severity is Severity.LOW


def test_own_id_override_wins_over_the_twins() -> None:
    finding = _finding("DA606", Severity.HIGH, also=("DA101",))
    settings = Settings(severity_overrides={"DA606": Severity.MEDIUM, "DA101": Severity.INFO})
    (applied,) = apply_config([finding], "Dockerfile", settings, date(2026, 1, 1)).findings
    assert applied.severity is Severity.MEDIUM


def _finding(rule_id: str, severity: Severity, evidence: str = "", line: int | None = None, **kw: object) -> Finding:
    base = Finding(rule_id, rule_id.lower(), Source.CHECKLIST, severity, Status.FAIL, rule_id, "", evidence)
    return Finding(**{**base.__dict__, "location": Location(line=line), **kw})  # type: ignore[arg-type]


def test_twins_on_different_lines_are_different_flaws() -> None:
    # ENV TOKEN on line 3 (both rules see it) and a credential-format value on line 9 only DA104 sees.
    findings = [
        _finding("DA605", Severity.CRITICAL, "ENV TOKEN=…", 3),
        _finding("DA104", Severity.CRITICAL, "ENV TOKEN=…", 3),
        _finding("DA104", Severity.CRITICAL, "ENV URL=…", 9),
    ]
    merged, passed = merge_twins(findings, ["DA605", "DA104", "DA103"])
    assert [(f.rule_id, f.location.line, f.also) for f in merged] == [
        ("DA605", 3, ("DA104",)),
        ("DA104", 9, ()),
    ]
    assert passed == ["DA103"]


def test_an_image_finding_without_a_failing_twin_stays() -> None:
    merged, _ = merge_twins([_finding("DA101", Severity.HIGH, "Config.User is empty")], ["DA606"])
    assert [(f.rule_id, f.also) for f in merged] == [("DA101", ())]


def test_image_and_dockerfile_scanned_together_carry_both_evidences() -> None:
    dockerfile = [_finding("DA606", Severity.HIGH, "no USER in the final stage", 1, also=("DA101",))]
    image = [
        _finding("DA101", Severity.HIGH, "Config.User is empty"),
        _finding("DA104", Severity.CRITICAL, "ENV TOKEN=…"),
    ]
    (joined,) = attach_twin_evidence(dockerfile, image, "myapp:1.2.3")
    assert [(t.rule_id, t.evidence, t.target) for t in joined.twin_evidence] == [
        ("DA101", "Config.User is empty", "myapp:1.2.3")
    ]
    image_side = attach_twin_evidence(image, dockerfile, "app/Dockerfile")
    assert image_side[0].also == ("DA606",) and image_side[0].twin_evidence[0].location.line == 1
    assert image_side[1].twin_evidence == ()


def test_secret_twins_across_targets_match_by_variable_name() -> None:
    dockerfile = [
        _finding("DA605", Severity.CRITICAL, "ENV API_TOKEN=…(redacted, 9 chars)", 4),
        _finding("DA605", Severity.CRITICAL, "ENV DB_PASSWORD=…(redacted, 9 chars)", 5),
    ]
    image = [_finding("DA104", Severity.CRITICAL, "ENV DB_PASSWORD=…(redacted) (secret-like name)")]
    first, second = attach_twin_evidence(dockerfile, image, "myapp:1.2.3")
    assert first.twin_evidence == () and len(second.twin_evidence) == 1
