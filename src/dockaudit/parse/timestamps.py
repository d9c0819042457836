"""Parse the timestamps the Engine API returns: RFC 3339 with nanoseconds, or Unix seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_FRACTION = re.compile(r"\.(\d+)")
_ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero time: the engine's way of saying "never" (a created container's StartedAt)."""


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime, or None for missing, zero or unparseable values."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC) if value > 0 else None
        except (OverflowError, OSError, ValueError):  # past year 9999, or infinite
            return None
    if not isinstance(value, str) or not value or value == _ZERO_TIME:
        return None
    # Python parses at most microseconds; Go writes up to nanoseconds.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    text = text.replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        return None
