"""`dockaudit` with no command starts the TUI, which refuses to run without a terminal."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockaudit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_without_a_tty_it_points_to_scan_and_exits_2() -> None:
    proc = run_cli()
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "dockaudit scan" in proc.stderr


def test_tui_subcommand_accepts_engine_flags_and_still_needs_a_tty() -> None:
    proc = run_cli("tui", "-H", "unix:///nonexistent.sock")
    assert proc.returncode == 2 and "dockaudit scan" in proc.stderr


def test_host_and_context_together_is_a_usage_error_even_on_a_tty_path() -> None:
    proc = run_cli("--context", "x", "-H", "unix:///x.sock")
    assert proc.returncode == 2
