"""The Textual application: opens an audit session through a connector, then shows the main screen or the error."""

from __future__ import annotations

import codecs
import contextlib
import locale
import os
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from rich.segment import Segment
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.containers import Center, Middle
from textual.filter import LineFilter, Monochrome
from textual.notifications import SeverityLevel
from textual.renderables.bar import Bar
from textual.screen import Screen
from textual.scrollbar import ScrollBarRender
from textual.widgets import Footer, Static

from dockaudit.audit import AuditSession
from dockaudit.errors import EngineProblem
from dockaudit.facts.inventory import Inventory
from dockaudit.text import printable
from dockaudit.tui.backend import Connector, EngineChoice
from dockaudit.tui.early import EarlyConnection
from dockaudit.tui.messages import Connected, ConnectFailed
from dockaudit.tui.screens.main import MainScreen

QUIT_CONFIRM_SECONDS = 5.0
"""How long a first Ctrl+C waits for the second while work runs."""

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"


def stylesheet_path() -> Path:
    """`dockaudit/styles/app.tcss` from the installed wheel, else the repository's top-level `styles/`."""
    packaged = resources.files("dockaudit") / "styles" / "app.tcss"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "styles" / "app.tcss"


def unicode_terminal(env: dict[str, str] | None = None, *, coerced: bool | None = None) -> bool:
    """Whether the locale can show box-drawing characters (LANG=C and friends cannot)."""
    env = dict(os.environ) if env is None else env
    if coerced is None:
        coerced = python_coerced_locale(env)
    # Python started in the C locale sets LC_CTYPE=C.UTF-8 for itself (PEP 538): that says nothing about
    # the terminal, so the locale the user set is read without it.
    for var in ("LC_ALL", "LANG") if coerced else ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(var)
        if value:
            return "utf-8" in value.lower() or "utf8" in value.lower()
    try:
        return codecs.lookup(locale.getpreferredencoding(False)).name == "utf-8"
    except LookupError:
        return False


def python_coerced_locale(env: dict[str, str]) -> bool:
    """Whether this Python found the C locale at start and set LC_CTYPE to a UTF-8 one itself (PEP 538, 540)."""
    asked = env.get("PYTHONUTF8") == "1" or "utf8" in getattr(sys, "_xoptions", {})
    return bool(sys.flags.utf8_mode) and not asked and env.get("LC_CTYPE", "").lower() in ("c.utf-8", "c.utf8", "utf-8")


ASCII_GLYPHS = str.maketrans(
    {
        "…": "~",
        "▏": "|",
        "▎": "|",
        "▍": "|",
        "▌": "|",
        "▐": "|",
        "▕": "|",
        "│": "|",
        "┃": "|",
        "║": "|",
        "─": "-",
        "━": "-",
        "═": "-",
        "╸": "-",
        "╺": "-",
        "▼": "v",
        "▶": ">",
        "▲": "^",
        "►": ">",
        "◀": "<",
        "•": "*",
        "·": ".",
        "✓": "+",
        "✔": "+",
        "✗": "x",
        "✘": "x",
        "×": "x",
        "—": "-",
        "–": "-",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
    }
)
"""ASCII stand-ins of the same width for glyphs Textual and engine text draw."""


def ascii_text(text: str) -> str:
    """`text` with every character ASCII and of the same cell width (so layouts do not move)."""
    if text.isascii():
        return text
    out = []
    for char in text.translate(ASCII_GLYPHS):
        if char.isascii():
            out.append(char)
        elif unicodedata.combining(char):
            continue
        elif "\u2500" <= char <= "\u259f":  # box drawing and blocks: corners and bars
            out.append("+" if "\u250c" <= char <= "\u254b" else "#" if char >= "\u2580" else "-")
        else:
            out.append("??" if unicodedata.east_asian_width(char) in ("W", "F") else "?")
    return "".join(out)


class PlainFilter(LineFilter):
    """NO_COLOR: every colour dropped, bold, dim, italic, underline and reverse kept. Textual's own `NoColor`
    writes "default colour" codes, and its `Monochrome` (what it picks for NO_COLOR) draws grey shades."""

    def apply(self, segments: list[Segment], _background: Color) -> list[Segment]:
        """The segments without colour."""
        return [Segment(s.text, s.style.without_color if s.style else None, s.control) for s in segments]


class AsciiFilter(LineFilter):
    """Draws only ASCII: a terminal in a non-UTF-8 locale shows anything else as garbage."""

    def apply(self, segments: list[Segment], _background: Color) -> list[Segment]:
        """Replace each non-ASCII character by a stand-in of the same width."""
        return [
            segment if segment.text.isascii() else Segment(ascii_text(segment.text), segment.style, segment.control)
            for segment in segments
        ]


