"""Secret detection and redaction: the only place that ever sees a raw secret value.

Facts are built through `redact_pair`, `redact_text`, `redact_history_line` and `classify_file`, so no
rule, report or UI receives a raw value. See the Secrets section of the rule catalog for the contract.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class SecretMatch:
    """Why a value counts as a secret; never holds the value itself."""

    kind: str
    """`name` for a secret-like name, else a credential format id (`aws-access-key-id`, `github-token`...)."""
    detail: str
    """Human wording: `name contains "password"`, `GitHub token`."""
    length: int
    """Length of the raw value."""


REDACTION_MARK = "(redacted, "
"""Every redaction contains this, so text that was redacted can be recognised downstream."""
_REDACTION = re.compile(r"\S{0,4}…\(redacted, (\d+) chars\)")


def redact(value: str) -> str:
    """`AKIA…(redacted, 20 chars)`; values shorter than 8 characters are masked entirely."""
    if len(value) < 8:
        return f"…(redacted, {len(value)} chars)"
    return f"{value[:4]}…(redacted, {len(value)} chars)"


def has_redaction(text: str) -> bool:
    """Whether `text` holds a redacted value."""
    return REDACTION_MARK in text


# ---------------------------------------------------------------------------------------------- names

# Split on separators, lower→upper camelCase, and the end of an acronym (`APIKey` → API, Key).
_WORD_SPLIT = re.compile(r"[_\-.\s/]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SECRET_WORDS = {"password", "passwd", "secret", "token", "apikey", "credential", "credentials", "auth"}
_SECRET_RUNS = (("api", "key"), ("access", "key"), ("private", "key"))


def name_words(name: str) -> list[str]:
    """Split a variable name into lower-case words on `_`, `-`, `.` and camelCase boundaries."""
    return [w.lower() for w in _WORD_SPLIT.split(name) if w]


_AUTH_SETTINGS = frozenset(
    {"method", "methods", "type", "mode", "provider", "enabled", "disabled", "required", "url", "uri", "host",
     "server", "domain", "realm", "scheme", "backend", "strategy", "plugin", "source"}
)  # fmt: skip
"""Words after `auth` that name a setting, not a credential: `POSTGRES_HOST_AUTH_METHOD=trust`, `AUTH_TYPE`."""
_CLIENT_PASSWORD_NAMES = frozenset({"PGPASSWORD", "SSHPASS"})
"""Environment variables clients read a password from, though their names are one word."""


def secret_name_word(name: str) -> str | None:
    """The word (or run) that makes `name` secret-like, or None."""
    if name.upper() in _CLIENT_PASSWORD_NAMES:
        return "password"
    words = name_words(name)
    for index, word in enumerate(words):
        if word == "auth" and index + 1 < len(words) and words[index + 1] in _AUTH_SETTINGS:
            continue
        if word in _SECRET_WORDS:
            return word
    # The shell's own PWD is the working directory; only `DB_PWD`-like names mean a password.
    if "pwd" in words and len(words) > 1:
        return "pwd"
    # `DB_PASS`, `RABBITMQ_DEFAULT_PASS`: a trailing `pass` is a password; `PASS_HOST_HEADER` is not.
    if len(words) > 1 and words[-1] == "pass":
        return "pass"
    for first, second in _SECRET_RUNS:
        for a, b in itertools.pairwise(words):
            if (a, b) == (first, second):
                return f"{first} {second}"
    return None


def is_secret_name(name: str) -> bool:
    """Whether `name` alone looks like it holds a secret."""
    return secret_name_word(name) is not None


_ALLOW_EXACT = {"GPG_KEY", "TOKEN_URL"}
_ALLOW_SUFFIXES = ("_VERSION", "_GPG_KEY", "_TOKEN_URL")
_PATH_VALUE = re.compile(r"(?:/|\./|\.\./|~/?|[A-Za-z]:\\)\S*")


def is_allowlisted(name: str, value: str, extra: Iterable[str] = ()) -> bool:
    """Known non-secrets (dockle's false positives) and the user's own allowlist (globs, any case)."""
    # Option spellings (`--password-file`, `db.password.file`) are judged like `DB_PASSWORD_FILE`.
    upper = re.sub(r"[-.]", "_", name.upper())
    if upper in _ALLOW_EXACT or upper.endswith(_ALLOW_SUFFIXES):
        return True
    if upper.endswith(("_FILE", "_PATH")) and _PATH_VALUE.fullmatch(value.strip()):
        return True
    return any(re.fullmatch(_glob_to_regex(p), name, re.IGNORECASE) for p in extra)


def _glob_to_regex(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


# ---------------------------------------------------------------------------------------------- formats


@dataclass(frozen=True)
class _Format:
    kind: str
    detail: str
    pattern: re.Pattern[str]
    markers: tuple[str, ...]
    """Literal text every match contains: a format whose markers are all absent is not searched (a 1 MB label
    costs one substring search per format instead of a regex pass each)."""


_TOKEN_END = r"(?![A-Za-z0-9])"
_FORMATS: tuple[_Format, ...] = (
    _Format(
        "openssh-private-key",
        "OpenSSH private key",
        re.compile(r"-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]*?(?:-----END OPENSSH PRIVATE KEY-----|$)"),
        ("-----BEGIN OPENSSH",),
    ),
    _Format(
        "private-key",
        "PEM private key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)"),
        ("PRIVATE KEY-----",),
    ),
    _Format(
        "aws-access-key-id",
        "AWS access key ID",
        re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}" + _TOKEN_END),
        ("AKIA", "ASIA"),
    ),
    _Format(
        "github-token",
        "GitHub token",
        re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36}" + _TOKEN_END),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _Format(
        "github-pat",
        "GitHub fine-grained token",
        re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}"),
        ("github_pat_",),
    ),
    _Format("gitlab-token", "GitLab token", re.compile(r"(?<![A-Za-z0-9])glpat-[A-Za-z0-9_\-]{20,}"), ("glpat-",)),
    _Format("slack-token", "Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abpr]-[A-Za-z0-9-]{10,}"), ("xox",)),
    _Format("stripe-key", "Stripe live key", re.compile(r"(?<![A-Za-z0-9])[rs]k_live_[A-Za-z0-9]{16,}"), ("k_live_",)),
    _Format(
        "google-api-key",
        "Google API key",
        re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}" + _TOKEN_END),
        ("AIza",),
    ),
    _Format("npm-token", "npm token", re.compile(r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}" + _TOKEN_END), ("npm_",)),
    _Format("pypi-token", "PyPI token", re.compile(r"(?<![A-Za-z0-9])pypi-[A-Za-z0-9_\-]{16,}"), ("pypi-",)),
    _Format(
        "jwt",
        "JSON Web Token",
        re.compile(r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
        (".eyJ",),
    ),
    # A password that is itself a reference (`$PASS`, `${PASS}`) is not a literal credential.
    _Format(
        "url-credentials", "URL with user:password@", re.compile(r"(?<=://)[^/\s:@$]+:(?!\$)[^/\s@]+(?=@)"), ("://",)
    ),
)

_AWS_SECRET = r"[A-Za-z0-9/+]{40}"
_AWS_SECRET_VALUE = re.compile(_AWS_SECRET)
# A 40-character token only counts beside an AWS-or-secret name, or in text that also holds a key ID,
# since 40 random characters also describe a hex fingerprint.
_AWS_SECRET_NAMED = re.compile(
    r"(?i)(?:aws|secret)[A-Za-z0-9_]*[\"']?\s*[=:]\s*[\"']?(" + _AWS_SECRET + r")(?![A-Za-z0-9/+=])"
)
_AWS_SECRET_BARE = re.compile(r"(?<![A-Za-z0-9/+=])(" + _AWS_SECRET + r")(?![A-Za-z0-9/+=])")
_AWS_SECRET_MATCH = ("aws-secret-access-key", "AWS secret access key")


def find_credentials(text: str) -> list[tuple[int, int, SecretMatch]]:
    """Spans of known credential formats in free text, as (start, end, match), non-overlapping."""
    spans: list[tuple[int, int, SecretMatch]] = []

    def add(start: int, end: int, kind: str, detail: str) -> None:
        if not any(s < end and start < e for s, e, _ in spans):
            spans.append((start, end, SecretMatch(kind, detail, end - start)))

    for fmt in _FORMATS:
        if not any(marker in text for marker in fmt.markers):
            continue
        for m in fmt.pattern.finditer(text):
            add(m.start(), m.end(), fmt.kind, fmt.detail)
    lower = text.lower()
    if "aws" in lower or "secret" in lower:
        for m in _AWS_SECRET_NAMED.finditer(text):
            add(m.start(1), m.end(1), *_AWS_SECRET_MATCH)
    if any(s.kind == "aws-access-key-id" for _, _, s in spans):
        for m in _AWS_SECRET_BARE.finditer(text):
            add(m.start(1), m.end(1), *_AWS_SECRET_MATCH)
    return sorted(spans, key=lambda s: s[0])


def _replace_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(redact(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)


def redact_text(text: str) -> tuple[str, tuple[SecretMatch, ...]]:
    """Replace every known credential format in `text` with its redaction."""
    spans = find_credentials(text)
    if not spans:
        return text, ()
    return _replace_spans(text, ((s, e) for s, e, _ in spans)), tuple(m for _, _, m in spans)


# ---------------------------------------------------------------------------------------------- pairs

_SECRET_MOUNT = re.compile(r"/(?:var/)?run/secrets/[^\s:;]+")
_DSN_PASSWORD = re.compile(r"(?i)(?:^|[\s;?&])(?:password|pwd)\s*=\s*(?!\$)[^\s;&]+")


def _is_reference(value: str) -> bool:
    return bool(re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::?[-=?+][^}]*)?\}?", value.strip()))


_PLACEHOLDER_WORDS = frozenset({"placeholder", "dummy"})
_TEMPLATE = re.compile(r"<[^<>]+>")


def is_placeholder_value(value: str) -> bool:
    """A value that stands in for a secret at build time: empty, one character, `dummy`, `*_placeholder`, `<token>`.

    Rails' `SECRET_KEY_BASE=precompile_placeholder` and `SECRET_KEY=dummy` exist only so a build step runs.
    """
    v = value.strip().strip("\"'").strip()
    if len(v) <= 1 or _TEMPLATE.fullmatch(v):
        return True
    return bool(_PLACEHOLDER_WORDS & {w.lower() for w in re.split(r"[^A-Za-z0-9]+", v) if w})


def classify_pair(name: str, value: str, allow: Iterable[str] = ()) -> SecretMatch | None:
    """Classify an env entry, label or build arg; None when it is not a secret."""
    if not value or is_allowlisted(name, value, allow):
        return None
    already = _REDACTION.fullmatch(value.strip())
    if already is not None:
        # Redacting twice would report the marker's length, not the secret's.
        return SecretMatch("redacted", "already redacted", int(already.group(1)))
    spans = find_credentials(value)
    if spans:
        return SecretMatch(spans[0][2].kind, spans[0][2].detail, len(value))
    if is_placeholder_value(value):
        return None
    words = name_words(name)
    if ("aws" in words or is_secret_name(name)) and _AWS_SECRET_VALUE.fullmatch(value.strip()):
        return SecretMatch(*_AWS_SECRET_MATCH, len(value))
    upper = name.upper()
    if upper == "DATABASE_URL" or upper.endswith("_DSN") or upper == "DSN":
        # A connection string is a secret only when it carries a password.
        if _DSN_PASSWORD.search(value):
            return SecretMatch("dsn-password", "connection string with a password", len(value))
        return None
    word = secret_name_word(name)
    if word is not None and (_SECRET_MOUNT.fullmatch(value.strip()) or value.strip().lower() in _FALSY):
        # `DB_PASSWORD=/run/secrets/db` names where the secret is mounted; `ALLOW_EMPTY_PASSWORD=yes` is a switch.
        return None
    if word is not None and not _is_reference(value):
        return SecretMatch("name", f'name contains "{word}"', len(value))
    return None


def redact_pair(name: str, value: str, allow: Iterable[str] = ()) -> tuple[str, SecretMatch | None]:
    """The value to keep for a name/value pair, and its classification."""
    match = classify_pair(name, value, allow)
    if match is not None:
        return (value if match.kind == "redacted" else redact(value)), match
    if is_allowlisted(name, value, allow):
        return value, None
    safe, found = redact_text(value)
    return safe, (found[0] if found else None)


# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class RedactedPair:
    """A build arg (or other NAME=value pair) after redaction."""

    name: str
    value: str
    secret: SecretMatch | None


@dataclass(frozen=True)
class RedactedCommand:
    """A history line or RUN instruction after redaction, with what redaction found."""

    text: str
    build_args: tuple[RedactedPair, ...]
    """The `|N NAME=value` prefix of the legacy builder, parsed; values redacted when secret."""
    found: tuple[SecretMatch, ...]
    """Credentials redacted from the text outside the build-arg prefix."""


_BUILD_ARGS = re.compile(r"^(?P<lead>\s*(?:RUN\s+)?)\|(?P<n>\d+)\s+")
_LAST_VALUE = re.compile(r"\S*…\(redacted, \d+ chars\)|\S*")
_NEXT_ARG = re.compile(r" (?=[A-Za-z_][A-Za-z0-9_]*=)")
_ARG_START = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


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


_FALSY = frozenset({"true", "false", "yes", "no", "none", "null", "on", "off", "0", "1", "-", ""})
_VALUE = r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s\"'&;|)]+)"
# NAME=value anywhere: ENV/LABEL/ARG pairs in history, shell assignments, `--password=x`, `_authToken=x`.
_ASSIGNMENT = re.compile(r"(?<![\w.])([A-Za-z_][\w.\-]*)=" + _VALUE)
_COMMAND_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "basic-auth-flag",
        "user:password option",
        re.compile(r"(?:^|\s)(?:-u|--user|--proxy-user)[\s=]+[\"']?((?![0-9]+:[0-9]+\b)[^\s:\"']+:[^\s\"']+)"),
    ),
    ("password-flag", "--password option", re.compile(r"(?:^|\s)--password[\s=]+" + _VALUE)),
    (
        "password-flag",
        "-p<password> option",
        re.compile(r"\b(?:mysql|mysqladmin|mysqldump|mariadb|mariadb-dump)\b[^;&|\n]*?\s-p([^\s\"';&|]+)"),
    ),
    (
        "authorization-header",
        "Authorization header",
        re.compile(r"(?i)\b(?:authorization|proxy-authorization):\s*(?:(?:bearer|basic|token|digest)\s+)?([^\s\"']+)"),
    ),
    ("api-key-header", "API key header", re.compile(r"(?i)\b(?:x-api-key|private-token|x-auth-token):\s*([^\s\"']+)")),
    # .pypirc lines (`password = X`, `password: X`) and .netrc lines (`login U password X`).
    (
        "config-password",
        "password in a credentials file",
        re.compile(r"(?i)(?:\b|(?<=\\n))password\s*[=:]\s*([^\s\"'\\;&|)]+)"),
    ),
    ("config-password", "password in .netrc", re.compile(r"(?i)\blogin\s+\S+\s+password\s+([^\s\"'\\;&|)]+)")),
    # Literal account passwords (DA609): the value is set for a user of the image, not merely used.
    (
        "account-password",
        "password fed to chpasswd",
        re.compile(r"\bchpasswd\b[^<;&|]*<<<\s*[\"']?[^\s:\"']+:([^\s\"'\\]+)"),
    ),
    (
        "account-password",
        "password given to useradd/usermod -p",
        re.compile(r"\b(?:useradd|usermod)\b[^;&|\n]*?\s(?:-p|--password)(?:\s+|=)[\"']?([^\s\"';&|]+)"),
    ),
    (
        "account-password",
        "password hashed by openssl passwd",
        re.compile(r"\bopenssl\s+passwd\b(?:\s+(?:-salt\s+\S+|-\S+))*\s+[\"']?([^\s\"')$;&|-][^\s\"');&|]*)"),
    ),
    (
        "account-password",
        "password given to htpasswd -b",
        re.compile(r"\bhtpasswd\s+(?:-[a-zA-Z]*b[a-zA-Z]*)\s+(?:-\S+\s+)*\S+\s+\S+\s+[\"']?([^\s\"';&|]+)"),
    ),
    ("password-flag", "sshpass -p password", re.compile(r"\bsshpass\s+-p\s*[\"']?([^\s\"';&|]+)")),
    (
        "config-token",
        "token in a credentials file",
        re.compile(r"(?i)(?<![\w-])_auth(?:Token)?\s*[=:]\s*([^\s\"'\\;&|)]+)"),
    ),
)


def _literal(value: str) -> str:
    """The value without surrounding quotes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


_CRYPT_HASH = re.compile(r"^\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$")
"""`$6$salt$hash`: a fixed password hash, literal even though it starts with `$`."""
PASSWORD_KINDS = frozenset({"account-password", "password-flag", "password-assignment"})
"""Classifications of a literal password typed into a command (DA609) rather than another credential (DA202)."""
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd"})


def _is_placeholder(value: str) -> bool:
    """A value that is not a literal credential: a reference, a command substitution, a boolean word, a stand-in."""
    v = _literal(value).strip()
    if _CRYPT_HASH.match(v):
        return False
    return v.lower() in _FALSY or v.startswith(("$", "`", "-")) or "\x00" in v or is_placeholder_value(v)


_KEPT = re.compile("\x00(\\d+)\x00")


_MARKER = re.compile(r"…\(redacted, (\d+) chars\)")


_BUILD_ONLY_KEY = re.compile(r"(?:^|_)SECRET_KEY(?:_BASE)?$", re.IGNORECASE)
_KEY_ONLY_BUILD_STEP = re.compile(r"^[^;&|\n]*\b(?:assets:precompile|collectstatic)\b")


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


_FED_PASSWORDS = re.compile(
    r"(?:echo|printf)\s+(?:-[a-zA-Z]+\s+)*(?P<arg>\"[^\"]*\"|'[^']*'|[^\s|;&]+)\s*\|\s*(?:sudo\s+)?"
    r"(?P<tool>chpasswd|passwd\b(?![^;&|\n]*\s-(?:[ldSe]\b|-(?:lock|delete|status|expire)\b)))\b"
)
_HEREDOC_PASSWORDS = re.compile(
    r"\b(?P<tool>chpasswd)\b[^\n]*<<-?\s*[\"']?(?P<tag>\w+)[\"']?\n(?P<arg>.*?)\n\s*(?P=tag)\b", re.S
)
_PASSWORD_LINE = re.compile(r"(?:^|\\n|\n)[ \t]*(?:(?P<user>[^\s:\\\"']+):)?(?P<pw>[^\s\\\"']+)")


def _fed_passwords(command: str) -> list[tuple[int, int, str]]:
    """(start, end, tool) of each password an echo/printf/heredoc feeds to `chpasswd` (`user:pw` lines) or `passwd`."""
    spans: list[tuple[int, int, str]] = []
    for m in (*_FED_PASSWORDS.finditer(command), *_HEREDOC_PASSWORDS.finditer(command)):
        tool, arg, base = m.group("tool"), m.group("arg"), m.start("arg")
        quoted = len(arg) > 1 and arg[0] in "\"'" and arg[-1] == arg[0] and m.re is _FED_PASSWORDS
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
        token = _KEPT.fullmatch(_literal(value).strip())
        marker = _REDACTION.fullmatch(kept[int(token.group(1))]) if token is not None else None
        return int(marker.group(1)) if marker is not None else None

    for m in _ASSIGNMENT.finditer(command):
        name, value = m.group(1), m.group(2)
        raw = _literal(value)
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
            raw = _literal(value)
            offset = 1 if raw != value else 0
            add(m.start(1) + offset, m.end(1) - offset, SecretMatch(kind, detail, len(raw)))
    # A secret build arg's value may also be spelled out literally in the command itself.
    for value in secret_values:
        for m in re.finditer(re.escape(value), command):
            add(m.start(), m.end(), SecretMatch("build-arg-value", "value of a secret build arg", len(value)))

    head = _rebuild_prefix(text[:cmd_start], pairs, redacted_args)
    body = _replace_spans(command, ((s, e) for s, e, _ in spans))
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


_KEY_SPACE_VALUE = re.compile(
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
            safe, _ = redact_pair(m.group("name"), _literal(m.group("value").strip()), allow)
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


# ---------------------------------------------------------------------------------------------- files

_PRIVATE_KEY_HEADER = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(.*?)\s*$", re.MULTILINE)


def classify_file(path: str, content: bytes, allow: Iterable[str] = ()) -> SecretMatch | None:
    """Whether a file is a credential (private key, cloud or registry credentials, secret `.env`)."""
    p = PurePosixPath(path)
    name = p.name
    text = content.decode("utf-8", "replace")
    size = len(content)
    if _PRIVATE_KEY_HEADER.search(content):
        kind = "openssh-private-key" if b"OPENSSH PRIVATE KEY" in content else "private-key"
        return SecretMatch(kind, "private key", size)
    if name == "credentials" and p.parent.name == ".aws" and re.search(r"(?i)aws_secret_access_key\s*=\s*\S", text):
        return SecretMatch("aws-credentials", "AWS credentials file", size)
    docker_auth = re.search(r'"(?:auth|identitytoken)"\s*:\s*"[^"]+', text)
    if name == "config.json" and p.parent.name == ".docker" and '"auths"' in text and docker_auth:
        return SecretMatch("docker-config", "Docker registry credentials", size)
    if name == ".git-credentials" and re.search(r"://[^\s:@/]+:[^\s@/]+@", text):
        return SecretMatch("git-credentials", "Git credentials file", size)
    if name in (".netrc", "_netrc") and re.search(r"(?i)\bpassword\s+\S", text):
        return SecretMatch("netrc", ".netrc with a password", size)
    if name == ".npmrc" and re.search(r"(?i)_auth(?:Token)?\s*=\s*(?!\$)\S", text):
        return SecretMatch("npmrc", ".npmrc with an auth token", size)
    if name == ".pypirc" and re.search(r"(?im)^\s*password\s*[=:]\s*(?!\$)\S", text):
        return SecretMatch("pypirc", ".pypirc with a password", size)
    if name == ".env" or name.startswith(".env."):
        for m in _ENV_LINE.finditer(text):
            if classify_pair(m.group(1), _literal(m.group(2)), allow) is not None:
                return SecretMatch("dotenv", f".env file with secret {m.group(1)}", size)
    return None
