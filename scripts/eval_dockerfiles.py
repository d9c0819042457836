#!/usr/bin/env python3
"""Measure issue #12's "Done when" on a directory of real public Dockerfiles (one sub-directory each).

Each sub-directory holds a `Dockerfile`, the build-context files it needs (entrypoint scripts) and a
`labels.json` written by reading the file:
  runs_as_nonroot, drops_privileges, base_image, windows (bools); existing_user (name or null);
  http_probe: null, or {"port": N, "clients": [...]} when a probe that can pass exists;
  health_command: the server's own health commands the image has and that can pass (["pg_isready"]; optional);
  flaws: [{"kind", "match": text of the instruction, "rules": [ids that count as found]}];
  idioms: [{"kind", "match", "not": [ids that must not be reported there], "not_medium": [ids]}];
  target: the stage `--target` picks (optional).
`dockaudit scan` and `dockaudit harden` run through the CLI of this environment ($DOCKAUDIT_SRC selects
another source tree). usage: scripts/eval_dockerfiles.py DIR [--json] [-j N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.realworld import dockerfile_edits as de

METRICS: tuple[tuple[str, str, str], ...] = (
    ("files", "files", ""),
    ("crashes", "crashes (scan or harden)", "0"),
    ("rejected", "invalid files refused with a one-line error (exit 2)", ""),
    ("not_idempotent", "not idempotent", "0"),
    ("unflagged_edits", "files with edits to lines/stages the scan did not flag", "0"),
    ("unsafe_user_edits", "USER edits on non-root / privilege-dropping / base images", "0"),
    ("new_user_where_one_exists", "new user created where one exists", "0"),
    ("bad_healthchecks", "added HEALTHCHECKs without a probe the image can run", "0"),
    ("cleanup_breaks_later_run", "cleanup that breaks a later RUN", "0"),
    ("cache_mount_removals", "removals inside cache mounts", "0"),
    ("windows_edited", "Windows files edited beyond comments", "0"),
    ("duplicate_findings", "duplicate findings for one flaw (twin pairs)", "0"),
    ("flaws_found", "clear flaws found / labelled", ">= 90%"),
    ("idioms_flagged", "correct idioms flagged", "0"),
    ("new_hadolint", "hardened files with new hadolint warnings", "0"),
    ("medium_plus", "medium+ findings: original -> rescan of hardened", ">= 50% fewer"),
)


def _medium_rules(findings: tuple[de.Finding, ...]) -> dict[str, int]:
    """Medium-and-above findings counted by rule id."""
    return dict(Counter(f.rule for f in findings if de.severity_rank(f.severity) >= de.severity_rank("medium")))


def medium_by_rule(rows: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(rule, medium+ before, medium+ after harden) over all files, most remaining first."""
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for row in rows:
        before.update(row.get("medium_rules_before", {}))
        after.update(row.get("medium_rules_after", {}))
    return sorted(((r, before[r], after[r]) for r in before | after), key=lambda t: (-t[2], -t[1], t[0]))


