"""The run's network guard: sockets may connect to loopback (and named hosts) only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from pytest_socket import socket_allow_hosts

#: Where the fake portal's moved address listens when it can take the scheme's default port
#: (443 or 80), as a real portal's new address does (CONTRACT.md 4.1): loopback addresses beside
#: 127.0.0.1, one per portal, so each worker process's portal can have one.
MOVED_ADDRESSES: Final = tuple(f"127.0.0.{last}" for last in range(2, 10))
LOOPBACK: Final = ("127.0.0.1", "::1", *MOVED_ADDRESSES)


@contextmanager
def network_guard(extra_hosts: tuple[str, ...] = ()) -> Iterator[None]:
    """Refuse every connection but to loopback and ``extra_hosts`` while the block runs."""
    original_connect = socket.socket.connect
    socket_allow_hosts([*LOOPBACK, *extra_hosts], allow_unix_socket=True)
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
