"""DA610 passwordless sudo, DA215 sshd root login, DA214 signature bypasses, DA311 writable account files."""

from __future__ import annotations

import pytest

from dockaudit.facts.filesystem import FileType
from dockaudit.model import Finding, Severity, Status
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from tests.rules.conftest import file_fact, make_config, make_filesystem, make_history, make_image_facts, run_rule


def rule(rule_id: str, text: str) -> list[Finding]:
    return run_rule(rule_id, image_facts_from_dockerfile(parse_dockerfile_text(text)))


# ---------------------------------------------------------------------------------------------- DA610

NOPASSWD = {
    # A noVNC/selenium bot image: the runtime user gets passwordless root.
    "runtime user": (
        "FROM ubuntu:24.04\n"
        'RUN useradd -m -s /bin/bash dockuser && echo "dockuser ALL=(ALL) NOPASSWD:ALL" >> /etc/sudoers\n'
        "USER dockuser\n"
    ),
    # An Ansible test image: the user comes from ENV.
    "user from ENV": (
        "FROM rockylinux:9\nENV ANSIBLE_USER=ansible\n"
        'RUN useradd -m ${ANSIBLE_USER} && echo "${ANSIBLE_USER} ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/ansible\n'
        "USER ansible\n"
    ),
    # A dev container built from an ARG, as the VS Code templates do.
    "user from ARG": (
        "FROM debian:12\nARG USERNAME=vscode\n"
        "RUN useradd -m $USERNAME && echo $USERNAME ALL=\\(root\\) NOPASSWD:ALL > /etc/sudoers.d/$USERNAME\n"
        "USER vscode\n"
    ),
    "group the user joins": (
        "FROM ubuntu:24.04\n"
        "RUN useradd -m app && usermod -aG sudo app && echo '%sudo ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers\n"
        "USER app\n"
    ),
    "every user": "FROM ubuntu:24.04\nRUN echo 'ALL ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers\nUSER 1000\n",
    # code-server's release image: `USER 1000` is the `coder` account adduser created without a UID.
    "numeric USER of the first created account": (
        "FROM debian:12\n"
        "RUN adduser --gecos '' --disabled-password coder && \\\n"
        '  echo "coder ALL=(ALL) NOPASSWD:ALL" >> /etc/sudoers.d/nopasswd\n'
        "USER 1000\n"
    ),
    # An "ssh into the container" image: it runs as root, but whoever logs in over its sshd runs code there.
    "login user of an sshd image": (
        "FROM ubuntu:24.04\nRUN useradd -m -G sudo test && echo 'test:test' | chpasswd\n"
        'RUN echo "test ALL=(ALL) NOPASSWD:ALL" >> /etc/sudoers\nCMD ["/usr/sbin/sshd", "-D"]\n'
    ),
    "login user of a service-started sshd": (
        "FROM ubuntu:24.04\nRUN useradd -m deploy && echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy\n"
        "CMD service ssh start && tail -f /dev/null\n"
    ),
    "numeric USER of an account with that UID": (
        "FROM debian:12\n"
        "RUN useradd -u 1500 -m builder && echo 'builder ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/builder\n"
        "USER 1500\n"
    ),
}


@pytest.mark.parametrize("text", NOPASSWD.values(), ids=NOPASSWD.keys())
def test_passwordless_sudo_for_the_runtime_user_is_high(text: str) -> None:
    (finding,) = rule("DA610", text)
    assert finding.severity is Severity.HIGH and finding.location.line is not None
    assert "NOPASSWD" in finding.evidence


@pytest.mark.parametrize(
    "text",
    [
        # A Jenkins agent image that stays root: sudo for another account changes nothing for the runtime user.
        'FROM ubuntu:24.04\nRUN useradd -m jenkins && echo "jenkins ALL=(ALL) NOPASSWD:ALL" >> /etc/sudoers\n',
        "FROM ubuntu:24.04\nRUN echo 'app ALL=(ALL) ALL' >> /etc/sudoers\nUSER app\n",  # a password is asked
        "FROM ubuntu:24.04\nRUN useradd -m app && echo '%wheel ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers\nUSER app\n",
        # USER 1000 is `app` (UID given), not `ops`, which gets 1001.
        "FROM debian:12\nRUN useradd -u 1000 app && useradd ops && echo 'ops ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers\n"
        "USER 1000\n",
    ],
)
def test_sudo_that_does_not_reach_the_runtime_user_passes(text: str) -> None:
    assert rule("DA610", text) == []


# ---------------------------------------------------------------------------------------------- DA215


@pytest.mark.parametrize(
    "command",
    [
        # The usual "ssh into the container" tutorial images.
        "apt-get install -y openssh-server && sed -i 's/#PermitRootLogin prohibit-password/PermitRootLogin yes/' "
        "/etc/ssh/sshd_config",
        "echo 'PermitRootLogin yes' >> /etc/ssh/sshd_config",
        "sed -ri 's/^#?PermitEmptyPasswords\\s+.*/PermitEmptyPasswords yes/' /etc/ssh/sshd_config",
    ],
)
def test_sshd_root_or_empty_password_login_is_high(command: str) -> None:
    (finding,) = rule("DA215", f"FROM ubuntu:24.04\nRUN {command}\n")
    assert finding.severity is Severity.HIGH and " yes" in finding.evidence


