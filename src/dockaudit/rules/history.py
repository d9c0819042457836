"""DA2xx (and DA609): what an image's build history records: build args, credentials and passwords typed into
RUN, ADD sources and committed layers (`docker image history --no-trunc`, or a Dockerfile's own steps).
"""

from __future__ import annotations

import re

from dockaudit.command_secrets import PASSWORD_KINDS
from dockaudit.facts.filesystem import FileType
from dockaudit.facts.image import HistoryEntry, ImageFacts, NamedValue
from dockaudit.lazy_pattern import LazyPattern
from dockaudit.model import Fix, Origin, Severity
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule
from dockaudit.rules.steps import run_steps
from dockaudit.secrets import classify_pair, has_redaction, is_allowlisted, is_secret_name

_BUILDER_COMMENTS = frozenset({"buildkit.dockerfile.v0", "buildkit.exporter.image.v0"})
_ARCHIVE = LazyPattern(r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma)$", re.I)
_URL = LazyPattern(r"^(?:https?|ftp)://", re.I)


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

_ARG_REF = LazyPattern(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


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
    for step in run_steps(facts):
        # Literal passwords are DA609's (critical); the other credentials of the same step stay here.
        found = [m.detail for m in step.secrets if m.kind not in PASSWORD_KINDS]
        if not step.secrets and has_redaction(step.body):
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


# --------------------------------------------------------------------------------------------- DA609


def _fix_literal_password(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Never set a password in the build: accounts in an image need none (lock them, or use keys); a client "
            "password comes from a BuildKit secret at build time or the environment at run time. Rotate the one "
            "that leaked: every pull of the image carries it."
        ),
        dockerfile=(
            "RUN useradd --system --uid 10001 --no-create-home app  # no password: the account is locked\n"
            "RUN --mount=type=secret,id=db_password \\\n"
            "    MYSQL_PWD=$(cat /run/secrets/db_password) mysql -uroot < /seed.sql"
        ),
        run="DOCKER_BUILDKIT=1 docker build --secret id=db_password,env=DB_PASSWORD .",
    )


@rule(
    id="DA609",
    slug="literal-password-in-run",
    title="Literal password in a RUN command",
    severity=Severity.CRITICAL,
    scope=Scope.HISTORY,
    section=Section.SECRETS,
    rationale=(
        "A password typed into a RUN (`chpasswd`, `passwd --stdin`, `useradd -p`, `openssl passwd`, "
        "`mysql -p...`, `PGPASSWORD=...`) is stored verbatim in the image history, and a fixed account password "
        "or hash is the same in every container started from the image."
    ),
    references=('seed "Never bake secrets in"', "CIS 4.10", "CKV2_DOCKER_17"),
    fix=_fix_literal_password,
)
def literal_password_in_run(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A RUN sets an account password from a literal, or passes a literal password to a client."""
    hits: list[Hit] = []
    for step in run_steps(facts):
        found = [m for m in step.secrets if m.kind in PASSWORD_KINDS]
        if found:
            what = ", ".join(dict.fromkeys(m.detail for m in found))
            hits.append(Hit(f"{step.where}: {what}: {step.shown}", step.location, step.origin))
    return hits


# --------------------------------------------------------------------------------------------- DA203/204

_LEGACY_ADD = LazyPattern(r"^(file|dir|multi):(\S+) in (\S+)")


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
    # Sources may be quoted (`ADD --chmod=755 "https://..." /init`): judge them without their quotes.
    sources = [w.strip("'\"") for w in words[:-1]]
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


# --------------------------------------------------------------------------------------------- DA211


_BUILDAH_FROM = LazyPattern(r"FROM \S+")
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
