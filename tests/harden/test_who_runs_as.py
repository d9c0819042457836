"""Harden v2 on real-world patterns, built and run: who the image runs as, its healthcheck, safe edits.

Each case is a Dockerfile of our own written after a pattern met in public Dockerfiles (the `source` names
where), on the offline stand-in bases of tests/harden/bases.py (busybox with fake package managers and user
tools; a busybox-su shim plays gosu). The original and the hardened file are built with BuildKit and run on
the test engine: the hardened image must start, run its PID 1 as the expected user, and report healthy when
harden added a HEALTHCHECK; harden must add no HEALTHCHECK that cannot pass, no USER where the image drops
privileges itself or is a base image, and nothing hadolint objects to.
"""

from __future__ import annotations

import shutil
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest

from dockaudit.harden import BaseImage, HardenContext, HardenResult, harden_dockerfile_text
from dockaudit.harden.document import Document
from tests.fixtures.images import TEST_LABEL
from tests.harden import corpus_check as cc
from tests.harden.buildkit import buildkit_build

pytestmark = [pytest.mark.docker]

ALPINE = "dockaudit-test/h-alpine:3.19"
DEBIAN = "dockaudit-test/h-debian:12"
DISTROLESS = "dockaudit-test/h-distroless:12"

GOSU = """#!/bin/sh
# Offline stand-in for gosu: busybox su runs the rest of the command line as the user named first.
u="$1"; shift
exec su -p -s /bin/sh "$u" -c 'exec "$0" "$@"' -- "$@"
"""
DROPPING_ENTRYPOINT = """#!/bin/sh
set -e
if [ "$(id -u)" = '0' ]; then
  mkdir -p /data && chown -R app:app /data
  exec gosu app "$0" "$@"
fi
exec "$@"
"""
SITE = {"www/index.html": "<h1>ok</h1>\n"}

KEEP = "keep"
"""No USER added, removed or changed and no user created / no HEALTHCHECK added or changed."""


@dataclass(frozen=True)
class Case:
    """A buildable pattern and what hardening it must give."""

    name: str
    source: str
    text: str
    files: dict[str, str] = field(default_factory=dict)
    user: str = KEEP
    """KEEP, `create:TOOL` (adduser, useradd, passwd) or `reuse:SPEC` (the exact USER value added)."""
    probe: str | None = KEEP
    """KEEP, None (a commented template only) or the client of the added HEALTHCHECK (`wget`, `python3`)."""
    uid: int | None = None
    """UID of the hardened image's PID 1 once its entrypoint ran; None: not checked."""
    target: str | None = None
    owned: dict[str, int] = field(default_factory=dict)
    """Paths the hardened container must have owned by these UIDs."""
    child: str | None = None
    """A Dockerfile built FROM the hardened image (`{image}`): base images must still serve their children."""
    original_unhealthy: bool = False
    """The original's HEALTHCHECK can never pass (the case shows harden repairs it)."""


