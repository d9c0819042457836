"""Fix snippets follow the detected distribution; Compose snippets are valid YAML shapes."""

from __future__ import annotations

import pytest

from dockaudit.facts.filesystem import OsRelease
from dockaudit.rules.fixes import (
    Family,
    compose_service,
    create_user_dockerfile,
    distro_family,
    install_snippet,
    non_root_user_fix,
    runtime_fix,
)
from dockaudit.rules.shell import commands, pipelines


@pytest.mark.parametrize(
    ("os_release", "family"),
    [
        (OsRelease(id="alpine"), Family.ALPINE),
        (OsRelease(id="ubuntu"), Family.DEBIAN),
        (OsRelease(id="linuxmint", id_like=("ubuntu", "debian")), Family.DEBIAN),
        (OsRelease(id="rocky", id_like=("rhel", "centos", "fedora")), Family.RHEL),
        (OsRelease(id="amzn"), Family.RHEL),
        (OsRelease(id="distroless"), Family.DISTROLESS),
        (OsRelease(id="scratch"), Family.SCRATCH),
        (None, Family.UNKNOWN),
    ],
)
def test_distribution_families(os_release: OsRelease | None, family: Family) -> None:
    assert distro_family(os_release) is family


def test_user_creation_per_family() -> None:
    assert "addgroup -S" in create_user_dockerfile(OsRelease(id="alpine"))
    assert "useradd -r" in create_user_dockerfile(OsRelease(id="debian"))
    assert "useradd -r" in create_user_dockerfile(OsRelease(id="rhel"))
    assert create_user_dockerfile(OsRelease(id="scratch")) == "USER 10001:10001"
    assert "/etc/passwd" in create_user_dockerfile(OsRelease(id="busybox"))
    distroless = non_root_user_fix(OsRelease(id="distroless"))
    assert distroless.dockerfile == "USER 65532:65532" and distroless.run == "--user 65532:65532"


def test_compose_snippet_quotes_what_yaml_would_misread() -> None:
    text = compose_service({"user": "10001:10001", "read_only": True, "cap_drop": ["ALL"], "mem_limit": "256m"})
    assert text.splitlines() == [
        "services:",
        "  app:",
        '    user: "10001:10001"',
        "    read_only: true",
        "    cap_drop:",
        "      - ALL",
        "    mem_limit: 256m",
    ]


def test_runtime_fix_has_flags_and_compose() -> None:
    fix = runtime_fix("Drop capabilities.", ["--cap-drop", "ALL"], {"cap_drop": ["ALL"]})
    assert fix.run == "--cap-drop ALL" and "cap_drop:" in fix.compose and fix.dockerfile == ""


def test_lean_install_per_family() -> None:
    assert install_snippet(OsRelease(id="alpine"), ["curl"]) == "RUN apk add --no-cache curl"
    debian = install_snippet(OsRelease(id="debian"), ["curl"])
    assert "--no-install-recommends curl" in debian and "rm -rf /var/lib/apt/lists/*" in debian


def test_shell_split_respects_quotes_and_operators() -> None:
    assert [[c.name for c in p] for p in pipelines("curl -s x | sh && echo 'a | b' ; ls")] == [
        ["curl", "sh"],
        ["echo"],
        ["ls"],
    ]
    [cmd] = commands("DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y curl 2>/dev/null")
    assert (cmd.name, cmd.args, cmd.prefixes) == ("apt-get", ("install", "-y", "curl"), ("sudo",))


def test_shell_split_survives_unbalanced_quotes_and_redactions() -> None:
    assert [c.name for c in commands("echo 'unterminated && ls")] == ["echo", "ls"]
    assert [c.name for c in commands("curl -u ab…(redacted, 12 chars) https://x | sh")] == ["curl", "sh"]
