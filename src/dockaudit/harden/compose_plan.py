"""What to edit in each service of a Compose project, rule by rule: only what the scan flags, only where the edit
cannot break a working service; otherwise a note saying why. The passes live by concern in `compose_confinement`,
`compose_operations` and `compose_exposure`; the records and shared helpers in `compose_service`.
"""

from __future__ import annotations

from collections.abc import Callable

from dockaudit.harden.compose_confinement import ConfinementEdits
from dockaudit.harden.compose_edit import is_shared
from dockaudit.harden.compose_exposure import ExposureEdits
from dockaudit.harden.compose_operations import OperationsEdits
from dockaudit.harden.compose_service import (
    VARIABLE_REFERENCE,
    ComposeChange,
    HardeningRun,
    MovedSecret,
    add_top_level_secrets,
)

__all__ = ["VARIABLE_REFERENCE", "ComposeChange", "HardeningRun", "MovedSecret", "ServicePlan", "add_top_level_secrets"]


class ServicePlan(ConfinementEdits, OperationsEdits, ExposureEdits):
    """Decides and queues the edits for one service."""

    def apply(self) -> None:
        if self.base is None or self.base.node.fa.flow_style():
            if self.failing:
                self.note(
                    ", ".join(sorted(self.failing)),
                    "not edited: the service is written in flow style or in a file that could not be read",
                )
            return
        if is_shared(self.base.node):
            self.note(
                ", ".join(sorted(self.failing)) or "-",
                "not edited: the service's definition is an anchor other services reuse; harden them one by one",
            )
            return
        steps: tuple[Callable[[], None], ...] = (
            self.user,
            self.read_only,
            self.capabilities,
            self.no_new_privileges,
            self.limits,
            self.logging,
            self.depends_on,
            self.datastore_ports,
            self.secrets,
            self.advice,
        )
        for step in steps:
            step()
        self.flush()

    def advice(self) -> None:
        """Advice for the flagged rules no pass edits: changing them could break what the service is for."""
        reasons = {
            "DA401": "privileged: true stays: find the capability or device the service needs and grant only that",
            "DA402": "the engine socket mount stays: the service may manage containers; put a filtering proxy in front",
            "DA403": "the host directory mount stays: mount only the files needed, read-only",
            "DA404": "network_mode: host stays: publish the ports the service needs instead",
            "DA405": "pid: host stays: the service may monitor host processes",
            "DA406": "ipc: host stays: share IPC between services with ipc: service:<name> instead",
            "DA407": "host UTS/user namespace stays",
            "DA411": "the dangerous capability stays: check whether the service really needs it",
            "DA413": "the unconfined seccomp/AppArmor option stays: write a profile that allows only the missing call",
            "DA415": "no CPU limit was added: set cpus to what the service needs",
            "DA417": "no healthcheck was added: only a probe the image can run and pass is worth adding",
            "DA424": "pin the image by digest (image: repo@sha256:...) once it is pushed",
            "DA425": "the host devices stay: expose only the device node needed",
            "DA426": "shared mount propagation stays",
            "DA427": "ports stay on all interfaces: bind them to 127.0.0.1 when only local clients or a proxy use them",
            "DA428": "a privileged host port stays: publish a port above 1023 behind a proxy if you can",
            "DA429": "cgroup settings stay",
        }
        for rule_id, text in reasons.items():
            if rule_id in self.failing:
                self.note(rule_id, text)
