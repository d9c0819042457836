"""DA611 and the end-of-life data it shares with DA508: a dated snapshot of endoflife.date shipped in the package.

The snapshot (`rules/data/endoflife.json`) is copied from endoflife.date's published release cycles with the
source and date of each product; `scripts/refresh_eol.py` refreshes it from https://endoflife.date/api.
`DOCKAUDIT_EOL_DATA=/path/endoflife.json` makes dockaudit read another (refreshed) copy. A verdict never goes
past the data: a release the snapshot does not know is not judged, and once the snapshot is older than
`thresholds.eol_data_max_age_days` the findings say the data may be stale.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from dockaudit.facts.dockerfile import DockerfileFacts, DockerfileInstruction
from dockaudit.facts.filesystem import OsRelease
from dockaudit.facts.image import ImageFacts, NamedValue
from dockaudit.model import Fix, Location, Origin, Severity
from dockaudit.once import computed_once
from dockaudit.records import Record, record
from dockaudit.rules import fixes
from dockaudit.rules.registry import CheckResult, Hit, RuleContext, Scope, Section, Skip, rule, variant
from dockaudit.rules.steps import anchor

SNAPSHOT_ENV = "DOCKAUDIT_EOL_DATA"
"""Path of an endoflife.json to read instead of the packaged snapshot (e.g. one scripts/refresh_eol.py wrote)."""
DEFAULT_MAX_AGE_DAYS = 365
REFRESH_HINT = "refresh it with scripts/refresh_eol.py"


# ---------------------------------------------------------------------------------------------- the data


@dataclass(frozen=True, repr=False, eq=False)
class Cycle(Record):
    """One release cycle of a product (`3.8`, `bookworm`'s `12`) and when its support ends."""

    name: str
    eol: date | bool
    """End of security support: a date, True (ended, date unknown) or False (no end announced)."""
    extended_support: date | None = None
    """End of LTS / ESM / ELS where the product has such a phase (Debian LTS, Ubuntu ESM, RHEL ELS)."""
    codename: str | None = None

    @property
    def key(self) -> tuple[int, ...]:
        """The cycle name as numbers, for ordering (`17.03` → (17, 3))."""
        return version_key(self.name)

    def end(self) -> date | None:
        """Last day of any support (`date.min`: ended on an unrecorded day); None when no end is announced."""
        dates = [d for d in (self.eol, self.extended_support) if isinstance(d, date)]
        if dates:
            return max(dates)
        return date.min if self.eol is True else None


@record
class Product(Record):
    """A product's release cycles, with where and when they were read."""

    id: str
    """endoflife.date's product id (`python`, `nodejs`, `alpine-linux`)."""
    title: str
    as_of: date
    """The newest date the product's data records: the data is at least this recent."""
    source: str
    cycles: tuple[Cycle, ...]


@record
class Snapshot(Record):
    """Every product of one snapshot file."""

    compiled: date
    source: str
    products: dict[str, Product]
    path: str

    def oldest(self) -> Product | None:
        """The product whose data is oldest: the snapshot is as fresh as it."""
        return min(self.products.values(), key=lambda p: p.as_of, default=None)


def version_key(text: str) -> tuple[int, ...]:
    """`3.10.2` → (3, 10, 2); leading digits of each dotted part, stopping at the first part without any."""
    parts: list[int] = []
    for part in text.split("."):
        m = re.match(r"\d+", part)
        if m is None:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def _date(value: Any, where: str) -> date | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: expected a date (YYYY-MM-DD), true or false, got {value!r}")


def parse_snapshot(text: str, path: str = "endoflife.json") -> Snapshot:
    """A snapshot from its JSON text; ValueError with the offending key when the file is malformed."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("products"), dict):
        raise ValueError(f"{path}: no 'products' table")
    products: dict[str, Product] = {}
    for pid, raw in data["products"].items():
        where = f"{path}: products.{pid}"
        cycles = []
        for name, item in dict(raw.get("cycles", {})).items():
            eol = _date(item.get("eol", False), f"{where}.cycles.{name}.eol")
            ext = item.get("extended_support")
            extended = _date(ext, f"{where}.cycles.{name}.extended_support") if ext is not None else None
            cycles.append(Cycle(str(name), eol, extended if isinstance(extended, date) else None, item.get("codename")))
        as_of = _date(raw.get("as_of"), f"{where}.as_of")
        if isinstance(as_of, bool):
            raise ValueError(f"{where}.as_of: expected a date")
        products[pid] = Product(pid, str(raw.get("title", pid)), as_of, str(raw.get("source", "")), tuple(cycles))
    compiled = _date(data.get("compiled"), f"{path}: compiled")
    if isinstance(compiled, bool):
        raise ValueError(f"{path}: compiled: expected a date")
    return Snapshot(compiled, str(data.get("source", "https://endoflife.date")), products, path)


def dump_snapshot(data: dict[str, Any]) -> str:
    """The snapshot's JSON text in the shipped layout: one line per release cycle, so refreshes diff well."""
    lines = ["{"]
    head = {k: v for k, v in data.items() if k != "products"}
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines.append('  "products": {')
    products = sorted(data["products"].items())
    for i, (pid, product) in enumerate(products):
        lines.append(f"    {json.dumps(pid)}: {{")
        for key in ("title", "as_of", "source"):
            lines.append(f"      {json.dumps(key)}: {json.dumps(product[key])},")
        lines.append('      "cycles": {')
        cycles = list(product["cycles"].items())
        for j, (name, cycle) in enumerate(cycles):
            comma = "," if j < len(cycles) - 1 else ""
            lines.append(f"        {json.dumps(name)}: {json.dumps(cycle)}{comma}")
        lines.append("      }")
        lines.append("    }" + ("," if i < len(products) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


@computed_once
def _load(path: str | None) -> Snapshot:
    if path:
        return parse_snapshot(Path(path).read_text(encoding="utf-8"), path)
    text = resources.files("dockaudit.rules").joinpath("data/endoflife.json").read_text(encoding="utf-8")
    return parse_snapshot(text, "dockaudit/rules/data/endoflife.json")


def snapshot() -> Snapshot:
    """The snapshot in use: `$DOCKAUDIT_EOL_DATA` when set, else the one shipped in the package."""
    return _load(os.environ.get(SNAPSHOT_ENV) or None)


def snapshot_summary(today: date) -> str:
    """One line for `dockaudit doctor`: which snapshot, how old its data is."""
    snap = snapshot()
    oldest = snap.oldest()
    if oldest is None:
        return f"endoflife.date snapshot {snap.compiled.isoformat()} ({snap.path}): no products"
    newest = max(p.as_of for p in snap.products.values())
    age = (today - oldest.as_of).days
    return (
        f"endoflife.date snapshot compiled {snap.compiled.isoformat()}, {len(snap.products)} products, "
        f"data as of {oldest.as_of.isoformat()} ({oldest.id}, {age} days old) to {newest.isoformat()}"
    )


# ---------------------------------------------------------------------------------------------- lookups


@record
class Support(Record):
    """What the snapshot says about one version of one product."""

    product: Product
    version: str
    cycle: str
    """The cycle the version belongs to (`3.8`), or the family (`2.x`) or the oldest tracked cycle it predates."""
    ends: date | None
    """When every kind of support ends or ended; None when no end is announced."""
    extended: bool = False
    """`ends` is the end of an LTS/ESM/ELS phase after regular support."""
    predates: bool = False
    """The version is older than every cycle the data tracks (`ends` is then the oldest cycle's end)."""

    def ended(self, today: date) -> bool:
        """Whether support has ended by `today`."""
        return self.ends is not None and self.ends <= today


def support(product_id: str, version: str, data: Snapshot | None = None) -> Support | None:
    """The snapshot's view of `version` (`3.8.17`, `3.8`, `2`, `bookworm`); None when it cannot tell."""
    snap = data if data is not None else snapshot()
    product = snap.products.get(product_id)
    if product is None:
        return None
    by_codename = {c.codename.lower(): c for c in product.cycles if c.codename}
    cycle = by_codename.get(version.lower())
    key = version_key(version)
    if cycle is None and not key:
        return None
    if cycle is None:
        by_key = {c.key: c for c in product.cycles if c.key}
        for length in range(len(key), 0, -1):
            cycle = by_key.get(key[:length])
            if cycle is not None:
                break
    if cycle is not None:
        ends = cycle.end()
        extended = cycle.extended_support is not None and ends == cycle.extended_support
        return Support(product, version, cycle.name, ends, extended)
    family = [c for c in product.cycles if c.key[: len(key)] == key and len(c.key) > len(key)]
    if family:
        # `python:2` names no cycle but every 2.x cycle: it is over when all of them are, else it cannot be told.
        ends_all = [c.end() for c in family]
        known = [e for e in ends_all if e is not None]
        last = max(known) if len(known) == len(ends_all) else None
        return Support(product, version, f"{version}.x", last)
    tracked = [c for c in product.cycles if c.key]
    oldest = min(tracked, key=lambda c: c.key, default=None)
    if oldest is not None and len(key) >= len(oldest.key) and key[: len(oldest.key)] < oldest.key:
        return Support(product, version, oldest.name, oldest.end(), predates=True)
    return None


# ---------------------------------------------------------------------------------------------- references

_LIBRARY_NAMESPACES = frozenset({"", "library", "bitnami", "circleci", "cimg"})
_RUNTIME_REPOS = {
    "python": "python",
    "node": "nodejs",
    "ruby": "ruby",
    "php": "php",
    "golang": "go",
    "eclipse-temurin": "eclipse-temurin",
    "openjdk": "openjdk-builds-from-oracle",
    "mysql": "mysql",
    "postgres": "postgresql",
}
_OS_REPOS = {
    "debian": "debian",
    "ubuntu": "ubuntu",
    "alpine": "alpine-linux",
    "centos": "centos",
    "fedora": "fedora",
    "amazonlinux": "amazon-linux",
    "rockylinux": "rocky-linux",
    "almalinux": "almalinux",
}
_OS_RELEASE_IDS = {
    "debian": "debian",
    "ubuntu": "ubuntu",
    "alpine": "alpine-linux",
    "centos": "centos",
    "rhel": "rhel",
    "rocky": "rocky-linux",
    "almalinux": "almalinux",
    "fedora": "fedora",
    "amzn": "amazon-linux",
}
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)")
_UBI = re.compile(r"^ubi(\d+)(?:-|$)")
_ALPINE_FLAVOUR = re.compile(r"(?:^|-)alpine-?(\d+\.\d+)")
# Runtimes other images name in their tags: `wordpress:4.9-php7.1-apache`, `uvicorn-gunicorn:python3.7`.
_RUNTIME_FLAVOURS = (
    ("php", re.compile(r"(?:^|-)php-?(\d+\.\d+)(?=$|[-.])")),
    ("python", re.compile(r"(?:^|-)python-?(\d+\.\d+)(?=$|[-.])")),
    ("nodejs", re.compile(r"(?:^|-)node-?(\d+)(?=$|[-.])")),
)


@record
class Named(Record):
    """A product and version a reference, a config or a Dockerfile names."""

    product: str
    version: str
    what: str
    """How it was named: `FROM python:3.7-slim`, `ENV PYTHON_VERSION=3.7.17`, `/etc/os-release`."""


def _split_ref(ref: str) -> tuple[list[str], str]:
    """Path components of the repository (registry host dropped) and the tag (`latest` when none)."""
    name = ref.split("@", 1)[0]
    tag = "latest"
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: -len(tag) - 1]
    parts = name.lower().split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return parts, tag


def _flavours(tag: str) -> Iterator[tuple[str, str]]:
    """Distributions an official image's tag names (`3.9-slim-buster`, `14-alpine3.12`, `17-jre-focal`)."""
    m = _ALPINE_FLAVOUR.search(tag)
    if m is not None:
        yield "alpine-linux", m.group(1)
    for product, pattern in _RUNTIME_FLAVOURS:
        runtime = pattern.search(tag.lower())
        if runtime is not None:
            yield product, runtime.group(1)
    words = set(re.split(r"[-_.]", tag.lower()))
    for product in ("debian", "ubuntu"):
        for cycle in snapshot().products.get(product, Product(product, product, date.min, "", ())).cycles:
            if cycle.codename and cycle.codename.lower() in words:
                yield product, cycle.codename.lower()


def named_in_ref(ref: str) -> list[Named]:
    """Runtimes and distributions a `FROM` reference names with a version (none for `latest` or `lts`)."""
    if "$" in ref or ref.lower() == "scratch":
        return []
    parts, tag = _split_ref(ref)
    repo = parts[-1]
    namespace = "/".join(parts[:-1])
    shown = f"FROM {ref}"
    found: list[Named] = []
    product = None
    if namespace in _LIBRARY_NAMESPACES or namespace == repo:
        product = _RUNTIME_REPOS.get(repo) or _OS_REPOS.get(repo)
    if product is None and ("dotnet" in parts[:-1] or repo in ("dotnet", "aspnetcore", "aspnetcore-runtime")):
        product = "dotnet"
    ubi = next((m.group(1) for p in parts if (m := _UBI.match(p))), None)
    if ubi is not None:
        found.append(Named("rhel", ubi, shown))
    if product is not None:
        version_tag = tag.removeprefix("centos") if product == "centos" else tag
        m = _VERSION.match(version_tag)
        if m is not None:
            found.append(Named(product, m.group(1), shown))
        elif product in ("debian", "ubuntu"):
            codename = re.split(r"[-_]", tag.lower(), maxsplit=1)[0]
            found.append(Named(product, codename, shown))
    for flavour, version in _flavours(tag):
        if not any(n.product == flavour for n in found):
            found.append(Named(flavour, version, shown))
    return found


_ENV_RUNTIMES = {
    "PYTHON_VERSION": "python",
    "NODE_VERSION": "nodejs",
    "RUBY_VERSION": "ruby",
    "PHP_VERSION": "php",
    "GOLANG_VERSION": "go",
    "DOTNET_VERSION": "dotnet",
    "ASPNET_VERSION": "dotnet",
}
_JAVA_VERSION = re.compile(r"^(?:jdk-?)?(\d+)(?:u\d+|[.+].*)?", re.IGNORECASE)


def named_in_env(env: Iterable[NamedValue]) -> list[Named]:
    """Runtimes the official images record in their environment (`PYTHON_VERSION=3.7.17`)."""
    values = {v.name: v.value for v in env if v.secret is None}
    found: list[Named] = []
    for name, product in _ENV_RUNTIMES.items():
        m = _VERSION.match(values.get(name, "").strip())
        if m is not None and not any(n.product == product for n in found):
            found.append(Named(product, m.group(1), f"ENV {name}={values[name]}"))
    java = values.get("JAVA_VERSION", "")
    home = values.get("JAVA_HOME", "")
    vendor = (
        "eclipse-temurin"
        if home == "/opt/java/openjdk"
        else "openjdk-builds-from-oracle"
        if "openjdk-" in home
        else None
    )
    m = _JAVA_VERSION.match(java.strip())
    if vendor is not None and m is not None:
        found.append(Named(vendor, m.group(1), f"ENV JAVA_VERSION={java}"))
    return found


def named_in_os_release(os_release: OsRelease | None) -> list[Named]:
    """The distribution release an image's /etc/os-release names."""
    if os_release is None or not os_release.version_id:
        return []
    product = _OS_RELEASE_IDS.get(os_release.id.lower())
    if product is None:
        return []
    shown = os_release.pretty_name or f"{os_release.id} {os_release.version_id}"
    return [Named(product, os_release.version_id, f"{shown} (/etc/os-release)")]


# ---------------------------------------------------------------------------------------------- verdicts


@record
class Verdict(Record):
    """A named release judged against the snapshot on a given day."""

    named: Named
    support: Support
    stale: bool
    """The product's data is older than the configured age and the end date falls after it."""

    def describe(self) -> str:
        """Evidence text: what named the release, since when it is unsupported, and from which data."""
        return f"{self.named.what}: {self.summary()}"

    def summary(self) -> str:
        """The verdict without what named it."""
        s = self.support
        product = s.product
        ends = s.ends.isoformat() if s.ends not in (None, date.min) else "an unrecorded date"
        if s.predates:
            what = (
                f"{product.title} {s.version} is older than {s.cycle}, the oldest release line endoflife.date "
                f"tracks, whose support ended on {ends}"
            )
        else:
            kind = " (including extended support)" if s.extended else ""
            what = f"{product.title} {s.cycle} reached end of life on {ends}{kind}"
        data = f"endoflife.date data as of {product.as_of.isoformat()}"
        if self.stale:
            return f"{what}, as that {data} scheduled it; the data may be stale, {REFRESH_HINT}"
        return f"{what} ({data})"


def _max_age(ctx: RuleContext) -> int:
    thresholds = getattr(ctx.settings, "thresholds", None)
    return int(getattr(thresholds, "eol_data_max_age_days", DEFAULT_MAX_AGE_DAYS))


def judge(named: Sequence[Named], ctx: RuleContext) -> tuple[list[Verdict], list[str]]:
    """End-of-life verdicts for the named releases, and what could not be judged because the data is stale."""
    today = ctx.now.date()
    max_age = timedelta(days=_max_age(ctx))
    verdicts: list[Verdict] = []
    unjudged: list[str] = []
    seen: set[tuple[str, str]] = set()
    for item in named:
        found = support(item.product, item.version)
        if found is None:
            product = snapshot().products.get(item.product)
            if product is not None and today - product.as_of > max_age:
                unjudged.append(f"{product.title} {item.version} ({item.what})")
            continue
        if (found.product.id, found.cycle) in seen or not found.ended(today):
            continue
        seen.add((found.product.id, found.cycle))
        ends = found.ends or date.min
        stale = ends > found.product.as_of and today - found.product.as_of > max_age
        verdicts.append(Verdict(item, found, stale))
    return verdicts, unjudged


def _stale_skip(unjudged: list[str]) -> Skip:
    oldest = snapshot().oldest()
    since = f" (oldest data: {oldest.id} as of {oldest.as_of.isoformat()})" if oldest is not None else ""
    return Skip(
        f"the end-of-life snapshot does not know {', '.join(unjudged)} and is older than the configured age"
        f"{since}: the data may be stale, {REFRESH_HINT}"
    )


# ---------------------------------------------------------------------------------------------- DA611


def _upgrade_fix(facts: DockerfileFacts | ImageFacts, ctx: RuleContext) -> Fix:
    return Fix(
        summary=(
            "Move to a supported release of the runtime or distribution (endoflife.date lists the supported "
            "cycles), and rebuild; pin it by digest so the upgrade is deliberate."
        ),
        dockerfile="FROM python:3.13-slim-bookworm@sha256:<digest>  # a release line that still gets security fixes",
    )


def _severity(verdicts: Sequence[Verdict]) -> Severity | None:
    """High (the default) for a certain verdict; medium when every verdict rests on stale data.

    A build stage counts as much as the runtime one: its toolchain is compiled into what ships (a Go binary
    carries the standard library of the Go that built it).
    """
    return None if any(not v.stale for v in verdicts) else Severity.MEDIUM


def _dockerfile_hits(facts: DockerfileFacts, ctx: RuleContext) -> CheckResult:
    stage_names = {s.name.lower() for s in facts.stages if s.name}
    froms = {i.stage: i for i in facts.instructions if i.cmd == "FROM"}
    # The runtime stage (`--target`, else the last one that does not only export or test) names the image.
    runtime = facts.runtime.stage if facts.runtime is not None else None
    final = runtime if runtime is not None else (facts.stages[-1].index if facts.stages else -1)
    hits: list[Hit] = []
    unjudged: list[str] = []
    lines: dict[frozenset[tuple[str, str, bool]], list[_EolLine]] = {}
    for stage in facts.stages:
        if stage.base.lower() in stage_names:
            continue
        instr = froms.get(stage.index)
        location = _line(instr) if instr is not None else Location(line=stage.from_line)
        named = named_in_ref(stage.base)
        if stage.index == final:
            named += named_in_env(_final_env(facts))
        verdicts, stale = judge(named, ctx)
        unjudged += stale
        note = "" if stage.index == final else f" (build stage{' ' + stage.name if stage.name else ''})"
        # One finding per FROM line (`python:3.7-slim-buster` names two releases, one fix), one per ENV line.
        by_line: dict[Location, list[Verdict]] = {}
        for verdict in verdicts:
            where = location
            if verdict.named.what.startswith("ENV "):
                where = _env_location(facts, verdict.named.what) or location
            by_line.setdefault(where, []).append(verdict)
        for where, group in by_line.items():
            text = f"{group[0].named.what}: " + "; ".join(v.summary() for v in group) + note
            key = frozenset((v.support.product.id, v.support.cycle, v.support.predates) for v in group)
            lines.setdefault(key, []).append(
                _EolLine(text, f"{group[0].named.what}{note}", where, group, stage.index == final)
            )
    for same in lines.values():
        # Lines naming the same ended releases are one flaw (one upgrade): the runtime stage's line leads.
        lead = next((e for e in same if e.runtime), same[0])
        others = [e for e in same if e is not lead]
        text = lead.text
        if others:
            text += "; also " + ", ".join(f"{e.what} (line {e.where.line})" for e in others)
        hits.append(Hit(text, lead.where, Origin.USER, _severity([v for e in same for v in e.verdicts])))
    if not hits and unjudged:
        return _stale_skip(unjudged)
    return hits


@record
class _EolLine(Record):
    """One FROM or ENV line's end-of-life verdicts, before lines naming the same releases are merged."""

    text: str
    what: str
    where: Location
    verdicts: list[Verdict]
    runtime: bool


def _line(instr: DockerfileInstruction) -> Location:
    return Location(line=instr.start_line, instruction=instr.original.split("\n", 1)[0][:200])


def _final_env(facts: DockerfileFacts) -> list[NamedValue]:
    names = {name for i in facts.final_stage() if i.cmd == "ENV" for name in i.value[0::2]}
    return [v for v in facts.env if v.name in names]


def _env_location(facts: DockerfileFacts, what: str) -> Location | None:
    name = what.removeprefix("ENV ").split("=", 1)[0]
    for instr in facts.final_stage():
        if instr.cmd == "ENV" and name in instr.value[0::2]:
            return _line(instr)
    return None


def _image_hits(facts: ImageFacts, ctx: RuleContext) -> CheckResult:
    if facts.dockerfile is not None:
        return []  # a Dockerfile's FROM lines and ENV are judged by the Dockerfile run of this rule
    named = named_in_os_release(fixes.image_os(facts)) + named_in_env(facts.config.env)
    if facts.base_image:
        named += named_in_ref(facts.base_image)
    verdicts, unjudged = judge(named, ctx)
    hits = []
    for verdict in verdicts:
        if verdict.named.what.endswith("(/etc/os-release)"):
            where = Location(path="/etc/os-release")
        elif verdict.named.what.startswith("ENV "):
            where = anchor(list(facts.steps), verdict.named.what)
        else:
            where = Location(instruction=verdict.named.what)
        hits.append(Hit(verdict.describe(), where, Origin.BASE, _severity([verdict])))
    if not hits and unjudged:
        return _stale_skip(unjudged)
    if not hits and not named and fixes.image_os(facts) is None:
        return Skip("neither the OS release nor a runtime version could be detected (layers not read)")
    return hits


@rule(
    id="DA611",
    slug="eol-runtime-tag",
    title="End-of-life runtime or distribution",
    severity=Severity.HIGH,
    scope=Scope.DOCKERFILE,
    section=Section.MINIMAL_BASE,
    rationale=(
        "A runtime or distribution past its end of life gets no security fixes, so every vulnerability found "
        "after that date stays open in the image. The dates come from a dated snapshot of endoflife.date "
        "shipped with dockaudit; the finding names the snapshot date."
    ),
    references=('seed "Minimal, maintained base"', "endoflife.date"),
    fix=_upgrade_fix,
)
@variant("DA611", scope=Scope.IMAGE, fix=_upgrade_fix)
def eol_runtime(facts: DockerfileFacts | ImageFacts, ctx: RuleContext) -> CheckResult:
    """A FROM tag, or an image's OS release or runtime version, is past its end of life per the snapshot."""
    if isinstance(facts, DockerfileFacts):
        return _dockerfile_hits(facts, ctx)
    return _image_hits(facts, ctx)
