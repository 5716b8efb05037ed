"""Root conftest: plugins and hypothesis profiles only (fixtures live in tests/fixtures)."""

import os

from hypothesis import settings

from conformance.properties import register_profiles
from tests.fixtures.fuzz import FUZZ_PROFILE

# tests.fixtures.portal: the stateful portal and its HTTP helpers, shared by tests/test_portal_*.py.
pytest_plugins = ["pytester", "tests.fixtures.portal"]

# The package's profiles: dev locally, ci (derandomized, with a replay blob) when CI is set.
register_profiles()
# The suite's own fuzz tests at length: --hypothesis-profile=fuzz (tests/fixtures/fuzz.py).
settings.register_profile("fuzz", FUZZ_PROFILE)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
