"""DA7xx over one service of a Compose project, the helpers the Compose rules share, and `evaluate_service`, which
runs every Compose rule and the DA4xx variants of `compose_container` over a service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from dockaudit.facts.compose import ComposeService, EnvOrigin, ServiceFacts
from dockaudit.model import Finding, Fix, Location, Severity, Status
from dockaudit.rules.container import ALL_INTERFACES
from dockaudit.rules.fixes import compose_service
from dockaudit.rules.known_images import is_datastore
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, evaluate, rule

COMPOSE = Scope.COMPOSE

TWINS: tuple[tuple[str, str], ...] = (("DA702", "DA423"), ("DA703", "DA427"))
"""(reported, folded): a Compose finding of the first rule also stands for the second on the same line."""

LIVE_ONLY: Mapping[str, str] = {
    "DA418": "restart counts exist only for a running container, not for a Compose definition",
    "DA420": "PID 1 is known only from the processes of a running container (docker top)",
    "DA421": "zombies and init are known only from the processes of a running container (docker top)",
    "DA422": "the services a container runs are known only from its processes (docker top)",
    "DA430": "masked kernel paths are known only once the engine has created the container",
    "DA431": "the OOM-killer setting is judged on the created container",
    "DA432": "OOM kills and crash loops are known only for a running container",
}
"""DA4xx rules a definition cannot decide, with the reason they are skipped."""


def service_fix(summary: str, settings: Mapping[str, object]) -> Callable[[ServiceFacts, RuleContext], Fix]:
    """A fix builder giving a Compose snippet under the service's own name."""
    return lambda f, c: Fix(summary=summary, compose=compose_service(settings, f.service.name))


def service_removal_fix(summary: str, lines: Sequence[str]) -> Callable[[ServiceFacts, RuleContext], Fix]:
    def build(f: ServiceFacts, c: RuleContext) -> Fix:
        body = "\n".join(f"    # {line}" for line in lines)
        return Fix(summary=summary, compose=f"services:\n  {f.service.name}:\n    # remove:\n{body}")

    return build


def key_location(service: ComposeService, *keys: str) -> Location:
    return service.where(*keys)


def secret_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    svc = facts.service
    names = [e.name for e in svc.environment if e.written_secret is not None] or ["APP_SECRET"]
    name = names[0]
    secret = name.lower()
    return Fix(
        summary=(
            f"Move the value into a secret file (kept out of version control) and point the app at it with "
            f"{name}_FILE, which official images read; `dockaudit harden` does this where the image supports it."
        ),
        compose=(
            f"services:\n  {svc.name}:\n    environment:\n      {name}_FILE: /run/secrets/{secret}\n"
            f"    secrets:\n      - {secret}\nsecrets:\n  {secret}:\n    file: ./secrets/{secret}.txt"
        ),
    )


def literal_in_project(origin: EnvOrigin) -> bool:
    return origin in (EnvOrigin.COMPOSE_FILE, EnvOrigin.DEFAULT, EnvOrigin.INTERPOLATED, EnvOrigin.ENV_FILE)


def is_public_host_ip(port_host_ip: str) -> bool:
    return port_host_ip in ALL_INTERFACES


def port_text(published: str, target: int, protocol: str) -> str:
    host = f"host port {published}" if published else "a random host port"
    return f"{target}/{protocol} is published on {host} on all interfaces"


# ---------------------------------------------------------------------------------------- DA7xx


def _healthy_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    deps = [d.service for d in facts.service.depends_on if d.service_healthcheck] or ["db"]
    return Fix(
        summary="Wait for the dependency's healthcheck, not just its start.",
        compose=compose_service(
            {"depends_on": {d: {"condition": "service_healthy"} for d in deps}}, facts.service.name
        ),
    )


