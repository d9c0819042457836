"""One core for the CLI and the TUI: the same target gives byte-identical JSON from `dockaudit scan -f json` and
from the TUI's export (the report's timestamp aside), on the real engine and the real Trivy; and the TUI honours
every setting of the configuration file that `scan` honours, because it builds its session the same way."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import pytest

from dockaudit.cli import audit_options, build_parser
from dockaudit.model import Source
from dockaudit.tui.app import make_app
from dockaudit.tui.backend import EngineConnector
from dockaudit.tui.screens.dialogs import ExportScreen
from dockaudit.tui.screens.main import MainScreen
from dockaudit.tui.widgets.fields import Field
from tests.fixtures.images import build_image
from tests.trivy import images as trivy_images
from tests.trivy import trivydb
from tests.tui.conftest import image_row_refs, sync
from tests.tui.settle import settle

pytestmark = [pytest.mark.docker, pytest.mark.trivy]

TIMESTAMPS = ("generated_at",)
"""Top-level report keys that say when the report was made: the only bytes allowed to differ."""

SETTINGS = """\
# Every kind of setting `dockaudit scan` reads, so the TUI is shown to honour each one.
[rules]
disable = ["DA201"]
severity = { DA104 = "low" }

[allow]
setuid = ["/usr/local/bin/suid-*"]

[thresholds]
db_max_age_days = 1

[[ignore]]
rule = "DA302"
reason = "planted on purpose in the fixture"
target = "dockaudit-test/*"
expires = 2099-12-31
"""


SETUID_RULE = "DA301"
"""Setuid or setgid binaries outside `allow.setuid`."""


@pytest.fixture(scope="module")
def vulnerable_image(docker_client: docker.DockerClient) -> str:
    """Tag of the Debian-looking fixture image in which Trivy finds the fixture DB's CVEs."""
    files = {k: v.encode() for k, v in trivy_images.DEBIAN_FILES.items()}
    return build_image(docker_client, "trivy-debian", trivy_images.ROOTFS_DOCKERFILE, files)


@pytest.fixture
def trivy_cache(tmp_path: Path) -> Path:
    """Trivy's cache with the fixture vulnerability DB, three days old (fresh by default, stale past one day)."""
    cache = tmp_path / "trivy-cache"
    trivydb.write_fixture_db(cache, updated_at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=3))
    return cache


def cli_json(workdir: Path, flags: list[str], images: list[str]) -> bytes:
    """`dockaudit scan -f json IMAGE...` as a user runs it in `workdir` (its own result cache: Trivy runs)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(workdir / "cli-cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "dockaudit", "scan", "-q", "-f", "json", *flags, *images],
        cwd=workdir,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.stdout


async def tui_json(workdir: Path, flags: list[str], images: list[str], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The TUI as `dockaudit tui FLAGS` builds it in `workdir`: select the images' rows, audit, export as JSON."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(workdir / "tui-cache"))
    # What `commands/tui.run` does with its arguments: the scan flags and the config file, as `scan` reads them.
    args = build_parser("tui").parse_args(["tui", *flags])
    app = make_app(EngineConnector(audit_options(args)), watch_events=False, ascii_borders=False)
    out = workdir / "tui-export.json"
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen), type(screen).__name__
        refs = image_row_refs(screen)
        for image in images:
            screen.browser("image").table.move_cursor(row=refs.index(image))
            await pilot.pause()
            await pilot.press("space")
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        field = app.screen.query_one("#export-path", Field)
        field.value = str(out)
        field.focus()
        await pilot.press("enter")
        await settle(app, pilot)
    return out.read_bytes()


def without_timestamps(raw: bytes) -> bytes:
    """The report with its timestamps blanked, every other byte as written."""
    report = json.loads(raw)
    for key in TIMESTAMPS:
        assert key in report, f"the report has no {key}: update TIMESTAMPS"
        stamp = json.dumps(report[key])
        assert raw.count(stamp.encode()) == 1
        raw = raw.replace(stamp.encode(), b'"<timestamp>"')
    return raw


def assert_same_bytes(tui: bytes, cli: bytes) -> None:
    """Byte-identical (timestamps aside), with the differing lines shown when not."""
    left, right = without_timestamps(tui), without_timestamps(cli)
    diff = difflib.unified_diff(
        right.decode().splitlines(), left.decode().splitlines(), "dockaudit scan -f json", "TUI export", lineterm=""
    )
    assert left == right, "\n".join(diff)


def target_of(raw: bytes, name: str) -> dict[str, Any]:
    (target,) = [t for t in json.loads(raw)["targets"] if t["name"] == name]
    assert isinstance(target, dict)
    return target


@sync
async def test_scan_json_and_the_tui_export_are_byte_identical(
    tmp_path: Path, bad_image: str, vulnerable_image: str, trivy_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = ["--offline", "--trivy-cache-dir", str(trivy_cache)]
    images = [bad_image, vulnerable_image]
    tui = await tui_json(tmp_path, flags, images, monkeypatch)
    cli = cli_json(tmp_path, flags, images)
    # The comparison covers real audits: checklist findings, Trivy's vulnerabilities, grades.
    bad, vulnerable = target_of(cli, bad_image), target_of(cli, vulnerable_image)
    assert {"DA104", "DA201", "DA302"} <= {f["rule_id"] for f in bad["findings"]}
    assert any(f["source"] == Source.TRIVY_VULN.value for f in vulnerable["findings"]), vulnerable["scans"]
    assert vulnerable["scans"]["trivy"] == "ok" and bad["grade"] == "F"
    assert_same_bytes(tui, cli)


@sync
async def test_the_tui_honours_every_setting_the_cli_honours(
    tmp_path: Path, bad_image: str, vulnerable_image: str, trivy_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    # Found as `scan` finds it: the nearest config file walking up from the working directory.
    (project / ".dockaudit.toml").write_text(SETTINGS)
    workdir = project / "sub"
    flags = ["--offline", "--trivy-cache-dir", str(trivy_cache)]
    images = [bad_image, vulnerable_image]
    tui = await tui_json(workdir, flags, images, monkeypatch)
    cli = cli_json(workdir, flags, images)
    assert_same_bytes(tui, cli)

    # Each setting took effect (so the equality above is about settings applied, not ignored by both).
    defaults = cli_json(tmp_path, flags, images)
    assert json.loads(defaults)["scanners"]["trivy"]["db"]["status"] == "ok"
    assert json.loads(tui)["scanners"]["trivy"]["db"]["status"] == "stale"  # thresholds.db_max_age_days
    bad = target_of(tui, bad_image)
    findings = {f["rule_id"]: f for f in bad["findings"]}
    assert "DA201" not in findings and "DA201" not in bad["passed"]  # rules.disable
    assert findings["DA104"]["severity"] == "low"  # rules.severity
    assert findings["DA302"]["suppressed"]["reason"] == "planted on purpose in the fixture"  # ignore
    setuid = [f["evidence"] for f in target_of(defaults, bad_image)["findings"] if f["rule_id"] == SETUID_RULE]
    assert any("/usr/local/bin/suid-helper" in e for e in setuid), setuid
    allowed = [f["evidence"] for f in bad["findings"] if f["rule_id"] == SETUID_RULE]
    assert not any("/usr/local/bin/suid-helper" in e for e in allowed), allowed  # allow.setuid
    assert bad["summary"] != target_of(defaults, bad_image)["summary"]
