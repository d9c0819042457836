"""The HEALTHCHECK pass: a probe only when one can pass, else a commented template and the reason.

A probe can pass when the runtime stage is known to serve HTTP on an exposed port (or the user gave
`--healthcheck-url`) and has a client: curl, wget, or the language runtime (python, node) doing the request.
Without an explicit URL the probe only asks that the server answers HTTP at all, whatever the status, so a
`/` that returns 404 or 401 does not mark a working container unhealthy.
"""

from __future__ import annotations

import json

from dockaudit.facts.dockerfile import RuntimeFacts
from dockaudit.harden.document import Document, Edit, Instruction
from dockaudit.harden.passes import PassOutput, flagged_line, has_mark, has_mark_after, runtime_stage, why
from dockaudit.harden.plan import Plan
from dockaudit.harden.result import Change, Unfixed

RULES = ("DA102", "DA608")
TIMING = "--interval=30s --timeout=5s --start-period=15s --retries=3"
JVM_TIMING = "--interval=30s --timeout=5s --start-period=300s --retries=3"
"""A JVM server (Jenkins, SonarQube, Metabase, Tomcat apps) can take minutes to start; a passing probe ends the
start period at once, so a long one costs nothing and keeps a slow start from reading `unhealthy` (which fails
Compose's `depends_on: service_healthy`)."""
TEMPLATE_MARK = "no HEALTHCHECK added"
_STATIC_SERVERS = ("nginx", "httpd", "caddy", "python -m http.server")
"""Servers whose `/` answers 200 for a site they serve, so a status-checking client fits. Not Tomcat: the official
image's webapps directory is empty (its examples moved to webapps.dist in 2019), so `/` answers 404 unless the app
is deployed as ROOT."""


def probe(runtime: RuntimeFacts, url: str, strict: bool) -> list[str] | None:
    """The exec-form health command for `url` with a client the stage has; None when it has none.

    `strict`: the URL is a health endpoint, so any error status fails the check.
    """
    has = runtime.has_tool
    if has("curl"):
        return ["curl", "-fsS", "-o", "/dev/null", url] if strict else ["curl", "-sS", "-o", "/dev/null", url]
    static = not runtime.http_fronts_app and any(server in runtime.http_reason for server in _STATIC_SERVERS)
    if has("wget") and (strict or static):
        return ["wget", "-q", "-O", "/dev/null", url]
    # Only python3: a bare `python` may be Python 2, which has no http.client to run the probe.
    python = "python3" if has("python3") else None
    program = runtime.command[0].rsplit("/", 1)[-1] if runtime.command else ""
    node_app = program in ("node", "nodejs", "npm", "yarn", "pnpm") or "node" in runtime.http_reason
    if has("node") and (node_app or python is None):
        return _node_probe(url, strict)
    if has("ruby") and (_ruby_app(runtime) or python is None):
        return _ruby_probe(url, strict)
    if python is not None:
        if strict:
            code = f"import urllib.request as r; r.urlopen({url!r}, timeout=4)"
        else:
            # Any HTTP answer counts: the connection and the response must work, the status may be anything.
            code = (
                f"import http.client as h, urllib.parse as p; u = p.urlsplit({url!r}); "
                "c = h.HTTPConnection(u.hostname, u.port or 80, timeout=4); c.request('GET', u.path or '/'); "
                "c.getresponse()"
            )
        return [python, "-c", code]
    return None


def _ruby_app(runtime: RuntimeFacts) -> bool:
    words = [w.rsplit("/", 1)[-1] for w in runtime.command[:3]]
    return bool({"ruby", "bundle", "puma", "rails", "unicorn", "rackup"} & set(words))


def _ruby_probe(url: str, strict: bool) -> list[str]:
    """`ruby -e` doing the request with Net::HTTP (in Ruby's standard library): any HTTP answer passes unless
    `strict`; a refused or timed-out connection raises, which exits 1."""
    check = "; exit(r.code.to_i < 400)" if strict else ""
    code = (
        f"require 'net/http'; u = URI({url!r}); "
        "r = Net::HTTP.start(u.host, u.port, open_timeout: 4, read_timeout: 4) { |h| h.get(u.request_uri) }"
        f"{check}"
    )
    return ["ruby", "-e", code]


def _node_probe(url: str, strict: bool) -> list[str]:
    """`node -e` doing the request: any HTTP answer passes unless `strict`."""
    check = "r.statusCode < 400 ? 0 : 1" if strict else "0"
    code = (
        f"require('http').get({url!r}, r => process.exit({check}))"
        ".on('error', () => process.exit(1)).setTimeout(4000, () => process.exit(1))"
    )
    return ["node", "-e", code]


