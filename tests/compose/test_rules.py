"""The Compose rules on the corpus: the rule ids each service must get and must not get, and why."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from dockaudit.config import Ignore, Settings, apply_config
from dockaudit.facts.compose import ComposeService, ServiceFacts
from dockaudit.facts.image import Healthcheck, ImageConfig, ImageFacts
from dockaudit.model import Severity, Status
from dockaudit.rules.compose import LIVE_ONLY, evaluate_service
from dockaudit.rules.registry import RULES, VARIANTS, RuleContext, Scope
from tests.compose.corpus import corpus, evaluate, failing

# Every service the corpus defines a definition can decide alone gets these unless it sets them.
DEFAULTS = {"DA409", "DA410", "DA412", "DA414", "DA415", "DA416", "DA419"}

# (project, service): (rule ids that must fail, rule ids that must not fail)
TABLE: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    ("webshop", "frontend"): (DEFAULTS | {"DA408", "DA427", "DA428"}, {"DA424", "DA701", "DA702", "DA703"}),
    ("webshop", "api"): (DEFAULTS | {"DA408", "DA427", "DA701", "DA702"}, {"DA423", "DA424", "DA428", "DA703"}),
    ("webshop", "db"): (DEFAULTS | {"DA702", "DA703"}, {"DA423", "DA424", "DA427", "DA701"}),
    ("webshop", "cache"): (DEFAULTS | {"DA703"}, {"DA417", "DA427", "DA702"}),
    ("monitoring", "prometheus"): (DEFAULTS - {"DA419"} | {"DA424", "DA427"}, {"DA408", "DA419", "DA428"}),
    ("monitoring", "grafana"): (DEFAULTS - {"DA419"} | {"DA427", "DA702"}, {"DA408", "DA419", "DA424"}),
    ("monitoring", "node-exporter"): (
        DEFAULTS - {"DA419"} | {"DA403", "DA404", "DA405", "DA408"},
        {"DA401", "DA402", "DA419", "DA427"},
    ),
    ("monitoring", "cadvisor"): (DEFAULTS | {"DA401", "DA402", "DA403", "DA408", "DA425"}, {"DA404", "DA405"}),
    ("wiki", "wiki"): (
        {"DA702"},
        DEFAULTS | {"DA408", "DA417", "DA423", "DA424", "DA427", "DA701", "DA703"},
    ),
    ("wiki", "db"): (DEFAULTS, {"DA417", "DA423", "DA702", "DA703"}),
    ("mailstack", "smtp"): (DEFAULTS | {"DA408"}, {"DA403", "DA427", "DA428"}),
    ("mailstack", "mailpit"): (DEFAULTS | {"DA408", "DA427"}, {"DA703"}),
    ("mailstack", "adminer"): (DEFAULTS | {"DA408", "DA427"}, {"DA703"}),
    ("include-demo", "app"): (DEFAULTS | {"DA408"}, {"DA427", "DA702", "DA703"}),
    ("include-demo", "mongo"): (DEFAULTS | {"DA702", "DA703"}, {"DA427", "DA424"}),
    ("hardened", "api"): (set(), set(RULES) - set(LIVE_ONLY)),
    ("hardened", "queue"): (set(), set(RULES) - set(LIVE_ONLY)),
    ("legacy", "backend"): (
        DEFAULTS | {"DA406", "DA407", "DA408", "DA411", "DA413", "DA424", "DA427", "DA428", "DA702"},
        {"DA401", "DA404", "DA405", "DA423", "DA703"},
    ),
    ("legacy", "worker"): (DEFAULTS | {"DA408", "DA424", "DA429"}, {"DA701", "DA702"}),
    ("overrides", "web"): (DEFAULTS | {"DA408", "DA427"}, {"DA424", "DA703"}),
    ("overrides", "cache"): (DEFAULTS | {"DA703"}, {"DA427", "DA424"}),
    ("selfhosted", "proxy"): (DEFAULTS | {"DA402", "DA408", "DA427", "DA428"}, {"DA403", "DA703"}),
    ("selfhosted", "git"): (
        {"DA414", "DA415", "DA416", "DA419", "DA701"},
        {"DA408", "DA409", "DA410", "DA412", "DA702"},
    ),
    ("selfhosted", "gitdb"): (DEFAULTS, {"DA427", "DA702", "DA703"}),
    ("selfhosted", "search"): (DEFAULTS - {"DA414"} | {"DA703"}, {"DA408", "DA414", "DA702"}),
    ("selfhosted", "queue"): (DEFAULTS | {"DA703"}, {"DA427"}),
    ("selfhosted", "vpn"): (DEFAULTS | {"DA408", "DA411", "DA425"}, {"DA401"}),
    ("selfhosted", "torrent"): (DEFAULTS, {"DA404", "DA702"}),
    ("selfhosted", "backup"): (DEFAULTS | {"DA408", "DA425", "DA429"}, {"DA431"}),
    ("telemetry", "ads"): ({"DA408", "DA409", "DA410", "DA412", "DA416", "DA427"}, {"DA414", "DA419", "DA424"}),
    ("telemetry", "collector"): (DEFAULTS - {"DA419"} | {"DA408", "DA427"}, {"DA419", "DA424", "DA703"}),
    ("telemetry", "sessions"): ({"DA409", "DA410", "DA412", "DA703"}, {"DA408", "DA414", "DA419", "DA427"}),
}


def test_the_table_covers_at_least_25_services_in_8_projects() -> None:
    assert len(TABLE) >= 25
    assert len({project for project, _ in TABLE}) >= 8
    for project in {p for p, _ in TABLE}:
        assert {s.name for s in corpus(project).services} == {s for p, s in TABLE if p == project}, project


@pytest.mark.parametrize(("project", "service"), sorted(TABLE), ids=[f"{p}/{s}" for p, s in sorted(TABLE)])
def test_service_gets_exactly_its_expected_findings(project: str, service: str) -> None:
    expected, absent = TABLE[(project, service)]
    findings, _ = evaluate(corpus(project), service)
    failed = failing(findings)
    assert expected <= failed, f"missing {sorted(expected - failed)}"
    assert not (absent & failed), f"unexpected {sorted(absent & failed)}"
    if not expected:
        assert failed == set()


def test_every_finding_points_at_a_compose_file_line() -> None:
    for project, service in TABLE:
        findings, _ = evaluate(corpus(project), service)
        for finding in findings:
            if finding.status is Status.FAIL:
                loc = finding.location
                assert loc.path and loc.line and loc.line >= 1, (project, service, finding.rule_id)


def test_live_only_rules_are_skipped_with_their_reason() -> None:
    findings, _ = evaluate(corpus("hardened"), "api")
    skipped = {f.rule_id: f.evidence for f in findings if f.status is Status.SKIPPED}
    assert skipped == dict(LIVE_ONLY)


def test_every_runtime_rule_is_either_decided_or_skipped_on_compose() -> None:
    runtime = {rid for rid, r in RULES.items() if r.scope is Scope.CONTAINER}
    assert runtime == {rid for rid, scope in VARIANTS if scope is Scope.COMPOSE}
    assert {rid for (rid, _), v in VARIANTS.items() if not v.decides} == set(LIVE_ONLY)


def test_compose_variants_keep_the_container_rules_ids_and_severities() -> None:
    findings, _ = evaluate(corpus("monitoring"), "cadvisor")
    privileged = next(f for f in findings if f.rule_id == "DA401")
    assert privileged.severity is Severity.CRITICAL and privileged.slug == "privileged"
    assert privileged.evidence == "privileged: true" and privileged.location.line == 46


def test_read_only_host_mount_is_medium_and_read_write_is_high() -> None:
    findings, _ = evaluate(corpus("monitoring"), "cadvisor")
    sys_mount = next(f for f in findings if f.rule_id == "DA403")
    assert sys_mount.severity is Severity.MEDIUM and "/sys" in sys_mount.evidence


def test_a_literal_secret_is_one_finding_naming_both_rules() -> None:
    findings, passed = evaluate(corpus("webshop"), "db")
    secret = [f for f in findings if f.rule_id in ("DA702", "DA423")]
    assert [f.rule_id for f in secret] == ["DA702"]
    assert secret[0].also == ("DA423",) and secret[0].location.line == 31
    assert "shop-db-pass-2024" not in secret[0].evidence and "redacted" in secret[0].evidence
    assert "DA423" not in passed


def test_an_ignore_written_for_the_folded_rule_still_matches() -> None:
    findings, _ = evaluate(corpus("webshop"), "db")
    settings = Settings(ignores=(Ignore(rule="DA423", reason="local demo only"),))
    applied = apply_config(findings, "webshop/db", settings, date(2026, 12, 1))
    secret = next(f for f in applied.findings if f.rule_id == "DA702")
    assert secret.suppressed is not None


def test_a_public_datastore_port_is_reported_once_as_high() -> None:
    findings, _ = evaluate(corpus("webshop"), "cache")
    ports = [f for f in findings if f.rule_id in ("DA703", "DA427")]
    assert [(f.rule_id, f.severity, f.also) for f in ports] == [("DA703", Severity.HIGH, ("DA427",))]


def test_env_file_secret_points_at_the_env_file_line() -> None:
    findings, _ = evaluate(corpus("wiki"), "wiki")
    (secret,) = [f for f in findings if f.rule_id == "DA702"]
    assert secret.location.path is not None and secret.location.path.endswith("app.env")
    assert secret.location.line == 3 and "9f8e7d6c" not in secret.evidence


def test_privilege_dropping_images_get_info_not_high() -> None:
    findings, _ = evaluate(corpus("webshop"), "db")
    (user,) = [f for f in findings if f.rule_id == "DA408"]
    assert user.severity is Severity.INFO and "drops to postgres" in user.evidence


def _service(project: str, name: str) -> ComposeService:
    svc = corpus(project).service(name)
    assert svc is not None
    return svc


def _image(**config: object) -> ImageFacts:
    return ImageFacts(
        id="sha256:" + "1" * 64,
        repo_tags=("local/app:1.0",),
        repo_digests=(),
        size=1,
        created=None,
        architecture="amd64",
        os="linux",
        config=ImageConfig(**config),  # type: ignore[arg-type]
        history=(),
        layers=(),
    )


def _ids(facts: ServiceFacts) -> set[str]:
    findings, _ = evaluate_service(facts, RuleContext(Settings()))
    return failing(findings)


def test_a_local_image_decides_the_healthcheck_and_the_user() -> None:
    smtp = _service("mailstack", "smtp")
    with_check = _image(user="10001", healthcheck=Healthcheck(("CMD", "/probe")))
    assert not {"DA408", "DA417"} & _ids(ServiceFacts(smtp, with_check))
    without = _image(user="", healthcheck=None)
    assert {"DA408", "DA417"} <= _ids(ServiceFacts(smtp, without))
    disabled = _image(user="0:0", healthcheck=Healthcheck(("NONE",)))
    assert {"DA408", "DA417"} <= _ids(ServiceFacts(smtp, disabled))


def test_healthcheck_is_skipped_only_when_the_image_is_unknown() -> None:
    findings, _ = evaluate(corpus("mailstack"), "smtp")
    (health,) = [f for f in findings if f.rule_id == "DA417"]
    assert health.status is Status.SKIPPED and "not present locally" in health.evidence


def test_a_disabled_healthcheck_fails_without_image_facts() -> None:
    svc = dataclasses.replace(_service("mailstack", "smtp"), healthcheck=Healthcheck(("NONE",)))
    assert "DA417" in _ids(ServiceFacts(svc))


def test_explicit_root_user_fails_whatever_the_image() -> None:
    svc = dataclasses.replace(_service("hardened", "api"), user="0")
    assert "DA408" in _ids(ServiceFacts(svc, _image(user="10001")))


def test_each_no_new_privileges_spelling_passes_and_false_fails() -> None:
    base = _service("hardened", "api")
    for spelling in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true", "NO-NEW-PRIVILEGES:TRUE"):
        assert "DA412" not in _ids(ServiceFacts(dataclasses.replace(base, security_opt=(spelling,)))), spelling
    for spelling in ("no-new-privileges:false", "no-new-privileges=false", "label=disable"):
        assert "DA412" in _ids(ServiceFacts(dataclasses.replace(base, security_opt=(spelling,)))), spelling


def test_mutable_reference_passes_for_tags_digests_and_builds() -> None:
    base = _service("hardened", "queue")
    assert "DA424" not in _ids(ServiceFacts(base))
    assert "DA424" in _ids(ServiceFacts(dataclasses.replace(base, image="registry.example.com/team/queue")))
    assert "DA424" in _ids(ServiceFacts(dataclasses.replace(base, image="queue:latest")))
    built = _service("webshop", "api")
    assert "DA424" not in _ids(ServiceFacts(built))
