"""The demo's made-up images and containers as an engine would describe them (configs, histories, layer files,
inspects, Trivy's vulnerabilities), and the facts and Trivy JSON they become, built as the collectors build them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from dockaudit.command_secrets import redact_history_line
from dockaudit.facts.container import ContainerFacts, ContainerState, HostConfig, Mount, PortBinding, Process
from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType, LayerInfo, OsRelease
from dockaudit.facts.image import Healthcheck, HistoryEntry, ImageConfig, ImageFacts, NamedValue
from dockaudit.facts.inventory import ContainerSummary
from dockaudit.model import EngineInfo
from dockaudit.secrets import classify_file, redact_pair

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
"""The demo's fixed clock."""


MB = 1000 * 1000


DEMO_ENGINE = EngineInfo(
    id="demo",
    endpoint="demo://made-up-engine",  # the demo:// scheme is what the TUI badges DEMO (presenters.is_demo)
    context="demo",
    server_version="28.2.2",
    api_version="1.50",
)


_ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - demo data: a port published on every interface


_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


_PASSWD = b"root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"


_PASSWD_APP = _PASSWD + b"app:x:10001:10001::/app:/usr/sbin/nologin\n"


_SHADOW = b"root:*:19800:0:99999:7:::\nnobody:*:19800:0:99999:7:::\n"


_OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'


_PASSWD_PG = _PASSWD + b"postgres:x:999:999::/var/lib/postgresql:/bin/bash\n"


