"""Property tests over generated Dockerfiles: the output parses, hardening is idempotent, nothing is lost."""

from __future__ import annotations

import dockerfile
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from dockaudit.harden import BaseImage, HardenContext, harden_dockerfile_text
from dockaudit.harden.document import Document
from tests.harden.corpus_check import hadolint

BASES = [
    "scratch",
    "alpine:3.19",
    "debian:12-slim",
    "ubuntu:24.04",
    "gcr.io/distroless/static-debian12",
    "python:3.12-slim",
    "node:20-alpine",
    "golang:1.22",
    "eclipse-temurin:21-jre",
    "registry.local/app",
]
WORDS = st.sampled_from(["app", "web", "x", "data", "srv", "main", "8080", "README.md", "src", "conf"])
SHELL_CMDS = st.sampled_from(
    [
        "apt-get update",
        "apt-get install -y curl ca-certificates",
        "apt-get update && apt-get install -y gcc",
        "apk add python3",
        "apk update && apk add --no-cache git",
        "pip install -r requirements.txt",
        "python -m pip install flask",
        "npm ci",
        "npm install --omit=dev",
        "dnf install -y git",
        "yum install -y tar",
        "echo hello > /tmp/x",
        "make -j4",
        "go build -o /out/app .",
        "chmod +x /app/run.sh",
        "useradd -u 1000 app",
        "adduser -D -u 1001 -G web web",
        "curl -fsSL https://example.com/x -o /x",
        "true # trailing",
        "echo $API_TOKEN > /dev/null",
        "mvn -q package",
    ]
)
NAMES = st.sampled_from(
    [
        "DEBUG",
        "PORT",
        "API_TOKEN",
        "DB_PASSWORD",
        "NODE_VERSION",
        "GPG_KEY",
        "APP_ENV",
        "AWS_SECRET_ACCESS_KEY",
        "SECRET_KEY_BASE",
        "PATH",
        "LANG",
    ]
)
VALUES = st.sampled_from(["1", "8080", "production", "s3cr3t-v4lue", "/usr/local/bin:$PATH", '"a b"', "${PORT}"])


@st.composite
def shell_run(draw: st.DrawFn) -> str:
    parts = draw(st.lists(SHELL_CMDS, min_size=1, max_size=3))
    flags = draw(st.sampled_from(["", "--mount=type=cache,target=/root/.cache ", "--network=host "]))
    if draw(st.booleans()):
        return f"RUN {flags}" + " \\\n    && ".join(parts)
    return f"RUN {flags}" + " && ".join(parts)


@st.composite
def instruction(draw: st.DrawFn, stages: list[str]) -> str:
    kind = draw(
        st.sampled_from(
            [
                "RUN",
                "RUN",
                "RUNJSON",
                "HEREDOC",
                "COPY",
                "ADD",
                "ENV",
                "ARG",
                "USER",
                "WORKDIR",
                "EXPOSE",
                "CMD",
                "ENTRYPOINT",
                "HEALTHCHECK",
                "STOPSIGNAL",
                "LABEL",
                "COMMENT",
            ]
        )
    )
    word = draw(WORDS)
    if kind == "RUN":
        return draw(shell_run())
    if kind == "RUNJSON":
        return 'RUN ["/bin/sh", "-c", "echo hi"]'
    if kind == "HEREDOC":
        return "RUN <<EOT\napt-get update\napt-get install -y curl\nEOT"
    if kind in ("COPY", "ADD"):
        src = draw(st.sampled_from([word, f"{word}.tar.gz", f"https://example.com/{word}.bin", "."]))
        flag = draw(st.sampled_from(["", "--chown=1000:1000 ", *(f"--from={s} " for s in stages)]))
        if kind == "COPY" and src.startswith("http"):
            src = word
        return f"{kind} {flag}{src} /{word}/"
    if kind in ("ENV", "ARG"):
        pairs = draw(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=3, unique_by=lambda p: p[0]))
        if kind == "ARG":
            return "ARG " + " ".join(f"{k}={v}" if draw(st.booleans()) else k for k, v in pairs)
        return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)
    if kind == "USER":
        return "USER " + draw(st.sampled_from(["root", "0", "app", "1000", "1000:1000", "web:web", "nobody"]))
    if kind == "WORKDIR":
        return f"WORKDIR /{word}"
    if kind == "EXPOSE":
        return "EXPOSE " + draw(st.sampled_from(["80", "8080", "3000/tcp", "53/udp", "$PORT"]))
    if kind in ("CMD", "ENTRYPOINT"):
        return (
            kind
            + " "
            + draw(
                st.sampled_from(
                    [
                        "python app.py",
                        '["node", "server.js"]',
                        "./run.sh && sleep 1",
                        '["/bin/sh", "-c", "exec app"]',
                        "nginx -g 'daemon off;'",
                    ]
                )
            )
        )
    if kind == "HEALTHCHECK":
        return draw(
            st.sampled_from(
                [
                    "HEALTHCHECK NONE",
                    'HEALTHCHECK CMD ["/app", "health"]',
                    "HEALTHCHECK --interval=5s CMD wget -q -O- http://localhost/",
                ]
            )
        )
    if kind == "STOPSIGNAL":
        return "STOPSIGNAL " + draw(st.sampled_from(["SIGKILL", "SIGTERM", "9"]))
    if kind == "LABEL":
        return f'LABEL com.example.{word}="{word} value"'
    return f"# a comment about {word}"


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    lines: list[str] = []
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["# syntax=docker/dockerfile:1", "# escape=\\"])))
    if draw(st.booleans()):
        lines.append("ARG BASE_TAG=3.19")
    names: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        base = draw(st.sampled_from(BASES + names))
        name = f"stage{index}" if draw(st.booleans()) else None
        lines.append(f"FROM {base}" + (f" AS {name}" if name else ""))
        for _ in range(draw(st.integers(0, 8))):
            lines.append(draw(instruction(names)))
            if draw(st.integers(0, 5)) == 0:
                lines.append("")
        if name:
            names.append(name)
    ending = draw(st.sampled_from(["\n", "", "\n\n"]))
    text = "\n".join(lines) + ending
    return text.replace("\n", "\r\n") if draw(st.integers(0, 9)) == 0 else text


