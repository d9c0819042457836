"""Every format over the sample reports matches its golden file: stable order, only controlled volatile fields."""

from __future__ import annotations

import pytest

from dockaudit.report import render
from dockaudit.report.junit import render_junit
from dockaudit.report.sarif import render_sarif
from tests.report.golden import check_golden
from tests.report.sample import CATALOG, clean_target, report_with, sample_report
from tests.report.schemas import validate_report, validate_sarif


@pytest.mark.parametrize(("fmt", "ext"), [("json", "json"), ("markdown", "md"), ("html", "html"), ("table", "txt")])
def test_sample_report_matches_golden(fmt: str, ext: str) -> None:
    text = render(sample_report(), fmt)
    if fmt == "json":
        validate_report(text)
    check_golden(f"sample.{ext}", text)


def test_sample_sarif_matches_golden() -> None:
    text = render_sarif(sample_report(), catalog=CATALOG)
    validate_sarif(text)
    check_golden("sample.sarif", text)


def test_sample_junit_matches_golden() -> None:
    check_golden("sample.junit.xml", render_junit(sample_report(), catalog=CATALOG))


def test_clean_report_matches_golden() -> None:
    report = report_with(clean_target())
    text = render(report, "json")
    validate_report(text)
    check_golden("clean.json", text)
    check_golden("clean.md", render(report, "markdown"))
    check_golden("clean.sarif", render_sarif(report, catalog=CATALOG))


def test_target_order_does_not_depend_on_input_order() -> None:
    report = sample_report()
    reversed_report = type(report)(**{**report.__dict__, "targets": tuple(reversed(report.targets))})
    for fmt in ("json", "markdown", "html", "table"):
        assert render(report, fmt) == render(reversed_report, fmt)