def demo_image_id(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def demo_container_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@dataclass(frozen=True)
class DemoStep:
    """One history step of a demo image: its `created_by` and the files its layer adds (none: an empty step)."""

    created_by: str
    files: tuple[tuple[str, int, int, bytes | None], ...] = ()
    """(path, mode, size, content) of each file the layer adds."""
    base: bool = False


@dataclass(frozen=True)
class DemoImage:
    """A demo image as an engine would describe it."""

    name: str
    size: int
    age_days: int
    steps: tuple[DemoStep, ...]
    user: str = ""
    env: tuple[tuple[str, str], ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    healthcheck: tuple[str, ...] | None = None
    ports: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    workdir: str = ""
    os: OsRelease | None = None
    vulns: tuple[tuple[str, str, str, str, str | None, float, str], ...] = ()
    """(CVE, severity, package, installed, fixed, CVSS, title) as Trivy would report them."""


_DEBIAN = OsRelease("debian", "12", "Debian GNU/Linux 12 (bookworm)")


_DEBIAN_BASE = (
    DemoStep(
        "/bin/sh -c #(nop) ADD file:2c1f0b5e7a9d4c3b8e6f1a2d3c4b5a6978877665544332211ffeeddccbbaa0099 in / ",
        (
            ("/bin/bash", 0o755, 1_200_000, None),
            ("/bin/sh", 0o755, 120_000, None),
            ("/usr/bin/apt-get", 0o755, 20_000, None),
            ("/usr/bin/passwd", 0o4755, 60_000, None),
            ("/etc/passwd", 0o644, len(_PASSWD), _PASSWD),
            (
                "/etc/os-release",
                0o644,
                200,
                b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
            ),
            ("/var/lib/dpkg/status", 0o644, 400_000, None),
        ),
        base=True,
    ),
    DemoStep('/bin/sh -c #(nop)  CMD ["bash"]', base=True),
)


_SHOP_VULNS = (
    ("CVE-2024-6387", "HIGH", "openssh-client", "1:9.2p1-2", "1:9.2p1-2+deb12u3", 8.1, "regreSSHion: race in sshd"),
    (
        "CVE-2023-45853",
        "CRITICAL",
        "zlib1g",
        "1:1.2.13.dfsg-1",
        None,
        9.8,
        "integer overflow in zipOpenNewFileInZip4",
    ),
    ("CVE-2024-0727", "MEDIUM", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", 5.5, "NULL dereference on PKCS12"),
    ("CVE-2024-2511", "LOW", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", 3.7, "unbounded memory growth"),
    ("CVE-2023-52425", "HIGH", "libexpat1", "2.5.0-1", "2.5.0-1+deb12u1", 7.5, "parsing large tokens can trigger DoS"),
    (
        "CVE-2024-45490",
        "CRITICAL",
        "libexpat1",
        "2.5.0-1",
        "2.5.0-1+deb12u1",
        9.8,
        "negative length in XML_ParseBuffer",
    ),
    ("CVE-2023-50495", "MEDIUM", "ncurses-base", "6.4-4", None, 6.5, "segfault in _nc_wrap_entry()"),
    ("CVE-2011-3374", "LOW", "apt", "2.6.1", None, 3.7, "does not verify repository keys correctly"),
)


DEMO_IMAGES = (
    DemoImage(
        name="shop/web:latest",
        size=187 * MB,
        age_days=3,
        steps=(
            *_DEBIAN_BASE,
            DemoStep("/bin/sh -c #(nop) WORKDIR /app"),
            DemoStep(
                "/bin/sh -c apt-get update && apt-get install -y curl python3",
                (
                    ("/usr/bin/curl", 0o755, 300_000, None),
                    ("/usr/bin/python3", 0o755, 5_000_000, None),
                    (
                        "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
                        0o644,
                        9_000_000,
                        None,
                    ),
                ),
            ),
            DemoStep("/bin/sh -c #(nop)  ENV API_TOKEN=ghp_4fJ0cQm1Zb8vXr2LwS9tKy6NuD3pEa7HgO5i"),
            DemoStep(
                "/bin/sh -c #(nop) COPY dir:9f1e0d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100 in /app ",
                (
                    ("/app/shop/web.py", 0o644, 40_000, None),
                    ("/app/.git/config", 0o644, 300, None),
                    ("/app/.env", 0o600, 120, b"DATABASE_URL=postgres://shop:Hunter2Secret@db/shop\n"),
                ),
            ),
            DemoStep("/bin/sh -c chmod 777 /app"),
            DemoStep("/bin/sh -c #(nop)  EXPOSE 8080"),
            DemoStep('/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "python3 -m shop.web"]'),
        ),
        env=(("PATH", _PATH), ("API_TOKEN", "ghp_4fJ0cQm1Zb8vXr2LwS9tKy6NuD3pEa7HgO5i")),
        cmd=("/bin/sh", "-c", "python3 -m shop.web"),
        ports=("8080/tcp",),
        labels=(("org.opencontainers.image.title", "shop-web"),),
        workdir="/app",
        os=_DEBIAN,
        vulns=_SHOP_VULNS,
    ),
    DemoImage(
        name="shop/api:1.4.2",
        size=243 * MB,
        age_days=120,
        steps=(
            *_DEBIAN_BASE,
            DemoStep("/bin/sh -c #(nop) WORKDIR /srv"),
            DemoStep(
                "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends gcc python3-dev python3"
                " && rm -rf /var/lib/apt/lists/*",
                (("/usr/bin/gcc", 0o755, 1_000_000, None), ("/usr/bin/python3", 0o755, 5_000_000, None)),
            ),
            DemoStep(
                "/bin/sh -c #(nop) COPY dir:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809 in /srv ",
                (("/srv/api/main.py", 0o644, 30_000, None),),
            ),
            DemoStep("/bin/sh -c #(nop)  USER root"),
            DemoStep("/bin/sh -c #(nop)  EXPOSE 8000"),
            DemoStep('/bin/sh -c #(nop)  CMD ["python3" "-m" "shop.api"]'),
        ),
        user="root",
        env=(("PATH", _PATH),),
        cmd=("python3", "-m", "shop.api"),
        ports=("8000/tcp",),
        labels=(("org.opencontainers.image.source", "https://git.example.com/shop/api"),),
        workdir="/srv",
        os=_DEBIAN,
        vulns=_SHOP_VULNS[2:4] + _SHOP_VULNS[6:7],
    ),
    DemoImage(
        name="postgres:15.4",
        size=412 * MB,
        age_days=95,
        steps=(
            *_DEBIAN_BASE,
            DemoStep(
                "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends postgresql-15 gosu"
                " && rm -rf /var/lib/apt/lists/*",
                (
                    ("/usr/lib/postgresql/15/bin/postgres", 0o755, 9_000_000, None),
                    ("/usr/sbin/gosu", 0o755, 2_000_000, None),
                    ("/etc/passwd", 0o644, len(_PASSWD_PG), _PASSWD_PG),
                ),
            ),
            DemoStep(
                "/bin/sh -c #(nop) COPY file:5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c in "
                "/usr/local/bin/ ",
                (
                    (
                        "/usr/local/bin/docker-entrypoint.sh",
                        0o755,
                        12_000,
                        b'#!/bin/sh\nset -e\nif [ "$(id -u)" = 0 ]; then exec gosu postgres "$0" "$@"; fi\nexec "$@"\n',
                    ),
                ),
            ),
            DemoStep('/bin/sh -c #(nop)  ENTRYPOINT ["docker-entrypoint.sh"]'),
            DemoStep("/bin/sh -c #(nop)  STOPSIGNAL SIGINT"),
            DemoStep("/bin/sh -c #(nop)  EXPOSE 5432"),
            DemoStep('/bin/sh -c #(nop)  CMD ["postgres"]'),
        ),
        env=(("PATH", _PATH), ("PGDATA", "/var/lib/postgresql/data"), ("POSTGRES_PASSWORD_FILE", "/run/secrets/pg")),
        entrypoint=("docker-entrypoint.sh",),
        cmd=("postgres",),
        ports=("5432/tcp",),
        os=_DEBIAN,
        vulns=(("CVE-2024-10979", "HIGH", "libpq5", "15.4-1.pgdg120+1", "15.9-1.pgdg120+1", 8.8, "PL/Perl env"),),
    ),
    DemoImage(
        name="shop/worker:2.0.0",
        size=96 * MB,
        age_days=30,
        steps=(
            *_DEBIAN_BASE,
            DemoStep(
                "/bin/sh -c useradd --system --uid 10001 --no-create-home app",
                (("/etc/passwd", 0o644, len(_PASSWD_APP), _PASSWD_APP),),
            ),
            DemoStep(
                "/bin/sh -c #(nop) COPY dir:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9 in /app ",
                (("/app/worker", 0o755, 8_000_000, None),),
            ),
            DemoStep("/bin/sh -c #(nop)  USER 10001:10001"),
            DemoStep('/bin/sh -c #(nop)  HEALTHCHECK &{["CMD" "/app/worker" "health"] "30s" "3s" "0s" "0s" \'\\x03\'}'),
            DemoStep('/bin/sh -c #(nop)  ENTRYPOINT ["/app/worker"]'),
        ),
        user="10001:10001",
        env=(("PATH", _PATH),),
        entrypoint=("/app/worker",),
        healthcheck=("CMD", "/app/worker", "health"),
        labels=(
            ("org.opencontainers.image.source", "https://git.example.com/shop/worker"),
            ("org.opencontainers.image.revision", "3f2a9c1"),
        ),
        os=_DEBIAN,
    ),
    DemoImage(
        name="busybox:1.36",
        size=4_300_000,
        age_days=400,
        steps=(
            DemoStep(
                "/bin/sh -c #(nop) ADD file:7e6f5d4c3b2a19080706050403020100ffeeddccbbaa99887766554433221100 in / ",
                (("/bin/busybox", 0o755, 1_100_000, None), ("/bin/sh", 0o755, 0, None)),
                base=True,
            ),
            DemoStep('/bin/sh -c #(nop)  CMD ["sh"]', base=True),
        ),
        cmd=("sh",),
    ),
    DemoImage(
        name="<none>",
        size=120 * MB,
        age_days=41,
        steps=(*_DEBIAN_BASE, DemoStep("/bin/sh -c echo built", (("/built", 0o644, 6, b"built\n"),))),
        cmd=("bash",),
        os=_DEBIAN,
    ),
)


def demo_image_facts(spec: DemoImage, image_id: str, name: str, allow: tuple[str, ...]) -> ImageFacts:
    created = NOW - timedelta(days=spec.age_days, hours=2)
    history: list[HistoryEntry] = []
    layers: list[LayerInfo] = []
    files: list[FileFact] = []
    for i, step in enumerate(spec.steps):
        layer_index: int | None = None
        if step.files:
            layer_index = len(layers)
            size = sum(f[2] for f in step.files)
            layers.append(
                LayerInfo(layer_index, demo_image_id(f"{name}-layer-{i}"), size, step.created_by, from_base=step.base)
            )
            for path, mode, fsize, content in step.files:
                replaced = [j for j, f in enumerate(files) if f.path == path]
                for j in replaced:
                    files[j] = replace(files[j], replaced_later=True)
                # As the layer reader does: a credential file keeps its classification, never its content.
                secret = classify_file(path, content, allow) if content is not None else None
                kept = None if secret is not None else content
                files.append(FileFact(path, FileType.FILE, mode, 0, 0, fsize, layer_index, content=kept, secret=secret))
        redacted = redact_history_line(step.created_by, allow)
        history.append(
            HistoryEntry(
                index=i,
                created_by=redacted.text,
                secrets=redacted.found,
                empty_layer=layer_index is None,
                created=created - timedelta(minutes=len(spec.steps) - i),
                layer_index=layer_index,
                from_base=step.base,
            )
        )
    listed = sum(layer.size for layer in layers)
    if layers and spec.size > listed:
        # The files listed are a sample of what the layers hold: the first layer carries the rest of the
        # distribution, so the layers add up to the image's size, as an engine's answers do.
        layers[0] = replace(layers[0], size=layers[0].size + spec.size - listed)
    env = tuple(NamedValue(k, *redact_pair(k, v, allow)) for k, v in spec.env)
    config = ImageConfig(
        user=spec.user,
        env=env,
        entrypoint=spec.entrypoint,
        cmd=spec.cmd,
        healthcheck=Healthcheck(test=spec.healthcheck, interval_ns=30_000_000_000, timeout_ns=3_000_000_000)
        if spec.healthcheck
        else None,
        labels=tuple(NamedValue(k, v) for k, v in spec.labels),
        exposed_ports=spec.ports,
        workdir=spec.workdir,
    )
    return ImageFacts(
        id=image_id,
        repo_tags=(spec.name,) if spec.name != "<none>" else (),
        repo_digests=(),
        size=spec.size,
        created=created,
        architecture="amd64",
        os="linux",
        config=config,
        history=tuple(history),
        layers=tuple(layer.digest for layer in layers),
        engine=DEMO_ENGINE.id,
        filesystem=FilesystemFacts(
            files=tuple(files), layers=tuple(layers), total_size=spec.size, wasted_bytes=0, os_release=spec.os
        ),
        os_release=spec.os,
        reference=spec.name if spec.name != "<none>" else None,
    )


def demo_trivy_json(spec: DemoImage, facts: ImageFacts) -> str:
    """The report `trivy image --format json` would print for a demo image."""
    base_layer = facts.layers[0] if facts.layers else ""
    vulns = [
        {
            "VulnerabilityID": cve,
            "PkgName": pkg,
            "InstalledVersion": installed,
            "FixedVersion": fixed or "",
            "Status": "fixed" if fixed else "affected",
            "Severity": severity,
            "Title": title,
            "PrimaryURL": f"https://avd.aquasec.com/nvd/{cve.lower()}",
            "CVSS": {"nvd": {"V3Score": cvss}},
            "Layer": {"DiffID": base_layer},
        }
        for cve, severity, pkg, installed, fixed, cvss, title in spec.vulns
    ]
    name = facts.name
    report = {
        "SchemaVersion": 2,
        "ArtifactName": name,
        "ArtifactType": "container_image",
        "Metadata": {"DiffIDs": list(facts.layers)},
        "Results": [{"Target": f"{name} (debian 12.1)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}]
        if vulns
        else [],
        "Trivy": {"Version": "0.76.0"},
    }
    return json.dumps(report)


DEMO_CONTAINERS = (
    # name, image, state, status, age in days
    ("shop-web", "shop/web:latest", "running", "Up 3 hours", 0),
    ("shop-api", "shop/api:1.4.2", "running", "Up 3 hours", 0),
    ("db", "postgres:15.4", "running", "Up 2 days (healthy)", 2),
    ("migrate", "shop/api:1.4.2", "exited", "Exited (0) 2 days ago", 2),
)


def demo_container_facts(row: ContainerSummary, image: DemoImage | None, allow: tuple[str, ...]) -> ContainerFacts:
    web, db = row.name == "shop-web", row.name == "db"
    running = row.state == "running"
    pid = 4121 if running else 0
    processes: tuple[Process, ...] | None = None
    if running:
        first = ("postgres", "999") if db else ("python3 -m shop.web" if web else "python3 -m shop.api", "0")
        processes = (Process(pid, 1, first[1], "S", first[0]),)
    env = (("DB_PASSWORD", "Hunter2Secret"),) if web else ()
    return ContainerFacts(
        id=row.id,
        name=row.name,
        image_ref=row.image,
        image_id=row.image_id,
        created=row.created,
        state=ContainerState(
            status=row.state, running=running, pid=pid, health_status="healthy" if db else None, started_at=row.created
        ),
        host_config=HostConfig(
            port_bindings=(PortBinding("8080/tcp", _ALL_INTERFACES, 8080),) if web else (),
            restart_policy="unless-stopped",
            log_driver="json-file",
            log_options=(("max-size", "10m"),) if db else (),
            memory=512 * 1024 * 1024 if db else 0,
            cap_drop=("ALL",) if db else (),
            cap_add=("CHOWN", "SETUID", "SETGID") if db else (),
        ),
        mounts=(Mount("bind", "/var/run/docker.sock", "/var/run/docker.sock", True),) if web else (),
        user="",
        env=tuple(NamedValue(k, *redact_pair(k, v, allow)) for k, v in env),
        labels=(NamedValue("com.docker.compose.project", "shop"), NamedValue("com.docker.compose.service", row.name)),
        entrypoint=image.entrypoint if image else None,
        cmd=image.cmd if image else None,
        healthcheck=None,
        image_user=image.user if image else "",
        image_healthcheck=Healthcheck(test=image.healthcheck) if image and image.healthcheck else None,
        networks=("shop_default",),
        processes=processes,
        processes_skip_reason=None
        if running
        else f"the container is {row.state}: docker top needs a running container",
        tag_drift=False,
        engine=DEMO_ENGINE.id,
        working_dir=image.workdir if image else "",
    )
