"""Ignoring is visible: `i` writes the ignore where `dockaudit scan` reads it and rescores at once (grade, counts,
list), the finding moves to a dimmed IGNORED group with its reason and expiry, and `u` takes it back out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from dockaudit.config import Ignore, add_ignore, load_file, load_settings, remove_ignore
from dockaudit.errors import DockauditError
from dockaudit.model import Finding, Severity, Source, Status, Suppression
from dockaudit.targets import image_target
from dockaudit.tui import presenters as p
from dockaudit.tui.backend import EngineChoice
from dockaudit.tui.demo import DemoConnector
from dockaudit.tui.screens.dialogs import IgnoreScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.vuln_presenters import vulnerabilities
from dockaudit.tui.widgets.findings import FindingsView
from dockaudit.tui.widgets.vulns import VulnsView
from tests.tui.conftest import demo_app, sync
from tests.tui.settle import settle

TARGET = "busybox:1.36"
"""A demo image graded C by the real rules: ignoring its worst finding lifts the grade."""


async def audited(app: object, pilot: object, name: str = TARGET) -> MainScreen:
    await settle(app, pilot)  # type: ignore[arg-type]
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MainScreen)
    table = screen.browser("image").table
    names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
    table.move_cursor(row=names.index(name))
    await pilot.press("a")  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]
    return screen


def findings_view(screen: MainScreen) -> FindingsView:
    return screen.browser("image").detail.query_one(FindingsView)


def row_cells(screen: MainScreen) -> tuple[str, str]:
    """The grade and counts cells of the highlighted row, as drawn."""
    table = screen.browser("image").table
    row = table.get_row_at(table.cursor_row)
    return str(row[2]), str(row[3])


def group_labels(view: FindingsView) -> list[str]:
    return [str(node.label) for node in view.finding_tree.root.children]


@sync
async def test_ignore_rescores_at_once_and_moves_the_finding_to_a_dimmed_ignored_group() -> None:
    app, demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited(app, pilot)
        key = screen.current_key() or ""
        before = screen.results[key]
        cells_before = row_cells(screen)
        finding = findings_view(screen).current
        assert finding is not None and finding.counts and finding.severity >= Severity.HIGH
        assert not any(label.startswith("IGNORED") for label in group_labels(findings_view(screen)))

        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, IgnoreScreen)
        app.screen.query_one("#ignore-expires", Input).value = "2027-01-31"
        await pilot.press(*"the base image decides", "enter")
        await settle(app, pilot)

        # Written where the CLI reads it: the config file the session's settings come from.
        config = demo.config_dir / ".dockaudit.toml"
        ignores = load_settings(demo.config_dir).ignores
        assert [(i.rule, i.reason, i.target, i.expires) for i in ignores] == [
            (finding.rule_id, "the base image decides", TARGET, date(2027, 1, 31))
        ]
        assert screen.session.settings.path == str(config)

        # Rescored at once: score, grade, counts, the row and the status line.
        after = screen.results[key]
        assert after.score > before.score and after.grade < before.grade, (before.grade, after.grade)
        assert after.summary()[finding.severity.label] == before.summary()[finding.severity.label] - 1
        assert row_cells(screen) == (str(p.grade_text(after, None)), str(p.severity_counts(after)))
        assert row_cells(screen) != cells_before
        status = str(screen.browser("image").detail.query_one("#detail-status").render())
        assert f"Grade {after.grade} (score {after.score})" in status

        # The finding left its severity group for the IGNORED group, collapsed, dimmed, with reason and expiry.
        view = findings_view(screen)
        groups = view.finding_tree.root.children
        ignored = groups[-1]
        assert str(ignored.label) == "IGNORED (1)" and not ignored.is_expanded
        leaf = ignored.children[0]
        assert leaf.data is not None and leaf.data.rule_id == finding.rule_id
        line = leaf.label
        assert "the base image decides" in str(line) and "until 2027-01-31" in str(line)
        assert str(line.style) == "dim"  # type: ignore[union-attr]
        shown = [n.data for group in groups[:-1] for n in group.children]
        assert finding.rule_id not in {f.rule_id for f in shown if f is not None}


@sync
async def test_u_removes_the_ignore_from_the_config_file_and_rescores_back() -> None:
    app, demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited(app, pilot)
        key = screen.current_key() or ""
        before = screen.results[key]
        rule = findings_view(screen).current.rule_id  # type: ignore[union-attr]
        config = demo.config_dir / ".dockaudit.toml"
        kept = add_ignore(config, "DA999", "an entry of the user's that must stay", "other/*")
        screen.session.reload_settings()

        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*"for now", "enter")
        await settle(app, pilot)
        assert screen.results[key].score > before.score

        # Open the IGNORED group (Enter on it) and un-ignore its finding with one key.
        view = findings_view(screen)
        tree = view.finding_tree
        ignored = tree.root.children[-1]
        tree.move_cursor(ignored)
        tree.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert ignored.is_expanded and view.ignored_open
        tree.move_cursor(ignored.children[0])
        await pilot.pause()
        assert view.current is not None and view.current.rule_id == rule
        await pilot.press("u")
        await settle(app, pilot)

        assert [i.rule for i in load_settings(demo.config_dir).ignores] == ["DA999"]
        assert "an entry of the user's that must stay" in kept.read_text()
        assert screen.results[key] == before
        assert not any(label.startswith("IGNORED") for label in group_labels(findings_view(screen)))
        assert view.current is not None and view.current.rule_id == rule, "the cursor follows the finding back"


@sync
async def test_u_on_a_finding_that_is_not_ignored_says_so_and_changes_nothing() -> None:
    app, demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited(app, pilot)
        before = dict(screen.results)
        await pilot.press("u")
        await settle(app, pilot)
        assert screen.results == before
        assert not (demo.config_dir / ".dockaudit.toml").read_text().count("[[ignore]]")
        assert any("Highlight an ignored finding" in str(n.message) for n in app._notifications)


def test_session_remove_ignore_rescores_and_refuses_an_ignore_the_file_no_longer_declares() -> None:
    demo = DemoConnector()
    session = demo.open(EngineChoice())
    row = next(r for r in session.inventory().images if r.name == TARGET)
    result = session.audit(image_target(row, session.engine_id or ""))
    worst = next(f for f in result.findings if f.counts and f.status is Status.FAIL)
    session.add_ignore(worst.rule_id, "accepted", "busybox:*", None)
    ignored = session.rescore(result)
    suppressed = next(f for f in ignored.findings if f.rule_id == worst.rule_id)
    ignore = session.ignore_of(suppressed, ignored.name)
    assert ignore is not None and (ignore.rule, ignore.target) == (worst.rule_id, "busybox:*")

    session.remove_ignore(ignore)
    assert session.rescore(ignored) == result
    assert session.ignore_of(suppressed, ignored.name) is None
    with pytest.raises(DockauditError, match="no longer declares"):
        session.remove_ignore(ignore)


CONFIG = """\
# team settings
[rules]
disable = ["DA107"]