def evaluate(directory: Path) -> dict[str, Any]:
    """Every metric for one labelled Dockerfile."""
    labels = json.loads((directory / "labels.json").read_text())
    target = labels.get("target")
    dockerfile = directory / "Dockerfile"
    original = dockerfile.read_text()
    row: dict[str, Any] = {"name": directory.name, "problems": []}
    problems: list[str] = row["problems"]
    scan = de.scan(dockerfile, target)
    result = de.harden(dockerfile, target)
    row["rejected"] = scan.run.rejected or result.run.rejected
    row["crashed"] = scan.run.crashed or result.run.crashed or (result.hardened is None and not row["rejected"])
    if row["rejected"] and not row["crashed"]:
        problems.append(f"rejected with a clear error: {(scan.run.err or result.run.err).strip()[-200:]}")
        if not labels.get("invalid"):
            row["crashed"] = True
        return row
    if row["crashed"]:
        problems.append(f"crash: scan {scan.run.rc}, harden {result.run.rc}: {(scan.run.err + result.run.err)[-300:]}")
        return row
    hardened = result.hardened or ""
    instructions, _ = de.split_instructions(original)
    row["duplicates"] = de.duplicate_findings(scan.findings)
    flaws = labels.get("flaws", [])
    found = 0
    for flaw in flaws:
        ins = de.find_instruction(instructions, flaw["match"])
        hit = ins is not None and any(
            set(flaw["rules"]) & f.ids and f.line is not None and ins.start <= f.line <= ins.end for f in scan.findings
        )
        found += hit
        if not hit:
            problems.append(f"missed {flaw['kind']} ({'/'.join(flaw['rules'])}) at `{flaw['match']}`")
    row["flaws"], row["flaws_found"] = len(flaws), found
    flagged_idioms = 0
    for idiom in labels.get("idioms", []):
        ins = de.find_instruction(instructions, idiom["match"])
        bad = [
            f
            for f in scan.findings
            if (
                set(idiom.get("not", [])) & f.ids
                and ins is not None
                and f.line is not None
                and ins.start <= f.line <= ins.end
            )
            or (set(idiom.get("not_medium", [])) & f.ids and de.severity_rank(f.severity) >= 2)
        ]
        if bad:
            flagged_idioms += 1
            problems.append(f"idiom {idiom['kind']} flagged: {bad[0].rule} {bad[0].severity}")
    row["idioms_flagged"] = flagged_idioms
    with tempfile.TemporaryDirectory(prefix="dockaudit-eval-") as tmp:
        again_file = de.hardened_project(directory, result, Path(tmp) / "hardened")
        again = de.harden(again_file, target)
        rescan = de.scan(again_file, target)
    row["idempotent"] = not again.run.crashed and again.hardened == hardened and not again.changes
    if not row["idempotent"]:
        problems.append("not idempotent")
    row["unflagged"] = de.unflagged_edits(original, hardened, scan.findings, target)
    problems += [f"unflagged edit: {p}" for p in row["unflagged"]]
    row["user_edit"] = de.user_edit(original, hardened)
    row["unsafe_user_edit"] = row["user_edit"] and any(
        labels.get(k) for k in ("runs_as_nonroot", "drops_privileges", "base_image", "export_only")
    )
    if row["unsafe_user_edit"]:
        problems.append(f"unsafe USER edit: {de.final_users(original, target)} -> {de.final_users(hardened, target)}")
    row["new_user_where_one_exists"] = bool(labels.get("existing_user")) and de.new_user_created(original, hardened)
    if row["new_user_where_one_exists"]:
        problems.append(f"created a user although {labels['existing_user']} exists")
    bad_probes = []
    probe_label = labels.get("http_probe")
    server_checks = labels.get("health_command") or []
    for probe in de.added_healthchecks(original, hardened):
        if labels.get("base_image") or labels.get("export_only"):
            bad_probes.append(probe.command)
        elif probe.client is not None and probe.client in server_checks:
            continue
        elif probe_label is None or probe.port != probe_label["port"] or probe.client not in probe_label["clients"]:
            bad_probes.append(probe.command)
    row["bad_healthchecks"] = len(bad_probes)
    problems += [f"HEALTHCHECK that cannot pass: {c}" for c in bad_probes]
    row["later_run_breaks"] = de.later_run_breaks(hardened, original)
    row["cache_mount_removals"] = de.cache_mount_removals(original, hardened)
    problems += row["later_run_breaks"] + row["cache_mount_removals"]
    row["windows_edited"] = bool(labels.get("windows")) and de.windows_edits(original, hardened)
    if row["windows_edited"]:
        problems.append("Windows file edited")
    row["new_hadolint"] = de.new_hadolint(original, hardened)
    if row["new_hadolint"]:
        problems.append(f"new hadolint warnings {row['new_hadolint']}")
    row["medium_before"] = de.medium_and_above(scan.findings)
    row["medium_after"] = de.medium_and_above(rescan.findings) if not rescan.run.crashed else row["medium_before"]
    row["medium_rules_before"] = _medium_rules(scan.findings)
    row["medium_rules_after"] = _medium_rules(rescan.findings) if not rescan.run.crashed else row["medium_rules_before"]
    problems += [f"duplicate: {d}" for d in row["duplicates"]]
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The "Done when" metrics over all files."""
    ok = [r for r in rows if not r["crashed"] and not r.get("rejected")]
    flaws = sum(r["flaws"] for r in ok)
    found = sum(r["flaws_found"] for r in ok)
    before = sum(r["medium_before"] for r in ok)
    after = sum(r["medium_after"] for r in ok)
    return {
        "files": len(rows),
        "crashes": sum(bool(r["crashed"]) for r in rows),
        "rejected": sum(bool(r.get("rejected")) and not r["crashed"] for r in rows),
        "not_idempotent": sum(not r["idempotent"] for r in ok),
        "unflagged_edits": sum(bool(r["unflagged"]) for r in ok),
        "unsafe_user_edits": sum(r["unsafe_user_edit"] for r in ok),
        "new_user_where_one_exists": sum(r["new_user_where_one_exists"] for r in ok),
        "bad_healthchecks": sum(r["bad_healthchecks"] for r in ok),
        "cleanup_breaks_later_run": sum(len(r["later_run_breaks"]) for r in ok),
        "cache_mount_removals": sum(len(r["cache_mount_removals"]) for r in ok),
        "windows_edited": sum(r["windows_edited"] for r in ok),
        "duplicate_findings": sum(len(r["duplicates"]) for r in ok),
        "flaws_found": f"{found}/{flaws} ({100 * found / flaws:.0f}%)" if flaws else "0/0",
        "idioms_flagged": sum(r["idioms_flagged"] for r in ok),
        "new_hadolint": sum(bool(r["new_hadolint"]) for r in ok),
        "medium_plus": f"{before} -> {after} ({100 * (before - after) / before:.0f}% fewer)" if before else "0 -> 0",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--json", action="store_true", help="print the summary and every file's row as JSON")
    parser.add_argument("-j", type=int, default=2, help="files evaluated at once")
    args = parser.parse_args()
    dirs = sorted(p for p in args.dir.iterdir() if (p / "labels.json").is_file() and (p / "Dockerfile").is_file())
    if not dirs:
        print(f"eval_dockerfiles: no labelled Dockerfiles under {args.dir}", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(max_workers=args.j) as pool:
        rows = list(pool.map(evaluate, dirs))
    summary = summarise(rows)
    by_rule = medium_by_rule([r for r in rows if not r["crashed"] and not r.get("rejected")])
    if args.json:
        print(json.dumps({"summary": summary, "medium_by_rule": by_rule, "files": rows}, indent=1, default=str))
        return 0
    print("| metric | value | target |\n| --- | --- | --- |")
    for key, label, goal in METRICS:
        print(f"| {label} | {summary[key]} | {goal} |")
    print("\n| rule | medium+ before | after harden |\n| --- | --- | --- |")
    for rule_id, before, after in by_rule:
        print(f"| {rule_id} | {before} | {after} |")
    print()
    for row in rows:
        for problem in row["problems"]:
            print(f"{row['name']}: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
