"""DA205-DA208, DA212, DA214: how RUN steps use package managers (caches, upgrades, pins, signature checks)."""

from __future__ import annotations

import re

from dockaudit.facts.image import HistoryEntry, ImageFacts
from dockaudit.lazy_pattern import LazyPattern
from dockaudit.model import Fix, Severity
from dockaudit.rules import fixes
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, rule
from dockaudit.rules.shell import Command, commands
from dockaudit.rules.steps import hits_per_command, run_steps


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
    for step in run_steps(facts):
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
    return hits_per_command(facts, _upgrade)


def _fix_cache(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Remove package manager caches in the same RUN that creates them (or use a cache mount).",
        dockerfile=(
            fixes.install_snippet(fixes.image_os(facts), ["ca-certificates"])
            + "\nRUN pip install --no-cache-dir -r requirements.txt\nRUN npm ci && npm cache clean --force"
        ),
    )


_MOUNT_TARGET = LazyPattern(r"(?:^|,)(?:target|dst|destination)=([^,]+)")
_CACHE_DIRS: dict[str, tuple[str, ...]] = {
    "apt": ("/var/lib/apt/lists",),
    "apk": ("/var/cache/apk", "/etc/apk/cache"),
    "pip": ("~/.cache/pip",),
    "npm": ("~/.npm",),
    "yarn": ("/usr/local/share/.cache/yarn", "~/.cache/yarn", "~/.yarn/cache"),
}
"""Where each tool keeps its cache; `~` is any user's home (`/root`, `/home/app`, `$HOME`)."""
_HOME = LazyPattern(r"^(?:/root|/home/[^/]+|~|\$HOME|\$\{HOME\})(?=/|$)")


def _mount_targets(step: HistoryEntry) -> list[str]:
    """Targets of the step's cache and tmpfs mounts: what they hold never reaches the layer."""
    targets: list[str] = []
    for flag in step.flags:
        if not flag.startswith("--mount=") or not re.search(r"(?:^|[=,])type=(?:cache|tmpfs)\b", flag):
            continue
        m = _MOUNT_TARGET.search(flag.removeprefix("--mount="))
        if m is not None:
            targets.append(m.group(1).strip("\"'").rstrip("/") or "/")
    return targets


def _covers(mounted: str, path: str) -> bool:
    return mounted == "/" or path == mounted or path.startswith(mounted + "/")


def _mounted(step: HistoryEntry, cache: str) -> bool:
    """Whether a cache or tmpfs mount of the step holds `cache`'s directory (the directory or a parent)."""
    for target in _mount_targets(step):
        in_home = _HOME.sub("~", target)
        for path in _CACHE_DIRS[cache]:
            if _covers(in_home if path.startswith("~") else target, path):
                return True
    return False


_APT_LISTS_REMOVED = LazyPattern(
    r"rm\s+(?:-\S+\s+)*[^;&|]*/var/lib/apt/lists|\bapt(?:-get)?\s+(?:-\S+\s+)*dist-clean\b"
)
_TRUTHY = LazyPattern(r"(?i)^(?:1|true|yes|on|off)$")
"""`PIP_NO_CACHE_DIR` disables the cache for any of these (pip reads `off` as "no cache" too)."""


def _pip_cache_off(step: HistoryEntry, env: dict[str, str]) -> bool:
    inline = re.search(r"(?:^|[\s;&|])(?:export\s+)?PIP_NO_CACHE_DIR=[\"']?(\w+)", step.body)
    value = inline.group(1) if inline is not None else env.get("PIP_NO_CACHE_DIR", "")
    return bool(_TRUTHY.match(value.strip("\"'")))


def _cache_reasons(step: HistoryEntry, env: dict[str, str]) -> list[str]:
    body = step.body
    cmds = commands(body)
    reasons: list[str] = []
    apt = any(c.name in ("apt-get", "apt") and _is_install(c) for c in cmds)
    # `apt-get dist-clean` (apt 2.7+) removes the lists as `rm -rf /var/lib/apt/lists/*` does.
    if apt and not _APT_LISTS_REMOVED.search(body) and not _mounted(step, "apt"):
        reasons.append("apt install without removing /var/lib/apt/lists")
    apk_cleaned = re.search(r"rm\s+(?:-\S+\s+)*[^;&|]*/var/cache/apk", body) or _mounted(step, "apk")
    for c in cmds:
        # `--no-network` installs from what is already on disk: nothing is downloaded, nothing cached.
        apk_add = c.name == "apk" and _subcommand(c) == "add" and not {"--no-cache", "--no-network"} & set(c.args)
        if apk_add and not apk_cleaned:
            reasons.append("apk add without --no-cache")
        pip_ok = any(map(names_no_cache_dir, c.args)) or _mounted(step, "pip") or _pip_cache_off(step, env)
        if _is_pip_install(c) and not pip_ok:
            reasons.append("pip install without --no-cache-dir")
    rpm = any(c.name in ("yum", "dnf", "microdnf") and _is_install(c) for c in cmds)
    rpm_cleaned = re.search(
        r"\b(?:yum|dnf|microdnf)\s+clean\s+all|rm\s+(?:-\S+\s+)*[^;&|]*/var/cache/(?:yum|dnf)", body
    )
    if rpm and not rpm_cleaned:
        reasons.append(f"{next(c.name for c in cmds if _is_install(c))} install without `clean all`")
    npm = [c for c in cmds if c.name in ("npm", "yarn") and _subcommand(c) in ("install", "ci", "i", "add")]
    if npm and not re.search(r"\b(?:npm|yarn)\s+cache\s+clean", body) and not _mounted(step, npm[0].name):
        reasons.append(f"{npm[0].name} {_subcommand(npm[0])} without `{npm[0].name} cache clean`")
    return list(dict.fromkeys(reasons))