def dockerfile(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


CASES = [
    Case(
        name="gosu-entrypoint-keeps-root-start",
        source="docker-library/redis and mongo docker-entrypoint.sh (chown the data dir, `exec gosu`)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN addgroup -g 1000 app && adduser -u 1000 -G app -D app
            COPY gosu /usr/local/bin/gosu
            COPY docker-entrypoint.sh /usr/local/bin/
            COPY www /www
            VOLUME /data
            EXPOSE 8080
            ENTRYPOINT ["docker-entrypoint.sh"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**SITE, "gosu": GOSU, "docker-entrypoint.sh": DROPPING_ENTRYPOINT},
        user=KEEP,
        probe="wget",
        uid=1000,
        owned={"/data": 1000},
    ),
    Case(
        name="alpine-app-gets-an-adduser-user",
        source="alpine-based static sites and Go services without USER (many small projects)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN apk add --no-cache ca-certificates
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="create:adduser",
        probe="wget",
        uid=10001,
    ),
    Case(
        name="debian-python-http-server-gets-useradd",
        source="`python -m http.server` demo and docs images on python:*-slim",
        text=dockerfile(f"""
            FROM {DEBIAN}
            WORKDIR /www
            COPY www/ ./
            EXPOSE 8000
            CMD ["python", "-m", "http.server", "8000"]
            """),
        files=SITE,
        user="create:useradd",
        probe="wget",
        uid=10001,
    ),
    Case(
        name="created-user-is-reused",
        source="Dockerfiles that `useradd` an app user and forget `USER` (node/python tutorials)",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN useradd -u 1500 -s /sbin/nologin web
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="reuse:1500",
        probe="wget",
        uid=1500,
    ),
    Case(
        name="scratch-busybox-gets-passwd-lines",
        source="FROM scratch images carrying a static busybox (docker-library/busybox style)",
        text=dockerfile("""
            FROM scratch
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "--install", "-s", "/bin"]
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**SITE, "busybox": "@busybox"},
        user="create:passwd",
        probe="wget",
        uid=10001,
    ),
    Case(
        name="distroless-reuses-nonroot-and-gets-no-probe",
        source="GoogleContainerTools/distroless Go services built without :nonroot",
        text=dockerfile(f"""
            FROM {DISTROLESS}
            COPY busybox /app/busybox
            COPY www /www
            EXPOSE 8080
            ENTRYPOINT ["/app/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**SITE, "busybox": "@busybox"},
        user="reuse:65532:65532",
        probe=None,
        uid=65532,
    ),
    Case(
        name="distroless-volume-keeps-root",
        source="containrrr-style and filebrowser Go binaries on scratch/distroless declaring `VOLUME /srv`",
        text=dockerfile(f"""
            FROM {DISTROLESS}
            COPY busybox /app/busybox
            COPY www /www
            VOLUME /data
            EXPOSE 8080
            ENTRYPOINT ["/app/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**SITE, "busybox": "@busybox"},
        user=KEEP,
        probe=None,
        uid=0,
    ),
    Case(
        name="docker-socket-client-keeps-root",
        source="containrrr/watchtower, traefik, dozzle: started with /var/run/docker.sock mounted",
        text=dockerfile(f"""
            FROM {ALPINE}
            COPY www /www
            COPY watchtower /watchtower
            EXPOSE 8080
            ENTRYPOINT ["/watchtower"]
            """),
        files={**SITE, "watchtower": "#!/bin/sh\nexec httpd -f -p 8080 -h /www\n"},
        user=KEEP,
        # The stand-in is a script starting httpd on the exposed port, which harden reads (a real binary is not).
        probe="wget",
        uid=0,
    ),
    Case(
        name="arg-user-defaulting-to-root-is-root",
        source="configurable images (`ARG RUN_AS=root`, `USER $RUN_AS`)",
        text=dockerfile(f"""
            FROM {ALPINE}
            ARG RUN_AS=root
            USER $RUN_AS
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="create:adduser",
        probe="wget",
        uid=10001,
    ),
    Case(
        name="arg-uid-user-is-left-alone",
        source="dev-container Dockerfiles (`ARG USER_UID=1000`, `USER $USER_UID`)",
        text=dockerfile(f"""
            FROM {ALPINE}
            ARG USER_UID=1000
            RUN adduser -D -u $USER_UID dev
            USER $USER_UID
            COPY www /www
            EXPOSE 8080
            HEALTHCHECK CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user=KEEP,
        probe=KEEP,
        uid=1000,
    ),
    Case(
        name="later-install-without-update-keeps-the-lists",
        source="Dockerfiles that `apt-get update && install` once and `apt-get install` again later",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN apt-get update && apt-get install -y curl
            COPY www /www
            RUN apt-get install -y wget
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="create:useradd",
        probe="curl",
        uid=10001,
    ),
    Case(
        name="cache-mounted-apt-lists-are-not-deleted",
        source="BuildKit cache mounts for apt (`--mount=type=cache,target=/var/lib/apt/lists`)",
        text=dockerfile(f"""
            FROM {DEBIAN}
            RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y curl
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="create:useradd",
        probe="curl",
        uid=10001,
    ),
    Case(
        name="runtime-stage-before-an-export-stage",
        source="Go projects that export binaries with `docker build --output` from a last `FROM scratch` stage",
        text=dockerfile(f"""
            FROM {ALPINE} AS build
            RUN mkdir -p /out && cp /bin/busybox /out/httpd
            FROM {ALPINE} AS runtime
            COPY --from=build /out/httpd /opt/httpd
            COPY www /www
            EXPOSE 8080
            CMD ["/opt/httpd", "-f", "-p", "8080", "-h", "/www"]
            FROM scratch AS export
            COPY --from=build /out/ /
            """),
        files=SITE,
        user="create:adduser",
        probe="wget",
        uid=10001,
        target="runtime",
    ),
    Case(
        name="base-image-keeps-root-for-its-children",
        source="company runtime bases (FROM a distro, install a runtime, no CMD of their own)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN apk add python3
            ENV PYTHONUNBUFFERED=1
            """),
        user=KEEP,
        probe=KEEP,
        child='FROM {image}\nRUN apk add --no-cache curl\nCMD ["sleep", "600"]\n',
    ),
    Case(
        name="onbuild-base-keeps-root-for-its-triggers",
        source="the old node:onbuild / maven onbuild images (ONBUILD COPY and RUN)",
        text=dockerfile(f"""
            FROM {ALPINE}
            WORKDIR /app
            ONBUILD COPY . /app
            ONBUILD RUN apk add --no-cache curl && mkdir -p /app/built
            CMD ["sleep", "600"]
            """),
        user=KEEP,
        probe=KEEP,
        child='FROM {image}\nCMD ["sleep", "600"]\n',
    ),
    Case(
        name="entrypoint-writing-etc-keeps-root",
        source='envsubst entrypoints that render config under /etc before `exec "$@"`',
        text=dockerfile(f"""
            FROM {ALPINE}
            COPY render.sh /render.sh
            COPY www /www
            EXPOSE 8080
            ENTRYPOINT ["/render.sh"]
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files={**SITE, "render.sh": '#!/bin/sh\nset -e\necho "port=8080" > /etc/app.conf\nexec "$@"\n'},
        user=KEEP,
        probe="wget",
        uid=0,
    ),
    Case(
        name="healthcheck-calling-missing-curl-is-repaired",
        source="alpine images with a `curl -f` HEALTHCHECK copied from a debian Dockerfile (alpine has no curl)",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN apk add --no-cache ca-certificates
            COPY www /www
            EXPOSE 8080
            HEALTHCHECK CMD curl -f http://127.0.0.1:8080/ || exit 1
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="create:adduser",
        probe="wget",
        uid=10001,
        original_unhealthy=True,
    ),
    Case(
        name="unknown-protocol-gets-no-probe",
        source="node apps with EXPOSE 3000 whose protocol the Dockerfile does not tell",
        text=dockerfile(f"""
            FROM {ALPINE}
            WORKDIR /app
            COPY www/ ./
            EXPOSE 3000
            CMD ["node", "/app/index.html"]
            """),
        files=SITE,
        user="create:adduser",
        probe=None,
        uid=10001,
    ),
    Case(
        name="volume-is-writable-by-the-new-user",
        source="apps declaring `VOLUME /data` on a base without a user",
        text=dockerfile(f"""
            FROM {ALPINE}
            RUN apk add --no-cache tzdata
            VOLUME /data
            COPY www /www
            EXPOSE 8080
            CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
            """),
        files=SITE,
        user="create:adduser",
        probe="wget",
        uid=10001,
        owned={"/data": 10001},
    ),
]


# -- helpers ---------------------------------------------------------------------------------------------


def _context(case: Case, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for rel, content in case.files.items():
        path = into / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "@busybox":
            shutil.copyfile("/bin/busybox", path)
            path.chmod(0o755)
        else:
            path.write_text(content)
            if content.startswith("#!"):
                path.chmod(0o755)
    (into / "Dockerfile").write_text(case.text)
    return into


def _code(text: str, cmd: str, stage: int | None = None) -> list[str]:
    doc = Document.parse(text)
    return [i.original for i in doc.instructions if i.cmd == cmd and (stage is None or i.stage == stage)]


def _added(original: str, hardened: str, cmd: str) -> list[str]:
    before = _code(original, cmd)
    return [line for line in _code(hardened, cmd) if line not in before]


@dataclass
class _Run:
    running: bool
    uid: int | None
    health: str | None
    owners: dict[str, str]
    logs: str


def _run(client: docker.DockerClient, tag: str, owned: dict[str, int], wait_healthy: bool) -> _Run:
    """Start `tag` with a 1 s health interval; report whether it runs, PID 1's UID, health and owners."""
    container = client.api.create_container(
        tag,
        labels={TEST_LABEL: "1"},
        healthcheck={"Interval": 1_000_000_000, "Retries": 2, "StartPeriod": 1_000_000, "Timeout": 3_000_000_000},
    )
    cid = container["Id"]
    try:
        client.api.start(cid)
        time.sleep(2)
        state: dict[str, Any] = client.api.inspect_container(cid)["State"]
        if not state["Running"]:
            return _Run(False, None, None, {}, client.api.logs(cid).decode(errors="replace"))
        top = client.api.top(cid, ps_args="-eo pid,uid")
        uid = next((int(row[1]) for row in top["Processes"] if int(row[0]) == state["Pid"]), None)
        health = (state.get("Health") or {}).get("Status")
        for _ in range(30 if wait_healthy else 0):
            if health == "healthy":
                break
            time.sleep(0.5)
            health = (client.api.inspect_container(cid)["State"].get("Health") or {}).get("Status")
        if not wait_healthy and state.get("Health") is not None:
            # Give a probe that cannot pass the time to fail twice.
            time.sleep(3)
            health = (client.api.inspect_container(cid)["State"].get("Health") or {}).get("Status")
        owners = {}
        for path in owned:
            run = client.api.exec_create(cid, ["stat", "-c", "%u", path])
            owners[path] = client.api.exec_start(run).decode().strip()
        return _Run(True, uid, health, owners, "")
    finally:
        client.api.remove_container(cid, force=True)


# -- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lookup(docker_client: docker.DockerClient) -> Callable[[str], BaseImage | None]:
    cc.tag_bases(docker_client)
    return cc.base_lookup(docker_client)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("who-runs-as")


def _harden(case: Case, project: Path, lookup: Callable[[str], BaseImage | None]) -> HardenResult:
    context = HardenContext(base_lookup=lookup, project_dir=str(project), target=case.target)
    return harden_dockerfile_text(case.text, context=context)


# -- tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_edits_follow_who_the_image_runs_as(
    case: Case, lookup: Callable[[str], BaseImage | None], workdir: Path
) -> None:
    project = _context(case, workdir / case.name / "project")
    result = _harden(case, project, lookup)
    added_users = _added(case.text, result.hardened, "USER")
    created = [
        r for r in _added(case.text, result.hardened, "RUN") if "adduser" in r or "useradd" in r or "passwd" in r
    ]
    if case.user == KEEP:
        assert added_users == [] and created == [], result.hardened
        assert _code(case.text, "USER") == _code(result.hardened, "USER")
    else:
        kind, _, arg = case.user.partition(":")
        assert len(added_users) == 1, result.hardened
        if kind == "reuse":
            assert added_users == [f"USER {arg}"] and created == []
        else:
            tool = {"adduser": "adduser -S", "useradd": "useradd -r", "passwd": ">> /etc/passwd"}[arg]
            assert len(created) == 1 and tool in created[0], created
    probes = _added(case.text, result.hardened, "HEALTHCHECK")
    if case.probe == KEEP:
        assert _code(case.text, "HEALTHCHECK") == _code(result.hardened, "HEALTHCHECK")
    elif case.probe is None:
        assert probes == [] and "# HEALTHCHECK" in result.hardened
        assert any("DA608" in u.rule_ids for u in result.unfixed)
    else:
        assert len(probes) == 1 and f'CMD ["{case.probe}"' in probes[0], probes
    # Every change names its rules; every fixable finding left has a reason.
    assert all(c.rule_ids for c in result.changes)
    assert all(u.reason for u in result.unfixed)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hardened_file_is_idempotent_and_adds_no_hadolint_warning(
    case: Case, lookup: Callable[[str], BaseImage | None], workdir: Path
) -> None:
    project = _context(case, workdir / f"{case.name}-again" / "project")
    result = _harden(case, project, lookup)
    if result.dockerignore is not None:
        (project / ".dockerignore").write_text(result.dockerignore)
    again = harden_dockerfile_text(
        result.hardened, context=HardenContext(base_lookup=lookup, project_dir=str(project), target=case.target)
    )
    assert again.hardened == result.hardened and not again.changes
    before, after = cc.hadolint(result.original), cc.hadolint(result.hardened)
    assert {code: n for code, n in after.items() if n > before.get(code, 0)} == {}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hardened_image_builds_runs_as_expected_and_is_healthy(
    case: Case, lookup: Callable[[str], BaseImage | None], workdir: Path, docker_client: docker.DockerClient
) -> None:
    project = _context(case, workdir / f"{case.name}-build" / "project")
    result = _harden(case, project, lookup)
    provenance = {"VCS_URL": "https://example.com/app.git", "VCS_REF": "0" * 40}
    original = buildkit_build(case.name, project, case.text, target=case.target)
    hardened = buildkit_build(
        f"{case.name}-hardened",
        project,
        result.hardened,
        dockerignore=result.dockerignore,
        build_args=provenance if "ARG VCS_REF" in result.hardened else None,
        target=case.target,
    )
    if case.child is not None:
        # A base image must still let its children install packages as root and run their triggers.
        child_dir = workdir / f"{case.name}-child"
        child_dir.mkdir(exist_ok=True)
        child = buildkit_build(f"{case.name}-child", child_dir, case.child.format(image=hardened))
        assert _run(docker_client, child, {}, wait_healthy=False).running
        return
    before = _run(docker_client, original, {}, wait_healthy=False)
    assert before.running, f"the original does not run: {before.logs}"
    if case.original_unhealthy:
        assert before.health == "unhealthy"
    added_probe = bool(_added(case.text, result.hardened, "HEALTHCHECK"))
    after = _run(docker_client, hardened, case.owned, wait_healthy=added_probe)
    assert after.running, f"the hardened image does not run: {after.logs}\n{result.hardened}"
    if case.uid is not None:
        assert after.uid == case.uid
    if added_probe:
        assert after.health == "healthy", result.hardened
    assert after.owners == {path: str(uid) for path, uid in case.owned.items()}


def test_a_user_before_an_entrypoint_writing_etc_would_break_the_container(
    lookup: Callable[[str], BaseImage | None], workdir: Path, docker_client: docker.DockerClient
) -> None:
    """Why harden keeps root for such an entrypoint: the same file with a USER added exits at start."""
    case = next(c for c in CASES if c.name == "entrypoint-writing-etc-keeps-root")
    project = _context(case, workdir / "etc-writer" / "project")
    with_user = case.text.replace("COPY render.sh", "RUN adduser -D -u 1003 app\nUSER 1003\nCOPY render.sh")
    broken = buildkit_build("etc-writer-with-user", project, with_user)
    assert not _run(docker_client, broken, {}, wait_healthy=False).running
    result = _harden(case, project, lookup)
    assert any("needs root when it starts" in u.reason for u in result.unfixed if "DA606" in u.rule_ids)


def test_a_user_on_a_shell_less_stage_with_a_volume_could_not_write_it(
    lookup: Callable[[str], BaseImage | None], workdir: Path, docker_client: docker.DockerClient
) -> None:
    """Why harden keeps root there: with the USER added, the volume Docker creates is root's and refuses writes."""
    case = next(c for c in CASES if c.name == "distroless-volume-keeps-root")
    project = _context(case, workdir / "volume-writer" / "project")
    with_user = case.text.replace("VOLUME /data", "USER 65532:65532\nVOLUME /data")
    image = buildkit_build("volume-writer-with-user", project, with_user)
    container = docker_client.containers.run(
        image, entrypoint=["/app/busybox", "touch", "/data/db"], detach=True, labels={TEST_LABEL: "1"}
    )
    try:
        assert container.wait(timeout=60)["StatusCode"] != 0
        assert b"Permission denied" in container.logs()
    finally:
        container.remove(force=True)
    result = _harden(case, project, lookup)
    assert any("no shell to chown it" in u.reason for u in result.unfixed if "DA606" in u.rule_ids)


def test_a_docker_socket_client_is_advised_a_socket_group_not_a_user(
    lookup: Callable[[str], BaseImage | None], workdir: Path
) -> None:
    case = next(c for c in CASES if c.name == "docker-socket-client-keeps-root")
    result = _harden(case, _context(case, workdir / "socket-client" / "project"), lookup)
    reasons = [u.reason for u in result.unfixed if "DA606" in u.rule_ids]
    assert reasons and "--group-add" in reasons[0] and "watchtower" in reasons[0]
    pointed = case.text.replace("EXPOSE 8080", "ENV DOCKER_HOST=unix:///var/run/docker.sock\nEXPOSE 8080")
    pointed = pointed.replace("/watchtower", "/app")
    again = harden_dockerfile_text(pointed, context=HardenContext(base_lookup=lookup))
    assert any("docker.sock" in u.reason for u in again.unfixed if "DA606" in u.rule_ids)
    assert "USER" not in again.hardened.replace("# dockaudit", "")
