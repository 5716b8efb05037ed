"""Property searches draw the same examples in every process: hypothesis' pool of constants
harvested from the caller's own source is held empty while one runs.

Hypothesis mixes into its draws, besides its built-in constants, the literals it finds in the
source of every "local" module in ``sys.modules`` (neither the standard library nor
site-packages), read at a process's first draw and again whenever ``sys.modules`` grows. For
a property that made its examples, at a fixed seed, depend on which of the suite's modules the
process had imported so far: importing conformance.machine (the state machine's property)
before a draw changed the examples of property.request-fidelity and property.error-mapping,
so a pytest-xdist worker, a serial run and the rerun command a failure prints could each draw
other examples; and an editable install drew other examples than a wheel. Reading the
modules also cost a process's first pass over the properties about 0.4 s of CPU more than a
second pass (4.73 s against 4.31 s; the same after the pin) and wrote ``.hypothesis/constants``
into the directory the run ran in. The strategies carry the hostile values they need
(conformance.strategies), so the suite does without the harvest.

Hypothesis offers no setting for this; the pool is reached through its provider module and,
where a hypothesis release no longer has it, left alone (tests/test_property_draws.py then
fails on the draws themselves, not on the name).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["suite_constants_only"]


class _Pin:
    """How many searches run pinned now, and the harvest to give back when none does."""

    lock = threading.Lock()
    depth = 0
    harvest: Callable[[], Any] | None = None


def _providers() -> Any:
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the provider module
        return None
    needed = ("_get_local_constants", "CONSTANTS_CACHE", "Constants")
    return providers if all(hasattr(providers, name) for name in needed) else None


def _clear(providers: Any) -> None:
    # Values drawn from the pool are cached by the constraints they were drawn under.
    cache = getattr(providers.CONSTANTS_CACHE, "cache", None)
    if cache is not None:
        cache.clear()


@contextmanager
def suite_constants_only() -> Iterator[None]:
    """While this runs, hypothesis draws no constants from the source of loaded modules
    (re-entrant; the harvest is restored afterwards for any other hypothesis test)."""
    providers = _providers()
    if providers is None:
        yield
        return
    with _Pin.lock:
        if _Pin.depth == 0:
            _Pin.harvest = providers._get_local_constants
            empty = providers.Constants()
            providers._get_local_constants = lambda: empty
            _clear(providers)
        _Pin.depth += 1
    try:
        yield
    finally:
        with _Pin.lock:
            _Pin.depth -= 1
            if _Pin.depth == 0:
                providers._get_local_constants = _Pin.harvest
                _Pin.harvest = None
                _clear(providers)
