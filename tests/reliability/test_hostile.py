"""Hostile data: escape sequences, markup, huge and malformed values never reach a terminal or a report raw.

The corpus is in `tests/reliability/hostile.py`. Each scan runs `dockaudit` as a process, as a user would,
so a traceback anywhere shows on its stderr.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockaudit.engine.layers import read_image_archive
from dockaudit.text import printable
from tests.reliability import hostile
from tests.reliability.terminal import env as _env
from tests.reliability.terminal import pty_run
from tests.report import chromium
from tests.report.schemas import validate_report, validate_sarif

FORMATS = {"table": "txt", "json": "json", "sarif": "sarif", "html": "html", "markdown": "md", "junit": "xml"}
VISIBLE_OSC52 = printable(hostile.OSC52)
"""How the clipboard-write payload reads once escaped: `\\x1b]52;c;...\\x07`."""
_FENCE = re.compile(r"^(`{3,})[^\n]*\n.*?^\1\s*$", re.M | re.S)


@dataclass(frozen=True)
class Outputs:
    """Every report format of one scan, read back, plus the exit code and stderr."""

    code: int
    err: str
    files: dict[str, str]


def run_dockaudit(*argv: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`dockaudit ARGV` as a separate process (stdout and stderr captured, not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "dockaudit", *argv],
        cwd=cwd,
        env=_env(cwd),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="strict",
        timeout=timeout,
        check=False,
    )


def scan_all(root: Path, *targets: str, extra: tuple[str, ...] = ("--no-trivy",)) -> Outputs:
    """One scan of `targets` writing every format; the working directory is three levels below `root`."""
    cwd = root / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    argv = ["scan", *extra, *targets]
    for fmt, ext in FORMATS.items():
        argv += ["-f", fmt, "-o", str(root / f"report.{ext}")]
    proc = run_dockaudit(*argv, cwd=cwd)
    files = {fmt: (root / f"report.{ext}").read_text(encoding="utf-8") for fmt, ext in FORMATS.items()}
    return Outputs(proc.returncode, proc.stderr, files)


def assert_reports_are_safe(outputs: Outputs, *, findings_quote_payloads: bool = True) -> None:
    """No traceback, JSON and SARIF schema-valid, JUnit well-formed, no raw escape in any text format."""
    assert "Traceback" not in outputs.err, outputs.err[-3000:]
    assert outputs.code in (0, 1, 3), outputs.err[-2000:]
    assert hostile.raw_leaks(outputs.err) == []
    validate_report(outputs.files["json"])
    validate_sarif(outputs.files["sarif"])
    ET.fromstring(outputs.files["junit"].encode("utf-8"))
    for fmt in ("table", "markdown", "junit", "html"):
        assert hostile.raw_leaks(outputs.files[fmt]) == [], fmt
    if findings_quote_payloads:
        # The payload is still there for the reader, shown as text (the table lists only the top findings).
        for fmt in ("markdown", "html"):
            assert VISIBLE_OSC52.replace("\\", "") in outputs.files[fmt].replace("\\", ""), fmt
    markdown = _FENCE.sub("", outputs.files["markdown"])
    assert "<script" not in markdown and "<img" not in markdown
    assert "<script>document" not in outputs.files["html"]
    assert "[link=https://evil.example]" not in outputs.files["table"] or "rich markup[/link]" in outputs.files["table"]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _quoted(report: str, payload: str) -> bool:
    """Whether the JSON report carries `payload` exactly (facts are kept raw; JSON escapes them)."""
    return any(payload in s for s in _strings(json.loads(report)))


@pytest.fixture(scope="module")
def archive_outputs(hostile_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    """Every format of a scan of the archive-only hostile image (300 layers, `../` members, 100 GiB sparse)."""
    return scan_all(tmp_path_factory.mktemp("archive-scan"), f"path:{hostile_archive}")


def test_archive_scan_writes_every_format_safely(archive_outputs: Outputs) -> None:
    assert_reports_are_safe(archive_outputs)
    report = json.loads(archive_outputs.files["json"])
    (target,) = report["targets"]
    assert target["scans"]["layers"] == "ok" and target["errors"] == []
    # The target name (the file name) carried an escape sequence too.
    assert hostile.OSC52 in target["name"]
    assert "\\x1b]52" in archive_outputs.files["table"].split("\n")[1]


def test_json_keeps_the_hostile_values_exactly(archive_outputs: Outputs) -> None:
    text = archive_outputs.files["json"]
    assert "\x1b" not in text  # JSON writes control characters as \u001b
    assert _quoted(text, hostile.OSC52) and _quoted(text, hostile.SCRIPT)


def test_lone_surrogates_in_the_config_become_replacement_characters(
    hostile_archive: Path, archive_outputs: Outputs
) -> None:
    # Once crashed every report writer (UTF-8 cannot encode them); now read as the engine's decoder reads them.
    saved = read_image_archive(hostile_archive)
    assert saved.config["config"]["Labels"]["evil.surrogate"] == "\ufffd\ufffd-\ufffd"
    assert saved.config["config"]["User"].startswith("\ufffd\ufffdapp")
    assert "\ufffd\ufffdapp" in archive_outputs.files["markdown"]
    assert printable("\ud800-\udc80") == "\\ud800-\\x80"


def test_archive_members_outside_the_root_are_never_written(
    hostile_archive: Path, archive_outputs: Outputs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # dockaudit never extracts: `../` and absolute members are only paths in facts, normalised under /.
    assert hostile.escape_marker_paths(hostile_archive.parent, tmp_path_factory.getbasetemp()) == []
    saved = read_image_archive(hostile_archive)
    paths = {f.path for f in saved.filesystem.files}
    assert f"/tmp/{hostile.ESCAPE_NAME}-file" in paths and f"/{hostile.ESCAPE_NAME}-dotdot" in paths
    assert all(p.startswith("/") and "/../" not in p + "/" for p in paths)


def test_three_hundred_layers_and_a_100_gib_sparse_file_are_read(hostile_archive: Path) -> None:
    saved = read_image_archive(hostile_archive)
    assert len(saved.filesystem.layers) == hostile.ARCHIVE_LAYERS
    huge = [f for f in saved.filesystem.files if f.path == "/app/huge.img"]
    assert huge, "the sparse member is listed"
    # Links that loop, point outside the layer or at nothing are facts, not followed.
    kinds = {f.path: f.type.value for f in saved.filesystem.files if f.path.startswith("/app/loop/")}
    assert set(kinds.values()) == {"symlink"}


def test_html_payloads_do_not_run_in_chromium(archive_outputs: Outputs, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(archive_outputs.files["html"], encoding="utf-8")
    dom = chromium.dump_dom(page)
    assert 'data-pwned="yes"' not in dom
    assert "<title>pwned</title>" not in dom
    assert len(re.findall(r"<script\b", dom)) == len(re.findall(r"<script\b", archive_outputs.files["html"])) == 1
    assert '<img src="x"' not in dom and "evil.example/" not in re.sub(r">[^<]*<", "><", dom)


def test_table_on_a_terminal_draws_no_foreign_escape_sequence(hostile_archive: Path, tmp_path: Path) -> None:
    code, screen = pty_run([sys.executable, "-m", "dockaudit", "scan", "--no-trivy", str(hostile_archive)], tmp_path)
    assert "Traceback" not in screen
    assert code in (0, 1), screen[-2000:]
    assert "\x1b[" in screen, "colours are on: this really is a terminal"
    assert hostile.foreign_sequences(screen) == []
    assert "\\x1b]52;c;" in screen


@pytest.mark.docker
def test_engine_image_and_container_reports_are_safe(
    hostile_image: str, hostile_container: str, tmp_path: Path
) -> None:
    outputs = scan_all(tmp_path, hostile_image, f"container:{hostile_container}")
    assert_reports_are_safe(outputs)
    report = json.loads(outputs.files["json"])
    image, container = sorted(report["targets"], key=lambda t: t["kind"] != "image")
    assert image["kind"] == "image" and container["kind"] == "container"
    assert image["scans"]["layers"] == "ok" and image["errors"] == [] and container["errors"] == []
    rules = {f["rule_id"] for f in image["findings"]}
    assert {"DA101", "DA210", "DA301"} <= rules, sorted(rules)
    setuid = next(f for f in image["findings"] if f["rule_id"] == "DA301")
    # The invalid UTF-8 file name arrives as replacement characters, never as bytes that break the encoders.
    assert "/app/bad-\ufffd\ufffd-\ufffd(" in setuid["evidence"]
    assert hostile.OSC52 in setuid["evidence"]


@pytest.mark.docker
@pytest.mark.trivy
def test_engine_image_with_trivy_stays_safe(
    hostile_image: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.trivy import trivydb

    cache = tmp_path_factory.mktemp("hostile-trivy")
    trivydb.write_fixture_db(cache)
    outputs = scan_all(tmp_path, hostile_image, extra=("--offline", "--trivy-cache-dir", str(cache)))
    assert_reports_are_safe(outputs)
    (target,) = json.loads(outputs.files["json"])["targets"]
    assert not target["scans"]["trivy"].startswith("failed"), target["scans"]


@pytest.mark.docker
def test_harden_of_the_hostile_image_escapes_on_a_terminal(hostile_image: str, tmp_path: Path) -> None:
    code, screen = pty_run([sys.executable, "-m", "dockaudit", "harden", hostile_image], tmp_path)
    assert "Traceback" not in screen
    assert code in (0, 1), screen[-2000:]
    assert hostile.foreign_sequences(screen) == []
    piped = run_dockaudit("harden", hostile_image, "-o", str(tmp_path / "Dockerfile"), cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert "Traceback" not in piped.stderr and hostile.raw_leaks(piped.stderr) == []
    assert (tmp_path / "Dockerfile").read_text(encoding="utf-8").startswith(("FROM", "#", "ARG"))


@pytest.mark.docker
def test_an_image_the_engine_cannot_export_is_reported_not_crashed(sparse_image: str, tmp_path: Path) -> None:
    # Engine 20.10 writes the 64 MiB sparse file out in full on load, then cannot verify the layer when
    # exporting it again (`docker save` fails too); an engine that can export it gives the file as a fact.
    outputs = scan_all(tmp_path, sparse_image)
    assert_reports_are_safe(outputs, findings_quote_payloads=False)
    (target,) = json.loads(outputs.files["json"])["targets"]
    assert target["scans"]["checklist"] == "ok"
    if target["scans"]["layers"] == "ok":
        assert outputs.code in (0, 1) and target["errors"] == []
    else:
        assert target["scans"]["layers"].startswith("failed: saving image sha256:")
        assert outputs.code == 3
        assert [e["stage"] for e in target["errors"]] == ["layers"]
        assert "error  layers: saving image" in outputs.files["table"]


HOSTILE_DOCKERFILE = (
    f'FROM scratch\nLABEL evil="{hostile.OSC52} {hostile.SCRIPT}"\nENV A=é B={hostile.CLEAR}\n'
    f"RUN echo {hostile.CSI8} {hostile.BIDI} && curl http://x | sh\nUSER {hostile.SGR}root\n"
    f'CMD ["{hostile.OSC8}"]\n'
)


@pytest.mark.docker
def test_a_hostile_dockerfile_project_named_dot_is_scanned_safely(tmp_path: Path) -> None:
    # `.` once reached the engine as `GET /containers/./json`, which its router cleans to the container
    # list: a traceback (`'list' object has no attribute 'get'`) instead of the Dockerfile in the directory.
    project = tmp_path / "a" / "b" / "c"
    project.mkdir(parents=True)
    (project / "Dockerfile").write_text(HOSTILE_DOCKERFILE, encoding="utf-8")
    (project / ".dockerignore").write_text("[]\n[z-a]\n**\n!Dockerfile\n", encoding="utf-8")
    argv = ["scan", "--no-trivy", "."]
    for fmt, ext in FORMATS.items():
        argv += ["-f", fmt, "-o", str(tmp_path / f"report.{ext}")]
    proc = run_dockaudit(*argv, cwd=project)
    files = {fmt: (tmp_path / f"report.{ext}").read_text(encoding="utf-8") for fmt, ext in FORMATS.items()}
    assert_reports_are_safe(Outputs(proc.returncode, proc.stderr, files), findings_quote_payloads=False)
    (target,) = json.loads(files["json"])["targets"]
    assert target["kind"] == "dockerfile" and target["errors"] == []
    # DA116 quotes the USER line: its escape sequence is shown as text.
    assert printable(hostile.SGR) in files["table"]
    for ref in ("..", "../c", "./", "x/../../containers"):
        other = run_dockaudit("scan", "--no-trivy", "-q", "-f", "json", ref, cwd=project)
        assert "Traceback" not in other.stderr, (ref, other.stderr[-2000:])
        assert other.returncode in (0, 1, 2), (ref, other.stderr)
