"""The rule catalog as rows, a Markdown table and JSON, generated from the registry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dockaudit.model import Severity
from dockaudit.rules.registry import RULES, VARIANTS, Rule

README_START = "<!-- rules:start -->"
README_END = "<!-- rules:end -->"


def all_rules() -> list[Rule[Any]]:
    """Every registered rule, all modules loaded, in id order."""
    from dockaudit.rules import load_all

    load_all()
    return sorted(RULES.values(), key=lambda r: r.id)


def select(rules: Iterable[Rule[Any]], section: str | None = None, severity: str | None = None) -> list[Rule[Any]]:
    """Rules whose section contains `section` (any case) and whose default severity is `severity`."""
    wanted = Severity.parse(severity) if severity else None
    needle = section.lower() if section else None
    return [
        r
        for r in rules
        if (wanted is None or r.severity is wanted) and (needle is None or needle in str(r.section).lower())
    ]


def checked_on(rule: Rule[Any]) -> list[str]:
    """The scopes whose facts the rule judges: its own, then those of variants that can decide it."""
    extra = sorted(v.scope.value for (rule_id, _), v in VARIANTS.items() if rule_id == rule.id and v.decides)
    return [rule.scope.value, *extra]


def as_json(rule: Rule[Any]) -> dict[str, Any]:
    """A rule's metadata as plain JSON values."""
    return {
        "id": rule.id,
        "slug": rule.slug,
        "title": rule.title,
        "severity": rule.severity.label,
        "scope": rule.scope.value,
        "checked_on": checked_on(rule),
        "section": str(rule.section),
        "rationale": rule.rationale,
        "references": list(rule.references),
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rules: Iterable[Rule[Any]]) -> str:
    """The catalog as a Markdown table, one row per rule."""
    lines = [
        "| ID | Slug | Severity | Checks | Section | Title | References |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rules:
        refs = "; ".join(r.references)
        cells = (r.id, f"`{r.slug}`", r.severity.label, ", ".join(checked_on(r)), str(r.section), r.title, refs)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def readme_with_table(readme: str, table: str) -> str:
    """`readme` with the text between the rules markers replaced by `table` (markers added if missing)."""
    block = f"{README_START}\n{table}\n{README_END}"
    start = readme.find(README_START)
    end = readme.find(README_END)
    if start != -1 and end != -1 and end > start:
        return readme[:start] + block + readme[end + len(README_END) :]
    text = readme.rstrip("\n")
    intro = "Generated from the rule registry by `scripts/gen_readme_rules.py`; `dockaudit rules` prints the same."
    return f"{text}\n\n## Rules\n\n{intro}\n\n{block}\n"
