"""The Compose tab on the real engine: a live project started with `docker compose up`, and Compose files given to
`dockaudit tui`, as project → service → container trees with findings on compose.yaml lines and the hardened
Compose file in the diff pane. Every project started here is brought down by its own name; nothing else is touched.
"""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent
from textual.widgets.tree import TreeNode

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.facts.image import NamedValue
from dockaudit.facts.inventory import ContainerSummary
from dockaudit.live_compose import group_by_project
from dockaudit.model import Finding, Status, TargetKind, TargetResult
from dockaudit.parse.compose import find_compose
from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.backend import ComposeFileProject, EngineConnector, Hardening
from dockaudit.tui.compose_presenters import ComposeNode, Level, compose_status, compose_tree, node_label
from dockaudit.tui.demo import DemoConnector
from dockaudit.tui.screens.dialogs import SaveScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.fields import Field
from dockaudit.tui.widgets.findings import FindingsView
from tests.cli.run import dockaudit
from tests.compose.test_compose_engine import PASSWD_ROOT_ONLY, _free_port, _image
from tests.compose.test_compose_live import _compose
from tests.fixtures.images import TEST_LABEL
from tests.tui.conftest import demo_app, sync
from tests.tui.settle import settle

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class LiveProject:
    """A project started with `docker compose up -d`: its name and Compose file."""

    name: str
    file: Path


def _compose_text(image: str) -> str:
    return f"""services:
  web:
    image: {image}
    ports:
      - "{_free_port()}:8080"
    labels:
      {TEST_LABEL}: "1"
  worker:
    image: {image}
    read_only: true
    labels:
      {TEST_LABEL}: "1"
"""


