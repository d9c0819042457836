"""Settings: rule overrides, allowlists, thresholds and ignores, loaded from `.dockaudit.toml`.

The nearest of `.dockaudit.toml` or `pyproject.toml` with a `[tool.dockaudit]` table, walking up from
the working directory, wins; `--config FILE` beats both. See docs/configuration.md for the keys.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dockaudit.errors import ConfigError
from dockaudit.model import Finding, Severity, Suppression
from dockaudit.records import Record, record

CONFIG_NAME = ".dockaudit.toml"
PYPROJECT = "pyproject.toml"


@record
class Ignore(Record):
    """A suppression: a rule (or finding id) on targets matching a glob, with a reason."""

    rule: str
    reason: str
    target: str = "*"
    expires: date | None = None
    source: str = ""
    """Where it was declared (`path:line`), shown as `suppressed.by`."""

    def expired(self, today: date) -> bool:
        """Whether the ignore no longer applies (it lapses at the end of its `expires` day)."""
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding, target_name: str) -> bool:
        """Whether this ignore covers `finding` on the target named `target_name`."""
        # A merged twin finding (DA606 also DA101) is covered by an ignore written for either id.
        rule_ok = any(fnmatch.fnmatchcase(rule_id.upper(), self.rule.upper()) for rule_id in finding.rule_ids)
        return rule_ok and fnmatch.fnmatchcase(target_name, self.target)


@record
class Thresholds(Record):
    """Tunable limits of individual rules."""

    stale_days: int = 90
    heavy_base_mb: int = 200
    wasted_share: float = 0.10
    wasted_min_mb: int = 20
    reclaimable_gb: float = 1.0
    scan_max_age_days: int = 7
    db_max_age_days: int = 7
    eol_data_max_age_days: int = 365
    """Past this age the end-of-life snapshot's findings say the data may be stale (DA611, DA508)."""


@record
class Settings(Record):
    """Everything configurable; defaults are the catalog's."""

    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    disabled_rules: frozenset[str] = frozenset()
    allow_setuid_paths: tuple[str, ...] = ()
    allow_secret_names: tuple[str, ...] = ()
    allow_registries: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    ignores: tuple[Ignore, ...] = ()
    path: str | None = None
    """The file these settings came from, if any."""


# ---------------------------------------------------------------------------------------------- finding


def find_config(cwd: Path) -> tuple[Path, tuple[str, ...]] | None:
    """The nearest config file walking up from `cwd`, and the key path of its dockaudit table."""
    for directory in (cwd.resolve(), *cwd.resolve().parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate, ()
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject, ("tool", "dockaudit")
    return None


def _has_tool_table(path: Path) -> bool:
    text = _safe_read(path)
    # However the table is spelled (`[tool.dockaudit]`, dotted keys, an inline table), its key is in the text:
    # most projects' pyproject.toml never names dockaudit, and need no TOML parse (~5 ms of start-up with the
    # parser's import).
    if "dockaudit" not in text:
        return False
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        # A broken pyproject.toml that is not ours to judge; only `[tool.dockaudit]` would make it ours.
        return "[tool.dockaudit" in text
    tool = data.get("tool")
    return isinstance(tool, dict) and "dockaudit" in tool


def _safe_read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def load_settings(cwd: Path, explicit: Path | None = None) -> Settings:
    """Settings from `explicit` (`--config`), else the nearest config file, else the defaults."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: no such configuration file")
        table: tuple[str, ...] = ("tool", "dockaudit") if explicit.name == PYPROJECT else ()
        return load_file(explicit, table)
    found = find_config(cwd)
    if found is None:
        return Settings()
    return load_file(*found)


def load_file(path: Path, table: tuple[str, ...] = ()) -> Settings:
    """Parse one config file; `table` is the key path of the dockaudit table (`tool.dockaudit` in pyproject)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    import tomllib  # see `_has_tool_table`

    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)".
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if m:
            where = f"{path}:{m.group(1)}:{m.group(2)}"
        elif "end of document" in str(exc):
            where = f"{path}:{max(1, len(text.splitlines()))}"
        else:
            where = str(path)
        message = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", str(exc))
        raise ConfigError(f"{where}: invalid TOML: {message}") from None
    parser = _Parser(path, text, table)
    for depth, key in enumerate(table):
        value = data.get(key, {})
        if not isinstance(value, dict):
            # `tool = 5` in a pyproject.toml: there is no [tool.dockaudit] table to read.
            raise parser.error(f"'{'.'.join(table[: depth + 1])}' must be a table")
        data = value
    return parser.settings(data)


