"""Named views of the demo app, reached by key presses: shared by the snapshot tests and the screenshot script."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot

from dockaudit.config import CONFIG_NAME
from dockaudit.tui.demo import DEMO_CONFIG, DemoConnector
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.audit_progress import AuditProgress
from dockaudit.tui.widgets.findings import FindingsView
from tests.tui.settle import settle

Steps = Callable[[Pilot[object]], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    """One view: how to reach it and what it should show."""

    name: str
    description: str
    steps: Steps
    fail_connect: bool = False
    hang_trivy: bool = False
    """The demo's Trivy never finishes, so scans stay in progress for the picture."""


PICTURE_DIR = Path("/tmp/dockaudit-demo")
"""Where the demo's temporary directories go in pictures: the export dialog shows the path, so it is fixed."""


def scene_connector(scene: Scene | None = None) -> DemoConnector:
    """The demo engine for a picture of `scene`: a directory of the scene's own under `PICTURE_DIR`, its config
    file reset, so an ignore one picture makes is not in the next."""
    directory = PICTURE_DIR / (scene.name if scene is not None else "default")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_NAME).write_text(DEMO_CONFIG, encoding="utf-8")
    if scene is None:
        return DemoConnector(config_dir=directory)
    return DemoConnector(fail_connect=scene.fail_connect, hang_trivy=scene.hang_trivy, config_dir=directory)


async def _ready(pilot: Pilot[object]) -> MainScreen:
    await settle(pilot.app, pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MainScreen)
    return screen


def _freeze_elapsed(app: object) -> None:
    """Pictures must not depend on how long the demo's audit-all took (`0 s` or `1 s` under load)."""
    for screen in app.screen_stack:  # type: ignore[attr-defined]
        for progress in screen.query(AuditProgress):
            if progress.ended:
                progress._ended_at = progress._started
                progress._show()


async def _quiet(pilot: Pilot[object]) -> None:
    await settle(pilot.app, pilot)
    pilot.app.clear_notifications()
    _freeze_elapsed(pilot.app)
    await pilot.pause()


async def _audited(pilot: Pilot[object], row_name: str = "shop/web:latest") -> MainScreen:
    screen = await _ready(pilot)
    await pilot.press("A")
    await settle(pilot.app, pilot)
    table = screen.browser("image").table
    names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
    if row_name in names:
        table.move_cursor(row=names.index(row_name))
    await _quiet(pilot)
    return screen


async def image_list(pilot: Pilot[object]) -> None:
    """Every image audited, sorted worst grade first."""
    await _audited(pilot)
    await pilot.press("s")
    await _quiet(pilot)


async def findings(pilot: Pilot[object]) -> None:
    """The findings of the bad demo image, grouped by severity, the critical one open."""
    await _audited(pilot)
    await pilot.press("1")
    await _quiet(pilot)


async def vulnerabilities(pilot: Pilot[object]) -> None:
    """Trivy's vulnerabilities of the bad demo image."""
    await _audited(pilot)
    await pilot.press("2")
    await _quiet(pilot)


async def dockerfile(pilot: Pilot[object]) -> None:
    """The hardened Dockerfile diff."""
    await _audited(pilot)
    await pilot.press("3")
    await _quiet(pilot)


async def overview(pilot: Pilot[object]) -> None:
    """Config, redacted env, labels and layers of an image."""
    await _audited(pilot)
    await pilot.press("4")
    await _quiet(pilot)


async def runtime(pilot: Pilot[object]) -> None:
    """The hardened docker run and Compose service of a container."""
    screen = await _ready(pilot)
    await pilot.press("right_square_bracket")
    await pilot.press("A")
    await settle(pilot.app, pilot)
    table = screen.browser("container").table
    names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
    table.move_cursor(row=names.index("shop-web"))
    await pilot.press("3")
    await _quiet(pilot)


async def host(pilot: Pilot[object]) -> None:
    """The Host tab after a host audit."""
    await _ready(pilot)
    await pilot.press("left_square_bracket", "a")
    await _quiet(pilot)


async def scanning(pilot: Pilot[object]) -> None:
    """Audit all while Trivy is still running: rows auditing, the rest queued, the progress line counting."""
    screen = await _ready(pilot)
    await pilot.press("A")
    table = screen.browser("image").table

    def settled() -> bool:
        # Audit-all runs four at a time; with Trivy hung those four stay in it and the others wait.
        auditing = [s for s in screen.scans.values() if s.stage == "auditing"]
        return len(auditing) >= 4 and not table._updated_cells and not table._require_update_dimensions

    while not settled():
        await pilot.pause()
    names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
    table.move_cursor(row=names.index("shop/web:latest"))
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


async def export_dialog(pilot: Pilot[object]) -> None:
    """The export modal."""
    await _audited(pilot)
    await pilot.press("e")
    await _quiet(pilot)


async def ignore_dialog(pilot: Pilot[object]) -> None:
    """The ignore modal on the critical finding."""
    await _audited(pilot)
    await pilot.press("i")
    await _quiet(pilot)


async def ignored(pilot: Pilot[object]) -> None:
    """The worst finding of an image ignored with a reason and an expiry: its grade goes from C to B at once, and
    the finding is shown in the IGNORED group."""
    screen = await _audited(pilot, "busybox:1.36")
    await pilot.press("i")
    await pilot.pause()
    await pilot.press(*"the base image decides; tracked upstream", "tab", "tab")
    await pilot.press(*"2027-01-31", "enter")
    await settle(pilot.app, pilot)
    view = screen.browser("image").detail.query_one(FindingsView)
    tree = view.finding_tree
    group = tree.root.children[-1]
    tree.focus()
    tree.move_cursor(group)
    await pilot.press("enter")
    await pilot.pause()
    tree.move_cursor(group.children[0])
    await _quiet(pilot)


async def help_screen(pilot: Pilot[object]) -> None:
    """Keys and the rule catalog."""
    await _ready(pilot)
    await pilot.press("question_mark")
    await _quiet(pilot)


async def engine_error(pilot: Pilot[object]) -> None:
    """The unreachable-engine screen."""
    await _quiet(pilot)


SCENES: tuple[Scene, ...] = (
    Scene("image-list", "Images with grades and severity counts, worst first", image_list),
    Scene("findings", "Findings grouped by severity, with evidence, rationale and fix", findings),
    Scene("vulnerabilities", "Trivy vulnerabilities, fixed version first", vulnerabilities),
    Scene("dockerfile-diff", "The hardened Dockerfile as a diff", dockerfile),
    Scene("overview", "Image overview: user, entrypoint, ports, redacted env, layers", overview),
    Scene("container-runtime", "A container's hardened docker run and Compose service", runtime),
    Scene("host", "Host and daemon checks", host),
    Scene(
        "scanning",
        "Checklist grades at once, Trivy running in the background, the rest queued",
        scanning,
        hang_trivy=True,
    ),
    Scene("export-dialog", "Export a report: format and path", export_dialog),
    Scene("ignore-dialog", "Ignore a finding with a reason and expiry", ignore_dialog),
    Scene(
        "ignored", "An ignored finding: rescored at once, dimmed in the IGNORED group with reason and expiry", ignored
    ),
    Scene("help", "Keys and the rule catalog", help_screen),
    Scene("engine-error", "The engine cannot be reached: what was tried, how to fix it", engine_error, True),
)
"""Every view the snapshots and screenshots cover."""
