"""DA3xx: who may log in and who may write what, from the image's final filesystem: empty passwords, duplicate
user and group IDs, and world-writable paths (writable account and sudoers files above all).
"""

from __future__ import annotations

from collections.abc import Iterable

from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Location, Severity
from dockaudit.rules.filesystem import file_at, final_view, grouped_hits, layer_origin, on_filesystem, remove_fix
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule

_WRITABLE_OK = ("/tmp", "/var/tmp", "/dev")


def _file_location(fact: FileFact) -> Location:
    return Location(layer=fact.layer_index, path=fact.path)


def _text(fact: FileFact | None) -> str | None:
    if fact is None or fact.content is None:
        return None
    return fact.content.decode("utf-8", "replace")


def _missing(fs: FilesystemFacts, path: str) -> Skip | None:
    fact = file_at(fs, path)
    if fact is None:
        return Skip(f"{path} is not in the image (distroless or scratch)")
    if fact.content is None:
        return Skip(f"{path} content was not read")
    return None


@rule(
    id="DA309",
    slug="empty-password",
    title="Account with an empty password",
    severity=Severity.HIGH,
    scope=Scope.FILESYSTEM,
    section=Section.NON_ROOT.value,
    rationale="An account with an empty password lets anyone with a login prompt (su, ssh) become that user.",
    references=("DKL-LI-0001",),
    fix=remove_fix("Lock the account's password.", "RUN passwd -l <user>  # or: usermod -p '!' <user>"),
)
@on_filesystem
def empty_password(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """`/etc/shadow` has an account whose password field is empty."""
    skip = _missing(fs, "/etc/shadow")
    if skip is not None:
        return skip
    shadow = _text(file_at(fs, "/etc/shadow")) or ""
    accounts = [
        line.split(":", 2)[0] for line in shadow.splitlines() if line.count(":") >= 1 and line.split(":")[1] == ""
    ]
    return [Hit(f"/etc/shadow: {name} has an empty password", Location(path="/etc/shadow")) for name in accounts]


def _duplicates(text: str, key_index: int) -> list[str]:
    seen: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > key_index and line and not line.startswith("#"):
            seen[fields[key_index]] = seen.get(fields[key_index], 0) + 1
    return sorted(k for k, n in seen.items() if n > 1)


@rule(
    id="DA310",
    slug="duplicate-ids",
    title="Duplicate user or group IDs",
    severity=Severity.MEDIUM,
    scope=Scope.FILESYSTEM,
    section=Section.NON_ROOT.value,
    rationale="Two accounts with one UID share every file and permission: a second root account hides in plain sight.",
    references=("DKL-LI-0002",),
    fix=remove_fix(
        "Give every account and group a unique ID and name.", "RUN userdel <duplicate> || groupdel <duplicate>"
    ),
)
@on_filesystem
def duplicate_ids(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """`/etc/passwd` has duplicate UIDs or names, or `/etc/group` duplicate GIDs or names."""
    passwd, group = file_at(fs, "/etc/passwd"), file_at(fs, "/etc/group")
    if _text(passwd) is None and _text(group) is None:
        return _missing(fs, "/etc/passwd") or Skip("/etc/passwd and /etc/group were not read")
    hits = []
    for fact, what in ((passwd, "user"), (group, "group")):
        text = _text(fact)
        if fact is None or text is None:
            continue
        where, origin = _file_location(fact), layer_origin(fs, fact.layer_index)
        for name in _duplicates(text, 0):
            hits.append(Hit(f"{fact.path}: {what} name {name} appears more than once", where, origin))
        for ident in _duplicates(text, 2):
            hits.append(Hit(f"{fact.path}: {'UID' if what == 'user' else 'GID'} {ident} is used twice", where, origin))
    return hits


def _world_writable(f: FileFact) -> bool:
    if any(f.path == d or f.path.startswith(d + "/") for d in _WRITABLE_OK):
        return False
    if not f.mode & 0o002:
        return False
    if f.type is FileType.FILE:
        return True
    return f.type is FileType.DIR and not f.mode & 0o1000


_ACCOUNT_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/passwd", "/etc/group")


_ARBITRARY_UID_FILES = ("/etc/passwd", "/etc/group")


def _account_file(f: FileFact) -> bool:
    return f.path in _ACCOUNT_FILES or f.path == "/etc/sudoers.d" or f.path.startswith("/etc/sudoers.d/")


def _account_hits(fs: FilesystemFacts, files: Iterable[FileFact]) -> list[Hit]:
    """Group- or world-writable account and sudoers files: high, or medium for OpenShift's group-0 passwd."""
    hits = []
    for f in files:
        if f.type not in (FileType.FILE, FileType.DIR) or not _account_file(f) or not f.mode & 0o022:
            continue
        mode = f"{f.mode & 0o7777:04o}"
        where, origin = _file_location(f), layer_origin(fs, f.layer_index)
        if f.mode & 0o002:
            hits.append(Hit(f"{f.path} ({mode}) is writable by every user", where, origin, Severity.HIGH))
        elif f.path in _ARBITRARY_UID_FILES and f.gid == 0:
            text = (
                f"{f.path} ({mode}) is writable by group 0: the arbitrary-UID pattern OpenShift documents "
                "(`chmod g=u`); any process in the root group can add a UID 0 account"
            )
            hits.append(Hit(text, where, origin, Severity.MEDIUM))
        else:
            hits.append(Hit(f"{f.path} ({mode}) is writable by group {f.gid}", where, origin, Severity.HIGH))
    return hits


@rule(
    id="DA311",
    slug="world-writable",
    title="World-writable files or directories",
    severity=Severity.LOW,
    scope=Scope.FILESYSTEM,
    section=Section.READ_ONLY_ROOTFS.value,
    rationale=(
        "Any user in the container can modify a world-writable file, such as a script a root process later runs. "
        "A group- or world-writable /etc/passwd, /etc/shadow, /etc/group or sudoers hands out root (high)."
    ),
    references=(),
    fix=remove_fix(
        "Remove write permission for others (and give the app user ownership of the paths it writes).",
        "RUN chmod -R o-w /app",
    ),
)
@on_filesystem
def world_writable(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """World-writable paths outside /tmp, /var/tmp, /dev (dirs without sticky bit); writable account files."""
    files = final_view(fs).files
    accounts = _account_hits(fs, files)
    found = [f for f in files if _world_writable(f) and not _account_file(f)]
    return accounts + grouped_hits(fs, found, lambda f: f"{f.path} ({f.mode & 0o7777:04o})", "world-writable paths")
