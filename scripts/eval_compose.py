#!/usr/bin/env python3
"""Measure issue #15's held-out check on a directory of real public Compose projects (one sub-directory each).

The directory holds one project per sub-directory (its Compose file and the `.env`/env files it reads) and a
`labels.json` written by reading the files:
  baseline_present / baseline_absent: rule ids every service gets unless it lists them in `not_baseline`;
  projects.NAME.invalid: true when Compose must reject the project (one-line error, exit 2);
  projects.NAME.services.SERVICE.present / absent: rule ids that must / must not be reported (a failed finding
  with that id, or naming it in `also`).
Each project is scanned and hardened through the `dockaudit` CLI of this environment, with no engine
(`scan --paths`) and a shell environment that sets nothing the files interpolate.
usage: scripts/eval_compose.py DIR [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DOCKAUDIT = [sys.executable, "-m", "dockaudit"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_", "DOCKAUDIT_"))}
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    env["NO_COLOR"] = "1"
    return env


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DOCKAUDIT, *args], capture_output=True, text=True, env=_env(), cwd=cwd, timeout=300, check=False
    )


def _found(target: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for finding in target["findings"]:
        if finding["status"] == "fail":
            ids.add(finding["rule_id"])
            ids.update(finding.get("also") or ())
    return ids


def _compose_config(file: Path) -> subprocess.CompletedProcess[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from dockaudit.parse.compose_binary import find_compose

    return subprocess.run(
        [*find_compose().argv, "-f", str(file), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=file.parent,
        timeout=120,
        check=False,
    )


def _harden(project: Path) -> dict[str, Any]:
    """Harden a copy of the project in place; the written file must pass `docker compose config`."""
    with tempfile.TemporaryDirectory(prefix="eval-compose-") as tmp:
        copy = Path(tmp) / project.name
        shutil.copytree(project, copy)
        (main,) = [p for p in copy.iterdir() if p.suffix in (".yaml", ".yml")]
        run = _run("harden", str(main), "-o", str(main))
        row: dict[str, Any] = {"code": run.returncode, "crashed": "Traceback" in run.stderr}
        row["withdrawn"] = "were withdrawn" in run.stderr
        row["changes"] = sum(1 for line in run.stderr.splitlines() if line.startswith("  ["))
        if run.returncode == 0:
            config = _compose_config(main)
            row["config_ok"] = config.returncode == 0
            row["config_error"] = config.stderr.strip()[-300:] if config.returncode else ""
            again = _run("harden", str(main), "-o", str(main))
            row["idempotent"] = "nothing to harden" in again.stderr
        return row


def evaluate(directory: Path, name: str, spec: dict[str, Any], labels: dict[str, Any]) -> dict[str, Any]:
    """Scan (and harden) one project; compare with its labels."""
    project = directory / name
    row: dict[str, Any] = {"name": name, "problems": [], "expected": 0, "found": 0, "absent_violations": 0}
    scan = _run("scan", "--paths", str(project), "-f", "json", "--fail-on", "never", "--no-trivy", "-q")
    # A crash is a traceback or an exit code outside the contract; a file Compose rejects (exit 2) is not one.
    row["crashed"] = "Traceback" in scan.stderr or scan.returncode not in (0, 1, 2)
    if spec.get("invalid"):
        lines = [x for x in scan.stderr.splitlines() if x.strip()]
        row["rejected_ok"] = scan.returncode == 2 and len(lines) == 1 and not scan.stdout
        if not row["rejected_ok"]:
            row["problems"].append(f"invalid file: exit {scan.returncode}, stderr {scan.stderr!r}")
        return row
    if scan.returncode != 0:
        row["problems"].append(f"scan exit {scan.returncode}: {scan.stderr.strip()}")
        return row
    targets = {t["name"].rsplit("/", 1)[-1]: t for t in json.loads(scan.stdout)["targets"]}
    for service, expect in spec["services"].items():
        target = targets.get(service)
        if target is None:
            row["problems"].append(f"{service}: no target")
            continue
        found = _found(target)
        skip = set(expect.get("not_baseline", ()))
        present = (set(labels["baseline_present"]) - skip) | set(expect.get("present", ()))
        absent = (set(labels["baseline_absent"]) - skip) | set(expect.get("absent", ()))
        row["expected"] += len(present)
        row["found"] += len(present & found)
        for rule in sorted(present - found):
            row["problems"].append(f"{service}: {rule} expected, not reported")
        for rule in sorted(absent & found):
            row["absent_violations"] += 1
            row["problems"].append(f"{service}: {rule} reported, labelled absent")
    row["services"] = len(spec["services"])
    row["harden"] = _harden(project)
    harden = row["harden"]
    if harden["crashed"] or harden["code"] != 0:
        row["problems"].append(f"harden exit {harden['code']}")
    elif not harden.get("config_ok"):
        row["problems"].append(f"hardened file rejected by compose config: {harden.get('config_error')}")
    elif not harden.get("idempotent"):
        row["problems"].append("harden is not idempotent")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", action="store_true", help="print every row as JSON")
    args = parser.parse_args()
    labels = json.loads((args.directory / "labels.json").read_text())
    rows = [evaluate(args.directory, name, spec, labels) for name, spec in sorted(labels["projects"].items())]
    if args.json:
        print(json.dumps(rows, indent=2))
    expected = sum(r["expected"] for r in rows)
    found = sum(r["found"] for r in rows)
    valid = [r for r in rows if "rejected_ok" not in r]
    invalid = [r for r in rows if "rejected_ok" in r]
    hardened = [r["harden"] for r in valid if "harden" in r]
    print(f"projects                     {len(rows)} ({len(invalid)} invalid)")
    print(f"services                     {sum(r.get('services', 0) for r in rows)}")
    print(f"expected findings reported   {found}/{expected} ({100 * found / max(expected, 1):.1f}%)  [>= 95%]")
    print(f"absent-labelled reported     {sum(r['absent_violations'] for r in rows)}  [0]")
    crashes = sum(1 for r in rows if r["crashed"] or r.get("harden", {}).get("crashed"))
    print(f"crashes (scan or harden)     {crashes}  [0]")
    print(f"invalid: one line, exit 2    {sum(1 for r in invalid if r['rejected_ok'])}/{len(invalid)}")
    print(f"hardened, config accepts     {sum(1 for h in hardened if h.get('config_ok'))}/{len(hardened)}")
    print(f"hardened, idempotent         {sum(1 for h in hardened if h.get('idempotent'))}/{len(hardened)}")
    print(f"hardening withdrawn          {sum(1 for h in hardened if h.get('withdrawn'))}")
    for row in rows:
        for problem in row["problems"]:
            print(f"  {row['name']}: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
