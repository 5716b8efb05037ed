"""Hypothesis profiles for property runs, the machine's budget per profile, and seeds."""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Mapping
from typing import Final

from hypothesis import HealthCheck, Phase, settings

__all__ = [
    "DEFAULT_PROFILE",
    "HYPOTHESIS_PROFILES",
    "MACHINE_BUDGET",
    "NOT_SHRUNK_EXPECTED",
    "choose_seed",
    "hypothesis_profile",
    "register_profiles",
]

_TOO_SLOW: Final = [HealthCheck.too_slow]  # every example is an HTTP exchange
_DEFAULT: Final = settings.get_profile("default")

#: The profile a run uses unless told otherwise (``--hypothesis-profile``).
DEFAULT_PROFILE: Final = "ci"

#: The profiles property runs (and, after ``register_profiles()``, any test) can use.
HYPOTHESIS_PROFILES: Final[Mapping[str, settings]] = {
    # Local work: fresh examples every run.
    "dev": settings(
        _DEFAULT,
        max_examples=100,
        deadline=None,
        print_blob=True,
        suppress_health_check=_TOO_SLOW,
    ),
    # CI is repeatable: the same examples every run, and a blob to replay a failure.
    "ci": settings(
        _DEFAULT,
        max_examples=100,
        derandomize=True,
        database=None,
        print_blob=True,
        deadline=None,
        suppress_health_check=_TOO_SLOW,
    ),
    # A live portal: few examples, no shrinking (a replayed add no longer behaves the same).
    "live": settings(
        _DEFAULT,
        max_examples=10,
        stateful_step_count=15,
        phases=(Phase.explicit, Phase.generate),
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=_TOO_SLOW,
    ),
}

#: The state machine's (examples, steps per example) by hypothesis profile: each step is a
#: real HTTP call, so it runs fewer examples than the scripted properties.
MACHINE_BUDGET: Final[Mapping[str, tuple[int, int]]] = {
    "dev": (50, 25),
    "ci": (20, 15),
    "live": (5, 15),
}


#: How a report says why a falsifying example was kept as found: the client's baseline already
#: expects the property to fail, so shrinking would only spend time on a known failure.
NOT_SHRUNK_EXPECTED: Final = (
    "not shrunk: the baseline expects this property to fail, so the first example is kept"
)


def register_profiles() -> None:
    """Register ``dev``, ``ci`` and ``live`` with hypothesis (``--hypothesis-profile=ci``)."""
    for name, profile in HYPOTHESIS_PROFILES.items():
        settings.register_profile(name, profile)


def hypothesis_profile(name: str) -> settings:
    """The settings of a profile by name; an unknown name is a ValueError listing the known."""
    try:
        return HYPOTHESIS_PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown hypothesis profile {name!r}: expected one of {', '.join(HYPOTHESIS_PROFILES)}"
        ) from None


def choose_seed(property_id: str, profile: settings, given_seed: int | None) -> int:
    """The seed a property run uses: the one given, else fixed per id (derandomized profiles)
    or fresh; always a number the report and the rerun command can show."""
    if given_seed is not None:
        return given_seed
    if profile.derandomize:
        # Repeatable like derandomize, and a number the failure message can show.
        return zlib.crc32(property_id.encode())
    return secrets.randbits(32)
