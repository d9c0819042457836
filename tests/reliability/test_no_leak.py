"""No planted secret on a real terminal or in any log record, at every log level.

Complements tests/reliability/test_tool_secrets.py (every report file, piped stdout and stderr, harden,
doctor, the TUI screens): here the table is drawn on a pseudo-terminal with colours, where styling could
split a value, and every logger (dockaudit's, docker-py's, urllib3's) runs at DEBUG during a full audit.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from dockaudit.cli import main
from tests.fixtures import planted
from tests.reliability.terminal import pty_run

pytestmark = [pytest.mark.docker, pytest.mark.trivy]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_BOX = re.compile(r"[│╭╮╰╯─]")


def _fragments() -> list[str]:
    """Each planted value, and its first and last 10 characters (a value folded over two table lines)."""
    out: list[str] = []
    for secret in planted.ALL:
        out.append(secret)
        if len(secret) >= 16 and not secret.startswith("dockaudit"):
            out += [secret[:10], secret[-10:]]
    return out


def _leaks(text: str) -> list[str]:
    plain = _ANSI.sub("", text)
    # Folded cells: drop the box drawing and the line breaks, so a value split over lines joins up again.
    joined = re.sub(r"\s+", "", _BOX.sub("", plain))
    return sorted({f for f in _fragments() if f in plain or f in joined})


def test_the_table_on_a_terminal_shows_no_secret(
    tmp_path: Path, trivy_db: Path, bad_image: str, bad_containers: dict[str, str]
) -> None:
    argv = [
        sys.executable,
        "-m",
        "dockaudit",
        "scan",
        f"image:{bad_image}",
        f"container:{bad_containers['host']}",
        "--offline",
        "--trivy-cache-dir",
        str(trivy_db),
        "--fail-on",
        "never",
        "-f",
        "table",
    ]
    code, screen = pty_run(argv, tmp_path)
    assert code == 0, screen[-2000:]
    assert "\x1b[" in screen, "colours are on: this really is a terminal"
    assert "redacted" in _ANSI.sub("", screen)
    assert _leaks(screen) == []


def test_debug_logs_of_a_full_audit_hold_no_secret(
    tmp_path: Path,
    trivy_db: Path,
    bad_image: str,
    bad_containers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    report = tmp_path / "report.json"
    code = main(
        [
            "scan",
            f"image:{bad_image}",
            f"container:{bad_containers['host']}",
            "--host-checks",
            "--offline",
            "--trivy-cache-dir",
            str(trivy_db),
            "--fail-on",
            "never",
            "--no-cache",
            "-f",
            "json",
            "-o",
            str(report),
            "-f",
            "table",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert caplog.records, "the engine client logged its requests at DEBUG"
    assert "redacted" in report.read_text(encoding="utf-8")
    assert _leaks(caplog.text) == []
    assert _leaks(" ".join(str(r.args) for r in caplog.records)) == []
    assert _leaks(out + err) == []
