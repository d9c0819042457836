"""DA3xx over constructed filesystem facts: each rule fires on its flaw and stays quiet otherwise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from dockaudit.config import Settings, Thresholds
from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType, LayerInfo
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Origin, Status
from dockaudit.rules import load_all
from dockaudit.rules.registry import RULES
from dockaudit.secrets import SecretMatch
from tests.rules.conftest import ALPINE, file_fact, make_config, make_ctx, make_filesystem, make_image_facts, run_rule

PASSWD = (
    b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\napp:x:10001:10001::/app:/sbin/nologin\n"
)
GROUP = b"root:x:0:\ndaemon:x:1:\napp:x:10001:\n"
SHADOW = b"root:*:19700:0:99999:7:::\ndaemon:*:19700::::::\napp:!:19700::::::\n"
KEY = SecretMatch("private-key", "private key", 1679)


def clean_files(*extra: FileFact) -> tuple[FileFact, ...]:
    """A minimal distroless-like tree with account files and a static app binary."""
    return (
        file_fact("/etc", type=FileType.DIR, mode=0o755),
        file_fact("/etc/passwd", content=PASSWD),
        file_fact("/etc/group", content=GROUP),
        file_fact("/etc/shadow", mode=0o640, content=SHADOW),
        file_fact("/tmp", type=FileType.DIR, mode=0o1777),
        file_fact("/app", type=FileType.DIR, mode=0o755, layer_index=1),
        file_fact("/app/server", mode=0o755, layer_index=1, size=5_000_000),
        *extra,
    )


def image(*extra: FileFact, **overrides: Any) -> ImageFacts:
    fs_overrides = overrides.pop("fs", {})
    fs = make_filesystem(*clean_files(*extra), **fs_overrides)
    layers = tuple(replace(layer, from_base=layer.index == 0) for layer in fs.layers)
    return make_image_facts(filesystem=replace(fs, layers=layers), **overrides)


def fails(rule_id: str, facts: ImageFacts, settings: Settings | None = None) -> list[Any]:
    findings = run_rule(rule_id, facts, make_ctx(settings))
    assert findings, f"{rule_id} should fail"
    assert all(f.status is Status.FAIL for f in findings)
    return findings


def passes(rule_id: str, facts: ImageFacts, settings: Settings | None = None) -> None:
    assert run_rule(rule_id, facts, make_ctx(settings)) == []


@pytest.mark.parametrize("rule_id", [f"DA3{n:02d}" for n in range(1, 15)])
def test_clean_filesystem_passes(rule_id: str) -> None:
    load_all()
    assert RULES[rule_id].scope.value == "filesystem"
    assert run_rule(rule_id, image()) == []


@pytest.mark.parametrize("rule_id", [f"DA3{n:02d}" for n in range(1, 15)])
def test_every_filesystem_rule_skips_without_layers(rule_id: str) -> None:
    facts = make_image_facts(filesystem=None, filesystem_skip_reason="remote engine: layers not read (--no-layers)")
    (finding,) = run_rule(rule_id, facts)
    assert finding.status is Status.SKIPPED
    assert finding.evidence == "remote engine: layers not read (--no-layers)"


def test_setuid_binary_lists_path_and_mode_and_origin() -> None:
    facts = image(
        file_fact("/usr/bin/passwd", mode=0o4755),
        file_fact("/usr/local/bin/helper", mode=0o2755, layer_index=1),
    )
    findings = fails("DA301", facts)
    by_origin = {f.origin: f.evidence for f in findings}
    assert "/usr/local/bin/helper (2755)" in by_origin[Origin.USER]
    assert "/usr/bin/passwd (4755)" in by_origin[Origin.BASE]


def test_setuid_allowlist_and_directories_pass() -> None:
    settings = Settings(allow_setuid_paths=("/usr/bin/*",))
    passes("DA301", image(file_fact("/usr/bin/passwd", mode=0o4755)), settings)
    passes("DA301", image(file_fact("/srv/shared", type=FileType.DIR, mode=0o2775)))


def test_setuid_binary_removed_later_passes() -> None:
    passes("DA301", image(file_fact("/usr/bin/su", mode=0o4755, deleted_later=True)))


def test_secret_file_in_final_filesystem_is_critical() -> None:
    (finding,) = fails("DA302", image(file_fact("/app/deploy_key.pem", layer_index=1, secret=KEY)))
    assert finding.severity.label == "critical"
    assert finding.location.path == "/app/deploy_key.pem"
    assert finding.origin is Origin.USER


def test_plain_files_are_not_secret_files() -> None:
    passes("DA302", image(file_fact("/app/config.yaml", layer_index=1)))


def test_deleted_secret_is_still_in_the_image() -> None:
    facts = image(file_fact("/root/.ssh/id_rsa", layer_index=1, secret=KEY, deleted_later=True))
    (finding,) = fails("DA303", facts)
    assert "deleted" in finding.evidence and finding.location.layer == 1
    passes("DA302", facts)


def test_secret_that_stays_is_not_a_deleted_layer_secret() -> None:
    passes("DA303", image(file_fact("/root/.ssh/id_rsa", layer_index=1, secret=KEY)))


def test_package_cache_reports_bytes_wasted() -> None:
    facts = image(
        file_fact("/var/lib/apt/lists/lock", size=0),
        file_fact("/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", size=150_000, layer_index=1),
        file_fact("/root/.cache/pip/http/ab/cd", size=2_000, layer_index=1),
    )
    evidence = [f.evidence for f in fails("DA304", facts)]
    assert any("/var/lib/apt/lists/" in e and "150000 bytes" in e for e in evidence)
    assert any("pip" in e and "2000 bytes" in e for e in evidence)


def test_empty_apt_lists_pass() -> None:
    passes(
        "DA304",
        image(file_fact("/var/lib/apt/lists/lock", size=0), file_fact("/var/lib/apt/lists/partial", type=FileType.DIR)),
    )


def test_vcs_metadata_found_once_per_repository() -> None:
    facts = image(
        file_fact("/app/.git", type=FileType.DIR, layer_index=1),
        file_fact("/app/.git/HEAD", layer_index=1),
        file_fact("/srv/site/.hg/store/data", layer_index=1),
    )
    assert sorted(f.location.path for f in fails("DA305", facts)) == ["/app/.git", "/srv/site/.hg"]


def test_gitignore_is_not_vcs_metadata() -> None:
    passes("DA305", image(file_fact("/app/.gitignore", layer_index=1), file_fact("/app/.github", type=FileType.DIR)))


@pytest.mark.parametrize(
    "path",
    [
        "/usr/bin/gcc-12",
        "/usr/bin/x86_64-linux-gnu-gcc-12",
        "/usr/bin/make",
        "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
        "/usr/local/go/bin/go",
        "/root/.cargo/bin/rustc",
        "/usr/bin/javac",
    ],
)
def test_build_tools_are_found(path: str) -> None:
    fails("DA306", image(file_fact(path, mode=0o755)))


def test_build_essential_in_dpkg_status_is_found() -> None:
    status = b"Package: libc6\nStatus: install ok installed\n\nPackage: build-essential\nStatus: install ok installed\n"
    findings = fails("DA306", image(file_fact("/var/lib/dpkg/status", content=status)))
    assert "build-essential" in findings[0].evidence


def test_files_named_like_tools_outside_bin_dirs_pass() -> None:
    passes(
        "DA306",
        image(
            file_fact("/usr/share/doc/make", type=FileType.DIR),
            file_fact("/app/docs/go", mode=0o644),
            file_fact("/usr/bin/gcc-ar-12-notes.txt"),
        ),
    )


def test_sshd_binary_is_found() -> None:
    fails("DA307", image(file_fact("/usr/sbin/sshd", mode=0o755)))


def test_sshd_config_alone_is_not_an_ssh_server() -> None:
    passes("DA307", image(file_fact("/etc/ssh/sshd_config"), file_fact("/usr/bin/ssh", mode=0o755)))


def test_database_bundled_with_another_entrypoint() -> None:
    fails("DA308", image(file_fact("/usr/bin/redis-server", mode=0o755)))


def test_database_image_running_its_database_passes() -> None:
    config = make_config(entrypoint=("docker-entrypoint.sh",), cmd=("postgres",))
    passes("DA308", image(file_fact("/usr/lib/postgresql/16/bin/postgres", mode=0o755), config=config))


def test_empty_password_in_shadow() -> None:
    shadow = file_fact("/etc/shadow", content=b"root::19700:0:99999:7:::\napp:!:19700::::::\n", layer_index=1)
    (finding,) = fails("DA309", image(shadow))
    assert "root" in finding.evidence


def test_missing_shadow_is_skipped() -> None:
    facts = make_image_facts(filesystem=make_filesystem(file_fact("/app/server")))
    (finding,) = run_rule("DA309", facts)
    assert finding.status is Status.SKIPPED and "/etc/shadow" in finding.evidence


def test_duplicate_uid_and_group_names() -> None:
    passwd = file_fact("/etc/passwd", content=PASSWD + b"toor:x:0:0::/root:/bin/sh\n", layer_index=1)
    group = file_fact("/etc/group", content=GROUP + b"app:x:10002:\n", layer_index=1)
    evidence = " | ".join(f.evidence for f in fails("DA310", image(passwd, group)))
    assert "UID 0" in evidence and "group name app" in evidence


def test_unique_accounts_pass() -> None:
    passes("DA310", image())


def test_world_writable_outside_tmp() -> None:
    facts = image(
        file_fact("/app/data.txt", mode=0o666, layer_index=1),
        file_fact("/app/shared", type=FileType.DIR, mode=0o777, layer_index=1),
    )
    (finding,) = fails("DA311", facts)
    assert "/app/data.txt (0666)" in finding.evidence and "/app/shared (0777)" in finding.evidence


def test_sticky_dirs_tmp_and_symlinks_pass() -> None:
    passes(
        "DA311",
        image(
            file_fact("/srv/drop", type=FileType.DIR, mode=0o1777),
            file_fact("/var/tmp/x", mode=0o666),
            file_fact("/dev/null", type=FileType.CHAR, mode=0o666),
            file_fact("/usr/bin/vi", type=FileType.SYMLINK, mode=0o777, link_target="busybox"),
        ),
    )


def test_wasted_space_over_both_thresholds() -> None:
    big = image(fs={"wasted_bytes": 30 * 1024 * 1024, "total_size": 100 * 1024 * 1024})
    (finding,) = fails("DA312", big)
    assert "30%" in finding.evidence


def test_wasted_space_thresholds_are_configurable() -> None:
    small = image(fs={"wasted_bytes": 5 * 1024 * 1024, "total_size": 20 * 1024 * 1024})
    passes("DA312", small)
    fails("DA312", small, Settings(thresholds=Thresholds(wasted_min_mb=1)))
    passes("DA312", image(fs={"wasted_bytes": 25 * 1024 * 1024, "total_size": 1024 * 1024 * 1024}))


def test_unnecessary_files_under_the_app() -> None:
    facts = image(
        file_fact("/app/.DS_Store", layer_index=1),
        file_fact("/app/.main.py.swp", layer_index=1),
        file_fact("/app/__pycache__", type=FileType.DIR, layer_index=1),
        file_fact("/app/tests", type=FileType.DIR, layer_index=1),
        file_fact("/app/node_modules/.cache", type=FileType.DIR, layer_index=1),
    )
    (finding,) = fails("DA313", facts)
    for path in ("/app/.DS_Store", "/app/.main.py.swp", "/app/__pycache__", "/app/tests", "/app/node_modules/.cache"):
        assert path in finding.evidence


def test_system_pycache_and_dependency_tests_pass() -> None:
    passes(
        "DA313",
        image(
            file_fact("/usr/lib/python3.11/__pycache__", type=FileType.DIR),
            file_fact("/app/node_modules/lodash/test", type=FileType.DIR, layer_index=1),
            file_fact("/usr/lib/python3/dist-packages/foo/tests", type=FileType.DIR),
        ),
    )


def test_shell_and_package_manager() -> None:
    facts = image(file_fact("/bin/sh", mode=0o755), file_fact("/sbin/apk", mode=0o755), os_release=ALPINE)
    (finding,) = fails("DA314", facts)
    assert "/bin/sh" in finding.evidence and "/sbin/apk" in finding.evidence


def test_shell_without_package_manager_passes() -> None:
    passes("DA314", image(file_fact("/bin/sh", mode=0o755)))


def test_cache_fix_is_tailored_to_the_distro() -> None:
    cache = file_fact("/var/cache/apk/APKINDEX.tar.gz", size=900_000, layer_index=1)
    alpine = fails("DA304", image(cache, os_release=ALPINE, fs={"os_release": ALPINE}))[0]
    debian = fails("DA304", image(cache))[0]
    assert alpine.fix is not None and "apk add --no-cache" in alpine.fix.dockerfile
    assert debian.fix is not None and "rm -rf /var/lib/apt/lists/*" in debian.fix.dockerfile


def test_unknown_layer_origin_is_unknown() -> None:
    fs = make_filesystem(*clean_files(file_fact("/usr/bin/sudo", mode=0o4755, layer_index=3)))
    facts = make_image_facts(filesystem=replace(fs, layers=(*fs.layers, LayerInfo(3, "sha256:x", 1))))
    assert fails("DA301", facts)[0].origin is Origin.UNKNOWN


def test_view_is_rebuilt_for_new_facts() -> None:
    first = image(file_fact("/usr/sbin/sshd", mode=0o755))
    fails("DA307", first)
    assert first.filesystem is not None
    second = replace(first, filesystem=FilesystemFacts(files=(), layers=(), total_size=0, wasted_bytes=0))
    passes("DA307", second)


def test_busybox_package_applets_are_not_package_managers() -> None:
    applets = [
        file_fact(p, type=FileType.SYMLINK, mode=0o777, link_target="/bin/busybox") for p in ("/bin/sh", "/bin/rpm")
    ]
    passes("DA314", image(*applets, file_fact("/usr/bin/dpkg", type=FileType.HARDLINK, link_target="/bin/busybox")))


def test_non_executable_files_named_like_tools_pass() -> None:
    passes("DA306", image(file_fact("/usr/bin/make", mode=0o644)))
    passes("DA307", image(file_fact("/usr/sbin/sshd", mode=0o644)))


def test_base_image_findings_name_a_base_image_change() -> None:
    facts = image(file_fact("/usr/bin/passwd", mode=0o4755), base_image="debian:12")
    (finding,) = fails("DA301", facts)
    assert finding.origin is Origin.BASE
    assert finding.fix is not None and "debian:12" in finding.fix.summary and finding.fix.dockerfile.startswith("FROM")


def test_setuid_evidence_lists_every_path() -> None:
    files = [file_fact(f"/usr/local/bin/tool{i}", mode=0o4755, layer_index=1) for i in range(15)]
    (finding,) = fails("DA301", image(*files))
    assert all(f"/usr/local/bin/tool{i} (4755)" in finding.evidence for i in range(15))
