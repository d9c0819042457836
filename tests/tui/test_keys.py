"""Every key of the help screen, pressed in every pane, does what the help says (demo engine, 80x24)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Input, TabbedContent, Tree
from textual.widgets._footer import FooterKey

from dockaudit.tui.app import DockauditApp
from dockaudit.tui.compose_presenters import Level
from dockaudit.tui.demo import DemoConnector
from dockaudit.tui.presenters import Grouping, SortKey
from dockaudit.tui.screens.dialogs import ExportScreen, IgnoreScreen, SaveScreen, TextScreen
from dockaudit.tui.screens.engines import EngineScreen
from dockaudit.tui.screens.help import KEYS, HelpScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.vuln_presenters import VulnFilter
from dockaudit.tui.widgets.browser import DetailPane
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.footer import KeyFooter
from dockaudit.tui.widgets.lists import NavScroll
from dockaudit.tui.widgets.vulns import VulnsView
from tests.tui.conftest import demo_app, sync
from tests.tui.settle import settle as settle_app

SIZE = (80, 24)
TARGET = "shop/web:latest"
"""The image highlighted in every test: it has findings, vulnerabilities (with and without fixes) and a diff."""

PANES = ("list", "findings", "vulns", "dockerfile", "overview", "containers", "compose", "host")
"""Where the focus can be: the image list, the four detail tabs of an image, the container list, the Compose tree
(on an audited service), the host."""


@dataclass
class Keyed:
    """The app at a pane, and what was true before the key."""

    app: DockauditApp
    pilot: Pilot[Any]
    screen: MainScreen
    pane: str
    focused: Widget | None = None
    toasts: set[int] = field(default_factory=set)
    """Ids of the toasts shown before the key."""

    @property
    def detail(self) -> DetailPane:
        """The shown tab's detail pane (not on the Host tab)."""
        return self.screen._shown_detail()

    @property
    def detail_tab(self) -> str:
        return self.detail.active_tab

    def new_toasts(self) -> list[str]:
        return [n.message for n in list(self.app._notifications) if id(n) not in self.toasts]


async def settle(app: Any, pilot: Any) -> None:
    """Wait for the app's workers and messages (typed loosely: the app returns int, `settle` takes object)."""
    await settle_app(app, pilot)


def row_names(screen: MainScreen, kind: str = "image") -> list[str]:
    table = screen.browser(kind).table
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


COMPOSE_FILE = """services:
  web:
    image: shop/web:latest
    ports:
      - "8080:8080"
  worker:
    image: shop/web:latest
    read_only: true
"""
"""The project the Compose pane shows (the demo engine's containers carry no Compose labels in its list)."""


@asynccontextmanager
async def demo_at_80x24(*, compose: bool = False) -> AsyncIterator[tuple[DockauditApp, Pilot[Any]]]:
    """The demo at 80x24; with `compose`, a Compose file given on the command line too."""
    with tempfile.TemporaryDirectory() as tmp:
        compose_paths: tuple[str, ...] = ()
        if compose:
            (Path(tmp) / "compose.yaml").write_text(COMPOSE_FILE)
            compose_paths = (str(Path(tmp) / "compose.yaml"),)
        app, _ = demo_app(compose_paths=compose_paths)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            yield app, pilot


