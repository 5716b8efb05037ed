"""SIGTERM as an interrupt during a live run, and SIGINT and SIGTERM held while it cleans up
(a signal must never cut a cleanup short and leave badges behind)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any


class SignalGuard:
    """The run's signal handlers; only the main thread may install them, others do nothing."""

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Turn SIGTERM into KeyboardInterrupt, so that it cleans up as SIGINT does."""
        if threading.current_thread() is not threading.main_thread():
            return

        def interrupt(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, interrupt)

    def restore(self) -> None:
        """Put back the handlers install() replaced."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @contextlib.contextmanager
    def deferred(self, reraise: bool = True) -> Iterator[None]:
        """Hold SIGINT and SIGTERM while cleaning up; then (``reraise``) act on one."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        received: list[int] = []

        def hold(signum: int, frame: FrameType | None) -> None:
            received.append(signum)

        previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if received and reraise:
            raise KeyboardInterrupt(f"signal {received[0]} (after cleanup)")
