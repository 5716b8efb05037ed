"""pytest-xdist workers forked from one process that has imported the suite already.

Each worker of a run used to be a fresh interpreter that imported pytest, hypothesis, vcrpy,
werkzeug and the suite itself before its first case: about half a second of CPU per worker,
the same work four times over in a default run. Here one process (the fork server) does those
imports once; each worker pytest-xdist asks for is a fork of it, its imports already done.

pytest-xdist starts its workers through execnet with a command line it is told of
(``--tx popen//python=COMMAND``): COMMAND is ``conformance/_worker_launcher.py``, which hands
its standard streams, working directory, environment and execnet's bootstrap code to the fork
server and waits; the fork server forks a worker that takes them over, runs the code and ends
with its status, which the launcher ends with. What the worker runs, and how execnet and
pytest-xdist talk to it, is what they do with any worker.

Linux only (fork with a process that has started no thread); anywhere else, or when the fork
server does not come up, workers are started as pytest-xdist starts them.
"""

from __future__ import annotations

import builtins
import gc
import importlib
import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Final

from conformance._worker_launcher import HEADER, STATUS, read_exactly

#: What every worker imports before its first case: pytest with the plugins a run loads,
#: pytest-xdist's worker side, the suite and its bundled reference client.
PRELOAD: Final = (
    "pytest",
    "xdist.plugin",
    "xdist.remote",
    "execnet",
    "_hypothesis_pytestplugin",
    "conformance.plugin",
    "conformance.suite.test_conformance",
    "conformance.reference",
)
LAUNCHER: Final = Path(__file__).with_name("_worker_launcher.py")
#: Seconds the fork server may take to import PRELOAD before workers start without it.
READY_TIMEOUT: Final = 60.0
_READY: Final = "ready"
_LONGEST_DIRECTORY: Final = 90
_SHORT_TEMP: Final = "/tmp"  # noqa: S108 - mkdtemp makes a fresh 0700 directory in it


