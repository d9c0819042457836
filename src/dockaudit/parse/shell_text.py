"""Shell text as a Dockerfile's RUN, CMD and scripts hold it: variables, simple commands, words, logical lines.

Rough on purpose: a split on operators and keywords, not a shell grammar; what it cannot read it leaves whole.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from dockaudit.lazy_pattern import LazyPattern

VARIABLE = LazyPattern(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_SEGMENT_SPLIT = LazyPattern(r"&&|\|\||;|\||\n|\bthen\b|\bdo\b|\belse\b")
BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
_INIT_WRAPPERS = ("tini", "tini-static", "dumb-init", "catatonit", "docker-init")
SHELLS = ("sh", "bash", "ash", "dash")


def expand(text: str, env: Mapping[str, str | None]) -> str | None:
    """`text` with `$X`, `${X}`, `${X:-default}` and `${X:+alt}` substituted; None when a variable has no value."""
    unresolved = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unresolved
        name = m.group(1) or m.group(4)
        op, word = m.group(2), m.group(3) or ""
        value = env.get(name)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                resolved = expand(word, env)
                if resolved is None:
                    unresolved = True
                    return ""
                return resolved
            return value
        if op in (":+", "+"):
            return word if value else ""
        if value is None:
            unresolved = True
            return ""
        return value

    out = VARIABLE.sub(sub, text)
    return None if unresolved else out


def unquote(text: str) -> str:
    """The text without one pair of enclosing quotes."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def split_segments(text: str) -> list[str]:
    """Simple commands of a shell text, roughly: split on operators, `then`/`do`, newlines."""
    joined = re.sub(r"\\\r?\n", " ", text)
    return [s.strip().lstrip("({").strip() for s in _SEGMENT_SPLIT.split(joined) if s.strip()]


_COMPOUND_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until", "do", "done"}
)


def execs_last(text: str) -> bool:
    """Whether shell text ends by `exec`ing a program at its top level (`exec java $OPTS -jar app.jar`, or set-up
    joined by `&&`/`;` and then `exec httpd -D FOREGROUND`), so the program replaces the shell and gets its signals.

    Docker's documented idiom for a shell-form command that must receive signals. Conservative: an `exec` in a
    branch, a subshell, a pipeline, after `||`, backgrounded, or only redirecting does not count."""
    lexer = shlex.shlex(re.sub(r"\\\r?\n", " ", text), posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes
        return False
    last: list[str] = []
    before = ""
    depth = 0
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token in ("&&", ";") and depth == 0:
            before, last = token, []
        elif token in ("||", "|", "&", ";;") and depth == 0:
            before, last = token, [token]  # the end is a pipeline, a fallback or a background job
        else:
            last.append(token)
    if any(word in _COMPOUND_KEYWORDS for word in tokens if word.isidentifier()):
        return False
    if depth != 0 or before not in ("", "&&", ";") or len(last) < 2 or last[0] != "exec":
        return False
    program = last[1]
    return not (program[:1] in "<>" or program.isdecimal() or program in ("(", ")"))


def shell_words(text: str) -> list[str]:
    """Words of a shell text as `sh` would split them; on unbalanced quotes, split on whitespace."""
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def command_words(segment: str) -> list[str]:
    """Words of a simple command without `sudo`, `exec`, `env` and leading `VAR=value` assignments."""
    words = shell_words(segment)
    while words and (
        words[0] in ("exec", "sudo", "env", "nohup", "command", "time")
        or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])
        or (words[0].startswith("-") and words[0] != "-")
    ):
        words = words[1:]
    return words


def inline_vars(text: str) -> dict[str, str | None]:
    """Shell variables a RUN sets for itself (`buildDeps='curl gcc'`), for package lists that use them."""
    found: dict[str, str | None] = {}
    for match in re.finditer(r"(?:^|[\s;&])([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|[^\s;&|]*)", text):
        found[match.group(1)] = unquote(match.group(2))
    return found


def strip_init(words: list[str]) -> list[str]:
    """A command without the init wrappers (tini, dumb-init...) and `exec` in front of the program."""
    while words and words[0].rsplit("/", 1)[-1] in (*_INIT_WRAPPERS, "exec"):
        words = words[1:]
        while words and (words[0].startswith("-") or words[0] == "--"):
            words = words[1:]
    return words


def run_words(argv: Sequence[str]) -> list[str]:
    """The words of the program a command line runs: past the init wrappers, and inside a `sh -c "..."`."""
    words = strip_init(list(argv))
    if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in SHELLS and words[1] == "-c":
        words = strip_init(shell_words(words[2]))
    return words


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines of a script with backslash continuations joined, each with the number of its first line."""
    joined: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append((start, pending + line))
        pending = ""
    return joined
