"""Split the shell text of a RUN step into pipelines of simple commands, respecting quotes."""

from __future__ import annotations

import re
import shlex
from functools import lru_cache

from dockaudit.records import Record, record

_LIST_OPERATORS = frozenset({";", "&&", "||", "&", ";;", "\n"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Words that run the next word as the command (`sudo apt-get`, `env X=1 pip`, `exec node`).
_PREFIX_COMMANDS = frozenset({"sudo", "env", "exec", "nohup", "time", "command", "doas", "xargs"})
_REDACTED = re.compile(r"…\(redacted, \d+ chars\)")
_REDIRECTS = frozenset({">", ">>", "<", ">&", "<<", "<<<", ">|", "&>", "&>>"})
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})


@record
class Command(Record):
    """One simple command: its words, with the command name found past assignments and prefixes."""

    words: tuple[str, ...]
    name: str
    """Base name of the program run (`apt-get`), or `""` for a bare assignment."""
    args: tuple[str, ...]
    """Words after the program name."""
    prefixes: tuple[str, ...] = ()
    """Prefix commands seen before the program (`sudo`)."""


def _tokens(text: str) -> list[str]:
    # A redacted value reads `abcd…(redacted, 9 chars)`; its parentheses must not split the command.
    text = _REDACTED.sub("REDACTED", text)
    # A backslash-newline continues a line; newlines separate commands as `;` does.
    text = text.replace("\\\n", " ").replace("\n", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        # Unbalanced quotes (a truncated history line): fall back to whitespace words.
        return text.split()


def _command(words: list[str]) -> Command:
    rest = list(words)
    prefixes: list[str] = []
    while rest and (_ASSIGNMENT.match(rest[0]) or rest[0].rsplit("/", 1)[-1] in _PREFIX_COMMANDS):
        word = rest.pop(0)
        if not _ASSIGNMENT.match(word):
            prefixes.append(word.rsplit("/", 1)[-1])
            # Skip the prefix command's own options (`sudo -E`, `env -i`).
            while rest and rest[0].startswith("-"):
                rest.pop(0)
    name = rest[0].rsplit("/", 1)[-1] if rest else ""
    return Command(tuple(words), name, tuple(rest[1:]), tuple(prefixes))


@lru_cache(maxsize=4096)
def pipelines(text: str) -> tuple[tuple[Command, ...], ...]:
    """The pipelines of `text`, each a tuple of commands joined by `|` (cached: every DA2xx rule asks)."""
    result: list[list[Command]] = []
    current: list[Command] = []
    words: list[str] = []
    skip_target = False
    for token in [*_tokens(text), ";"]:
        if token in _REDIRECTS:
            # `2>/dev/null` lexes as `2`, `>`, `/dev/null`: drop the fd number and the target.
            if words and words[-1].isdecimal():
                words.pop()
            skip_target = True
            continue
        if skip_target and token not in _LIST_OPERATORS and token not in ("|", "(", ")"):
            skip_target = False
            if token != "&":
                continue
        skip_target = False
        if token in _LIST_OPERATORS or token in ("|", "|&", "(", ")", "{", "}"):
            if words:
                current.append(_command(words))
                words = []
            if token not in ("|", "|&") and current:
                result.append(current)
                current = []
            continue
        words.append(token)
    return tuple(tuple(p) for p in result)


@lru_cache(maxsize=4096)
def commands(text: str) -> tuple[Command, ...]:
    """Every simple command of `text`, in order."""
    return tuple(cmd for pipeline in pipelines(text) for cmd in pipeline)
