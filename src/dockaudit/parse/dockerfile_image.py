"""The image a Dockerfile describes, as `ImageFacts`, so the DA1xx/DA2xx rules judge source and image alike."""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockaudit.command_secrets import redact_history_line
from dockaudit.facts.dockerfile import DockerfileFacts, DockerfileInstruction
from dockaudit.facts.filesystem import OsRelease
from dockaudit.facts.image import Healthcheck, HistoryEntry, ImageConfig, ImageFacts, NamedValue
from dockaudit.parse.dockerfile_stages import StageView, contributing_stages
from dockaudit.parse.shell_text import expand
from dockaudit.secrets import redact_pair

_LAYER_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_REMOTE = re.compile(r"^(?:https?|ftp)://", re.IGNORECASE)
_CODENAMES = {
    "debian": {"jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"},
    "ubuntu": {"xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04"},
}
# Official language images name their Debian/Alpine flavour in the tag (`python:3.12-slim-bookworm`).
_FLAVOURS = (("alpine", "alpine"), ("bookworm", "debian"), ("bullseye", "debian"), ("buster", "debian"))


def os_from_base(base: str) -> OsRelease | None:
    """A best guess at the distribution of a `FROM` reference, from its name and tag."""
    ref = base.split("@", 1)[0]
    if ref == "scratch":
        return OsRelease(id="scratch")
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    repo = name.rsplit("/", 1)[-1].lower()
    if "distroless" in name or "chainguard" in name:
        return OsRelease(id="distroless")
    if repo in ("debian", "ubuntu", "alpine", "centos", "fedora", "rockylinux", "almalinux", "busybox"):
        os_id = {"rockylinux": "rocky"}.get(repo, repo)
        version = tag.split("-", 1)[0]
        version = _CODENAMES.get(os_id, {}).get(version, version)
        if not re.match(r"^\d", version):
            version = ""
        return OsRelease(id=os_id, version_id=version, pretty_name=f"{repo}:{tag}" if tag else repo)
    for word, os_id in _FLAVOURS:
        if word in tag:
            version = _CODENAMES.get(os_id, {}).get(word, "")
            return OsRelease(id=os_id, version_id=version, pretty_name=ref)
    return None


def image_facts_from_dockerfile(facts: DockerfileFacts) -> ImageFacts:
    """The runtime stage's config and its instructions as history, each carrying its Dockerfile line: those of the
    stages of the file it is built FROM first, as their layers are the image's too."""
    final = facts.runtime_chain()
    base = facts.stages[-1].base if facts.stages else ""
    if facts.runtime is not None and facts.runtime.stage is not None:
        base = facts.runtime.base
    return ImageFacts(
        id=f"dockerfile:{facts.path}",
        repo_tags=(),
        repo_digests=(),
        size=0,
        created=None,
        architecture="",
        os="linux",
        config=_config(final, facts.env),
        history=_history(final, _feeding_stages(facts)),
        layers=(),
        os_release=os_from_base(base),
        base_image=base or None,
        dockerfile=facts.path,
        runtime=facts.runtime,
    )


def _feeding_stages(facts: DockerfileFacts) -> list[tuple[str, tuple[DockerfileInstruction, ...]]]:
    """Instructions of each stage outside the runtime stage's chain whose files end up in the runtime image."""
    if not facts.stages:
        return []
    runtime_index = facts.stages[-1].index
    if facts.runtime is not None and facts.runtime.stage is not None:
        runtime_index = facts.runtime.stage
    members: dict[int, list[DockerfileInstruction]] = {}
    for ins in facts.instructions:
        if ins.cmd != "FROM":
            members.setdefault(ins.stage, []).append(ins)
    view = StageView(tuple(facts.stages), {k: tuple(v) for k, v in members.items()})
    runtime = next((s for s in facts.stages if s.index == runtime_index), facts.stages[-1])
    # The runtime stage's chain makes the image's own layers (`_history`); the stages it copies from feed it.
    own = {s.index for s in view.chain(runtime)}
    return [(s.name or str(s.index), view.of(s)) for s in contributing_stages(view, runtime) if s.index not in own]


def _config(final: Sequence[DockerfileInstruction], env_facts: Sequence[NamedValue]) -> ImageConfig:
    user = ""
    env: dict[str, NamedValue] = {}
    labels: dict[str, NamedValue] = {}
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    cmd_set = False
    healthcheck: Healthcheck | None = None
    ports: list[str] = []
    volumes: list[str] = []
    stop_signal = ""
    workdir = ""
    shell: tuple[str, ...] | None = None
    for ins in final:
        values = ins.value
        if ins.cmd == "USER" and values:
            user = values[0]
        elif ins.cmd == "ENV":
            for i in range(0, len(values) - 1, 2):
                env[values[i]] = _env_fact(values[i], _unquote(values[i + 1]), env_facts)
        elif ins.cmd == "LABEL":
            for i in range(0, len(values) - 1, 2):
                name = _unquote(values[i])
                safe, match = redact_pair(name, _unquote(values[i + 1]))
                labels[name] = NamedValue(name, safe, match)
        elif ins.cmd == "CMD":
            cmd, cmd_set = _command(ins, shell), True
        elif ins.cmd == "ENTRYPOINT":
            entrypoint = _command(ins, shell)
            # BuildKit resets an inherited CMD when ENTRYPOINT is set, but keeps one set in this stage.
            if not cmd_set:
                cmd = None
        elif ins.cmd == "HEALTHCHECK":
            healthcheck = _healthcheck(ins)
        elif ins.cmd == "EXPOSE":
            ports.extend(v if "/" in v else f"{v}/tcp" for v in values)
        elif ins.cmd == "VOLUME":
            volumes.extend(values)
        elif ins.cmd == "STOPSIGNAL" and values:
            stop_signal = values[0]
        elif ins.cmd == "WORKDIR" and values:
            workdir = values[0]
        elif ins.cmd == "SHELL":
            shell = tuple(values)
    return ImageConfig(
        user=user,
        env=tuple(env.values()),
        entrypoint=entrypoint,
        cmd=cmd,
        healthcheck=healthcheck,
        labels=tuple(labels.values()),
        exposed_ports=tuple(sorted(set(ports))),
        volumes=tuple(volumes),
        stop_signal=stop_signal,
        workdir=workdir,
        shell=shell,
    )


