"""What a well-known image provides (users, default user, tools, privilege drops, what its server writes): the local
image when the caller can look one up, else the shipped table `parse/data/known_images.toml`, which the Dockerfile
side (a `FROM`) and the Compose side (`rules.known_images`, a service's `image:`) both read."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from dockaudit.facts.dockerfile import Account, BaseImage
from dockaudit.once import computed_once
from dockaudit.records import Record

_REGISTRY_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/", "library/")


@dataclass(frozen=True, repr=False, eq=False)
class KnownDrop(Record):
    """A base image whose entrypoint or server starts as root and switches to `user` itself."""

    tool: str
    user: str
    when: tuple[str, ...]
    """First words of the command for which it does so; empty: whatever the command."""


@dataclass(frozen=True, repr=False, eq=False)
class KnownBase(Record):
    """One entry of `parse/data/known_images.toml`."""

    name: str
    source: str
    family: str = ""
    tools: frozenset[str] = frozenset()
    complete: bool = False
    accounts: tuple[Account, ...] = ()
    runs_as: str = ""
    env: tuple[tuple[str, str], ...] = ()
    service: bool = False
    http_port: int | None = None
    health_path: str | None = None
    """A path of the service that answers 200 when it is healthy (`/-/healthy`)."""
    drop: KnownDrop | None = None
    root_server: bool = False
    """The main process stays root by design (nginx and apache masters); a Compose `user:` would break it."""
    writable: tuple[str, ...] = ()
    """Paths the server writes outside its declared volumes: each needs a tmpfs under `read_only`."""
    caps: tuple[str, ...] = ()
    """Capabilities its root start needs once all are dropped."""
    file_variables: tuple[str, ...] = ()
    """Variables its entrypoint also reads from `NAME_FILE` (a Compose secret can replace them)."""


class _Entry(NamedTuple):
    """One `[[image]]` item as the table holds it until a reference matches its names."""

    names: frozenset[str]
    """Its names without a `*`: matched by equality."""
    globs: tuple[str, ...]
    """Its names with a `*` (or another fnmatch character)."""
    tag: str | None
    item: dict[str, Any]


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def _entry(item: dict[str, Any]) -> _Entry:
    names = [str(item["name"])] if isinstance(item["name"], str) else [str(n) for n in item["name"]]
    return _Entry(
        frozenset(n for n in names if not _is_glob(n)),
        tuple(n for n in names if _is_glob(n)),
        str(item["tag"]) if item.get("tag") else None,
        item,
    )


def split_reference(ref: str) -> tuple[str, str]:
    """(repository without docker.io/library, tag) of an image reference; `latest` when it has no tag."""
    name = ref.split("@", 1)[0]
    tag = "latest"
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: -len(tag) - 1]
    lowered = name.lower()
    for prefix in _REGISTRY_PREFIXES:
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :]
            break
    return lowered, tag.lower()


def compile_table(toml_text: str) -> str:
    """The table's JSON compilation (`parse/data/known_images.json`, written by `scripts/gen_known_images.py`):
    the parsed TOML and the digest of the text it was parsed from."""
    import tomllib

    table = tomllib.loads(toml_text)
    digest = hashlib.sha256(toml_text.encode()).hexdigest()
    return json.dumps({"toml_sha256": digest, "table": table}, indent=1, ensure_ascii=False) + "\n"


def read_table(toml_text: str, compiled_text: str | None) -> dict[str, Any]:
    """The table from its JSON compilation when that was made from this very TOML text, else from the TOML.

    tomllib takes ~10 ms over this file and JSON a fraction of one; a table edited and not compiled again is
    still read right, from its TOML.
    """
    try:
        compiled = json.loads(compiled_text) if compiled_text is not None else None
    except ValueError:
        compiled = None
    if isinstance(compiled, dict) and compiled.get("toml_sha256") == hashlib.sha256(toml_text.encode()).hexdigest():
        table: dict[str, Any] = compiled["table"]
        return table
    import tomllib

    return tomllib.loads(toml_text)


@computed_once
def _data() -> dict[str, Any]:
    data = resources.files("dockaudit.parse").joinpath("data")
    try:
        compiled: str | None = data.joinpath("known_images.json").read_text(encoding="utf-8")
    except OSError:
        compiled = None
    return read_table(data.joinpath("known_images.toml").read_text(encoding="utf-8"), compiled)


@computed_once
def _table() -> tuple[tuple[_Entry, ...], dict[str, tuple[frozenset[str], bool]]]:
    data = _data()
    families = {
        name: (frozenset(str(t) for t in spec.get("tools", ())), bool(spec.get("complete", False)))
        for name, spec in data.get("family", {}).items()
    }
    return tuple(_entry(item) for item in data.get("image", ())), families


# A run looks up a few references among a couple of hundred entries: each entry's `KnownBase` (and its tag's
# pattern) is built when a reference first matches its names, once.
@cache
def _known(index: int) -> KnownBase:
    return _known_base(_table()[0][index].item, _table()[1])


@cache
def _tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(tag)


def _known_base(item: dict[str, Any], families: dict[str, tuple[frozenset[str], bool]]) -> KnownBase:
    family = str(item.get("family", ""))
    family_tools, family_complete = families.get(family, (frozenset(), False))
    names = (item["name"],) if isinstance(item["name"], str) else tuple(item["name"])
    name = str(names[0])
    accounts = tuple(
        Account(str(u["name"]), int(u["uid"]), int(u["gid"]), f"base image table ({name})")
        for u in item.get("users", ())
    )
    drop_spec = item.get("drop")
    drop = (
        KnownDrop(str(drop_spec["tool"]), str(drop_spec["user"]), tuple(str(w) for w in drop_spec.get("when", ())))
        if drop_spec
        else None
    )
    known = KnownBase(
        name=name,
        source=str(item["source"]),
        family=family,
        tools=family_tools | frozenset(str(t) for t in item.get("tools", ())),
        complete=bool(item.get("complete", family_complete)),
        accounts=accounts,
        runs_as=str(item.get("runs_as", "")),
        env=tuple((str(k), str(v)) for k, v in item.get("env", {}).items()),
        service=bool(item.get("service", False)),
        http_port=int(item["http_port"]) if "http_port" in item else None,
        health_path=str(item["health_path"]) if "health_path" in item else None,
        drop=drop,
        root_server=bool(item.get("root_server", False)),
        writable=tuple(str(p) for p in item.get("writable", ())),
        caps=tuple(str(c) for c in item.get("caps", ())),
        file_variables=tuple(str(v) for v in item.get("file_variables", ())),
    )
    return known


def known_base(ref: str) -> KnownBase | None:
    """The table's entry for an image reference, or None when the image is not in the table."""
    if not ref or "$" in ref:
        return None
    repository, tag = split_reference(ref)
    if repository == "scratch":
        families = _table()[1]
        tools, complete = families["scratch"]
        return KnownBase(name="scratch", source="an empty image", family="scratch", tools=tools, complete=complete)
    for index, entry in enumerate(_table()[0]):
        if repository not in entry.names and not any(fnmatch.fnmatchcase(repository, g) for g in entry.globs):
            continue
        if entry.tag is not None and not _tag_pattern(entry.tag).search(tag):
            continue
        return _known(index)
    return None


