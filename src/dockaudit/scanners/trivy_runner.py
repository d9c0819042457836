"""The argv of Trivy runs: image scans from an engine or a tarball, and DB refreshes."""

from __future__ import annotations

from pathlib import Path

from dockaudit.scanners.trivy_options import OFFLINE_FLAGS, ImageSource, TrivyOptions


def build_argv(
    binary_path: str, source: ImageSource, options: TrivyOptions, *, input_path: Path | None = None
) -> list[str]:
    """The `trivy image` argv for one source; `input_path` replaces the engine with a saved tarball."""
    argv = [binary_path, "image", "--cache-dir", str(options.resolved_cache_dir)]
    argv += ["--format", "json", "--no-progress", "--timeout", f"{max(1, int(options.timeout))}s"]
    argv += list(options.scan_flags())
    if not options.layer_cache:
        # The fs layer cache is locked for the whole run; a second process gives up after 5 s.
        argv += ["--cache-backend", "memory"]
    if options.offline:
        argv += OFFLINE_FLAGS
    elif options.skip_db_update:
        argv.append("--skip-db-update")
    if options.db_repository:
        argv += ["--db-repository", options.db_repository]
    archive = input_path or source.archive
    if archive is not None:
        argv += ["--input", str(archive)]
        return argv
    if source.docker_host is not None:
        # A Podman socket serves the Docker API too, so an explicit host always goes through `docker`.
        argv += ["--image-src", "docker", "--docker-host", source.docker_host]
    else:
        # Never the default list: it ends in `remote`, so a missing local image would hit a registry.
        argv += ["--image-src", "podman" if source.podman else "docker"]
    argv.append(source.image_id or source.ref)
    return argv


def build_update_argv(binary_path: str, options: TrivyOptions) -> list[str]:
    """`trivy image --download-db-only`: refresh the DB once before parallel scans skip updating it."""
    argv = [binary_path, "image", "--download-db-only", "--no-progress"]
    argv += ["--cache-dir", str(options.resolved_cache_dir), "--timeout", f"{max(1, int(options.timeout))}s"]
    if options.db_repository:
        argv += ["--db-repository", options.db_repository]
    return argv
