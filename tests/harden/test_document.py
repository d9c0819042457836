"""The line-preserving document: parsing positions and edits that leave other bytes untouched."""

from __future__ import annotations

import pytest

from dockaudit.harden.document import DockerfileSyntaxError, Document, Edit, apply_edits, split_lines

TEXT = """\
# escape=\\
# leading comment

FROM alpine:3.19 AS build
RUN echo a \\
    # a comment inside a continuation
    && echo b
COPY <<EOF /x
hello
EOF
  CMD ["run"]
"""


def test_instructions_know_their_raw_lines_and_stage() -> None:
    doc = Document.parse(TEXT)
    run = doc.instructions[1]
    assert run.cmd == "RUN"
    assert run.raw == "RUN echo a \\\n    # a comment inside a continuation\n    && echo b\n"
    assert (run.line, run.stage) == (5, 0)
    assert doc.instructions[2].heredoc
    assert doc.instructions[3].indent == "  "


def test_no_edit_renders_the_exact_text() -> None:
    doc = Document.parse(TEXT)
    text, origins = apply_edits(doc, [])
    assert text == TEXT
    assert origins == tuple(range(1, len(split_lines(TEXT)) + 1))


def test_edits_touch_only_their_instruction() -> None:
    doc = Document.parse(TEXT)
    text, origins = apply_edits(doc, [Edit(3, before="# above\n", replace='CMD ["new"]\n', after="# below\n")])
    # The CMD follows a heredoc: a blank line keeps hadolint able to parse the inserted comment.
    assert text == TEXT.replace('  CMD ["run"]\n', '\n# above\nCMD ["new"]\n# below\n')
    assert origins[-4:] == (None, None, 11, None)


def test_missing_final_newline_is_kept() -> None:
    doc = Document.parse("FROM a\nCMD x")
    assert apply_edits(doc, [Edit(1, replace="CMD y\n")])[0] == "FROM a\nCMD y"
    assert apply_edits(doc, [Edit(1, after="USER 1:1\n")])[0] == "FROM a\nCMD x\nUSER 1:1\n"


def test_backtick_escape_directive_is_detected() -> None:
    assert Document.parse("# escape=`\nFROM a\nRUN a `\n b\n").escape == "`"
    assert Document.parse("FROM a\n# escape=`\nRUN a\n").escape == "\\"


def test_unparsable_text_raises() -> None:
    with pytest.raises(DockerfileSyntaxError):
        Document.parse("")


def test_an_unknown_instruction_is_named_as_scan_names_it() -> None:
    # BuildKit's parser takes any word as an instruction (with no value): not "FROMM needs an argument".
    with pytest.raises(DockerfileSyntaxError, match="line 1: unknown instruction 'FROMM'"):
        Document.parse("FROMM busybox\nCMD x\n")


def test_stage_names_resolve_case_insensitively() -> None:
    doc = Document.parse("FROM a AS Build\nRUN x\nFROM build\nCOPY --from=0 /a /a\n")
    assert [s.base for s in doc.stages] == ["a", "build"]
    assert doc.stage_by_name("BUILD") is doc.stages[0]
    assert doc.stage_by_name("0") is doc.stages[0]


def test_inserted_lines_follow_windows_line_ends() -> None:
    doc = Document.parse("FROM a\r\nCMD x\r\n")
    assert doc.crlf
    text, _ = apply_edits(doc, [Edit(1, before="# why\n", replace="CMD y\n")])
    assert text == "FROM a\r\n# why\r\nCMD y\r\n"