def datastore_names() -> frozenset[str]:
    """Last path components of database, cache, search and broker images (the table's `[datastores]`)."""
    return frozenset(str(n) for n in _data().get("datastores", {}).get("names", ()))


@dataclass(frozen=True, repr=False, eq=False)
class HealthCommand(Record):
    """A server's own health command (the table's `[[health_command]]`)."""

    programs: tuple[str, ...]
    argv: tuple[str, ...]
    source: str
    shell: str = ""
    """The same check as a shell command reading the container's environment, for images that have a shell."""

    def command(self, has_shell: bool) -> tuple[str, ...]:
        """The exec-form health command: through `sh -c` when the image has a shell and the entry a shell form."""
        return ("sh", "-c", self.shell) if has_shell and self.shell else self.argv


@cache
def health_commands() -> tuple[HealthCommand, ...]:
    """Servers with a health command of their own, from the table."""
    return tuple(
        HealthCommand(
            tuple(str(p) for p in item["programs"]),
            tuple(str(a) for a in item["argv"]),
            str(item["source"]),
            str(item.get("shell", "")),
        )
        for item in _data().get("health_command", ())
    )


def docker_socket_programs() -> frozenset[str]:
    """Programs whose job is to talk to the Docker engine through its socket (the table's `[docker_socket]`)."""
    return frozenset(str(n) for n in _data().get("docker_socket", {}).get("programs", ()))


def family_tools(family: str) -> tuple[frozenset[str], bool]:
    """Tools of a distribution family in the table, and whether the watched ones are complete."""
    return _table()[1].get(family, (frozenset(), False))


BaseLookup = Callable[[str], BaseImage | None]
"""The caller's look-up of a locally present image by reference (None: not present)."""


BASE_TABLE = "the base image table"
"""How `ResolvedBase.described` names the table of well-known images as what is known of a base."""


@dataclass(frozen=True, repr=False, eq=False)
class ResolvedBase(Record):
    """A `FROM` reference with what is known of it: the local image, the table's entry, both or neither."""

    ref: str
    known: KnownBase | None
    image: BaseImage | None

    @property
    def described(self) -> str | None:
        if self.image is not None:
            return f"the local image {self.ref}"
        if self.known is not None:
            return f"{BASE_TABLE} ({self.known.name}: {self.known.source})"
        return None


def resolve_base(ref: str, lookup: BaseLookup | None) -> ResolvedBase:
    """The base `ref` as the caller's local image and the table know it."""
    image = None
    if lookup is not None and ref.lower() != "scratch" and "$" not in ref:
        image = lookup(ref)
    return ResolvedBase(ref, known_base(ref), image)
