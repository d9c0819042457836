"""Secret detection and redaction: the only place that ever sees a raw secret value.

Facts are built through `classify_pair` and `redact_text`, so no rule, report or UI receives a raw
value. See the Secrets section of the rule catalog for the exact contract.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretMatch:
    """Why a value counts as a secret; never holds the value itself."""

    kind: str
    """`name` for a secret-like name, else a credential format id (`aws-access-key-id`, `github-token`...)."""
    detail: str
    """Human wording: `name contains "password"`, `GitHub token`."""
    length: int
    """Length of the raw value."""


def redact(value: str) -> str:
    """`AKIA…(redacted, 20 chars)`; values shorter than 8 characters are masked entirely."""
    if len(value) < 8:
        return f"…(redacted, {len(value)} chars)"
    return f"{value[:4]}…(redacted, {len(value)} chars)"


_WORD_SPLIT = re.compile(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])")
_SECRET_WORDS = {"password", "passwd", "secret", "token", "apikey", "credential", "credentials", "auth"}
_SECRET_RUNS = (("api", "key"), ("access", "key"), ("private", "key"))


def name_words(name: str) -> list[str]:
    """Split a variable name into lower-case words on `_`, `-`, `.` and camelCase boundaries."""
    return [w.lower() for w in _WORD_SPLIT.split(name) if w]


def secret_name_word(name: str) -> str | None:
    """The word (or run) that makes `name` secret-like, or None."""
    words = name_words(name)
    for word in words:
        if word in _SECRET_WORDS:
            return word
    if "pwd" in words and len(words) > 1:
        return "pwd"
    for first, second in _SECRET_RUNS:
        for a, b in itertools.pairwise(words):
            if (a, b) == (first, second):
                return f"{first} {second}"
    return None


_ALLOW_SUFFIXES = ("_VERSION",)
_ALLOW_EXACT = {"GPG_KEY", "TOKEN_URL"}


def is_allowlisted(name: str, value: str, extra: Iterable[str] = ()) -> bool:
    """Known non-secrets (dockle's false positives) and the user's own allowlist."""
    upper = name.upper()
    if upper in _ALLOW_EXACT or upper.endswith(("_GPG_KEY", "_TOKEN_URL")) or upper.endswith(_ALLOW_SUFFIXES):
        return True
    if upper.endswith(("_FILE", "_PATH")) and value.startswith(("/", "./", "~")):
        return True
    return any(re.fullmatch(_glob_to_regex(p), name, re.IGNORECASE) for p in extra)


def _glob_to_regex(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


@dataclass(frozen=True)
class _Format:
    kind: str
    detail: str
    pattern: re.Pattern[str]


_FORMATS: tuple[_Format, ...] = (
    _Format("aws-access-key-id", "AWS access key ID", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    _Format("github-token", "GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b")),
    _Format("github-pat", "GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b")),
    _Format("gitlab-token", "GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b")),
    _Format("slack-token", "Slack token", re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b")),
    _Format("stripe-key", "Stripe live key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}\b")),
    _Format("google-api-key", "Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    _Format("npm-token", "npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    _Format("pypi-token", "PyPI token", re.compile(r"\bpypi-[A-Za-z0-9_\-]{16,}\b")),
    _Format(
        "jwt",
        "JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b"),
    ),
    _Format(
        "private-key",
        "private key",
        re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z]+ )?PRIVATE KEY-----|$)"),
    ),
    _Format("url-credentials", "URL with user:password@", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
)


def find_credentials(text: str) -> list[tuple[int, int, SecretMatch]]:
    """Spans of known credential formats in free text, as (start, end, match), non-overlapping."""
    spans: list[tuple[int, int, SecretMatch]] = []
    for fmt in _FORMATS:
        for m in fmt.pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e, _ in spans):
                continue
            spans.append((m.start(), m.end(), SecretMatch(fmt.kind, fmt.detail, m.end() - m.start())))
    return sorted(spans, key=lambda s: s[0])


def redact_text(text: str) -> tuple[str, tuple[SecretMatch, ...]]:
    """Replace every known credential format in `text` with its redaction."""
    spans = find_credentials(text)
    if not spans:
        return text, ()
    out: list[str] = []
    last = 0
    for start, end, _match in spans:
        out.append(text[last:start])
        out.append(redact(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out), tuple(m for _, _, m in spans)


def classify_pair(name: str, value: str, allow: Iterable[str] = ()) -> SecretMatch | None:
    """Classify an env entry, label or build arg; None when it is not a secret."""
    if not value or is_allowlisted(name, value, allow):
        return None
    spans = find_credentials(value)
    if spans:
        return SecretMatch(spans[0][2].kind, spans[0][2].detail, len(value))
    word = secret_name_word(name)
    if word is not None and not _is_reference(value):
        return SecretMatch("name", f'name contains "{word}"', len(value))
    return None


def _is_reference(value: str) -> bool:
    return bool(re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", value.strip()))


def redact_pair(name: str, value: str, allow: Iterable[str] = ()) -> tuple[str, SecretMatch | None]:
    """The value to keep for a name/value pair, and its classification."""
    match = classify_pair(name, value, allow)
    if match is not None:
        return redact(value), match
    safe, found = redact_text(value)
    return safe, (found[0] if found else None)
