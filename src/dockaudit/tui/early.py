"""The first connection and listing, started before Textual loads: the engine's answers (a few round trips, then
the image list, ~0.2 s for 1,000 images) arrive while the UI's modules import and its screen is built."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from dockaudit.audit import AuditSession
from dockaudit.facts.inventory import Inventory
from dockaudit.tui.backend import Connector, EngineChoice


@dataclass
class EarlyConnection:
    """A session being opened on one engine choice, and its first inventory once it is open."""

    choice: EngineChoice
    session: Future[AuditSession] = field(default_factory=Future)
    inventory: Future[Inventory] = field(default_factory=Future)

    @classmethod
    def start(cls, connector: Connector, choice: EngineChoice) -> EarlyConnection:
        """Open and list in a daemon thread (a quit before it answers must not wait for a slow engine)."""
        early = cls(choice)
        threading.Thread(target=early._run, args=(connector,), name="dockaudit-connect", daemon=True).start()
        return early

    def _run(self, connector: Connector) -> None:
        try:
            session = connector.open(self.choice)
        except BaseException as exc:
            self.session.set_exception(exc)
            self.inventory.set_exception(exc)
            return
        self.session.set_result(session)
        if session.info is None:
            self.inventory.set_exception(RuntimeError("the session has no engine"))
            return
        try:
            self.inventory.set_result(session.inventory())
        except BaseException as exc:
            self.inventory.set_exception(exc)
