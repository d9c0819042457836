"""Shared hypothesis settings of the fuzz tests: modest in CI, deeper on demand."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("DOCKAUDIT_FUZZ_EXAMPLES", "150"))
"""Examples per fuzz target; `DOCKAUDIT_FUZZ_EXAMPLES=20000 pytest tests/reliability -k fuzz` digs deeper."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
"""No deadline (CI has two cores) and no flaky timing health checks."""