async def at_pane(app: DockauditApp, pilot: Pilot[Any], pane: str) -> Keyed:
    """The main screen put back as it starts (what the last key changed is undone), TARGET audited and
    highlighted, the focus on `pane`. One screen serves every pane: starting one takes seconds."""
    app.theme = "textual-dark"
    while not isinstance(app.screen, MainScreen):
        app.pop_screen()
        await pilot.pause()
    screen = app.screen
    screen.minimize()
    flt = screen.query_one("#filter", Input)
    flt.value = ""
    flt.remove_class("-shown")
    flt.display = False
    # Only what a key changed is rebuilt: rebuilding every list for each of 45 keys made the test slow.
    changed = bool(screen.selected) or screen.show_stopped
    changed |= any(v is not SortKey.NAME for v in screen.sorts.values()) or any(screen.filters.values())
    screen.selected.clear()
    screen.show_stopped = False
    screen.sorts = {kind: SortKey.NAME for kind in screen.sorts}
    screen.filters = {kind: "" for kind in screen.filters}
    await screen.build_tab("images")  # the Compose pane's app starts on the Compose tab
    screen.set_focus(screen.browser("image").table)
    screen.query_one("#main-tabs", TabbedContent).active = "images"
    await pilot.pause()
    # A tab not shown yet has no panes (they mount when it is first shown).
    built = [kind for kind in ("image", "container") if f"{kind}s" in screen.built_tabs]
    if changed:
        screen.stale = {"image", "container"}
        for kind in built:
            screen.populate(kind)
    for view in screen.query(FindingsView):
        if view.grouping is not Grouping.SEVERITY:
            view.toggle_grouping()
    for kind in built:
        screen.browser(kind).detail.show_tab("tab-findings")
    vulns = screen.browser("image").detail.query_one(VulnsView)
    if vulns.filter != VulnFilter() or vulns.sort != "severity":
        vulns.query_one(Input).value = ""
        vulns.filter, vulns.sort = VulnFilter(), "severity"
        vulns.show(vulns.result)
    screen.browser().table.move_cursor(row=row_names(screen).index(TARGET))
    screen.set_focus(screen.browser().table)
    await pilot.pause()
    if screen.current_key() not in screen.results:
        await pilot.press("a")
    await settle(app, pilot)
    keys = {
        "list": (),
        "findings": ("1",),
        "vulns": ("2",),
        "dockerfile": ("3",),
        "overview": ("4",),
        "containers": ("right_square_bracket",),
        "compose": ("right_square_bracket",) * 2,
        # Images, Containers, Compose, Host.
        "host": ("right_square_bracket",) * 3 + (() if "host" in screen.results else ("a",)),
    }[pane]
    await pilot.press(*keys)
    await settle(app, pilot)
    if pane == "compose":
        await at_compose_service(app, pilot, screen)
    assert screen.pane() == {"dockerfile": "hardening", "containers": "list", "compose": "list"}.get(pane, pane)
    return Keyed(app, pilot, screen, pane, app.focused, {id(n) for n in app._notifications})


async def at_compose_service(app: DockauditApp, pilot: Pilot[Any], screen: MainScreen) -> None:
    """The Compose tree's cursor on the demo project's first service, audited."""
    view = screen.compose_view
    service = next(node for node in view.nodes() if node.level is Level.SERVICE)
    row = view.tree_node(service.key)
    assert row is not None and row.parent is not None
    row.parent.expand()  # space may have closed the project
    await pilot.pause()
    view.project_tree.move_cursor(row)
    await settle(app, pilot)
    assert view.current is not None and view.current.key == service.key, view.current
    if not all(key in screen.results for key in service.audit_keys):
        await pilot.press("a")
        await settle(app, pilot)
    assert screen.compose_current_key() in screen.results


def cursor(widget: Widget | None) -> int:
    """The row of a list's cursor, or a text pane's scroll position."""
    if isinstance(widget, DataTable):
        return widget.cursor_row
    if isinstance(widget, Tree):
        return widget.cursor_line
    assert widget is not None
    return round(widget.scroll_y)


def last(widget: Widget | None) -> int:
    if isinstance(widget, DataTable):
        return widget.row_count - 1
    if isinstance(widget, Tree):
        return widget.last_line
    assert widget is not None
    return round(widget.max_scroll_y)


async def put_cursor(k: Keyed, where: int) -> None:
    widget = k.app.focused
    if isinstance(widget, DataTable):
        widget.move_cursor(row=where)
    elif isinstance(widget, Tree):
        widget.cursor_line = where
    else:
        assert widget is not None
        widget.scroll_to(y=where, animate=False)
    await k.pilot.pause()


def top_level(k: Keyed) -> object:
    return k.app.screen


