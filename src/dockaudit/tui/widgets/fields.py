"""Text fields that do not blink: a blinking cursor redraws twice a second, which is noise over SSH."""

from __future__ import annotations

from textual.widgets import Input


class Field(Input):
    """An `Input` with a steady cursor."""

    def __init__(self, value: str | None = None, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(value, placeholder=placeholder, id=id)
        self.set_reactive(Input.cursor_blink, False)
