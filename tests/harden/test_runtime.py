"""Runtime hardening from container facts: the current command, the hardened one, Compose, notes."""

from __future__ import annotations

import shlex
from dataclasses import replace

from dockaudit.facts.container import ContainerFacts, ContainerState, HostConfig, Mount, PortBinding, Process
from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType
from dockaudit.facts.image import ImageConfig, ImageFacts, NamedValue
from dockaudit.harden.runtime import harden_container
from dockaudit.secrets import SecretMatch


def container(**overrides: object) -> ContainerFacts:
    values: dict[str, object] = {
        "id": "c" * 64,
        "name": "web",
        "image_ref": "shop/web:1.4",
        "image_id": "sha256:" + "i" * 64,
        "created": None,
        "state": ContainerState(status="running", running=True, pid=42),
        "host_config": HostConfig(),
        "mounts": (),
        "user": "",
        "env": (),
        "labels": (),
        "entrypoint": None,
        "cmd": ("serve",),
        "healthcheck": None,
    }
    values.update(overrides)
    return ContainerFacts(**values)  # type: ignore[arg-type]


def image(**config: object) -> ImageFacts:
    return ImageFacts(
        id="sha256:" + "i" * 64,
        repo_tags=("shop/web:1.4",),
        repo_digests=(),
        size=1,
        created=None,
        architecture="amd64",
        os="linux",
        config=ImageConfig(**config),  # type: ignore[arg-type]
        history=(),
        layers=(),
    )


def flags(run: str) -> list[str]:
    command = "\n".join(line for line in run.splitlines() if not line.startswith("#"))
    return shlex.split(command.replace("\\\n", " "))


def adjacent(words: list[str], pair: list[str]) -> bool:
    return any(words[i : i + 2] == pair for i in range(len(words) - 1))


def test_current_command_reproduces_inspect() -> None:
    facts = container(
        host_config=HostConfig(
            network_mode="shopnet",
            port_bindings=(PortBinding("80/tcp", "127.0.0.1", 8080),),
            restart_policy="unless-stopped",
            cap_add=("NET_ADMIN",),
            memory=256 * 1024 * 1024,
        ),
        mounts=(
            Mount("bind", "/srv/data", "/data", read_write=False),
            Mount("volume", "", "/cache", True, name="cache"),
        ),
        labels=(NamedValue("team", "shop"),),
        user="1000:1000",
    )
    words = flags(harden_container(facts).current_run)
    for expected in (
        ["--network", "shopnet"],
        ["-p", "127.0.0.1:8080:80"],
        ["-v", "/srv/data:/data:ro"],
        ["-v", "cache:/cache"],
        ["--restart", "unless-stopped"],
        ["--cap-add", "NET_ADMIN"],
        ["--memory", "256m"],
        ["--label", "team=shop"],
        ["--user", "1000:1000"],
    ):
        assert adjacent(words, expected), expected
    assert words[-2:] == ["shop/web:1.4", "serve"]


def test_env_values_never_appear_only_the_env_file() -> None:
    facts = container(
        env=(
            NamedValue("API_TOKEN", "ghp_…(redacted, 40 chars)", SecretMatch("name", "token", 40)),
            NamedValue("LOG_LEVEL", "debug"),
        )
    )
    result = harden_container(facts)
    for text in (result.current_run, result.hardened_run, result.compose, result.diff()):
        assert "debug" not in text and "redacted" not in text
    assert "--env-file web.env" in result.hardened_run
    assert "holds the environment: API_TOKEN, LOG_LEVEL" in result.hardened_run
    assert any("DA423" in note for note in result.notes)


def test_hardened_command_adds_every_runtime_fix() -> None:
    result = harden_container(container(), image(exposed_ports=("8080/tcp",)))
    words = flags(result.hardened_run)
    assert words[words.index("--user") : words.index("--user") + 2] == ["--user", "10001:10001"]
    for flag in ("--read-only", "--init"):
        assert flag in words
    assert words[words.index("--cap-drop") + 1] == "ALL"
    assert "no-new-privileges" in words
    assert words[words.index("--memory") + 1] == "512m"
    assert words[words.index("--pids-limit") + 1] == "256"
    assert "max-size=10m" in words
    assert any(w.startswith("/tmp") for w in words)
    rules = {rule for change in result.changes for rule in change.rule_ids}
    assert {"DA408", "DA409", "DA410", "DA412", "DA414", "DA415", "DA416"} <= rules
    assert any("defaults, not measurements" in note for note in result.notes)


def test_limits_come_from_observed_usage_with_headroom() -> None:
    facts = container(stats_memory_bytes=100 * 1024 * 1024, stats_cpu_percent=30.0, stats_pids=20)
    words = flags(harden_container(facts).hardened_run)
    assert words[words.index("--memory") + 1] == "208m"
    assert words[words.index("--cpus") + 1] == "0.75"
    assert words[words.index("--pids-limit") + 1] == "80"