def _env_fact(name: str, value: str, env_facts: Sequence[NamedValue]) -> NamedValue:
    # The parser already classified and redacted ENV values; reuse its classification.
    for fact in env_facts:
        if fact.name == name and fact.value == value:
            return fact
    safe, match = redact_pair(name, value)
    return NamedValue(name, safe, match)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _command(ins: DockerfileInstruction, shell: tuple[str, ...] | None) -> tuple[str, ...]:
    if ins.json_form:
        return tuple(ins.value)
    return (*(shell or ("/bin/sh", "-c")), " ".join(ins.value))


def _healthcheck(ins: DockerfileInstruction) -> Healthcheck:
    values = ins.value
    if not values or values[0].upper() == "NONE":
        return Healthcheck(test=("NONE",))
    rest = values[1:]
    if ins.json_form:
        return Healthcheck(test=("CMD", *rest))
    return Healthcheck(test=("CMD-SHELL", " ".join(rest)))


def _track(ins: DockerfileInstruction, args: dict[str, NamedValue], values: dict[str, str | None]) -> None:
    """Record the ARG defaults and ENV values `ins` sets: values that are not secrets resolve ADD sources."""
    if ins.cmd == "ARG":
        for item in ins.value:
            name, _, value = item.partition("=")
            safe, match = redact_pair(name, _unquote(value))
            args[name] = NamedValue(name, safe, match)
            raw = _unquote(value)
            values[name] = (expand(raw, values) or raw) if match is None and "=" in item else None
    elif ins.cmd == "ENV":
        # The parser gives ENV as name, value pairs (`ENV A=1 B=2` and `ENV A 1` alike).
        for name, value in zip(ins.value[::2], ins.value[1::2], strict=False):
            raw = _unquote(value)
            values[name] = (expand(raw, values) or raw) if redact_pair(name, raw)[1] is None else None


def _shown(ins: DockerfileInstruction, values: dict[str, str | None]) -> str:
    text = " ".join(ins.original.split())
    if ins.cmd == "ADD" and "$" in text:
        # `ARG DIST=https://.../keycloak-$VERSION.tar.gz` + `ADD $DIST /tmp/`: history shows the URL.
        text = " ".join(expand(word, values) or word for word in text.split())
    return text


def _remote_add(text: str) -> bool:
    words = [w.strip("'\"") for w in text.split()[1:] if not w.startswith("--")]
    return any(_REMOTE.match(w) for w in words[:-1])


_DOWNLOAD_RUN = re.compile(r"\b(?:curl|wget)\b.*(?:\||\$\(|`|<\()|(?:\$\(|`|<\()\s*(?:curl|wget)\b", re.DOTALL)
"""A RUN that may pipe or substitute a download into something that runs it (DA210 decides)."""


def _fed_steps(
    feeding: Sequence[tuple[str, Sequence[DockerfileInstruction]]],
) -> list[tuple[str, DockerfileInstruction, str]]:
    """`ADD <url>` and download-running RUNs of the stages that feed the runtime image, in file order:
    (stage, instruction, text with its URL resolved)."""
    found: list[tuple[str, DockerfileInstruction, str]] = []
    for stage, instructions in feeding:
        args: dict[str, NamedValue] = {}
        values: dict[str, str | None] = {}
        for ins in instructions:
            _track(ins, args, values)
            if ins.cmd == "ADD":
                text = _shown(ins, values)
                if _remote_add(text):
                    found.append((stage, ins, text))
            elif ins.cmd == "RUN" and _DOWNLOAD_RUN.search(ins.original):
                found.append((stage, ins, _shown(ins, values)))
    return found


def _history(
    final: Sequence[DockerfileInstruction], feeding: Sequence[tuple[str, Sequence[DockerfileInstruction]]] = ()
) -> tuple[HistoryEntry, ...]:
    entries: list[HistoryEntry] = []
    # A download in a builder stage or a parent stage reaches the image as the files copied from it: its
    # `ADD <url>` or `curl | sh` is listed first, as a step that makes no layer of this image, so DA204 and DA210
    # see it (and the rules about the image's own RUN steps do not).
    for stage, ins, text in _fed_steps(feeding):
        redacted = redact_history_line(text)
        entries.append(
            HistoryEntry(
                index=len(entries),
                created_by=redacted.text,
                comment="",
                empty_layer=True,
                layer_index=None,
                from_base=False,
                secrets=redacted.found,
                line=ins.start_line,
                fed_from=stage,
            )
        )
    layer = 0
    args: dict[str, NamedValue] = {}
    values: dict[str, str | None] = {}
    for ins in final:
        _track(ins, args, values)
        redacted = redact_history_line(_shown(ins, values))
        makes_layer = ins.cmd in _LAYER_INSTRUCTIONS
        entries.append(
            HistoryEntry(
                index=len(entries),
                created_by=redacted.text,
                comment="",
                empty_layer=not makes_layer,
                layer_index=layer if makes_layer else None,
                build_args=tuple(args.values()) if ins.cmd == "RUN" else (),
                from_base=False,
                secrets=redacted.found,
                line=ins.start_line,
            )
        )
        layer += makes_layer
    return tuple(entries)
