"""Judge one real-world case: scan and harden through the CLI, then (for buildable cases) build and run."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.realworld import dockerfile_edits as de
from tests.realworld.model import KEEP, NO_HEALTHCHECK, Case, Probe, Runtime

DOCKER = "/usr/bin/docker"
"""Debian's 20.10 client: BuildKit with DOCKER_BUILDKIT=1 (the first docker on PATH only builds legacy)."""
TEST_LABEL = "dockaudit.test"
BUSYBOX = Path("/bin/busybox")


def materialise(case: Case, into: Path) -> Path:
    """Write the case's Dockerfile and build-context files under `into`; returns the Dockerfile."""
    into.mkdir(parents=True, exist_ok=True)
    for rel, content in case.files.items():
        path = into / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "@busybox":
            shutil.copyfile(BUSYBOX, path)
        else:
            path.write_text(content)
        if content == "@busybox" or content.startswith("#!"):
            path.chmod(0o755)
    dockerfile = into / "Dockerfile"
    dockerfile.write_text(case.text)
    return dockerfile


def _severity_ok(actual: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted.startswith(">="):
        return de.severity_rank(actual) >= de.severity_rank(wanted[2:])
    return actual == wanted


def _uid_of(value: str) -> int | None:
    head = value.split(":", 1)[0].strip()
    return int(head) if head.isdigit() else None


def check_findings(case: Case, findings: tuple[de.Finding, ...]) -> list[str]:
    """Present/absent/not-medium expectations and duplicates."""
    problems = []
    for rule, wanted in case.present.items():
        hits = [f for f in findings if f.rule == rule]
        if not hits:
            problems.append(f"{rule} not reported (want {wanted or 'any severity'})")
        elif not any(_severity_ok(f.severity, wanted) for f in hits):
            problems.append(f"{rule} reported as {sorted({f.severity for f in hits})}, want {wanted}")
    for rule in case.absent:
        hits = [f for f in findings if f.rule == rule]
        if hits:
            problems.append(f"{rule} reported ({hits[0].severity}: {hits[0].evidence[:90]})")
    for rule in case.not_medium:
        hits = [f for f in findings if f.rule == rule and de.severity_rank(f.severity) >= de.severity_rank("medium")]
        if hits:
            problems.append(f"{rule} reported at {hits[0].severity}, want below medium")
    problems += [f"duplicate: {d}" for d in de.duplicate_findings(findings)]
    return problems


def check_user(case: Case, original: str, hardened: str) -> list[str]:
    """The USER expectation."""
    if case.user is None:
        return []
    created = de.new_user_created(original, hardened)
    # The stage the image runs from: --target, else the stage a buildable case is run from.
    stage = case.target or (case.runtime.target if case.runtime else None)
    users = de.final_users(hardened, stage)
    last = users[-1] if users else ""
    if case.user == KEEP:
        problems = []
        if de.user_edit(original, hardened):
            problems.append(f"USER changed: {de.final_users(original, stage)} -> {users}")
        if created:
            problems.append("a user was created")
        return problems
    kind, _, arg = case.user.partition(":")
    if kind == "safe":
        if created:
            return ["a new user was created although one exists"]
        if not de.user_edit(original, hardened) or _uid_of(last) == int(arg):
            return []
        return [f"final USER is {last!r}: want no USER edit, or {arg} (the base's own user)"]
    if kind == "reuse":
        problems = [] if _uid_of(last) == int(arg) else [f"final USER is {last!r}, want {arg} (numeric, optional :gid)"]
        if created:
            problems.append("a new user was created although one exists")
        return problems
    problems = []
    if not created and arg != "numeric":
        problems.append("no user was created")
    uid = _uid_of(last)
    if uid is None or uid == 0:
        problems.append(f"final USER is {last!r}, want a numeric non-root UID")
    added = "\n".join(line for _, line in de.edits(original, hardened).inserted)
    tools = {"useradd": r"\buseradd\b", "adduser": r"\badduser\b", "passwd": r">>\s*/etc/passwd", "numeric": r"^$"}
    if arg == "numeric":
        if created:
            problems.append("a user-creating command was added to a stage without a shell")
    elif arg and not re.search(tools[arg], added, re.MULTILINE):
        problems.append(f"the user was not created with {arg}")
    return problems


def check_healthcheck(case: Case, original: str, hardened: str) -> list[str]:
    """The HEALTHCHECK expectation and forbidden probe ports."""
    probes = de.added_healthchecks(original, hardened)
    problems = [f"probe on port {p.port}: {p.command}" for p in probes if p.port in case.forbid_probe_ports]
    if case.healthcheck is None:
        return problems
    if case.healthcheck in (KEEP, NO_HEALTHCHECK):
        if probes:
            problems.append(f"HEALTHCHECK added: {probes[0].command}")
        if case.healthcheck == KEEP:

            def checks(text: str) -> list[str]:
                return [i.text for i in de.split_instructions(text)[0] if i.keyword == "HEALTHCHECK"]

            if checks(original) != checks(hardened):
                problems.append("the existing HEALTHCHECK was changed")
        return problems
    assert isinstance(case.healthcheck, Probe)
    if len(probes) != 1:
        want = f"{'/'.join(case.healthcheck.clients)} on {case.healthcheck.port}"
        return [*problems, f"want one added HEALTHCHECK with {want}, got {len(probes)}"]
    probe = probes[0]
    if probe.client not in case.healthcheck.clients:
        problems.append(f"probe uses {probe.client}, want one of {case.healthcheck.clients}: {probe.command}")
    if probe.port != case.healthcheck.port:
        problems.append(f"probe on port {probe.port}, want {case.healthcheck.port}: {probe.command}")
    return problems


def check_untouched(case: Case, original: str, hardened: str) -> list[str]:
    """Named stages keep their code lines."""
    problems = []
    _, stages = de.split_instructions(original)
    found = de.edits(original, hardened)
    for name in case.untouched_stages:
        index = next((s.index for s in stages if s.name == name), None)
        if index is None:
            problems.append(f"case error: no stage {name}")
            continue
        if any(ins.stage == index for ins in found.modified) or any(st == index for st, _ in found.inserted):
            problems.append(f"stage {name} was edited")
    return problems


def check_static(case: Case, workdir: Path) -> tuple[list[str], de.Harden | None]:
    """Everything but building: findings, harden's edits, idempotence, hadolint, leaks."""
    dockerfile = materialise(case, workdir / "project")
    scan = de.scan(dockerfile, case.target)
    if scan.run.crashed:
        return [f"scan crashed (exit {scan.run.rc}): {scan.run.err.strip()[-300:]}"], None
    problems = check_findings(case, scan.findings)
    result = de.harden(dockerfile, case.target)
    for secret in case.secrets:
        if secret in scan.run.out or secret in scan.run.err or secret in result.run.err:
            problems.append(f"secret {secret[:4]}... leaked in the output")
    if result.run.crashed or result.hardened is None:
        return [*problems, f"harden failed (exit {result.run.rc}): {result.run.err.strip()[-300:]}"], None
    original, hardened = case.text, result.hardened
    problems += [f"unflagged edit: {p}" for p in de.unflagged_edits(original, hardened, scan.findings, case.target)]
    problems += [f"cache mount: {p}" for p in de.cache_mount_removals(original, hardened)]
    problems += [f"later RUN breaks: {p}" for p in de.later_run_breaks(hardened, original)]
    unnamed = [ln.strip() for ln in de.added_comments(original, hardened) if not re.search(r"\bDA\d{3}\b", ln)]
    if unnamed:
        problems.append(f"comment added without the finding it is about: {unnamed[0][:100]}")
    if de.is_windows(original) and de.windows_edits(original, hardened):
        problems.append("Windows file got more than comments")
    problems += check_user(case, original, hardened)
    problems += check_healthcheck(case, original, hardened)
    problems += check_untouched(case, original, hardened)
    if "DL1000" in de.hadolint_codes(original):
        problems.append("case error: hadolint cannot parse the case's Dockerfile")
    new = de.new_hadolint(original, hardened)
    if new:
        problems.append(f"hadolint finds new {new}")
    again_file = de.hardened_project(workdir / "project", result, workdir / "hardened")
    again = de.harden(again_file, case.target)
    if again.run.crashed or again.hardened != hardened or again.changes:
        diff = [
            ln
            for ln in difflib.unified_diff(hardened.split("\n"), (again.hardened or "").split("\n"), n=0, lineterm="")
            if ln[:1] in "+-" and ln[:3] not in ("+++", "---")
        ]
        problems.append(
            f"not idempotent: {[c.summary for c in again.changes][:3]} {diff[:4]} "
            f"{again.run.err.strip()[-200:] if again.run.crashed else ''}".rstrip()
        )
    return problems, result


# -- building and running --------------------------------------------------------------------------------


def _tag(name: str, context: Path, target: str | None) -> str:
    digest = hashlib.sha256((target or "").encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes())
    return f"dockaudit-test/realworld-{name}:{digest.hexdigest()[:12]}"


def build(name: str, context: Path, target: str | None = None) -> str:
    """BuildKit build of `context` (its Dockerfile and .dockerignore); content-hashed tag, reused when present."""
    tag = _tag(name, context, target)
    if subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True, check=False).returncode == 0:
        return tag
    args = [DOCKER, "build", "-q", "--label", f"{TEST_LABEL}=1", "-t", tag]
    if target:
        args += ["--target", target]
    done = subprocess.run(
        [*args, str(context)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"build of {name} failed: {done.stderr.strip()[-600:]}")
    return tag


def _inspect(container: str) -> dict[str, object]:
    out = subprocess.run([DOCKER, "inspect", container], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]  # type: ignore[no-any-return]


def _pid1_uid(container: str) -> int | None:
    state = _inspect(container)["State"]
    assert isinstance(state, dict)
    top = subprocess.run([DOCKER, "top", container, "-eo", "pid,uid"], capture_output=True, text=True, check=False)
    for row in top.stdout.splitlines()[1:]:
        pid, uid = row.split()[:2]
        if int(pid) == state.get("Pid"):
            return int(uid)
    return None


def run_checks(tag: str, expect: Runtime | None, *, hardened: bool) -> list[str]:
    """Start `tag` (1 s health interval, probe unchanged), then check it runs, who PID 1 is, health, owners."""
    problems: list[str] = []
    started = subprocess.run(
        [
            DOCKER,
            "run",
            "-d",
            "--label",
            f"{TEST_LABEL}=1",
            "--health-interval",
            "1s",
            "--health-start-period",
            "0s",
            tag,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        return [f"{tag} did not start: {started.stderr.strip()}"]
    cid = started.stdout.strip()
    try:
        time.sleep(2)
        state = _inspect(cid)["State"]
        assert isinstance(state, dict)
        if not state.get("Running"):
            logs = subprocess.run([DOCKER, "logs", cid], capture_output=True, text=True, check=False)
            return [
                f"{'hardened' if hardened else 'original'} container exited ({state.get('ExitCode')}): "
                f"{(logs.stdout + logs.stderr).strip()[-300:]}"
            ]
        if not hardened or expect is None:
            return problems
        uid = _pid1_uid(cid)
        if expect.uid is not None and uid != expect.uid:
            problems.append(f"PID 1 runs as UID {uid}, want {expect.uid}")
        if expect.uid is None and (uid is None or uid == 0):
            problems.append(f"PID 1 runs as UID {uid}, want non-root")
        for path, owner in expect.owned.items():
            stat = subprocess.run(
                [DOCKER, "exec", cid, "stat", "-c", "%u", path], capture_output=True, text=True, check=False
            )
            if stat.stdout.strip() != str(owner):
                problems.append(f"{path} owned by {stat.stdout.strip() or stat.stderr.strip()}, want {owner}")
        if expect.healthy:
            status = None
            for _ in range(40):
                health = _inspect(cid)["State"]
                assert isinstance(health, dict)
                status = (health.get("Health") or {}).get("Status")  # type: ignore[union-attr]
                if status == "healthy":
                    break
                time.sleep(0.5)
            if status != "healthy":
                problems.append(f"container health is {status}, want healthy")
        return problems
    finally:
        subprocess.run([DOCKER, "rm", "-f", cid], capture_output=True, check=False)


def check_runtime(case: Case, result: de.Harden) -> list[str]:
    """Build the original and the hardened file, run both; the hardened one must drop, serve and be healthy."""
    assert case.runtime is not None
    target = case.runtime.target
    with tempfile.TemporaryDirectory(prefix="dockaudit-rw-build-") as tmp:
        original_ctx = Path(tmp, "original")
        materialise(case, original_ctx)
        hardened_ctx = Path(tmp, "hardened")
        de.hardened_project(original_ctx, result, hardened_ctx)
        try:
            original = build(case.name, original_ctx, target)
        except RuntimeError as exc:
            return [f"case error: the original does not build: {exc}"]
        try:
            hardened = build(f"{case.name}-hardened", hardened_ctx, target)
        except RuntimeError as exc:
            return [f"hardened file does not build: {exc}"]
    problems = [f"original: {p}" for p in run_checks(original, None, hardened=False)]
    return problems + run_checks(hardened, case.runtime, hardened=True)


def ensure_bases() -> None:
    """The stand-in bases under their stable tags (built by the harden corpus helpers)."""
    import docker

    from tests.harden.corpus_check import tag_bases

    client = docker.from_env()
    try:
        tag_bases(client)
    finally:
        client.close()


def check(case: Case, *, build_images: bool) -> list[str]:
    """Every failure of the case; empty when it passes."""
    with tempfile.TemporaryDirectory(prefix="dockaudit-rw-") as tmp:
        problems, result = check_static(case, Path(tmp))
    if build_images and case.runtime is not None and result is not None and result.hardened is not None:
        problems += check_runtime(case, result)
    return problems