def test_dangerous_settings_are_removed() -> None:
    facts = container(
        host_config=HostConfig(
            privileged=True,
            network_mode="host",
            pid_mode="host",
            cap_add=("SYS_ADMIN", "CHOWN"),
            security_opt=("seccomp=unconfined", "label=disable"),
            devices=("/dev/kvm:/dev/kvm:rwm",),
            oom_kill_disable=True,
            masked_paths=(),
            readonly_paths=(),
        ),
        mounts=(
            Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", True),
            Mount("bind", "/etc", "/host-etc", True),
        ),
    )
    result = harden_container(facts)
    hardened = result.hardened_run
    for gone in (
        "--privileged",
        "--network host",
        "--pid host",
        "SYS_ADMIN",
        "seccomp=unconfined",
        "docker.sock",
        "/dev/kvm",
        "--oom-kill-disable",
    ):
        assert gone not in hardened
    assert "/etc:/host-etc:ro" in hardened
    assert "--cap-add CHOWN" in hardened
    assert "privileged" not in result.compose


def test_server_that_drops_privileges_itself_keeps_root_with_its_caps() -> None:
    facts = container(
        cmd=("nginx", "-g", "daemon off;"),
        processes=(Process(42, 1, "root", "S", "nginx: master process nginx"),),
        host_config=HostConfig(port_bindings=(PortBinding("80/tcp", "", 80),)),
    )
    result = harden_container(facts)
    assert "--user" not in result.hardened_run
    for cap in ("NET_BIND_SERVICE", "SETUID", "SETGID", "CHOWN"):
        assert f"--cap-add {cap}" in result.hardened_run
    assert "/var/cache/nginx" in result.hardened_run
    assert any("nginx starts as root" in note for note in result.notes)


def test_compose_service_matches_the_hardened_command() -> None:
    result = harden_container(container(labels=(NamedValue("team", "shop"),)))
    compose = result.compose
    assert compose.startswith("services:\n  web:\n")
    for line in (
        "read_only: true",
        "- ALL",
        "- no-new-privileges",
        "mem_limit: 512m",
        "pids_limit: 256",
        "init: true",
        "max-size: 10m",
        'max-file: "3"',
        'user: "10001:10001"',
    ):
        assert line in compose
    assert "+    read_only: true" in result.diff()


def test_a_hardened_container_changes_nothing_at_runtime() -> None:
    facts = container(
        user="10001:10001",
        healthcheck=None,
        image_healthcheck=None,
        host_config=HostConfig(
            readonly_rootfs=True,
            cap_drop=("ALL",),
            security_opt=("no-new-privileges",),
            memory=64 * 1024 * 1024,
            nano_cpus=500_000_000,
            pids_limit=64,
            init=True,
            log_driver="json-file",
            log_options=(("max-file", "3"), ("max-size", "10m")),
        ),
    )
    result = harden_container(facts)
    rules = {rule for change in result.changes for rule in change.rule_ids}
    assert rules <= {"DA417"}


def test_empty_directories_the_user_owns_get_a_tmpfs() -> None:
    def entry(path: str, kind: FileType, uid: int) -> FileFact:
        return FileFact(path, kind, 0o755, uid, uid, 0, 0)

    files = (
        entry("/app", FileType.DIR, 10001),
        entry("/app/app.py", FileType.FILE, 10001),
        entry("/app/data", FileType.DIR, 10001),
        entry("/var/cache/x", FileType.DIR, 0),
        entry("/srv/volume", FileType.DIR, 10001),
    )
    img = replace(
        image(user="10001:10001", volumes=("/srv/volume",)),
        filesystem=FilesystemFacts(files=files, layers=(), total_size=0, wasted_bytes=0),
    )
    result = harden_container(container(image_user="10001:10001"), img)
    words = flags(result.hardened_run)
    tmpfs = [words[i + 1] for i, w in enumerate(words) if w == "--tmpfs"]
    assert [t.split(":")[0] for t in tmpfs] == ["/tmp", "/app/data"]
    assert "--user" not in words


def test_drifted_tag_is_replaced_by_the_running_image_id() -> None:
    result = harden_container(container(tag_drift=True))
    assert flags(result.hardened_run)[-2] == "sha256:" + "i" * 64
    assert any("has moved" in note for note in result.notes)


def test_image_whose_entrypoint_drops_privileges_gets_no_user_flag() -> None:
    """Like a Dockerfile, a container of a gosu/su-exec image must start as root for its entrypoint to work."""
    img = image(entrypoint=("su-exec", "app", "/app/server"), cmd=None)
    result = harden_container(container(entrypoint=("su-exec", "app", "/app/server"), cmd=None), img)
    assert "--user" not in flags(result.hardened_run)
    assert any("drops to app" in note for note in result.notes)


def test_no_health_cmd_without_a_probe_that_can_pass() -> None:
    """An exposed port of an unknown protocol gets no --health-cmd (it would mark a working app unhealthy)."""
    result = harden_container(container(), image(exposed_ports=("9000/tcp",)))
    assert "--health-cmd" not in result.hardened_run
    assert any("No healthcheck was derived" in note for note in result.notes)
