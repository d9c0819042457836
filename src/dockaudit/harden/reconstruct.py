"""Rebuild a Dockerfile from an image's history and config when the real one is not at hand."""

from __future__ import annotations

import json
import re
import shlex

from dockaudit.facts.image import Healthcheck, HistoryEntry, ImageFacts
from dockaudit.model import Origin

_LEGACY_SOURCE = re.compile(r"^(?P<kind>file|dir|multi):(?P<hash>[0-9a-f]+) in (?P<dest>.+)$")
_GO_MAP = re.compile(r"^map\[(?P<body>.*)\]$")
_GO_LIST = re.compile(r"^\[(?P<body>.*)\]$")
_PAIR_SPLIT = re.compile(r"\s+(?=[A-Za-z_][A-Za-z0-9_.\-]*=)")
UNKNOWN_SOURCE = "./SOURCE-UNKNOWN"
"""Stands in for a COPY/ADD source the legacy builder recorded only as a content hash."""
UNKNOWN_BASE = "BASE-IMAGE-UNKNOWN"


def _duration(ns: int) -> str:
    seconds = ns / 1_000_000_000
    return f"{seconds:g}s"


def healthcheck_line(check: Healthcheck) -> str:
    """A HEALTHCHECK instruction equivalent to an image's `Config.Healthcheck`."""
    if check.disabled:
        return "HEALTHCHECK NONE"
    options = [
        f"--{name}={_duration(value)}"
        for name, value in (
            ("interval", check.interval_ns),
            ("timeout", check.timeout_ns),
            ("start-period", check.start_period_ns),
        )
        if value
    ]
    if check.retries:
        options.append(f"--retries={check.retries}")
    kind, *args = check.test
    command = " ".join(args) if kind == "CMD-SHELL" else json.dumps(args)
    return " ".join(["HEALTHCHECK", *options, "CMD", command])


def _script(text: str) -> str:
    """A RUN body; one with several lines (a heredoc script in history) becomes a heredoc again."""
    if "\n" not in text.strip():
        return text.strip()
    delimiter = "EOF"
    while delimiter in text.splitlines():
        delimiter += "_"
    return f"<<{delimiter}\n{text.strip()}\n{delimiter}"


def _go_words(body: str) -> list[str]:
    """Words of a Go-printed `map[a:{} b:{}]` or `[a b]`, as BuildKit records EXPOSE and VOLUME."""
    for pattern in (_GO_MAP, _GO_LIST):
        m = pattern.match(body)
        if m is not None:
            return [w.split(":{}", 1)[0] for w in m.group("body").split()]
    return body.split()


def _exec_list(body: str) -> str:
    """A CMD/ENTRYPOINT body as JSON; the legacy builder prints Go's `["a" "b"]`, which is not JSON."""
    text = body.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return text
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        pass
    try:
        return json.dumps(shlex.split(text[1:-1]))
    except ValueError:
        return text


def _pairs(body: str) -> list[str]:
    """`NAME=value` words of an ENV/LABEL/ARG body, values quoted where history left spaces bare."""
    words = []
    for part in _PAIR_SPLIT.split(body.strip()):
        name, sep, value = part.partition("=")
        quoted = len(value) > 1 and value[0] == value[-1] and value[0] in "\"'"
        if sep and value and not quoted and (any(c.isspace() for c in value) or '"' in value or "\\" in value):
            value = json.dumps(value, ensure_ascii=False)
        words.append(f"{name}{sep}{value}")
    return words


def _instruction(step: HistoryEntry, facts: ImageFacts) -> list[str]:
    """Dockerfile lines for one user step; comments explain what could not be recovered."""
    kind, body = step.instruction, step.body
    flags = "".join(f"{f} " for f in step.flags)
    if not kind:
        return [f"# history step {step.index}: made by `docker commit`; its changes cannot be reproduced"]
    if kind == "RUN":
        return [f"RUN {flags}{_script(body)}"]
    if kind in ("CMD", "ENTRYPOINT"):
        return [f"{kind} {_exec_list(body)}"]
    if kind in ("COPY", "ADD"):
        m = _LEGACY_SOURCE.match(body)
        if m is not None:
            return [
                f"# the builder recorded only a hash of this {kind} source ({m.group('kind')}:{m.group('hash')[:12]})",
                f"{kind} {flags}{UNKNOWN_SOURCE} {m.group('dest').strip()}",
            ]
        return [f"{kind} {flags}{body}"]
    if kind == "EXPOSE":
        return [f"EXPOSE {' '.join(_go_words(body))}"]
    if kind == "VOLUME":
        return [f"VOLUME {json.dumps(_go_words(body))}"]
    if kind == "HEALTHCHECK":
        check = facts.config.healthcheck
        return [healthcheck_line(check)] if check is not None else []
    if kind in ("ENV", "LABEL", "ARG") and "=" in body:
        return [f"{kind} {' '.join(_pairs(body))}"]
    if kind == "MAINTAINER":
        return [f'LABEL maintainer="{body}"']
    return [f"{kind} {flags}{body}".rstrip()]


def reconstruct_dockerfile(facts: ImageFacts) -> str:
    """A Dockerfile equivalent to the image's own steps, under a header saying it is a reconstruction."""
    steps = facts.steps
    base_steps = [s for s in steps if s.origin is Origin.BASE]
    own = [s for s in steps if s.origin is not Origin.BASE]
    if facts.base_image:
        base = facts.base_image
        assumed = f"{base}, found locally by its layers"
    elif base_steps:
        base = UNKNOWN_BASE
        assumed = f"an unknown image made of the first {len(base_steps)} history steps; put its name in FROM"
    else:
        base = "scratch"
        assumed = "scratch: no base image boundary was found, so every history step is reproduced"
    short_id = facts.id.removeprefix("sha256:")[:12]
    lines = [
        f"# Reconstructed by dockaudit from the history and config of {facts.name} ({short_id}).",
        "# This is NOT the original Dockerfile: sources the builder recorded only as hashes are placeholders.",
        f"# Assumed base: {assumed}.",
        f"FROM {base}",
    ]
    for step in own:
        lines.extend(_instruction(step, facts))
    seen = {s.instruction for s in own}
    if facts.config.healthcheck is not None and "HEALTHCHECK" not in seen:
        # A healthcheck set outside the history (e.g. `docker commit --change`) still belongs to the image.
        lines.append(healthcheck_line(facts.config.healthcheck))
    return "\n".join(lines) + "\n"
