"""Load an adapter factory from a ``--client`` spec."""

from __future__ import annotations

import importlib
from typing import Final

from conformance.api import AdapterFactory

BUILTIN_CLIENTS: Final = {"reference": "conformance.reference:factory"}

SPEC_FORMS: Final = (
    "'reference' (the default), 'miniature:<name>' (a deliberately broken client from "
    "conformance.testing) or 'package.module:factory'"
)


class ClientSpecError(ValueError):
    """A ``--client`` value that names no adapter factory; the message says what is allowed."""


def load_factory(spec: str) -> AdapterFactory:
    """The factory a spec names: a built-in, a miniature, or ``package.module:factory``."""
    text = spec.strip()
    if text in BUILTIN_CLIENTS:
        text = BUILTIN_CLIENTS[text]
    if text.startswith("miniature:"):
        return _miniature(text.removeprefix("miniature:"), spec)
    module_name, colon, attribute = text.partition(":")
    if not colon or not module_name or not attribute:
        raise ClientSpecError(f"--client {spec!r} is not a client spec: expected {SPEC_FORMS}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ClientSpecError(
            f"--client {spec!r}: cannot import module {module_name!r} ({exc}); "
            f"expected {SPEC_FORMS}"
        ) from None
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)  # type: ignore[assignment]
        if factory is None:
            raise ClientSpecError(
                f"--client {spec!r}: module {module_name!r} has no attribute {attribute!r}"
            )
    if not callable(factory):
        raise ClientSpecError(f"--client {spec!r}: {attribute!r} is not callable")
    return factory


def _miniature(name: str, spec: str) -> AdapterFactory:
    from conformance import testing

    registry = getattr(testing, "MINIATURES", {})
    if name not in registry:
        known = ", ".join(sorted(registry)) or "none"
        raise ClientSpecError(f"--client {spec!r}: no miniature named {name!r}; known: {known}")
    factory: AdapterFactory = registry[name]
    return factory
