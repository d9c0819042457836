"""Trivy faults: it hangs, crashes, prints garbage or runs out of disk. The checklist is still reported, the
Trivy scan says `failed: <one line>`, the run exits 3 and no Trivy process is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import cli

pytestmark = [pytest.mark.docker]

FAULTS = {
    # stand-in: (extra args, what the report's scans.trivy says)
    "hanging_trivy": (("--timeout", "2"), "failed: Trivy did not finish within 2 s and was stopped"),
    "crash_trivy": ((), "failed: Trivy exited with code -11: [signal SIGSEGV: segmentation violation"),
    "garbage_trivy": ((), "failed: unreadable Trivy output:"),
    "nospace_trivy": ((), "failed: Trivy failed: Fatal error run error: image scan error"),
}


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.parametrize("stand_in", sorted(FAULTS))
def test_trivy_fault_fails_the_scan_not_the_report(stand_in: str, tmp_path: Path, bad_image: str) -> None:
    extra, expected = FAULTS[stand_in]
    trivy = cli.FAULT_TRIVY / stand_in if (cli.FAULT_TRIVY / stand_in).exists() else cli.FAKE_TRIVY / stand_in
    pidfile = tmp_path / "trivy.pids"
    out = tmp_path / "out"
    out.mkdir()
    env = cli.private_env(tmp_path, FAKE_TRIVY_PIDFILE=str(pidfile))
    run = cli.run(
        "scan",
        f"image:{bad_image}",
        "--trivy",
        str(trivy),
        "--scanners",
        "checklist,misconfig,secret",
        *extra,
        "-f",
        "json",
        "-o",
        str(out / "report.json"),
        "-f",
        "html",
        "-o",
        str(out / "report.html"),
        env=env,
    )
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    report = cli.load_report(out / "report.json")
    (target,) = report["targets"]
    assert target["scans"]["trivy"].startswith(expected), target["scans"]
    assert "\n" not in target["scans"]["trivy"]
    if stand_in == "nospace_trivy":
        assert target["scans"]["trivy"].endswith("no space left on device")
    assert target["scans"]["checklist"] == "ok"
    assert any(f["rule_id"] == "DA101" for f in target["findings"])  # the checklist is all there
    assert {"stage": "trivy", "message": target["scans"]["trivy"].removeprefix("failed: ")} in target["errors"]
    html = (out / "report.html").read_text()
    assert "Trivy" in html and "failed" in html
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    assert target["scans"]["trivy"].removeprefix("failed: ") in run.stderr
    # A hung Trivy is killed with its whole process group (the stand-in's own child included).
    if pidfile.exists():
        pids = [int(p) for p in pidfile.read_text().split()]
        assert pids and not [p for p in pids if _alive(p)]
