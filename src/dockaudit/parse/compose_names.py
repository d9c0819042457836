"""The file names Compose looks for: kept apart from `parse.compose` so that telling what a path names (targets,
`harden`, the TUI's start-up) does not import the Compose model, which an image or container scan never needs."""

from __future__ import annotations

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
"""What Compose looks for in a project directory, in its order."""
OVERRIDE_FILE_NAMES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)
"""The override file Compose adds when no `-f` is given."""
