"""What goes wrong with a harness, as the engine and the smoke check see it."""

from __future__ import annotations

__all__ = ["HarnessCrash", "HarnessError", "HarnessProtocolError"]


class HarnessError(RuntimeError):
    """A harness could not be used: it would not start, or it broke down."""


class HarnessProtocolError(HarnessError):
    """The harness broke the protocol; the message quotes the offending line, secrets redacted."""


class HarnessCrash(HarnessError):
    """The harness answered ``crash``: the client itself threw instead of reporting an outcome."""