NO_COLOR_CSS = """
DataTable:nocolor > .datatable--cursor { text-style: reverse bold; }
DataTable:nocolor > .datatable--header { text-style: bold underline; }
Tab.-active:nocolor { text-style: reverse bold; }
Input:nocolor:focus { text-style: bold; }
"""
"""With NO_COLOR, what colour alone told apart (the cursor row, the shown tab) is marked with reverse and bold."""

ASCII_CSS = """
* { scrollbar-size-vertical: 1; }
Input { border: ascii $border-blurred; }
Input:focus { border: ascii $border; }
Button { border: ascii $primary; height: 3; }
TargetBrowser > DetailPane { border-top: ascii $primary-darken-2; }
ComposeView > DetailPane { border-top: ascii $primary-darken-2; }
ExportScreen > Vertical, IgnoreScreen > Vertical, SaveScreen > Vertical, EngineScreen > Vertical,
HelpScreen > VerticalScroll, TextScreen > VerticalScroll { border: ascii $primary; }
EngineErrorScreen > Vertical { border: ascii $error; }
Footer FooterKey.-command-palette { border-left: ascii $foreground 20%; }
VulnsView #vuln-filter { border: none; }
"""
"""Border overrides when the locale is not UTF-8 (box-drawing characters would show as garbage)."""


