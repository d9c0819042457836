"""Secret detection and redaction: the only place that ever sees a raw secret value.

Facts are built through `redact_pair`, `redact_text`, `command_secrets.redact_history_line` and `classify_file`,
so no rule, report or UI receives a raw value. This module judges names, values and files; `command_secrets`
finds them in shell commands and Dockerfile text. See the Secrets section of the rule catalog for the contract.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import NamedTuple

from dockaudit.lazy_pattern import LazyPattern
from dockaudit.records import Record, record


@record
class SecretMatch(Record):
    """Why a value counts as a secret; never holds the value itself."""

    kind: str
    """`name` for a secret-like name, else a credential format id (`aws-access-key-id`, `github-token`...)."""
    detail: str
    """Human wording: `name contains "password"`, `GitHub token`."""
    length: int
    """Length of the raw value."""


REDACTION_MARK = "(redacted, "
"""Every redaction contains this, so text that was redacted can be recognised downstream."""


REDACTED_VALUE = LazyPattern(r"\S{0,4}…\(redacted, (\d+) chars\)")
"""A value `redact` made (with the few characters it shows)."""


def redact(value: str) -> str:
    """`AKIA…(redacted, 20 chars)`; values shorter than 8 characters are masked entirely."""
    if len(value) < 8:
        return f"…(redacted, {len(value)} chars)"
    return f"{value[:4]}…(redacted, {len(value)} chars)"


def has_redaction(text: str) -> bool:
    """Whether `text` holds a redacted value."""
    return REDACTION_MARK in text


# Split on separators, lower→upper camelCase, and the end of an acronym (`APIKey` → API, Key).
_WORD_SPLIT = LazyPattern(r"[_\-.\s/]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


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


_PATH_VALUE = LazyPattern(r"(?:/|\./|\.\./|~/?|[A-Za-z]:\\)\S*")


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


class _Format(NamedTuple):
    kind: str
    detail: str
    regex: str
    """Compiled at the first text holding a marker: most runs never search for most formats."""
    markers: tuple[str, ...]
    """Literal text every match contains: a format whose markers are all absent is not searched (a 1 MB label
    costs one substring search per format instead of a regex pass each)."""

    @property
    def pattern(self) -> re.Pattern[str]:
        """The compiled regex."""
        return _compiled(self.regex)


@functools.cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


_TOKEN_END = r"(?![A-Za-z0-9])"


_FORMATS: tuple[_Format, ...] = (
    _Format(
        "openssh-private-key",
        "OpenSSH private key",
        r"-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]*?(?:-----END OPENSSH PRIVATE KEY-----|$)",
        ("-----BEGIN OPENSSH",),
    ),
    _Format(
        "private-key",
        "PEM private key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)",
        ("PRIVATE KEY-----",),
    ),
    _Format(
        "aws-access-key-id",
        "AWS access key ID",
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}" + _TOKEN_END,
        ("AKIA", "ASIA"),
    ),
    _Format(
        "github-token",
        "GitHub token",
        r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36}" + _TOKEN_END,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _Format(
        "github-pat",
        "GitHub fine-grained token",
        r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}",
        ("github_pat_",),
    ),
    _Format("gitlab-token", "GitLab token", r"(?<![A-Za-z0-9])glpat-[A-Za-z0-9_\-]{20,}", ("glpat-",)),
    _Format("slack-token", "Slack token", r"(?<![A-Za-z0-9])xox[abpr]-[A-Za-z0-9-]{10,}", ("xox",)),
    _Format("stripe-key", "Stripe live key", r"(?<![A-Za-z0-9])[rs]k_live_[A-Za-z0-9]{16,}", ("k_live_",)),
    _Format(
        "google-api-key",
        "Google API key",
        r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}" + _TOKEN_END,
        ("AIza",),
    ),
    _Format("npm-token", "npm token", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}" + _TOKEN_END, ("npm_",)),
    _Format("pypi-token", "PyPI token", r"(?<![A-Za-z0-9])pypi-[A-Za-z0-9_\-]{16,}", ("pypi-",)),
    _Format(
        "jwt",
        "JSON Web Token",
        r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        (".eyJ",),
    ),
    # A password that is itself a reference (`$PASS`, `${PASS}`) is not a literal credential.
    _Format("url-credentials", "URL with user:password@", r"(?<=://)[^/\s:@$]+:(?!\$)[^/\s@]+(?=@)", ("://",)),
)


_AWS_SECRET = r"[A-Za-z0-9/+]{40}"


_AWS_SECRET_VALUE = LazyPattern(_AWS_SECRET)


# A 40-character token only counts beside an AWS-or-secret name, or in text that also holds a key ID,
# since 40 random characters also describe a hex fingerprint.
_AWS_SECRET_NAMED = LazyPattern(
    r"(?i)(?:aws|secret)[A-Za-z0-9_]*[\"']?\s*[=:]\s*[\"']?(" + _AWS_SECRET + r")(?![A-Za-z0-9/+=])"
)


_AWS_SECRET_BARE = LazyPattern(r"(?<![A-Za-z0-9/+=])(" + _AWS_SECRET + r")(?![A-Za-z0-9/+=])")


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


def replace_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with each (start, end) span redacted."""
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
    return replace_spans(text, ((s, e) for s, e, _ in spans)), tuple(m for _, _, m in spans)


_SECRET_MOUNT = LazyPattern(r"/(?:var/)?run/secrets/[^\s:;]+")


_DSN_PASSWORD = LazyPattern(r"(?i)(?:^|[\s;?&])(?:password|pwd)\s*=\s*(?!\$)[^\s;&]+")


def _is_reference(value: str) -> bool:
    return bool(re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::?[-=?+][^}]*)?\}?", value.strip()))


_PLACEHOLDER_WORDS = frozenset({"placeholder", "dummy"})


_TEMPLATE = LazyPattern(r"<[^<>]+>")


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
    already = REDACTED_VALUE.fullmatch(value.strip())
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
    if word is not None and (_SECRET_MOUNT.fullmatch(value.strip()) or value.strip().lower() in SWITCH_WORDS):
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


SWITCH_WORDS = frozenset({"true", "false", "yes", "no", "none", "null", "on", "off", "0", "1", "-", ""})
"""Values that switch a setting on or off rather than hold a secret (`ALLOW_EMPTY_PASSWORD=yes`)."""


def unquote(value: str) -> str:
    """The value without surrounding quotes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


_PRIVATE_KEY_HEADER = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")


_ENV_LINE = LazyPattern(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(.*?)\s*$", re.MULTILINE)


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
            if classify_pair(m.group(1), unquote(m.group(2)), allow) is not None:
                return SecretMatch("dotenv", f".env file with secret {m.group(1)}", size)
    return None