@rule(
    id="DA701",
    slug="depends-on-not-healthy",
    title="Dependency healthcheck not waited for",
    severity=Severity.MEDIUM,
    scope=COMPOSE,
    section=Section.HEALTHCHECK.value,
    rationale=(
        "A healthcheck nobody waits for protects nothing at start-up: with the short form (service_started) "
        "the service starts as soon as its database container exists, not when it accepts connections."
    ),
    references=("seed HEALTHCHECK defined and consumed",),
    fix=_healthy_fix,
)
def depends_on_not_healthy(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A dependency with a healthcheck of its own, waited on with a condition other than service_healthy."""
    return [
        Hit(f"depends_on {d.service} with condition {d.condition}, but {d.service} has a healthcheck", d.location)
        for d in facts.service.depends_on
        if d.service_healthcheck and d.condition != "service_healthy"
    ]


@rule(
    id="DA702",
    slug="secret-in-compose-env",
    title="Secret written in a Compose environment",
    severity=Severity.HIGH,
    scope=COMPOSE,
    section=Section.SECRETS.value,
    rationale=(
        "A secret written in compose.yaml or a committed env_file is in version control and in `docker inspect` "
        "output; Compose secrets mount it as a file instead, and official images read `NAME_FILE`."
    ),
    references=("seed Compose secrets",),
    fix=secret_fix,
)
def secret_in_compose_env(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A secret-named or credential-format value written in the project's files (environment, default, env_file)."""
    hits = []
    for env in facts.service.environment:
        if env.written_secret is None or not literal_in_project(env.origin):
            continue
        where = {
            EnvOrigin.COMPOSE_FILE: "is written in the Compose file",
            EnvOrigin.DEFAULT: "has its default written in the Compose file",
            EnvOrigin.INTERPOLATED: "is partly written in the Compose file",
            EnvOrigin.ENV_FILE: "is written in an env_file of the project",
        }[env.origin]
        hits.append(Hit(f"{env.name}={env.value} {where} ({env.written_secret.detail})", env.location))
    return hits


def _datastore_fix(facts: ServiceFacts, ctx: RuleContext) -> Fix:
    ports = [p for p in facts.service.ports if is_public_host_ip(p.host_ip)]
    shown = [f"127.0.0.1:{p.published}:{p.target}" if p.published else f"127.0.0.1::{p.target}" for p in ports]
    return Fix(
        summary="Bind the port to 127.0.0.1 (other services reach it by service name on the project network).",
        compose=compose_service({"ports": shown or ["127.0.0.1:5432:5432"]}, facts.service.name),
    )


@rule(
    id="DA703",
    slug="datastore-port-public",
    title="Datastore port published on all interfaces",
    severity=Severity.HIGH,
    scope=COMPOSE,
    section=Section.LEAST_PRIVILEGE.value,
    rationale=(
        "Databases, caches and brokers published on every interface are reachable from the network, past the "
        "host firewall (Docker's iptables rules come first); they are found and brute-forced within hours."
    ),
    references=("CIS 5.14 spirit",),
    fix=_datastore_fix,
)
def datastore_port_public(facts: ServiceFacts, ctx: RuleContext) -> CheckResult:
    """A database, cache or broker image publishes a port without `host_ip` or on all interfaces."""
    svc = facts.service
    if not is_datastore(svc.image):
        return []
    return [
        Hit(f"{svc.image}: {port_text(p.published, p.target, p.protocol)}", p.location)
        for p in svc.ports
        if is_public_host_ip(p.host_ip)
    ]


def _fold_twins(findings: list[Finding], passed: list[str]) -> tuple[list[Finding], list[str]]:
    """One finding per flaw: a folded rule's failure on a line its twin reports becomes the twin's `also`."""
    for owner_id, folded_id in TWINS:
        owners = [f for f in findings if f.rule_id == owner_id and f.status is Status.FAIL]
        lines = {(f.location.path, f.location.line) for f in owners}
        folded = [
            f
            for f in findings
            if f.rule_id == folded_id and f.status is Status.FAIL and (f.location.path, f.location.line) in lines
        ]
        if not folded:
            continue
        covered = {(f.location.path, f.location.line) for f in folded}
        findings = [f for f in findings if f not in folded]
        findings = [
            replace(f, also=(*f.also, folded_id))
            if f in owners and (f.location.path, f.location.line) in covered
            else f
            for f in findings
        ]
    return findings, passed


def evaluate_service(facts: ServiceFacts, ctx: RuleContext) -> tuple[list[Finding], list[str]]:
    """Every Compose rule and decidable DA4xx variant over one service: its findings and passed rule ids."""
    from dockaudit.rules import load_all

    load_all()
    findings, passed = evaluate([COMPOSE], facts, ctx)
    return _fold_twins(findings, passed)
