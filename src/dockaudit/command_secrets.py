"""Secrets in shell commands and Dockerfile text: build-arg prefixes, `NAME=value` assignments, password flags
and passwords fed to tools, redacted where history steps and Dockerfile instructions become facts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from dockaudit.lazy_pattern import LazyPattern
from dockaudit.secrets import (
    REDACTED_VALUE,
    SWITCH_WORDS,
    SecretMatch,
    classify_pair,
    find_credentials,
    has_redaction,
    is_allowlisted,
    is_placeholder_value,
    redact,
    redact_pair,
    replace_spans,
    secret_name_word,
    unquote,
)

# NamedTuples, not dataclasses: plain records that a dataclass would cost ~1 ms of start-up each to create.


class RedactedPair(NamedTuple):
    """A build arg (or other NAME=value pair) after redaction."""

    name: str
    value: str
    secret: SecretMatch | None


class RedactedCommand(NamedTuple):
    """A history line or RUN instruction after redaction, with what redaction found."""

    text: str
    build_args: tuple[RedactedPair, ...]
    """The `|N NAME=value` prefix of the legacy builder, parsed; values redacted when secret."""
    found: tuple[SecretMatch, ...]
    """Credentials redacted from the text outside the build-arg prefix."""


_BUILD_ARGS = LazyPattern(r"^(?P<lead>\s*(?:RUN\s+)?)\|(?P<n>\d+)\s+")


_LAST_VALUE = LazyPattern(r"\S*…\(redacted, \d+ chars\)|\S*")


_NEXT_ARG = LazyPattern(r" (?=[A-Za-z_][A-Za-z0-9_]*=)")


_ARG_START = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*=")


def parse_build_args(text: str) -> list[tuple[str, str]]:
    """The `|N NAME=value ...` build args the builder records before a RUN command, raw."""
    pairs, _ = _split_build_args(text)
    return pairs


def strip_build_args(text: str) -> str:
    """`text` without the `|N NAME=value ...` build-arg prefix."""
    _, start = _split_build_args(text)
    return text[start:]


def _split_build_args(text: str) -> tuple[list[tuple[str, str]], int]:
    """Parsed pairs and the offset where the command after them starts."""
    m = _BUILD_ARGS.match(text)
    if m is None:
        return [], 0
    count = int(m.group("n"))
    pos = m.end()
    pairs: list[tuple[str, str]] = []
    for i in range(count):
        start = _ARG_START.match(text, pos)
        if start is None:
            break
        name = start.group()[:-1]
        value_start = start.end()
        if i < count - 1:
            # The next pair starts at the next ` NAME=`; values may hold spaces.
            nxt = _NEXT_ARG.search(text, value_start)
            value_end = nxt.start() if nxt else len(text)
        else:
            # The last value ends at the first blank, unless it is already redacted (`abcd…(redacted, 9 chars)`).
            m_last = _LAST_VALUE.match(text, value_start)
            value_end = m_last.end() if m_last else value_start
        pairs.append((name, text[value_start:value_end]))
        pos = min(value_end + 1, len(text))
    return pairs, pos


_VALUE = r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"'&;|)]+)"


# NAME=value anywhere: ENV/LABEL/ARG pairs in history, shell assignments, `--password=x`, `_authToken=x`.
_ASSIGNMENT = LazyPattern(r"(?<![\w.])([A-Za-z_][\w.\-]*)=" + _VALUE)


_COMMAND_PATTERNS: tuple[tuple[str, str, LazyPattern], ...] = (
    (
        "basic-auth-flag",
        "user:password option",
        LazyPattern(r"(?:^|\s)(?:-u|--user|--proxy-user)[\s=]+[\"']?((?![0-9]+:[0-9]+\b)[^\s:\"']+:[^\s\"']+)"),
    ),
    ("password-flag", "--password option", LazyPattern(r"(?:^|\s)--password[\s=]+" + _VALUE)),
    (
        "password-flag",
        "-p<password> option",
        LazyPattern(r"\b(?:mysql|mysqladmin|mysqldump|mariadb|mariadb-dump)\b[^;&|\n]*?\s-p([^\s\"';&|]+)"),
    ),
    (
        "authorization-header",
        "Authorization header",
        LazyPattern(r"(?i)\b(?:authorization|proxy-authorization):\s*(?:(?:bearer|basic|token|digest)\s+)?([^\s\"']+)"),
    ),
    ("api-key-header", "API key header", LazyPattern(r"(?i)\b(?:x-api-key|private-token|x-auth-token):\s*([^\s\"']+)")),
    # .pypirc lines (`password = X`, `password: X`) and .netrc lines (`login U password X`).
    (
        "config-password",
        "password in a credentials file",
        LazyPattern(r"(?i)(?:\b|(?<=\\n))password\s*[=:]\s*([^\s\"'\\;&|)]+)"),
    ),
    ("config-password", "password in .netrc", LazyPattern(r"(?i)\blogin\s+\S+\s+password\s+([^\s\"'\\;&|)]+)")),
    # Literal account passwords (DA609): the value is set for a user of the image, not merely used.
    (
        "account-password",
        "password fed to chpasswd",
        LazyPattern(r"\bchpasswd\b[^<;&|]*<<<\s*[\"']?[^\s:\"']+:([^\s\"'\\]+)"),
    ),
    (
        "account-password",
        "password given to useradd/usermod -p",
        LazyPattern(r"\b(?:useradd|usermod)\b[^;&|\n]*?\s(?:-p|--password)(?:\s+|=)[\"']?([^\s\"';&|]+)"),
    ),
    (
        "account-password",
        "password hashed by openssl passwd",
        LazyPattern(r"\bopenssl\s+passwd\b(?:\s+(?:-salt\s+\S+|-\S+))*\s+[\"']?([^\s\"')$;&|-][^\s\"');&|]*)"),
    ),
    (
        "account-password",
        "password given to htpasswd -b",
        LazyPattern(r"\bhtpasswd\s+(?:-[a-zA-Z]*b[a-zA-Z]*)\s+(?:-\S+\s+)*\S+\s+\S+\s+[\"']?([^\s\"';&|]+)"),
    ),
    ("password-flag", "sshpass -p password", LazyPattern(r"\bsshpass\s+-p\s*[\"']?([^\s\"';&|]+)")),
    (
        "config-token",
        "token in a credentials file",
        LazyPattern(r"(?i)(?<![\w-])_auth(?:Token)?\s*[=:]\s*([^\s\"'\\;&|)]+)"),
    ),
)


_CRYPT_HASH = LazyPattern(r"^\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$")
"""`$6$salt$hash`: a fixed password hash, literal even though it starts with `$`."""


PASSWORD_KINDS = frozenset({"account-password", "password-flag", "password-assignment"})
"""Classifications of a literal password typed into a command (DA609) rather than another credential (DA202)."""


_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd"})


def _is_placeholder(value: str) -> bool:
    """A value that is not a literal credential: a reference, a command substitution, a boolean word, a stand-in."""
    v = unquote(value).strip()
    if _CRYPT_HASH.match(v):
        return False
    return v.lower() in SWITCH_WORDS or v.startswith(("$", "`", "-")) or "\x00" in v or is_placeholder_value(v)


_KEPT = LazyPattern("\x00(\\d+)\x00")


_MARKER = LazyPattern(r"…\(redacted, (\d+) chars\)")


_BUILD_ONLY_KEY = LazyPattern(r"(?:^|_)SECRET_KEY(?:_BASE)?$", re.IGNORECASE)


_KEY_ONLY_BUILD_STEP = LazyPattern(r"^[^;&|\n]*\b(?:assets:precompile|collectstatic)\b")


def _build_only_key(name: str, rest: str) -> bool:
    """`SECRET_KEY_BASE=... rails assets:precompile`, `SECRET_KEY=... manage.py collectstatic`: a stand-in.

    Rails and Django refuse to start these build steps without a key but never use it there, so whatever
    value the command line gives them is a placeholder (Rails documents SECRET_KEY_BASE_DUMMY for this).
    """
    return bool(_BUILD_ONLY_KEY.search(name) and _KEY_ONLY_BUILD_STEP.match(rest))


def _keep_redactions(text: str, kept: list[str]) -> str:
    """`text` with each earlier redaction (its 4-character prefix only when the value had 8 or more) as a token."""
    out: list[str] = []
    last = 0
    for m in _MARKER.finditer(text):
        start = m.start()
        if int(m.group(1)) >= 8 and start - last >= 4 and not any(ch.isspace() for ch in text[start - 4 : start]):
            start -= 4
        out.append(text[last:start])
        kept.append(text[start : m.end()])
        out.append(f"\x00{len(kept) - 1}\x00")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


_FED_PASSWORDS = LazyPattern(
    r"(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*(?P<arg>\"[^\"]*\"|'[^']*'|[^\s|;&]+)\s*\|\s*(?:sudo\s+)?"
    r"(?P<tool>chpasswd|passwd\b(?![^;&|\n]*\s-(?:[ldSe]\b|-(?:lock|delete|status|expire)\b)))\b"
)


_HEREDOC_PASSWORDS = LazyPattern(
    r"\b(?P<tool>chpasswd)\b[^\n]*<<-?\s*[\"']?(?P<tag>\w+)[\"']?\n(?P<arg>.*?)\n\s*(?P=tag)\b", re.S
)


_PASSWORD_LINE = LazyPattern(r"(?:^|\\n|\n)[ \t]*(?:(?P<user>[^\s:\\\"']+):)?(?P<pw>[^\s\\\"']+)")


def _fed_passwords(command: str) -> list[tuple[int, int, str]]:
    """(start, end, tool) of each password an echo/printf/heredoc feeds to `chpasswd` (`user:pw` lines) or `passwd`."""
    spans: list[tuple[int, int, str]] = []
    for m in (*_FED_PASSWORDS.finditer(command), *_HEREDOC_PASSWORDS.finditer(command)):
        tool, arg, base = m.group("tool"), m.group("arg"), m.start("arg")
        quoted = len(arg) > 1 and arg[0] in "\"'" and arg[-1] == arg[0] and m.re is _FED_PASSWORDS.compiled
        body = arg[1:-1] if quoted else arg
        base += 1 if quoted else 0
        for line in _PASSWORD_LINE.finditer(body):
            if tool == "chpasswd" and line.group("user") is None:
                continue
            spans.append((base + line.start("pw"), base + line.end("pw"), tool))
    return spans


def scan_command(text: str, allow: Iterable[str] = ()) -> RedactedCommand:
    """Redact a history line or RUN instruction: build args, credential formats, credential options."""
    return _scan(text, tuple(allow))[0]


def _scan(text: str, allow: tuple[str, ...]) -> tuple[RedactedCommand, list[str]]:
    """`scan_command`'s result and the raw values it redacted (which never leave this module)."""
    pairs, cmd_start = _split_build_args(text)
    redacted_args: list[RedactedPair] = []
    secret_values: list[str] = []
    for name, value in pairs:
        safe, match = redact_pair(name, value, allow)
        redacted_args.append(RedactedPair(name, safe, match))
        if match is not None and len(value) >= 4:
            secret_values.append(value)

    # Values redacted earlier become blank-free placeholders, so a second pass leaves them alone.
    kept: list[str] = []

    command = _keep_redactions(text[cmd_start:], kept)
    spans: list[tuple[int, int, SecretMatch]] = list(find_credentials(command))

    def add(start: int, end: int, match: SecretMatch) -> None:
        if end > start and not any(s < end and start < e for s, e, _ in spans):
            spans.append((start, end, match))

    # A value redacted by an earlier pass keeps its classification: the rules decide from it, not from text.
    reclassified: list[tuple[int, SecretMatch]] = []

    def earlier(value: str) -> int | None:
        """The secret's length when `value` is a redaction a previous pass made, else None."""
        token = _KEPT.fullmatch(unquote(value).strip())
        marker = REDACTED_VALUE.fullmatch(kept[int(token.group(1))]) if token is not None else None
        return int(marker.group(1)) if marker is not None else None

    for m in _ASSIGNMENT.finditer(command):
        name, value = m.group(1), m.group(2)
        raw = unquote(value)
        if _build_only_key(name, command[m.end() :]):
            continue
        length = earlier(value)
        if length is not None:
            word = secret_name_word(name)
            if word is not None and not is_allowlisted(name, raw, allow):
                kind = "password-assignment" if word in _PASSWORD_WORDS else "name"
                reclassified.append((m.start(2), SecretMatch(kind, f'name contains "{word}"', length)))
            continue
        if _is_placeholder(value) or is_allowlisted(name, raw, allow):
            continue
        found = classify_pair(name, raw, allow)
        if found is not None and found.kind != "redacted":
            if found.kind == "name" and secret_name_word(name) in _PASSWORD_WORDS:
                found = SecretMatch("password-assignment", found.detail, found.length)
            offset = 1 if raw != value else 0
            add(m.start(2) + offset, m.end(2) - offset, found)
    for start, end, tool in _fed_passwords(command):
        value = command[start:end]
        length = earlier(value)
        if length is not None:
            reclassified.append((start, SecretMatch("account-password", f"password fed to {tool}", length)))
        elif not _is_placeholder(value):
            add(start, end, SecretMatch("account-password", f"password fed to {tool}", end - start))
    for kind, detail, pattern in _COMMAND_PATTERNS:
        for m in pattern.finditer(command):
            value = m.group(1)
            length = earlier(value)
            if length is not None:
                reclassified.append((m.start(1), SecretMatch(kind, detail, length)))
                continue
            if _is_placeholder(value) or has_redaction(value):
                continue
            raw = unquote(value)
            offset = 1 if raw != value else 0
            add(m.start(1) + offset, m.end(1) - offset, SecretMatch(kind, detail, len(raw)))
    # A secret build arg's value may also be spelled out literally in the command itself.
    for value in secret_values:
        for m in re.finditer(re.escape(value), command):
            add(m.start(), m.end(), SecretMatch("build-arg-value", "value of a secret build arg", len(value)))

    head = _rebuild_prefix(text[:cmd_start], pairs, redacted_args)
    body = replace_spans(command, ((s, e) for s, e, _ in spans))
    body = re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], body)
    seen_at = {s for s, _, _ in spans}
    matches = [(s, m) for s, _, m in spans] + [(at, m) for at, m in reclassified if at not in seen_at]
    classified = tuple(m for _, m in sorted(matches, key=lambda x: x[0]))
    raw_values = [command[start:end] for start, end, _ in spans]
    return RedactedCommand(head + body, tuple(redacted_args), classified), raw_values


