"""dockaudit: audit Docker images and containers for production readiness."""

from __future__ import annotations

__version__ = "0.1.0"