@pytest.mark.parametrize(
    "command",
    [
        "sed -i 's/PermitRootLogin yes/PermitRootLogin no/' /etc/ssh/sshd_config",
        "echo 'PermitRootLogin prohibit-password' >> /etc/ssh/sshd_config",
        "echo 'PermitRootLogin yes' > /tmp/notes.txt",
    ],
)
def test_sshd_settings_that_keep_root_out_pass(command: str) -> None:
    assert rule("DA215", f"FROM ubuntu:24.04\nRUN {command}\n") == []


# ---------------------------------------------------------------------------------------------- DA214

BYPASSES = {
    # goreleaser's and symfony-cli's published install line, copied into many build images.
    "trusted=yes source": (
        "echo 'deb [trusted=yes] https://repo.goreleaser.com/apt/ /' > /etc/apt/sources.list.d/goreleaser.list",
        "[trusted=yes]",
    ),
    "apt --allow-unauthenticated": (
        "apt-get install -y --allow-unauthenticated legacy-agent",
        "--allow-unauthenticated",
    ),
    "apt --force-yes": ("apt-get install -y --force-yes curl", "--force-yes"),
    "apk --allow-untrusted from a repo": (
        "apk add --allow-untrusted -X https://mirror.example.com/alpine/main custom-tool",
        "--allow-untrusted",
    ),
    "dnf --nogpgcheck": ("dnf install -y --nogpgcheck https://example.com/tool.rpm", "--nogpgcheck"),
    "gpgcheck=0 repo": (
        "printf '[internal]\\nbaseurl=https://repo.example.com/el9\\ngpgcheck=0\\n' > /etc/yum.repos.d/internal.repo",
        "gpgcheck=0",
    ),
    "rpm --nosignature": ("rpm -ivh --nosignature /tmp/agent.rpm", "--nosignature"),
    "pip over plain http": ("pip install --index-url http://pypi.internal/simple app", "plain HTTP"),
    "pip --trusted-host": (
        "pip install --trusted-host pypi.internal -i https://pypi.internal/simple app",
        "trusted-host",
    ),
    "npm registry over http": ("npm config set registry http://npm.internal/", "plain HTTP"),
}


@pytest.mark.parametrize(("command", "words"), BYPASSES.values(), ids=BYPASSES.keys())
def test_package_signature_and_tls_bypasses_are_found(command: str, words: str) -> None:
    (finding,) = rule("DA214", f"FROM debian:12\nRUN {command}\n")
    assert finding.severity is Severity.MEDIUM and words in finding.evidence


def test_a_local_package_installed_untrusted_is_low() -> None:
    (finding,) = rule("DA214", "FROM alpine:3.22\nCOPY pkg.apk /tmp/\nRUN apk add --allow-untrusted /tmp/pkg.apk\n")
    assert finding.severity is Severity.LOW and "local package files" in finding.evidence


@pytest.mark.parametrize(
    "command",
    [
        "echo 'deb [signed-by=/usr/share/keyrings/r.gpg] https://repo.example.com/apt stable main' > /etc/apt/r.list",
        "echo 'deb [trusted=yes] file:/opt/localrepo ./' > /etc/apt/sources.list.d/local.list",  # a local repository
        "apt-get update && apt-get install -y --no-install-recommends curl",  # http://deb.debian.org is signed
        "curl -fsSL http://example.com/x -o /tmp/x",  # not a package index
        "pip install --index-url https://pypi.internal/simple app",
    ],
)
def test_signed_or_local_sources_pass(command: str) -> None:
    assert rule("DA214", f"FROM debian:12\nRUN {command}\n") == []


# ---------------------------------------------------------------------------------------------- DA311


def _fs_image(*files: object) -> object:
    return make_image_facts(filesystem=make_filesystem(*files), history=make_history(), config=make_config())


@pytest.mark.parametrize(
    ("path", "mode", "gid", "severity"),
    [
        ("/etc/shadow", 0o666, 0, Severity.HIGH),
        ("/etc/shadow", 0o660, 42, Severity.HIGH),
        ("/etc/sudoers.d/app", 0o664, 0, Severity.HIGH),
        ("/etc/passwd", 0o666, 0, Severity.HIGH),
        ("/etc/passwd", 0o664, 0, Severity.MEDIUM),  # OpenShift's arbitrary-UID pattern (chgrp 0, chmod g=u)
        ("/etc/group", 0o664, 1000, Severity.HIGH),
    ],
)
def test_writable_account_files_in_the_filesystem(path: str, mode: int, gid: int, severity: Severity) -> None:
    facts = _fs_image(file_fact(path, mode=mode, gid=gid))
    (finding,) = run_rule("DA311", facts)
    assert finding.status is Status.FAIL and finding.severity is severity and path in finding.evidence


def test_account_files_with_their_usual_modes_pass() -> None:
    facts = _fs_image(
        file_fact("/etc/passwd", mode=0o644),
        file_fact("/etc/shadow", mode=0o640, gid=42),
        file_fact("/etc/sudoers", mode=0o440),
        file_fact("/etc/sudoers.d", type=FileType.DIR, mode=0o755),
    )
    assert run_rule("DA311", facts) == []
