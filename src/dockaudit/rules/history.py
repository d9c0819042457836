"""DA2xx: rules over an image's build history (`docker image history --no-trunc`)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from dockaudit.facts import FileType, HistoryEntry, ImageFacts, NamedValue
from dockaudit.model import Fix, Origin, Severity
from dockaudit.rules import fixes
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule
from dockaudit.rules.shell import SHELLS, Command, commands, pipelines
from dockaudit.secrets import classify_pair, has_redaction, is_allowlisted, is_secret_name

_BUILDER_COMMENTS = frozenset({"buildkit.dockerfile.v0", "buildkit.exporter.image.v0"})
_ARCHIVE = re.compile(r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma)$", re.I)
_URL = re.compile(r"^(?:https?|ftp)://", re.I)


def _run_steps(facts: ImageFacts) -> list[HistoryEntry]:
    return [s for s in list(facts.steps) if s.instruction == "RUN"]


def _hits_per_command(facts: ImageFacts, judge: Callable[[HistoryEntry, Command], str | None]) -> list[Hit]:
    """One hit per RUN step in which `judge` reports a problem for some command (first reason wins)."""
    hits: list[Hit] = []
    for step in _run_steps(facts):
        for command in commands(step.body):
            reason = judge(step, command)
            if reason is not None:
                hits.append(Hit(f"{step.where}: {reason}: {step.shown}", step.location, step.origin))
                break
    return hits


def _apt(command: Command) -> str | None:
    """`install`, `update`, `upgrade`... when `command` is apt-get/apt, else None."""
    if command.name not in ("apt-get", "apt", "aptitude"):
        return None
    words = [a for a in command.args if not a.startswith("-")]
    return words[0] if words else ""


def _subcommand(command: Command) -> str:
    words = [a for a in command.args if not a.startswith("-")]
    return words[0] if words else ""


def _package_args(command: Command, after: str) -> list[str]:
    """Positional words after the subcommand `after`, options removed."""
    args = list(command.args)
    if after in args:
        args = args[args.index(after) + 1 :]
    result: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("-t", "--target-release", "-o", "-r", "--requirement", "-c", "--constraint", "-e", "--repository"):
            skip = True
            continue
        if arg.startswith("-"):
            continue
        result.append(arg)
    return result


def _is_install(command: Command) -> bool:
    if command.name in ("apt-get", "apt", "aptitude"):
        return _apt(command) in ("install", "reinstall", "build-dep")
    if command.name == "apk":
        return _subcommand(command) == "add"
    if command.name in ("yum", "dnf", "microdnf", "tdnf", "zypper"):
        return _subcommand(command) in ("install", "groupinstall", "in")
    return False


# --------------------------------------------------------------------------------------------- DA201


def _build_arg_fix(name: str) -> Fix:
    secret = name.lower()
    return Fix(
        summary=(
            f"Pass {name} with a BuildKit secret mount instead of a build arg, and rotate it: build args are "
            "recorded in the image history."
        ),
        dockerfile=(
            f"# remove: ARG {name}\n"
            f"RUN --mount=type=secret,id={secret} \\\n    {name}=$(cat /run/secrets/{secret}) <command that needs it>"
        ),
        run=f"DOCKER_BUILDKIT=1 docker build --secret id={secret},env={name} .",
    )


def _fix_build_arg(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return _build_arg_fix("NPM_TOKEN")


def _secret_arg(arg: NamedValue, allow: tuple[str, ...]) -> bool:
    if not arg.value or is_allowlisted(arg.name, arg.value, allow):
        return False
    return arg.secret is not None or classify_pair(arg.name, arg.value, allow) is not None


@rule(
    id="DA201",
    slug="secret-in-build-arg",
    title="Secret passed as a build arg",
    severity=Severity.CRITICAL,
    scope=Scope.HISTORY,
    section=Section.SECRETS,
    rationale=(
        "The classic builder records every build arg's value in the image history (`|1 NAME=value ...`), so "
        "anyone who pulls the image can read it with `docker history`. Secrets need BuildKit secret mounts."
    ),
    references=('seed "--build-arg is recoverable"', "DS-0031"),
    fix=_fix_build_arg,
)
def secret_in_build_arg(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A history line carries a build arg with a secret-like name and a non-empty value."""
    allow = tuple(ctx.settings.allow_secret_names)
    seen: dict[str, tuple[HistoryEntry, NamedValue, int]] = {}
    for step in list(facts.steps):
        for arg in step.build_args:
            if not _secret_arg(arg, allow):
                continue
            if arg.name in seen:
                first, value, count = seen[arg.name]
                seen[arg.name] = (first, value, count + 1)
            else:
                seen[arg.name] = (step, arg, 1)
    hits: list[Hit] = []
    for name, (step, arg, count) in seen.items():
        match = arg.secret or classify_pair(arg.name, arg.value, allow)
        detail = "secret-like name" if match is None or match.kind == "name" else match.detail
        hits.append(
            Hit(
                f"build arg {name}={arg.value} ({detail}) is recorded in {count} history step(s), first {step.where}",
                step.location,
                step.origin,
                fix=_build_arg_fix(name),
            )
        )
    return hits