class _Parser:
    """Validates a dockaudit table, raising ConfigError with the file and line of the offending key."""

    def __init__(self, path: Path, text: str, table: tuple[str, ...]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.prefix = ".".join(table)

    def _header(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix and name else (self.prefix or name)

    def _line_of(self, key: str, section: str = "", nth: int = 0) -> int | None:
        """Line of `key = ...` in the `nth` `[section]` table, else of a `[section.key]` header, else the section's."""
        header = self._header(section)
        sub_header = self._header(f"{section}.{key}" if section else key) if key else None
        key_re = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
        count = 0 if header == "" else -1
        in_section = header == ""
        header_line: int | None = None
        sub_line: int | None = None
        for number, line in enumerate(self.lines, start=1):
            stripped = line.split("#", 1)[0].strip()
            if stripped.startswith("["):
                name = stripped.strip("[] \t")
                if name == sub_header and sub_line is None:
                    sub_line = number
                in_section = name == header
                if in_section:
                    count += 1
                    if count == nth:
                        header_line = number
                continue
            if in_section and count == nth and key_re is not None and key_re.match(line):
                return number
        return sub_line or header_line

    def error(self, message: str, key: str = "", section: str = "", nth: int = 0) -> ConfigError:
        line = self._line_of(key, section, nth)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {message}")

    def settings(self, data: Mapping[str, Any]) -> Settings:
        known = {"rules", "allow", "thresholds", "ignore"}
        for key in data:
            if key not in known:
                raise self.error(f"unknown key {key!r} (expected one of {', '.join(sorted(known))})", key)
        rules = self._table(data, "rules")
        allow = self._table(data, "allow")
        return Settings(
            severity_overrides=self._severities(rules),
            disabled_rules=frozenset(r.upper() for r in self._strings(rules, "disable", "rules")),
            allow_setuid_paths=self._strings(allow, "setuid", "allow"),
            allow_secret_names=self._strings(allow, "secret_names", "allow"),
            allow_registries=self._strings(allow, "registries", "allow"),
            thresholds=self._thresholds(self._table(data, "thresholds")),
            ignores=self._ignores(data.get("ignore", [])),
            path=str(self.path),
        )

    def _table(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.error(f"{name!r} must be a table", name)
        return value

    def _strings(self, table: Mapping[str, Any], key: str, section: str) -> tuple[str, ...]:
        allowed = {"rules": {"disable", "severity"}, "allow": {"setuid", "secret_names", "registries"}}[section]
        for name in table:
            if name not in allowed:
                raise self.error(f"unknown key {name!r} in [{section}]", name, section)
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(f"[{section}] {key} must be a list of strings", key, section)
        return tuple(value)

    def _severities(self, rules: Mapping[str, Any]) -> dict[str, Severity]:
        table = rules.get("severity", {})
        if not isinstance(table, dict):
            raise self.error('[rules] severity must be a table of RULE = "level"', "severity", "rules")
        result: dict[str, Severity] = {}
        for rule_id, level in table.items():
            try:
                result[rule_id.upper()] = Severity.parse(str(level))
            except ValueError:
                raise self.error(
                    f"[rules.severity] {rule_id}: unknown severity {level!r} (critical, high, medium, low, info)",
                    rule_id,
                    "rules.severity",
                ) from None
        return result

    def _thresholds(self, table: Mapping[str, Any]) -> Thresholds:
        defaults = Thresholds()
        values: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(Thresholds)}
        for key, value in table.items():
            if key not in fields:
                raise self.error(f"unknown threshold {key!r} (known: {', '.join(fields)})", key, "thresholds")
            expected = type(getattr(defaults, key))
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if expected is int and not isinstance(value, int):
                ok = False
            if not ok or value < 0:
                raise self.error(f"[thresholds] {key} must be a non-negative {expected.__name__}", key, "thresholds")
            values[key] = expected(value)
        return replace(defaults, **values)

    def _ignores(self, raw: Any) -> tuple[Ignore, ...]:
        if not isinstance(raw, list):
            raise self.error("'ignore' must be an array of tables ([[ignore]])", "ignore")
        result: list[Ignore] = []
        for nth, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise self.error("each [[ignore]] must be a table", "ignore")
            line = self._line_of("", "ignore", nth)

            def fail(message: str, key: str = "", nth: int = nth) -> ConfigError:
                return self.error(f"[[ignore]] #{nth + 1}: {message}", key, "ignore", nth)

            for key in entry:
                if key not in ("rule", "reason", "target", "expires"):
                    raise fail(f"unknown key {key!r} (rule, reason, target, expires)", key)
            rule_id = entry.get("rule")
            if not isinstance(rule_id, str) or not rule_id.strip():
                raise fail("'rule' is required (a rule id like \"DA101\" or a finding id)", "rule")
            reason = entry.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise fail(f"ignoring {rule_id} needs a 'reason'", "reason")
            target = entry.get("target", "*")
            if not isinstance(target, str) or not target:
                raise fail("'target' must be a glob string", "target")
            expires = entry.get("expires")
            if isinstance(expires, datetime):
                expires = expires.date()
            elif isinstance(expires, str):
                try:
                    expires = date.fromisoformat(expires)
                except ValueError:
                    raise fail(f"'expires' {expires!r} is not a date (YYYY-MM-DD)", "expires") from None
            elif expires is not None and not isinstance(expires, date):
                raise fail("'expires' must be a date (YYYY-MM-DD)", "expires")
            source = f"{self.path}:{line}" if line else str(self.path)
            result.append(Ignore(rule_id.strip(), reason.strip(), target, expires, source))
        return tuple(result)


# ---------------------------------------------------------------------------------------------- applying


@record
class Applied(Record):
    """Findings after the settings, and which ignores matched something."""

    findings: list[Finding]
    matched: frozenset[Ignore]
    """Ignores that matched at least one finding (expired ones included: they matched, but no longer apply)."""


def apply_config(findings: Iterable[Finding], target_name: str, settings: Settings, today: date) -> Applied:
    """Disabled rules dropped, severity overrides applied, and findings covered by a live ignore suppressed."""
    result: list[Finding] = []
    matched: set[Ignore] = set()
    for finding in findings:
        if is_disabled(finding, settings):
            continue
        override = severity_override(finding, settings)
        if override is not None:
            finding = replace(finding, severity=override)
        for ignore in settings.ignores:
            if not ignore.matches(finding, target_name):
                continue
            matched.add(ignore)
            # An expired ignore re-raises its finding: it matches but does not suppress.
            if not ignore.expired(today) and finding.suppressed is None:
                expires = ignore.expires.isoformat() if ignore.expires else None
                by = ignore.source or settings.path or "config"
                finding = replace(finding, suppressed=Suppression(ignore.reason, by, expires))
        result.append(finding)
    return Applied(result, frozenset(matched))


def is_disabled(finding: Finding, settings: Settings) -> bool:
    """Whether the finding's rule, or any twin merged into it, is disabled."""
    return any(rule_id.upper() in settings.disabled_rules for rule_id in finding.rule_ids)


def severity_override(finding: Finding, settings: Settings) -> Severity | None:
    """The configured severity for the finding's own id, else for the first of its twins that has one."""
    for rule_id in finding.rule_ids:
        override = settings.severity_overrides.get(rule_id.upper())
        if override is not None:
            return override
    return None


def apply_settings(findings: Iterable[Finding], target_name: str, settings: Settings, today: date) -> list[Finding]:
    """`apply_config`'s findings; use `apply_config` to learn which ignores matched."""
    return apply_config(findings, target_name, settings, today).findings


def ignore_problems(settings: Settings, matched: Iterable[Ignore], today: date) -> list[str]:
    """One line per ignore that matched nothing in the whole run, or that has expired."""
    seen = set(matched)
    problems: list[str] = []
    for ignore in settings.ignores:
        where = f" ({ignore.source})" if ignore.source else ""
        label = f"ignore {ignore.rule} on {ignore.target!r}{where}"
        if ignore.expired(today) and ignore.expires is not None:
            problems.append(f"{label} expired on {ignore.expires.isoformat()}: its findings count again")
        elif ignore not in seen:
            problems.append(f"{label} matched no finding: remove it or fix its rule/target")
    return problems


# ---------------------------------------------------------------------------------------------- writing


def add_ignore(path: Path, rule: str, reason: str, target: str = "*", expires: date | None = None) -> Path:
    """Append an `[[ignore]]` entry to `path` (created if missing), keeping the file's comments and layout."""
    import tomlkit  # only the TUI writes config; keep CLI start-up lean

    if not reason.strip():
        raise ConfigError(f"ignoring {rule} needs a reason")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    container: Any = doc
    if path.name == PYPROJECT:
        tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        container = tool.setdefault("dockaudit", tomlkit.table())
    entry = tomlkit.table()
    entry["rule"] = rule
    entry["reason"] = reason
    if target and target != "*":
        entry["target"] = target
    if expires is not None:
        entry["expires"] = expires
    ignores = container.get("ignore")
    if ignores is None:
        ignores = tomlkit.aot()
        container["ignore"] = ignores
    ignores.append(entry)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def remove_ignore(path: Path, ignore: Ignore) -> bool:
    """Delete the first `[[ignore]]` entry of `path` that declares `ignore` (same rule, reason, target and
    expiry), keeping the rest of the file as it was; False when the file holds no such entry."""
    import tomlkit  # only the TUI writes config; keep CLI start-up lean

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    container: Any = doc
    if path.name == PYPROJECT:
        container = doc.get("tool", {}).get("dockaudit", {})
    entries = container.get("ignore")
    if entries is None:
        return False
    for nth, entry in enumerate(entries):
        if _declares(entry, ignore):
            del entries[nth]
            if not entries:
                # No `ignore = []` left behind: the file reads as if the ignore had never been added.
                del container["ignore"]
            path.write_text(tomlkit.dumps(doc), encoding="utf-8")
            return True
    return False


def _declares(entry: Any, ignore: Ignore) -> bool:
    """Whether a raw `[[ignore]]` table is the declaration `ignore` was parsed from."""
    expires = entry.get("expires")
    if isinstance(expires, datetime):
        expires = expires.date()
    elif isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            return False
    return (
        str(entry.get("rule", "")).strip() == ignore.rule
        and str(entry.get("reason", "")).strip() == ignore.reason
        and str(entry.get("target", "*")) == ignore.target
        and expires == ignore.expires
    )


def suppressing_ignore(finding: Finding, target_name: str, settings: Settings, today: date) -> Ignore | None:
    """The ignore that suppresses `finding` on the target named `target_name` (the first live one that matches,
    as `apply_config` chose it); None when no ignore does."""
    for ignore in settings.ignores:
        if ignore.matches(finding, target_name) and not ignore.expired(today):
            return ignore
    return None


def default_config_path(cwd: Path) -> Path:
    """Where a new ignore goes: the config file in use, else `.dockaudit.toml` in `cwd`."""
    found = find_config(cwd)
    return found[0] if found is not None else cwd / CONFIG_NAME