def _rebuild_prefix(prefix: str, pairs: list[tuple[str, str]], redacted: list[RedactedPair]) -> str:
    if not pairs:
        return prefix
    m = _BUILD_ARGS.match(prefix)
    lead, count = (m.group("lead"), m.group("n")) if m else ("", str(len(pairs)))
    parts = [f"{r.name}={r.value}" for r in redacted]
    trailing = " " if prefix.endswith((" ", "\t")) else ""
    return f"{lead}|{count} " + " ".join(parts) + trailing


def redact_command(text: str, allow: Iterable[str] = ()) -> str:
    """A history line or RUN instruction with every secret it holds redacted."""
    return scan_command(text, allow).text


_KEY_SPACE_VALUE = LazyPattern(
    r"^(?P<head>\s*(?:ENV|ARG)\s+)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>\s+)(?P<value>\S.*)$", re.I
)


_DIFF_HEADER = ("+++ ", "--- ", "@@ ")


def redact_dockerfile_text(text: str, allow: Iterable[str] = ()) -> str:
    """Dockerfile text, or a unified diff of one, with every secret it holds redacted (`ENV KEY value` included).

    Hardened Dockerfile diffs quote the user's lines as context; this makes them as safe as the findings.
    """
    allow = tuple(allow)
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith(_DIFF_HEADER):
            lines.append(line)
            continue
        prefix = line[:1] if line[:1] in (" ", "+", "-") else ""
        m = _KEY_SPACE_VALUE.match(line[len(prefix) :])
        if m is not None and "=" not in m.group("name"):
            safe, _ = redact_pair(m.group("name"), unquote(m.group("value").strip()), allow)
            line = f"{prefix}{m.group('head')}{m.group('name')}{m.group('sep')}{safe}"
        lines.append(line)
    text = "\n".join(lines)
    # A command continued over lines (`echo ... \` then `| chpasswd`) is judged joined, as the shell reads it;
    # the values found there are then redacted wherever they appear in the text.
    joined = re.sub(r"\\\n[ +-]?", " ", text)
    for value in sorted(set(_scan(joined, allow)[1]), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, redact(value))
    return redact_command(text, allow)


def redact_history_line(text: str, allow: Iterable[str] = ()) -> RedactedCommand:
    """What a facts builder stores for a history `created_by`: redacted text, build args, what was found."""
    return scan_command(text, allow)
