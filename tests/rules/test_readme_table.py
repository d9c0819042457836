"""The README's rule table is generated from the registry and must not go stale."""

from __future__ import annotations

from pathlib import Path

from dockaudit.rules.catalog_table import README_START, all_rules, markdown_table, readme_with_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_rule_table_is_current() -> None:
    current = README.read_text(encoding="utf-8")
    wanted = readme_with_table(current, markdown_table(all_rules()))
    assert current == wanted, "README.md rule table is stale: run scripts/gen_readme_rules.py"


def test_table_has_one_row_per_rule() -> None:
    rules = all_rules()
    rows = [line for line in markdown_table(rules).splitlines() if line.startswith("| DA")]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == [r.id for r in rules]


def test_markers_are_added_once_and_replaced_in_place() -> None:
    first = readme_with_table("# x\n\nintro\n", "T1")
    assert first.count(README_START) == 1 and "## Rules" in first
    second = readme_with_table(first + "\n## After\n", "T2")
    assert "T1" not in second and "T2" in second and second.endswith("## After\n")
