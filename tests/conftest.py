"""Settings shared by the whole suite.

Hypothesis: no per-example deadline and no "too slow" health check anywhere, because CI runs on
a loaded 2-core machine where one example can take longer than the default 200 ms without
anything being wrong. Under `CI=true` every property is derandomized, so a CI run is
reproducible: a failure there fails the same way again on any machine.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "adf",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("adf-ci", parent=settings.get_profile("adf"), derandomize=True,
                          database=None)
settings.load_profile("adf-ci" if os.environ.get("CI", "").lower() in {"1", "true"} else "adf")
