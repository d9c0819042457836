"""The HEALTHCHECK pass: an HTTP probe when a port and a client are known, else a placeholder that fails."""

from __future__ import annotations

import json
import re

from dockaudit.harden.context import HardenContext, StageEnv
from dockaudit.harden.document import Document, Edit, Instruction
from dockaudit.harden.passes import PassOutput, env_for, why
from dockaudit.harden.result import Change

RULES = ("DA102", "DA608")
TIMING = "--interval=30s --timeout=5s --start-period=15s --retries=3"
PLACEHOLDER_MESSAGE = "dockaudit: no health probe configured; replace this HEALTHCHECK"
PLACEHOLDER_BINARY = "/dockaudit-replace-this-healthcheck"
"""Exec'd where there is no shell: the path does not exist, so the check fails instead of passing."""

_PORT = re.compile(r"^(\d+)(/tcp)?$")
_HTTP_PORTS = (80, 8080, 8000, 3000, 5000, 8081, 8443, 443, 9000)


def probe(env: StageEnv, port: int | None) -> tuple[list[str], bool]:
    """The health command for a port (exec form), and whether it is a real probe or the failing placeholder."""
    client = env.http_client
    if port is not None and client is not None:
        url = f"http://127.0.0.1:{port}/"
        if client == "curl":
            return ["curl", "-fsS", "-o", "/dev/null", url], True
        return ["wget", "-q", "-O", "/dev/null", url], True
    if env.has_shell:
        return ["/bin/sh", "-c", f"echo '{PLACEHOLDER_MESSAGE}' >&2; exit 1"], False
    return [PLACEHOLDER_BINARY], False


def exposed_port(ports: list[str]) -> int | None:
    """The port an HTTP probe should try: a well-known HTTP port when one is exposed, else the first TCP port."""
    numbers = [int(m.group(1)) for p in ports if (m := _PORT.match(p.strip()))]
    for known in _HTTP_PORTS:
        if known in numbers:
            return known
    return numbers[0] if numbers else None


def healthcheck_pass(doc: Document, ctx: HardenContext) -> PassOutput:
    """Add a HEALTHCHECK to the final stage when it has none (or `HEALTHCHECK NONE`) and its base has none."""
    stage = doc.final_stage
    if stage is None:
        return PassOutput()
    env = env_for(doc, stage, ctx)
    checks = [i for i in stage.instructions if i.cmd == "HEALTHCHECK"]
    disabled: Instruction | None = None
    if checks:
        last = checks[-1]
        if not (last.value and last.value[0].upper() == "NONE"):
            return PassOutput()
        disabled = last
    elif env.base is not None and env.base.has_healthcheck:
        return PassOutput()
    ports = [p for i in stage.instructions if i.cmd == "EXPOSE" for p in i.value]
    if not ports:
        ports = list(ctx.exposed_ports) or list(env.base.exposed_ports if env.base else ())
    port = exposed_port(ports)
    argv, real = probe(env, port)
    starters = [i for i in stage.instructions if i.cmd in ("CMD", "ENTRYPOINT")]
    tail = stage.instructions[-1] if stage.instructions else doc.instructions[stage.from_index]
    anchor = disabled or (starters[0] if starters else tail)
    if real:
        comment = f"probe the HTTP port {port}; point it at the app's health endpoint"
        summary = f"HEALTHCHECK probing http://127.0.0.1:{port}/ with {argv[0]}"
        notes: tuple[str, ...] = ()
    else:
        comment = "PLACEHOLDER that fails until you write a real probe"
        summary = "HEALTHCHECK placeholder that reports unhealthy until filled in"
        why_none = "no exposed port" if port is None else "no curl or wget in the image"
        notes = (
            f"The HEALTHCHECK added to the final stage is a placeholder ({why_none}): it reports the container "
            "unhealthy until you replace it with a real probe, such as the app's own health subcommand",
        )
    text = why(anchor.indent, comment, RULES) + f"{anchor.indent}HEALTHCHECK {TIMING} CMD {json.dumps(argv)}\n"
    change = Change(RULES, summary, doc.origin(anchor))
    if disabled is not None:
        return PassOutput((Edit(disabled.index, replace=text),), (change,), notes)
    if anchor.cmd in ("CMD", "ENTRYPOINT"):
        return PassOutput((Edit(anchor.index, before=text),), (change,), notes)
    return PassOutput((Edit(anchor.index, after=text),), (change,), notes)
