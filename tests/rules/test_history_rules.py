"""DA2xx over constructed history: each rule fires on its flaw and stays quiet otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from dockaudit.facts.filesystem import FileType
from dockaudit.facts.image import HistoryEntry, ImageFacts
from dockaudit.model import Origin, Severity, Status
from tests.rules.conftest import (
    file_fact,
    history_entry,
    make_filesystem,
    make_history,
    make_image_facts,
    run_rule,
)


def image(*lines: str, **overrides: Any) -> ImageFacts:
    """Image facts whose user layers are `lines` (legacy-builder spelling unless written otherwise)."""
    return make_image_facts(history=make_history(*lines), **overrides)


def run(line: str) -> str:
    return f"/bin/sh -c {line}"


def test_clean_history_passes_every_history_rule() -> None:
    facts = image(
        run(
            "apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 && rm -rf /var/lib/apt/lists/*"
        ),
        run("pip install --no-cache-dir flask==3.0.0"),
        "/bin/sh -c #(nop) COPY dir:abc in /app ",
        '/bin/sh -c #(nop)  CMD ["/app/server"]',
    )
    for n in range(1, 16):
        assert run_rule(f"DA2{n:02d}", facts) == [], f"DA2{n:02d}"
    assert run_rule("DA609", facts) == [] and run_rule("DA610", facts) == []


# DA201 ------------------------------------------------------------------------------------------


def test_secret_build_arg_is_critical_and_reported_once() -> None:
    token = "npm_DockAuditFakeNpmToken0123456789abcde"
    facts = image(f"|1 NPM_TOKEN={token} /bin/sh -c npm ci", f"|1 NPM_TOKEN={token} /bin/sh -c npm run build")
    [finding] = run_rule("DA201", facts)
    assert finding.severity is Severity.CRITICAL
    assert token not in finding.evidence and "2 history step(s)" in finding.evidence
    assert finding.origin is Origin.USER


def test_harmless_or_empty_build_args_pass() -> None:
    facts = image("|2 VERSION=1.2.3 NPM_TOKEN= /bin/sh -c make", "|1 GPG_KEY=ABCDEF0123 /bin/sh -c true")
    assert run_rule("DA201", facts) == []


# DA202 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "curl -u admin:s3cretpassw0rd https://example.com/artifact",
        "curl -H 'Authorization: Bearer abcdef0123456789' https://api.example.com",
        'echo "//registry.npmjs.org/:_authToken=abcd1234efgh5678" > /root/.npmrc',
        "git clone https://bob:s3cretpassw0rd@github.com/org/repo.git",
        "echo ghp_DockAuditFakeGithubToken0123456789ab > /tmp/t",
    ],
)
def test_literal_credential_in_run(command: str) -> None:
    [finding] = run_rule("DA202", image(run(command)))
    assert finding.severity is Severity.HIGH
    assert "s3cretpassw0rd" not in finding.evidence and "(redacted" in finding.evidence


def test_literal_passwords_given_to_clients_are_da609s_not_da202s() -> None:
    for command in (
        "docker login --password s3cretpassw0rd registry.example.com",
        "mysql -uroot -ps3cretpassw0rd -e 'select 1'",
    ):
        facts = image(run(command))
        assert run_rule("DA202", facts) == []
        [finding] = run_rule("DA609", facts)
        assert finding.severity is Severity.CRITICAL and "s3cretpassw0rd" not in finding.evidence


def test_run_expanding_a_secret_build_arg() -> None:
    facts = image('|1 NPM_TOKEN=abcdefgh12345678 /bin/sh -c echo "_authToken=$NPM_TOKEN" > .npmrc')
    [finding] = run_rule("DA202", facts)
    assert "$NPM_TOKEN" in finding.evidence


def test_secret_mount_read_is_not_a_credential() -> None:
    facts = image(
        "RUN --mount=type=secret,id=npm /bin/sh -c NPM_TOKEN=$(cat /run/secrets/npm) npm ci # buildkit",
        run("docker login --password-stdin registry.example.com < /run/secrets/pw"),
    )
    assert run_rule("DA202", facts) == []


def test_secret_env_in_history_is_not_a_run_credential() -> None:
    assert run_rule("DA202", image("/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2-hunter2")) == []


# DA203 ------------------------------------------------------------------------------------------


def test_add_of_a_local_plain_file_with_layers_read() -> None:
    fs = make_filesystem(file_fact("/app/app.conf", layer_index=1))
    facts = image("/bin/sh -c #(nop) ADD file:2eee in /app/app.conf ", filesystem=fs)
    [finding] = run_rule("DA203", facts)
    assert "/app/app.conf" in finding.evidence and finding.origin is Origin.USER


def test_add_of_an_archive_is_fine() -> None:
    files = [file_fact(f"/opt/tool/{n}", layer_index=1) for n in ("bin/tool", "lib/a.so", "README")]
    fs = make_filesystem(file_fact("/opt/tool", type=FileType.DIR, layer_index=1), *files)
    facts = image("/bin/sh -c #(nop) ADD file:2eee in /opt/ ", filesystem=fs)
    assert run_rule("DA203", facts) == []


def test_add_of_a_local_directory() -> None:
    assert len(run_rule("DA203", image("/bin/sh -c #(nop) ADD dir:abc in /app/ "))) == 1


def test_buildkit_add_names_its_source() -> None:
    facts = image("ADD app.conf /app/ # buildkit", "ADD vendor.tar.gz /opt/ # buildkit")
    [finding] = run_rule("DA203", facts)
    assert "app.conf" in finding.evidence


def test_add_file_without_layers_is_skipped() -> None:
    [finding] = run_rule("DA203", image("/bin/sh -c #(nop) ADD file:2eee in /app/ "))
    assert finding.status is Status.SKIPPED


def test_base_image_rootfs_add_is_not_the_users() -> None:
    # make_history's base layer is `ADD file:abc in /`: the base image's own root filesystem.
    assert run_rule("DA203", image(run("true"))) == []


# DA204 ------------------------------------------------------------------------------------------


def test_add_of_a_remote_url() -> None:
    [finding] = run_rule("DA204", image("ADD https://example.com/tool.tgz /opt/ # buildkit"))
    assert "https://example.com/tool.tgz" in finding.evidence


def test_add_with_checksum_passes() -> None:
    facts = image("ADD --checksum=sha256:abc https://example.com/tool.tgz /opt/ # buildkit")
    assert run_rule("DA204", facts) == []


# DA205 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["apt-get update", "apk update", "yum makecache"])
def test_update_alone(command: str) -> None:
    assert len(run_rule("DA205", image(run(command)))) == 1


def test_update_with_install_passes() -> None:
    assert run_rule("DA205", image(run("apt-get update && apt-get install -y curl"))) == []


# DA206 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["apt-get upgrade -y", "apt-get dist-upgrade -y", "apk upgrade", "yum update -y", "dnf upgrade"]
)
def test_whole_system_upgrade(command: str) -> None:
    assert len(run_rule("DA206", image(run(command)))) == 1


@pytest.mark.parametrize("command", ["yum update -y openssl", "apk upgrade musl", "apt-get update"])
def test_targeted_upgrade_passes(command: str) -> None:
    assert run_rule("DA206", image(run(command))) == []


# DA207 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("apt-get update && apt-get install -y --no-install-recommends curl", "/var/lib/apt/lists"),
        ("apk add curl", "--no-cache"),
        ("pip install flask", "--no-cache-dir"),
        ("python3 -m pip install flask", "--no-cache-dir"),
        ("yum install -y curl", "clean all"),
        ("npm ci", "cache clean"),
    ],
)
def test_package_cache_kept(command: str, why: str) -> None:
    [finding] = run_rule("DA207", image(run(command)))
    assert why in finding.evidence


@pytest.mark.parametrize(
    "command",
    [
        "apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
        "apk add --no-cache curl",
        "pip install --no-cache-dir flask",
        "yum install -y curl && yum clean all",
        "npm ci && npm cache clean --force",
    ],
)
def test_package_cache_removed_passes(command: str) -> None:
    assert run_rule("DA207", image(run(command))) == []


def test_cache_mount_keeps_the_cache_out_of_the_layer() -> None:
    line = "RUN --mount=type=cache,target=/root/.cache/pip /bin/sh -c pip install flask # buildkit"
    assert run_rule("DA207", image(line)) == []


# DA208 ------------------------------------------------------------------------------------------


def test_apt_install_without_no_install_recommends() -> None:
    assert len(run_rule("DA208", image(run("apt-get install -y curl")))) == 1


def test_apt_install_with_no_install_recommends_passes() -> None:
    assert run_rule("DA208", image(run("apt-get install -y --no-install-recommends curl"))) == []


def test_no_install_recommends_held_in_a_variable_the_run_sets_passes() -> None:
    chosen = 'opts="" && if [ -f /etc/os ]; then opts="--no-install-recommends"; fi && apt-get install $opts curl'
    assert run_rule("DA208", image(run(chosen))) == []
    assert run_rule("DA208", image(run('o=--no-install-recommends && apt-get install -y "${o}" curl'))) == []
    # A variable the RUN does not set to it proves nothing.
    assert len(run_rule("DA208", image(run("opts=-q && apt-get install -y $opts curl")))) == 1
    assert len(run_rule("DA208", image(run("apt-get install -y $APT_OPTS curl")))) == 1


# DA209 ------------------------------------------------------------------------------------------


def test_sudo_in_run() -> None:
    [finding] = run_rule("DA209", image(run("sudo -E apt-get install -y curl")))
    assert finding.severity is Severity.MEDIUM


def test_installing_the_sudo_package_is_not_using_it() -> None:
    assert run_rule("DA209", image(run("apt-get install -y sudo && echo 'sudo ok'"))) == []


# DA210 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "curl -fsSL https://get.example.com | sh",
        "wget -O- https://get.example.com | bash",
        "curl -s https://x | sudo bash -s -- --yes",
        'sh -c "$(curl -fsSL https://get.example.com)"',
        "bash <(curl -s https://get.example.com)",
        # python-poetry's installer, as tiangolo's and many Python images run it.
        "curl -sSL https://install.python-poetry.org | POETRY_HOME=/opt/poetry python",
        "curl -sSL https://install.python-poetry.org | python3 -",
        # Composer's installer as its docs give it, and with an ini setting first.
        "curl -sS https://getcomposer.org/installer | php -- --install-dir=/usr/local/bin --filename=composer",
        "curl -sS https://getcomposer.org/installer | php",
        "curl -sS https://getcomposer.org/installer | php -d memory_limit=-1 -- --filename=composer",
        "curl -fsSL https://example.com/setup.py | python3 - --prefix=/opt",
    ],
)
def test_download_piped_into_a_shell(command: str) -> None:
    assert len(run_rule("DA210", image(run(command)))) == 1


@pytest.mark.parametrize(
    "command",
    [
        'echo "curl -fsSL https://get.example.com | sh" > /install.sh',
        "printf '%s\\n' 'wget -O- x | bash' >> /docs/README",
        "curl -fsSLo /tmp/i.sh https://get.example.com && sha256sum -c sums && sh /tmp/i.sh",
        "cat script.sh | sh",
        # Parsing a download is not running it.
        "curl -s https://api.example.com/latest | python3 -c 'import json,sys; print(json.load(sys.stdin))'",
        "curl -s https://api.example.com/latest | python3 tools/parse.py --out /tmp/x",
        "curl -s https://api.example.com/latest | php -r 'echo json_decode(stream_get_contents(STDIN))->v;'",
        "curl -s https://api.example.com/data | node -e 'process.stdin.pipe(process.stdout)'",
    ],
)
def test_script_text_in_echo_is_not_a_pipe_to_shell(command: str) -> None:
    assert run_rule("DA210", image(run(command))) == []


# DA211 ------------------------------------------------------------------------------------------


def test_layer_without_instruction_is_a_commit() -> None:
    history = (*make_history(run("true")), HistoryEntry(index=3, created_by="", empty_layer=False, layer_index=2))
    assert len(run_rule("DA211", make_image_facts(history=history))) == 1


def test_commit_message_is_a_commit() -> None:
    history = (*make_history(run("true")), history_entry("bash", index=3, comment="hotfix on prod"))
    [finding] = run_rule("DA211", make_image_facts(history=history))
    assert "hotfix on prod" in finding.evidence


def test_builder_comments_are_not_commits() -> None:
    history = (
        history_entry("RUN /bin/sh -c make # buildkit", index=0, comment="buildkit.dockerfile.v0", layer_index=0),
        history_entry("COPY . /app # buildkit", index=1, comment="buildkit.dockerfile.v0", layer_index=1),
        history_entry("", index=2, comment="Imported from -", layer_index=2),
    )
    assert run_rule("DA211", make_image_facts(history=history)) == []


def buildah_history(*steps: tuple[str, str, bool]) -> tuple[HistoryEntry, ...]:
    """History as `podman build` writes it: (created_by, comment, empty_layer) per step, oldest first."""
    entries: list[HistoryEntry] = []
    layer = 0
    for index, (created_by, comment, empty) in enumerate(steps):
        entries.append(
            history_entry(created_by, index, comment=comment, empty_layer=empty, layer_index=None if empty else layer)
        )
        layer += 0 if empty else 1
    return tuple(entries)


PODMAN_BUILD = (
    ("/bin/sh -c #(nop) COPY file:01b0553b128d in /bin/busybox ", "", False),
    ('/bin/sh -c ["/bin/busybox", "--install", "-s", "/bin"]', "FROM ecdc98948e01", False),
    ('/bin/sh -c #(nop) CMD ["sh"]', "FROM 75db97f0efd7", True),
    ("/bin/sh -c #(nop) ARG NPM_TOKEN", "FROM localhost/dockaudit-test/base:6094c72e5427", True),
    ("|1 NPM_TOKEN=x /bin/sh -c echo hi > /hi", "FROM 3985a4996a70", False),
    ("/bin/sh -c #(nop) COPY file:cd38b33cfcb9 in /x ", "FROM docker.io/library/debian:12", False),
)
"""Comments as buildah 1.28 writes them: the image each step started from, by id or by the FROM reference."""


def test_podman_build_comments_are_not_commits() -> None:
    assert run_rule("DA211", make_image_facts(history=buildah_history(*PODMAN_BUILD))) == []


def test_podman_commit_layer_is_a_commit() -> None:
    # `podman commit` (and `docker commit` against Podman's socket) records `/bin/sh` and buildah's FROM comment.
    history = buildah_history(*PODMAN_BUILD, ("/bin/sh", "FROM localhost/shop/web:1", False))
    [finding] = run_rule("DA211", make_image_facts(history=history))
    assert "no instruction recorded" in finding.evidence and "podman/buildah commit on top of localhost/shop/web:1" in (
        finding.evidence
    )


def test_docker_commit_message_with_a_from_prefix_and_words_is_still_a_commit() -> None:
    history = buildah_history(*PODMAN_BUILD, ("bash", "FROM prod: hotfix applied by hand", False))
    [finding] = run_rule("DA211", make_image_facts(history=history))
    assert "commit message 'FROM prod: hotfix applied by hand'" in finding.evidence


def test_empty_buildah_step_without_a_layer_is_not_a_commit() -> None:
    history = buildah_history(*PODMAN_BUILD, ("/bin/sh", "FROM localhost/shop/web:1", True))
    assert run_rule("DA211", make_image_facts(history=history)) == []


# DA212 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["apt-get install -y --no-install-recommends curl", "apk add --no-cache curl", "pip install flask"]
)
def test_unpinned_packages_are_info(command: str) -> None:
    [finding] = run_rule("DA212", image(run(command)))
    assert finding.severity is Severity.INFO


@pytest.mark.parametrize(
    "command",
    [
        "apt-get install -y curl=7.88.1-10",
        "apk add --no-cache curl=8.5.0-r0",
        "pip install flask==3.0.0",
        "pip install -r requirements.txt",
        "pip install .",
    ],
)
def test_pinned_packages_pass(command: str) -> None:
    assert run_rule("DA212", image(run(command))) == []


# DA213 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["chmod 777 /app", "chmod -R a+w /data", "chmod o+w /x", "chmod 666 /f"])
def test_world_writable_chmod(command: str) -> None:
    assert len(run_rule("DA213", image(run(command)))) == 1


@pytest.mark.parametrize("command", ["chmod 1777 /tmp", "chmod 755 /app", "chmod +x /app/run", "chmod u+w /f"])
def test_safe_chmod_passes(command: str) -> None:
    assert run_rule("DA213", image(run(command))) == []


# origin -----------------------------------------------------------------------------------------


def test_base_steps_are_reported_as_base() -> None:
    facts = make_image_facts(history=make_history(run("true"), base=(run("chmod 777 /srv"),)))
    [finding] = run_rule("DA213", facts)
    assert finding.origin is Origin.BASE


def test_legacy_boundary_heuristic_without_collector_origins() -> None:
    lines = [
        "/bin/sh -c #(nop) ADD file:abc in / ",
        '/bin/sh -c #(nop)  CMD ["sh"]',
        run("chmod 777 /app"),
        '/bin/sh -c #(nop)  CMD ["/app"]',
    ]
    history = tuple(history_entry(text, index=i, from_base=None) for i, text in enumerate(lines))
    origins = [step.origin for step in make_image_facts(history=history).steps]
    assert origins == [Origin.BASE, Origin.BASE, Origin.USER, Origin.USER]


def test_step_parsing_reads_both_builders() -> None:
    legacy = history_entry("|1 A=b /bin/sh -c apt-get update")
    buildkit = history_entry("RUN |1 A=b /bin/sh -c apt-get update # buildkit")
    nop = history_entry("/bin/sh -c #(nop)  ENV A=b")
    assert (legacy.instruction, legacy.body) == ("RUN", "apt-get update")
    assert (buildkit.instruction, buildkit.body) == ("RUN", "apt-get update")
    assert (nop.instruction, nop.body) == ("ENV", "A=b")
