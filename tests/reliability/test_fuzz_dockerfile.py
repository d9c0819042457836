"""Fuzzing the Dockerfile parser, its rules, the adapter and the hardener with malformed and hostile text.

The harden helper's property tests (tests/harden/test_properties.py) cover well-formed Dockerfiles and
idempotence; these feed what a hostile or broken repository holds: unknown flags, broken JSON forms,
unclosed heredocs and quotes, escape directives, control characters, stray continuations.
"""

from __future__ import annotations

import contextlib

import dockerfile
from hypothesis import example, given
from hypothesis import strategies as st

from dockaudit.errors import DockauditError
from dockaudit.harden import harden_dockerfile_text
from dockaudit.harden.document import DockerfileSyntaxError
from dockaudit.parse.dockerfile import parse_dockerfile_text
from dockaudit.parse.dockerfile_image import image_facts_from_dockerfile
from dockaudit.rules import load_all
from dockaudit.rules.registry import Scope, evaluate
from tests.reliability.fuzzing import FUZZ
from tests.rules.conftest import make_ctx

KEYWORDS = (
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "MAINTAINER",
    "from",
    "Run",
)
FRAGMENTS = st.sampled_from(
    [
        "scratch",
        "alpine:3.19 AS build",
        "--platform=$BUILDPLATFORM debian:12",
        "${BASE:-x}",
        "$UNSET",
        "AS",
        '["/bin/sh", "-c"',
        '["a", 1]',
        "[]",
        '[""]',
        "[",
        "\\",
        "\\\n",
        "<<EOF",
        "<<-'EOF'\nbody",
        "EOF",
        "--from=0",
        "--from=stage9",
        "--chown=${U}:0",
        "--chmod=7777",
        "--mount=type=secret,id=x",
        "--mount=type=bind",
        "--network=none",
        "--interval=0s",
        "--retries=-1",
        "NONE",
        "CMD",
        "SIGKILL",
        "0",
        "65536/tcp",
        "-1",
        "a=b",
        "a=",
        "=b",
        '"unterminated',
        "'single",
        "${A:?err}",
        "${A/x/y}",
        "%",
        "#",
        "# escape=`",
        "`",
        "AKIAZDOCKAUDITFAKE01",
        "ghp_DockAuditFakeGithubToken0123456789ab",
        "\x1b]52;c;eA==\x07",
        "\u202e",
        "<script>alert(1)</script>",
        "\t",
        "\x00",
        "\r",
        "é",
        "..",
        "/",
        "~",
        "*",
        "**/*.go",
        "http://x/y.tar",
        "curl -fsSL https://x | sh",
        "apt-get install -y x",
        "sudo su",
        "chmod 777 /",
        "useradd -u 0 x",
    ]
)
WORDS = st.one_of(FRAGMENTS, st.text(max_size=12))


@st.composite
def hostile_dockerfiles(draw: st.DrawFn) -> str:
    """Lines of keywords and fragments, sometimes without a FROM, sometimes with random text between."""
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append(
            draw(
                st.sampled_from(
                    ["# syntax=docker/dockerfile:1", "# escape=`", "# escape=\\", "# check=skip=all", "#escape=x"]
                )
            )
        )
    if draw(st.integers(0, 4)):
        lines.append("FROM " + draw(FRAGMENTS))
    for _ in range(draw(st.integers(0, 10))):
        keyword = draw(st.sampled_from(KEYWORDS))
        words = draw(st.lists(WORDS, max_size=5))
        lines.append(" ".join([keyword, *words]))
    separator = draw(st.sampled_from(["\n", "\r\n", "\n\n", "\\\n"]))
    return separator.join(lines) + draw(st.sampled_from(["", "\n", "\\"]))


def _parses(text: str) -> bool:
    try:
        dockerfile.parse_string(text)
    except dockerfile.GoParseError:
        return False
    return True


@FUZZ
@given(hostile_dockerfiles())
@example("FROM scratch\nRUN <<EOF\nunclosed heredoc")
@example('FROM scratch\nCMD ["a", 1]\n')
@example("\x00FROM scratch\n")
@example("ARG A\nFROM ${A}\n")
@example("FROM scratch\nHEALTHCHECK --interval=0s CMD\n")
@example("\\")  # once crashed: a lone continuation parses as a command with no instruction
@example("HEALTHCHECK à")  # once crashed: the Go parser's error message was cut inside a UTF-8 sequence
@example("FROM scratch\nEXPOSE ²")  # once crashed: '²'.isdigit() is true, int('²') fails
@example('FROM scratch\nENV PORT=³\nCMD ["node", "server.js"]\n')
def test_parser_and_rules_give_facts_or_a_usage_error(text: str) -> None:
    try:
        facts = parse_dockerfile_text(text, "Dockerfile")
    except DockauditError:
        return
    load_all()
    evaluate((Scope.DOCKERFILE,), facts, make_ctx())
    evaluate((Scope.IMAGE, Scope.HISTORY), image_facts_from_dockerfile(facts), make_ctx())


@FUZZ
@given(hostile_dockerfiles())
@example("FROM scratch\nUSER \x1b]52;c;eA==\x07\n")
@example("FROM a AS b\nFROM b AS a\nCOPY --from=a / /\n")
@example("FROM scratch\n\\")  # once crashed the hardener: see above
@example("FROM")
@example("FROM\nFROM\nUSER")  # once crashed the user pass: USER without its argument
@example("HEALTHCHECK 0\xa00")
def test_hardener_output_parses_or_input_is_rejected(text: str) -> None:
    try:
        result = harden_dockerfile_text(text)
    except (DockerfileSyntaxError, DockauditError):
        return
    assert _parses(result.hardened), result.hardened


@FUZZ
@given(st.text(max_size=400))
def test_any_text_at_all(text: str) -> None:
    with contextlib.suppress(DockauditError):
        parse_dockerfile_text(text, "Dockerfile")
    try:
        result = harden_dockerfile_text(text)
    except (DockerfileSyntaxError, DockauditError):
        return
    assert _parses(result.hardened)
