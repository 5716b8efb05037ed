"""Root conftest: plugins and hypothesis profiles only (fixtures live in tests/fixtures)."""

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]

settings.register_profile("dev", max_examples=100)
# CI is repeatable: the same examples every run, and a blob to replay a failure.
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
