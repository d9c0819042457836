"""`dockaudit rules`: the catalog as a table or JSON, filtered by section and severity."""

from __future__ import annotations

import json

import pytest

from dockaudit.cli import main


def test_rules_json_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and {"DA101", "DA213"} <= set(ids)
    da101 = next(r for r in rules if r["id"] == "DA101")
    assert da101["severity"] == "high" and da101["section"] == "Run as non-root"
    assert "CIS 4.1" in da101["references"]


def test_rules_filter_by_severity_and_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json", "--severity", "CRITICAL", "--section", "secrets"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert rules and all(r["severity"] == "critical" and "Secrets" in r["section"] for r in rules)
    assert {"DA104", "DA201"} <= {r["id"] for r in rules}


def test_rules_table_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--severity", "info"]) == 0
    out = capsys.readouterr().out
    assert "DA113" in out and "DA101" not in out


def test_unknown_severity_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--severity", "severe"]) == 2
    assert "unknown severity" in capsys.readouterr().err
