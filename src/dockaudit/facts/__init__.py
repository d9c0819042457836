"""Typed, immutable facts about images, containers, the host, Dockerfiles and Compose projects, built once per audit.

One module per data source. Values that look like secrets are already redacted here (see `dockaudit.secrets`);
a fact keeps the classification (`SecretMatch`) so rules can decide without ever seeing the raw value.
"""
