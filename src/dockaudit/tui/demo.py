"""`dockaudit --demo`: the TUI on the made-up demo engine, through a real audit session (see `dockaudit.demo`)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dockaudit.audit import AuditSession
from dockaudit.audit_options import AuditOptions
from dockaudit.config import CONFIG_NAME, Settings
from dockaudit.demo import DemoScanner, DemoSource
from dockaudit.demo_catalog import DEMO_ENGINE, NOW
from dockaudit.errors import EngineError, EngineProblem
from dockaudit.tui.backend import EngineChoice

DEMO_CONFIG = "# dockaudit --demo: the ignores made in the demo are written here, never in your project.\n"


@dataclass
class DemoConnector:
    """Opens sessions on the demo engine; ignores go to a temporary settings file, exports where asked."""

    extra_images: int = 0
    extra_containers: int = 0
    fail_connect: bool = False
    """Fail like an engine that is not running (for the error screen)."""
    hang_trivy: bool = False
    """The demo's Trivy never finishes, so scans stay in progress (for the scanning view)."""
    config_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dockaudit-demo-")))
    """Where the demo's `.dockaudit.toml` lives (ignores are written there, never in the user's project)."""
    scanner: DemoScanner | None = None
    """The last session's scanner (tests read whether a hanging scan was cancelled)."""

    def open(self, choice: EngineChoice) -> AuditSession:
        """A session over the demo engine with the fixed clock."""
        if self.fail_connect:
            raise EngineError("cannot connect to unix:///var/run/docker.sock: [Errno 2] No such file or directory")
        source = DemoSource(
            extra_images=self.extra_images, extra_containers=self.extra_containers, context=choice.context or "demo"
        )
        self.scanner = DemoScanner(source, hang=self.hang_trivy)
        config = self.config_dir / CONFIG_NAME
        if not config.exists():
            # The session's settings come from this file from the start, so an ignore is written here and
            # never into a config file found further up (a `.dockaudit.toml` in /tmp or the user's home).
            config.write_text(DEMO_CONFIG, encoding="utf-8")
        options = AuditOptions(settings=Settings(), clock=lambda: NOW, config_dir=self.config_dir)
        session = AuditSession(source, options, scanner=self.scanner)
        session.reload_settings()
        return session

    def problem(self, choice: EngineChoice, error: Exception) -> EngineProblem:
        """What the demo pretended to try."""
        return EngineProblem(
            message=str(error),
            tried=("unix:///var/run/docker.sock (the platform default socket; no DOCKER_HOST, no context)",),
            hints=(
                "Start the engine: sudo systemctl start docker",
                "Check access: your user must be in the docker group (or use rootless Docker)",
                "Point elsewhere: dockaudit -H ssh://user@host, DOCKER_HOST=..., or --context NAME",
            ),
        )

    def files_session(self) -> AuditSession:
        """A session on no engine, with the demo's fixed clock and settings file."""
        return AuditSession(None, AuditOptions(settings=Settings(), clock=lambda: NOW, config_dir=self.config_dir))

    def contexts(self) -> list[tuple[str, str]]:
        """Two made-up engines to switch between."""
        return [("demo", DEMO_ENGINE.endpoint), ("demo-staging", "demo://made-up-staging")]