[[ignore]]
rule = "DA101"   # the base image decides
reason = "base image"
target = "shop/*"

[[ignore]]
rule = "DA101"
reason = "base image"
expires = 2027-01-31

[thresholds]
stale_days = 30
"""


def test_remove_ignore_deletes_only_the_declared_entry_and_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / ".dockaudit.toml"
    path.write_text(CONFIG)
    first, second = load_file(path).ignores
    assert remove_ignore(path, second)
    text = path.read_text()
    assert "# team settings" in text and "# the base image decides" in text and "stale_days = 30" in text
    assert load_file(path).ignores == (first,)
    assert not remove_ignore(path, second), "already gone"
    assert remove_ignore(path, first)
    assert "[[ignore]]" not in path.read_text() and load_file(path).ignores == ()
    assert load_file(path).disabled_rules == frozenset({"DA107"})


def test_remove_ignore_in_pyproject_and_a_missing_file(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    add_ignore(pyproject, "DA102", "no http endpoint")
    (ignore,) = load_file(pyproject, ("tool", "dockaudit")).ignores
    assert remove_ignore(pyproject, ignore)
    assert load_file(pyproject, ("tool", "dockaudit")).ignores == ()
    assert 'name = "x"' in pyproject.read_text()
    assert not remove_ignore(tmp_path / "absent.toml", Ignore("DA101", "x"))


def test_ignored_findings_leave_their_groups_for_the_last_one_in_both_groupings() -> None:
    base = Finding("DA101", "root", Source.CHECKLIST, Severity.HIGH, Status.FAIL, "Runs as root", "User", "no USER")
    ignored = replace(base, rule_id="DA104", suppressed=Suppression("accepted", "cfg:3", "2027-01-31"))
    skipped = replace(base, rule_id="DA301", status=Status.SKIPPED)
    for grouping in p.Grouping:
        groups = p.group_findings([ignored, skipped, base], grouping)
        assert [label for label, _ in groups][-2:] == [p.SKIPPED_GROUP, p.IGNORED_GROUP]
        assert groups[-1][1] == [ignored] and base in groups[0][1]
    line = p.finding_line(ignored)
    assert line.plain.endswith("DA104 Runs as root: accepted (until 2027-01-31)") and str(line.style) == "dim"
    assert "no expiry" in p.finding_line(replace(ignored, suppressed=Suppression("ok", "cfg:3"))).plain


@sync
async def test_a_vulnerability_ignored_in_the_vulns_tab_is_dimmed_there_and_u_takes_it_back() -> None:
    app, demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited(app, pilot, "shop/web:latest")
        key = screen.current_key() or ""
        before = screen.results[key]
        await pilot.press("2")
        await pilot.pause()
        view = screen.browser("image").detail.query_one(VulnsView)
        vuln = view.current
        assert vuln is not None and vuln.source is Source.TRIVY_VULN
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, IgnoreScreen) and vuln.rule_id in str(app.screen.query_one(".title").render())
        await pilot.press(*"no fix upstream yet", "enter")
        await settle(app, pilot)
        after = screen.results[key]
        assert after.summary()[vuln.severity.label] == before.summary()[vuln.severity.label] - 1
        table = view.query_one("#vuln-table", DataTable)
        index = next(
            i for i, f in enumerate(vulnerabilities(after, view.filter, view.sort)) if f.rule_id == vuln.rule_id
        )
        cells = table.get_row_at(index)
        assert str(cells[5]).startswith("ignored: no fix upstream yet - ")
        assert all(str(cell.style) == "dim" for cell in cells)

        table.move_cursor(row=index)
        await pilot.pause()
        await pilot.press("u")
        await settle(app, pilot)
        assert screen.results[key] == before
        assert "no fix upstream yet" not in (demo.config_dir / ".dockaudit.toml").read_text()


@sync
async def test_the_detail_shows_the_highlighted_finding_after_moving_to_another_target() -> None:
    # FindingsView.show rebuilds the tree; the detail must follow the new cursor, not the previous target's node.
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audited(app, pilot)
        await pilot.press("A")
        await settle(app, pilot)
        table = screen.browser("image").table
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await settle(app, pilot)  # the detail is drawn once the cursor rests
            view = findings_view(screen)
            current = view.current
            detail = str(view.query_one("#finding-detail").render())
            assert current is not None and f" {current.rule_id} {current.slug}" in detail.splitlines()[0], detail
