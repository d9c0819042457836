"""A fixed-data backend (no engine, no clock) for snapshot tests, screenshots and the benchmark."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dockaudit import __version__
from dockaudit.config import Settings
from dockaudit.errors import EngineError
from dockaudit.facts import (
    ContainerFacts,
    ContainerState,
    FilesystemFacts,
    Healthcheck,
    HistoryEntry,
    HostConfig,
    ImageConfig,
    ImageFacts,
    LayerInfo,
    Mount,
    NamedValue,
    OsRelease,
    PortBinding,
)
from dockaudit.model import (
    DbStatus,
    EngineInfo,
    Finding,
    Fix,
    ImageRef,
    Location,
    Origin,
    Report,
    Severity,
    Source,
    Status,
    TargetKind,
    TargetResult,
    TrivyInfo,
    Vulnerability,
)
from dockaudit.secrets import SecretMatch
from dockaudit.tui.backend import (
    ContainerSummary,
    EngineProblem,
    Hardening,
    ImageSummary,
    Inventory,
    Progress,
    ProgressCallback,
)

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
"""The demo's fixed clock."""

MB = 1000 * 1000
_ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - demo data: a port published on every interface


def _id(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _cid(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@dataclass(frozen=True)
class _DemoImage:
    row: ImageSummary
    result: TargetResult

    @property
    def facts(self) -> ImageFacts:
        """Built on demand: the benchmark's 1,000 images should cost what a real list costs."""
        return _image_facts(self.row.name, self.row.id, self.row.size, self.row.created or NOW)


def _finding(
    rule_id: str,
    slug: str,
    sev: Severity,
    title: str,
    section: str,
    evidence: str,
    fix: Fix | None = None,
    *,
    location: Location | None = None,
    origin: Origin = Origin.USER,
    refs: tuple[str, ...] = (),
    status: Status = Status.FAIL,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        slug=slug,
        source=Source.CHECKLIST,
        severity=sev,
        status=status,
        title=title,
        section=section,
        evidence=evidence,
        origin=origin,
        location=location or Location(),
        fix=fix,
        references=refs,
    )


def _vuln(cve: str, sev: Severity, pkg: str, installed: str, fixed: str | None, cvss: float, title: str) -> Finding:
    fix = Fix(summary=f"Upgrade {pkg} to {fixed}") if fixed else None
    return Finding(
        rule_id=cve,
        slug=cve.lower(),
        source=Source.TRIVY_VULN,
        severity=sev,
        status=Status.FAIL,
        title=title,
        section="Vulnerabilities",
        evidence=f"{pkg} {installed}" + (f" (fixed in {fixed})" if fixed else " (no fix yet)"),
        origin=Origin.BASE,
        fix=fix,
        vulnerability=Vulnerability(
            id=cve,
            package=pkg,
            installed=installed,
            fixed=fixed,
            cvss=cvss,
            url=f"https://avd.aquasec.com/nvd/{cve.lower()}",
            title=title,
            status="fixed" if fixed else "affected",
        ),
    )


_ROOT_FIX = Fix(
    summary="Create an unprivileged user and switch to it by UID",
    dockerfile="RUN useradd --system --uid 10001 --no-create-home app\nUSER 10001",
    compose='user: "10001"',
    run="--user 10001",
)
_HEALTH_FIX = Fix(
    summary="Declare a HEALTHCHECK that probes the service",
    dockerfile='HEALTHCHECK --interval=30s --timeout=3s CMD ["/app/healthcheck"]',
    compose='healthcheck:\n  test: ["CMD", "/app/healthcheck"]\n  interval: 30s',
)
_SECRET_FIX = Fix(
    summary="Pass the secret at run time (secret file or manager), never in ENV",
    dockerfile="# remove: ENV API_TOKEN=...\n# read it from /run/secrets/api_token at start-up",
    compose="secrets:\n  - api_token",
    run="--env-file ./api.env",
)
_TAG_FIX = Fix(summary="Tag releases with a version and deploy by digest", run="docker tag IMAGE shop/web:1.0.0")
_SHELL_FIX = Fix(
    summary="Use the exec form so the app is PID 1 and gets SIGTERM",
    dockerfile='CMD ["python", "-m", "shop.web"]',
)
_CACHE_FIX = Fix(
    summary="Clean the apt lists in the same RUN",
    dockerfile=(
        "RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*"
    ),
)


def _image_findings(name: str) -> tuple[Finding, ...]:
    if name.startswith("shop/web"):
        return (
            _finding(
                "DA104",
                "secret-in-env",
                Severity.CRITICAL,
                "Secret in image environment",
                "Secrets",
                "ENV API_TOKEN=ghp_…(redacted, 40 chars) (GitHub token)",
                _SECRET_FIX,
                location=Location(layer=4, instruction="ENV API_TOKEN=ghp_…(redacted, 40 chars)"),
                refs=("CIS-DI-0010", "DS-0031"),
            ),
            _finding(
                "DA101",
                "root-user",
                Severity.HIGH,
                "Image runs as root",
                "Run as non-root",
                "Config.User is empty",
                _ROOT_FIX,
                refs=("CIS 4.1", "CIS-DI-0001", "DS-0002", "DL3002"),
            ),
            _finding(
                "DA301",
                "setuid-binary",
                Severity.MEDIUM,
                "Setuid or setgid binary",
                "Filesystem",
                "/usr/local/bin/helper mode 4755",
                Fix(summary="Drop the setuid bit", dockerfile="RUN chmod u-s /usr/local/bin/helper"),
                location=Location(layer=5, path="/usr/local/bin/helper"),
            ),
            _finding(
                "DA103",
                "shell-form-command",
                Severity.MEDIUM,
                "Command in shell form",
                "STOPSIGNAL and PID 1",
                'Cmd is ["/bin/sh", "-c", "python -m shop.web"]',
                _SHELL_FIX,
                refs=("DL3025",),
            ),
            _finding(
                "DA102",
                "no-healthcheck",
                Severity.MEDIUM,
                "No HEALTHCHECK",
                "HEALTHCHECK",
                "Config.Healthcheck is not set",
                _HEALTH_FIX,
                refs=("CIS 4.6", "CIS-DI-0006"),
            ),
            _finding(
                "DA106",
                "mutable-tag",
                Severity.MEDIUM,
                "Only a mutable tag",
                "Pin tags, never latest",
                "the only tag is shop/web:latest",
                _TAG_FIX,
            ),
            _finding(
                "DA207",
                "package-cache-kept",
                Severity.LOW,
                "Package cache kept in a layer",
                "Small images",
                "RUN apt-get update && apt-get install -y curl (no rm -rf /var/lib/apt/lists)",
                _CACHE_FIX,
                location=Location(layer=2, instruction="RUN apt-get update && apt-get install -y curl"),
            ),
            _finding(
                "DA107",
                "no-repo-digest",
                Severity.LOW,
                "No repository digest",
                "Use digests in production",
                "RepoDigests is empty",
                Fix(summary="Push the image and deploy it by digest"),
            ),
            _finding(
                "DA302",
                "secret-file",
                Severity.CRITICAL,
                "Secret file in image",
                "Secrets",
                "layers could not be read",
                status=Status.SKIPPED,
            ),
        )
    if name.startswith("shop/api"):
        return (
            _finding(
                "DA101",
                "root-user",
                Severity.HIGH,
                "Image runs as root",
                "Run as non-root",
                "Config.User is root",
                _ROOT_FIX,
            ),
            _finding(
                "DA102",
                "no-healthcheck",
                Severity.MEDIUM,
                "No HEALTHCHECK",
                "HEALTHCHECK",
                "Config.Healthcheck is not set",
                _HEALTH_FIX,
            ),
            _finding(
                "DA208",
                "no-install-recommends",
                Severity.LOW,
                "apt-get install without --no-install-recommends",
                "Small images",
                "RUN apt-get install -y python3",
                Fix(
                    summary="Add --no-install-recommends",
                    dockerfile="RUN apt-get install -y --no-install-recommends python3",
                ),
            ),
        )
    if name.startswith("postgres"):
        return (
            _finding(
                "DA112",
                "heavy-base",
                Severity.MEDIUM,
                "Heavy base image",
                "Small images",
                "debian 12 image of 412 MB",
                Fix(summary="Use a -slim or alpine variant"),
                origin=Origin.BASE,
            ),
            _finding(
                "DA207",
                "package-cache-kept",
                Severity.LOW,
                "Package cache kept in a layer",
                "Small images",
                "RUN apt-get update (lists kept)",
                _CACHE_FIX,
                origin=Origin.BASE,
            ),
        )
    if name.startswith("shop/worker"):
        return (
            _finding(
                "DA108",
                "no-provenance-labels",
                Severity.LOW,
                "No provenance labels",
                "Built from a Dockerfile in version control",
                "org.opencontainers.image.source is not set",
                Fix(
                    summary="Label the source",
                    dockerfile='LABEL org.opencontainers.image.source="https://git.example/shop"',
                ),
            ),
        )
    return ()


def _vulns(name: str) -> tuple[Finding, ...]:
    if name.startswith("shop/web"):
        return (
            _vuln(
                "CVE-2024-6387",
                Severity.HIGH,
                "openssh-client",
                "1:9.2p1-2",
                "1:9.2p1-2+deb12u3",
                8.1,
                "regreSSHion: race in sshd signal handler",
            ),
            _vuln(
                "CVE-2023-45853",
                Severity.CRITICAL,
                "zlib1g",
                "1:1.2.13.dfsg-1",
                None,
                9.8,
                "integer overflow in zipOpenNewFileInZip4_6",
            ),
            _vuln(
                "CVE-2024-0727",
                Severity.MEDIUM,
                "libssl3",
                "3.0.11-1~deb12u2",
                "3.0.13-1~deb12u1",
                5.5,
                "NULL dereference on PKCS12 files",
            ),
            _vuln(
                "CVE-2024-2511",
                Severity.LOW,
                "libssl3",
                "3.0.11-1~deb12u2",
                "3.0.13-1~deb12u1",
                3.7,
                "unbounded memory growth in session handling",
            ),
            _vuln(
                "CVE-2023-52425",
                Severity.HIGH,
                "libexpat1",
                "2.5.0-1",
                "2.5.0-1+deb12u1",
                7.5,
                "parsing large tokens can trigger DoS",
            ),
            _vuln(
                "CVE-2024-28757", Severity.HIGH, "libexpat1", "2.5.0-1", "2.5.0-1+deb12u1", 7.5, "XML entity expansion"
            ),
            _vuln(
                "CVE-2023-50495", Severity.MEDIUM, "ncurses-base", "6.4-4", None, 6.5, "segfault in _nc_wrap_entry()"
            ),
            _vuln(
                "CVE-2022-27943", Severity.LOW, "libstdc++6", "12.2.0-14", None, 5.5, "stack exhaustion in demangler"
            ),
            _vuln(
                "CVE-2024-26462",
                Severity.MEDIUM,
                "libkrb5-3",
                "1.20.1-2+deb12u1",
                "1.20.1-2+deb12u2",
                5.5,
                "memory leak in kdc",
            ),
            _vuln(
                "CVE-2011-3374", Severity.LOW, "apt", "2.6.1", None, 3.7, "does not verify repository keys correctly"
            ),
            _vuln(
                "CVE-2024-45490",
                Severity.CRITICAL,
                "libexpat1",
                "2.5.0-1",
                "2.5.0-1+deb12u1",
                9.8,
                "negative length in XML_ParseBuffer",
            ),
        )
    if name.startswith("shop/api"):
        return (
            _vuln(
                "CVE-2024-0727",
                Severity.MEDIUM,
                "libssl3",
                "3.0.11-1~deb12u2",
                "3.0.13-1~deb12u1",
                5.5,
                "NULL dereference on PKCS12 files",
            ),
            _vuln(
                "CVE-2023-50495", Severity.MEDIUM, "ncurses-base", "6.4-4", None, 6.5, "segfault in _nc_wrap_entry()"
            ),
        )
    if name.startswith("postgres"):
        return (
            _vuln(
                "CVE-2024-10979",
                Severity.HIGH,
                "libpq5",
                "15.4-1.pgdg120+1",
                "15.9-1.pgdg120+1",
                8.8,
                "PL/Perl environment variable changes",
            ),
        )
    return ()


_SCORES = {
    "shop/web:latest": (31, "F"),
    "shop/api:1.4.2": (68, "D"),
    "postgres:15.4": (79, "C"),
    "shop/worker:2.0.0": (94, "A"),
    "busybox:1.36": (100, "A"),
}

_HISTORY = (
    ("ADD file:2c1f0b5e in / ", 74 * MB),
    ('CMD ["bash"]', 0),
    ("RUN apt-get update && apt-get install -y curl", 38 * MB),
    ("WORKDIR /app", 0),
    ("ENV API_TOKEN=ghp_…(redacted, 40 chars)", 0),
    ("COPY dir:9f1e in /app ", 12 * MB),
    ('CMD ["/bin/sh", "-c", "python -m shop.web"]', 0),
)


def _image_facts(name: str, image_id: str, size: int, created: datetime) -> ImageFacts:
    web = name.startswith("shop/web")
    env: tuple[NamedValue, ...] = (
        NamedValue("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        NamedValue("LANG", "C.UTF-8"),
    )
    if web:
        env = (
            *env,
            NamedValue("API_TOKEN", "ghp_…(redacted, 40 chars)", SecretMatch("github-token", "GitHub token", 40)),
        )
    history: list[HistoryEntry] = []
    layers: list[LayerInfo] = []
    for i, (cmd, layer_size) in enumerate(_HISTORY):
        layer_index = None
        if layer_size:
            layer_index = len(layers)
            layers.append(LayerInfo(layer_index, _id(f"{name}-layer-{i}"), layer_size, cmd, from_base=i < 2))
        history.append(
            HistoryEntry(
                index=i,
                created_by=cmd,
                empty_layer=layer_size == 0,
                created=created - timedelta(minutes=10 - i),
                layer_index=layer_index,
                from_base=i < 2,
            )
        )
    return ImageFacts(
        id=image_id,
        repo_tags=(name,) if not name.startswith("<none>") else (),
        repo_digests=(),
        size=size,
        created=created,
        architecture="amd64",
        os="linux",
        config=ImageConfig(
            user="" if web else ("root" if name.startswith("shop/api") else "10001"),
            env=env,
            entrypoint=None,
            cmd=("/bin/sh", "-c", "python -m shop.web") if web else ("python", "-m", "shop.api"),
            labels=(
                NamedValue("org.opencontainers.image.title", name.split(":")[0]),
                NamedValue("maintainer", "platform@example.com"),
            ),
            exposed_ports=("8080/tcp",),
            workdir="/app",
        ),
        history=tuple(history),
        layers=tuple(layer.digest for layer in layers),
        filesystem=FilesystemFacts(files=(), layers=tuple(layers), total_size=size, wasted_bytes=0),
        os_release=OsRelease("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
        reference=name if not name.startswith("<none>") else None,
    )


_DIFF = """\
--- Dockerfile (reconstructed)
+++ Dockerfile (hardened)
@@ -1,9 +1,14 @@
-FROM debian:12
+FROM debian:12-slim
 WORKDIR /app
-RUN apt-get update && apt-get install -y curl
+RUN apt-get update \\
+ && apt-get install -y --no-install-recommends curl \\
+ && rm -rf /var/lib/apt/lists/*
-ENV API_TOKEN=ghp_…(redacted, 40 chars)
 COPY . /app
-RUN chmod u+s /usr/local/bin/helper
-CMD /bin/sh -c "python -m shop.web"
+RUN useradd --system --uid 10001 --no-create-home app
+USER 10001
+HEALTHCHECK --interval=30s --timeout=3s CMD ["/app/healthcheck"]
+STOPSIGNAL SIGTERM
+CMD ["python", "-m", "shop.web"]
"""

_HARDENED = """\
FROM debian:12-slim
WORKDIR /app
RUN apt-get update \\
 && apt-get install -y --no-install-recommends curl \\
 && rm -rf /var/lib/apt/lists/*
COPY . /app
RUN useradd --system --uid 10001 --no-create-home app
USER 10001
HEALTHCHECK --interval=30s --timeout=3s CMD ["/app/healthcheck"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "shop.web"]
"""

_RUN_DIFF = """\
--- docker run (current)
+++ docker run (hardened)
@@ -1,6 +1,15 @@
 docker run -d --name shop-web \\
-  --privileged \\
-  -v /var/run/docker.sock:/var/run/docker.sock \\
   -p 0.0.0.0:8080:8080 \\
+  --user 10001 \\
+  --read-only --tmpfs /tmp \\
+  --cap-drop ALL \\
+  --security-opt no-new-privileges \\
+  --memory 512m --cpus 1 --pids-limit 200 \\
+  --log-opt max-size=10m \\
+  --health-cmd '/app/healthcheck' \\
+  --env-file ./shop-web.env \\
   shop/web:latest
"""

_COMPOSE = """\
services:
  shop-web:
    image: shop/web@sha256:5f1c...
    user: "10001"
    read_only: true
    tmpfs: [/tmp]
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    mem_limit: 512m
    cpus: 1
    pids_limit: 200
    env_file: [shop-web.env]
    ports: ["8080:8080"]
"""


def _container_findings(name: str) -> tuple[Finding, ...]:
    if name == "shop-web":
        return (
            _finding(
                "DA402",
                "docker-socket-mounted",
                Severity.CRITICAL,
                "Docker socket mounted",
                "Runtime isolation",
                "/var/run/docker.sock -> /var/run/docker.sock (rw)",
                Fix(summary="Remove the socket mount", run="(drop -v /var/run/docker.sock:...)"),
            ),
            _finding(
                "DA408",
                "runs-as-root",
                Severity.HIGH,
                "Container runs as root",
                "Run as non-root",
                "effective user is root; docker top: uid 0 (pid 4121 python)",
                Fix(summary="Run as an unprivileged UID", compose='user: "10001"', run="--user 10001"),
            ),
            _finding(
                "DA410",
                "capabilities-not-dropped",
                Severity.MEDIUM,
                "Capabilities not dropped",
                "Runtime isolation",
                "CapDrop is empty",
                Fix(summary="Drop all capabilities", compose="cap_drop: [ALL]", run="--cap-drop ALL"),
            ),
            _finding(
                "DA414",
                "no-memory-limit",
                Severity.MEDIUM,
                "No memory limit",
                "Cap resources",
                "HostConfig.Memory is 0",
                Fix(summary="Set a memory limit", compose="mem_limit: 512m", run="--memory 512m"),
            ),
        )
    if name == "migrate":
        return (
            _finding(
                "DA420",
                "shell-pid1",
                Severity.MEDIUM,
                "Shell is PID 1",
                "STOPSIGNAL and PID 1",
                "container is not running",
                status=Status.SKIPPED,
            ),
        )
    return (
        _finding(
            "DA409",
            "writable-rootfs",
            Severity.MEDIUM,
            "Writable root filesystem",
            "Runtime isolation",
            "HostConfig.ReadonlyRootfs is false",
            Fix(summary="Mount the root filesystem read-only", compose="read_only: true", run="--read-only"),
        ),
    )


def _container_facts(row: ContainerSummary) -> ContainerFacts:
    return ContainerFacts(
        id=row.id,
        name=row.name,
        image_ref=row.image,
        image_id=row.image_id,
        created=row.created,
        state=ContainerState(status=row.state, running=row.up, pid=4121 if row.up else 0),
        host_config=HostConfig(
            port_bindings=(PortBinding("8080/tcp", _ALL_INTERFACES, 8080),) if row.name.startswith("shop") else (),
            restart_policy="unless-stopped",
            log_driver="json-file",
        ),
        mounts=(Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", True),) if row.name == "shop-web" else (),
        user="",
        env=(NamedValue("DB_PASSWORD", "…(redacted, 6 chars)", SecretMatch("name", 'name contains "password"', 6)),)
        if row.name == "shop-web"
        else (),
        labels=(NamedValue("com.docker.compose.project", "shop"),),
        entrypoint=None,
        cmd=("python", "-m", "shop.web"),
        healthcheck=None,
        image_healthcheck=Healthcheck(test=("CMD", "/app/healthcheck"), interval_ns=30_000_000_000)
        if row.name == "db"
        else None,
        networks=("shop_default",),
    )


_HOST_FINDINGS = (
    _finding(
        "DA503",
        "unencrypted-tcp-socket",
        Severity.CRITICAL,
        "Engine reachable over TCP without TLS",
        "Daemon",
        "daemon.json hosts: tcp://0.0.0.0:2375",
        Fix(summary="Listen on TCP only with --tlsverify, or only on the Unix socket"),
    ),
    _finding(
        "DA501",
        "plaintext-registry-credentials",
        Severity.HIGH,
        "Registry credentials stored in plain text",
        "Registry credentials",
        "~/.docker/config.json: auths[registry.example.com] has an auth value and no credsStore",
        Fix(summary="Use a credential helper (credsStore)"),
    ),
    _finding(
        "DA504",
        "no-live-restore",
        Severity.LOW,
        "live-restore is off",
        "Daemon",
        "LiveRestoreEnabled is false",
        Fix(summary='Set "live-restore": true in daemon.json'),
    ),
)


@dataclass
class _Events:
    """A demo event stream that blocks until closed."""

    closed: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[str]:
        self.closed.wait()
        return iter(())

    def close(self) -> None:
        self.closed.set()


class DemoBackend:
    """Serves fixed images, containers and audit results; `extra_images`/`extra_containers` pad the lists."""

    def __init__(
        self,
        *,
        extra_images: int = 0,
        extra_containers: int = 0,
        fail_connect: bool = False,
        hang_trivy: bool = False,
        settings: Settings | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.fail_connect = fail_connect
        self.hang_trivy = hang_trivy
        self.workdir = workdir or Path.cwd()
        self.ignores: list[tuple[str, str, str, date | None]] = []
        self.exports: list[tuple[str, str]] = []
        self.trivy_cancelled = threading.Event()
        self._images: dict[str, _DemoImage] = {}
        self._containers: dict[str, ContainerSummary] = {}
        names = [
            ("shop/web:latest", 187 * MB, 3),
            ("shop/api:1.4.2", 243 * MB, 12),
            ("postgres:15.4", 412 * MB, 95),
            ("shop/worker:2.0.0", 96 * MB, 30),
            ("busybox:1.36", 4_300_000, 400),
            ("<none>", 120 * MB, 41),
        ]
        names += [(f"team{i % 17}/svc{i}:{i % 9}.{i % 5}.0", (50 + i % 700) * MB, i % 365) for i in range(extra_images)]
        for name, size, age in names:
            image_id = _id(name)
            created = NOW - timedelta(days=age, hours=2)
            row = ImageSummary(image_id, (name,) if name != "<none>" else (), (), size, created)
            score, grade = _SCORES.get(name, (85, "B"))
            findings = _image_findings(name)
            result = TargetResult(
                kind=TargetKind.IMAGE,
                engine="local",
                id=image_id,
                name=name if name != "<none>" else f"<none>@{image_id}",
                findings=findings,
                passed=("DA105", "DA109", "DA110"),
                score=score,
                grade=grade,
                scans={"checklist": "ok", "layers": "ok"},
                hardened_dockerfile_diff=_DIFF if name.startswith("shop/web") else None,
            )
            self._images[image_id] = _DemoImage(row, result)
        containers = [
            ("shop-web", "shop/web:latest", "running", "Up 3 hours", 0),
            ("shop-api", "shop/api:1.4.2", "running", "Up 3 hours", 0),
            ("db", "postgres:15.4", "running", "Up 2 days (healthy)", 2),
            ("migrate", "shop/api:1.4.2", "exited", "Exited (0) 2 days ago", 2),
        ]
        containers += [
            (f"job-{i}", names[i % len(names)][0], "running" if i % 3 else "exited", "Up 1 hour", i % 30)
            for i in range(extra_containers)
        ]
        for name, image, state, status, age in containers:
            cid = _cid(name)
            self._containers[cid] = ContainerSummary(
                cid, name, image, _id(image), state, status, NOW - timedelta(days=age, hours=3)
            )

    def connect(self) -> EngineInfo:
        """The demo engine, or an `EngineError` when told to fail."""
        if self.fail_connect:
            raise EngineError("cannot connect to unix:///var/run/docker.sock: [Errno 2] No such file or directory")
        return EngineInfo(
            id="local",
            endpoint="unix:///var/run/docker.sock",
            context="default",
            server_version="28.2.2",
            api_version="1.50",
        )

    def problem(self, error: Exception) -> EngineProblem:
        """What the demo pretended to try."""
        return EngineProblem(
            message=str(error),
            tried=("unix:///var/run/docker.sock (the platform default socket; no DOCKER_HOST, no context)",),
            hints=(
                "Start the engine: sudo systemctl start docker",
                "Check access: your user must be in the docker group (or use rootless Docker)",
                "Point elsewhere: dockaudit -H ssh://user@host, DOCKER_HOST=..., or --context NAME",
            ),
        )

    def now(self) -> datetime:
        """The fixed demo clock."""
        return NOW

    def trivy_info(self) -> TrivyInfo | None:
        """A fixed Trivy with a two-day-old DB."""
        return TrivyInfo("0.76.0", DbStatus("ok", updated_at=NOW - timedelta(days=2), schema=2))

    def inventory(self) -> Inventory:
        """The fixed lists."""
        return Inventory(
            images=tuple(i.row for i in self._images.values()),
            containers=tuple(self._containers.values()),
        )

    def image_facts(self, image_id: str) -> ImageFacts:
        """Fixed facts of a demo image."""
        return self._images[image_id].facts

    def container_facts(self, container_id: str) -> ContainerFacts:
        """Fixed facts of a demo container."""
        return _container_facts(self._containers[container_id])

    def checklist(
        self, key: str, ref: str, on_progress: ProgressCallback, cancel: threading.Event
    ) -> tuple[TargetResult, ImageFacts | ContainerFacts | None]:
        """The fixed checklist result."""
        kind, _, ident = key.partition(":")
        on_progress(Progress(key, "checklist", "running the checklist", 0.5))
        if kind == "image":
            image = self._images[ident]
            return replace(image.result, findings=tuple(f for f in image.result.findings)), image.facts
        row = self._containers[ident]
        score, grade = {"shop-web": (22, "F"), "shop-api": (74, "C"), "db": (88, "B")}.get(row.name, (90, "A"))
        result = TargetResult(
            kind=TargetKind.CONTAINER,
            engine="local",
            id=row.id,
            name=row.name,
            findings=_container_findings(row.name),
            image=ImageRef(row.image_id, row.image),
            score=score,
            grade=grade,
            scans={"checklist": "ok"},
        )
        return result, _container_facts(row)

    def trivy(
        self,
        key: str,
        result: TargetResult,
        facts: ImageFacts,
        on_progress: ProgressCallback,
        cancel: threading.Event,
        use_cache: bool,
    ) -> TargetResult:
        """Fixed vulnerabilities; with `hang_trivy`, waits until cancelled."""
        on_progress(Progress(key, "trivy", "scanning for vulnerabilities", 0.6))
        if self.hang_trivy:
            cancel.wait()
            self.trivy_cancelled.set()
            return replace(result, scans={**result.scans, "trivy": "failed: cancelled"})
        vulns = _vulns(result.name)
        return replace(result, findings=result.findings + vulns, scans={**result.scans, "trivy": "ok"})

    def audit_host(self) -> TargetResult:
        """Fixed host findings."""
        return TargetResult(
            kind=TargetKind.HOST,
            engine="local",
            id="local",
            name="unix:///var/run/docker.sock",
            findings=_HOST_FINDINGS,
            passed=("DA502", "DA505", "DA508"),
            score=58,
            grade="D",
            scans={"host": "ok"},
        )

    def harden_image(self, facts: ImageFacts) -> Hardening:
        """The fixed hardened Dockerfile."""
        return Hardening(diff=_DIFF, hardened=_HARDENED, filename="Dockerfile.hardened")

    def harden_container(self, facts: ContainerFacts) -> Hardening:
        """The fixed hardened run command and Compose service."""
        return Hardening(diff=_RUN_DIFF, hardened=_COMPOSE, filename="compose.hardened.yaml", extra=_COMPOSE)

    def events(self) -> _Events:
        """A stream with no events."""
        return _Events()

    def export(self, report: Report, fmt: str, path: str) -> str:
        """Record the export and write a small file, so the dialog's flow can be tested."""
        self.exports.append((fmt, path))
        target = Path(path)
        target.write_text(f"{fmt}: {len(report.targets)} targets\n", encoding="utf-8")
        return str(target)

    def add_ignore(self, rule: str, reason: str, target: str, expires: date | None) -> str:
        """Record the ignore in memory."""
        self.ignores.append((rule, reason, target, expires))
        return str(self.workdir / ".dockaudit.toml")

    def reload_settings(self) -> Settings:
        """The demo settings never change on disk."""
        return self.settings

    def contexts(self) -> list[tuple[str, str]]:
        """Two fixed contexts."""
        return [("default", "unix:///var/run/docker.sock"), ("prod-eu", "ssh://ops@prod-eu-1")]

    def report(self, targets: tuple[TargetResult, ...]) -> Report:
        """A report at the fixed clock."""
        return Report(
            tool_version=__version__,
            generated_at=NOW,
            engines=(self.connect(),),
            targets=targets,
            trivy=self.trivy_info(),
        )

    def close(self) -> None:
        """Nothing to release."""
