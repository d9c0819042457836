"""DA5xx: rules over the engine, its daemon settings and the auditing client's configuration."""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime, timedelta

from dockaudit.facts.host import HostFacts
from dockaudit.model import Fix, Location, Severity
from dockaudit.rules.eol import REFRESH_HINT, Named, judge
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule

_LOOPBACK = ("127.0.0.0/8", "::1/128")


@rule(
    id="DA501",
    slug="plaintext-registry-credentials",
    title="Registry credentials stored in plain text",
    severity=Severity.HIGH,
    scope=Scope.HOST,
    section=Section.REGISTRY_CREDENTIALS.value,
    rationale=(
        "Without a credential helper, `docker login` writes the password or token base64-encoded into "
        "config.json, readable by anything running as that user."
    ),
    references=("seed Registry credentials least-privilege",),
    fix=lambda f, c: Fix(
        summary="Use a credential helper (docker-credential-pass, -secretservice, -osxkeychain) and log in again.",
        run='~/.docker/config.json: {"credsStore": "pass"}; then docker logout <registry> && docker login <registry>',
    ),
)
def plaintext_registry_credentials(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """An `auths` entry holds an auth or identity token and no helper covers its registry."""
    where = facts.client_config_path or "config.json"
    hits = []
    for auth in facts.registry_auths:
        if not (auth.has_auth or auth.has_identity_token) or auth.helper or facts.creds_store:
            continue
        kind = "identitytoken" if auth.has_identity_token else "auth"
        hits.append(Hit(f"{where}: auths[{auth.registry}] has a plain-text {kind}", Location(path=where)))
    return hits


@rule(
    id="DA502",
    slug="insecure-registry",
    title="Insecure registry configured",
    severity=Severity.HIGH,
    scope=Scope.HOST,
    section=Section.SCANNING.value,
    rationale=(
        "Images pulled from an insecure registry travel without TLS verification: anyone on the path can "
        "swap them for their own."
    ),
    references=("CIS 2.5",),
    fix=lambda f, c: Fix(
        summary="Serve the registry over TLS (a private CA in /etc/docker/certs.d/<registry>/ca.crt) "
        "and remove it from insecure-registries.",
        dockerfile="",
        run='/etc/docker/daemon.json: { "insecure-registries": [] }',
    ),
)
def insecure_registry(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """`docker info` lists insecure registries other than loopback (or the user's allowlist)."""
    allowed = tuple(getattr(ctx.settings, "allow_registries", ()))
    return [
        Hit(f"insecure registry {reg}")
        for reg in facts.insecure_registries
        if reg not in _LOOPBACK and not any(fnmatch.fnmatch(reg, pattern) for pattern in allowed)
    ]


@rule(
    id="DA503",
    slug="unencrypted-tcp-socket",
    title="Engine reachable over unencrypted TCP",
    severity=Severity.CRITICAL,
    scope=Scope.HOST,
    section=Section.LEAST_PRIVILEGE.value,
    rationale=(
        "The engine API is root on the host; over plain TCP anyone who can reach the port controls it, "
        "and credentials and images cross the network in clear."
    ),
    references=("CIS 2.7",),
    fix=lambda f, c: Fix(
        summary="Listen on TCP only with --tlsverify and client certificates, or reach the engine over ssh://.",
        run="DOCKER_HOST=ssh://user@host; or dockerd --tlsverify --tlscacert ca.pem --tlscert cert.pem --tlskey k.pem",
    ),
)
def unencrypted_tcp_socket(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """The client uses tcp:// without TLS, or the daemon listens on TCP without tlsverify."""
    hits = []
    if facts.endpoint.startswith("tcp://") and not facts.tls:
        hits.append(Hit(f"the engine is reached at {facts.endpoint} without TLS"))
    daemon = facts.daemon_json or {}
    if daemon.get("tlsverify") is not True:
        hits.extend(
            Hit(f"the daemon listens on {host} without tlsverify")
            for host in facts.daemon_hosts
            if host.startswith("tcp://")
        )
    return hits


@rule(
    id="DA504",
    slug="no-live-restore",
    title="Live restore disabled",
    severity=Severity.LOW,
    scope=Scope.HOST,
    section=Section.ONE_PROCESS.value,
    rationale="Without live-restore every daemon restart or upgrade stops every running container.",
    references=("CIS 2.15",),
    fix=lambda f, c: Fix(
        summary="Enable live-restore and reload the daemon.",
        run='/etc/docker/daemon.json: { "live-restore": true }  then: systemctl reload docker',
    ),
)
def no_live_restore(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """LiveRestoreEnabled is false."""
    if facts.podman:
        return Skip("Podman has no long-running daemon, so live-restore does not apply")
    return [] if facts.live_restore else [Hit("docker info: LiveRestoreEnabled is false")]


@rule(
    id="DA505",
    slug="no-userns-remap",
    title="User namespace remapping off",
    severity=Severity.LOW,
    scope=Scope.HOST,
    section=Section.NON_ROOT.value,
    rationale=(
        "Without userns-remap (or a rootless engine) root in a container is UID 0 on the host, so any "
        "escape lands as root."
    ),
    references=("CIS 2.9",),
    fix=lambda f, c: Fix(
        summary="Remap container root to an unprivileged host range, or run the engine rootless.",
        run='/etc/docker/daemon.json: { "userns-remap": "default" }  (or dockerd-rootless-setuptool.sh install)',
    ),
)
def no_userns_remap(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """Security options lack userns and the daemon is not rootless."""
    if facts.rootless or any("userns" in opt for opt in facts.security_options):
        return []
    opts = ", ".join(facts.security_options) or "none"
    return [Hit(f"docker info security options ({opts}) have no userns, and the daemon is not rootless")]


@rule(
    id="DA506",
    slug="default-log-rotation",
    title="Daemon's default logs are not rotated",
    severity=Severity.MEDIUM,
    scope=Scope.HOST,
    section=Section.LOGS.value,
    rationale=(
        "Every container that does not set its own log options inherits the daemon's; json-file without "
        "max-size lets any chatty container fill the host's disk."
    ),
    references=("seed Cap resources / logs",),
    fix=lambda f, c: Fix(
        summary="Give the daemon a default log rotation (applies to containers created afterwards).",
        run='/etc/docker/daemon.json: {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}',
    ),
)
def default_log_rotation(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """The default log driver is json-file without max-size."""
    if facts.logging_driver != "json-file":
        return []
    if facts.daemon_json is None:
        if not facts.endpoint.startswith("unix://"):
            return Skip("the daemon's log options are not visible: daemon.json of a remote engine cannot be read")
        # A local daemon without a readable daemon.json runs with the built-in default: no max-size.
        return [Hit("default log driver json-file, and no daemon.json sets log-opts max-size")]
    opts = facts.daemon_json.get("log-opts")
    if isinstance(opts, dict) and opts.get("max-size"):
        return []
    return [Hit("default log driver json-file without log-opts max-size in daemon.json")]


@rule(
    id="DA507",
    slug="content-trust-off",
    title="Content trust off",
    severity=Severity.INFO,
    scope=Scope.HOST,
    section=Section.SCANNING.value,
    rationale="Without signature verification a pulled tag is trusted whatever pushed it.",
    references=("CIS 4.5",),
    fix=lambda f, c: Fix(
        summary="Verify image signatures: DOCKER_CONTENT_TRUST=1, or cosign/notation policies in CI.",
        run="export DOCKER_CONTENT_TRUST=1",
    ),
)
def content_trust_off(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """DOCKER_CONTENT_TRUST is not 1 in the auditing environment."""
    return [] if facts.content_trust else [Hit("DOCKER_CONTENT_TRUST is not 1")]


def parse_engine_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of an Engine version like `20.10.24` or `27.3.1-ce`; None when unparseable."""
    m = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


@rule(
    id="DA508",
    slug="old-engine",
    title="Engine version end of life",
    severity=Severity.MEDIUM,
    scope=Scope.HOST,
    section=Section.SCANNING.value,
    rationale="An end-of-life engine, runc and containerd no longer get fixes for container escapes.",
    references=(),
    fix=lambda f, c: Fix(
        summary="Upgrade Docker Engine to a supported release (docs.docker.com/engine/install).",
        run="apt-get install docker-ce docker-ce-cli containerd.io",
    ),
)
def old_engine(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """The Engine release line is past its end of support, per the shipped endoflife.date snapshot."""
    if facts.podman:
        return Skip("Podman's release lifecycle is not tracked by dockaudit")
    version = parse_engine_version(facts.server_version)
    if version is None:
        return Skip(f"engine version {facts.server_version!r} is not a Docker Engine version")
    named = Named("docker-engine", f"{version[0]}.{version[1]}", f"Engine {facts.server_version}")
    verdicts, unjudged = judge([named], ctx)
    if unjudged:
        return Skip(f"the end-of-life snapshot does not know {unjudged[0]}: the data may be stale, {REFRESH_HINT}")
    return [Hit(v.describe(), severity=Severity.LOW if v.stale else None) for v in verdicts]


@rule(
    id="DA509",
    slug="reclaimable-space",
    title="Reclaimable disk space",
    severity=Severity.INFO,
    scope=Scope.HOST,
    section=Section.PINNING.value,
    rationale="Dangling images and stopped containers keep disk in use and old, vulnerable images around.",
    references=("seed Garbage collect old tags",),
    fix=lambda f, c: Fix(summary="Prune regularly.", run="docker system prune --filter until=168h"),
)
def reclaimable_space(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """Dangling images and stopped containers free more than the threshold (1 GB)."""
    limit = ctx.settings.thresholds.reclaimable_gb * 1_000_000_000
    if facts.reclaimable_bytes <= limit:
        return []
    return [Hit(f"{facts.reclaimable_bytes / 1e9:.1f} GB reclaimable by docker system prune")]


@rule(
    id="DA510",
    slug="unscanned-running-image",
    title="Running image not scanned recently",
    severity=Severity.MEDIUM,
    scope=Scope.HOST,
    section=Section.SCANNING.value,
    rationale="New CVEs are published daily; an image scanned once at build time drifts out of date while it runs.",
    references=("seed Scan every image",),
    fix=lambda f, c: Fix(summary="Scan running images at least weekly.", run="dockaudit scan --running"),
)
def unscanned_running_image(facts: HostFacts, ctx: RuleContext) -> CheckResult:
    """A running container's image has no scan newer than 7 days.

    `ctx.extra["scan_ages"]` maps each running container's image ID to the time of its last scan (None:
    never scanned); without it the rule is skipped.
    """
    ages = ctx.extra.get("scan_ages")
    if ages is None:
        return Skip("scan history not available (dockaudit's scan cache was not consulted)")
    max_age = timedelta(days=ctx.settings.thresholds.scan_max_age_days)
    hits = []
    for image_id, scanned in sorted(ages.items()):
        if scanned is None:
            hits.append(Hit(f"image {image_id[:19]} has never been scanned", Location(path=image_id)))
        elif isinstance(scanned, datetime) and ctx.now - scanned > max_age:
            days = (ctx.now - scanned).days
            hits.append(Hit(f"image {image_id[:19]} was last scanned {days} days ago", Location(path=image_id)))
    return hits
