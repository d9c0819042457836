"""The Dockerfile parser: BuildKit's instructions, stages, redaction and the build context."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockaudit.errors import UsageError
from dockaudit.parse.dockerfile import parse_dockerfile, parse_dockerfile_text

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8"


def test_instructions_keep_line_numbers_and_forms() -> None:
    facts = parse_dockerfile_text(
        '# syntax note\nFROM alpine:3.19\nRUN apk add \\\n    curl\nCMD ["app"]\nENTRYPOINT app --serve\n'
    )
    run = facts.instructions[1]
    assert (run.cmd, run.start_line, run.end_line) == ("RUN", 3, 4)
    cmd, entry = facts.instructions[2], facts.instructions[3]
    assert cmd.json_form and cmd.value == ("app",)
    assert not entry.json_form


def test_lowercase_instructions_are_normalised() -> None:
    facts = parse_dockerfile_text("from alpine\nuser 1000\n")
    assert [i.cmd for i in facts.instructions] == ["FROM", "USER"]


def test_stages_are_numbered_named_and_expand_global_args() -> None:
    facts = parse_dockerfile_text(
        "ARG BASE=python:3.12-slim\nFROM ${BASE} AS build\nRUN make\n"
        "FROM gcr.io/distroless/python3\nCOPY --from=build /a /a\n"
    )
    assert [(s.index, s.base, s.name, s.from_line) for s in facts.stages] == [
        (0, "python:3.12-slim", "build", 2),
        (1, "gcr.io/distroless/python3", None, 4),
    ]
    assert facts.instructions[0].stage == -1
    assert [i.cmd for i in facts.final_stage()] == ["FROM", "COPY"]
    assert facts.final_stage()[1].flags == ("--from=build",)


def test_secret_arg_and_env_values_are_redacted_everywhere() -> None:
    facts = parse_dockerfile_text(
        f'FROM alpine\nARG DB_PASSWORD="hunter2 secret"\nENV GH={GITHUB_TOKEN} MODE=prod\n'
        "RUN curl https://bob:s3cretpass@example.com/x\n"
    )
    text = repr(facts)
    assert "hunter2" not in text
    assert GITHUB_TOKEN not in text
    assert "s3cretpass" not in text
    password = facts.build_args[0]
    assert password.name == "DB_PASSWORD" and password.secret is not None and password.secret.length == 14
    assert [(e.name, e.secret is not None) for e in facts.env] == [("GH", True), ("MODE", False)]
    assert facts.env[1].value == "prod"


def test_references_and_allowlisted_names_are_not_secrets() -> None:
    facts = parse_dockerfile_text("FROM alpine\nARG TOKEN\nENV API_TOKEN=${TOKEN} GPG_KEY=ABCDEF0123456789\n")
    assert all(v.secret is None for v in (*facts.build_args, *facts.env))
    assert facts.build_args[0].value == ""


def test_project_directory_reads_dockerignore_and_entries(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / ".dockerignore").write_text("# vcs\n.git\n\n  .env*  \n")
    (tmp_path / "app.py").write_text("")
    facts = parse_dockerfile(tmp_path)
    assert facts.dockerignore == (".git", ".env*")
    assert facts.context_entries == (".dockerignore", "Dockerfile", "app.py")
    assert facts.context_dir == str(tmp_path)
    assert facts.path.endswith("Dockerfile")


def test_missing_dockerignore_is_none(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    assert parse_dockerfile(tmp_path / "Dockerfile").dockerignore is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot parse"),
        ("FROOM alpine\n", "unknown instruction"),
        ("RUN echo\n", "before the first FROM"),
        ("ARG X=1\n", "no FROM"),
        ("FROM\n", "FROM needs an image"),
    ],
)
def test_unparseable_input_is_a_one_line_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        parse_dockerfile_text(text)
    assert "\n" not in str(info.value)


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no Dockerfile"):
        parse_dockerfile(tmp_path)
    with pytest.raises(UsageError, match="no such"):
        parse_dockerfile(tmp_path / "nope")