def names_no_cache_dir(arg: str) -> bool:
    """`--no-cache-dir`, or an abbreviation pip's option parser expands to it (`--no-cache`): a prefix of it long
    enough not to be `--no-clean`, `--no-color` or `--no-compile`."""
    return arg.startswith("--no-ca") and "--no-cache-dir".startswith(arg)


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
    env = {v.name: v.value for v in facts.config.env}
    for step in run_steps(facts):
        reasons = _cache_reasons(step, env)
        if reasons:
            hits.append(Hit(f"{step.where}: {'; '.join(reasons)}: {step.shown}", step.location, step.origin))
    return hits


def _fix_recommends(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary="Install only the packages you name: add --no-install-recommends.",
        dockerfile=fixes.install_snippet(fixes.image_os(facts), ["ca-certificates"]),
    )


_RECOMMENDS_HOLDER = LazyPattern(r"\b([A-Za-z_]\w*)=[\"']?--no-install-recommends\b")
"""A shell variable the RUN sets to --no-install-recommends."""


def _recommends(step: HistoryEntry, command: Command) -> str | None:
    if command.name not in ("apt-get", "apt") or _apt(command) != "install":
        return None
    joined = " ".join(command.args)
    if "--no-install-recommends" in command.args or re.search(r"Install-Recommends=(?:false|0|no)", joined, re.I):
        return None
    # `opts="--no-install-recommends" && apt-get install -y $opts ...` (CircleCI's images choose it per release).
    holders = {m.group(1) for m in _RECOMMENDS_HOLDER.finditer(step.body)}
    if any(arg.strip('{}$"') in holders for arg in command.args if arg.startswith(("$", '"$'))):
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
    return hits_per_command(facts, _recommends)


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
    return hits_per_command(facts, _pin)


# --------------------------------------------------------------------------------------------- DA214

_APT_UNSIGNED = ("--allow-unauthenticated", "--allow-insecure-repositories", "--force-yes")
_APT_UNSIGNED_OPTION = LazyPattern(
    r"(?i)APT::Get::AllowUnauthenticated\s*=?\s*[\"']?(?:true|1|yes)|Acquire::AllowInsecureRepositories\s*[\"']?\s*=?\s*[\"']?(?:true|1|yes)"
)
# `deb [trusted=yes] https://repo.example.com/apt/ /`: apt accepts the repository's packages unsigned.
_TRUSTED_SOURCE = LazyPattern(
    r"\bdeb(?:-src)?\s+\[[^\]]*\b(?:trusted|allow-insecure|allow-weak)=yes\b[^\]]*\]\s+(?P<url>(?:https?|ftp)://\S+)"
)
_TRUSTED_DEB822 = LazyPattern(r"(?im)^\s*Trusted:\s*yes\b")
_RPM_UNSIGNED = ("--nosignature", "--nodigest", "--noverify", "--nofiledigest")
# `gpgcheck=0` in a .repo (often written by printf with `\n` escapes) or `--setopt=*.gpgcheck=0`.
_GPGCHECK_OFF = LazyPattern(r"(?:(?<![\w.*-])|(?<=\\n))(?:[\w*-]+\.)?gpgcheck\s*=\s*(?:0|false|no)\b", re.IGNORECASE)
_INDEX_FLAGS: dict[str, tuple[str, ...]] = {
    "pip": ("--index-url", "-i", "--extra-index-url", "--find-links", "-f"),
    "npm": ("--registry",),
    "yarn": ("--registry",),
    "pnpm": ("--registry",),
    "gem": ("--source", "-s"),
}
_PLAIN_CONFIG = LazyPattern(
    r"\b(?:pip3?\s+config\s+set\s+global\.(?:extra-)?index-url|npm\s+config\s+set\s+registry|"
    r"yarn\s+config\s+set\s+registry|gem\s+sources\s+(?:-a|--add))\s+[\"']?(?P<url>http://[^\s\"']+)"
)
_TLS_OFF = LazyPattern(
    r"\b(?:npm|yarn)\s+config\s+set\s+strict-ssl\s+false\b|\bGOSUMDB=off\b|\bGOINSECURE=\S|\bGOFLAGS=[^\s;&|]*-insecure"
)
_LOCAL_PACKAGE = LazyPattern(r"^(?:/|\./|\.\./|~/|\$)|\.apk$")


