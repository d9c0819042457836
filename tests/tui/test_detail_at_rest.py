"""Cursor moves stay cheap at fleet scale: the detail pane follows the cursor once it rests (at once when a key
acts on it), an unchanged detail is not drawn again, and the list's rows are rebuilt and patched without
re-measuring or repainting what did not change."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from dockaudit.tui import presenters as p
from dockaudit.tui.screens.dialogs import IgnoreScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.target_table import Cells, TargetTable
from tests.tui.conftest import demo_app, sync
from tests.tui.settle import settle


async def audited_screen(app: object, pilot: object) -> MainScreen:
    await settle(app, pilot)  # type: ignore[arg-type]
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MainScreen)
    await pilot.press("A")  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]
    return screen


def findings_of(screen: MainScreen) -> FindingsView:
    return screen.browser("image").detail.query_one(FindingsView)


@sync
async def test_the_detail_follows_the_cursor_once_it_rests() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited_screen(app, pilot)
        table = screen.browser("image").table
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await settle(app, pilot)
            key = table.current_key
            view = findings_of(screen)
            assert screen.browser("image").detail.shown_key == key
            assert view.result is screen.results[key or ""], row


@sync
async def test_a_key_on_the_detail_acts_on_the_highlighted_row_even_before_the_cursor_rests() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited_screen(app, pilot)
        table = screen.browser("image").table
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        table.move_cursor(row=names.index("busybox:1.36"))
        await settle(app, pilot)
        # Move and act in the same moment (nothing awaited, so the cursor has not rested): what the keys act on
        # is the new row's, never the previous row's findings still on screen.
        table.move_cursor(row=names.index("shop/web:latest"))
        shop = table.current_key or ""
        screen.action_detail("tab-findings")
        assert findings_of(screen).result is screen.results[shop]
        finding = screen._current_finding()
        assert finding is not None and finding in screen.results[shop].findings
        table.move_cursor(row=names.index("busybox:1.36"))
        await pilot.press("i")
        assert isinstance(app.screen, IgnoreScreen)
        assert app.screen.target == "busybox:1.36"
        assert app.screen.rule in {f.rule_id for f in screen.results[table.current_key or ""].findings}


@sync
async def test_an_unchanged_detail_is_not_drawn_again() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited_screen(app, pilot)
        tree = findings_of(screen).finding_tree
        first_group = tree.root.children[0]
        screen.show_detail()
        screen.browser("image").table.move_cursor(row=screen.browser("image").table.cursor_row)
        await settle(app, pilot)
        assert tree.root.children[0] is first_group, "the findings tree was rebuilt for the same result"


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TargetTable(p.IMAGE_COLUMNS, id="t")


def _row(n: int, grade: str = "-") -> tuple[str, Cells]:
    return (f"image:{n}", (" ", Text(f"app-{n}:1"), Text(grade), Text(""), "1 MB", "now", f"{n:012}"))


def _shown_lines(table: TargetTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@sync
async def test_a_row_patched_off_screen_shows_its_new_cells_when_scrolled_into_view() -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(TargetTable)
        table.populate([_row(n) for n in range(200)])
        await pilot.pause()
        table.move_cursor(row=150)  # drawn once with its old cells...
        await pilot.pause()
        table.move_cursor(row=0)
        await pilot.pause()
        table.patch("image:150", _row(150, "Q")[1])  # ...then patched while out of view
        await pilot.pause()
        table.move_cursor(row=150)
        await pilot.pause()
        line = next(text for text in _shown_lines(table) if "app-150:1" in text)
        assert " Q " in line, line


@sync
async def test_rebuilding_the_rows_keeps_the_cursor_on_its_target() -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(TargetTable)
        table.populate([_row(n) for n in range(50)])
        await pilot.pause()
        table.move_cursor(row=30)
        await pilot.pause()
        table.populate([_row(n) for n in reversed(range(50))])
        await pilot.pause()
        assert table.row_count == 50
        assert table.current_key == "image:30"
        assert str(table.get_row_at(0)[1]) == "app-49:1"
        assert any("app-30:1" in text for text in _shown_lines(table))
        table.populate([])
        await pilot.pause()
        assert table.row_count == 0 and table.current_key is None


@sync
async def test_the_vulnerability_list_narrows_and_widens_with_the_terminal_keeping_its_cursor() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await audited_screen(app, pilot)
        table = screen.browser("image").table
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        table.move_cursor(row=names.index("shop/web:latest"))
        await pilot.press("2")
        await settle(app, pilot)
        vulns = screen.browser("image").detail.query_one("#vuln-table", DataTable)
        assert [c.key.value for c in vulns.columns.values()][-2:] == ["fixed", "title"]
        vulns.move_cursor(row=3)
        await pilot.resize_terminal(120, 40)
        await settle(app, pilot)
        assert [c.key.value for c in vulns.columns.values()][-2:] == ["installed", "title"]
        assert vulns.cursor_row == 3
