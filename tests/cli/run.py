"""Run `dockaudit` in-process and capture what a CI job would see."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from dockaudit.cli import main
from tests.report.schemas import validate_report


@dataclass(frozen=True)
class Run:
    """Exit code, stdout and stderr of one invocation."""

    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        """stdout parsed as a JSON report, validated against the schema."""
        data: dict[str, Any] = json.loads(self.out)
        validate_report(data)
        return data


def dockaudit(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """`dockaudit ARGV...` in this process."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)
