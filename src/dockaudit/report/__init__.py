"""Report writers: each turns a finished `Report` into one format; none touches the engine."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import cast

from dockaudit.model import Report

FORMATS = ("table", "json", "sarif", "html", "markdown", "junit")
"""Every `-f/--format` value, in the order `--help` lists them."""

_RENDERERS = {
    "json": ("dockaudit.report.json", "render_json"),
    "sarif": ("dockaudit.report.sarif", "render_sarif"),
    "html": ("dockaudit.report.html", "render_html"),
    "markdown": ("dockaudit.report.markdown", "render_markdown"),
    "junit": ("dockaudit.report.junit", "render_junit"),
}


def load_renderers(formats: Iterable[str]) -> None:
    """Import the renderers of `formats` (and the atomic writer) ahead of `render`: a caller that waits on something
    else meanwhile (the engine, at start-up) loads them then instead of after the audit."""
    for fmt in formats:
        importlib.import_module("dockaudit.report.table" if fmt == "table" else _RENDERERS[fmt][0])
    importlib.import_module("dockaudit.report.write")


def render(report: Report, fmt: str, *, color: bool = False, width: int = 100) -> str:
    """The report in format `fmt`; `color` and `width` only matter for `table`."""
    if fmt == "table":
        from dockaudit.report.table import render_table

        return render_table(report, color=color, width=width)
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown report format {fmt!r}")
    module, name = _RENDERERS[fmt]
    # Imported on demand so `-f json` never pays for jinja2 or rich.
    renderer = cast(Callable[[Report], str], getattr(importlib.import_module(module), name))
    return renderer(report)
