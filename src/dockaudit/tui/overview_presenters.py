"""Pure functions for the Overview pane: an image's or a container's configuration as text (env redacted)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from rich.text import Text

from dockaudit.facts.container import ContainerFacts
from dockaudit.facts.image import ImageFacts, NamedValue
from dockaudit.facts.inventory import short_id
from dockaudit.text import printable
from dockaudit.tui.presenters import human_age, human_size


def redacted_env(values: Iterable[NamedValue]) -> list[str]:
    """`NAME=value` lines; secret values are already redacted in facts, and marked here."""
    lines = []
    for nv in values:
        mark = f"  [secret: {nv.secret.detail}]" if nv.secret is not None else ""
        lines.append(f"{nv.name}={nv.value}{mark}")
    return lines


def _cmd(parts: tuple[str, ...] | None) -> str:
    if parts is None:
        return "-"
    return " ".join(parts) if parts else "[]"


def image_overview(facts: ImageFacts, layer_sizes: Sequence[int] | None, now: datetime) -> Text:
    """The Overview pane of an image: config, env (redacted), labels and layers with their instructions."""
    cfg = facts.config
    text = Text()
    rows = [
        ("Image", facts.name),
        ("ID", short_id(facts.id)),
        ("Created", human_age(facts.created, now)),
        ("Size", human_size(facts.size)),
        ("Platform", f"{facts.os}/{facts.architecture}" + (f"/{facts.variant}" if facts.variant else "")),
        ("OS", _os_name(facts)),
        ("User", cfg.user or "(root: not set)"),
        ("Entrypoint", _cmd(cfg.entrypoint)),
        ("Cmd", _cmd(cfg.cmd)),
        ("Workdir", cfg.workdir or "/"),
        ("Ports", ", ".join(cfg.exposed_ports) or "-"),
        (
            "Healthcheck",
            "none" if cfg.healthcheck is None or cfg.healthcheck.disabled else " ".join(cfg.healthcheck.test),
        ),
    ]
    _kv(text, rows)
    _section(text, "Env", redacted_env(cfg.env))
    _section(text, "Labels", [f"{nv.name}={nv.value}" for nv in cfg.labels])
    text.append("\nLayers\n", style="bold underline")
    steps = facts.history
    for i, step in enumerate(steps):
        size = layer_sizes[i] if layer_sizes is not None and i < len(layer_sizes) else None
        size_txt = human_size(size) if size else ("0 B" if step.empty_layer else "?")
        base = " base" if step.from_base else ""
        text.append(f"{i:>3} {size_txt:>9}{base:5} ", style="dim" if step.from_base else "")
        text.append(printable(step.created_by.strip(), multiline=False) or "(no instruction)")
        text.append("\n")
    return text


def _os_name(facts: ImageFacts) -> str:
    release = facts.os_release or (facts.filesystem.os_release if facts.filesystem is not None else None)
    if release is None:
        return "unknown (read when audited)" if facts.filesystem is None else "unknown"
    return release.pretty_name or f"{release.id} {release.version_id}".strip()


def container_overview(facts: ContainerFacts, now: datetime) -> Text:
    """The Overview pane of a container."""
    hc = facts.host_config
    text = Text()
    ports = [f"{p.host_ip or '*'}:{p.host_port}->{p.container_port}" for p in hc.port_bindings]
    rows = [
        ("Container", facts.name),
        ("ID", short_id(facts.id)),
        ("Image", facts.image_ref),
        ("State", facts.state.status + (f" ({facts.state.health_status})" if facts.state.health_status else "")),
        ("Created", human_age(facts.created, now)),
        ("User", facts.user or facts.image_user or "(root: not set)"),
        ("Entrypoint", _cmd(facts.entrypoint)),
        ("Cmd", _cmd(facts.cmd)),
        ("Ports", ", ".join(ports) or "-"),
        ("Networks", ", ".join(facts.networks) or "-"),
        ("Read-only", "yes" if hc.readonly_rootfs else "no"),
        ("Cap drop", ", ".join(hc.cap_drop) or "-"),
        ("Cap add", ", ".join(hc.cap_add) or "-"),
        ("Restart", hc.restart_policy or "no"),
    ]
    _kv(text, rows)
    _section(
        text,
        "Mounts",
        [f"{m.type} {m.source} -> {m.destination} ({'rw' if m.read_write else 'ro'})" for m in facts.mounts],
    )
    _section(text, "Env", redacted_env(facts.env))
    _section(text, "Labels", [f"{nv.name}={nv.value}" for nv in facts.labels])
    if facts.processes:
        _section(text, "Processes", [f"{p.pid:>7} {p.uid:<8} {p.command}" for p in facts.processes])
    return text


def _kv(text: Text, rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows) + 1
    for key, value in rows:
        text.append(f"{key:<{width}} ", style="bold")
        text.append(f"{printable(value)}\n")


def _section(text: Text, title: str, lines: Sequence[str]) -> None:
    text.append(f"\n{title}\n", style="bold underline")
    if not lines:
        text.append("  (none)\n", style="dim")
    for line in lines:
        text.append(f"  {printable(line)}\n")
