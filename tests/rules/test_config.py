"""Configuration: discovery, keys, validation errors with file and line, ignores, writing ignores."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dockaudit.config import (
    Ignore,
    Settings,
    add_ignore,
    apply_config,
    apply_settings,
    find_config,
    ignore_problems,
    load_settings,
)
from dockaudit.errors import ConfigError
from dockaudit.model import Finding, Severity, Source, Status

FULL = """\
# team defaults
[rules]
disable = ["DA113"]

[rules.severity]
DA115 = "low"

[allow]
setuid = ["/usr/bin/passwd"]
secret_names = ["FEATURE_*"]
registries = ["registry.example.com"]

[thresholds]
stale_days = 30
heavy_base_mb = 300
wasted_share = 0.2

[[ignore]]
rule = "DA101"
reason = "legacy image, tracked in JIRA-12"
target = "legacy:*"
expires = 2027-01-31
"""

TODAY = date(2026, 11, 28)


def finding(rule_id: str = "DA101", severity: Severity = Severity.HIGH) -> Finding:
    return Finding(rule_id, "slug", Source.CHECKLIST, severity, Status.FAIL, "t", "s", "e")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_config(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()


def test_every_key_is_read(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".dockaudit.toml", FULL)
    settings = load_settings(tmp_path)
    assert settings.disabled_rules == frozenset({"DA113"})
    assert settings.severity_overrides == {"DA115": Severity.LOW}
    assert settings.allow_setuid_paths == ("/usr/bin/passwd",)
    assert settings.allow_secret_names == ("FEATURE_*",)
    assert settings.allow_registries == ("registry.example.com",)
    assert settings.thresholds.stale_days == 30
    assert settings.thresholds.heavy_base_mb == 300
    assert settings.thresholds.wasted_share == 0.2
    [ignore] = settings.ignores
    assert ignore == Ignore("DA101", "legacy image, tracked in JIRA-12", "legacy:*", date(2027, 1, 31), f"{cfg}:18")
    assert settings.path == str(cfg)


def test_pyproject_tool_table(tmp_path: Path) -> None:
    text = FULL.replace("[rules", "[tool.dockaudit.rules").replace("[allow]", "[tool.dockaudit.allow]")
    text = text.replace("[thresholds]", "[tool.dockaudit.thresholds]").replace(
        "[[ignore]]", "[[tool.dockaudit.ignore]]"
    )
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n' + text)
    settings = load_settings(tmp_path)
    assert settings.thresholds.stale_days == 30
    assert settings.ignores[0].source.endswith("pyproject.toml:21")


def test_nearest_config_wins_walking_up(tmp_path: Path) -> None:
    write(tmp_path / ".dockaudit.toml", "[thresholds]\nstale_days = 10\n")
    write(tmp_path / "svc" / "pyproject.toml", "[tool.dockaudit.thresholds]\nstale_days = 20\n")
    deep = tmp_path / "svc" / "src" / "pkg"
    deep.mkdir(parents=True)
    assert load_settings(deep).thresholds.stale_days == 20
    assert load_settings(tmp_path).thresholds.stale_days == 10


def test_pyproject_without_our_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / ".dockaudit.toml", "[thresholds]\nstale_days = 10\n")
    write(tmp_path / "svc" / "pyproject.toml", '[project]\nname = "svc"\n')
    assert load_settings(tmp_path / "svc").thresholds.stale_days == 10


def test_explicit_config_beats_discovery(tmp_path: Path) -> None:
    write(tmp_path / ".dockaudit.toml", "[thresholds]\nstale_days = 10\n")
    other = write(tmp_path / "ci.toml", "[thresholds]\nstale_days = 5\n")
    assert load_settings(tmp_path, other).thresholds.stale_days == 5
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path, tmp_path / "missing.toml")


def test_find_config_prefers_the_dedicated_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.dockaudit]\n")
    write(tmp_path / ".dockaudit.toml", "")
    found = find_config(tmp_path)
    assert found is not None and found[0].name == ".dockaudit.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[rules]\ndisable = ["DA1"\n', r":2: invalid TOML"),
        ('[rules]\ndisable = ["DA1"]]\n', r":2:\d+: invalid TOML"),
        ("[thresholds]\nstale_days = 1\nstale_dayz = 2\n", r":3: unknown threshold 'stale_dayz'"),
        ('[thresholds]\nstale_days = "ninety"\n', r":2: \[thresholds\] stale_days must be a non-negative int"),
        ('[rules.severity]\nDA101 = "severe"\n', r":2: \[rules.severity\] DA101: unknown severity 'severe'"),
        ('[[ignore]]\nrule = "DA101"\n', r":1: \[\[ignore\]\] #1: ignoring DA101 needs a 'reason'"),
        ('[[ignore]]\nrule = "DA1"\nreason = "x"\n[[ignore]]\nreason = "y"\n', r":4: \[\[ignore\]\] #2: 'rule'"),
        ('[[ignore]]\nrule = "DA1"\nreason = "x"\nexpires = "soon"\n', r":4: .*not a date"),
        ("[rulez]\n", r":1: unknown key 'rulez'"),
        ('[allow]\nsetuid = "/bin/su"\n', r":2: \[allow\] setuid must be a list of strings"),
    ],
)
def test_malformed_config_is_one_error_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / ".dockaudit.toml", text)
    with pytest.raises(ConfigError, match=r"\.dockaudit\.toml" + message) as info:
        load_settings(tmp_path)
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_severity_override_and_disabled_rules_apply() -> None:
    settings = Settings(severity_overrides={"DA115": Severity.LOW}, disabled_rules=frozenset({"DA113"}))
    out = apply_settings([finding("DA115", Severity.MEDIUM), finding("DA113", Severity.INFO)], "img", settings, TODAY)
    assert [(f.rule_id, f.severity) for f in out] == [("DA115", Severity.LOW)]


def test_ignore_suppresses_matching_targets_only() -> None:
    ignore = Ignore("DA101", "accepted", "legacy:*", date(2027, 1, 31), ".dockaudit.toml:12")
    settings = Settings(ignores=(ignore,))
    [suppressed] = apply_settings([finding()], "legacy:1.0", settings, TODAY)
    [kept] = apply_settings([finding()], "myapp:1.0", settings, TODAY)
    assert suppressed.suppressed is not None
    assert suppressed.suppressed.reason == "accepted"
    assert suppressed.suppressed.by == ".dockaudit.toml:12"
    assert suppressed.suppressed.expires == "2027-01-31"
    assert not suppressed.counts
    assert kept.suppressed is None and kept.counts


def test_expired_ignore_re_raises_and_is_reported() -> None:
    ignore = Ignore("DA101", "accepted", "*", date(2026, 1, 31), "cfg:3")
    settings = Settings(ignores=(ignore,))
    applied = apply_config([finding()], "img", settings, TODAY)
    assert applied.findings[0].suppressed is None
    assert ignore in applied.matched
    [problem] = ignore_problems(settings, applied.matched, TODAY)
    assert "expired on 2026-01-31" in problem


def test_ignore_lasts_through_its_expiry_day() -> None:
    settings = Settings(ignores=(Ignore("DA101", "ok", "*", TODAY),))
    assert apply_settings([finding()], "img", settings, TODAY)[0].suppressed is not None


def test_unmatched_ignore_is_reported() -> None:
    used = Ignore("DA101", "ok")
    unused = Ignore("DA999", "typo", source="cfg:7")
    settings = Settings(ignores=(used, unused))
    applied = apply_config([finding()], "img", settings, TODAY)
    problems = ignore_problems(settings, applied.matched, TODAY)
    assert problems == ["ignore DA999 on '*' (cfg:7) matched no finding: remove it or fix its rule/target"]


def test_ignore_rule_may_be_a_glob_or_a_finding_id() -> None:
    settings = Settings(ignores=(Ignore("DA2*", "history is legacy"), Ignore("CVE-2024-0727", "not reachable")))
    out = apply_settings([finding("DA207"), finding("CVE-2024-0727"), finding("DA101")], "img", settings, TODAY)
    assert [f.suppressed is not None for f in out] == [True, True, False]


def test_add_ignore_keeps_comments_and_round_trips(tmp_path: Path) -> None:
    cfg = write(tmp_path / ".dockaudit.toml", FULL)
    add_ignore(cfg, "DA104", "rotated, removal in progress", "myapp:*", date(2027, 3, 1))
    text = cfg.read_text()
    assert text.startswith("# team defaults\n")
    settings = load_settings(tmp_path)
    assert [i.rule for i in settings.ignores] == ["DA101", "DA104"]
    assert settings.ignores[1].expires == date(2027, 3, 1)
    assert settings.ignores[1].target == "myapp:*"


def test_add_ignore_creates_the_file_and_writes_into_pyproject(tmp_path: Path) -> None:
    new = add_ignore(tmp_path / ".dockaudit.toml", "DA101", "ok")
    assert load_settings(tmp_path).ignores[0].rule == "DA101"
    assert new.exists()
    pyproject = write(tmp_path / "p" / "pyproject.toml", '[project]\nname = "p"\n\n[tool.dockaudit]\n')
    add_ignore(pyproject, "DA102", "no http endpoint")
    assert load_settings(tmp_path / "p").ignores[0].rule == "DA102"


def test_add_ignore_needs_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a reason"):
        add_ignore(tmp_path / ".dockaudit.toml", "DA101", "  ")
