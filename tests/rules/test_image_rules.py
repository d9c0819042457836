"""DA1xx over constructed image facts: each rule fires on its flaw and stays quiet otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dockaudit.config import Settings, Thresholds
from dockaudit.facts.filesystem import OsRelease
from dockaudit.facts.image import Healthcheck
from dockaudit.model import Origin, Severity, Status
from tests.rules.conftest import (
    ALPINE,
    NOW,
    make_config,
    make_ctx,
    make_history,
    make_image_facts,
    nv,
    run_rule,
)


def test_hardened_image_passes_every_image_rule() -> None:
    facts = make_image_facts()
    for n in range(1, 17):
        assert run_rule(f"DA1{n:02d}", facts) == [], f"DA1{n:02d}"


# DA101 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:root", "0:1000"])
def test_root_user_is_high(user: str) -> None:
    [finding] = run_rule("DA101", make_image_facts(config=make_config(user=user)))
    assert finding.severity is Severity.HIGH
    assert finding.status is Status.FAIL
    assert finding.fix is not None and "USER" in finding.fix.dockerfile


@pytest.mark.parametrize("user", ["10001", "10001:10001", "app", "nobody:nogroup"])
def test_non_root_user_passes_da101(user: str) -> None:
    assert run_rule("DA101", make_image_facts(config=make_config(user=user))) == []


def test_root_user_fix_follows_the_distribution() -> None:
    alpine = run_rule("DA101", make_image_facts(config=make_config(user=""), os_release=ALPINE))[0]
    debian = run_rule("DA101", make_image_facts(config=make_config(user="")))[0]
    distroless = run_rule(
        "DA101", make_image_facts(config=make_config(user=""), os_release=OsRelease(id="distroless"))
    )[0]
    scratch = run_rule("DA101", make_image_facts(config=make_config(user=""), os_release=OsRelease(id="scratch")))[0]
    assert alpine.fix is not None and "adduser -S" in alpine.fix.dockerfile and "addgroup -S" in alpine.fix.dockerfile
    assert debian.fix is not None and "useradd -r" in debian.fix.dockerfile and "groupadd -r" in debian.fix.dockerfile
    assert distroless.fix is not None and distroless.fix.dockerfile == "USER 65532:65532"
    assert scratch.fix is not None and scratch.fix.dockerfile == "USER 10001:10001"


def test_root_user_set_by_the_base_image_says_so() -> None:
    history = make_history("/bin/sh -c #(nop) COPY file:abc in /app ", base=("/bin/sh -c #(nop)  USER root",))
    [finding] = run_rule("DA101", make_image_facts(config=make_config(user="root"), history=history))
    assert finding.origin is Origin.BASE


# DA102 ------------------------------------------------------------------------------------------


def test_missing_healthcheck_is_medium() -> None:
    [finding] = run_rule("DA102", make_image_facts(config=make_config(healthcheck=None)))
    assert finding.severity is Severity.MEDIUM
    assert finding.fix is not None and "HEALTHCHECK" in finding.fix.dockerfile and "--health-cmd" in finding.fix.run


def test_healthcheck_none_counts_as_missing() -> None:
    facts = make_image_facts(config=make_config(healthcheck=Healthcheck(test=("NONE",))))
    [finding] = run_rule("DA102", facts)
    assert "NONE" in finding.evidence


def test_healthcheck_present_passes() -> None:
    assert run_rule("DA102", make_image_facts()) == []


# DA103 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entrypoint", "cmd"),
    [(None, ("/bin/sh", "-c", "sleep 3600; exit 0")), (("sh", "-c"), ("app --serve",)), (None, ("bash", "-c", "x"))],
)
def test_shell_form_command_is_reported(entrypoint: tuple[str, ...] | None, cmd: tuple[str, ...]) -> None:
    [finding] = run_rule("DA103", make_image_facts(config=make_config(entrypoint=entrypoint, cmd=cmd)))
    assert "PID 1" in finding.evidence


@pytest.mark.parametrize(
    ("entrypoint", "cmd"),
    [(("sh", "-c"), ("exec app",)), (None, ("/bin/sh", "-c", "exec java $JAVA_OPTS -jar /app.jar"))],
)
def test_a_shell_that_execs_its_program_passes(entrypoint: tuple[str, ...] | None, cmd: tuple[str, ...]) -> None:
    # `CMD exec java ...` in a Dockerfile: the program replaces the shell as PID 1 and gets the signals.
    assert run_rule("DA103", make_image_facts(config=make_config(entrypoint=entrypoint, cmd=cmd))) == []


def test_exec_form_command_passes() -> None:
    facts = make_image_facts(config=make_config(entrypoint=("/docker-entrypoint.sh",), cmd=("sh", "-c", "x")))
    assert run_rule("DA103", facts) == []


def test_shell_form_evidence_is_redacted() -> None:
    cmd = ("/bin/sh", "-c", "curl -u admin:topsecretpassword https://x")
    [finding] = run_rule("DA103", make_image_facts(config=make_config(entrypoint=None, cmd=cmd)))
    assert "topsecretpassword" not in finding.evidence


# DA104 / DA105 ----------------------------------------------------------------------------------


def test_secret_named_env_is_critical_and_redacted() -> None:
    facts = make_image_facts(config=make_config(env=["DB_PASSWORD=hunter2-hunter2"]))
    [finding] = run_rule("DA104", facts)
    assert finding.severity is Severity.CRITICAL
    assert "hunter2-hunter2" not in finding.evidence and "DB_PASSWORD" in finding.evidence
    assert finding.fix is not None and "/run/secrets/db_password" in finding.fix.compose


def test_credential_format_in_innocent_env_name_is_reported() -> None:
    facts = make_image_facts(config=make_config(env=["SETTINGS=ghp_DockAuditFakeGithubToken0123456789ab"]))
    [finding] = run_rule("DA104", facts)
    assert "GitHub token" in finding.evidence


@pytest.mark.parametrize(
    "entry",
    [
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
        "PYTHON_VERSION=3.12.1",
        "PASSWORD_FILE=/run/secrets/db",
        "TOKEN_URL=https://auth.example.com/token",
        "DB_PASSWORD=${DB_PASSWORD}",
        "DB_PASSWORD=",
        "PWD=/app",
    ],
)
def test_known_non_secrets_in_env_pass(entry: str) -> None:
    assert run_rule("DA104", make_image_facts(config=make_config(env=[entry]))) == []


def test_user_allowlist_silences_da104() -> None:
    facts = make_image_facts(config=make_config(env=["FEATURE_TOKEN=not-really-a-secret"]))
    assert run_rule("DA104", facts)
    assert run_rule("DA104", facts, make_ctx(Settings(allow_secret_names=("FEATURE_*",)))) == []


def test_secret_in_label_is_high() -> None:
    labels = {"com.example.slack": "xoxb-0000000000-dockaudit-fake-slack-bot"}
    [finding] = run_rule("DA105", make_image_facts(config=make_config(labels=labels)))
    assert finding.severity is Severity.HIGH
    assert "xoxb-0000000000-dockaudit" not in finding.evidence


def test_ordinary_labels_pass() -> None:
    labels = {"maintainer": "ops@example.com", "org.opencontainers.image.source": "https://x"}
    assert run_rule("DA105", make_image_facts(config=make_config(labels=labels))) == []


def test_secret_env_origin_follows_history() -> None:
    history = make_history("/bin/sh -c #(nop)  ENV API_TOKEN=abcdefgh12345678")
    facts = make_image_facts(config=make_config(env=[nv("API_TOKEN", "abcdefgh12345678")]), history=history)
    [finding] = run_rule("DA104", facts)
    assert finding.origin is Origin.USER
    assert finding.location.instruction is not None and "abcdefgh12345678" not in finding.location.instruction


# DA106 / DA107 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tags", [("myapp:latest",), (), ("<none>:<none>",), ("a:latest", "b:latest")])
def test_latest_only_or_untagged_is_mutable(tags: tuple[str, ...]) -> None:
    assert len(run_rule("DA106", make_image_facts(repo_tags=tags))) == 1


def test_versioned_tag_passes_da106() -> None:
    assert run_rule("DA106", make_image_facts(repo_tags=("myapp:latest", "myapp:1.2.3"))) == []


def test_no_repo_digest_is_low() -> None:
    [finding] = run_rule("DA107", make_image_facts(repo_digests=()))
    assert finding.severity is Severity.LOW


def test_repo_digest_passes() -> None:
    assert run_rule("DA107", make_image_facts()) == []


# DA108 ------------------------------------------------------------------------------------------


def test_missing_provenance_labels() -> None:
    assert len(run_rule("DA108", make_image_facts(config=make_config(labels={"maintainer": "x"})))) == 1


def test_one_provenance_label_is_enough() -> None:
    labels = {"org.opencontainers.image.revision": "abc123"}
    assert run_rule("DA108", make_image_facts(config=make_config(labels=labels))) == []


# DA109 / DA110 ----------------------------------------------------------------------------------


def test_ssh_port_exposed() -> None:
    [finding] = run_rule("DA109", make_image_facts(config=make_config(exposed_ports=("22/tcp", "8080/tcp"))))
    assert "22/tcp" in finding.evidence


def test_other_ports_pass_da109() -> None:
    assert run_rule("DA109", make_image_facts(config=make_config(exposed_ports=("2222/tcp", "8080/tcp")))) == []


def test_privileged_port_with_non_root_user_is_info() -> None:
    [finding] = run_rule("DA110", make_image_facts(config=make_config(exposed_ports=("80/tcp",))))
    assert finding.severity is Severity.INFO


def test_privileged_port_as_root_is_not_da110() -> None:
    facts = make_image_facts(config=make_config(user="root", exposed_ports=("80/tcp",)))
    assert run_rule("DA110", facts) == []


# DA111 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signal", ["SIGKILL", "9", "kill"])
def test_sigkill_stop_signal(signal: str) -> None:
    assert len(run_rule("DA111", make_image_facts(config=make_config(stop_signal=signal)))) == 1


@pytest.mark.parametrize("signal", ["", "SIGTERM", "SIGQUIT", "15"])
def test_graceful_stop_signal_passes(signal: str) -> None:
    assert run_rule("DA111", make_image_facts(config=make_config(stop_signal=signal))) == []


# DA112 ------------------------------------------------------------------------------------------


def test_heavy_full_distribution_over_threshold() -> None:
    facts = make_image_facts(os_release=OsRelease(id="ubuntu", version_id="24.04"), size=450 * 1024 * 1024)
    [finding] = run_rule("DA112", facts)
    assert "450 MB" in finding.evidence
    assert finding.origin is Origin.BASE


def test_slim_or_small_images_pass_da112() -> None:
    small = make_image_facts(os_release=OsRelease(id="ubuntu", version_id="24.04"), size=80 * 1024 * 1024)
    slim = make_image_facts(repo_tags=("myapp-slim:1",), size=300 * 1024 * 1024)
    alpine = make_image_facts(os_release=ALPINE, size=300 * 1024 * 1024)
    for facts in (small, slim):
        assert run_rule("DA112", facts) == []
    assert run_rule("DA112", alpine, make_ctx(now=datetime(2026, 1, 1, tzinfo=UTC))) == []


def test_heavy_base_threshold_is_configurable() -> None:
    facts = make_image_facts(os_release=OsRelease(id="ubuntu", version_id="24.04"), size=150 * 1024 * 1024)
    assert run_rule("DA112", facts) == []
    assert run_rule("DA112", facts, make_ctx(Settings(thresholds=Thresholds(heavy_base_mb=100))))


def test_end_of_life_is_no_longer_judged_by_da112() -> None:
    # DA611 owns end of life (from the endoflife.date snapshot); DA112 is about size alone.
    facts = make_image_facts(os_release=OsRelease(id="debian", version_id="10"))
    assert run_rule("DA112", facts) == []


def test_unknown_os_skips_da112() -> None:
    [finding] = run_rule("DA112", make_image_facts(os_release=None))
    assert finding.status is Status.SKIPPED


# DA113 ------------------------------------------------------------------------------------------


def test_single_arch_is_info() -> None:
    [finding] = run_rule("DA113", make_image_facts(has_manifest_list=False))
    assert finding.severity is Severity.INFO and "linux/amd64" in finding.evidence


def test_manifest_list_passes() -> None:
    assert run_rule("DA113", make_image_facts(has_manifest_list=True)) == []


# DA114 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("volume", ["/", "/sys", "/proc", "/dev", "/dev/shm"])
def test_sensitive_volume(volume: str) -> None:
    assert len(run_rule("DA114", make_image_facts(config=make_config(volumes=(volume,))))) == 1


@pytest.mark.parametrize("volume", ["/data", "/var/lib/postgresql/data", "/device"])
def test_data_volume_passes(volume: str) -> None:
    assert run_rule("DA114", make_image_facts(config=make_config(volumes=(volume,)))) == []


# DA115 ------------------------------------------------------------------------------------------


def test_stale_image() -> None:
    [finding] = run_rule("DA115", make_image_facts(created=NOW - timedelta(days=120)))
    assert "120 days" in finding.evidence


def test_fresh_image_passes_and_threshold_is_configurable() -> None:
    facts = make_image_facts(created=NOW - timedelta(days=40))
    assert run_rule("DA115", facts) == []
    assert run_rule("DA115", facts, make_ctx(Settings(thresholds=Thresholds(stale_days=30))))


def test_reproducible_epoch_timestamp_skips() -> None:
    [finding] = run_rule("DA115", make_image_facts(created=datetime(1970, 1, 1, tzinfo=UTC)))
    assert finding.status is Status.SKIPPED


# DA116 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["app", "app:app", "nobody"])
def test_named_user_is_low(user: str) -> None:
    [finding] = run_rule("DA116", make_image_facts(config=make_config(user=user)))
    assert finding.severity is Severity.LOW


@pytest.mark.parametrize("user", ["10001", "10001:app", "root", ""])
def test_numeric_or_root_user_passes_da116(user: str) -> None:
    assert run_rule("DA116", make_image_facts(config=make_config(user=user))) == []
