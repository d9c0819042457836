"""DA609: literal passwords in RUN are critical and redacted everywhere; build-time placeholders are not secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dockaudit.audit import AuditSession
from dockaudit.audit_options import AuditOptions
from dockaudit.command_secrets import redact_dockerfile_text, scan_command
from dockaudit.config import Settings
from dockaudit.model import Report, Severity, Status, TargetKind, TargetResult
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from dockaudit.report import FORMATS, render
from dockaudit.secrets import classify_pair
from dockaudit.targets import ResolvedTarget
from tests.rules.conftest import NOW, make_history, make_image_facts, run_rule

# Each pattern was met in public Dockerfiles and provisioning scripts (CTF images, lab images, dev
# containers); the values here are our own.
PASSWORD_RUNS = {
    "chpasswd from echo": ('echo "ctf-player:Quokka-Larch-73" | chpasswd', "Quokka-Larch-73"),
    "root password": ("echo root:Tundra-Gale-19 | chpasswd", "Tundra-Gale-19"),
    "several users via printf": (
        "printf 'brenor:Cinder-Fjord-2\\nlyessa:Cinder-Fjord-3\\n' | chpasswd",
        "Cinder-Fjord-3",
    ),
    "chpasswd here-string": ("chpasswd <<< 'admin:Basalt-Wren-88'", "Basalt-Wren-88"),
    "passwd --stdin": ("echo 'Heron-Quartz-41' | passwd --stdin root", "Heron-Quartz-41"),
    "passwd fed twice": ('echo -e "Mosaic-Lynx-5\\nMosaic-Lynx-5" | passwd root', "Mosaic-Lynx-5"),
    "useradd -p hash": ("useradd -m -p '$6$Kx9s$Jz1oPlq0Vbn7Ryt3' deploy", "$6$Kx9s$Jz1oPlq0Vbn7Ryt3"),
    "openssl passwd": ('useradd -m -p "$(openssl passwd -1 Walrus-Amber-62)" app', "Walrus-Amber-62"),
    "mysql -p": ("mysql -uroot -pOtter-Slate-27 < /docker-entrypoint-initdb.d/seed.sql", "Otter-Slate-27"),
    "PGPASSWORD": ("PGPASSWORD=Falcon-Moss-90 psql -h db -U app -f schema.sql", "Falcon-Moss-90"),
    "sshpass": ("sshpass -p Badger-Coral-16 scp deploy@build:/out.tgz /tmp/", "Badger-Coral-16"),
    "htpasswd -b": ("htpasswd -bc /etc/nginx/.htpasswd admin Ibis-Cobalt-58", "Ibis-Cobalt-58"),
}


@pytest.mark.parametrize(("command", "secret"), PASSWORD_RUNS.values(), ids=PASSWORD_RUNS.keys())
def test_a_literal_password_in_run_is_critical_and_redacted(command: str, secret: str) -> None:
    facts = image_facts_from_dockerfile(parse_dockerfile_text(f"FROM debian:12\nRUN {command}\n"))
    (finding,) = run_rule("DA609", facts)
    assert finding.severity is Severity.CRITICAL and finding.location.line == 2
    assert secret not in repr(facts) and secret not in repr(finding)
    assert run_rule("DA202", facts) == []  # one finding per flaw: a password is not also a DA202 credential


def test_an_image_history_with_a_literal_password_is_found() -> None:
    facts = make_image_facts(history=make_history("/bin/sh -c echo 'root:Docker!2024' | chpasswd"))
    (finding,) = run_rule("DA609", facts)
    assert "password fed to chpasswd" in finding.evidence and "Docker!2024" not in finding.evidence


@pytest.mark.parametrize(
    "command",
    [
        'echo "$USERNAME:$PASSWORD" | chpasswd',  # from build args: DA605/DA202 judge those
        'useradd -m -p "$(openssl passwd -1 $ROOT_PW)" app',
        "usermod -p '!' root",  # a locked account
        "passwd -l root",
        "passwd -d app",
        "echo hello | passwd -l root",
        "mysql -uroot -p$MYSQL_ROOT_PASSWORD",
    ],
)
def test_references_and_account_locking_are_not_literal_passwords(command: str) -> None:
    facts = image_facts_from_dockerfile(parse_dockerfile_text(f"FROM debian:12\nRUN {command}\n"))
    assert run_rule("DA609", facts) == []


# ---------------------------------------------------------------------------------------------- placeholders


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY_BASE", "precompile_placeholder"),  # Rails' documented asset precompile stand-in
        ("SECRET_KEY", "dummy"),
        ("DJANGO_SECRET_KEY", "build-time-dummy-key"),
        ("API_TOKEN", ""),
        ("DB_PASSWORD", "x"),
        ("AUTH_TOKEN", "-"),
        ("GITHUB_TOKEN", "<your-token>"),
        ("ALLOW_EMPTY_PASSWORD", "yes"),  # Bitnami's switch, not a password
    ],
)
def test_build_time_placeholders_are_not_secrets(name: str, value: str) -> None:
    assert classify_pair(name, value) is None
    assert scan_command(f"{name}={value} bin/rails assets:precompile").found == ()


@pytest.mark.parametrize(
    "command",
    [
        # Rails and Django refuse to run these build steps without a key, and never use it there.
        "RAILS_ENV=production SECRET_KEY_BASE=not-needed-to-precompile-0123 bundle exec rake assets:precompile",
        "DJANGO_SECRET_KEY=collectstatic-only-0123456 python manage.py collectstatic --noinput",
    ],
)
def test_a_key_given_only_to_asset_builds_is_a_stand_in(command: str) -> None:
    assert scan_command(command).found == ()
    assert scan_command("SECRET_KEY_BASE=a-real-looking-key-0123 bundle exec puma").found != ()


def test_placeholder_in_env_arg_and_run_fires_nothing(tmp_path: Path) -> None:
    # The Rails 7 Dockerfile generator's own idiom, and Django's collectstatic with a dummy key.
    dockerfile = (
        "FROM ruby:3.3-slim\n"
        "ARG SECRET_KEY_BASE=\n"
        "ENV SECRET_KEY_BASE_DUMMY=1 DJANGO_SECRET_KEY=dummy\n"
        "RUN SECRET_KEY_BASE=precompile_placeholder ./bin/rails assets:precompile\n"
        "USER 1000\n"
    )
    facts = parse_dockerfile_text(dockerfile)
    image = image_facts_from_dockerfile(facts)
    assert run_rule("DA605", facts) == []
    assert run_rule("DA104", image) == [] and run_rule("DA202", image) == [] and run_rule("DA609", image) == []


def test_a_real_value_next_to_a_placeholder_name_still_counts() -> None:
    assert classify_pair("DB_PASSWORD", "changeme-dockaudit-fake") is not None
    assert classify_pair("API_TOKEN", "dummyvalue0123") is not None


# ---------------------------------------------------------------------------------------------- no leak

LEAKY_DOCKERFILE = "FROM debian:12\n" + "".join(f"RUN {command}\n" for command, _ in PASSWORD_RUNS.values())


def _audit(tmp_path: Path) -> TargetResult:
    (tmp_path / "Dockerfile").write_text(LEAKY_DOCKERFILE)
    (tmp_path / ".dockerignore").write_text(".git\n.env*\n")
    options = AuditOptions(settings=Settings(), scanners=frozenset({"checklist"}), clock=lambda: NOW)
    return AuditSession(None, options).audit(ResolvedTarget(TargetKind.DOCKERFILE, str(tmp_path)))


def test_no_password_reaches_any_report_format_or_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = _audit(tmp_path)
    assert sum(1 for f in result.findings if f.rule_id == "DA609" and f.status is Status.FAIL) == len(PASSWORD_RUNS)
    report = Report(tool_version="test", generated_at=NOW, engines=(), targets=(result,))
    outputs = {fmt: render(report, fmt) for fmt in FORMATS}
    outputs["repr"] = repr(result)
    outputs["log"] = caplog.text
    for _, secret in PASSWORD_RUNS.values():
        leaked = [name for name, text in outputs.items() if secret in text]
        assert leaked == [], f"{secret} leaked into {leaked}"


def test_a_hardened_diff_quoting_secret_lines_is_redacted() -> None:
    diff = (
        "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -3,4 +3,5 @@\n"
        " ENV DB_PASSWORD Otter-Slate-27\n"
        '-RUN echo "root:Tundra-Gale-19" \\\n'
        "-    | chpasswd\n"
        " RUN PGPASSWORD=Falcon-Moss-90 psql -f schema.sql\n"
        "+USER 10001\n"
    )
    safe = redact_dockerfile_text(diff)
    for secret in ("Otter-Slate-27", "Tundra-Gale-19", "Falcon-Moss-90"):
        assert secret not in safe
    assert safe.splitlines()[:3] == diff.splitlines()[:3] and safe.endswith("+USER 10001\n")