def warned(k: Keyed, words: str) -> bool:
    return any(words in message for message in k.new_toasts())


# ---- what each key must visibly do, per pane ----------------------------------------------------------


async def audits_highlighted(k: Keyed, key: str) -> None:
    target = k.screen.current_key() or ""
    k.screen.results.pop(target, None)
    k.screen.patch_row(target)
    await k.pilot.press(key)
    await settle(k.app, k.pilot)
    assert target in k.screen.results
    if k.screen.listing:
        row = k.screen.browser().table.get_row(target)
        assert str(row[2]) != "-"


async def audits_all(k: Keyed, key: str) -> None:
    k.screen.results.clear()
    await k.pilot.press(key)
    await settle(k.app, k.pilot)
    kind = k.screen.kind
    if kind == "host":
        assert "host" in k.screen.results
    elif kind == "compose":
        assert set(k.screen.compose_keys(every=True)) <= set(k.screen.results)
    else:
        table = k.screen.browser(kind).table
        assert table.row_count and all(str(table.get_row_at(i)[2]) not in ("-", "") for i in range(table.row_count))


async def cancels(k: Keyed, key: str) -> None:
    """A hanging audit runs (see the loop): c stops it."""
    assert k.screen.active, "no audit was running to cancel"
    await k.pilot.press(key)
    await settle(k.app, k.pilot)
    assert not k.screen.active and not k.screen.queue


async def unignores(k: Keyed, key: str) -> None:
    """u answers on any finding; removing an entry is tests/tui/test_ignore.py's."""
    await k.pilot.press(key)
    await k.pilot.pause()
    assert warned(k, "Highlight an ignored finding first") or warned(k, "removed from")


async def selects(k: Keyed, key: str) -> None:
    target = k.screen.current_key()
    if k.pane == "compose":
        # The Compose tree has no selection: space opens or closes the highlighted row, as in any tree.
        tree = k.screen.compose_view.project_tree
        tree.cursor_line = 0
        await k.pilot.pause()
        project = tree.cursor_node
        assert project is not None and project.children
        expanded = project.is_expanded
        await k.pilot.press(key)
        await k.pilot.pause()
        assert project.is_expanded is not expanded
        return
    await k.pilot.press(key)
    await k.pilot.pause()
    if k.pane == "host":
        assert warned(k, "one target")
    else:
        assert target in k.screen.selected
        assert str(k.screen.browser().table.get_row(target or "")[0]) == "*"


