"""Audit-all (`A`) on the real engine: results stream into the list, the progress line counts them and the
failures, and `c` cancels the rest (and says so)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.render import measure
from textual.widgets._data_table import default_cell_formatter

from dockaudit.audit_options import AuditOptions
from dockaudit.config import Settings
from dockaudit.facts.inventory import ImageSummary
from dockaudit.model import TargetKind, TargetResult
from dockaudit.scanners.trivy import TrivyOptions
from dockaudit.tui import presenters as p
from dockaudit.tui.app import DockauditApp, make_app
from dockaudit.tui.backend import EngineConnector, ScanState
from dockaudit.tui.messages import EngineEvent
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.screens.target_lists import image_key
from dockaudit.tui.widgets.audit_progress import AuditProgress
from dockaudit.tui.widgets.target_table import TargetTable
from tests.fixtures.fleet import load_fleet, remove_fleet
from tests.tui.conftest import demo_app, sync
from tests.tui.test_real_engine import HANGING_TRIVY, _alive

FLEET = 24


@pytest.fixture
def fleet_repo(docker_client: docker.DockerClient) -> Iterator[str]:
    """A fleet of distinct images under a repository name of this test alone."""
    repo = f"dockaudit-test/audit-all-{uuid.uuid4().hex[:8]}"
    load_fleet(docker_client, repo, FLEET)
    try:
        yield repo
    finally:
        remove_fleet(docker_client, repo)


def fleet_app(tmp_path: Path, *, in_child: bool = True, **options: object) -> DockauditApp:
    audit = AuditOptions(
        settings=Settings(),
        cache_path=tmp_path / "scan-cache.json",
        config_dir=tmp_path,
        **options,  # type: ignore[arg-type]
    )
    return make_app(EngineConnector(audit, audit_all_in_child=in_child), watch_events=False, ascii_borders=False)


async def list_fleet(app: DockauditApp, pilot: object, repo: str) -> MainScreen:
    """Wait for the list, then filter it to the fleet (as a user would: `/`, the name, Enter)."""
    deadline = time.monotonic() + 60
    while not (isinstance(app.screen, MainScreen) and app.screen.inventory.images):
        assert time.monotonic() < deadline, "the image list never loaded"
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, MainScreen)
    await pilot.press("slash", *repo, "enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert screen.browser("image").table.row_count == FLEET
    return screen


def grade_cells(screen: MainScreen) -> dict[str, str]:
    """The Grade cell of every listed image, by key."""
    table = screen.browser("image").table
    cells: dict[str, str] = {}
    for row in range(table.row_count):
        key = str(table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value)
        cell = table.get_cell(key, "grade")
        cells[key] = cell.plain if isinstance(cell, Text) else str(cell)
    return cells


def progress_text(screen: MainScreen) -> str:
    rendered = screen.query_one("#audit-progress", AuditProgress).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


@pytest.mark.docker
@pytest.mark.parametrize("in_child", [True, False], ids=["child-process", "threads"])
@sync
async def test_results_stream_into_the_list_and_a_removed_image_is_not_a_failure(
    tmp_path: Path, fleet_repo: str, docker_client: docker.DockerClient, in_child: bool
) -> None:
    # One at a time, so the results arrive over several drain ticks.
    app = fleet_app(tmp_path, in_child=in_child, scanners=frozenset({"checklist"}), concurrency=1)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await list_fleet(app, pilot, fleet_repo)
        # Gone between listing and auditing: nothing to audit and nothing failed; the list must not grade it.
        gone = docker_client.api.inspect_image(f"{fleet_repo}:7")["Id"]  # type: ignore[no-untyped-call]
        docker_client.api.remove_image(f"{fleet_repo}:7", force=True)
        await pilot.press("A")
        progress = screen.query_one("#audit-progress", AuditProgress)
        if progress.running:
            assert progress_text(screen).startswith(f"Auditing {progress.done}/{FLEET}")
        else:
            # In threads, 24 small images can all be audited before the key press returns (seen in CI).
            assert not in_child and progress_text(screen).startswith(f"Audited {FLEET}/{FLEET}"), progress_text(screen)
        midway: list[tuple[int, int]] = []
        deadline = time.monotonic() + 120
        while progress.running:
            assert time.monotonic() < deadline, f"audit-all did not finish: {progress_text(screen)}"
            await pilot.pause(0.05)
            graded = sum(1 for cell in grade_cells(screen).values() if cell[:1] in "ABCDEF" or cell == "gone")
            if 0 < progress.done < FLEET:
                midway.append((progress.done, graded))
                assert f"Auditing {progress.done}/{FLEET}" in progress_text(screen)
        # Rows were filled while others still waited, and the list showed exactly what had arrived. (In threads,
        # without the child's start-up, 24 small images can all finish within one 200 ms drain.)
        assert midway or not in_child, "every result arrived at once: nothing streamed"
        assert all(done == graded for done, graded in midway), midway
        cells = grade_cells(screen)
        assert cells.pop(image_key(gone)) == "gone"
        assert all(cell[:1] in "ABCDEF" for cell in cells.values()), cells
        assert progress_text(screen).startswith(f"Audited {FLEET}/{FLEET} · ")
        assert "failed" not in progress_text(screen)
        assert len([k for k in screen.results if k in cells or k == image_key(gone)]) == FLEET
        # The session owns the child's results: rescoring (after an ignore) finds them.
        result = screen.results[next(iter(cells))]
        assert screen.session.raw(result) is not None


@pytest.mark.docker
@sync
async def test_c_cancels_the_rest_and_says_so(tmp_path: Path, fleet_repo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "trivy.pids"
    monkeypatch.setenv("FAKE_TRIVY_PIDFILE", str(pidfile))
    # A fault-injection stand-in for Trivy that never finishes: no audit can end before the cancel.
    app = fleet_app(
        tmp_path,
        trivy=TrivyOptions(offline=True, cache_dir=tmp_path),
        trivy_path=str(HANGING_TRIVY),
        scanners=frozenset({"checklist", "secret"}),
        concurrency=2,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await list_fleet(app, pilot, fleet_repo)
        await pilot.press("c")  # nothing runs yet: nothing happens
        assert screen.audit_all_run is None
        await pilot.press("A")
        progress = screen.query_one("#audit-progress", AuditProgress)
        deadline = time.monotonic() + 60
        while len(pidfile.read_text().split()) < 4 if pidfile.exists() else True:
            assert time.monotonic() < deadline, "the stand-in Trivy never started"
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        running = [k for k, cell in grade_cells(screen).items() if cell == "..."]
        assert len(running) == 2, grade_cells(screen)
        await pilot.press("c")
        deadline = time.monotonic() + 30
        while progress.running:
            assert time.monotonic() < deadline, "the cancel did not end audit-all"
            await pilot.pause(0.05)
        # The two running keep their checklist result (Trivy's part says it was cancelled); the rest never ran.
        assert progress_text(screen).startswith(f"Cancelled: 2/{FLEET} audited, {FLEET - 2} not")
        notes = [f"{n.title}: {n.message}" for n in app._notifications]
        assert any(f"Audit all cancelled: 2 of {FLEET} audited" in note for note in notes), notes
        assert screen.audit_all_run is None
        assert sorted(screen.results) == sorted(running)
        assert all("cancelled" in screen.results[k].scans["trivy"] for k in running)
        cells = grade_cells(screen)
        assert all(cells.pop(k)[:1] in "ABCDEF" for k in running)
        assert sorted(cells.values()) == ["-"] * (FLEET - 2), cells  # queued rows read "not audited" again
        pids = [int(p) for p in pidfile.read_text().split()]
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "Trivy (or its child) survived the cancel"
            await pilot.pause(0.1)


def test_an_unchecked_target_reads_err_never_a_pass() -> None:
    unchecked = TargetResult(kind=TargetKind.IMAGE, engine="e", id="sha256:1", name="x", scans={"checklist": "failed"})
    assert unchecked.grade == "A"  # what the model holds when nothing was found, because nothing was checked
    failed = ScanState(stage="failed", running=False, error="collect: no such image")
    assert p.grade_text(unchecked, failed).plain == "ERR"
    assert p.grade_text(unchecked, None).plain == "ERR"
    assert p.scan_summary(unchecked, None).startswith("Grade - (score -)")
    checked = TargetResult(kind=TargetKind.IMAGE, engine="e", id="sha256:2", name="y", scans={"checklist": "ok"})
    assert p.grade_text(checked, None).plain == "A"
    rows = p.sort_images(
        [_summary("sha256:1", "a"), _summary("sha256:2", "b"), _summary("sha256:3", "c")],
        p.SortKey.GRADE,
        {"sha256:1": unchecked, "sha256:2": checked},
    )
    assert [r.id for r in rows] == ["sha256:2", "sha256:1", "sha256:3"]  # graded, unchecked, never audited


def _summary(image_id: str, name: str) -> ImageSummary:
    return ImageSummary(id=image_id, repo_tags=(f"{name}:1",), repo_digests=(), size=1, created=None)


def test_the_progress_line_counts_estimates_and_ends() -> None:
    assert p.audit_progress_text(0, 1000, 0, 0.4).plain == "Auditing 0/1000 · c cancels"
    assert (
        p.audit_progress_text(250, 1000, 3, 10.0).plain == "Auditing 250/1000 · 3 failed · about 30 s left · c cancels"
    )
    assert p.audit_progress_text(500, 1000, 0, 100.0).plain == "Auditing 500/1000 · about 1 min 40 s left · c cancels"
    assert p.audit_progress_text(1000, 1000, 3, 14.2, ended=True).plain == "Audited 1000/1000 · 3 failed · 14 s"
    text = p.audit_progress_text(120, 1000, 0, 5.0, ended=True, cancelled=True).plain
    assert text == "Cancelled: 120/1000 audited, 880 not · 5 s"


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TargetTable(p.IMAGE_COLUMNS, id="t")


@sync
async def test_the_list_sizes_columns_from_its_cells_without_re_measuring_on_patch() -> None:
    app = _TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(TargetTable)
        rows = [
            (
                f"image:{n}",
                (" ", Text("registry.example/team/app:" + "9" * n), "-", Text(""), "1 MB", "now", f"{n:012}"),
            )
            for n in range(12)
        ]
        table.populate(rows)
        await pilot.pause()
        # What DataTable itself would measure, cell by cell, and the labels.
        for index, (column, label) in enumerate(p.IMAGE_COLUMNS):
            cells = [measure(app.console, default_cell_formatter(r[1][index]) or Text(""), 1) for r in rows]
            assert table.columns[column].content_width == max([*cells, len(label)]), column  # type: ignore[index]
        # A result arrives: the Findings column grows to fit it...
        wide = (" ", rows[3][1][1], Text("A"), Text("12C 34H 56M 78L"), "1 MB", "now", rows[3][1][6])
        table.patch("image:3", wide)
        await pilot.pause()
        assert table.columns["counts"].content_width == len("12C 34H 56M 78L")  # type: ignore[index]
        assert table.get_cell("image:3", "counts") == wide[3]
        # ...and never shrinks back row by row (that is what re-measured all 1,000 rows per result).
        table.patch("image:3", (" ", rows[3][1][1], Text("B"), Text("ok"), "1 MB", "now", rows[3][1][6]))
        await pilot.pause()
        assert table.columns["counts"].content_width == len("12C 34H 56M 78L")  # type: ignore[index]
        assert table.get_cell("image:3", "grade") == Text("B")


@sync
async def test_the_audits_own_reads_do_not_reload_the_list() -> None:
    app, _demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, MainScreen) and app.screen.inventory.images):
            await pilot.pause()
        screen = app.screen
        await pilot.pause(0.6)  # any refresh the start-up asked for has fired
        # Audit-all reads every image (`docker save` → "image save") and container ("container top").
        for description in ("image save", "container top", "container exec_start: sh -c id"):
            screen.post_message(EngineEvent(description))
            await pilot.pause()
            assert not screen._refresh_timer_pending, description
        screen.post_message(EngineEvent("container start"))
        await pilot.pause()
        assert screen._refresh_timer_pending
