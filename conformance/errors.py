"""The run's exit codes and the errors that decide them, in one place for the CLI and plugin."""

from __future__ import annotations

from typing import Final

EXIT_CONFORMANT: Final = 0
EXIT_NONCONFORMANT: Final = 1
EXIT_USAGE: Final = 2
EXIT_ADAPTER_BROKEN: Final = 3
#: SIGINT or SIGTERM ended the run (after a live run's cleanup): 128 + SIGINT, as shells say.
EXIT_INTERRUPTED: Final = 130


class UsageError(ValueError):
    """An option or input that cannot work (exit 2); the message names the option and the
    value given, and says what is allowed."""


class AdapterBroken(RuntimeError):
    """The smoke call showed the adapter itself is broken (exit 3), not the client."""