async def filters(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    if k.pane in ("host", "compose"):
        assert warned(k, "nothing to filter")
        return
    focused = k.app.focused
    assert isinstance(focused, Input)
    assert focused.id == ("vuln-filter" if k.pane == "vulns" else "filter")
    await k.pilot.press(*"web")
    await k.pilot.pause()
    if k.pane == "vulns":
        assert k.screen.browser().detail.query_one(VulnsView).filter.text == "web"
    else:
        assert k.screen.filters[k.screen.kind] == "web"


async def sorts(k: Keyed, key: str) -> None:
    kind = k.screen.kind
    before = dict(k.screen.sorts)
    await k.pilot.press(key)
    await k.pilot.pause()
    if kind in ("host", "compose"):
        assert warned(k, "one order")
    else:
        assert k.screen.sorts[kind] != before[kind]
        assert k.screen.sorts[kind].value in str(k.screen.query_one("#main-tabs").get_tab(f"{kind}s").label)  # type: ignore[attr-defined]


async def toggles_stopped(k: Keyed, key: str) -> None:
    label = str(k.screen.query_one("#main-tabs").get_tab("containers").label)  # type: ignore[attr-defined]
    await k.pilot.press(key)
    await k.pilot.pause()
    assert k.screen.show_stopped
    assert str(k.screen.query_one("#main-tabs").get_tab("containers").label) != label  # type: ignore[attr-defined]


async def refreshes(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await settle(k.app, k.pilot)
    assert warned(k, "Refreshing the inventory")


async def next_pane(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    focused = k.app.focused
    assert focused is not None and focused is not k.focused
    if k.pane != "host":
        assert focused.screen is k.screen
    await k.pilot.press("shift+tab" if key == "tab" else "tab")
    await k.pilot.pause()
    assert k.app.focused is k.focused


async def detail_tab(k: Keyed, key: str) -> None:
    tab = {"1": "tab-findings", "2": "tab-vulns", "3": "tab-hardening", "4": "tab-overview"}[key]
    await k.pilot.press(key)
    await k.pilot.pause()
    if k.pane == "host":
        assert warned(k, "no detail tabs")
        return
    if k.pane in ("containers", "compose") and key == "2":
        assert k.detail_tab != "tab-vulns"  # only images have a Vulns tab
        return
    # The tab stays shown (it used to flash for 50 ms and snap back to Findings) and its list has the focus.
    await k.pilot.pause(0.2)
    assert k.detail_tab == tab
    focused = k.app.focused
    assert focused is not None and k.detail in focused.ancestors
    expected = {"1": "finding-tree", "2": "vuln-table", "3": "hardening-text", "4": "overview-text"}[key]
    assert focused.id == expected


async def main_tab(k: Keyed, key: str) -> None:
    before = k.screen.main_tab
    await k.pilot.press(key)
    await k.pilot.pause()
    order = ("images", "containers", "compose", "host")
    step = 1 if key == "right_square_bracket" else -1
    assert k.screen.main_tab == order[(order.index(before) + step) % len(order)]
    assert k.app.focused is not None


async def moves_down(k: Keyed, key: str) -> None:
    widget = k.app.focused
    await put_cursor(k, 0)
    start = cursor(widget)
    await k.pilot.press(key)
    await k.pilot.pause()
    assert k.app.focused is widget
    assert cursor(widget) > start or last(widget) == start


async def moves_up(k: Keyed, key: str) -> None:
    widget = k.app.focused
    await put_cursor(k, last(widget))
    start = cursor(widget)
    await k.pilot.press(key)
    await k.pilot.pause()
    assert cursor(widget) < start or start == 0


async def to_first(k: Keyed, key: str) -> None:
    widget = k.app.focused
    await put_cursor(k, last(widget))
    await k.pilot.press(key)
    await k.pilot.pause()
    assert cursor(widget) == 0
    assert widget is not None and widget.scroll_x == 0


async def to_last(k: Keyed, key: str) -> None:
    widget = k.app.focused
    await put_cursor(k, 0)
    await k.pilot.press(key)
    await k.pilot.pause()
    assert cursor(widget) == last(widget)
    # End moves down, never sideways (a wide table used to scroll to its last column).
    assert widget is not None and widget.scroll_x == 0


async def opens(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    if k.pane == "compose":
        # A service opens on its containers (a row with children), as in the Tree; a leaf moves into findings.
        row = k.screen.compose_view.project_tree.cursor_node
        focused = k.app.focused
        assert row is not None and (row.is_expanded or (focused is not None and k.detail in focused.ancestors))
    elif k.pane in ("list", "containers"):
        focused = k.app.focused
        assert focused is not None and k.detail in focused.ancestors
    elif k.pane in ("dockerfile", "overview"):
        assert k.screen.maximized is not None
    else:
        assert isinstance(k.app.screen, TextScreen)
        text = k.app.screen.text.plain
        if k.pane == "vulns":
            assert text.split()[1].startswith("CVE-") and "Installed:" in text
        else:
            assert "Evidence:" in text


async def goes_back(k: Keyed, key: str) -> None:
    # Esc never cancels work: an audit with a hanging Trivy scan is running meanwhile.
    running = [w for w in k.app.workers if w.is_running and w.group.startswith("audit")]
    await k.pilot.press(key)
    await k.pilot.pause()
    assert all(not w.is_cancelled for w in running)
    if k.pane in ("findings", "vulns", "dockerfile", "overview"):
        assert k.app.focused is k.screen.browser().table
    else:
        assert k.app.focused is k.focused


async def zooms(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    zoomed = k.screen.maximized
    assert zoomed is not None and k.focused is not None and zoomed in k.focused.ancestors_with_self
    await k.pilot.press(key)
    await k.pilot.pause()
    assert k.screen.maximized is None


async def groups(k: Keyed, key: str) -> None:
    view = k.screen.query_one("#host-findings", FindingsView) if k.pane == "host" else k.detail.query_one(FindingsView)
    await k.pilot.press(key)
    await k.pilot.pause()
    assert view.grouping is Grouping.SECTION
    if k.pane != "host":
        assert k.detail_tab == "tab-findings"


async def ignores(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert isinstance(k.app.screen, IgnoreScreen)


async def copies(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert warned(k, "Copied the fix") or warned(k, "no fix to copy")


async def vuln_filter(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    if k.pane in ("containers", "compose", "host"):
        assert warned(k, "images")
        return
    assert k.detail_tab == "tab-vulns"
    view = k.screen.browser().detail.query_one(VulnsView)
    assert {"f": view.filter.fixable_only, "v": view.filter.min_severity > 0, "o": view.sort != "severity"}[key]


async def saves(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await settle(k.app, k.pilot)
    if k.pane == "host":
        assert warned(k, "Nothing to save")
        return
    if not isinstance(k.app.screen, SaveScreen):
        assert warned(k, "press w again") and k.detail_tab == "tab-hardening"
        await k.pilot.press(key)
        await k.pilot.pause()
    assert isinstance(k.app.screen, SaveScreen)


async def exports(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert isinstance(k.app.screen, ExportScreen)


async def switches_engine(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert isinstance(k.app.screen, EngineScreen)


async def toggles_theme(k: Keyed, key: str) -> None:
    dark = k.app.current_theme.dark
    await k.pilot.press(key)
    await k.pilot.pause()
    assert k.app.current_theme.dark is not dark


async def palette(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert isinstance(k.app.screen, CommandPalette)


async def helps(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert isinstance(k.app.screen, HelpScreen)


async def quits(k: Keyed, key: str) -> None:
    await k.pilot.press(key)
    await k.pilot.pause()
    assert k.app._exit  # the app is closing


Check = Callable[[Keyed, str], Awaitable[None]]

CHECKS: dict[str, tuple[tuple[str, ...], Check]] = {
    "a": (("a",), audits_highlighted),
    "A": (("A",), audits_all),
    "c": (("c",), cancels),
    "ctrl+r": (("ctrl+r",), audits_highlighted),
    "space": (("space",), selects),
    "/": (("slash",), filters),
    "s": (("s",), sorts),
    "x": (("x",), toggles_stopped),
    "r": (("r",), refreshes),
    "tab shift+tab": (("tab", "shift+tab"), next_pane),
    "1-4": (("1", "2", "3", "4"), detail_tab),
    "[ ]": (("left_square_bracket", "right_square_bracket"), main_tab),
    "j k": (("j", "down"), moves_down),
    "g G": (("g", "home"), to_first),
    "pgup pgdn": (("pagedown",), moves_down),
    "enter": (("enter",), opens),
    "esc": (("escape",), goes_back),
    "z": (("z",), zooms),
    "b": (("b",), groups),
    "i": (("i",), ignores),
    "u": (("u",), unignores),
    "y": (("y",), copies),
    "f v o": (("f", "v", "o"), vuln_filter),
    "w": (("w",), saves),
    "e": (("e",), exports),
    "E": (("E",), switches_engine),
    "T": (("T",), toggles_theme),
    "ctrl+p": (("ctrl+p",), palette),
    "?": (("question_mark",), helps),
    "q": (("q",), quits),
    "ctrl+c": (("ctrl+c",), quits),
}
"""Per help entry: the keys it names (as Textual spells them) and the visible effect each must have."""

EXTRA: tuple[tuple[str, Check], ...] = (
    ("k", moves_up),
    ("up", moves_up),
    ("G", to_last),
    ("end", to_last),
    ("pageup", moves_up),
)
"""The other half of the pairs in the help (j/k, g/G, Home/End, PgUp/PgDn)."""

KEY_CASES = [(key, check) for keys, check in CHECKS.values() for key in keys] + list(EXTRA)
QUITS = ("q", "ctrl+c")


def test_every_key_in_the_help_is_checked() -> None:
    assert [key for key, _ in KEYS] == list(CHECKS)


@pytest.mark.parametrize("pane", PANES)
@sync
async def test_every_key_works_from_the_pane(pane: str) -> None:
    """Each key of the help, one after the other, from the same pane (the screen is put back in between)."""
    failed: list[str] = []
    async with demo_at_80x24(compose=pane == "compose") as (app, pilot):
        demo = app.connector
        assert isinstance(demo, DemoConnector) and demo.scanner is not None
        for key, check in KEY_CASES:
            if key in QUITS:
                continue
            keyed = await at_pane(app, pilot, pane)
            if key in ("escape", "c"):
                # An audit whose Trivy scan hangs runs meanwhile; Esc must leave it alone, c stop it.
                demo.scanner.hang = True
                table = keyed.screen.browser("image").table
                keyed.screen.enqueue([str(k.value) for k in table.rows if k.value != table.current_key][:1])
                await pilot.pause()
            try:
                await check(keyed, key)
            except AssertionError as exc:
                failed.append(f"{key!r}: {exc}")
            finally:
                if key in ("escape", "c"):
                    demo.scanner.hang = False
                    await keyed.screen.run_action("cancel_audits")
    assert not failed, f"keys that failed in the {pane} pane:\n" + "\n".join(failed)


@pytest.mark.parametrize("pane", PANES)
@pytest.mark.parametrize("key", QUITS)
@sync
async def test_quit_keys_work_from_every_pane(key: str, pane: str) -> None:
    async with demo_at_80x24(compose=pane == "compose") as (app, pilot):
        await quits(await at_pane(app, pilot, pane), key)


# ---- Esc, Enter, Ctrl+C, the footer ---------------------------------------------------------------------


@sync
async def test_escape_clears_a_kept_filter_and_brings_the_whole_list_back() -> None:
    async with demo_at_80x24() as (app, pilot):
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("slash", *"shop", "enter")
        await pilot.pause()
        assert len(row_names(screen)) == 3 and screen.browser().table.has_focus
        await pilot.press("1")  # into the detail: Esc first comes back to the list, the filter stays
        await pilot.press("escape")
        await pilot.pause()
        assert screen.browser().table.has_focus and len(row_names(screen)) == 3
        await pilot.press("escape")
        await pilot.pause()
        assert len(row_names(screen)) == 6 and screen.filters["image"] == ""
        assert "6/" not in str(screen.query_one("#main-tabs", TabbedContent).get_tab("images").label)


@sync
async def test_escape_leaves_a_zoomed_pane_before_anything_else() -> None:
    async with demo_at_80x24() as (app, pilot):
        keyed = await at_pane(app, pilot, "vulns")
        await pilot.press("z")
        await pilot.pause()
        assert keyed.screen.maximized is not None
        await pilot.press("escape")
        await pilot.pause()
        assert keyed.screen.maximized is None and keyed.screen.pane() == "vulns"


@sync
async def test_enter_on_a_vulnerability_shows_its_whole_record() -> None:
    async with demo_at_80x24() as (app, pilot):
        keyed = await at_pane(app, pilot, "vulns")
        view = keyed.screen.browser().detail.query_one(VulnsView)
        finding = view.current
        assert finding is not None and finding.vulnerability is not None
        vuln = finding.vulnerability
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        text = app.screen.text.plain
        assert text.startswith(f"{finding.severity.name} {vuln.id}")
        assert f"Package:   {vuln.package}" in text and f"Installed: {vuln.installed}" in text
        assert f"Fixed in:  {vuln.fixed}" in text if vuln.fixed else "no fixed version" in text
        if vuln.cvss is not None:
            assert f"CVSS {vuln.cvss:.1f}" in text
        if finding.location.layer is not None:
            assert f"Layer:     {finding.location.layer}" in text and "Step:" in text
        assert all(ref in text for ref in finding.references)
        await pilot.press("escape")
        await pilot.pause()
        back: object = app.screen
        assert back is keyed.screen and keyed.screen.pane() == "vulns"


@sync
async def test_ctrl_c_while_an_audit_runs_warns_in_words_then_quits_and_stops_trivy() -> None:
    demo = DemoConnector(hang_trivy=True)
    app, _ = demo_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        while not isinstance(app.screen, MainScreen) or not app.screen.browser().table.row_count:
            await pilot.pause()
        screen = app.screen
        await pilot.press("a")
        while not screen.results:
            await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app._exit
        toast = list(app._notifications)[-1]
        assert toast.message == "1 audit still running. Press Ctrl+C again to stop and quit."
        assert "[" not in toast.message and toast.title == "Quit?"
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app._exit
    assert demo.scanner is not None and demo.scanner.cancelled.is_set()


@pytest.mark.parametrize("pane", PANES)
@sync
async def test_the_80_column_footer_starts_with_help_then_the_panes_keys(pane: str) -> None:
    async with demo_at_80x24(compose=pane == "compose") as (app, pilot):
        keyed = await at_pane(app, pilot, pane)
        await pilot.pause()
        footer = keyed.screen.query_one(KeyFooter)
        shown = [key for key in footer.query(FooterKey) if "-command-palette" not in key.classes]
        assert shown[0].key == "question_mark" and shown[0].region.right <= SIZE[0]
        assert "? Help" in str(shown[0].render())
        first_of_pane = keyed.screen.pane_keys()[0]
        assert shown[1].key == first_of_pane and shown[1].region.right <= SIZE[0]
        # Every key shown is whole, left of the palette hint: none is cut mid-word.
        palette = footer.query_one(".-command-palette", FooterKey)
        assert all(key.region.right <= palette.region.x for key in shown)
        assert all(key.region.width == len(str(key.render())) for key in shown)


@sync
async def test_the_help_and_the_readers_scroll_with_the_list_keys() -> None:
    async with demo_at_80x24() as (app, pilot):
        keyed = await at_pane(app, pilot, "findings")
        for opener in ("question_mark", "enter"):
            await pilot.press(opener)
            await pilot.pause()
            scroll = app.screen.query_one(NavScroll)
            assert scroll.has_focus or scroll.can_focus
            scroll.focus()
            await pilot.pause()
            if opener == "question_mark":
                assert scroll.max_scroll_y > 0  # the help is longer than 24 rows
            await pilot.press("G")
            await pilot.pause()
            assert scroll.scroll_y == scroll.max_scroll_y
            await pilot.press("g")
            await pilot.pause()
            assert scroll.scroll_y == 0
            await pilot.press("escape")
            await pilot.pause()
            back: object = app.screen
            assert back is keyed.screen


@sync
async def test_a_zoomed_list_keeps_its_filter_box() -> None:
    async with demo_at_80x24() as (app, pilot):
        keyed = await at_pane(app, pilot, "list")
        await pilot.press("z", "slash", *"shop")
        await pilot.pause()
        flt = keyed.screen.query_one("#filter", Input)
        assert keyed.screen.maximized is not None and flt.has_focus and flt.region.height > 0
        assert len(row_names(keyed.screen)) == 3


@sync
async def test_the_vulnerability_filter_keeps_on_enter_and_clears_on_escape() -> None:
    async with demo_at_80x24() as (app, pilot):
        keyed = await at_pane(app, pilot, "vulns")
        table = keyed.screen.browser().detail.query_one("#vuln-table", DataTable)
        everything = table.row_count
        await pilot.press("slash", *"libexpat", "enter")
        await pilot.pause()
        assert table.has_focus and 0 < table.row_count < everything
        await pilot.press("slash", "escape")
        await pilot.pause()
        assert table.has_focus and table.row_count == everything
