"""A pytest-xdist worker's command: hand this process's place to the fork server and wait.

execnet starts it as ``python -S _worker_launcher.py ADDRESS -u -c CODE`` (the ``python=``
of a ``--tx popen`` spec, then execnet's own arguments). It sends its standard streams,
working directory, environment and arguments to the fork server at ADDRESS
(conformance._forkserver), which forks a worker that takes them over; this process waits and
ends with the worker's status. It imports nothing of the suite: it runs without site, for
every worker of a run.
"""

import json
import os
import signal
import socket
import struct
import sys

#: The wire between a launcher and the fork server (conformance._forkserver reads it from
#: here): the request's length, then a worker's pid and, once it ended, its exit status.
HEADER = struct.Struct("!Q")
STATUS = struct.Struct("!q")


def read_exactly(connection: socket.socket, size: int, peer: str) -> bytes:
    """``size`` bytes from ``connection``; EOFError naming ``peer`` if it closes first."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError(f"the {peer} went away")
        data += chunk
    return data


def main() -> int:
    address, arguments = sys.argv[1], sys.argv[2:]
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(address)
    body = json.dumps({"argv": arguments, "cwd": os.getcwd(), "env": dict(os.environ)}).encode(
        "utf-8"
    )
    socket.send_fds(connection, [HEADER.pack(len(body))], [0, 1, 2])
    connection.sendall(body)
    worker = int(STATUS.unpack(read_exactly(connection, STATUS.size, "fork server"))[0])
    # The terminal's interrupt reaches the worker itself (same process group); what is sent
    # to this process alone (execnet's terminate) is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda received, _frame: os.kill(worker, received))
    try:
        status = int(STATUS.unpack(read_exactly(connection, STATUS.size, "fork server"))[0])
    except EOFError:
        return 1
    # A worker a signal ended (-N) ends this process as a shell reports it: 128 + N.
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
