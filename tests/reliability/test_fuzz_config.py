"""Fuzzing the settings and ignore loader (any TOML loads or is a ConfigError) and `.dockerignore` patterns."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from dockaudit.config import ConfigError, apply_config, ignore_problems, load_file
from dockaudit.parse.dockerignore import is_ignored
from dockaudit.secrets import redact_pair
from tests.reliability.fuzzing import FUZZ
from tests.report.sample import image_target

KEYS = st.sampled_from(
    [
        "rules",
        "allow",
        "thresholds",
        "ignore",
        "disable",
        "severity",
        "setuid",
        "secret_names",
        "registries",
        "rule",
        "reason",
        "target",
        "expires",
        "max_age_days",
        "max_size_mb",
        "db_max_age_days",
        "tool",
        "dockaudit",
        "DA101",
        "x",
    ]
)
VALUES = st.sampled_from(
    [
        '"DA101"',
        '"high"',
        '"nonsense"',
        "[]",
        '["*"]',
        '["[", "**", "a[b-"]',
        '["API_*", "*TOKEN*"]',
        "1",
        "-1",
        "1.5",
        "inf",
        "nan",
        "true",
        "1979-05-27",
        "1979-05-27T07:32:00Z",
        '"2026-02-30"',
        '""',
        '"  "',
        "{}",
        '{ rule = "DA101" }',
        '"*"',
        '"image *"',
        '"[!a]"',
        '"\\u001b]52;c;x\\u0007"',
        "99999999999999999999",
    ]
)


@st.composite
def toml_texts(draw: st.DrawFn) -> str:
    """Config-shaped TOML: known and unknown tables, keys and values of every type, some syntax errors."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            tables = ["rules", "allow", "thresholds", "rules.severity", "tool.dockaudit", "x"]
            lines.append(f"[{draw(st.sampled_from(tables))}]")
        elif kind == 1:
            lines.append("[[ignore]]")
        elif kind == 2:
            lines.append(draw(st.text(max_size=20)))
        else:
            lines.append(f"{draw(KEYS)} = {draw(VALUES)}")
    return "\n".join(lines) + "\n"


@FUZZ
@given(toml_texts(), st.sampled_from([(), ("tool", "dockaudit")]))
@example("tool = 5\n", ("tool", "dockaudit"))  # once crashed: `tool` is not a table
@example('[tool]\ndockaudit = "x"\n', ("tool", "dockaudit"))
@example('[allow]\nsecret_names = ["[", "a[b-"]\n', ())
@example('[[ignore]]\nrule = "DA101"\nreason = "r"\ntarget = "["\n', ())
def test_any_config_text_loads_or_is_a_config_error(text: str, table: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory(prefix="dockaudit-fuzz-") as tmp:
        path = Path(tmp) / ("pyproject.toml" if table else ".dockaudit.toml")
        path.write_text(text, encoding="utf-8")
        try:
            settings = load_file(path, table)
        except ConfigError as exc:
            assert str(path) in str(exc)
            return
    # Loaded settings are used: ignores and severities applied, allowlist globs matched.
    target = image_target()
    applied = apply_config(target.findings, target.name, settings, date(2026, 11, 28))
    ignore_problems(settings, applied.matched, date(2026, 11, 28))
    redact_pair("API_TOKEN", "value-of-a-token", settings.allow_secret_names)


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_load_or_are_a_config_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="dockaudit-fuzz-") as tmp:
        path = Path(tmp) / ".dockaudit.toml"
        path.write_bytes(data)
        with contextlib.suppress(ConfigError):
            load_file(path)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            st.sampled_from(
                ["[]", "[z-a]", "[", "]", "\\", "!", "**", "[^]", "a/[]/b", "[\\]", "**/*.go", "!*.md", "*[*"]
            ),
        ),
        max_size=5,
    ),
    st.sampled_from(["Dockerfile", "a/b/c.go", ".git/config", "x", ".env", "node_modules/a"]),
)
@example(["[]"], "x")  # once crashed: an empty character class is not a valid regex
@example(["[z-a]"], "x")  # once crashed: a reversed range
def test_any_dockerignore_pattern_matches_or_not(patterns: list[str], path: str) -> None:
    assert is_ignored(path, patterns) in (True, False)
