"""What a well-known public image does at run time, as the Compose side asks it, for when the image itself is not
present locally.

The entries live in one table with the Dockerfile side's (`parse/data/known_images.toml`, read through
`dockaudit.parse.base_images`): this module only phrases an entry the way the Compose rules and harden use it
(`uid:gid` strings, the user an entrypoint drops to). Datastores are the images DA703 guards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockaudit.parse.base_images import KnownBase, datastore_names, known_base, split_reference


@dataclass(frozen=True)
class KnownImage:
    """Run-time behaviour of one well-known image."""

    source: str
    """Where the behaviour was read."""
    user: str = ""
    """The image's default `USER` as `uid:gid`; empty when it starts as root."""
    drops_to: str = ""
    """The user (`name uid:gid`) a root-started entrypoint switches to; empty when it does not."""
    root_server: bool = False
    """The main process stays root by design (nginx, httpd masters) and a `user:` would break it."""
    app_user: str = ""
    """A non-root `uid:gid` the image provides for the app without using it by default (node's `node`)."""
    writable: tuple[str, ...] = ()
    """Paths the server writes to outside its declared volumes: each needs a tmpfs under `read_only`."""
    caps: tuple[str, ...] = ()
    """Capabilities the root-started entrypoint needs once all are dropped."""
    file_variables: tuple[str, ...] = ()
    """Variables the entrypoint also reads from `NAME_FILE` (a Compose secret can replace them)."""


_DIGEST = re.compile(r"@sha256:[0-9a-f]+$")


def repository_name(image: str) -> str:
    """`postgres` for `docker.io/library/postgres:16`, `bitnami/redis` for `bitnami/redis:7@sha256:...`."""
    ref = _DIGEST.sub("", image.strip().lower())
    return split_reference(ref)[0] if ref else ""


def _uid_gid(entry: KnownBase, user: str) -> str:
    """`uid:gid` of a user as the entry names it (a name of its users, a uid, or already `uid:gid`)."""
    if ":" in user:
        return user
    for account in entry.accounts:
        if user in (account.name, str(account.uid)) and account.uid is not None:
            gid = account.gid if account.gid is not None else account.uid
            return f"{account.uid}:{gid}"
    return f"{user}:{user}" if user.isdecimal() else ""


def _as_compose(entry: KnownBase) -> KnownImage:
    user = _uid_gid(entry, entry.runs_as) if entry.runs_as else ""
    drops_to = ""
    if entry.drop is not None and not entry.root_server and not user:
        drops_to = f"{entry.drop.user} {_uid_gid(entry, entry.drop.user) or '(its own uid)'}".strip()
    app_user = ""
    if not user and entry.drop is None and entry.accounts:
        app_user = _uid_gid(entry, entry.accounts[0].name)
    return KnownImage(
        source=entry.source,
        user=user,
        drops_to=drops_to,
        root_server=entry.root_server,
        app_user=app_user,
        writable=entry.writable,
        caps=entry.caps,
        file_variables=entry.file_variables,
    )


def known_image(image: str) -> KnownImage | None:
    """The table entry for an image reference, if it has one, as the Compose side uses it."""
    if not repository_name(image):
        return None
    entry = known_base(_DIGEST.sub("", image.strip()))
    if entry is None or entry.name == "scratch" or not (entry.service or entry.runs_as or entry.accounts):
        # A bare distribution (debian, alpine) says nothing about what a service built on it does.
        return None
    return _as_compose(entry)


def is_datastore(image: str) -> bool:
    """Whether the image is a database, cache, search engine or message broker, by its repository name."""
    repo = repository_name(image)
    if not repo:
        return False
    last = repo.rsplit("/", 1)[-1]
    # mcr.microsoft.com/mssql/server names the product one level up.
    return last in datastore_names() or (last == "server" and "mssql" in repo)
