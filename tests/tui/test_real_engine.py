"""The TUI on the real engine and the real Trivy: audit the bad fixture image, read, fix, export, ignore, cancel."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.model import Source
from dockaudit.scanners.trivy import TrivyOptions
from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.backend import EngineConnector, Hardening
from dockaudit.tui.screens.dialogs import ExportScreen, IgnoreScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.fields import Field
from tests.fixtures.planted import assert_no_planted_secret
from tests.trivy import trivydb
from tests.tui.conftest import image_row_refs, sync
from tests.tui.settle import settle

pytestmark = [pytest.mark.docker, pytest.mark.trivy]

HANGING_TRIVY = Path(__file__).resolve().parent.parent / "trivy" / "fake_trivy" / "hanging_trivy"
"""A fault-injection stand-in for Trivy that never finishes (it is not Trivy)."""


@pytest.fixture(scope="module")
def trivy_offline(tmp_path_factory: pytest.TempPathFactory) -> TrivyOptions:
    """The real Trivy, offline, on the tiny fixture vulnerability DB."""
    cache = tmp_path_factory.mktemp("tui-trivy")
    trivydb.write_fixture_db(cache)
    return TrivyOptions(cache_dir=cache, offline=True, timeout=180)


def engine_app(
    tmp_path: Path,
    trivy: TrivyOptions | None = None,
    trivy_path: str | None = None,
    scanners: frozenset[str] | None = None,
) -> DockauditApp:
    options = AuditOptions(
        settings=Settings(),
        trivy=trivy,
        trivy_path=trivy_path,
        cache_path=tmp_path / "scan-cache.json",
        config_dir=tmp_path,
        **({"scanners": scanners} if scanners is not None else {}),
    )
    return make_app(EngineConnector(options), watch_events=False, ascii_borders=False)


async def select_image(app: DockauditApp, pilot: object, tag: str) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen), type(screen).__name__
    table = screen.browser("image").table
    keys = image_row_refs(screen)
    assert tag in keys, f"{tag} is not listed"
    table.move_cursor(row=keys.index(tag))
    await pilot.pause()  # type: ignore[attr-defined]
    return screen


@sync
async def test_audit_bad_image_then_diff_export_and_ignore(
    tmp_path: Path, bad_image: str, trivy_offline: TrivyOptions
) -> None:
    app = engine_app(tmp_path, trivy_offline)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = await select_image(app, pilot, bad_image)
        await pilot.press("a")
        await settle(app, pilot)
        key = screen.current_key() or ""
        result = screen.results[key]
        rules = {f.rule_id for f in result.findings if f.source is Source.CHECKLIST}
        assert {"DA101", "DA104", "DA201", "DA302"} <= rules, sorted(rules)
        assert result.scans["trivy"].startswith(("ok", "degraded")), result.scans
        assert result.grade == "F"
        detail = str(screen.browser("image").detail.query_one("#finding-detail").render())
        assert "Evidence:" in detail
        assert_no_planted_secret(detail)

        await pilot.press("3")
        await settle(app, pilot)
        hardening = screen.hardening[key]
        assert isinstance(hardening, Hardening) and "+USER" in hardening.diff
        assert_no_planted_secret(hardening.diff)

        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        out = tmp_path / "report.json"
        field = app.screen.query_one("#export-path", Field)
        field.value = str(out)
        field.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        report = json.loads(out.read_text())
        assert [t["name"] for t in report["targets"]] == [bad_image]
        assert any(f["rule_id"] == "DA104" for f in report["targets"][0]["findings"])
        assert_no_planted_secret(out.read_text())

        await pilot.press("1")
        await pilot.pause()
        finding = screen.browser("image").detail.query_one("FindingsView").current  # type: ignore[attr-defined]
        assert finding is not None
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, IgnoreScreen)
        await pilot.press(*"fixture image, flaws planted on purpose", "enter")
        await settle(app, pilot)
        config = (tmp_path / ".dockaudit.toml").read_text()
        assert f'rule = "{finding.rule_id}"' in config and "flaws planted on purpose" in config
        assert all(f.suppressed is not None for f in screen.results[key].findings if f.rule_id == finding.rule_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@sync
async def test_cancel_kills_a_running_trivy_scan(
    tmp_path: Path, bad_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "trivy.pids"
    monkeypatch.setenv("FAKE_TRIVY_PIDFILE", str(pidfile))
    # Without the vuln scanner there is no `trivy version` DB probe for the stand-in to hang on.
    app = engine_app(
        tmp_path,
        TrivyOptions(offline=True, cache_dir=tmp_path),
        trivy_path=str(HANGING_TRIVY),
        scanners=frozenset({"checklist", "misconfig", "secret"}),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = await select_image(app, pilot, bad_image)
        before = len(pidfile.read_text().split()) if pidfile.exists() else 0
        await pilot.press("ctrl+r")  # rescan: no cached result may answer instead of the process
        deadline = time.monotonic() + 60
        while (len(pidfile.read_text().split()) if pidfile.exists() else 0) < before + 2:
            assert time.monotonic() < deadline, "the stand-in Trivy never started"
            await pilot.pause(0.05)
        pids = [int(p) for p in pidfile.read_text().split()[before:]]
        key = screen.current_key() or ""
        assert screen.scans[key].trivy_pending
        await screen.run_action("cancel_audits")  # what c (and the palette) does
        await settle(app, pilot)
        assert not screen.active
        assert not screen.scans[key].trivy_pending
        # The UI shows the cancel at once; the scanner's thread kills the process group right after.
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "Trivy (or its child) survived the cancel"
            await pilot.pause(0.1)
        assert key in screen.results, "the checklist result stays after Trivy is cancelled"


@sync
async def test_container_audit_shows_runtime_findings_and_hardened_run(
    tmp_path: Path, created_privileged_container: str
) -> None:
    app = engine_app(tmp_path, scanners=frozenset({"checklist"}))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("right_square_bracket", "x")  # the container is created, not running
        await settle(app, pilot)
        table = screen.browser("container").table
        key = f"container:{created_privileged_container}"
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("a")
        await settle(app, pilot)
        rules = {f.rule_id for f in screen.results[key].findings}
        assert "DA401" in rules, sorted(rules)
        await pilot.press("3")
        await settle(app, pilot)
        hardening = screen.hardening[key]
        assert isinstance(hardening, Hardening), hardening
        assert "-  --privileged" in hardening.diff or "--privileged" in hardening.diff.split("+++")[0]
        assert "privileged: true" not in hardening.hardened
        assert_no_planted_secret(hardening.diff + hardening.hardened)


@sync
async def test_a_new_container_appears_through_docker_events(
    tmp_path: Path, container_pool: object, good_image: str
) -> None:
    options = AuditOptions(settings=Settings(), scanners=frozenset({"checklist"}), config_dir=tmp_path)
    app = make_app(EngineConnector(options), watch_events=True, ascii_borders=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        before = {c.id for c in screen.inventory.containers}
        # Created by the test (labelled dockaudit.test=1, removed with the pool); dockaudit itself only reads.
        new_id = container_pool.create("tui-events", good_image, start=False)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        while new_id not in {c.id for c in screen.inventory.containers}:
            assert time.monotonic() < deadline, "no refresh followed the container's create event"
            await pilot.pause(0.1)
        assert new_id not in before
