"""DA3xx: rules over the image's layers as the layer stream read them (final filesystem and history), and the
filesystem view the DA3xx modules share. Accounts and write permissions are judged in `filesystem_accounts`."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Fix, Location, Origin, Severity
from dockaudit.rules.fixes import Family, distro_family, dockerfile_fix, image_os
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule

FilesystemCheck = Callable[[ImageFacts, FilesystemFacts, RuleContext], CheckResult]

_CACHES: tuple[tuple[str, str], ...] = (
    ("/var/lib/apt/lists/", "apt lists"),
    ("/var/cache/apk/", "apk cache"),
    ("/root/.cache/pip/", "pip cache"),
    ("/root/.npm/_cacache/", "npm cache"),
    ("/var/cache/yum/", "yum cache"),
    ("/var/cache/dnf/", "dnf cache"),
)
_BUILD_TOOLS = re.compile(
    r"(?:[a-z0-9_]+-linux-(?:gnu|musl)-)?(?:gcc|g\+\+|c\+\+|cc)(?:-\d+(?:\.\d+)*)?|make|gmake|rustc|cargo|javac|go"
)
_BUILD_TOOL_NAMES = frozenset({"make", "gmake", "rustc", "cargo", "javac", "go"})
_DATABASES = frozenset({"postgres", "mysqld", "mariadbd", "mongod", "redis-server"})
_VCS = frozenset({".git", ".svn", ".hg"})
_SHELLS = ("/bin/sh", "/bin/bash", "/bin/ash", "/bin/dash", "/usr/bin/bash", "/usr/bin/sh", "/bin/busybox")
_PACKAGE_MANAGERS = (
    "/usr/bin/apt-get",
    "/usr/bin/dpkg",
    "/sbin/apk",
    "/usr/bin/yum",
    "/usr/bin/dnf",
    "/usr/bin/microdnf",
    "/usr/bin/rpm",
    "/bin/rpm",
)
_UNNECESSARY_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_SWAP = re.compile(r"\..+\.sw[a-p]|.+~|#.+#")
_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "testdata"})
_THIRD_PARTY = ("/node_modules/", "/site-packages/", "/dist-packages/", "/vendor/")
_MAX_LISTED = 10


class FinalView:
    """The final filesystem of one `FilesystemFacts`, indexed by path; built once per image, not per rule."""

    def __init__(self, fs: FilesystemFacts) -> None:
        self.fs = fs
        self.files = fs.final_files()
        self.by_path = {f.path: f for f in self.files}
        # Programs: links, and regular files with an execute bit.
        self.executables = [
            f
            for f in self.files
            if f.type in (FileType.SYMLINK, FileType.HARDLINK) or (f.type is FileType.FILE and f.mode & 0o111)
        ]


_VIEWS: dict[int, FinalView] = {}


def final_view(fs: FilesystemFacts) -> FinalView:
    view = _VIEWS.get(id(fs))
    if view is None or view.fs is not fs:
        if len(_VIEWS) > 16:
            _VIEWS.clear()
        view = _VIEWS[id(fs)] = FinalView(fs)
    return view


def file_at(fs: FilesystemFacts, path: str) -> FileFact | None:
    return final_view(fs).by_path.get(path)


def on_filesystem(check: FilesystemCheck) -> Callable[[ImageFacts, RuleContext], CheckResult]:
    """Wrap a check so it runs on the read filesystem, or is skipped with the collector's reason."""

    def run(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
        if facts.filesystem is None:
            return Skip(facts.filesystem_skip_reason or "the image's layers were not read")
        result = check(facts, facts.filesystem, ctx)
        if isinstance(result, Skip):
            return result
        # The user's Dockerfile cannot change a base layer: the remedy is another base image.
        return [
            replace(hit, fix=_base_fix(facts)) if hit.origin is Origin.BASE and hit.fix is None else hit
            for hit in result
        ]

    run.__doc__ = check.__doc__
    run.__name__ = check.__name__
    return run


def _base_fix(facts: ImageFacts) -> Fix:
    base = facts.base_image or "the base image"
    family = distro_family(image_os(facts))
    smaller = {
        Family.ALPINE: "alpine:<newer version>",
        Family.DEBIAN: "debian:12-slim or gcr.io/distroless/base-debian12",
        Family.RHEL: "registry.access.redhat.com/ubi9/ubi-micro",
    }.get(family, "a distroless or slim variant")
    return dockerfile_fix(
        f"This comes from {base}, not from your own layers: switch to a base image without it ({smaller}).",
        f"FROM {smaller.split(' or ')[0]}",
    )


def layer_origin(fs: FilesystemFacts, layer_index: int) -> Origin:
    for layer in fs.layers:
        if layer.index == layer_index:
            if layer.from_base is None:
                return Origin.UNKNOWN
            return Origin.BASE if layer.from_base else Origin.USER
    return Origin.UNKNOWN


def _listing(items: list[str], limit: int | None) -> str:
    if limit is None or len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def grouped_hits(
    fs: FilesystemFacts,
    files: Iterable[FileFact],
    describe: Callable[[FileFact], str],
    what: str,
    limit: int | None = _MAX_LISTED,
) -> list[Hit]:
    """One hit per origin (user layers, base image), listing the files."""
    groups: dict[Origin, list[FileFact]] = {}
    for fact in files:
        groups.setdefault(layer_origin(fs, fact.layer_index), []).append(fact)
    hits = []
    for origin in (Origin.USER, Origin.UNKNOWN, Origin.BASE):
        found = groups.get(origin)
        if not found:
            continue
        where = " (from the base image)" if origin is Origin.BASE else ""
        hits.append(
            Hit(
                f"{len(found)} {what}{where}: {_listing([describe(f) for f in found], limit)}",
                Location(layer=found[0].layer_index, path=found[0].path),
                origin=origin,
            )
        )
    return hits


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _executables(fs: FilesystemFacts) -> list[FileFact]:
    return final_view(fs).executables


def _in_bin_dir(path: str) -> bool:
    return _parent(path).endswith(("/bin", "/sbin"))


def remove_fix(summary: str, dockerfile: str) -> Callable[[ImageFacts, RuleContext], Fix]:
    return lambda facts, ctx: dockerfile_fix(summary, dockerfile)


def _multistage_fix(facts: ImageFacts, ctx: RuleContext) -> Fix:
    family = distro_family(image_os(facts))
    runtime = {
        Family.ALPINE: "alpine:3.20",
        Family.DEBIAN: "debian:12-slim",
        Family.RHEL: "registry.access.redhat.com/ubi9/ubi-micro",
    }.get(family, "gcr.io/distroless/static-debian12")
    return dockerfile_fix(
        "Build in one stage and copy only the artefacts into a minimal runtime stage.",
        f"FROM <build image> AS build\nRUN <build the app>\n\nFROM {runtime}\nCOPY --from=build /app /app",
    )


@rule(
    id="DA301",
    slug="setuid-binary",
    title="Setuid or setgid binary",
    severity=Severity.MEDIUM,
    scope=Scope.FILESYSTEM,
    section=Section.NON_ROOT.value,
    rationale=(
        "Setuid and setgid binaries are how an unprivileged process becomes root; an app image rarely "
        "needs any, so each one is attack surface."
    ),
    references=("CIS 4.8", "CIS-DI-0008"),
    fix=remove_fix(
        "Strip the setuid/setgid bits (or allowlist the paths you need in .dockaudit.toml).",
        "RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true",
    ),
)
@on_filesystem
def setuid_binary(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """A regular file in the final filesystem has the setuid or setgid bit, outside the allowlist."""
    allow = tuple(ctx.settings.allow_setuid_paths)
    found = [
        f
        for f in final_view(fs).files
        if f.type is FileType.FILE and f.mode & 0o6000 and not any(fnmatch.fnmatch(f.path, p) for p in allow)
    ]
    return grouped_hits(fs, found, lambda f: f"{f.path} ({f.mode & 0o7777:04o})", "setuid/setgid files", limit=None)


@rule(
    id="DA302",
    slug="secret-file",
    title="Secret file in the image",
    severity=Severity.CRITICAL,
    scope=Scope.FILESYSTEM,
    section=Section.SECRETS.value,
    rationale=(
        "Anyone who can pull the image can read a key or credential file baked into it; secrets belong in "
        "build secret mounts and runtime secrets, never in layers."
    ),
    references=("CIS 4.10", "CIS-DI-0010"),
    fix=remove_fix(
        "Remove the file from the build context (.dockerignore) and pass it as a BuildKit secret or at run time.",
        "RUN --mount=type=secret,id=credentials,target=/root/.aws/credentials <command that needs it>",
    ),
)
@on_filesystem
def secret_file(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """A private key, credential file or `.env` with secret keys is in the final filesystem."""
    return [
        Hit(
            f"{f.path}: {f.secret.detail} (layer {f.layer_index})",
            Location(layer=f.layer_index, path=f.path),
            origin=layer_origin(fs, f.layer_index),
        )
        for f in final_view(fs).files
        if f.secret is not None
    ]


@rule(
    id="DA303",
    slug="secret-in-deleted-layer",
    title="Secret file deleted in a later layer",
    severity=Severity.HIGH,
    scope=Scope.FILESYSTEM,
    section=Section.SECRETS.value,
    rationale=(
        "Deleting a file in a later layer hides it from the final filesystem only: the earlier layer, and "
        "the secret, ship with the image and `docker save` recovers it."
    ),
    references=("seed recoverable from the image's layers",),
    fix=remove_fix(
        "Never add the secret in the first place: use a BuildKit secret mount, then rebuild and rotate the secret.",
        "RUN --mount=type=secret,id=key,target=/root/.ssh/id_rsa <command that needs it>",
    ),
)
@on_filesystem
def secret_in_deleted_layer(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """A secret file exists in an earlier layer and a later layer deletes or overwrites it."""
    return [
        Hit(
            f"{f.path}: {f.secret.detail} in layer {f.layer_index}, "
            f"{'deleted' if f.deleted_later else 'overwritten'} later but still in the image",
            Location(layer=f.layer_index, path=f.path),
            origin=layer_origin(fs, f.layer_index),
        )
        for f in fs.files
        if f.secret is not None and (f.deleted_later or f.replaced_later)
    ]


def _cache_fix(facts: ImageFacts, ctx: RuleContext) -> Fix:
    family = distro_family(image_os(facts))
    snippet = {
        Family.ALPINE: "RUN apk add --no-cache <packages>",
        Family.RHEL: "RUN dnf install -y <packages> && dnf clean all && rm -rf /var/cache/dnf /var/cache/yum",
    }.get(
        family,
        "RUN apt-get update && apt-get install -y --no-install-recommends <packages> && \\\n"
        "    rm -rf /var/lib/apt/lists/*",
    )
    return dockerfile_fix(
        "Clean package caches in the same RUN that fills them (pip: --no-cache-dir; npm: npm cache clean --force).",
        snippet,
    )


@rule(
    id="DA304",
    slug="package-cache-present",
    title="Package manager cache left in the image",
    severity=Severity.LOW,
    scope=Scope.FILESYSTEM,
    section=Section.MINIMAL_BASE.value,
    rationale="Package indexes and download caches are never used at run time; they only make the image bigger.",
    references=("DKL-DI-0005",),
    fix=_cache_fix,
)
@on_filesystem
def package_cache_present(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """A package manager cache directory holds files; evidence gives the bytes wasted."""
    prefixes = tuple(prefix for prefix, _ in _CACHES)
    # One pass over the files, then per cache: images hold hundreds of thousands of paths.
    cached = [
        f
        for f in final_view(fs).files
        if f.path.startswith(prefixes) and f.type is FileType.FILE and _basename(f.path) != "lock"
    ]
    hits = []
    for prefix, label in _CACHES:
        files = [f for f in cached if f.path.startswith(prefix)]
        if files:
            size = sum(f.size for f in files)
            hits.append(
                Hit(
                    f"{prefix} ({label}) holds {len(files)} files, {size} bytes wasted",
                    Location(layer=files[-1].layer_index, path=prefix.rstrip("/")),
                    origin=layer_origin(fs, files[-1].layer_index),
                )
            )
    return hits


@rule(
    id="DA305",
    slug="vcs-metadata",
    title="Version control metadata in the image",
    severity=Severity.MEDIUM,
    scope=Scope.FILESYSTEM,
    section=Section.DOCKERIGNORE.value,
    rationale=(
        "A .git directory carries the whole history, including secrets once committed and removed, and "
        "internal URLs; it usually arrives through `COPY . .` without a .dockerignore."
    ),
    references=("DKL-LI-0003",),
    fix=remove_fix("Exclude VCS directories from the build context.", "# .dockerignore\n.git\n.svn\n.hg"),
)
@on_filesystem
def vcs_metadata(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """A `.git`, `.svn` or `.hg` directory exists anywhere in the final filesystem."""
    roots: dict[str, FileFact] = {}
    for f in final_view(fs).files:
        if "/." not in f.path:
            continue
        parts = f.path.split("/")
        for i, part in enumerate(parts):
            if part in _VCS and (i < len(parts) - 1 or f.type is FileType.DIR):
                roots.setdefault("/".join(parts[: i + 1]), f)
                break
    return [
        Hit(f"{path} is in the image (layer {f.layer_index})", Location(layer=f.layer_index, path=path),
            origin=layer_origin(fs, f.layer_index))
        for path, f in sorted(roots.items())
    ]  # fmt: skip


def _build_tool(f: FileFact) -> bool:
    name = _basename(f.path)
    if name == "cc1" or name == "cc1plus":
        return True
    # Cheap name test before the regex: most files in an image are not even candidates.
    if name not in _BUILD_TOOL_NAMES and "cc" not in name and "++" not in name:
        return False
    return _in_bin_dir(f.path) and bool(_BUILD_TOOLS.fullmatch(name))


def _installed_build_essential(fs: FilesystemFacts) -> str | None:
    dpkg = file_at(fs, "/var/lib/dpkg/status")
    if dpkg is not None and dpkg.content:
        for block in dpkg.content.decode("utf-8", "replace").split("\n\n"):
            if re.search(r"^Package: build-essential$", block, re.M) and re.search(
                r"^Status: install ok installed$", block, re.M
            ):
                return "/var/lib/dpkg/status lists build-essential"
    apk = file_at(fs, "/lib/apk/db/installed")
    if apk is not None and apk.content and re.search(rb"^P:build-base$", apk.content, re.M):
        return "/lib/apk/db/installed lists build-base"
    return None


@rule(
    id="DA306",
    slug="build-tools-present",
    title="Build tools in the final image",
    severity=Severity.MEDIUM,
    scope=Scope.FILESYSTEM,
    section=Section.MINIMAL_BASE.value,
    rationale=(
        "Compilers in a runtime image let an intruder build exploits in place and add hundreds of "
        "megabytes and CVEs; a multi-stage build leaves them in the build stage."
    ),
    references=("seed Multi-stage builds with a minimal runtime base",),
    fix=_multistage_fix,
)
@on_filesystem
def build_tools_present(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """Compilers or build tools (gcc, cc1, make, go, rustc, cargo, javac, build-essential) are present."""
    hits = grouped_hits(fs, [f for f in _executables(fs) if _build_tool(f)], lambda f: f.path, "build tools")
    package = _installed_build_essential(fs)
    if package is not None:
        hits.append(Hit(package, Location(path=package.split(" ", 1)[0])))
    return hits


@rule(
    id="DA307",
    slug="ssh-server-present",
    title="SSH server in the image",
    severity=Severity.MEDIUM,
    scope=Scope.FILESYSTEM,
    section=Section.ONE_PROCESS.value,
    rationale="Containers are entered with `docker exec`; an SSH server adds a daemon, keys and a network door.",
    references=("CIS 5.7",),
    fix=remove_fix(
        "Remove the SSH server; use `docker exec` for access.",
        "RUN apt-get purge -y openssh-server  # or: apk del openssh-server",
    ),
)
@on_filesystem
def ssh_server_present(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """An `sshd` binary is in the image's final filesystem (not in any running process list)."""
    found = [f for f in _executables(fs) if _basename(f.path) == "sshd" and _in_bin_dir(f.path)]
    return grouped_hits(fs, found, lambda f: f.path, "sshd binaries")


def _busybox_applet(fact: FileFact) -> bool:
    # BusyBox's dpkg/rpm applets only unpack archives: they resolve no dependencies and fetch nothing.
    return fact.type in (FileType.SYMLINK, FileType.HARDLINK) and _basename(fact.link_target or "") == "busybox"


def _command_words(facts: ImageFacts) -> set[str]:
    words = [*(facts.config.entrypoint or ()), *(facts.config.cmd or ())]
    return {_basename(w) for word in words for w in word.split()}


@rule(
    id="DA308",
    slug="database-bundled",
    title="Database server bundled with the app",
    severity=Severity.MEDIUM,
    scope=Scope.FILESYSTEM,
    section=Section.ONE_PROCESS.value,
    rationale=(
        "A database inside the app's image couples their lifecycles, loses data with the container and "
        "cannot be scaled or backed up on its own."
    ),
    references=("seed Don't bundle databases",),
    fix=lambda f, c: Fix(
        summary="Run the database as its own service (or a managed database) and connect over the network.",
        compose=(
            "services:\n  app:\n    depends_on: [db]\n"
            "  db:\n    image: postgres:16\n    volumes: [dbdata:/var/lib/postgresql/data]"
        ),
    ),
)
@on_filesystem
def database_bundled(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """A database server binary is present and the image's command is something else."""
    command = _command_words(facts)
    found = [f for f in _executables(fs) if _basename(f.path) in _DATABASES and _basename(f.path) not in command]
    if not found:
        return []
    return grouped_hits(fs, found, lambda f: f.path, "database server binaries")


@rule(
    id="DA312",
    slug="wasted-space",
    title="Space wasted by deleted or overwritten files",
    severity=Severity.LOW,
    scope=Scope.FILESYSTEM,
    section=Section.MINIMAL_BASE.value,
    rationale=(
        "Files deleted or overwritten in a later layer still ship in the earlier one; every pull pays for "
        "them. Do creation and cleanup in the same RUN, or use a multi-stage build."
    ),
    references=("dive wasted space",),
    fix=remove_fix(
        "Remove temporary files in the same RUN that creates them (or copy the result out of a build stage).",
        "RUN <download> && <install> && rm -rf /tmp/*",
    ),
)
@on_filesystem
def wasted_space(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """Bytes deleted or overwritten by later layers exceed both thresholds (10% of the image and 20 MB)."""
    limits = ctx.settings.thresholds
    total = fs.total_size or facts.size
    if total <= 0:
        return []
    share = fs.wasted_bytes / total
    if share > limits.wasted_share and fs.wasted_bytes > limits.wasted_min_mb * 1024 * 1024:
        return [Hit(f"{fs.wasted_bytes} bytes ({share:.0%} of {total}) are deleted or overwritten by later layers")]
    return []


def _app_dir(facts: ImageFacts) -> str | None:
    workdir = facts.config.workdir.rstrip("/")
    return workdir if workdir else None


def _unnecessary(f: FileFact, app: str | None) -> bool:
    name = _basename(f.path)
    if name in _UNNECESSARY_NAMES:
        return True
    if f.type is FileType.FILE and (name[:1] in (".", "#") or name.endswith("~")):
        return bool(_SWAP.fullmatch(name))
    if f.type is FileType.DIR and f.path.endswith("/node_modules/.cache"):
        return True
    if app is None or not f.path.startswith(app + "/") or f.type is not FileType.DIR:
        return False
    inside = f.path[len(app) :] + "/"
    if any(part in inside for part in _THIRD_PARTY):
        return False
    return name == "__pycache__" or name in _TEST_DIRS


@rule(
    id="DA313",
    slug="unnecessary-files",
    title="Unnecessary files in the image",
    severity=Severity.INFO,
    scope=Scope.FILESYSTEM,
    section=Section.DOCKERIGNORE.value,
    rationale="Editor leftovers, caches and test folders add size and sometimes leak information.",
    references=("DKL-LI-0003",),
    fix=remove_fix(
        "Exclude them from the build context.",
        "# .dockerignore\n**/.DS_Store\n**/*.swp\n**/__pycache__\n**/node_modules/.cache\ntests/",
    ),
)
@on_filesystem
def unnecessary_files(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """Editor swap files, OS metadata files, caches and test folders under the app directory."""
    app = _app_dir(facts)
    found = [f for f in final_view(fs).files if _unnecessary(f, app)]
    return grouped_hits(fs, found, lambda f: f.path, "unnecessary files")


@rule(
    id="DA314",
    slug="shell-present",
    title="Shell and package manager present",
    severity=Severity.INFO,
    scope=Scope.FILESYSTEM,
    section=Section.MINIMAL_BASE.value,
    rationale=(
        "A shell and a package manager are what an intruder uses first; distroless or scratch runtime "
        "images have neither."
    ),
    references=("seed distroless: no shell",),
    fix=lambda f, c: dockerfile_fix(
        "Use a distroless (or scratch) runtime stage.",
        "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /app /app",
    ),
)
@on_filesystem
def shell_present(facts: ImageFacts, fs: FilesystemFacts, ctx: RuleContext) -> CheckResult:
    """The final filesystem has both a shell and a package manager."""
    shells = [p for p in _SHELLS if file_at(fs, p) is not None]
    managers = [p for p in _PACKAGE_MANAGERS if (f := file_at(fs, p)) is not None and not _busybox_applet(f)]
    if shells and managers:
        return [Hit(f"shell {shells[0]} and package manager {managers[0]}", Location(path=shells[0]))]
    return []
