"""The demo is honest: what it shows is what dockaudit's rules, scoring, harden and Trivy parsing say about its
made-up engine facts (computed here without the session or the UI), it says DEMO, and its export and ignores
write real files, in a temporary directory and never in the user's project."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input

from dockaudit.config import Settings
from dockaudit.demo import DemoSource
from dockaudit.demo_catalog import DEMO_ENGINE, NOW
from dockaudit.facts.dockerfile import BaseImage
from dockaudit.harden.context import base_from_facts
from dockaudit.harden.image import harden_image
from dockaudit.model import EngineInfo, Finding, Source, TargetKind
from dockaudit.report import render
from dockaudit.rules import load_all
from dockaudit.rules.registry import RULES, RuleContext, Scope, evaluate
from dockaudit.scanners.trivy_merge import merge_findings
from dockaudit.scanners.trivy_parse import parse_report
from dockaudit.score import score
from dockaudit.tui import presenters as p
from dockaudit.tui.backend import Hardening
from dockaudit.tui.demo import DemoConnector
from dockaudit.tui.screens.dialogs import ExportScreen, IgnoreScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.fields import Field
from tests.tui.conftest import demo_app, sync
from tests.tui.settle import settle

SRC = Path(__file__).resolve().parents[2] / "src" / "dockaudit"
IMAGE_SCOPES = (Scope.IMAGE, Scope.HISTORY, Scope.FILESYSTEM)


def rules_say(scopes: tuple[Scope, ...], facts: object, extra: dict[str, object] | None = None) -> list[Finding]:
    """What the registered rules report about `facts`, with the catalog's defaults and the demo's clock."""
    load_all()
    findings, _passed = evaluate(scopes, facts, RuleContext(settings=Settings(), now=NOW, extra=extra or {}))
    return findings


def in_report_order(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=Finding.sort_key))


def base_lookup(source: DemoSource) -> Callable[[str], BaseImage | None]:
    def lookup(ref: str) -> BaseImage | None:
        facts = source.base_image(ref)
        return base_from_facts(facts, ref) if facts is not None else None

    return lookup


async def audit_all(app: object, pilot: object) -> MainScreen:
    """Every demo image, container (stopped ones too) and the host audited."""
    await settle(app, pilot)  # type: ignore[arg-type]
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MainScreen)
    # Images, Containers, (Compose: the demo engine has no project), Host.
    keys = ("A", "right_square_bracket", "x", "A", "right_square_bracket", "right_square_bracket", "a")
    await pilot.press(*keys)  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]
    return screen


@sync
async def test_every_finding_grade_and_diff_the_demo_shows_is_what_the_rules_say_about_its_facts() -> None:
    app, _ = demo_app()
    source = DemoSource()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await audit_all(app, pilot)
        inventory = source.inventory()
        assert len(screen.results) == len(inventory.images) + len(inventory.containers) + 1

        for row in inventory.images:
            facts = source.image_facts(row.id)
            trivy = parse_report(source.trivy_report(row.id)).findings
            expected = in_report_order(merge_findings(rules_say(IMAGE_SCOPES, facts), list(trivy)))
            shown = screen.results[f"image:{row.id}"]
            assert shown.findings == expected, row.name
            assert (shown.score, shown.grade) == score(expected), row.name
            assert any(f.source is Source.TRIVY_VULN for f in expected) == bool(trivy), row.name

        for container in inventory.containers:
            inspect = source.container_facts(container.id)
            expected = in_report_order(rules_say((Scope.CONTAINER,), inspect))
            shown = screen.results[f"container:{container.id}"]
            assert shown.findings == expected, container.name
            assert (shown.score, shown.grade) == score(expected), container.name

        scanned_an_hour_ago = {image_id: NOW - timedelta(hours=1) for image_id in source.running_image_ids()}
        host = rules_say((Scope.HOST,), source.host_facts(), {"scan_ages": scanned_an_hour_ago})
        assert screen.results["host"].findings == in_report_order(host)

        # The catalog's words: every title and section the demo shows is its rule's.
        load_all()
        for result in screen.results.values():
            for finding in result.findings:
                if finding.source is Source.CHECKLIST:
                    rule = RULES[finding.rule_id]
                    assert (finding.title, finding.section) == (rule.title, rule.section), finding.rule_id

        # The hardened Dockerfile of each image is what harden makes of the same facts.
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket", "3")
        table = screen.browser("image").table
        diffs = []
        for index, row in enumerate(screen._visible_images()):
            table.move_cursor(row=index)
            await settle(app, pilot)
            hardened = harden_image(source.image_facts(row.id), base_lookup=base_lookup(source))
            expected_diff = Hardening.of_image(hardened).diff
            hardening = screen.hardening[f"image:{row.id}"]
            assert isinstance(hardening, Hardening), hardening
            assert hardening.diff == expected_diff, row.name
            diffs.append(hardening.diff)
        assert sum(diff.startswith("---") for diff in diffs) >= 4, "most demo images have something to harden"


def test_the_demo_facts_agree_with_each_other() -> None:
    source = DemoSource(extra_images=3, extra_containers=3)
    inventory = source.inventory()
    image_ids = {row.id for row in inventory.images}
    for row in inventory.images:
        facts = source.image_facts(row.id)
        assert facts.filesystem is not None
        layers = facts.filesystem.layers
        assert row.size == facts.size == facts.filesystem.total_size == sum(layer.size for layer in layers), row.name
        assert [layer.digest for layer in layers] == list(facts.layers)
        stepped = [step.layer_index for step in facts.history if step.layer_index is not None]
        assert stepped == [layer.index for layer in layers], row.name
    for container in inventory.containers:
        assert container.image_id in image_ids, container.name
        assert source.container_facts(container.id).image_id == container.image_id


def test_the_demo_package_writes_no_finding_fix_or_diff_by_hand() -> None:
    for module in (SRC / "demo.py", SRC / "tui" / "demo.py"):
        text = module.read_text()
        for made_up in ("Finding(", "Fix(", "Hit(", "TargetResult(", "HardenResult(", "+USER", "grade="):
            assert made_up not in text, f"{module.name} makes up {made_up}"


@sync
async def test_the_header_says_demo_at_every_width_and_only_on_the_demo() -> None:
    for width in (80, 160):
        app, _ = demo_app()
        async with app.run_test(size=(width, 24)) as pilot:
            await settle(app, pilot)
            header = str(app.screen.query_one("#header").render())
            assert header.startswith(" DEMO "), header
    badge = p.header_text(DEMO_ENGINE, None, NOW).spans[0]
    assert "reverse" in str(badge.style) and "bold" in str(badge.style)
    real = EngineInfo(id="local", endpoint="unix:///var/run/docker.sock", server_version="28.2.2")
    assert "DEMO" not in p.header_text(real, None, NOW).plain


@sync
async def test_export_writes_the_real_report_into_the_demo_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app, demo = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("A")
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        field = app.screen.query_one("#export-path", Field)
        assert Path(field.value) == demo.config_dir / "report.json"
        field.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        written = (demo.config_dir / "report.json").read_text()
        results = list(screen.results.values())
        assert written == render(screen.session.report(results), "json")
        report = json.loads(written)
        assert {t["name"] for t in report["targets"]} == {r.name for r in results}
        assert all(t["kind"] == TargetKind.IMAGE.value and t["grade"] in "ABCDEF" for t in report["targets"])
        assert sum(len(t["findings"]) for t in report["targets"]) > 50
        assert list(tmp_path.iterdir()) == [], "nothing written in the working directory"


@sync
async def test_ignore_writes_the_demo_config_and_never_a_config_of_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A config file of the user's in the working directory and above the demo's directory: neither is read nor written.
    users = '[[ignore]]\nrule = "DA1*"\nreason = "the user\'s own"\n'
    (tmp_path / ".dockaudit.toml").write_text(users)
    monkeypatch.chdir(tmp_path)
    demo = DemoConnector(config_dir=tmp_path / "demo" / "scratch")
    demo.config_dir.mkdir(parents=True)
    app, _ = demo_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("a")
        await settle(app, pilot)
        result = next(iter(screen.results.values()))
        assert not any(f.suppressed for f in result.findings), "the user's ignores do not apply to the demo"
        rule = screen._current_finding().rule_id  # type: ignore[union-attr]
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, IgnoreScreen)
        app.screen.query_one("#ignore-reason", Input).value = "trying the demo"
        await pilot.press("enter")
        await settle(app, pilot)
    demo_config = (demo.config_dir / ".dockaudit.toml").read_text()
    assert re.search(rf'rule = "{rule}"\s+reason = "trying the demo"', demo_config), demo_config
    assert (tmp_path / ".dockaudit.toml").read_text() == users
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dockaudit.toml", "demo"]


def test_test_helpers_are_not_in_the_package() -> None:
    for helper in ("dockaudit.tui.scenes", "dockaudit.tui.settle"):
        assert importlib.util.find_spec(helper) is None, helper
    importing_tests = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(r"^\s*(from|import) tests\b", path.read_text(), re.MULTILINE)
    ]
    assert importing_tests == []
