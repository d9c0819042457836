"""`printable`, the one sanitiser every terminal and text presentation uses."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from dockaudit.text import is_printable, printable, without_surrogates
from tests.reliability import hostile
from tests.reliability.fuzzing import FUZZ


def _unsafe(ch: str) -> bool:
    code = ord(ch)
    return (
        (code < 0x20 and ch not in "\n\t")
        or 0x7F <= code <= 0x9F
        or 0xD800 <= code <= 0xDFFF
        or unicodedata.bidirectional(ch) in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI")
    )


@FUZZ
@given(st.text(st.characters(codec=None)))
def test_no_control_bidi_or_surrogate_character_survives(text: str) -> None:
    shown = printable(text)
    assert not any(_unsafe(ch) for ch in shown)
    assert is_printable(shown)
    shown.encode("utf-8")
    one_line = printable(text, multiline=False)
    assert "\n" not in one_line and "\t" not in one_line


@FUZZ
@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Zl", "Zp"])))
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert printable(text) == text


def test_each_payload_is_shown_as_its_escapes() -> None:
    assert printable(hostile.OSC52) == "\\x1b]52;c;ZWNobyBoYWNrZWQ=\\x07"
    assert printable(hostile.CSI8) == "\\x9b6n"
    assert printable(hostile.BIDI) == "\\u202egnp.exe"
    assert printable("a\nb\tc\r") == "a\nb\tc\\x0d"
    assert printable("a\nb", multiline=False) == "a\\x0ab"
    assert printable("bad-\udcff") == "bad-\\xff"


def test_lone_surrogates_become_replacement_characters_in_parsed_json() -> None:
    doc = {"a\ud800": ["x\udfff", {"k": "\udc80y"}], "n": 1}
    assert without_surrogates(doc) == {"a\ufffd": ["x\ufffd", {"k": "\ufffdy"}], "n": 1}
