"""The run's network guard: sockets may connect to loopback (and named hosts) only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from pytest_socket import socket_allow_hosts

LOOPBACK: Final = ("127.0.0.1", "::1")


@contextmanager
def network_guard(extra_hosts: tuple[str, ...] = ()) -> Iterator[None]:
    """Refuse every connection but to loopback and ``extra_hosts`` while the block runs."""
    original_connect = socket.socket.connect
    socket_allow_hosts([*LOOPBACK, *extra_hosts], allow_unix_socket=True)
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
