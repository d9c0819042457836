"""A checklist-only `scan` of images and containers loads only the code it runs (start-up is most of its time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCAN_AND_LIST_MODULES = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["dockaudit", *sys.argv[1:]]
runpy.run_module("dockaudit", run_name="__main__", alter_sys=True)
"""

NOT_NEEDED = (
    # Trivy's machinery: `--no-trivy` runs none of it.
    "dockaudit.scanners.trivy",
    "dockaudit.scanners.trivy_db",
    "dockaudit.scanners.trivy_merge",
    "dockaudit.scanners.trivy_outcome",
    "dockaudit.scanners.process",
    # Compose: these containers were not started by Compose.
    "dockaudit.facts.compose",
    "dockaudit.live_compose",
    "dockaudit.parse.compose",
    # The daemon's settings are only read with --host-checks; the TUI's child process is not started.
    "dockaudit.facts.host",
    "pickle",
    # Files and harden: an engine run audits neither; the project file here does not name dockaudit, so it is
    # not parsed as a possible configuration.
    "dockaudit.audit_files",
    "dockaudit.audit_harden",
    "tomllib",
)


def test_a_checklist_scan_of_images_and_containers_loads_no_trivy_compose_or_host_code(
    good_image: str, hardened_container: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no user configuration
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.ruff]\nline-length = 100\n')
    argv = [sys.executable, "-c", SCAN_AND_LIST_MODULES, "scan", "--no-trivy", "-f", "json", "-q"]
    proc = subprocess.run(
        [*argv, "-o", os.devnull, good_image, hardened_container],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    loaded = set(json.loads(proc.stderr.rpartition("MODULES ")[2]))
    assert "dockaudit.rules.image" in loaded  # the scan did audit
    assert sorted(loaded & set(NOT_NEEDED)) == []
