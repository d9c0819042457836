"""`dockaudit harden`: outputs, files written and exit codes."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from dockaudit.cli import main
from tests.fixtures import planted

PROJECT_DOCKERFILE = "FROM scratch\nCOPY app /app\nCMD /app serve --port 8080\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(PROJECT_DOCKERFILE)
    (tmp_path / "app").write_text("binary\n")
    return tmp_path


def test_project_dir_prints_the_diff_and_reports_changes_on_stderr(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["harden", f"path:{project}"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n")
    assert '+CMD ["/app", "serve", "--port", "8080"]' in out
    assert "+++ b/.dockerignore" in out
    assert "[DA103, DA607]" in err and "--- a/" not in err
    assert not (project / ".dockerignore").exists(), "printing a diff writes nothing"


def test_output_file_gets_the_hardened_dockerfile_and_its_ignore_file(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "Dockerfile.hardened"
    assert main(["harden", str(project / "Dockerfile"), "-o", str(out), "-H", "unix:///nonexistent.sock"]) == 0
    text = out.read_text()
    # FROM scratch has no tool to create a user: the bare numeric nonroot UID (harden v2).
    assert "USER 65532:65532" in text and text.startswith("FROM scratch\n")
    assert ".git" in (tmp_path / "Dockerfile.hardened.dockerignore").read_text().splitlines()
    assert (project / "Dockerfile").read_text() == PROJECT_DOCKERFILE


def test_diff_flag_writes_the_diff(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "hardening.diff"
    assert main(["harden", f"path:{project}", "--diff", "-o", str(out)]) == 0
    assert out.read_text().startswith("--- a/Dockerfile\n")


def test_a_hardened_file_gives_an_empty_diff(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "Dockerfile"
    main(["harden", f"path:{project}", "-o", str(out)])
    (tmp_path / "Dockerfile.dockerignore").rename(tmp_path / ".dockerignore")
    capsys.readouterr()
    assert main(["harden", f"path:{tmp_path}"]) == 0
    out_text, err = capsys.readouterr()
    assert out_text == ""
    assert "nothing to harden" in err


def test_unparsable_dockerfile_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text("FROM\n")
    assert main(["harden", f"path:{tmp_path / 'Dockerfile'}"]) == 2
    assert capsys.readouterr().out == ""


def test_missing_target_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["harden", f"path:{tmp_path / 'nope'}"]) == 2


def test_image_target_on_an_unreachable_engine_is_an_engine_error() -> None:
    assert main(["harden", "image:whatever:1", "-H", "tcp://127.0.0.1:9"]) == 3


@pytest.mark.docker
def test_image_without_dockerfile_is_reconstructed(bad_image: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harden", f"image:{bad_image}"]) == 0
    out = capsys.readouterr().out
    # The diff quotes the reconstructed file's header as context around its first edit.
    assert "# Assumed base: " in out and "found locally by its layers" in out
    assert "+USER 10001:10001" in out
    for raw in (
        planted.AWS_ACCESS_KEY_ID,
        planted.AWS_SECRET_ACCESS_KEY,
        planted.NPM_TOKEN,
        planted.DB_PASSWORD,
        planted.SLACK_LABEL_TOKEN,
    ):
        assert raw not in out


@pytest.mark.docker
def test_unknown_name_on_a_reachable_engine_is_a_usage_error(docker_client: docker.DockerClient) -> None:
    assert main(["harden", "dockaudit-test/no-such-image-anywhere:0"]) == 2


@pytest.mark.docker
def test_container_target_prints_run_and_compose_diffs(
    bad_containers: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["harden", f"container:{bad_containers['host']}"]) == 0
    out = capsys.readouterr().out
    assert "+++ b/docker-run.sh" in out and "+++ b/compose.yaml" in out
    assert "+  --cap-drop ALL \\" in out
    assert "-  --privileged" not in out
    assert "holds the environment: API_TOKEN" in out
    assert planted.CONTAINER_API_TOKEN not in out


@pytest.mark.docker
def test_image_with_its_dockerfile_hardens_that_file(
    bad_image: str, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["harden", f"image:{bad_image}", "--dockerfile", str(project / "Dockerfile")]) == 0
    out = capsys.readouterr().out
    assert "Reconstructed" not in out
    assert out.startswith("--- a/Dockerfile\n") and "+++ b/.dockerignore" in out


def test_missing_dockerfile_option_is_a_usage_error(project: Path) -> None:
    assert main(["harden", f"path:{project}", "--dockerfile", str(project / "nope")]) == 2
