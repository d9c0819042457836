"""No planted secret value reaches any output: every report format, stdout, stderr (logs and progress), the
hardened files, and the TUI as a screen capture shows it."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.scanners.trivy import TrivyOptions
from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.backend import EngineConnector
from dockaudit.tui.screens.main import MainScreen
from tests.fixtures import planted
from tests.reliability import cli
from tests.tui.conftest import image_row_refs, sync
from tests.tui.settle import settle

pytestmark = [pytest.mark.docker, pytest.mark.trivy]


def _fragments() -> list[str]:
    """Every planted value, plus its first and last 10 characters (a value wrapped over two lines)."""
    out: list[str] = []
    for secret in planted.ALL:
        out.append(secret)
        # (The `dockaudit...` markers are inner substrings already; their prefix also starts SARIF keys.)
        if len(secret) >= 16 and not secret.startswith("dockaudit"):
            out += [secret[:10], secret[-10:]]
    return out


def assert_no_secret(text: str, where: str) -> None:
    leaked = [f for f in _fragments() if f in text]
    assert not leaked, f"{where} leaks {leaked}"


def test_no_secret_in_any_report_format_stream_or_hardened_file(
    tmp_path: Path, trivy_db: Path, bad_image: str, bad_containers: dict[str, str]
) -> None:
    env = cli.private_env(tmp_path)
    outputs = {"json": "r.json", "sarif": "r.sarif", "html": "r.html", "markdown": "r.md", "junit": "r.xml"}
    args = [a for fmt, name in outputs.items() for a in ("-f", fmt, "-o", str(tmp_path / name))]
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        f"container:{bad_containers['host']}",
        "--host-checks",
        "--offline",
        "--trivy-cache-dir",
        str(trivy_db),
        "--fail-on",
        "never",
        *args,
        "-f",
        "table",
        env=env,
    )
    assert run.returncode == 0, run.stderr
    report = cli.load_report(tmp_path / "r.json")
    evidence = " ".join(f["evidence"] for t in report["targets"] for f in t["findings"])
    assert "redacted" in evidence  # the secrets were found, and shown redacted
    for name in outputs.values():
        assert_no_secret((tmp_path / name).read_text(encoding="utf-8"), name)
    assert_no_secret(run.stdout, "the table on stdout")
    assert_no_secret(run.stderr, "stderr")
    for target in (bad_image, bad_containers["host"]):
        harden = cli.run("harden", target, "--diff", env=env)
        assert harden.returncode == 0, harden.stderr
        assert_no_secret(harden.stdout + harden.stderr, f"harden {target}")
    doctor = cli.run("doctor", env=env)
    assert_no_secret(doctor.stdout + doctor.stderr, "doctor")


def _screen_text(app: DockauditApp) -> str:
    """The screen as an SVG capture, with its markup removed and its entities decoded."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


@sync
async def test_no_secret_on_any_tui_screen(
    tmp_path: Path, trivy_db: Path, bad_image: str, bad_containers: dict[str, str]
) -> None:
    options = AuditOptions(
        settings=Settings(),
        trivy=TrivyOptions(cache_dir=trivy_db, offline=True, timeout=180),
        cache_path=tmp_path / "cache.sqlite3",
        config_dir=tmp_path,
    )
    app = make_app(EngineConnector(options), watch_events=False, ascii_borders=False)
    captures: dict[str, str] = {}
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.browser("image").table
        keys = image_row_refs(screen)
        table.move_cursor(row=keys.index(bad_image))
        await pilot.pause()
        await pilot.press("a")
        await settle(app, pilot)
        key = screen.current_key() or ""
        assert key in screen.results
        for tab in ("1", "2", "3", "4"):
            await pilot.press(tab)
            await settle(app, pilot)
            captures[f"image tab {tab}"] = _screen_text(app)
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        table = screen.browser("container").table
        ckey = f"container:{bad_containers['host']}"
        table.move_cursor(row=table.get_row_index(ckey))
        await pilot.press("a")
        await settle(app, pilot)
        for tab in ("1", "3", "4"):
            await pilot.press(tab)
            await settle(app, pilot)
            captures[f"container tab {tab}"] = _screen_text(app)
    assert "redacted" in "".join(captures.values())
    for where, text in captures.items():
        assert_no_secret(text, where)