def _instructions_by_origin(text: str, origins: tuple[int | None, ...]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for command in dockerfile.parse_string(text):
        origin = origins[command.start_line - 1]
        if origin is not None:
            out.setdefault(origin, set()).add(command.cmd.upper())
    return out


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(dockerfiles())
def test_output_parses_and_is_idempotent(text: str) -> None:
    result = harden_dockerfile_text(text, context=HardenContext())
    Document.parse(result.hardened)
    again = harden_dockerfile_text(result.hardened, context=HardenContext())
    assert again.hardened == result.hardened
    assert again.changes == ()


@PROPERTY_SETTINGS
@given(dockerfiles())
def test_no_instruction_is_lost(text: str) -> None:
    result = harden_dockerfile_text(text, context=HardenContext())
    kept = _instructions_by_origin(result.hardened, result.line_origins)
    removed = {c.line for c in result.changes if c.summary.startswith("removed")}
    for command in dockerfile.parse_string(text):
        line, cmd = command.start_line, command.cmd.upper()
        if line in removed:
            continue
        now = kept.get(line, set())
        assert cmd in now or (cmd == "ADD" and now & {"COPY", "ARG", "RUN"}), (line, cmd, result.hardened)


@PROPERTY_SETTINGS
@given(dockerfiles())
def test_untouched_lines_are_byte_identical(text: str) -> None:
    result = harden_dockerfile_text(text, context=HardenContext())
    original = text.split("\n")
    hardened = result.hardened.split("\n")
    if "\r\n" in text:
        assert "\n" not in result.hardened.replace("\r\n", ""), "inserted lines follow the file's line ends"
    touched = {c.line for c in result.changes}
    for index, origin in enumerate(result.line_origins):
        if origin is not None and origin not in touched and index < len(hardened):
            # A line kept from the original is kept exactly, whatever else changed around it.
            instruction_lines = {c.start_line for c in dockerfile.parse_string(text)}
            if origin not in instruction_lines:
                kept = hardened[index]
                if origin == len(original) and "\r\n" in text:
                    # The file's last line had no line end; text appended after it needs one, in the file's style.
                    kept = kept.removesuffix("\r")
                assert kept == original[origin - 1]


ALPINE = BaseImage(
    "alpine:3.19",
    files=frozenset(
        {"/bin/sh", "/etc/passwd", "/etc/group", "/usr/sbin/adduser", "/usr/sbin/addgroup", "/usr/bin/wget"}
    ),
)
DEBIAN = BaseImage(
    "debian:12-slim",
    files=frozenset({"/bin/sh", "/etc/passwd", "/etc/group", "/usr/sbin/useradd", "/usr/sbin/groupadd"}),
)
WITH_BASES = HardenContext(base_lookup=lambda ref: {"alpine:3.19": ALPINE, "debian:12-slim": DEBIAN}.get(ref))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
# Found by this test in CI: a secret ENV a later RUN reads was removed, so ShellCheck no longer knew the variable.
@example("FROM scratch\r\nENV API_TOKEN=8080\r\n\r\nRUN echo $API_TOKEN > /dev/null\r\n\r\n")
def test_hadolint_finds_nothing_new(text: str) -> None:
    before = hadolint(text)
    # hadolint cannot parse some valid files (an instruction right after a heredoc); nothing to compare then.
    assume("DL1000" not in before)
    result = harden_dockerfile_text(text, context=WITH_BASES)
    after = hadolint(result.hardened)
    # DL3059 (info: consecutive RUNs) can appear when a secret ENV between two RUNs is removed; merging the
    # RUNs would change the layers, so it is accepted here (the corpus test accepts no new code at all).
    new = {code: n for code, n in after.items() if n > before.get(code, 0) and code != "DL3059"}
    assert new == {}, result.hardened