class ConnectingScreen(Screen[None]):
    """Shown while the first connection is made."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        """A centred line."""
        with Middle(), Center():
            yield Static(Text(f"Connecting to {self.target} ...", style="italic"), id="connecting")
        yield Footer()


class DockauditApp(App[int]):
    """dockaudit's terminal UI."""

    TITLE = "dockaudit"
    CSS_PATH = str(stylesheet_path())
    CSS = NO_COLOR_CSS
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("E", "switch_engine", "Engine"),
        Binding("T", "toggle_theme", "Theme", show=False),
        # Priority: Ctrl+C quits from anywhere, text fields included (Textual's own binding only hinted ctrl+q).
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        connector: Connector,
        choice: EngineChoice | None = None,
        *,
        watch_events: bool = True,
        theme: str | None = None,
        ascii_borders: bool = False,
        compose_paths: Sequence[str] = (),
        early: EarlyConnection | None = None,
    ) -> None:
        super().__init__()
        self.connector = connector
        """Opens an audit session on the chosen engine."""
        self.choice = choice or EngineChoice()
        """The engine asked for."""
        self.watch_events = watch_events
        """Follow Docker events (off in tests, whose worker waits must end)."""
        self.session: AuditSession | None = None
        """The session of the engine shown."""
        self.ascii_borders = ascii_borders
        """Whether box-drawing borders were replaced by ASCII ones (see `make_app`)."""
        self.compose_paths = tuple(compose_paths)
        """Compose files (or project directories) to list in the Compose tab."""
        self._early = early
        """The first connection, started before the UI loaded (used once, for the choice it was made for)."""
        wanted = theme or os.environ.get("DOCKAUDIT_THEME", "")
        self.theme = {"light": LIGHT_THEME, "dark": DARK_THEME}.get(wanted, wanted or DARK_THEME)
        self._interrupted_at = -QUIT_CONFIRM_SECONDS
        self._no_colour = PlainFilter()
        self._ascii = AsciiFilter()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """NO_COLOR drops colour (Textual would draw greys instead); an ASCII app draws ASCII only."""
        filters = [self._no_colour if isinstance(f, Monochrome) else f for f in super().get_line_filters()]
        if self.ascii_borders:
            filters.append(self._ascii)
        return filters

    def action_interrupt(self) -> None:
        """Ctrl+C: quit; while work runs, the first press says so and a second one (within seconds) quits."""
        now = time.monotonic()
        work = self.running_work()
        if not work or now - self._interrupted_at < QUIT_CONFIRM_SECONDS:
            self.exit()
            return
        self._interrupted_at = now
        self.notify(
            f"{work} still running. Press Ctrl+C again to stop and quit.",
            title="Quit?",
            severity="warning",
            timeout=QUIT_CONFIRM_SECONDS,
            markup=False,
        )

    def running_work(self) -> str:
        """What quitting would stop, in words (`2 audits`), or "" when nothing is running."""
        running = [w for w in self.workers if w.is_running]
        audits = len({w.group for w in running if w.group.startswith("audit")})
        writes = [w.group for w in running if w.group in ("export", "ignore", "save")]
        parts = [f"{audits} audit{'s' if audits != 1 else ''}"] if audits else []
        parts += [{"export": "an export", "ignore": "an ignore", "save": "a save"}[g] for g in writes]
        return " and ".join(parts).capitalize()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a toast; every toast passes here, so engine and file names in it are made harmless once."""
        # Toast text often quotes engine errors and paths: control characters must not reach the terminal,
        # and brackets in them must not be read as markup.
        super().notify(
            printable(message) if not markup else escape(printable(message)),
            title=printable(title, multiline=False),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def on_mount(self) -> None:
        """Connect in the background."""
        # After the app's own mount: Textual holds every frame drawn while the app mounts (a batch update), so
        # a main screen built in it would be drawn twice, the first time for nothing.
        self.call_later(self.start_connect)

    def start_connect(self) -> None:
        """Show the connecting screen and connect to `self.choice` (straight to the main screen when the early
        connection has answered already)."""
        early = self._early
        if early is not None and early.choice == self.choice and early.session.done():
            session = None if early.session.exception() else early.session.result()
            if session is not None and session.info is not None:
                self._early = None
                self._connected(Connected(session, session.info, first_inventory=early.inventory))
                return
        self._clear_screens()
        self.push_screen(ConnectingScreen(self._describe(self.choice)))
        self.connect()

    @staticmethod
    def _describe(choice: EngineChoice) -> str:
        if choice.context:
            return f"context {choice.context}"
        if choice.host:
            return choice.host
        return "the Docker engine"

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        """Open a session on the chosen engine."""
        choice = self.choice
        early, self._early = self._early, None
        if early is not None and early.choice != choice:
            early = None
        try:
            session = early.session.result() if early is not None else self.connector.open(choice)
        except Exception as exc:
            try:
                problem = self.connector.problem(choice, exc)
            except Exception:
                problem = EngineProblem(str(exc), hints=_generic_hints())
            if self.compose_paths:
                # Compose files need no engine: audit them, and say why the engine's tabs are empty.
                self.post_message(Connected(self.connector.files_session(), None, problem))
            else:
                self.post_message(ConnectFailed(problem))
            return
        if session.info is None:
            self.post_message(ConnectFailed(EngineProblem("the session has no engine", hints=_generic_hints())))
            return
        # The first listing starts at once, in this thread, while the main screen is built (which waits for it):
        # the engine's answer for 1,000 images takes as long as building the screen.
        if early is not None:
            self.post_message(Connected(session, session.info, first_inventory=early.inventory))
            return
        first_inventory: Future[Inventory] = Future()
        self.post_message(Connected(session, session.info, first_inventory=first_inventory))
        try:
            first_inventory.set_result(session.inventory())
        except Exception as exc:
            first_inventory.set_exception(exc)

    @on(Connected)
    def _connected(self, message: Connected) -> None:
        old = self.session
        self.session = message.session
        self._clear_screens()
        self.push_screen(
            MainScreen(
                message.session,
                message.engine,
                watch_events=self.watch_events,
                compose_paths=self.compose_paths,
                first_inventory=message.first_inventory,
            )
        )
        if old is not None and old is not message.session:
            self._close_session(old)
        if message.problem is not None:
            self.notify(
                f"{message.problem.message}: the Compose files are audited without an engine (E picks one)",
                title="No engine",
                severity="warning",
                timeout=15,
            )

    @on(ConnectFailed)
    def _connect_failed(self, message: ConnectFailed) -> None:
        from dockaudit.tui.screens.error import EngineErrorScreen  # screens the first paint does not show load late

        self._clear_screens()
        self.push_screen(EngineErrorScreen(message.problem), self._error_choice)

    def _clear_screens(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def _error_choice(self, choice: str | None) -> None:
        if choice == "switch":
            self.action_switch_engine()
        else:
            self.start_connect()

    @work(thread=True, group="close", exit_on_error=False)
    def _close_session(self, session: AuditSession) -> None:
        session.close()

    def action_help(self) -> None:
        """Keys and the rule catalog."""
        from dockaudit.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_switch_engine(self) -> None:
        """Pick another context or host."""
        from dockaudit.tui.screens.engines import EngineScreen

        try:
            contexts = self.connector.contexts()
        except Exception:
            contexts = []
        self.push_screen(EngineScreen(contexts, self.choice.host or ""), self._engine_chosen)

    def _engine_chosen(self, choice: EngineChoice | None) -> None:
        if choice is None:
            if self.session is None:
                # Came from the error screen: try again rather than leave a blank screen.
                self.start_connect()
            return
        self.choice = EngineChoice(host=choice.host, context=choice.context)
        self.start_connect()

    def action_toggle_theme(self) -> None:
        """Switch between the light and the dark theme."""
        self.theme = LIGHT_THEME if self.current_theme.dark else DARK_THEME

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette lists dockaudit's actions as well as Textual's."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            for title, help_text, action in (
                ("Audit selection", "Checklist now, Trivy in the background (a)", "audit"),
                ("Audit all", "Every listed target (A)", "audit_all"),
                ("Cancel audits", "Stop audit-all, queued and running audits, kill Trivy (c)", "cancel_audits"),
                ("Rescan without cache", "Ignore cached Trivy results (ctrl+r)", "rescan"),
                ("Export report", "JSON, SARIF, HTML, Markdown, JUnit (e)", "export"),
                ("Ignore finding", "Write an ignore with a reason to .dockaudit.toml (i)", "ignore"),
                ("Copy fix", "Copy the highlighted finding's fix via OSC 52 (y)", "copy_fix"),
                ("Refresh inventory", "List images and containers again (r)", "refresh"),
                ("Toggle stopped containers", "Show or hide containers that are not running (x)", "toggle_stopped"),
                ("Sort list", "Name, grade, size, age (s)", "sort"),
                ("Save hardened file", "Write the hardened Dockerfile / Compose service (w)", "save"),
            ):
                yield SystemCommand(title, help_text, partial(screen.run_action, action))
        yield SystemCommand("Switch engine", "Another Docker context or host (E)", self.action_switch_engine)
        yield SystemCommand("Toggle light/dark", "Switch the theme (T)", self.action_toggle_theme)
        yield SystemCommand("Help", "Keys and the rule catalog (?)", self.action_help)

    def on_unmount(self) -> None:
        """Release the engine."""
        if self.session is not None:
            # Closing on exit must never raise over the user's terminal.
            with contextlib.suppress(Exception):
                self.session.close()


def _generic_hints() -> tuple[str, ...]:
    return (
        "Check the -H/--host URL or the --context name (docker context ls lists them)",
        "DOCKER_HOST=unix:///var/run/docker.sock (or ssh://user@host) overrides the context",
    )


class AsciiDockauditApp(DockauditApp):
    """The app with ASCII borders and glyphs, for terminals whose locale is not UTF-8."""

    CSS = NO_COLOR_CSS + ASCII_CSS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Tab underlines, progress bars and scrollbar thumbs draw with block characters that a C locale
        # shows as garbage; these glyph tables are class-level in Textual, and one app runs per process.
        self._glyphs = (
            Bar.HALF_BAR_LEFT,
            Bar.BAR,
            Bar.HALF_BAR_RIGHT,
            ScrollBarRender.VERTICAL_BARS,
            ScrollBarRender.HORIZONTAL_BARS,
        )
        Bar.HALF_BAR_LEFT = Bar.BAR = Bar.HALF_BAR_RIGHT = "-"
        ScrollBarRender.VERTICAL_BARS = [" "] * 8
        ScrollBarRender.HORIZONTAL_BARS = [" "] * 8

    def get_key_display(self, binding: Binding) -> str:
        """Key names in letters where Textual would draw a symbol (`enter`, not a return arrow)."""
        shown = super().get_key_display(binding)
        return shown if shown.isascii() else binding.key

    def on_unmount(self) -> None:
        """Put Textual's glyphs back (tests run several apps in one process); Textual also calls the base's."""
        (
            Bar.HALF_BAR_LEFT,
            Bar.BAR,
            Bar.HALF_BAR_RIGHT,
            ScrollBarRender.VERTICAL_BARS,
            ScrollBarRender.HORIZONTAL_BARS,
        ) = self._glyphs


def make_app(
    connector: Connector,
    choice: EngineChoice | None = None,
    *,
    watch_events: bool = True,
    theme: str | None = None,
    ascii_borders: bool | None = None,
    compose_paths: Sequence[str] = (),
    early: EarlyConnection | None = None,
) -> DockauditApp:
    """Build the app around a connector; tests, screenshots and the CLI all come through here (the CLI with the
    connection it started early, see `early`)."""
    use_ascii = (not unicode_terminal()) if ascii_borders is None else ascii_borders
    cls = AsciiDockauditApp if use_ascii else DockauditApp
    return cls(
        connector,
        choice,
        watch_events=watch_events,
        theme=theme,
        ascii_borders=use_ascii,
        compose_paths=compose_paths,
        early=early,
    )
