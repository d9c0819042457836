"""`dockaudit --demo` in a real terminal (tmux, 80x24) under NO_COLOR, TERM=xterm and LANG=C: what reaches the
screen is captured with its escape codes and checked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.cells import cell_len

from dockaudit.tui.app import ascii_text, unicode_terminal


@pytest.fixture(autouse=True)
def _tmux_installed() -> None:
    """These screens are captured in tmux: without it they fail loudly (scripts/test installs it), never skip."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: run the tests through scripts/test, which installs it")


DOCKAUDIT = Path(sys.executable).with_name("dockaudit")
SGR = re.compile(r"\x1b\[([0-9;]*)m")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")

SCREENS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("image list", ()),
    ("findings of shop/web", ("Down", "Down", "Down", "a", "1")),
    ("vulnerabilities", ("2",)),
    ("vulnerability detail", ("Enter",)),
    ("hardened Dockerfile", ("Escape", "3")),
    ("overview", ("4",)),
    ("help", ("?",)),
    ("filter", ("Escape", "/", "s", "h")),
    ("containers", ("Escape", "Escape", "]")),
    ("host", ("]", "a")),
)
"""Screens to capture, each reached from the last by these keys."""


@contextmanager
def demo_in_tmux(env: dict[str, str]) -> Iterator[str]:
    """`dockaudit --demo` in a detached 80x24 tmux session; yields the session name."""
    name = f"dockaudit-modes-{uuid.uuid4().hex[:8]}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "NO_COLOR", "TEXTUAL"))}
    full = {**base, "LANG": "C.UTF-8", "TERM": "xterm-256color", **env}
    command = " ".join(f"{k}={v}" for k, v in env.items()) + f" {DOCKAUDIT} --demo"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", f"env {command}"],
        check=True,
        env=full,
    )
    try:
        wait_for(name, "Images")
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def capture(name: str) -> str:
    """The pane as the terminal shows it, escape codes included."""
    out = subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", name], check=True, capture_output=True)
    return out.stdout.decode("utf-8", "replace")


def wait_for(name: str, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = capture(name)
        if text in SGR.sub("", screen) or time.monotonic() > deadline:
            return screen
        time.sleep(0.2)


def screens(env: dict[str, str]) -> list[tuple[str, str]]:
    """Every screen of SCREENS under `env`, captured once it has settled."""
    shots = []
    with demo_in_tmux(env) as name:
        for title, keys in SCREENS:
            for key in keys:
                subprocess.run(["tmux", "send-keys", "-t", name, key], check=True)
                time.sleep(0.3)
            time.sleep(1.0)
            if title == "findings of shop/web":
                wait_for(name, "Grade F")
            shots.append((title, capture(name)))
    return shots


def colour_codes(screen: str) -> list[str]:
    """SGR parameters that set a colour (default-colour resets 39/49, which tmux writes itself, are not)."""
    found = []
    for params in SGR.findall(screen):
        parts = params.split(";")
        for i, part in enumerate(parts):
            if part in ("38", "48") or (part.isdigit() and (30 <= int(part) <= 37 or 40 <= int(part) <= 47)):
                if i == 0 or parts[i - 1] not in ("38", "48"):
                    found.append(params)
            elif part.isdigit() and (90 <= int(part) <= 97 or 100 <= int(part) <= 107):
                found.append(params)
    return found


def plain(screen: str) -> str:
    return SGR.sub("", screen)


def test_no_color_draws_no_colour_and_keeps_severities_apart() -> None:
    shots = screens({"NO_COLOR": "1"})
    for title, screen in shots:
        assert colour_codes(screen) == [], f"{title}: {sorted(set(colour_codes(screen)))[:8]}"
    vulns = dict(shots)["vulnerabilities"]
    text = plain(vulns)
    assert "CRITICAL" in text and "HIGH" in text and "MEDIUM" in text
    # Without colour, a severity is told by its word and its emphasis: CRITICAL in reverse, HIGH in bold.
    assert re.search(r"\x1b\[[0-9;]*7[0-9;]*mCRITICAL", vulns), "CRITICAL is not in reverse video"
    assert re.search(r"\x1b\[1mHIGH", vulns), "HIGH is not bold"
    # The shown tab is marked without colour too: the "Vulns" tab label is in reverse.
    assert re.search(r"\x1b\[[0-9;]*7[0-9;]*mVulns", vulns), "the shown tab is not marked"


def test_a_c_locale_draws_ascii_only() -> None:
    shots = screens({"LANG": "C", "LC_ALL": ""})
    for title, screen in shots:
        text = plain(screen)
        odd = sorted({c for c in text if not c.isascii()})
        assert odd == [], f"{title}: {odd}"
    assert "? Help" in plain(dict(shots)["image list"]).splitlines()[-1]
    vulns = plain(dict(shots)["vulnerabilities"])
    assert all(word in vulns for word in ("CRITICAL", "HIGH", "MEDIUM"))


def test_sixteen_colours_use_only_the_sixteen_and_stay_readable() -> None:
    shots = screens({"TERM": "xterm"})
    for title, screen in shots:
        codes = [p for p in SGR.findall(screen) if "38;5" in p or "48;5" in p or "38;2" in p or "48;2" in p]
        assert codes == [], f"{title}: {codes[:5]}"
        text = plain(screen)
        assert text.strip(), f"{title}: blank"
    vulns = plain(dict(shots)["vulnerabilities"])
    assert all(word in vulns for word in SEVERITIES[:3])
    footer = plain(dict(shots)["image list"]).splitlines()[-1]
    assert footer.lstrip().startswith("? Help")


def test_the_locale_python_set_for_itself_does_not_hide_a_c_locale() -> None:
    # Started under LANG=C, Python sets LC_CTYPE=C.UTF-8 in its own environment (PEP 538).
    assert unicode_terminal({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, coerced=True) is False
    assert unicode_terminal({"LANG": "en_US.UTF-8", "LC_CTYPE": "C.UTF-8"}, coerced=True) is True
    # Set by the user, LC_CTYPE counts.
    assert unicode_terminal({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, coerced=False) is True
    assert unicode_terminal({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"}, coerced=False) is False


@pytest.mark.parametrize("text", ["registry.e…/app", "┃ HIGH ▏ ^p", "名前 ok", "e\u0301t\u00e9", "ascii"])
def test_ascii_stand_ins_keep_the_width(text: str) -> None:
    out = ascii_text(text)
    assert out.isascii() and cell_len(out) == cell_len(text)