def healthcheck_pass(doc: Document, plan: Plan) -> PassOutput:
    """Add (or repair) the runtime stage's HEALTHCHECK when the scan flagged it and a probe can pass."""
    runtime = plan.runtime
    stage = runtime_stage(doc, plan)
    if runtime is None or stage is None or not plan.flagged(RULES):
        return PassOutput()
    finding = plan.finding("DA608") or plan.finding("DA102")
    line = finding.location.line if finding is not None else None
    checks = [i for i in stage.instructions if i.cmd == "HEALTHCHECK"]
    existing = checks[-1] if checks else None
    if existing is not None and existing.value and existing.value[0].upper() == "NONE":
        reason = "HEALTHCHECK NONE switches the check off on purpose; replace it by hand with a probe of the app"
        return PassOutput(unfixed=(Unfixed(RULES, reason, doc.origin(existing)),))
    starters = [i for i in stage.instructions if i.cmd in ("CMD", "ENTRYPOINT")]
    tail = stage.instructions[-1] if stage.instructions else doc.instructions[stage.from_index]
    anchor: Instruction = starters[0] if starters else tail
    chosen = _check(runtime, plan.ctx.healthcheck_url)
    if isinstance(chosen, str):
        return _template(doc, anchor, existing, chosen, line)
    argv, probed, what = chosen
    timing = JVM_TIMING if runtime.slow_start else TIMING
    command = f"{anchor.indent}HEALTHCHECK {timing} CMD {json.dumps(argv)}\n"
    if existing is not None:
        if not flagged_line(doc, plan, existing, RULES):
            return PassOutput()
        text = why(existing.indent, f"the old check called a tool the image does not have; probe {what}", RULES)
        change = Change(RULES, f"HEALTHCHECK now probes {probed}", doc.origin(existing))
        return PassOutput((Edit(existing.index, replace=text + command),), (change,))
    text = why(anchor.indent, f"probe {what}", RULES) + command
    change = Change(RULES, f"HEALTHCHECK probing {probed}", doc.origin(anchor))
    if anchor.cmd in ("CMD", "ENTRYPOINT"):
        return PassOutput((Edit(anchor.index, before=text),), (change,))
    return PassOutput((Edit(anchor.index, after=text),), (change,))


def _check(runtime: RuntimeFacts, given_url: str | None) -> tuple[list[str], str, str] | str:
    """(health command, what it probes for the change list, why-comment words), or why no check can pass.

    The user's URL first; then the server's own health command (pg_isready...), which ships with the server (a
    Dockerfile's tool tracking cannot see a server's companions, so it is not asked; a built image's files are);
    then an HTTP probe of the port the image is known to serve HTTP on, with a client the stage has.
    """
    own = runtime.health_command
    if given_url is None and own:
        return list(own), f"with {own[0]}", f"with the server's own health command: {runtime.health_command_reason}"
    url, strict = given_url, given_url is not None
    if url is None and runtime.http_port is not None:
        url = f"http://127.0.0.1:{runtime.http_port}{runtime.health_path or '/'}"
        # The service's own health path answers 200 when it is healthy: a status-checking probe fits it.
        strict = runtime.health_path is not None
    if url is None and runtime.http_unsure:
        return runtime.http_unsure
    if url is None:
        exposed = ", ".join(str(p) for p in runtime.exposed_ports)
        return (
            f"no port is known to serve HTTP (EXPOSE {exposed} is not known to speak HTTP)"
            if exposed
            else "no port is known to serve HTTP"
        ) + "; give the app's health URL with --healthcheck-url"
    argv = probe(runtime, url, strict)
    if argv is None:
        wget = "; wget fails on an error status, and / is not known to answer 200" if runtime.has_tool("wget") else ""
        return (
            "the image has no HTTP client known to work here (curl, python and node are not known to be in the image "
            f"built FROM {runtime.base}{wget})"
        )
    if given_url is not None:
        what = "the app's health URL"
    elif strict:
        what = f"its health path {runtime.health_path} ({runtime.http_reason})"
    else:
        what = f"that the server answers HTTP ({runtime.http_reason})"
    return argv, f"{url} with {argv[0]}", what


def _template(
    doc: Document, anchor: Instruction, existing: Instruction | None, reason: str, line: int | None
) -> PassOutput:
    """A commented HEALTHCHECK to fill in, and the finding left with its reason; never a probe that cannot pass."""
    if existing is not None:
        # The scan flagged the file's own check: it calls a tool the image does not have. Removing it would change
        # what `depends_on: service_healthy` and orchestrators see, so it stays, with the reason no probe replaces it.
        reason = f"the HEALTHCHECK (line {doc.origin(existing)}) calls a tool the image does not have, and {reason}"
    unfixed = (Unfixed(RULES, f"no HEALTHCHECK was added: {reason}", line),)
    target = existing or anchor
    if has_mark(doc, target, TEMPLATE_MARK) or has_mark_after(doc, target, TEMPLATE_MARK):
        return PassOutput(unfixed=unfixed)
    indent = target.indent
    text = why(indent, f"{TEMPLATE_MARK}: {reason}", RULES)
    text += f'{indent}# HEALTHCHECK {TIMING} CMD ["<client>", "http://127.0.0.1:<port>/<health path>"]\n'
    if target.cmd in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
        return PassOutput((Edit(target.index, before=text),), unfixed=unfixed)
    return PassOutput((Edit(target.index, after=text),), unfixed=unfixed)
