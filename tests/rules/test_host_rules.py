"""DA5xx over constructed host facts: each rule fires on its flaw and stays quiet otherwise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dockaudit.config import Settings
from dockaudit.facts.host import HostFacts, RegistryAuth
from dockaudit.model import Severity, Status
from dockaudit.rules import load_all
from dockaudit.rules.host import parse_engine_version
from dockaudit.rules.registry import RULES
from tests.rules.conftest import NOW, make_ctx, make_host_facts, run_rule


def host(**overrides: Any) -> HostFacts:
    """The builder's well-configured engine, on a release line the end-of-life snapshot knows is supported."""
    overrides.setdefault("server_version", "28.0.4")
    return make_host_facts(**overrides)


@pytest.mark.parametrize("rule_id", [f"DA5{n:02d}" for n in range(1, 11)])
def test_well_configured_engine_passes(rule_id: str) -> None:
    load_all()
    assert RULES[rule_id].scope.value == "host"
    ctx = make_ctx(scan_ages={"sha256:" + "a" * 64: NOW - timedelta(days=1)})
    assert run_rule(rule_id, host(), ctx) == []


POSITIVE: list[tuple[str, HostFacts, dict[str, Any]]] = [
    (
        "DA501",
        host(registry_auths=(RegistryAuth("registry.example.com", has_auth=True, has_identity_token=False),)),
        {},
    ),
    ("DA501", host(registry_auths=(RegistryAuth("ghcr.io", has_auth=False, has_identity_token=True),)), {}),
    ("DA502", host(insecure_registries=("127.0.0.0/8", "registry.local:5000")), {}),
    ("DA503", host(endpoint="tcp://10.0.0.5:2375", tls=False), {}),
    ("DA503", host(daemon_hosts=("unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"), daemon_json={"hosts": []}), {}),
    ("DA504", host(live_restore=False), {}),
    ("DA505", host(security_options=("name=seccomp,profile=builtin",)), {}),
    ("DA506", host(logging_driver="json-file", daemon_json={"log-driver": "json-file"}), {}),
    ("DA506", host(logging_driver="json-file", daemon_json=None), {}),
    ("DA507", host(content_trust=False), {}),
    ("DA508", host(server_version="20.10.24"), {}),
    ("DA509", host(reclaimable_bytes=3_000_000_000), {}),
    ("DA510", host(), {"scan_ages": {"sha256:" + "b" * 64: NOW - timedelta(days=8)}}),
    ("DA510", host(), {"scan_ages": {"sha256:" + "c" * 64: None}}),
]


@pytest.mark.parametrize(("rule_id", "facts", "extra"), POSITIVE, ids=[f"{p[0]}-{i}" for i, p in enumerate(POSITIVE)])
def test_flaw_is_found(rule_id: str, facts: HostFacts, extra: dict[str, Any]) -> None:
    findings = run_rule(rule_id, facts, make_ctx(**extra))
    assert findings and all(f.status is Status.FAIL for f in findings)
    assert all(f.severity is RULES[rule_id].severity for f in findings)
    assert all(f.fix is not None and f.fix.summary for f in findings)


NEGATIVE: list[tuple[str, HostFacts, dict[str, Any]]] = [
    ("DA501", host(registry_auths=(RegistryAuth("ghcr.io", True, False, helper="pass"),)), {}),
    ("DA501", host(registry_auths=(RegistryAuth("ghcr.io", True, False),), creds_store="desktop"), {}),
    ("DA501", host(registry_auths=(RegistryAuth("ghcr.io", False, False),)), {}),
    ("DA502", host(insecure_registries=("127.0.0.0/8", "::1/128")), {}),
    ("DA503", host(endpoint="tcp://10.0.0.5:2376", tls=True), {}),
    ("DA503", host(endpoint="ssh://admin@10.0.0.5"), {}),
    ("DA503", host(daemon_hosts=("tcp://0.0.0.0:2376",), daemon_json={"tlsverify": True}), {}),
    ("DA505", host(security_options=("name=seccomp,profile=builtin",), rootless=True), {}),
    ("DA506", host(logging_driver="json-file", daemon_json={"log-opts": {"max-size": "10m"}}), {}),
    ("DA506", host(logging_driver="journald", daemon_json=None), {}),
    ("DA508", host(server_version="27.5.1"), {}),
    ("DA509", host(reclaimable_bytes=900_000_000), {}),
    ("DA510", host(), {"scan_ages": {"sha256:" + "d" * 64: NOW - timedelta(days=6)}}),
    ("DA510", host(), {"scan_ages": {}}),
]