def available() -> bool:
    """Whether workers can be forked here: Linux, where fork is the platform's own way."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")


class ForkServer:
    """A running fork server; ``launcher`` is the command pytest-xdist starts workers with."""

    def __init__(self, process: subprocess.Popen[str], address: str, directory: str) -> None:
        self._process, self.address, self._directory = process, address, directory

    @property
    def launcher(self) -> str:
        """The worker command line: this interpreter, without site, running the launcher."""
        return shlex.join([sys.executable, "-S", str(LAUNCHER), self.address])

    def tx(self, workers: int) -> str:
        """pytest-xdist's ``--tx`` for ``workers`` forked workers."""
        return f"{workers}*popen//python={self.launcher}"

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Whether the server has imported what it preloads and listens; False if it failed
        (its error is on stderr) or took longer than ``timeout``."""
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        return bool(ready) and stdout.readline().strip() == _READY

    def close(self) -> str:
        """Stop the server once the workers it forked have ended, and wait for it (so their
        CPU time is counted with the run's); what it wrote on stderr, if anything."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        said = self._process.stderr.read() if self._process.stderr is not None else ""
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
        with suppress(OSError):
            os.unlink(self.address)
        with suppress(OSError):
            os.rmdir(self._directory)
        return said.strip()


def start(preload: Iterable[str] = PRELOAD) -> ForkServer | None:
    """Start a fork server importing ``preload``; None where workers cannot be forked."""
    if not available():
        return None
    # A socket's path holds at most 107 bytes: a long TMPDIR gives way to /tmp. The directory
    # is the user's alone (mkdtemp makes it 0700): nobody else can ask for a worker.
    directory = tempfile.mkdtemp(prefix="b24-workers-")
    if len(directory) > _LONGEST_DIRECTORY and os.path.isdir(_SHORT_TEMP):
        os.rmdir(directory)
        directory = tempfile.mkdtemp(prefix="b24-workers-", dir=_SHORT_TEMP)
    address = os.path.join(directory, "forkserver")
    # The controller's import path, as pytest-xdist gives its workers: the same copy of the
    # suite (and of everything else) is imported, whatever the environment says.
    code = (
        f"import sys; sys.path[:] = {sys.path!r}; "
        f"from conformance._forkserver import serve; serve({address!r}, {list(preload)!r})"
    )
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return ForkServer(process, address, directory)


@contextmanager
def running(preload: Iterable[str] = PRELOAD) -> Iterator[ForkServer | None]:
    """A fork server for the block, or None where there cannot be one or it did not start."""
    server = start(preload)
    try:
        if server is not None and not server.wait_ready():
            said = server.close()
            server = None
            why = said.splitlines()[-1] if said else "it did not answer"
            print(f"note: the workers start without the fork server ({why})", file=sys.stderr)
        yield server
    finally:
        if server is not None and (said := server.close()):
            print(f"note: the fork server said: {said.splitlines()[-1]}", file=sys.stderr)


# The fork server's side


def serve(address: str, preload: list[str]) -> None:
    """Import ``preload``, then fork a worker for every launcher that connects, until this
    process's standard input ends (the run is over) and every worker has ended."""
    # The terminal's interrupt reaches the run and its workers, which end it; this process
    # ends when the run does, after telling each launcher how its worker ended.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in preload:
        importlib.import_module(name)
    if threading.active_count() != 1:
        # A fork copies only the thread that forks: a lock another thread holds stays locked.
        print(f"not forking: {threading.active_count()} threads after the imports", file=sys.stderr)
        return
    # What every worker inherits is never walked by a collection again, in any of them.
    gc.collect()
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(16)
    print(_READY, flush=True)
    launchers: dict[int, socket.socket] = {}
    open_input = True
    try:
        while open_input or launchers:
            watched: list[int | socket.socket] = [listener, 0] if open_input else [listener]
            ready, _, _ = select.select(watched, [], [], 0.05 if launchers else None)
            if 0 in ready and not os.read(0, 1024):
                open_input = False
            if listener in ready:
                connection, _ = listener.accept()
                held = [listener, *launchers.values()]
                try:
                    launchers[_fork_worker(connection, held)] = connection
                except (OSError, EOFError, ValueError) as exc:
                    # That launcher's worker does not start (xdist reports the node down);
                    # the others still do.
                    print(f"no worker forked: {type(exc).__name__}: {exc}", file=sys.stderr)
                    connection.close()
            _reap(launchers)
    finally:
        listener.close()
        for connection in launchers.values():
            connection.close()


def _reap(launchers: dict[int, socket.socket]) -> None:
    """Tell each ended worker's launcher its status."""
    while launchers:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = launchers.pop(pid, None)
        if connection is not None:
            with suppress(OSError):
                connection.sendall(STATUS.pack(os.waitstatus_to_exitcode(status)))
            connection.close()


def _receive(connection: socket.socket) -> tuple[dict[str, object], list[int]]:
    header, fds, _flags, _address = socket.recv_fds(connection, HEADER.size, 3)
    (length,) = HEADER.unpack(header)
    return json.loads(read_exactly(connection, length, "launcher")), fds


def _fork_worker(connection: socket.socket, servers: list[socket.socket]) -> int:
    """Fork the worker ``connection``'s launcher asks for; its pid. ``servers``: this
    process's other sockets, which the worker closes."""
    request, fds = _receive(connection)
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        connection.sendall(STATUS.pack(pid))
        return pid
    for held in (*servers, connection):
        held.close()
    _become_worker(request, fds)
    raise AssertionError("unreachable")  # _become_worker ends the process


def _become_worker(request: dict[str, object], fds: list[int]) -> None:
    """In the forked child: take the launcher's streams, directory and environment, and run
    its ``-c`` code as a fresh interpreter would, then end with its status."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = _unbuffered(1)
        sys.stderr = _unbuffered(2)
        os.chdir(str(request["cwd"]))
        environment = request["env"]
        assert isinstance(environment, dict)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in environment.items()})
        argv = [str(word) for word in request["argv"]]  # type: ignore[attr-defined]
        code = argv[argv.index("-c") + 1]
        sys.argv = ["-c", *argv[argv.index("-c") + 2 :]]
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = main
        exec(compile(code, "<string>", "exec"), main.__dict__)  # noqa: S102
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with suppress(OSError):
            sys.stdout.flush()
        with suppress(OSError):
            sys.stderr.flush()
        os._exit(status)


def _unbuffered(fd: int) -> IO[str]:
    """A text stream on ``fd`` that writes through, as ``python -u`` makes stdout and stderr."""
    return open(fd, "w", encoding="utf-8", buffering=1, closefd=False)
