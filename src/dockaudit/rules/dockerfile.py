"""DA6xx: rules over a Dockerfile's instructions, with line numbers (its build context is judged in
`dockerfile_context`)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence

from dockaudit.facts.dockerfile import DockerfileFacts, DockerfileInstruction, DockerfileStage
from dockaudit.facts.filesystem import OsRelease
from dockaudit.model import Fix, Location, Severity
from dockaudit.parse.dockerfile_runtime import runtime_of
from dockaudit.parse.executables import healthcheck_tools
from dockaudit.parse.shell_text import execs_last
from dockaudit.rules.fixes import (
    compose_service,
    create_user_dockerfile,
    dockerfile_fix,
    healthcheck_snippet,
)
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule
from dockaudit.secrets import is_allowlisted, secret_name_word

# An install command at the start of a shell command (after sudo or VAR=value prefixes), so that an
# `echo "apt-get install gcc"` is not taken for one.
_KEYWORDS = r"(?:(?:then|else|do|!)\s+)*"
"""Shell keywords a command can follow in a segment (`if ...; then apk del ...`)."""
_INSTALL = re.compile(
    r"^\s*" + _KEYWORDS + r"(?:sudo\s+)?(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*"
    r"(?:(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*install|apk\s+(?:-\S+\s+)*add|"
    r"(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*install)\b"
)
_BUILD_PACKAGE = re.compile(
    r"gcc(?:-\d+)?|g\+\+(?:-\d+)?|clang(?:-\d+)?|make|cmake|build-essential|build-base|"
    r"golang(?:-go)?|rustc|cargo|openjdk-\d+-jdk(?:-headless)?|java-\S*-devel|musl-dev|.+-dev|.+-devel|"
    r"(?:gcc-)?c\+\+|automake|autoconf|libtool"
)
_NPM_DEV_INSTALL = re.compile(
    r"\bnpm\s+(?:ci|install|i)\b(?![^;&|]*(?:--(?:omit=dev|only=prod\w*|production)|\s(?:-g|--global)\b))"
)
"""A project install that brings devDependencies; a global install (`npm install -g ghost-cli`) installs a tool."""
_ARG_REF = r"\$(?:\{{{name}(?::?[-+?][^}}]*)?\}}|{name}\b)"
_SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\||\n")


def _line(instr: DockerfileInstruction) -> Location:
    return Location(line=instr.start_line, instruction=instr.original.split("\n", 1)[0][:200])


def guess_os(base: str) -> OsRelease | None:
    """The distribution a base image reference most likely holds, from its name and tag."""
    ref = base.lower()
    name = ref.split("@", 1)[0]
    if "distroless" in name:
        return OsRelease(id="distroless")
    if name == "scratch":
        return OsRelease(id="scratch")
    if "alpine" in name:
        return OsRelease(id="alpine")
    if re.search(r"\b(ubi\d*|centos|rockylinux|almalinux|fedora|amazonlinux|oraclelinux)\b", name):
        return OsRelease(id="rhel")
    if re.search(r"\b(ubuntu)\b", name):
        return OsRelease(id="ubuntu")
    if "busybox" in name:
        return OsRelease(id="busybox")
    if re.search(r"\b(debian|bookworm|bullseye|trixie|slim|python|node|ruby|golang|openjdk|php|perl)\b", name):
        # The official language images are Debian-based unless their tag says alpine.
        return OsRelease(id="debian")
    return None


def _split_ref(ref: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: -len(tag) - 1]
    return name, tag, digest or None


def _pin_fix(name: str, tag: str | None) -> Fix:
    version = tag if tag and tag != "latest" else "<version>"
    return dockerfile_fix(
        "Pin the base image to a version tag and its digest (Renovate or Dependabot keep both current).",
        f"FROM {name}:{version}@sha256:<digest>\n# digest: docker buildx imagetools inspect {name}:{version}",
    )


def _from_instructions(facts: DockerfileFacts) -> dict[int, DockerfileInstruction]:
    return {i.stage: i for i in facts.instructions if i.cmd == "FROM"}


@rule(
    id="DA603",
    slug="unpinned-base",
    title="Base image not pinned",
    severity=Severity.MEDIUM,
    scope=Scope.DOCKERFILE,
    section=Section.PINNING.value,
    rationale=(
        "An untagged or `latest` base changes under the build without notice; a tag can still be moved, "
        "only a digest makes the build reproducible."
    ),
    references=("seed Pin tags", "DL3006", "DL3007", "DS-0001"),
    fix=lambda f, c: dockerfile_fix(
        "Pin the base image to a version tag and its digest (Renovate/Dependabot keep it current).",
        "FROM debian:12.8-slim@sha256:<digest>  # docker buildx imagetools inspect debian:12.8-slim",
    ),
)
def unpinned_base(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """A FROM without a tag or with `latest` (medium), or without a digest (low)."""
    froms = _from_instructions(facts)
    names: set[str] = set()
    hits = []
    for stage in facts.stages:
        base = stage.base
        instr = froms.get(stage.index)
        location = _line(instr) if instr else Location(line=stage.from_line)
        if base.lower() == "scratch" or base.lower() in names or "$" in base:
            # Earlier stages and scratch need no pin; an unresolved build arg is decided at build time.
            pass
        else:
            name, tag, digest = _split_ref(base)
            fix = _pin_fix(name, tag)
            if digest is None and tag is None:
                hits.append(Hit(f"FROM {base} has no tag (means latest) and no digest", location, fix=fix))
            elif digest is None and tag == "latest":
                hits.append(Hit(f"FROM {base} uses the latest tag", location, fix=fix))
            elif digest is None:
                hits.append(
                    Hit(f"FROM {base} is pinned by tag only, not by digest", location, severity=Severity.LOW, fix=fix)
                )
        if stage.name:
            names.add(stage.name.lower())
    return hits


def _run_text(instr: DockerfileInstruction) -> str:
    return instr.original.partition(" ")[2] if instr.cmd == "RUN" else ""


_REMOVE = re.compile(
    r"^\s*" + _KEYWORDS + r"(?:sudo\s+)?(?:(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*(?:purge|remove|autoremove)|"
    r"apk\s+(?:-\S+\s+)*del|(?:yum|dnf|microdnf)\s+(?:-\S+\s+)*(?:remove|erase|autoremove))\b"
)
_APT_MARK_ALL_AUTO = re.compile(
    r"\bapt-mark\s+auto\s+['\"]?\.\*['\"]?|\bapt-mark\s+showmanual\s*\|\s*xargs\s+(?:-r\s+)?apt-mark\s+auto\b"
)
"""Every package marked automatic (`apt-mark auto '.*'`, or postgres' `apt-mark showmanual | xargs apt-mark auto`)."""
_APT_AUTOREMOVE = re.compile(
    r"\bapt(?:-get)?\s+(?:\S+\s+)*?(?:purge|remove)\b[^;&|\n]*--auto-remove|\bapt(?:-get)?\s+[^;&|\n]*\bautoremove\b"
)
_NPM_PRUNE = re.compile(r"\bnpm\s+prune\b[^;&|]*--(?:omit=dev|production)")
_VIRTUAL = frozenset({"--virtual", "-t"})


def _segments(text: str) -> list[str]:
    return _SEGMENT_SPLIT.split(text.replace("\\\n", " "))


def _virtual_group(words: Sequence[str]) -> str | None:
    """The apk virtual group (`--virtual .build-deps`, `--virtual=build-dependencies`, `-t NAME`) of an install."""
    for i, word in enumerate(words):
        if word in _VIRTUAL and i + 1 < len(words):
            return words[i + 1].strip("'\"")
        name, eq, value = word.partition("=")
        if eq and name in _VIRTUAL:
            return value.strip("'\"")
    return None


def _installed(text: str) -> list[tuple[str, str | None]]:
    """(package, apk virtual group or None) of every package the RUN installs by name."""
    packages: list[tuple[str, str | None]] = []
    for segment in _segments(text):
        m = _INSTALL.match(segment)
        if m is None:
            continue
        words = segment[m.end() :].split()
        virtual = _virtual_group(words)
        skip = False
        for word in words:
            if skip:
                skip = False
                continue
            if word in _VIRTUAL:
                skip = True
                continue
            if word.startswith(("-", "$")) or word == "\\":
                continue
            packages.append((word.split("=", 1)[0], virtual))
    return packages


def _removed(text: str) -> tuple[set[str], bool]:
    """Packages and apk virtual groups the RUN removes again, and whether apt purges all it installed.

    The official images' idiom `apt-mark auto '.*' ... apt-get purge -y --auto-remove` removes every package
    the RUN installed that was not marked manual before it.
    """
    removed: set[str] = set()
    for segment in _segments(text):
        m = _REMOVE.match(segment)
        if m is not None:
            removed |= {w.split("=", 1)[0].strip("'\"") for w in segment[m.end() :].split() if not w.startswith("-")}
    purge_all = bool(_APT_MARK_ALL_AUTO.search(text) and _APT_AUTOREMOVE.search(text))
    return removed, purge_all


def _group_removed(virtual: str | None, removed: set[str]) -> bool:
    """Whether the apk virtual group is deleted again: by name, or both kept in variables (ghost's
    `apk add --virtual "$virtual" ...; apkDel="$apkDel $virtual"; ...; apk del $apkDel`)."""
    if virtual is None:
        return False
    return virtual in removed or ("$" in virtual and any("$" in word for word in removed))


def _build_tools(instr: DockerfileInstruction) -> list[str]:
    """Build tools a RUN installs and leaves in the layer (purged in the same RUN, they never ship)."""
    text = _run_text(instr)
    removed, purge_all = _removed(text)
    tools = [
        name
        for name, virtual in _installed(text)
        if _BUILD_PACKAGE.fullmatch(name)
        and name not in removed
        and not _group_removed(virtual, removed)
        and not purge_all
    ]
    if _NPM_DEV_INSTALL.search(text) and not _NPM_PRUNE.search(text):
        tools.append("npm dev dependencies")
    return list(dict.fromkeys(tools))


def _multistage_fix(facts: DockerfileFacts, ctx: RuleContext) -> Fix:
    base = facts.stages[0].base if facts.stages else "<base>"
    return dockerfile_fix(
        "Split into a build stage and a minimal runtime stage.",
        f"FROM {base} AS build\nRUN <install build tools and build>\n\n"
        "FROM gcr.io/distroless/base-debian12:nonroot\nCOPY --from=build /app /app",
    )


@rule(
    id="DA604",
    slug="single-stage-build",
    title="Single-stage build installs build tools",
    severity=Severity.MEDIUM,
    scope=Scope.DOCKERFILE,
    section=Section.MINIMAL_BASE.value,
    rationale=(
        "With one stage, the compilers and headers needed to build ship in the runtime image; a "
        "multi-stage build copies only the result into a minimal base."
    ),
    references=("seed Multi-stage builds",),
    fix=_multistage_fix,
)
def single_stage_build(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """One stage that installs compilers, build-essential, -dev packages or npm dev dependencies."""
    if len(facts.stages) != 1:
        return []
    # One flaw per stage, however many RUNs install tools: the fix (a build stage) is one edit. The finding
    # sits on the first installing RUN and its evidence names every RUN's tools with its line.
    installs = [(instr, tools) for instr in facts.instructions if instr.cmd == "RUN" and (tools := _build_tools(instr))]
    if not installs:
        return []
    parts = [f"{', '.join(tools)} (line {instr.start_line})" for instr, tools in installs]
    if len(parts) == 1:
        parts = [", ".join(installs[0][1])]
    evidence = f"the only stage installs {'; '.join(parts)}"
    runtime = runtime_of(facts)
    if runtime.base_image is not None:
        # A base image's build tools are for the images built from it (a `pip install` of a C extension, `make`):
        # it cannot split itself, the images built from it can.
        return [
            _advice(
                f"{evidence}; a base image ({runtime.base_image}): the images built from it should build in a stage "
                "of their own and copy the result into a slim runtime stage",
                _line(installs[0][0]),
            )
        ]
    return [Hit(evidence, _line(installs[0][0]))]


def _pair_names(instr: DockerfileInstruction) -> list[str]:
    if instr.cmd == "ARG":
        return [v.split("=", 1)[0] for v in instr.value]
    if instr.cmd == "ENV":
        return list(instr.value[0::2])
    return []


def _secret_arg_names(facts: DockerfileFacts, allow: Sequence[str]) -> set[str]:
    return {
        v.name
        for v in (*facts.build_args, *facts.env)
        if secret_name_word(v.name) is not None and not is_allowlisted(v.name, v.value, allow)
    }


@rule(
    id="DA605",
    slug="secret-in-arg-or-env",
    title="Secret in ARG or ENV",
    severity=Severity.CRITICAL,
    scope=Scope.DOCKERFILE,
    section=Section.SECRETS.value,
    rationale=(
        "ARG defaults and ENV values are stored in the image's history and config; build args used in RUN "
        "are recorded too. BuildKit secret mounts leave nothing behind."
    ),
    references=("seed BuildKit secret mounts", "DS-0031"),
    fix=lambda f, c: dockerfile_fix(
        "Pass the secret as a BuildKit secret mount (docker build --secret id=token,env=TOKEN).",
        "RUN --mount=type=secret,id=token TOKEN=$(cat /run/secrets/token) <command>",
    ),
)
def secret_in_arg_or_env(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """An ARG/ENV with a secret-named key and a value, or a RUN that uses a secret-named ARG."""
    allow = tuple(getattr(ctx.settings, "allow_secret_names", ()))
    secrets = {(v.name, v.value): v for v in (*facts.build_args, *facts.env) if v.secret is not None}
    by_name = {name: v for (name, _), v in secrets.items()}
    hits = []
    for instr in facts.instructions:
        for name in _pair_names(instr):
            value = by_name.get(name)
            if value is not None and value.secret is not None and value.value:
                hits.append(Hit(f"{instr.cmd} {name}={value.value} ({value.secret.detail})", _line(instr)))
    declared = {v.name for v in facts.build_args}
    for name in sorted(_secret_arg_names(facts, allow) & declared):
        ref = re.compile(_ARG_REF.format(name=re.escape(name)))
        for instr in facts.instructions:
            if instr.cmd == "RUN" and ref.search(_run_text(instr)):
                hits.append(Hit(f"RUN uses ${name} instead of a --mount=type=secret", _line(instr)))
            elif instr.cmd == "ENV" and any(ref.search(v) for v in instr.value[1::2]):
                hits.append(Hit(f"ENV copies the build arg ${name} into the image's config", _line(instr)))
    return hits


def _user_fix(facts: DockerfileFacts, ctx: RuleContext) -> Fix:
    runtime = runtime_of(facts)
    existing = next((a for a in runtime.accounts if a.uid is not None), None)
    if existing is not None:
        ids = f"{existing.uid}:{existing.gid}" if existing.gid is not None else str(existing.uid)
        return Fix(
            summary=f"Switch to the existing unprivileged user {existing.name} ({existing.origin}) by number.",
            dockerfile=f"USER {ids}",
            compose=compose_service({"user": ids}),
            run=f"--user {ids}",
        )
    return Fix(
        summary="Create an unprivileged user in the final stage and switch to it with a numeric UID.",
        dockerfile=create_user_dockerfile(guess_os(runtime.base)),
        compose=compose_service({"user": "10001:10001"}),
        run="--user 10001:10001",
    )


def _runtime_chain(facts: DockerfileFacts) -> list[tuple[DockerfileInstruction, ...]]:
    """Instructions of the runtime stage, then of each earlier stage it is built `FROM`, nearest first."""
    chain = runtime_of(facts).chain or ((facts.stages[-1].index,) if facts.stages else ())
    return [tuple(i for i in facts.instructions if i.stage == index) for index in chain]


def _inherited(facts: DockerfileFacts, cmd: str) -> list[DockerfileInstruction]:
    """`cmd` instructions that apply to the runtime image: its stage's, else the nearest parent stage's."""
    for instructions in _runtime_chain(facts):
        found = [i for i in instructions if i.cmd == cmd]
        if found:
            return found
    return []


def _runtime_from(facts: DockerfileFacts) -> tuple[DockerfileStage, Location]:
    index = runtime_of(facts).stage
    stage = next((s for s in facts.stages if s.index == index), facts.stages[-1])
    instr = _from_instructions(facts).get(stage.index)
    return stage, _line(instr) if instr else Location(line=stage.from_line)


def _advice(evidence: str, location: Location) -> Hit:
    """A finding that is advice, not a flaw of this image: it does not count towards the grade."""
    return Hit(evidence, location, severity=Severity.INFO)


@rule(
    id="DA606",
    slug="no-user-instruction",
    title="Final stage runs as root",
    severity=Severity.HIGH,
    scope=Scope.DOCKERFILE,
    section=Section.NON_ROOT.value,
    rationale=(
        "Without a USER the image runs as root unless every runtime remembers --user; the Dockerfile is "
        "the one place to make non-root the default. Images whose entrypoint drops privileges itself (gosu, "
        "su-exec, setpriv...) and base images (ONBUILD, no command of their own) get advice instead."
    ),
    references=("DL3002", "DS-0002"),
    fix=_user_fix,
)
def no_user_instruction(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """The runtime stage runs as root: no USER (and no non-root user from its base), or a USER that is root."""
    runtime = runtime_of(facts)
    if runtime.stage is None:
        return Skip(runtime.stage_reason)
    user = runtime.user
    if user.root is False:
        return []
    users = _inherited(facts, "USER")
    stage, location = _runtime_from(facts)
    if users and user.line is not None:
        location = _line(next((u for u in users if u.start_line == user.line), users[-1]))
    if user.line is None:
        evidence = f"the final stage (FROM {stage.base}) has no USER instruction"
        if runtime.base_known is not None:
            evidence += f"; {user.detail}"
    elif user.detail and user.root:
        evidence = f"the last USER resolves to root: {user.detail}"
    else:
        evidence = f"the last USER is {user.written or 'empty'} (root)"
    if runtime.windows is not None:
        return [_advice(f"{evidence}; a Windows image ({runtime.windows}): use USER ContainerUser", location)]
    if runtime.base_image is not None:
        return [
            _advice(
                f"{evidence}; a base image ({runtime.base_image}): it stays root so the images built from it can "
                "install packages, and those images should end with their own non-root USER",
                location,
            )
        ]
    if runtime.drop is not None:
        to = runtime.drop.user or "an unprivileged user"
        return [
            _advice(
                f"{evidence}, but it drops to {to} at run time: {runtime.drop.tool} in {runtime.drop.where}",
                location,
            )
        ]
    if user.root is None:
        return [Hit(f"{user.detail}: without it the image runs as root", location, severity=Severity.LOW)]
    return [Hit(evidence, location)]


@rule(
    id="DA607",
    slug="shell-form-cmd",
    title="CMD or ENTRYPOINT in shell form",
    severity=Severity.MEDIUM,
    scope=Scope.DOCKERFILE,
    section=Section.PID1.value,
    rationale=(
        "Shell form runs the command under `/bin/sh -c`, which becomes PID 1 and does not forward SIGTERM: "
        "the app is killed instead of shut down."
    ),
    references=("DL3025",),
    fix=lambda f, c: dockerfile_fix(
        "Use the exec (JSON) form.",
        'CMD ["python", "app.py"]  # each argument a separate string',
    ),
)
def shell_form_cmd(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """A CMD or ENTRYPOINT of the final stage is in shell form and its shell does not `exec` the program (`CMD exec
    java $OPTS -jar app.jar` is Docker's documented idiom: the program replaces the shell as PID 1)."""
    return [
        Hit(f"{i.cmd} is in shell form: {i.original}", _line(i), fix=_exec_form_fix(i))
        for i in facts.final_stage()
        if i.cmd in ("CMD", "ENTRYPOINT") and not i.json_form and not execs_last(" ".join(i.value))
    ]


def _exec_form_fix(instr: DockerfileInstruction) -> Fix:
    command = " ".join(instr.value)
    try:
        words = shlex.split(command)
    except ValueError:
        words = []
    if not words or any(c in command for c in "|&;<>$`*"):
        # Pipes, redirections and expansions need a shell: keep it, but let `exec` make the app PID 1.
        script = "COPY --chmod=755 start.sh /start.sh  # start.sh ends with: exec <app>\n"
        return dockerfile_fix(
            "Move the shell logic into a script that `exec`s the app.", f'{script}{instr.cmd} ["/start.sh"]'
        )
    return dockerfile_fix(
        "Use the exec (JSON) form so the app is PID 1 and gets SIGTERM.", f"{instr.cmd} {json.dumps(words)}"
    )


def _healthcheck_fix(facts: DockerfileFacts, ctx: RuleContext) -> Fix:
    runtime = runtime_of(facts)
    port = runtime.http_port or 8080
    return dockerfile_fix(
        "Add a HEALTHCHECK to the final stage that probes the app with a tool the image has.",
        healthcheck_snippet(guess_os(runtime.base), port),
    )


@rule(
    id="DA608",
    slug="no-healthcheck-instruction",
    title="No HEALTHCHECK",
    severity=Severity.MEDIUM,
    scope=Scope.DOCKERFILE,
    section=Section.HEALTHCHECK.value,
    rationale=(
        "Without a HEALTHCHECK, Docker and Compose cannot tell a hung app from a working one; a HEALTHCHECK "
        "that calls a tool the image does not have never passes, which is worse: the container is always unhealthy."
    ),
    references=("DS-0026",),
    fix=_healthcheck_fix,
)
def no_healthcheck_instruction(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    """No HEALTHCHECK (or only HEALTHCHECK NONE) in the runtime stage, or one that calls a tool it lacks."""
    runtime = runtime_of(facts)
    if runtime.stage is None:
        return Skip(runtime.stage_reason)
    checks = _inherited(facts, "HEALTHCHECK")
    stage, location = _runtime_from(facts)
    if checks and not (checks[-1].value and checks[-1].value[0].upper() == "NONE"):
        last = checks[-1]
        needed = healthcheck_tools(tuple(last.value[1:]), not last.json_form)
        absent = [t for t in needed if runtime.has_tool(t) is False]
        if absent:
            return [
                Hit(
                    f"the HEALTHCHECK calls {', '.join(absent)}, which the runtime stage (FROM {runtime.base}) does "
                    "not have: the check can never pass",
                    _line(last),
                )
            ]
        return []
    if checks:
        evidence, location = "the final stage disables the healthcheck (HEALTHCHECK NONE)", _line(checks[-1])
    else:
        evidence = f"the final stage (FROM {stage.base}) has no HEALTHCHECK"
    if runtime.base_image is not None:
        return [
            _advice(
                f"{evidence}; a base image ({runtime.base_image}): the images built from it should declare "
                "the HEALTHCHECK for their own app",
                location,
            )
        ]
    return [Hit(evidence, location)]
