"""`dockaudit harden`: the hardened Dockerfile (or `docker run` + Compose service) of a target, as a diff.

`-o FILE` writes the hardened file itself (with `--diff`, the diff); without `-o` the diff goes to stdout.
Exit 0 when the output was written, 2 usage error, 3 engine failure. Changes and notes go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker

from dockaudit.engine import api
from dockaudit.engine.collect import BaseIndex
from dockaudit.errors import DockauditError, EngineError, ReportWriteError, UsageError
from dockaudit.facts import ContainerFacts
from dockaudit.harden.context import BaseImage, HardenContext, base_from_facts
from dockaudit.harden.diff import colour_diff
from dockaudit.harden.dockerfile import harden_dockerfile_text
from dockaudit.harden.document import DockerfileSyntaxError
from dockaudit.harden.image import harden_image
from dockaudit.harden.result import Change, HardenResult
from dockaudit.harden.runtime import RuntimeHardening, harden_container
from dockaudit.text import printable


def add_parser(sub: Any) -> None:
    """Register `harden` and its options."""
    from dockaudit.cli import add_engine_options

    p = sub.add_parser(
        "harden",
        help="generate a hardened Dockerfile, or a hardened docker run and Compose service, as a diff",
        description="Harden an image, container, Dockerfile or project directory. Without -o the unified diff "
        "goes to stdout; -o FILE writes the hardened file (with --diff, the diff). Exit 0 when written, "
        "2 usage error, 3 engine error.",
    )
    p.add_argument(
        "target",
        metavar="IMAGE|CONTAINER|Dockerfile|PROJECT_DIR",
        help="prefix with container:, image: or path: to force one",
    )
    p.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile the image was built from (else reconstructed)")
    p.add_argument("--diff", action="store_true", help="with -o, write the unified diff instead of the hardened file")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of printing the diff")
    add_engine_options(p)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (invalid UTF-8)") from None


def _dockerfile_path(text: str) -> Path | None:
    path = Path(text)
    if path.is_dir():
        from dockaudit.parse.dockerfile import find_dockerfile

        return find_dockerfile(path)
    return path if path.is_file() else None


def _base_lookup(client: docker.DockerClient | None) -> Callable[[str], BaseImage | None]:
    """Look up bases on the engine (reading their files), caching each; None when absent or unreachable."""
    cache: dict[str, BaseImage | None] = {}

    def lookup(ref: str) -> BaseImage | None:
        if client is None:
            return None
        if ref not in cache:
            from dockaudit.engine.collect import collect_image

            try:
                cache[ref] = base_from_facts(collect_image(client, ref), ref)
            except DockauditError:
                cache[ref] = None
        return cache[ref]

    return lookup


def _connect(args: argparse.Namespace, stack: ExitStack, *, required: bool) -> docker.DockerClient | None:
    """The engine's client; None (with a note) when it is unreachable and a Dockerfile does without it."""
    from dockaudit.engine.client import connect, resolve_endpoint

    try:
        engine = connect(resolve_endpoint(args.host, args.context))
    except EngineError as exc:
        if required:
            raise
        # A Dockerfile hardens without an engine; only the base images' own files go unseen.
        sys.stderr.write(f"dockaudit: base images not inspected ({exc}); guessing their distribution by name\n")
        return None
    stack.callback(engine.close)
    return engine.client


def _find(client: docker.DockerClient, kind: str, ref: str) -> str | None:
    from dockaudit.targets import find_container, find_image

    if kind in ("auto", "container") and find_container(client, ref, "local") is not None:
        return "container"
    if kind in ("auto", "image") and find_image(client, ref, "local") is not None:
        return "image"
    return None


def _base_index(client: docker.DockerClient) -> BaseIndex:
    """Every local image by its layers, so an image's base can be named in a reconstructed FROM."""
    index = BaseIndex()
    try:
        rows = api.list_images(client)
    except DockauditError:
        return index
    for row in rows:
        try:
            index.add(api.inspect_image(client, str(row["Id"])))
        except DockauditError:
            continue
    return index


def _with_stats(client: docker.DockerClient, facts: ContainerFacts) -> ContainerFacts:
    """Facts with one `docker stats` sample (memory, CPU, PIDs), so limits come from observed usage."""
    if not facts.state.running:
        return facts
    try:
        sample: dict[str, Any] = client.api.stats(facts.id, stream=False)
    except Exception as exc:
        sys.stderr.write(f"dockaudit: no usage sample for {facts.name} ({exc}); limits are defaults\n")
        return facts
    memory = sample.get("memory_stats") or {}
    detail = memory.get("stats") or {}
    # Like `docker stats`: page cache the kernel can drop does not count as usage.
    used = int(memory.get("usage") or 0) - int(detail.get("inactive_file") or detail.get("cache") or 0)
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = int(cpu.get("system_cpu_usage") or 0) - int(pre.get("system_cpu_usage") or 0)
    online = int(cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1)
    percent = cpu_delta / system_delta * online * 100 if system_delta > 0 and cpu_delta >= 0 else None
    pids = (sample.get("pids_stats") or {}).get("current")
    return replace(
        facts,
        stats_memory_bytes=used if used > 0 else None,
        stats_cpu_percent=percent,
        stats_pids=int(pids) if pids else None,
    )


