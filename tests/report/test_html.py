"""The HTML report: one offline file, every value escaped, and it renders in headless Chromium."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dockaudit.report.html import render_html
from tests.report.chromium import dump_dom, screenshot
from tests.report.sample import XSS, XSS_IMG, sample_report


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_html_is_self_contained_and_offline() -> None:
    html = render_html(sample_report())
    tags = _tags(html)
    assert [t for t, _ in tags].count("script") == 1
    assert not [a for t, a in tags if t == "script" and a.get("src")]
    assert not [a for t, a in tags if t == "link"]
    assert "Content-Security-Policy" in html
    # Only our advisory links point outside; nothing is loaded from the network.
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!avd\.aquasec\.com)""", html)


def test_planted_markup_is_escaped_text() -> None:
    html = render_html(sample_report())
    assert XSS not in html and XSS_IMG not in html
    assert "&lt;script&gt;document.documentElement" in html
    assert not [a for t, a in _tags(html) if t == "img"]


def test_sections_show_grade_counts_vulns_and_diff() -> None:
    html = render_html(sample_report())
    assert 'class="grade big grade-D"' in html
    assert "CVE-2024-0727" in html and "3.0.13-1~deb12u1" in html
    assert '<span class="add">+USER 65532:65532</span>' in html
    assert "suppressed: internal dev image" in html
    assert "engine down (tcp://10.0.0.9:2376): connection refused" in html


@pytest.mark.chromium
def test_chromium_renders_report_and_runs_no_planted_script(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(sample_report()), encoding="utf-8")
    dom = dump_dom(page)
    # Our own script ran (it sets this marker last), so scripts were enabled...
    assert 'data-report-ready="1"' in dom
    # ...and none from the data did.
    assert "data-pwned" not in dom.split("<body", 1)[0]
    assert 'data-pwned="' not in dom
    assert dom.count("<script") == 1
    assert "&lt;script&gt;document.documentElement.setAttribute" in dom
    shot = tmp_path / "report.png"
    screenshot(page, shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000


_DRIVER = """
(function () {
  var out = {};
  var section = document.querySelector("section.target[id*='myapp']");
  var table = section.querySelector("table.sortable[id$='-findings']");
  var rules = function () {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.cells[1].querySelector("code").textContent;
    });
  };
  var rule = table.tHead.rows[0].cells[1];
  rule.click();
  out.ascending = rules().join(",");
  rule.click();
  out.descending = rules().join(",");
  var input = section.querySelector("input.filter");
  input.value = "passwd";
  input.dispatchEvent(new Event("input"));
  out.visible = table.querySelectorAll("tbody tr:not([hidden])").length;
  input.value = "";
  input.dispatchEvent(new Event("input"));
  section.querySelector("input.sevbox[value='high']").click();
  out.withoutHigh = table.querySelectorAll("tbody tr:not([hidden])").length;
  document.documentElement.setAttribute("data-driver", JSON.stringify(out));
})();
"""


@pytest.mark.chromium
def test_tables_sort_and_filter_in_chromium(tmp_path: Path) -> None:
    import json

    from dockaudit.report.html import script_hash

    html = render_html(sample_report())
    # The test page is the report plus a driver script that the CSP is told to allow.
    html = html.replace("script-src '", f"script-src '{script_hash(_DRIVER)}' '", 1)
    html = html.replace("</body>", f"<script>{_DRIVER}</script>\n</body>")
    page = tmp_path / "driven.html"
    page.write_text(html, encoding="utf-8")
    dom = dump_dom(page)
    match = re.search(r'data-driver="([^"]*)"', dom)
    assert match, "the driver script did not run"
    result = json.loads(match.group(1).replace("&quot;", '"'))
    assert result["ascending"] == "DA101,DA102,DA105,DA106,DA301"
    assert result["descending"] == "DA301,DA106,DA105,DA102,DA101"
    assert result["visible"] == 1
    assert result["withoutHigh"] == 3