@pytest.mark.parametrize(("rule_id", "facts", "extra"), NEGATIVE, ids=[f"{n[0]}-{i}" for i, n in enumerate(NEGATIVE)])
def test_safe_setting_passes(rule_id: str, facts: HostFacts, extra: dict[str, Any]) -> None:
    assert run_rule(rule_id, facts, make_ctx(**extra)) == []


def test_allowlisted_insecure_registry_passes() -> None:
    settings = Settings(allow_registries=("registry.local:*",))
    facts = host(insecure_registries=("registry.local:5000",))
    assert run_rule("DA502", facts, make_ctx(settings)) == []


def test_scan_age_rule_skips_without_scan_history() -> None:
    (finding,) = run_rule("DA510", host())
    assert finding.status is Status.SKIPPED


def test_remote_daemon_log_options_are_skipped_not_guessed() -> None:
    (finding,) = run_rule("DA506", host(endpoint="ssh://ops@box", logging_driver="json-file", daemon_json=None))
    assert finding.status is Status.SKIPPED


@pytest.mark.parametrize("rule_id", ["DA504", "DA508"])
def test_podman_daemon_rules_are_skipped(rule_id: str) -> None:
    (finding,) = run_rule(rule_id, host(podman=True, server_version="4.3.1", live_restore=False))
    assert finding.status is Status.SKIPPED


def test_engine_version_is_parsed_from_distribution_builds() -> None:
    assert parse_engine_version("20.10.24+dfsg1") == (20, 10)
    assert parse_engine_version("v27.3.1") == (27, 3)
    assert parse_engine_version("dev") is None


def test_old_engine_states_the_end_date_and_the_snapshot_date() -> None:
    # Debian 12 ships docker.io 20.10.24+dfsg1 (this machine's engine): its line ended 2023-12-10.
    (finding,) = run_rule("DA508", host(server_version="20.10.24+dfsg1"))
    assert "2023-12-10" in finding.evidence and "endoflife.date data as of 2025-02-20" in finding.evidence
    assert finding.severity is Severity.MEDIUM


def test_old_engine_is_not_flagged_before_its_end_date() -> None:
    # 23.0's support ends 2025-05-19 in the snapshot (data as of 2025-02-20).
    facts = host(server_version="23.0.16")
    assert run_rule("DA508", facts, make_ctx(now=NOW.replace(year=2025, month=3, day=1))) == []
    (after,) = run_rule("DA508", facts, make_ctx(now=NOW.replace(year=2025, month=6, day=1)))
    assert after.severity is Severity.MEDIUM and "may be stale" not in after.evidence


def test_a_scheduled_end_judged_on_stale_data_says_so_and_counts_less() -> None:
    (finding,) = run_rule("DA508", host(server_version="23.0.16"))  # the test clock is 2026-11-28
    assert "may be stale" in finding.evidence and "scripts/refresh_eol.py" in finding.evidence
    assert finding.severity is Severity.LOW


def test_an_engine_newer_than_the_stale_snapshot_is_skipped_not_guessed() -> None:
    (finding,) = run_rule("DA508", host(server_version="29.1.0"))
    assert finding.status is Status.SKIPPED and "may be stale" in finding.evidence
    fresh = make_ctx(now=NOW.replace(year=2025, month=3, day=1))
    assert run_rule("DA508", host(server_version="29.1.0"), fresh) == []


def test_engine_older_than_every_tracked_line_is_end_of_life() -> None:
    (finding,) = run_rule("DA508", host(server_version="1.13.1"))
    assert "older than 17.03" in finding.evidence


def test_registry_credentials_evidence_never_holds_the_secret() -> None:
    facts = host(registry_auths=(RegistryAuth("ghcr.io", True, False),), client_config_path="/root/.docker/config.json")
    (finding,) = run_rule("DA501", facts)
    assert finding.evidence == "/root/.docker/config.json: auths[ghcr.io] has a plain-text auth"