def _report(changes: tuple[Change, ...], notes: tuple[str, ...]) -> None:
    for change in changes:
        where = f"line {change.line}: " if change.line else ""
        sys.stderr.write(printable(f"  [{', '.join(change.rule_ids)}] {where}{change.summary}") + "\n")
    for note in notes:
        sys.stderr.write(printable(f"  note: {note}") + "\n")
    if not changes:
        sys.stderr.write("dockaudit: nothing to harden: every pass found it already done\n")


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def _emit_diff(diff: str) -> None:
    if sys.stdout.isatty():
        from rich.console import Console

        # soft_wrap: long lines stay single lines, so a copied diff still applies. The diff quotes the
        # image's history: on a terminal its control characters are shown, never obeyed.
        Console(highlight=False, soft_wrap=True).print(colour_diff(printable(diff)), end="")
    else:
        sys.stdout.write(diff)


def _output_dockerfile(args: argparse.Namespace, result: HardenResult, shown_path: str) -> None:
    _report(result.changes, result.notes)
    diff = result.diff(shown_path)
    if args.output is None:
        _emit_diff(diff)
        return
    if args.diff:
        _write(args.output, diff)
        return
    _write(args.output, result.hardened)
    if result.dockerignore is not None:
        # BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile given with -f, so nothing is overwritten.
        ignore = f"{args.output}.dockerignore"
        _write(ignore, result.dockerignore)
        sys.stderr.write(f"dockaudit: wrote {ignore} (build with -f {args.output})\n")


def _output_runtime(args: argparse.Namespace, result: RuntimeHardening) -> None:
    _report(result.changes, result.notes)
    if args.output is None:
        _emit_diff(result.diff())
        return
    text = result.diff() if args.diff else result.hardened_run + "\n# Compose service\n" + result.compose
    _write(args.output, text)


def _harden_path(args: argparse.Namespace, path: Path, client: docker.DockerClient | None) -> None:
    text = _read_text(path)
    context = HardenContext(base_lookup=_base_lookup(client), project_dir=str(path.parent))
    try:
        result = harden_dockerfile_text(text, context=context)
    except DockerfileSyntaxError as exc:
        raise UsageError(f"{path}: cannot parse Dockerfile: {str(exc).splitlines()[0]}") from None
    _output_dockerfile(args, result, path.name)


def run(args: argparse.Namespace) -> int:
    """Harden one target and write the result; raises `DockauditError` for exit codes 2 and 3."""
    from dockaudit.engine.collect import collect_container, collect_image
    from dockaudit.targets import parse_target

    spec = parse_target(args.target)
    dockerfile = Path(args.dockerfile) if args.dockerfile else None
    if dockerfile is not None and not dockerfile.is_file():
        raise UsageError(f"--dockerfile {args.dockerfile}: no such file")
    with ExitStack() as stack:
        local = _dockerfile_path(spec.value) if spec.kind in ("auto", "path") else None
        if spec.kind == "path":
            if local is None:
                raise UsageError(f"TARGET {args.target!r} names nothing: no file or directory by that name")
            _harden_path(args, local, _connect(args, stack, required=False))
            return 0
        client = _connect(args, stack, required=local is None)
        kind = _find(client, spec.kind, spec.value) if client is not None else None
        if kind is None:
            if local is None:
                raise UsageError(f"TARGET {args.target!r} names nothing: no container, image or file by that name")
            _harden_path(args, local, client)
            return 0
        assert client is not None
        if kind == "container":
            facts = _with_stats(client, collect_container(client, spec.value))
            try:
                image = collect_image(client, facts.image_id)
            except EngineError:
                image = None
            _output_runtime(args, harden_container(facts, image))
            return 0
        image_facts = collect_image(client, spec.value, base_index=_base_index(client))
        text = _read_text(dockerfile) if dockerfile is not None else None
        project = str(dockerfile.parent) if dockerfile is not None else None
        try:
            result = harden_image(image_facts, text, base_lookup=_base_lookup(client), project_dir=project)
        except DockerfileSyntaxError as exc:
            raise UsageError(f"{dockerfile}: cannot parse Dockerfile: {str(exc).splitlines()[0]}") from None
        _output_dockerfile(args, result, dockerfile.name if dockerfile is not None else "Dockerfile")
    return 0