@pytest.fixture
def live(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[LiveProject]:
    """A web service publishing a port and a read-only worker, on a FROM-scratch busybox image; brought down after."""
    image = _image(docker_client, "live-web", 8080, PASSWD_ROOT_ONLY)
    name = f"dockaudit-test-tui-{uuid.uuid4().hex[:8]}"
    file = tmp_path / "compose.yaml"
    file.write_text(_compose_text(image))
    up = _compose(tmp_path, name, "up", "--detach")
    try:
        assert up.returncode == 0, up.stderr
        yield LiveProject(name, file)
    finally:
        down = _compose(tmp_path, name, "down", "--volumes", "--remove-orphans", "--timeout", "3")
        assert down.returncode == 0, down.stderr


def engine_app(tmp_path: Path, compose_paths: tuple[str, ...] = ()) -> DockauditApp:
    options = AuditOptions(
        settings=Settings(),
        scanners=frozenset({"checklist"}),
        cache_path=tmp_path / "scan-cache.json",
        config_dir=tmp_path,
    )
    return make_app(EngineConnector(options), watch_events=False, ascii_borders=False, compose_paths=compose_paths)


async def open_compose_tab(app: DockauditApp, pilot: Pilot[int]) -> MainScreen:
    """The Compose tab, reached with the same `]` key as every main tab."""
    await settled(app, pilot)
    screen = app.screen
    assert isinstance(screen, MainScreen), type(screen).__name__
    while screen.main_tab != "compose":
        await pilot.press("right_square_bracket")
        await settled(app, pilot)
    return screen


async def settled(app: DockauditApp, pilot: Pilot[int]) -> None:
    await settle(app, pilot)  # type: ignore[arg-type]


def record_toasts(app: DockauditApp) -> list[tuple[str, str]]:
    """Every toast the app shows, as (message, severity): toasts expire while a big engine lists."""
    toasts: list[tuple[str, str]] = []
    notify = app.notify

    def record(message: str, **kwargs: Any) -> None:
        toasts.append((message, kwargs.get("severity", "information")))
        notify(message, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    return toasts


def rows(screen: MainScreen) -> dict[str, ComposeNode]:
    return {node.key: node for node in screen.compose_view.nodes()}


def tree_node(screen: MainScreen, key: str) -> TreeNode[ComposeNode]:
    node = screen.compose_view.tree_node(key)
    assert node is not None, f"no row {key}"
    return node


async def highlight(screen: MainScreen, pilot: Pilot[int], key: str) -> None:
    view = screen.compose_view
    view.project_tree.move_cursor(tree_node(screen, key))
    await pilot.pause()
    assert view.current is not None and view.current.key == key


def failing(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.rule_id: f for f in findings if f.status is Status.FAIL}


def shown_text(screen: MainScreen, selector: str) -> str:
    """The text a Static of the Compose tab's detail pane shows (its rich content, rendered without colour)."""
    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(screen.compose_view.detail.query_one(selector, Static).content)
    return console.file.getvalue().rstrip("\n")  # type: ignore[attr-defined, no-any-return]


@sync
async def test_live_project_lists_services_and_containers_with_findings_on_compose_lines_and_its_hardened_diff(
    tmp_path: Path, live: LiveProject, capsys: pytest.CaptureFixture[str]
) -> None:
    app = engine_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose_tab(app, pilot)
        found = rows(screen)
        project = found[f"compose:live:{live.name}"]
        projects = [row for row in found.values() if row.level is Level.PROJECT]
        tab = screen.query_one("#main-tabs", TabbedContent).get_tab("compose")
        assert str(tab.label) == f"Compose {len(projects)}"
        assert project.level is Level.PROJECT
        assert [s.name for s in project.children] == ["web", "worker"]
        assert [[c.name for c in s.children] for s in project.children] == [
            [f"{live.name}-web-1"],
            [f"{live.name}-worker-1"],
        ]
        assert tree_node(screen, project.key).is_expanded, "a project row opens on its services"

        # Enter on a service opens it on its containers.
        web = project.children[0]
        await highlight(screen, pilot, web.key)
        await pilot.press("enter")
        await pilot.pause()
        assert tree_node(screen, web.key).is_expanded
        assert str(tree_node(screen, web.children[0].key).label).startswith(f"{live.name}-web-1")

        # `a` on the service audits its container; the service shows those findings, on compose.yaml's lines.
        await pilot.press("a")
        await settled(app, pilot)
        (container_key,) = web.audit_keys
        result = screen.results[container_key]
        assert screen.compose_view.detail.query_one(FindingsView).result == result
        findings = failing(result.findings)
        lines = live.file.read_text().splitlines()
        for rule_id in ("DA408", "DA409", "DA410", "DA412"):
            location = findings[rule_id].location
            assert location.path == str(live.file), rule_id
            assert location.line is not None and lines[location.line - 1] == "  web:", rule_id
        ports = findings["DA427"].location
        assert ports.line is not None and lines[ports.line - 1].strip().startswith('- "'), "the port's own line"
        assert "Where:" in shown_text(screen, "#finding-detail") and "compose.yaml" in shown_text(
            screen, "#finding-detail"
        )
        assert str(tree_node(screen, web.key).label).startswith(f"web  {result.grade}")

        # The diff pane: the project's Compose file hardened, the same diff `dockaudit harden compose.yaml` prints.
        await pilot.press("3")
        await settled(app, pilot)
        hardening = screen.hardening[project.key]
        assert isinstance(hardening, Hardening), hardening
        assert "+    read_only: true" in hardening.diff and "[DA409]" in hardening.note
        assert "+    read_only: true" in shown_text(screen, "#hardening-text .body")
    # (After the app: it holds stdout while it runs.)
    cli = dockaudit(capsys, "harden", str(live.file))
    assert cli.code == 0, cli.err
    assert hardening.diff == cli.out


@sync
async def test_compose_file_on_the_command_line_lists_its_services_as_targets(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    image = _image(docker_client, "live-web", 8080, PASSWD_ROOT_ONLY)
    project_dir = tmp_path / "shop"
    project_dir.mkdir()
    file = project_dir / "compose.yaml"
    file.write_text(_compose_text(image))
    app = engine_app(tmp_path, (str(file),))
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        # `dockaudit tui compose.yaml` opens on that project, the tree under the keys, though an engine answers.
        assert screen.main_tab == "compose" and app.focused is screen.compose_view.project_tree
        project = rows(screen)["compose:file:0"]
        assert (project.name, project.detail) == ("shop", str(file))
        assert [s.name for s in project.children] == ["web", "worker"]
        assert all(s.level is Level.SERVICE and not s.children for s in project.children)

        # `a` on the project audits every service through the session, each a target of its own.
        await highlight(screen, pilot, project.key)
        await pilot.press("a")
        await settled(app, pilot)
        web, worker = (screen.results[s.key] for s in project.children)
        assert (web.name, worker.name) == ("shop/web", "shop/worker")
        # The project row and its status line read as its weakest service once audited.
        weakest = max((web, worker), key=lambda r: ("ABCDEF".index(r.grade), -r.score))
        names = ", ".join(r.name.split("/")[1] for r in (web, worker) if r.grade == weakest.grade)
        assert str(tree_node(screen, project.key).label).endswith(f"2 services  worst {weakest.grade}")
        assert shown_text(screen, "#detail-status") == (
            f"Project shop: worst grade {weakest.grade} ({names}); 2/2 services audited"
        )
        assert "DA409" in failing(web.findings) and "DA409" not in failing(worker.findings)
        lines = file.read_text().splitlines()
        location = failing(web.findings)["DA427"].location
        assert location.path == str(file) and location.line is not None
        assert lines[location.line - 1].strip().startswith('- "')

        await highlight(screen, pilot, project.children[1].key)
        assert screen.compose_view.detail.query_one(FindingsView).result == worker
        await pilot.press("3")
        await settled(app, pilot)
        hardening = screen.hardening[project.key]
        assert isinstance(hardening, Hardening), hardening
        assert "+    cap_drop:" in hardening.diff and hardening.filename == "compose.hardened.yaml"
        assert "read_only: true" in hardening.hardened

        # `w` saves the hardened Compose file, which Compose itself accepts.
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        saved = project_dir / "compose.hardened.yaml"
        field = app.screen.query_one("#save-path", Field)
        field.value = str(saved)
        field.focus()
        await pilot.press("enter")
        await settled(app, pilot)
    assert saved.read_text() == hardening.hardened
    config = subprocess.run(
        [*find_compose().argv, "-f", str(saved), "config", "--quiet"], capture_output=True, text=True, check=False
    )
    assert config.returncode == 0, config.stderr


@sync
async def test_an_invalid_compose_file_is_a_one_line_error_in_the_ui(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: x\n    ports: [{bogus: 1}]\n")
    app = engine_app(tmp_path, (str(bad),))
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_compose_tab(app, pilot)
        project = rows(screen)["compose:file:0"]
        assert project.error and "\n" not in project.error and "Traceback" not in project.error
        assert "ports" in project.error, "Compose's own message"
        assert not project.children
        await highlight(screen, pilot, project.key)
        status = shown_text(screen, "#detail-status")
        assert status.startswith(f"Compose rejected {bad}") and "\n" not in status
        errors = [message for message, severity in toasts if severity == "error"]
        assert len(errors) == 1 and project.error in errors[0]
        await pilot.press("a", "3")
        await settled(app, pilot)
        assert isinstance(app.screen, MainScreen), "nothing broke"
        assert project.error in shown_text(screen, "#hardening-text .body")


def test_tui_refuses_a_path_that_is_no_compose_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = dockaudit(capsys, "tui", str(tmp_path / "nope.yaml"))
    assert missing.code == 2 and missing.err.count("\n") == 1 and "no such file" in missing.err
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    other = dockaudit(capsys, "tui", str(tmp_path / "Dockerfile"))
    assert other.code == 2 and other.err.count("\n") == 1 and "not a Compose file" in other.err


def _container(name: str, project: str, service: str) -> ContainerSummary:
    labels = (
        NamedValue("com.docker.compose.project", project),
        NamedValue("com.docker.compose.service", service),
        NamedValue("com.docker.compose.project.config_files", "/srv/app/compose.yaml"),
    )
    return ContainerSummary(
        name, name, "img", "sha256:1", "running", "Up", datetime(2026, 1, 1, tzinfo=UTC), labels=labels
    )


def test_tree_puts_files_first_then_live_projects_and_a_service_shows_its_first_replica() -> None:
    grouping = group_by_project(
        [_container("c2", "app", "web"), _container("c1", "app", "web"), _container("c3", "app", "db")]
    )
    tree = compose_tree(grouping, [ComposeFileProject("bad.yaml", None, "yaml: line 2: did not find expected key")])
    assert [(p.key, p.name) for p in tree] == [("compose:file:0", "bad.yaml"), ("compose:live:app", "app")]
    live = tree[1]
    assert [s.name for s in live.children] == ["db", "web"]
    web = live.children[1]
    assert web.audit_keys == ("container:c2", "container:c1") and web.result_key == "container:c2"
    assert live.audit_keys == ("container:c3", "container:c2", "container:c1")
    label = node_label(live, {}, {}, {})
    assert label.plain == "app  live, 2 services, 3 containers"
    assert node_label(web, {}, {}, {}).plain == "web  -  2 containers"
    assert node_label(tree[0], {}, {}, {}).plain == "bad.yaml  error: yaml: line 2: did not find expected key"


@sync
async def test_with_no_engine_the_compose_files_are_still_audited(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n    ports:\n      - 5432:5432\n")
    app, _ = demo_app(DemoConnector(fail_connect=True), compose_paths=(str(tmp_path / "compose.yaml"),))
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.engine is None, type(screen).__name__
        assert screen.main_tab == "compose", "the tab with something to audit"
        project = rows(screen)["compose:file:0"]
        (db,) = project.children
        await highlight(screen, pilot, db.key)
        await pilot.press("a")
        await settled(app, pilot)
        assert "DA703" in failing(screen.results[db.key].findings), "a database published on all interfaces"
        assert [severity for message, severity in toasts if "without an engine" in message] == ["warning"]


def _graded(name: str, grade: str, score: int) -> TargetResult:
    return TargetResult(
        TargetKind.COMPOSE_SERVICE, None, f"compose.yaml#{name}", f"app/{name}", score=score, grade=grade
    )


def test_a_project_reads_as_its_worst_graded_service_and_counts_what_is_audited() -> None:
    grouping = group_by_project(
        [_container("c1", "app", "web"), _container("c2", "app", "db"), _container("c3", "app", "cache")]
    )
    [project] = compose_tree(grouping, [])
    assert [s.name for s in project.children] == ["cache", "db", "web"]
    assert compose_status(project, None, None, {}) == "Project app: press a to audit its 3 services"
    # Equal grades: the lower score is the worse; a failed checklist (not graded) is no grade at all.
    results = {
        "container:c1": _graded("web", "D", 62),
        "container:c2": _graded("db", "D", 55),
        "container:c3": replace(_graded("cache", "A", 100), scans={"checklist": "failed: boom"}),
    }
    assert not results["container:c3"].graded
    assert node_label(project, results, {}, {}).plain == "app  live, 3 services, 3 containers  worst D"
    assert compose_status(project, None, None, results) == (
        "Project app: worst grade D (db, web); 3/3 services audited"
    )
    only_web = {"container:c1": results["container:c1"]}
    assert compose_status(project, None, None, only_web) == ("Project app: worst grade D (web); 1/3 services audited")
