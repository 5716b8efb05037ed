"""Root conftest: plugins and hypothesis profiles only (fixtures live in tests/fixtures)."""

import os

from hypothesis import settings

from conformance.properties import register_profiles

pytest_plugins = ["pytester"]

# The package's profiles: dev locally, ci (derandomized, with a replay blob) when CI is set.
register_profiles()
settings.load_profile("ci" if os.environ.get("CI") else "dev")
