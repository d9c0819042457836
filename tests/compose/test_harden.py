"""Hardened Compose files: minimal edits that keep the rest byte for byte, accepted by Compose, findings gone."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from dockaudit.config import Settings
from dockaudit.facts.compose import ComposeProject, ServiceFacts
from dockaudit.harden import compose as harden_module
from dockaudit.harden.compose import ComposeHardening, harden_compose
from dockaudit.model import Severity, Status
from dockaudit.parse.compose import load_project
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.registry import RuleContext
from tests.compose.corpus import SHELL, copy_project, corpus

PROJECTS = [
    "telemetry",
    "webshop",
    "monitoring",
    "wiki",
    "mailstack",
    "include-demo",
    "hardened",
    "legacy",
    "overrides",
    "selfhosted",
]
SECRETS = ("shop-db-pass-2024", "mongo-root-pass-99", "insecure-default-123", "grafana-admin-7", "eyJhbGciOiJIUzI1NiJ9")


def _harden(project: ComposeProject) -> ComposeHardening:
    return harden_compose(project, environ=SHELL)


def _write(result: ComposeHardening) -> None:
    for file in result.files:
        Path(file.abs_path).write_text(file.hardened, encoding="utf-8")


def _harden_copy(name: str, tmp_path: Path) -> tuple[ComposeProject, ComposeHardening, ComposeProject]:
    """Harden a copy of a corpus project, write the result, and read the hardened project back."""
    root = copy_project(name, tmp_path)
    project = load_project([root], environ=SHELL)
    result = _harden(project)
    _write(result)
    return project, result, load_project([root], environ=SHELL)


def _failing(project: ComposeProject, service: str) -> set[str]:
    svc = project.service(service)
    assert svc is not None
    findings, _ = evaluate_service(ServiceFacts(svc), RuleContext(Settings()))
    return {f.rule_id for f in findings if f.status is Status.FAIL and f.severity > Severity.INFO}


@pytest.mark.parametrize("name", PROJECTS)
def test_hardened_project_passes_compose_config_and_its_targeted_findings_are_gone(name: str, tmp_path: Path) -> None:
    before, result, after = _harden_copy(name, tmp_path)
    assert result.validated
    assert not [n for n in result.notes if "withdrawn" in n]
    assert [s.name for s in after.services] == [s.name for s in before.services]
    for change in result.changes:
        assert change.rule_ids and all(r.startswith("DA") for r in change.rule_ids)
        assert not set(change.rule_ids) & _failing(after, change.service), change
    for svc in before.services:
        # Hardening never adds a finding.
        assert _failing(after, svc.name) <= _failing(before, svc.name), svc.name


@pytest.mark.parametrize("name", PROJECTS)
def test_hardening_a_hardened_project_changes_nothing(name: str, tmp_path: Path) -> None:
    _, _, after = _harden_copy(name, tmp_path)
    again = _harden(after)
    assert again.files == () and again.changes == ()


@pytest.mark.parametrize("name", PROJECTS)
def test_lines_hardening_does_not_touch_stay_byte_for_byte(name: str) -> None:
    result = _harden(corpus(name))
    for file in result.files:
        before = file.original.split("\n")
        after = file.hardened.split("\n")
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        removed = [
            line
            for tag, i1, i2, _, _ in matcher.get_opcodes()
            if tag in ("replace", "delete")
            for line in before[i1:i2]
        ]
        # Only flagged values are rewritten: never a comment, an anchor or a blank line.
        for line in removed:
            assert line.strip() and not line.lstrip().startswith("#") and "&" not in line and "*" not in line, line
        assert len(removed) <= len(result.changes)


def test_comments_anchors_and_aliases_survive() -> None:
    result = _harden(corpus("monitoring"))
    (file,) = result.files
    for kept in (
        "x-logging: &default-logging",
        "x-restart: &restart-policy",
        "<<: *restart-policy",
        "logging: *default-logging",
    ):
        assert file.hardened.count(kept) == file.original.count(kept), kept
    webshop = _harden(corpus("webshop")).files[0]
    assert webshop.hardened.startswith("# A small shop: a static frontend, an API built here, Postgres and Redis.\n")


def test_a_literal_secret_moves_to_a_compose_secret_the_image_reads(tmp_path: Path) -> None:
    _, result, after = _harden_copy("webshop", tmp_path)
    (moved,) = result.secrets
    assert (moved.service, moved.variable, moved.secret) == ("db", "POSTGRES_PASSWORD", "db_postgres_password")
    assert moved.file == "./secrets/db_postgres_password.txt" and moved.was.line == 31
    db = after.service("db")
    assert db is not None and db.secrets == ("db_postgres_password",)
    assert {e.name: e.value for e in db.environment}["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_postgres_password"
    assert "DA702" not in _failing(after, "db")
    note = next(n for n in result.notes if "write the value of POSTGRES_PASSWORD" in n)
    assert "./secrets/db_postgres_password.txt" in note
    # The API's own variable has no *_FILE twin it is known to read: it stays, with the reason.
    assert "DA702" in _failing(after, "api")
    assert any("DATABASE_PASSWORD stays" in n for n in result.notes)


@pytest.mark.parametrize("name", ["webshop", "legacy", "include-demo", "monitoring"])
def test_the_diff_never_shows_a_secret_value(name: str) -> None:
    result = _harden(corpus(name))
    text = result.diff()
    assert text
    for secret in SECRETS:
        assert secret not in text
    for moved in result.secrets:
        assert moved.variable + "_FILE" in text


def test_datastore_ports_are_bound_to_loopback_where_they_are_written(tmp_path: Path) -> None:
    _, result, after = _harden_copy("overrides", tmp_path)
    port_changes = [c for c in result.changes if "DA703" in c.rule_ids]
    assert [Path(c.path).name for c in port_changes] == ["compose.override.yaml"]
    cache = after.service("cache")
    assert cache is not None and [p.host_ip for p in cache.ports] == ["127.0.0.1"]
    _, _, shop = _harden_copy("webshop", tmp_path / "shop")
    for service in ("db", "cache"):
        svc = shop.service(service)
        assert svc is not None and {p.host_ip for p in svc.ports} == {"127.0.0.1"}, service
    _, included, demo = _harden_copy("include-demo", tmp_path / "inc")
    assert any(Path(c.path).as_posix().endswith("db/compose.yaml") and "DA703" in c.rule_ids for c in included.changes)
    mongo = demo.service("mongo")
    assert mongo is not None and mongo.ports[0].host_ip == "127.0.0.1"


def test_depends_on_waits_for_dependencies_with_a_healthcheck(tmp_path: Path) -> None:
    _, _, shop = _harden_copy("webshop", tmp_path)
    api = shop.service("api")
    assert api is not None and {(d.service, d.condition) for d in api.depends_on} == {
        ("db", "service_healthy"),
        ("cache", "service_healthy"),
    }
    frontend = shop.service("frontend")
    assert frontend is not None and [(d.service, d.condition) for d in frontend.depends_on] == [
        ("api", "service_started")
    ]
    _, _, selfhosted = _harden_copy("selfhosted", tmp_path / "sh")
    git = selfhosted.service("git")
    assert git is not None and [(d.service, d.condition) for d in git.depends_on] == [("gitdb", "service_healthy")]
    text = (tmp_path / "sh" / "selfhosted" / "compose.yaml").read_text()
    assert "restart: true" in text


def test_images_that_drop_privileges_keep_root_and_get_the_capabilities_they_need(tmp_path: Path) -> None:
    _, result, shop = _harden_copy("webshop", tmp_path)
    db = shop.service("db")
    assert db is not None and db.user is None
    assert db.cap_drop == ("ALL",) and set(db.cap_add) == {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}
    assert db.read_only and "/var/run/postgresql" in db.tmpfs
    assert not any(c.service == "db" and "DA408" in c.rule_ids for c in result.changes)


def test_unknown_images_get_advice_instead_of_risky_edits(tmp_path: Path) -> None:
    _, result, legacy = _harden_copy("legacy", tmp_path)
    worker = legacy.service("worker")
    assert worker is not None
    assert worker.user is None and not worker.read_only and worker.cap_drop == ()
    notes = [n for n in result.notes if n.startswith("worker:")]
    for rule_id in ("DA408", "DA409", "DA410"):
        assert any(f"({rule_id})" in n for n in notes), rule_id
    backend = legacy.service("backend")
    assert backend is not None and backend.user == "root" and backend.ipc == "host"
    assert any("user: root is set explicitly" in n for n in result.notes)


def test_no_new_privileges_false_is_turned_true_in_place(tmp_path: Path) -> None:
    _, _, legacy = _harden_copy("legacy", tmp_path)
    backend = legacy.service("backend")
    assert backend is not None and backend.security_opt == ("seccomp:unconfined", "no-new-privileges:true")


def test_logging_none_and_default_become_rotated_json_file(tmp_path: Path) -> None:
    _, _, monitoring = _harden_copy("monitoring", tmp_path)
    cadvisor = monitoring.service("cadvisor")
    assert cadvisor is not None and cadvisor.logging_driver == "json-file"
    assert dict(cadvisor.logging_options) == {"max-size": "10m", "max-file": "3"}
    exporter = monitoring.service("node-exporter")
    assert exporter is not None and dict(exporter.logging_options) == {"max-size": "20m", "max-file": "5"}


def test_thread_heavy_images_get_no_default_limits(tmp_path: Path) -> None:
    _, result, selfhosted = _harden_copy("selfhosted", tmp_path)
    search = selfhosted.service("search")
    assert search is not None and search.pids_limit is None
    assert any(n.startswith("search:") and "size it to the workload" in n for n in result.notes)


def test_flow_style_lists_get_their_items_inside_the_brackets(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  cache:\n    image: redis:7.2\n    security_opt: [label=disable]\n    cap_drop: [NET_RAW]\n"
        "    logging: {driver: json-file}\n"
    )
    project = load_project([compose], environ=SHELL)
    result = _harden(project)
    assert result.validated
    hardened = result.files[0].hardened
    assert '    security_opt: [label=disable, "no-new-privileges:true"]\n' in hardened
    assert "    cap_drop: [NET_RAW, ALL]\n" in hardened


def test_a_service_that_is_an_anchor_for_others_is_left_alone(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web: &web\n    image: shop/web:1.0\n  web-canary:\n    <<: *web\n    image: shop/web:1.1\n"
    )
    result = _harden(load_project([compose], environ=SHELL))
    assert not any(c.service == "web" for c in result.changes)
    assert any(n.startswith("web:") and "anchor other services reuse" in n for n in result.notes)


def test_files_compose_would_reject_are_withdrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the renderer produces text Compose cannot parse.
    monkeypatch.setattr(harden_module.YamlText, "render", lambda self: self.text + "services: [broken\n")
    result = _harden(corpus("mailstack"))
    assert not result.validated and result.files == () and result.changes == ()
    assert any("withdrawn" in n and "Compose rejects them" in n for n in result.notes)


def test_two_secrets_of_one_service_become_one_secrets_list(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: mariadb:11.4\n    environment:\n"
        "      - MARIADB_ROOT_PASSWORD=root-pass-for-test\n      - MARIADB_PASSWORD=user-pass-for-test\n"
        "  mq:\n    image: rabbitmq:3.13-management\n    ports:\n      - 15672:15672\n      - 5672:5672\n"
    )
    result = _harden(load_project([tmp_path], environ=SHELL))
    assert result.validated
    _write(result)
    after = load_project([tmp_path], environ=SHELL)
    db, mq = after.service("db"), after.service("mq")
    assert db is not None and mq is not None
    assert sorted(db.secrets) == ["db_mariadb_password", "db_mariadb_root_password"]
    assert [(p.target, p.host_ip) for p in mq.ports] == [(15672, "127.0.0.1"), (5672, "127.0.0.1")]
    for secret in ("root-pass-for-test", "user-pass-for-test"):
        assert secret not in result.diff() and secret not in result.files[0].hardened
