"""DA6xx over fixture projects and Dockerfile text: each rule fires on its flaw with a line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.config import Settings
from dockaudit.facts.dockerfile import DockerfileFacts
from dockaudit.model import Finding, Severity, Status
from dockaudit.parse.dockerfile import parse_dockerfile, parse_dockerfile_text
from dockaudit.parse.dockerignore import is_ignored
from dockaudit.rules import load_all
from dockaudit.rules.dockerfile import guess_os
from dockaudit.rules.registry import RULES, Scope, evaluate
from tests.rules.conftest import make_ctx, run_rule

PROJECTS = Path(__file__).parent / "projects"


def findings_of(facts: DockerfileFacts, settings: Settings | None = None) -> list[Finding]:
    load_all()
    found, _ = evaluate([Scope.DOCKERFILE], facts, make_ctx(settings))
    return [f for f in found if f.rule_id.startswith("DA6")]


def text(dockerfile: str, context: Path | None = None) -> DockerfileFacts:
    return parse_dockerfile_text(dockerfile, "Dockerfile", context_dir=context)


def ids(findings: list[Finding]) -> list[str]:
    return sorted({f.rule_id for f in findings if f.status is Status.FAIL})


def test_bad_project_has_every_planted_flaw_on_its_line() -> None:
    found = findings_of(parse_dockerfile(PROJECTS / "bad"))
    assert ids(found) == ["DA601", "DA603", "DA604", "DA605", "DA606", "DA607", "DA608"]
    lines = {(f.rule_id, f.location.line) for f in found}
    assert ("DA603", 1) in lines  # FROM python
    assert ("DA604", 5) in lines  # apt-get install gcc
    assert ("DA605", 2) in lines  # ARG DB_PASSWORD=...
    assert ("DA605", 7) in lines  # $GITHUB_TOKEN in RUN
    assert ("DA606", 1) in lines
    assert ("DA607", 10) in lines
    assert ("DA608", 1) in lines
    assert all(f.fix is not None and f.fix.dockerfile for f in found if f.status is Status.FAIL)


def test_bad_project_evidence_redacts_the_arg_default() -> None:
    found = findings_of(parse_dockerfile(PROJECTS / "bad"))
    assert "changeme-dockaudit-fake" not in repr(found)


def test_good_project_passes_every_dockerfile_rule() -> None:
    found = findings_of(parse_dockerfile(PROJECTS / "good"))
    assert found == []


def test_node_project_with_allowlist_ignore_file() -> None:
    # `*` then `!file` re-includes: node_modules and tls.key stay excluded.
    found = findings_of(parse_dockerfile(PROJECTS / "node"))
    # node 20 and alpine 3.20 both ended in 2026, after the dates of their data: "may be stale", medium.
    assert [(f.rule_id, f.severity) for f in found] == [
        ("DA603", Severity.LOW),
        ("DA604", Severity.MEDIUM),
        ("DA611", Severity.MEDIUM),
    ]
    assert "npm dev dependencies" in next(f.evidence for f in found if f.rule_id == "DA604")


def test_dockerfile_without_context_skips_the_context_rules() -> None:
    found = findings_of(text("FROM alpine:3.22@sha256:" + "a" * 64 + "\nUSER 1000\nHEALTHCHECK CMD true\n"))
    assert [(f.rule_id, f.status) for f in found] == [("DA601", Status.SKIPPED), ("DA602", Status.SKIPPED)]


def test_dockerignore_gaps_list_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text(".git\n")
    for name in ("node_modules", "__pycache__"):
        (tmp_path / name).mkdir()
    (tmp_path / "server.pem").write_text("x")
    (finding,) = run_rule("DA602", text("FROM scratch\n", tmp_path))
    assert finding.evidence == ".dockerignore does not exclude .env*, __pycache__, node_modules, server.pem"
    assert finding.fix is not None and "node_modules" in finding.fix.dockerfile


def test_dockerignore_with_everything_passes(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("/.git/\n.env\n.env.*\n**/node_modules\n**/__pycache__\n*.pem\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "ca.pem").write_text("x")
    assert run_rule("DA602", text("FROM scratch\n", tmp_path)) == []


def test_negated_dockerignore_pattern_reincludes(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text(".git\n.env*\n!.env.example\n!.git\n")
    (finding,) = run_rule("DA602", text("FROM scratch\n", tmp_path))
    assert ".git" in finding.evidence


@pytest.mark.parametrize(
    ("pattern", "path", "ignored"),
    [
        (".git", ".git", True),
        (".git", ".git/HEAD", True),
        ("**/.git", ".git", True),
        ("*", ".git", True),
        (".env*", ".env.production", True),
        ("*.env", ".env", True),
        ("src/*.key", "tls.key", False),
        ("node_modules/", "node_modules", True),
        ("./.git", ".git", True),
        ("?git", ".git", True),
        ("[.]git", ".git", True),
    ],
)
def test_ignore_pattern_matching(pattern: str, path: str, ignored: bool) -> None:
    assert is_ignored(path, [pattern]) is ignored


@pytest.mark.parametrize(
    ("base", "severity"),
    [
        ("ubuntu", Severity.MEDIUM),
        ("ubuntu:latest", Severity.MEDIUM),
        ("ubuntu:24.04", Severity.LOW),
        ("registry:5000/team/app", Severity.MEDIUM),
        ("registry:5000/team/app:1.0", Severity.LOW),
    ],
)
def test_unpinned_base_severity(base: str, severity: Severity) -> None:
    (finding,) = run_rule("DA603", text(f"FROM {base}\n"))
    assert finding.severity is severity and finding.location.line == 1


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM ubuntu:24.04@sha256:" + "a" * 64 + "\n",
        "FROM scratch\n",
        "FROM golang:1.23@sha256:" + "b" * 64 + " AS build\nFROM build\n",
        "ARG BASE\nFROM ${BASE}\n",
    ],
)
def test_pinned_base_passes(dockerfile: str) -> None:
    assert run_rule("DA603", text(dockerfile)) == []


@pytest.mark.parametrize(
    "run",
    [
        "apt-get install -y build-essential",
        "apk add --no-cache gcc musl-dev",
        "dnf install -y make openssl-devel",
        "apt-get -q install -y libssl-dev",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y g++",
    ],
)
def test_single_stage_with_build_tools(run: str) -> None:
    (finding,) = run_rule("DA604", text(f"FROM debian:12\nRUN {run}\n"))
    assert finding.location.line == 2


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM debian:12\nRUN apt-get install -y curl ca-certificates\n",
        "FROM golang:1.23 AS build\nRUN apt-get install -y gcc\nFROM scratch\nCOPY --from=build /app /app\n",
        "FROM node:20\nRUN npm ci --omit=dev\n",
        "FROM debian:12\nRUN echo apt-get install gcc > notes.txt && true\n",
        "FROM debian:12\nRUN apt-get install -y -o Dpkg::Options::=--force-confold ca-certificates\n",
    ],
)
def test_multi_stage_or_runtime_installs_pass(dockerfile: str) -> None:
    assert run_rule("DA604", text(dockerfile)) == []


def test_secret_env_and_arg_defaults_are_critical() -> None:
    found = run_rule(
        "DA605", text("FROM alpine:3.20\nENV API_KEY=abcd1234efgh5678 MODE=prod\nARG NPM_TOKEN=npm_" + "a" * 36 + "\n")
    )
    assert [(f.location.line, f.severity) for f in found] == [(2, Severity.CRITICAL), (3, Severity.CRITICAL)]
    assert all("abcd1234efgh5678" not in f.evidence for f in found)


def test_secret_build_arg_used_in_run_is_found() -> None:
    found = run_rule(
        "DA605",
        text("FROM alpine:3.20\nARG NPM_TOKEN\nRUN echo //registry.npmjs.org/:_authToken=${NPM_TOKEN} > .npmrc\n"),
    )
    assert [f.location.line for f in found] == [3]


@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM alpine:3.20\nARG NPM_TOKEN\nRUN --mount=type=secret,id=npm NPM_TOKEN=$(cat /run/secrets/npm) npm ci\n",
        "FROM alpine:3.20\nENV GPG_KEY=ABCDEF0123456789 PASSWORD_FILE=/run/secrets/pw NODE_VERSION=20.1\n",
        "FROM alpine:3.20\nARG TOKEN_URL=https://auth.example.com/token\nRUN curl $TOKEN_URL\n",
        "FROM alpine:3.20\nENV API_TOKEN=${API_TOKEN}\n",
    ],
)
def test_allowlisted_and_mounted_secrets_pass(dockerfile: str) -> None:
    assert run_rule("DA605", text(dockerfile)) == []


def test_user_allowlist_exempts_arg_in_run() -> None:
    dockerfile = text("FROM alpine:3.20\nARG BUILD_AUTH_PROFILE\nRUN echo $BUILD_AUTH_PROFILE\n")
    assert run_rule("DA605", dockerfile)
    assert run_rule("DA605", dockerfile, make_ctx(Settings(allow_secret_names=("BUILD_AUTH_PROFILE",)))) == []


@pytest.mark.parametrize("user", ["root", "0", "0:0", "root:root"])
def test_last_user_root_fails(user: str) -> None:
    (finding,) = run_rule("DA606", text(f"FROM alpine:3.20\nUSER 1000\nRUN id\nUSER {user}\n"))
    assert finding.location.line == 4


def test_user_in_earlier_stage_only_fails() -> None:
    (finding,) = run_rule("DA606", text("FROM alpine:3.20 AS build\nUSER 1000\nFROM alpine:3.20\n"))
    assert finding.location.line == 3
    assert finding.fix is not None and "adduser -S" in finding.fix.dockerfile


def test_non_root_user_last_passes() -> None:
    assert run_rule("DA606", text("FROM alpine:3.20\nUSER root\nRUN apk add curl\nUSER 10001:10001\n")) == []


def test_shell_form_entrypoint_and_cmd() -> None:
    found = run_rule("DA607", text('FROM alpine:3.20\nENTRYPOINT /app/start.sh\nCMD ["--verbose"]\n'))
    assert [f.location.line for f in found] == [2]


def test_shell_form_in_build_stage_only_passes() -> None:
    assert run_rule("DA607", text('FROM alpine:3.20 AS b\nCMD make\nFROM alpine:3.20\nCMD ["/app"]\n')) == []


def test_healthcheck_none_counts_as_missing() -> None:
    (finding,) = run_rule("DA608", text("FROM alpine:3.20\nHEALTHCHECK NONE\n"))
    assert finding.location.line == 2


def test_healthcheck_fix_uses_a_tool_of_the_base() -> None:
    (finding,) = run_rule("DA608", text("FROM alpine:3.20\n"))
    assert finding.fix is not None and "wget" in finding.fix.dockerfile
    (finding,) = run_rule("DA608", text("FROM debian:12-slim\n"))
    assert finding.fix is not None and "curl" in finding.fix.dockerfile


def test_healthcheck_in_final_stage_passes() -> None:
    assert run_rule("DA608", text("FROM alpine:3.20\nHEALTHCHECK CMD wget -q -O- http://127.0.0.1/ || exit 1\n")) == []


@pytest.mark.parametrize(
    ("base", "distro"),
    [
        ("alpine:3.20", "alpine"),
        ("python:3.12-slim", "debian"),
        ("gcr.io/distroless/static", "distroless"),
        ("ubuntu:24.04", "ubuntu"),
        ("registry.access.redhat.com/ubi9/ubi-minimal", "rhel"),
        ("scratch", "scratch"),
        ("node:20-alpine", "alpine"),
        ("mycorp/app", None),
    ],
)
def test_base_image_distro_guess(base: str, distro: str | None) -> None:
    guess = guess_os(base)
    assert (guess.id if guess else None) == distro


def test_every_dockerfile_rule_is_registered_with_the_catalog_severity() -> None:
    load_all()
    expected = {
        "DA601": "medium",
        "DA602": "low",
        "DA603": "medium",
        "DA604": "medium",
        "DA605": "critical",
        "DA606": "high",
        "DA607": "medium",
        "DA608": "medium",
    }
    assert {rid: RULES[rid].severity.label for rid in expected} == expected


def test_user_and_healthcheck_are_inherited_from_the_parent_stage() -> None:
    dockerfile = text(
        "FROM alpine:3.20 AS base\nUSER 10001\nHEALTHCHECK CMD true\n"
        'FROM base AS build\nRUN make\nFROM BASE\nCMD ["/app"]\n'
    )
    assert run_rule("DA606", dockerfile) == []
    assert run_rule("DA608", dockerfile) == []
    assert run_rule("DA603", dockerfile)[0].severity is Severity.LOW  # only alpine:3.20 itself is reported
    assert len(run_rule("DA603", dockerfile)) == 1


def test_env_copying_a_secret_build_arg_is_found() -> None:
    found = run_rule("DA605", text("FROM alpine:3.20\nARG NPM_TOKEN\nENV NPM_TOKEN=${NPM_TOKEN}\n"))
    assert [(f.location.line, "ENV copies" in f.evidence) for f in found] == [(3, True)]


def test_shell_form_fix_is_the_same_command_in_exec_form() -> None:
    (finding,) = run_rule("DA607", text("FROM alpine:3.20\nCMD python app.py --port 8000\n"))
    assert finding.fix is not None
    assert finding.fix.dockerfile == 'CMD ["python", "app.py", "--port", "8000"]'


def test_shell_form_with_shell_syntax_gets_a_script_fix() -> None:
    (finding,) = run_rule("DA607", text("FROM alpine:3.20\nCMD ./migrate && ./server\n"))
    assert finding.fix is not None and "exec" in finding.fix.dockerfile


@pytest.mark.parametrize(
    "command",
    [
        "exec java ${JAVA_OPTIONS} -jar /app/app.jar",  # Docker's documented idiom: variables need the shell
        "./migrate && exec ./server",
        '([ -z "$CRON_MIN" ] || crond -d 6) && \\\n    exec httpd -D FOREGROUND',
    ],
)
def test_a_shell_form_command_that_execs_its_program_is_no_finding(command: str) -> None:
    # The program replaces the shell as PID 1 and gets SIGTERM: the flaw the rule is about is not there.
    assert run_rule("DA607", text(f"FROM alpine:3.20\nCMD {command}\n")) == []
    assert run_rule("DA607", text(f"FROM alpine:3.20\nENTRYPOINT {command}\n")) == []


@pytest.mark.parametrize(
    "command",
    [
        "./server || exec ./fallback",  # exec only on failure
        "exec ./server | tee /log/app.log",  # a pipeline's commands are children of the shell
        "exec >/log/app.log 2>&1; ./server",  # exec only redirects
        'if [ -n "$DEBUG" ]; then exec ./server --debug; fi; ./server',
        "exec ./server & wait",
    ],
)
def test_an_exec_the_shell_may_not_reach_still_is_a_finding(command: str) -> None:
    assert len(run_rule("DA607", text(f"FROM alpine:3.20\nCMD {command}\n"))) == 1


def test_pin_fix_keeps_the_image_name_and_tag() -> None:
    (finding,) = run_rule("DA603", text("FROM python:3.12-slim\n"))
    assert finding.fix is not None and finding.fix.dockerfile.startswith("FROM python:3.12-slim@sha256:<digest>")


def test_new_dockerignore_fix_covers_what_the_context_holds(tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    (finding,) = run_rule("DA601", text("FROM scratch\n", tmp_path))
    assert finding.fix is not None
    assert ".git\n.env*" in finding.fix.dockerfile and "node_modules" in finding.fix.dockerfile
    assert "__pycache__" not in finding.fix.dockerfile


def test_single_stage_is_one_finding_however_many_runs_install_tools() -> None:
    dockerfile = (
        "FROM node:22-bookworm\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends build-essential\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN npm ci\n"
        'CMD ["node", "server.js"]\n'
    )
    (finding,) = run_rule("DA604", text(dockerfile))
    assert finding.location.line == 2
    assert finding.evidence == "the only stage installs build-essential (line 2); npm dev dependencies (line 5)"


def test_a_base_images_build_tools_are_advice_for_the_images_built_from_it() -> None:
    # A Python-and-Node base for CI builds: no command of its own, its `make` and headers serve its children.
    base = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends make gcc\n"
    (finding,) = run_rule("DA604", text(base))
    assert finding.severity is Severity.INFO
    assert "a base image" in finding.evidence and "make" in finding.evidence
    # The same file with an app's command is the runtime image: the tools ship with the app.
    (app,) = run_rule("DA604", text(base + 'CMD ["python", "app.py"]\n'))
    assert app.severity is Severity.MEDIUM
