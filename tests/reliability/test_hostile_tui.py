"""Hostile data in the TUI: the lists, findings, overview and fix panes show escape sequences as text.

Textual passes a string's ESC and C1 bytes through to the terminal as they are; every presenter escapes
them first (`dockaudit.text.printable`). The screen capture holds exactly the segments the terminal gets.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.backend import EngineConnector
from dockaudit.tui.screens.main import MainScreen
from tests.reliability import hostile
from tests.tui.conftest import image_row_refs, sync
from tests.tui.settle import settle

pytestmark = [pytest.mark.docker]


def _capture(app: DockauditApp) -> tuple[str, str]:
    """The SVG screen capture, and its visible text (markup removed, entities decoded)."""
    svg = app.export_screenshot()
    return svg, html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def _select(screen: MainScreen, pilot: object, kind: str, key: str) -> None:
    table = screen.browser(kind).table
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()  # type: ignore[attr-defined]


@sync
async def test_hostile_image_and_container_never_reach_the_terminal_raw(
    tmp_path: Path, hostile_image: str, hostile_container: str
) -> None:
    options = AuditOptions(
        settings=Settings(),
        cache_path=tmp_path / "cache.sqlite3",
        config_dir=tmp_path,
        scanners=frozenset({"checklist"}),
    )
    app = make_app(EngineConnector(options), watch_events=False, ascii_borders=False)
    captures: dict[str, tuple[str, str]] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.browser("image").table
        keys = image_row_refs(screen)
        table.move_cursor(row=keys.index(hostile_image))
        await pilot.pause()
        await pilot.press("a")
        await settle(app, pilot)
        key = screen.current_key() or ""
        result = screen.results[key]
        assert {"DA210", "DA301"} <= {f.rule_id for f in result.findings}
        for tab in ("1", "3", "4"):
            await pilot.press(tab)
            await settle(app, pilot)
            captures[f"image tab {tab}"] = _capture(app)
        # Walk the findings tree so the detail pane shows each finding's evidence in turn.
        await pilot.press("1")
        for _ in range(6):
            await pilot.press("down")
            await pilot.pause()
            captures[f"finding {_}"] = _capture(app)
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        await pilot.press("x")  # the container was only created: show stopped ones too
        await settle(app, pilot)
        await _select(screen, pilot, "container", f"container:{hostile_container}")
        await pilot.press("a")
        await settle(app, pilot)
        for tab in ("1", "3", "4"):
            await pilot.press(tab)
            await settle(app, pilot)
            captures[f"container tab {tab}"] = _capture(app)
    for where, (svg, _text) in captures.items():
        assert hostile.raw_leaks(svg) == [], where
    shown = "".join(text for _, text in captures.values())
    assert "\\x1b]52;c;" in shown, "the payloads are on screen, as text"