# --------------------------------------------------------------------------------------------- DA202

_ARG_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


def _fix_secret_run(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Read credentials from a BuildKit secret mount inside the RUN that needs them, and rotate the "
            "exposed value: RUN lines are kept in the image history."
        ),
        dockerfile=(
            "RUN --mount=type=secret,id=netrc,target=/root/.netrc \\\n"
            "    curl -fsSL --netrc https://example.com/artifact -o /tmp/artifact"
        ),
        run="DOCKER_BUILDKIT=1 docker build --secret id=netrc,src=$HOME/.netrc .",
    )


@rule(
    id="DA202",
    slug="secret-in-run",
    title="Credential in a RUN command",
    severity=Severity.HIGH,
    scope=Scope.HISTORY,
    section=Section.SECRETS,
    rationale=(
        "RUN commands are stored verbatim in the image history, so a password, token or auth header typed into "
        "one is published with the image. Secrets used at build time belong in `--mount=type=secret`."
    ),
    references=("CIS 4.10",),
    fix=_fix_secret_run,
)
def secret_in_run(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A RUN embeds a literal credential, or expands a secret build arg instead of reading a secret mount."""
    allow = tuple(ctx.settings.allow_secret_names)
    hits: list[Hit] = []
    for step in _run_steps(facts):
        found = [m.detail for m in step.secrets]
        if not found and has_redaction(step.body):
            found = ["a redacted credential"]
        # A Dockerfile's `ARG TOKEN` has no value until build time, yet expanding it is the same leak.
        secret_args = {
            a.name
            for a in step.build_args
            if _secret_arg(a, allow) or (is_secret_name(a.name) and not is_allowlisted(a.name, a.value, allow))
        }
        used = sorted({name for m in _ARG_REF.finditer(step.body) if (name := m.group(1) or m.group(2)) in secret_args})
        if found:
            kinds = ", ".join(dict.fromkeys(found))
            hits.append(Hit(f"{step.where}: {kinds} in the command: {step.shown}", step.location, step.origin))
        elif used:
            names = ", ".join(f"${n}" for n in used)
            hits.append(
                Hit(f"{step.where}: expands secret build arg {names}: {step.shown}", step.location, step.origin)
            )
    return hits


# --------------------------------------------------------------------------------------------- DA203/204

_LEGACY_ADD = re.compile(r"^(file|dir|multi):(\S+) in (\S+)")


def _fix_add(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Use COPY for local files; keep ADD for tar archives to extract.", dockerfile="COPY app.conf /app/"
    )


def _copy_fix(step: HistoryEntry) -> Fix:
    legacy = _LEGACY_ADD.match(step.body)
    if legacy is not None:
        line = f"COPY <the same source> {legacy.group(3)}"
    else:
        words = [w for w in step.body.split() if not w.startswith("--")]
        line = "COPY " + " ".join(words)
    return Fix(summary="Use COPY for local files; keep ADD for tar archives to extract.", dockerfile=line)


def _add_local(step: HistoryEntry, facts: ImageFacts) -> str | bool | None:
    """Evidence when the ADD copies a local non-archive; True when undecidable without layers; else None."""
    m = _LEGACY_ADD.match(step.body)
    if m is not None:
        kind, dest = m.group(1), m.group(3)
        if kind in ("dir", "multi"):
            return f"ADD of a local {'directory' if kind == 'dir' else 'file set'} into {dest}"
        fs = facts.filesystem
        if fs is None or step.layer_index is None:
            return True
        layer_files = [f for f in fs.files if f.layer_index == step.layer_index]
        regular = [f for f in layer_files if f.type is FileType.FILE]
        dest_path = "/" + dest.strip("/")
        # An extracted archive writes a tree; a plain ADD writes one file at (or directly under) the destination.
        if len(regular) == 1 and (regular[0].path == dest_path or regular[0].path.rsplit("/", 1)[0] == dest_path):
            return f"ADD of the local file {regular[0].path} (not an archive)"
        return None
    words = step.body.split()
    if len(words) < 2 or words[0].startswith("["):
        return None
    sources = words[:-1]
    local = [s for s in sources if not _URL.match(s) and not s.startswith("git@") and not _ARCHIVE.search(s)]
    if local:
        return f"ADD of local {', '.join(local)} (not an archive)"
    return None


@rule(
    id="DA203",
    slug="add-instead-of-copy",
    title="ADD used for local files",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.MINIMAL_BASE,
    rationale=(
        "ADD silently extracts archives and fetches URLs, so its effect depends on the file it is given. "
        "COPY does only what it says, which makes the build predictable."
    ),
    references=("CIS 4.9", "CIS-DI-0009", "DS-0005", "DL3020"),
    fix=_fix_add,
)
def add_instead_of_copy(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """An ADD of a local file or directory that is not a tar archive, in the user's layers."""
    hits: list[Hit] = []
    undecided: list[HistoryEntry] = []
    all_steps = list(facts.steps)
    for i, step in enumerate(all_steps):
        if step.instruction != "ADD" or step.origin is Origin.BASE:
            continue
        if step.origin is Origin.UNKNOWN and i == 0:
            continue  # the root filesystem tarball of the first base image
        verdict = _add_local(step, facts)
        if verdict is True:
            undecided.append(step)
        elif isinstance(verdict, str):
            hits.append(Hit(f"{step.where}: {verdict}: {step.shown}", step.location, step.origin, fix=_copy_fix(step)))
    if not hits and undecided:
        return Skip(f"layers were not read: cannot tell whether {undecided[0].shown} added a tar archive")
    return hits


def _fix_add_url(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Download with a pinned checksum and verify it (or `ADD --checksum=sha256:...` with BuildKit).",
        dockerfile=(
            "ADD --checksum=sha256:<sha256> https://example.com/tool.tar.gz /tmp/\n"
            "# or: RUN curl -fsSLo /tmp/tool.tgz URL && echo '<sha256>  /tmp/tool.tgz' | sha256sum -c -"
        ),
    )


@rule(
    id="DA204",
    slug="add-remote-url",
    title="ADD of a remote URL",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.SCANNING,
    rationale=(
        "ADD with a URL downloads whatever the server returns at build time, with no checksum, so a "
        "compromised or changed file goes straight into the image. A pinned checksum makes the download verifiable."
    ),
    references=("DS-0005", "DL3020"),
    fix=_fix_add_url,
)
def add_remote_url(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`ADD http(s)://...` without a checksum."""
    hits: list[Hit] = []
    for step in list(facts.steps):
        if step.instruction != "ADD" or any(f.startswith("--checksum") for f in step.flags):
            continue
        urls = [w for w in step.body.split() if _URL.match(w.strip('"[],'))]
        if urls:
            hits.append(Hit(f"{step.where}: ADD downloads {urls[0]} unverified", step.location, step.origin))
    return hits


# --------------------------------------------------------------------------------------------- DA205-208


def _fix_update_alone(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Update the package index in the same RUN that installs, so a cached index is never reused.",
        dockerfile=fixes.install_snippet(fixes.image_os(facts), ["ca-certificates"]),
    )


_UPDATE = {("apt-get", "update"), ("apt", "update"), ("apk", "update"), ("yum", "makecache"), ("dnf", "makecache")}


@rule(
    id="DA205",
    slug="update-alone",
    title="Package index updated without installing",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.MINIMAL_BASE,
    rationale=(
        "An index update in its own layer is cached, so later installs use a stale index and miss security "
        "updates. It also adds a layer of index files."
    ),
    references=("CIS 4.7", "CIS-DI-0007", "DS-0017"),
    fix=_fix_update_alone,
)
def update_alone(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`apt-get update`/`apk update`/`yum makecache` in a RUN that installs nothing."""
    hits: list[Hit] = []
    for step in _run_steps(facts):
        cmds = commands(step.body)
        updates = [c for c in cmds if (c.name, _subcommand(c)) in _UPDATE]
        if updates and not any(_is_install(c) for c in cmds):
            text = f"{updates[0].name} {_subcommand(updates[0])}"
            hits.append(Hit(f"{step.where}: `{text}` with no install: {step.shown}", step.location, step.origin))
    return hits


def _fix_upgrade(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Do not upgrade inside the build; rebuild on a newer base image and pin the packages you need.",
        dockerfile="FROM debian:12-slim  # a freshly pulled, patched base instead of apt-get upgrade",
        run="docker build --pull .",
    )


def _upgrade(step: HistoryEntry, command: Command) -> str | None:
    sub = _subcommand(command)
    if command.name in ("apt-get", "apt", "aptitude") and sub in ("upgrade", "dist-upgrade", "full-upgrade"):
        return f"`{command.name} {sub}`"
    if command.name == "apk" and sub == "upgrade" and not _package_args(command, "upgrade"):
        return "`apk upgrade`"
    if command.name in ("yum", "dnf", "microdnf") and sub in ("update", "upgrade") and not _package_args(command, sub):
        return f"`{command.name} {sub}` without package names"
    return None


@rule(
    id="DA206",
    slug="upgrade-in-build",
    title="Whole-system upgrade in the build",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.MINIMAL_BASE,
    rationale=(
        "Upgrading every package during the build makes the image's contents depend on the day it was built "
        "and hides an outdated base. Rebuilding on a current base image gives the same fixes reproducibly."
    ),
    references=("DKL-DI-0003", "DS-0024"),
    fix=_fix_upgrade,
)
def upgrade_in_build(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`apt-get upgrade`/`dist-upgrade`, `apk upgrade`, `yum update` without package names."""
    return _hits_per_command(facts, _upgrade)


def _fix_cache(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Remove package manager caches in the same RUN that creates them (or use a cache mount).",
        dockerfile=(
            fixes.install_snippet(fixes.image_os(facts), ["ca-certificates"])
            + "\nRUN pip install --no-cache-dir -r requirements.txt\nRUN npm ci && npm cache clean --force"
        ),
    )


def _cache_mount(step: HistoryEntry, target: str) -> bool:
    return any(f.startswith("--mount=") and "type=cache" in f and target in f for f in step.flags)


def _cache_reasons(step: HistoryEntry) -> list[str]:
    body = step.body
    cmds = commands(body)
    reasons: list[str] = []
    if any(c.name in ("apt-get", "apt") and _is_install(c) for c in cmds):
        cleaned = re.search(r"rm\s+(?:-\S+\s+)*[^;&|]*/var/lib/apt/lists", body)
        if not cleaned and not _cache_mount(step, "/var/lib/apt"):
            reasons.append("apt install without removing /var/lib/apt/lists")
    for c in cmds:
        apk_add = c.name == "apk" and _subcommand(c) == "add" and "--no-cache" not in c.args
        apk_cleaned = re.search(r"rm\s+(?:-\S+\s+)*[^;&|]*/var/cache/apk", body) or _cache_mount(step, "apk")
        if apk_add and not apk_cleaned:
            reasons.append("apk add without --no-cache")
        if _is_pip_install(c) and "--no-cache-dir" not in c.args and not _cache_mount(step, "pip"):
            reasons.append("pip install without --no-cache-dir")
    rpm = any(c.name in ("yum", "dnf", "microdnf") and _is_install(c) for c in cmds)
    rpm_cleaned = re.search(
        r"\b(?:yum|dnf|microdnf)\s+clean\s+all|rm\s+(?:-\S+\s+)*[^;&|]*/var/cache/(?:yum|dnf)", body
    )
    if rpm and not rpm_cleaned:
        reasons.append(f"{next(c.name for c in cmds if _is_install(c))} install without `clean all`")
    npm = [c for c in cmds if c.name in ("npm", "yarn") and _subcommand(c) in ("install", "ci", "i", "add")]
    if npm and not re.search(r"\b(?:npm|yarn)\s+cache\s+clean", body) and not _cache_mount(step, "npm"):
        reasons.append(f"{npm[0].name} {_subcommand(npm[0])} without `{npm[0].name} cache clean`")
    return list(dict.fromkeys(reasons))


def _is_pip_install(command: Command) -> bool:
    if command.name.startswith("pip") and _subcommand(command) == "install":
        return True
    if command.name.startswith("python") and command.args[:2] == ("-m", "pip"):
        return "install" in command.args
    return False


@rule(
    id="DA207",
    slug="package-cache-kept",
    title="Package manager cache kept in the layer",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.MINIMAL_BASE,
    rationale=(
        "Package indexes and download caches left in a layer add megabytes that the running application never "
        "reads. Removing them in a later RUN does not help: the bytes stay in the earlier layer."
    ),
    references=("DKL-DI-0004/0005", "DL3009", "DL3019", "DL3042", "DS-0015"),
    fix=_fix_cache,
)
def package_cache_kept(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A package install that leaves its cache in the same layer."""
    hits: list[Hit] = []
    for step in _run_steps(facts):
        reasons = _cache_reasons(step)
        if reasons:
            hits.append(Hit(f"{step.where}: {'; '.join(reasons)}: {step.shown}", step.location, step.origin))
    return hits


def _fix_recommends(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Install only the packages you name: add --no-install-recommends.",
        dockerfile=fixes.install_snippet(fixes.image_os(facts), ["ca-certificates"]),
    )


def _recommends(step: HistoryEntry, command: Command) -> str | None:
    if command.name not in ("apt-get", "apt") or _apt(command) != "install":
        return None
    joined = " ".join(command.args)
    if "--no-install-recommends" in command.args or re.search(r"Install-Recommends=(?:false|0|no)", joined, re.I):
        return None
    return f"`{command.name} install` without --no-install-recommends"


@rule(
    id="DA208",
    slug="no-install-recommends",
    title="Apt installs recommended packages",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.MINIMAL_BASE,
    rationale=(
        "By default apt also installs every recommended package, often doubling the size of an install and "
        "adding software nobody asked for. Every extra package is more to patch."
    ),
    references=("DL3015",),
    fix=_fix_recommends,
)
def no_install_recommends(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`apt-get install` without `--no-install-recommends`."""
    return _hits_per_command(facts, _recommends)


# --------------------------------------------------------------------------------------------- DA209/210


def _fix_sudo(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Run privileged build steps before USER (as root), then switch to the unprivileged user.",
        dockerfile="USER root\nRUN apt-get update && apt-get install -y --no-install-recommends pkg\nUSER 10001:10001",
    )


@rule(
    id="DA209",
    slug="sudo-used",
    title="Sudo used in a RUN",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.NON_ROOT,
    rationale=(
        "sudo in a build means a privilege-escalation path is installed and configured in the image. "
        "Build steps that need root should run before USER switches to the unprivileged user."
    ),
    references=("DKL-DI-0001", "DS-0010", "DL3004"),
    fix=_fix_sudo,
)
def sudo_used(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`sudo` runs a command in a RUN (installing the sudo package does not count)."""
    return _hits_per_command(facts, lambda step, c: "runs `sudo`" if "sudo" in c.prefixes or c.name == "sudo" else None)


def _fix_pipe(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Download to a file, verify its checksum or signature, then run it.",
        dockerfile=(
            "RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh && \\\n"
            "    echo '<sha256>  /tmp/install.sh' | sha256sum -c - && \\\n"
            "    sh /tmp/install.sh && rm /tmp/install.sh"
        ),
    )


_DOWNLOADERS = frozenset({"curl", "wget", "fetch"})


def _pipes_to_shell(body: str) -> str | None:
    for pipeline in pipelines(body):
        for left, right in itertools.pairwise(pipeline):
            if left.name in _DOWNLOADERS and right.name in SHELLS:
                return f"`{left.name} ... | {right.name}`"
        for cmd in pipeline:
            if cmd.name not in SHELLS:
                continue
            args = list(cmd.args)
            for i, arg in enumerate(args):
                # `sh -c "$(curl ...)"` and `bash <(curl ...)` run a download just the same.
                if re.match(r"^\$\(\s*(?:curl|wget)\b|^`\s*(?:curl|wget)\b", arg):
                    return f'`{cmd.name} -c "$({arg[2:].split()[0]} ...)"`'
                if arg == "<(" and i + 1 < len(args) and args[i + 1] in _DOWNLOADERS:
                    return f"`{cmd.name} <({args[i + 1]} ...)`"
    return None


@rule(
    id="DA210",
    slug="curl-pipe-shell",
    title="Download piped into a shell",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.SCANNING,
    rationale=(
        "Piping a download into a shell runs whatever the server sends, unverified, as root in the build. "
        "A truncated download can even run half a script."
    ),
    references=("DL4006 (related)",),
    fix=_fix_pipe,
)
def curl_pipe_shell(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A download piped into a shell (`curl ... | sh`), outside quoted text."""
    hits: list[Hit] = []
    for step in _run_steps(facts):
        found = _pipes_to_shell(step.body)
        if found:
            hits.append(Hit(f"{step.where}: {found}: {step.shown}", step.location, step.origin))
    return hits


# --------------------------------------------------------------------------------------------- DA211


_BUILDAH_FROM = re.compile(r"FROM \S+")
"""buildah's (`podman build`, `podman commit`) comment on each step: `FROM <image id or reference>` it started from."""
_BUILDAH_NO_INSTRUCTION = "/bin/sh"
"""What buildah writes as `created_by` for a layer no Dockerfile instruction made: a commit of a container."""


def _builder_comment(comment: str) -> bool:
    """Whether a history comment is a builder's own note rather than a `docker commit -m` message."""
    return comment in _BUILDER_COMMENTS or _BUILDAH_FROM.fullmatch(comment) is not None


def _commit_without_instruction(step: HistoryEntry, comment: str) -> bool:
    """A layer whose step records no instruction: empty (`docker commit`) or buildah's bare `/bin/sh`."""
    if step.empty_layer:
        return False
    created_by = step.created_by.strip()
    return not created_by or (created_by == _BUILDAH_NO_INSTRUCTION and _BUILDAH_FROM.fullmatch(comment) is not None)


def _fix_commit(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Rebuild the image from a Dockerfile in version control instead of `docker commit`.",
        dockerfile="# write the changes made in the container as Dockerfile steps, then: docker build -t REPO:TAG .",
    )


@rule(
    id="DA211",
    slug="committed-layer",
    title="Layer made by docker commit",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.SCANNING,
    rationale=(
        "A committed layer holds whatever the container had at that moment, with no record of how it got there, "
        "so it cannot be reviewed, rebuilt or patched. A Dockerfile in version control records every change."
    ),
    references=('seed "no docker commit"',),
    fix=_fix_commit,
)
def committed_layer(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A layer with no instruction recorded, or a comment that is not a builder's own (BuildKit's, buildah's)."""
    hits: list[Hit] = []
    for step in list(facts.steps):
        comment = step.comment.strip()
        if comment.startswith("Imported from"):
            continue  # `docker import` of a root filesystem tarball: a base, not a commit
        if _commit_without_instruction(step, comment):
            how = f" (a podman/buildah commit on top of {comment.removeprefix('FROM ')})" if comment else ""
            hits.append(Hit(f"{step.where}: a layer with no instruction recorded{how}", step.location, step.origin))
        elif comment and not _builder_comment(comment):
            shown = comment if len(comment) <= 80 else comment[:79] + "…"
            hits.append(Hit(f"{step.where}: commit message {shown!r}", step.location, step.origin))
    return hits


# --------------------------------------------------------------------------------------------- DA212


def _fix_pin(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Pin package versions (apt `pkg=1.2-3`, apk `pkg=1.2.3-r0`, pip `pkg==1.2.3` or a lock file).",
        dockerfile=(
            "RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 && "
            "rm -rf /var/lib/apt/lists/*\nRUN pip install --no-cache-dir -r requirements.txt  # with == pins"
        ),
    )


def _unpinned(command: Command) -> list[str]:
    if command.name in ("apt-get", "apt") and _apt(command) == "install":
        return [p for p in _package_args(command, "install") if "=" not in p and not p.endswith(".deb")]
    if command.name == "apk" and _subcommand(command) == "add":
        return [p for p in _package_args(command, "add") if "=" not in p and "~" not in p]
    if _is_pip_install(command):
        return [
            p
            for p in _package_args(command, "install")
            if not re.search(r"[=<>~!@]", p)
            and not p.startswith((".", "/", "git+", "http"))
            and not p.endswith((".whl", ".tar.gz", ".zip"))
        ]
    return []


def _pin(step: HistoryEntry, command: Command) -> str | None:
    names = _unpinned(command)
    if not names:
        return None
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"`{command.name}` installs {shown} without versions"


@rule(
    id="DA212",
    slug="unpinned-packages",
    title="Packages installed without versions",
    severity=Severity.INFO,
    scope=Scope.HISTORY,
    section=Section.PINNING,
    rationale=(
        "Unpinned packages make each build install whatever is current, so two builds of the same commit can "
        "differ and a broken release slips in unnoticed. Pinned versions make builds reproducible."
    ),
    references=("DL3008", "DL3018", "DL3013"),
    fix=_fix_pin,
)
def unpinned_packages(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`apt-get install`/`apk add`/`pip install` of packages without versions."""
    return _hits_per_command(facts, _pin)


# --------------------------------------------------------------------------------------------- DA213

_SYMBOLIC_WW = re.compile(r"^[ugoa]*[oa][ugoa]*[+=][rwxXst]*w|(?:^|,)[ugoa]*[oa][ugoa]*[+=][rwxXst]*w")


def _world_writable_mode(mode: str) -> bool:
    if re.fullmatch(r"[0-7]{3,4}", mode):
        digits = mode.zfill(4)
        sticky = int(digits[0]) & 1
        # Others-write without the sticky bit (`1777` is the normal /tmp mode).
        return bool(int(digits[3]) & 2) and not sticky
    return bool(_SYMBOLIC_WW.search(mode)) and "+t" not in mode


def _chmod(step: HistoryEntry, command: Command) -> str | None:
    if command.name != "chmod":
        return None
    args = [a for a in command.args if a not in ("-R", "-r", "--recursive", "-v", "-f", "-c")]
    if args and _world_writable_mode(args[0]):
        return f"`chmod {args[0]}` makes {' '.join(args[1:3]) or 'files'} world-writable"
    return None


def _fix_chmod(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Give write access to the application user only (chown to it, mode 750/640).",
        dockerfile="RUN chown -R 10001:10001 /app/data && chmod -R u+rwX,g+rX,o-rwx /app/data",
    )


@rule(
    id="DA213",
    slug="world-writable-chmod",
    title="World-writable chmod in a RUN",
    severity=Severity.LOW,
    scope=Scope.HISTORY,
    section=Section.READ_ONLY_ROOTFS,
    rationale=(
        "World-writable files let any user in the container, including a compromised low-privilege process, "
        "change code or configuration that others run. Only the application user should write its data."
    ),
    references=(),
    fix=_fix_chmod,
)
def world_writable_chmod(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """`chmod 777`, `chmod -R a+w`, `chmod o+w` in a RUN."""
    return _hits_per_command(facts, _chmod)
