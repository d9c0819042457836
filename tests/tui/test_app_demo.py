"""The TUI's behaviour on fixed data: lists, audits, filters, dialogs, cancel, errors (no engine needed)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual import events
from textual.widgets import DataTable, Input, TabbedContent

from dockaudit.model import Source
from dockaudit.tui.backend import Hardening
from dockaudit.tui.demo import DemoConnector
from dockaudit.tui.screens.dialogs import ExportScreen, IgnoreScreen, TextScreen
from dockaudit.tui.screens.engines import EngineScreen
from dockaudit.tui.screens.error import EngineErrorScreen
from dockaudit.tui.screens.help import HelpScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.findings import FindingsView
from tests.tui.conftest import demo_app, sync
from tests.tui.settle import settle


def main_screen(app: object) -> MainScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MainScreen), type(screen).__name__
    return screen


def image_names(screen: MainScreen) -> list[str]:
    table = screen.browser("image").table
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def highlight(screen: MainScreen, pilot: object, name: str) -> None:
    table = screen.browser("image").table
    table.move_cursor(row=image_names(screen).index(name))
    await pilot.pause()  # type: ignore[attr-defined]


@sync
async def test_start_lists_images_with_size_and_age_and_header_shows_engine_and_trivy() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        assert image_names(screen)[:2] == ["busybox:1.36", "postgres:15.4"]
        row = screen.browser("image").table.get_row_at(1)
        assert str(row[4]).strip() == "412.0 MB" and row[5] == "3 months ago"
        header = str(screen.query_one("#header").render())
        assert "demo://made-up-engine" in header and "28.2.2" in header
        assert "Trivy 0.76.0" in header and "DB 2 days old" in header


@sync
async def test_audit_shows_grade_counts_and_findings_with_fix() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await highlight(screen, pilot, "shop/web:latest")
        await pilot.press("a")
        await settle(app, pilot)
        row = screen.browser("image").table.get_row_at(image_names(screen).index("shop/web:latest"))
        assert str(row[2]) == "F"
        assert str(row[3]) == "4C 3H 7M 8L"  # checklist and Trivy together
        view = screen.browser("image").detail.query_one(FindingsView)
        assert view.current is not None and view.current.rule_id == "DA104"
        detail = str(view.query_one("#finding-detail").render())
        assert "Evidence:" in detail and "Fix:" in detail and "redacted" in detail
        result = screen.results[screen.current_key() or ""]
        assert any(f.source is Source.TRIVY_VULN for f in result.findings)


@sync
async def test_sort_cycles_to_grade_and_puts_the_worst_first() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("A")
        await settle(app, pilot)
        screen = main_screen(app)
        await pilot.press("s")
        await pilot.pause()
        assert image_names(screen)[0] == "shop/web:latest"
        await pilot.press("s")
        await pilot.pause()
        assert image_names(screen)[0] == "postgres:15.4"  # size: biggest first


@sync
async def test_slash_filters_the_list_and_escape_clears_it() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await pilot.press("slash")
        await pilot.press(*"shop")
        await pilot.pause()
        assert image_names(screen) == ["shop/api:1.4.2", "shop/web:latest", "shop/worker:2.0.0"]
        await pilot.press("enter")
        assert screen.browser("image").table.has_focus
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert len(image_names(screen)) == 6


@sync
async def test_space_selects_rows_and_audit_covers_only_the_selection() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await pilot.press("space", "space")
        await settle(app, pilot)
        assert len(screen.selected) == 2
        await pilot.press("a")
        await settle(app, pilot)
        assert {k for k in screen.results} == screen.selected


@sync
async def test_stopped_containers_are_hidden_until_toggled() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        table = screen.browser("container").table
        assert table.row_count == 3
        await pilot.press("x")
        await pilot.pause()
        assert table.row_count == 4


@sync
async def test_a_main_tab_builds_its_panes_when_first_shown_with_the_rows_audited_meanwhile() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        assert screen.built_tabs == {"images"}
        assert not screen.query("#containers-browser") and not screen.query("#compose-view")
        # Audited while its list was not built: the list shows it when first opened.
        key = next(f"container:{c.id}" for c in screen.inventory.containers if c.up)
        screen.enqueue([key])
        await settle(app, pilot)
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert screen.built_tabs == {"images", "containers"}
        table = screen.browser("container").table
        assert app.focused is table
        assert str(table.get_row(key)[2]) == screen.results[key].grade


@sync
async def test_starting_on_the_compose_tab_the_other_tabs_count_their_rows(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: shop/web:latest\n")
    app, _ = demo_app(compose_paths=(str(tmp_path / "compose.yaml"),))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        assert screen.main_tab == "compose" and "images" not in screen.built_tabs
        tabs = screen.query_one("#main-tabs", TabbedContent)
        running, total = sum(c.up for c in screen.inventory.containers), len(screen.inventory.containers)
        assert 0 < running < total
        assert str(tabs.get_tab("images").label) == f"Images {len(screen.inventory.images)}"
        assert str(tabs.get_tab("containers").label) == f"Containers {running}/{total} running"


@sync
async def test_vulnerability_filters_fixable_and_severity() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await highlight(screen, pilot, "shop/web:latest")
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        table: DataTable[object] = screen.browser("image").detail.query_one("#vuln-table", DataTable)
        assert table.row_count == 8
        assert "CRITICAL" in str(table.get_row_at(0)[0])
        await pilot.press("f")
        assert table.row_count == 5
        await pilot.press("v", "v", "v")  # >= HIGH
        assert table.row_count == 3
        search = screen.query_one("#vuln-filter", Input)
        search.value = "expat"
        await pilot.pause()
        assert table.row_count == 2


@sync
async def test_hardening_tab_shows_the_diff_and_w_saves_it(tmp_path: Path) -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await highlight(screen, pilot, "shop/web:latest")
        await pilot.press("3")
        await settle(app, pilot)
        hardening = screen.hardening[screen.current_key() or ""]
        assert isinstance(hardening, Hardening) and "+USER 10001" in hardening.diff
        await pilot.press("w")
        await pilot.pause()
        target = tmp_path / "Dockerfile.hardened"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "USER 10001" in target.read_text()


@sync
async def test_export_dialog_writes_the_chosen_format(tmp_path: Path) -> None:
    app, _ = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        path = tmp_path / "out.json"
        field = app.screen.query_one("#export-path", Input)
        field.value = str(path)
        field.focus()
        await pilot.press("enter")  # submits the path field
        await settle(app, pilot)
        report = json.loads(path.read_text())
        assert report["schema_version"] == 1 and len(report["targets"]) == 6
        assert {t["name"] for t in report["targets"]} >= {"shop/web:latest", "postgres:15.4"}


@sync
async def test_ignore_needs_a_reason_then_marks_the_finding_suppressed_and_rescores() -> None:
    app, demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await highlight(screen, pilot, "shop/web:latest")
        await pilot.press("a")
        await settle(app, pilot)
        before = screen.results[screen.current_key() or ""]
        rule = screen._current_finding().rule_id  # type: ignore[union-attr]
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, IgnoreScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, IgnoreScreen), "an empty reason must not be accepted"
        app.screen.query_one("#ignore-expires", Input).value = "2027-01-31"
        await pilot.press(*"test fixture", "enter")
        await settle(app, pilot)
        written = (demo.config_dir / ".dockaudit.toml").read_text()
        assert rule in written and "test fixture" in written and "2027-01-31" in written
        result = screen.results[screen.current_key() or ""]
        suppressed = [f for f in result.findings if f.rule_id == rule]
        assert suppressed and all(f.suppressed is not None for f in suppressed)
        counted = sum(before.summary().values()) - sum(result.summary().values())
        assert counted == len(suppressed)


@sync
async def test_the_cancel_action_stops_a_hanging_trivy_scan() -> None:
    demo = DemoConnector(hang_trivy=True)
    app, _ = demo_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await pilot.press("a")
        # The checklist lands at once; Trivy then blocks until cancelled.
        while not screen.results:
            await pilot.pause()
        key = next(iter(screen.results))
        assert screen.scans[key].trivy_pending
        await pilot.press("c")  # c cancels; Esc only goes back
        await settle(app, pilot)
        assert demo.scanner is not None and demo.scanner.cancelled.is_set()
        assert not screen.scans[key].trivy_pending and not screen.active


@sync
async def test_unreachable_engine_shows_what_was_tried_and_retry_connects() -> None:
    demo = DemoConnector(fail_connect=True)
    app, _ = demo_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, EngineErrorScreen)
        text = str(app.screen.query_one("#problem").render())
        assert "Tried" in text and "unix:///var/run/docker.sock" in text and "How to fix" in text
        demo.fail_connect = False
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)


@sync
async def test_engine_switcher_lists_contexts_and_reconnects() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, EngineScreen)
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert app.choice.context == "demo-staging"
        assert isinstance(app.screen, MainScreen)


@sync
async def test_help_lists_keys_and_enter_reads_a_finding() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        screen = main_screen(app)
        await highlight(screen, pilot, "shop/web:latest")
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("enter")  # into the findings tree
        await pilot.press("enter")  # read the highlighted finding
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)


@sync
async def test_copy_fix_uses_the_clipboard() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await highlight(screen, pilot, "shop/web:latest")
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("y")
        await pilot.pause()
        assert "/run/secrets/api_token" in app.clipboard


@sync
async def test_host_tab_audits_the_host() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("left_square_bracket", "a")
        await settle(app, pilot)
        screen = main_screen(app)
        assert screen.results["host"].grade == "F"
        assert screen.query_one("#host-findings", FindingsView).current is not None


@sync
async def test_keys_typed_in_one_burst_after_slash_go_to_the_filter() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        # tmux send-keys and pastes deliver keys faster than focus changes settle.
        for key, char in [("slash", "/"), ("s", "s"), ("h", "h"), ("o", "o"), ("p", "p"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))
        await settle(app, pilot)
        assert screen.filters["image"] == "shop"
        assert len(image_names(screen)) == 3
        assert not screen.results, "no key of the burst may reach the list's bindings (a = audit)"


@sync
async def test_slash_is_an_ordinary_character_inside_a_text_field() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        await pilot.press("2")
        search = screen.query_one("#vuln-filter", Input)
        search.focus()
        await pilot.press("slash", "x")
        assert search.value == "/x"


@sync
async def test_toasts_show_engine_text_harmlessly() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        # Error toasts quote engine messages and names, which an image's author controls.
        main_screen(app).notify("pull \x1b]52;c;cm0gLXJm\x07 [bold]x[/bold] failed", title="Audit \x1b[2J failed")
        await pilot.pause()
        toast = list(app._notifications)[-1]
        assert "\x1b" not in toast.message and "\x07" not in toast.message and "\x1b" not in toast.title
        assert "\\x1b]52;c;cm0gLXJm\\x07" in toast.message
        assert "[bold]x[/bold]" in Text.from_markup(toast.message).plain


@sync
async def test_audit_all_runs_a_few_at_a_time_queues_the_rest_and_c_cancels() -> None:
    app, _ = demo_app(DemoConnector(hang_trivy=True))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = main_screen(app)
        table = screen.browser("image").table

        def grades() -> dict[str, str]:
            return {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[2]).strip() for i in range(table.row_count)}

        await pilot.press("A")
        running = screen.session.options.concurrency
        while list(grades().values()).count("...") < running:
            await pilot.pause(0.05)
        # Trivy never finishes here: as many run as the session audits at once, the others wait their turn.
        assert sorted(grades().values()) == sorted(["..."] * running + ["0%"] * (table.row_count - running))
        assert not screen.results
        assert str(screen.query_one("#audit-progress").render()).startswith(f"Auditing 0/{table.row_count}")
        await pilot.press("c")
        while screen.audit_all_run is not None:
            await pilot.pause(0.05)
        # The running ones keep their checklist grade (Trivy's part was cancelled); the queued never ran.
        after = grades()
        assert len(screen.results) == running
        assert all(after[r.name][:1] in "ABCDEF" for r in screen.results.values())
        assert list(after.values()).count("-") == table.row_count - running
