"""Capturing what a client writes while a case runs (log records), for the secret check."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

# HTTP libraries log URLs (and with them the webhook secret) at DEBUG as a matter of course;
# the secret check reads their records from WARNING up and everybody else's from DEBUG.
HTTP_STACK_LOGGERS: Final = (
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "aiohttp",
    "charset_normalizer",
)
# The suite's own transports log the URLs they intercept; they are not the client.
TRANSPORT_LOGGERS: Final = ("vcr", "responses", "werkzeug")


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record made while the block runs, from DEBUG up (quiet transports aside)."""
    records: list[logging.LogRecord] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = Collector(level=logging.DEBUG)
    # Records the secret check ignores anyway need not be made at all: the transports and HTTP
    # stacks log every request at DEBUG, and formatting those costs more than the request.
    quiet = {name: logging.getLogger(name) for name in (*TRANSPORT_LOGGERS, *HTTP_STACK_LOGGERS)}
    levels = {name: logger.level for name, logger in quiet.items()}
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in quiet.values():
        logger.setLevel(max(logger.level, logging.WARNING))
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for name, logger in quiet.items():
            logger.setLevel(levels[name])
