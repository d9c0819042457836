"""The terminal part of `dockaudit doctor`: colour depth and locale hints from the environment."""

from __future__ import annotations

import pytest

from dockaudit.commands.doctor import terminal_info


@pytest.mark.parametrize(
    ("env", "colors"),
    [
        ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, "truecolor"),
        ({"TERM": "tmux-256color"}, "256"),
        ({"TERM": "xterm"}, "16"),
        ({"TERM": "dumb"}, "none"),
        ({"TERM": "xterm-256color", "NO_COLOR": "1"}, "none"),
        ({}, "none"),
    ],
)
def test_colour_depth_follows_term_colorterm_and_no_color(env: dict[str, str], colors: str) -> None:
    assert terminal_info(env).colors == colors


def test_unset_term_gets_a_hint_about_ssh_t() -> None:
    assert any("ssh -t" in warning for warning in terminal_info({}).warnings)