def _plain_index(command: Command) -> str | None:
    """The plain-HTTP index a pip, npm, yarn, pnpm or gem command installs from, if any."""
    tool = "pip" if re.fullmatch(r"pip\d?(?:\.\d+)?", command.name) else command.name
    flags = _INDEX_FLAGS.get(tool)
    if flags is None:
        return None
    args = list(command.args)
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in flags and not eq and i + 1 < len(args):
            value = args[i + 1]
        if name in flags and value.startswith("http://"):
            return value
    return None


def _signature_bypasses(step: HistoryEntry) -> list[tuple[str, bool]]:
    """(what turns verification off, whether only local package files are affected) for one RUN step."""
    body = step.body
    found: list[tuple[str, bool]] = []
    for c in commands(body):
        if c.name in ("apt-get", "apt", "aptitude"):
            flags = [a for a in c.args if a in _APT_UNSIGNED]
            if flags:
                found.append((f"`{c.name} {flags[0]}` installs packages without checking their signatures", False))
        elif c.name == "apk" and "--allow-untrusted" in c.args:
            packages = _package_args(c, _subcommand(c))
            local = bool(packages) and all(_LOCAL_PACKAGE.search(p) for p in packages)
            what = "local package files" if local else "packages"
            found.append((f"`apk --allow-untrusted` installs {what} without a trusted signature", local))
        elif c.name in ("yum", "dnf", "microdnf", "tdnf") and "--nogpgcheck" in c.args:
            found.append((f"`{c.name} --nogpgcheck` installs packages without checking their GPG signatures", False))
        elif c.name == "zypper" and {"--no-gpg-checks", "--no-gpg-check"} & set(c.args):
            found.append(("`zypper --no-gpg-checks` installs packages without checking their signatures", False))
        elif c.name == "rpm" and (flags := [a for a in c.args if a in _RPM_UNSIGNED]):
            found.append((f"`rpm {flags[0]}` installs packages without verifying them", False))
        elif c.name.startswith("pip") and "--trusted-host" in c.args:
            found.append(("`pip --trusted-host` turns certificate checks off for a package index", False))
        url = _plain_index(c)
        if url is not None:
            found.append((f"packages are fetched over plain HTTP from {url}, unverified", False))
    if _APT_UNSIGNED_OPTION.search(body):
        found.append(("apt is configured to accept unauthenticated packages", False))
    for m in _TRUSTED_SOURCE.finditer(body):
        found.append((f"`[trusted=yes]` makes apt accept unsigned packages from {m.group('url')}", False))
    if _TRUSTED_DEB822.search(body) and "/etc/apt/" in body:
        found.append(("a `Trusted: yes` apt source accepts unsigned packages", False))
    if _GPGCHECK_OFF.search(body):
        found.append(("`gpgcheck=0` turns off package signature checks for a yum/dnf repository", False))
    for m in _PLAIN_CONFIG.finditer(body):
        found.append((f"packages are fetched over plain HTTP from {m.group('url')}, unverified", False))
    tls = _TLS_OFF.search(body)
    if tls:
        found.append((f"`{tls.group(0)}` turns off the checks that verify downloaded modules", False))
    return list(dict.fromkeys(found))


def _fix_signatures(facts: ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Keep signature checks on: import the repository's signing key and reference it with `signed-by` "
            "(apt), add the key to /etc/apk/keys (apk) or the repo's gpgkey (yum/dnf), and use HTTPS indexes."
        ),
        dockerfile=(
            "RUN curl -fsSLo /usr/share/keyrings/repo.asc https://repo.example.com/key.asc && \\\n"
            '    echo "deb [signed-by=/usr/share/keyrings/repo.asc] https://repo.example.com/apt stable main" \\\n'
            "      > /etc/apt/sources.list.d/repo.list"
        ),
    )


@rule(
    id="DA214",
    slug="package-signature-bypass",
    title="Package signature or TLS checks turned off",
    severity=Severity.MEDIUM,
    scope=Scope.HISTORY,
    section=Section.SCANNING,
    rationale=(
        "Package managers verify signatures so that a compromised mirror or a network attacker cannot swap a "
        "package. Turning the check off (`--allow-unauthenticated`, `--allow-untrusted`, `[trusted=yes]`, "
        "`--nogpgcheck`, plain-HTTP indexes) runs whatever arrives, as root, in the build."
    ),
    references=("CKV2_DOCKER_4", "CKV2_DOCKER_7", "CKV2_DOCKER_8", "CKV2_DOCKER_9", "CKV2_DOCKER_10"),
    fix=_fix_signatures,
)
def package_signature_bypass(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    """A RUN installs packages with signature or TLS verification turned off, or from a plain-HTTP index."""
    hits: list[Hit] = []
    for step in run_steps(facts):
        found = _signature_bypasses(step)
        if not found:
            continue
        reasons = "; ".join(text for text, _ in found)
        # `apk add --allow-untrusted ./pkg.apk` installs a file the build itself brought in: lower risk.
        severity = Severity.LOW if all(local for _, local in found) else None
        hits.append(Hit(f"{step.where}: {reasons}: {step.shown}", step.location, step.origin, severity))
    return hits
