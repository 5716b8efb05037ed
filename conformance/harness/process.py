"""Process supervision for harnesses: spawning, reading lines with a deadline, stderr turned
into log records, stop and kill, and a pool of one process per command line."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from conformance.api import Redactor, Target
from conformance.harness.errors import HarnessError, HarnessProtocolError
from conformance.harness.messages import STOP_MESSAGE, Malformed, Started, encode, parse_line

__all__ = ["HarnessPool", "HarnessProcess", "stderr_log"]

STOP_GRACE: Final = 2.0
MAX_LINE_BYTES: Final = 16 * 1024 * 1024
QUOTE_LIMIT: Final = 300
LABEL_LIMIT: Final = 100
STDERR_TAIL_LINES: Final = 5
# How long to wait for the harness's stderr to reach us before a case ends.
STDERR_SETTLE: Final = 0.5

_POSIX: Final = os.name == "posix"

log = logging.getLogger("conformance.harness")
#: The harness's stderr, one record per line; the secret check reads these.
stderr_log = logging.getLogger("conformance.harness.stderr")


class _Eof:
    pass


@dataclass(frozen=True)
class _TooLong:
    head: bytes


_EOF: Final = _Eof()
_Line = bytes | _Eof | _TooLong


def _quote(text: str, redact: Redactor) -> str:
    # Redact first: a cut through a secret would leave part of it behind.
    clean = redact(text)
    if len(clean) <= QUOTE_LIMIT:
        return repr(clean)
    return f"{clean[:QUOTE_LIMIT]!r}... ({len(clean)} characters)"


def _label(command: tuple[str, ...]) -> str:
    """The command line as messages show it: the program's base name, the middle cut if long."""
    text = shlex.join((os.path.basename(command[0]), *command[1:]))
    if len(text) <= LABEL_LIMIT:
        return text
    half = (LABEL_LIMIT - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


class HarnessProcess:
    """One running harness: line I/O with bounded reads, its stderr turned into log records."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = tuple(command)
        self.label = _label(self.command)
        self.lock = threading.Lock()
        self.current: Target | None = None
        self.started: Started | None = None
        self.broken: str | None = None
        self._seq = 0
        self._secrets: set[str] = set()
        self._lines: queue.Queue[_Line] = queue.Queue()
        self._tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._stderr_lock = threading.Lock()
        self._stderr_partial = b""
        self._stderr_done = threading.Event()
        self._released = threading.Event()
        self._abandoned = False
        options: dict[str, Any] = (
            {"start_new_session": True}
            if _POSIX
            else {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
        )
        try:
            self._popen = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **options,
            )
        except OSError as exc:
            raise HarnessError(
                f"cannot start harness {self.label}: {exc.strerror or exc}"
            ) from None
        self._stdout_thread = threading.Thread(
            target=self._pump_stdout, name=f"harness-stdout-{self.pid}", daemon=True
        )
        self._stderr_thread = threading.Thread(
            target=self._pump_stderr, name=f"harness-stderr-{self.pid}", daemon=True
        )
        self._stdout_thread.start()
        self._stderr_thread.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    @property
    def usable(self) -> bool:
        return self.broken is None and self._popen.poll() is None

    # -- the pumps ------------------------------------------------------------------------

    def _pump_stdout(self) -> None:
        stream = self._popen.stdout
        assert stream is not None
        try:
            while True:
                line = stream.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                    self._lines.put(_TooLong(line[:QUOTE_LIMIT]))
                    continue
                self._lines.put(line)
        except (OSError, ValueError):
            pass  # the pipe was closed under us at shutdown
        finally:
            self._lines.put(_EOF)

    def _pump_stderr(self) -> None:
        stream = self._popen.stderr
        assert stream is not None
        try:
            if _POSIX:
                self._pump_stderr_fd(stream.fileno())
            else:
                for line in iter(stream.readline, b""):
                    with self._stderr_lock:
                        self._take_stderr(line)
        except (OSError, ValueError):
            pass
        finally:
            with self._stderr_lock:
                self._flush_stderr()
            self._stderr_done.set()

    def _pump_stderr_fd(self, fd: int) -> None:
        while True:
            select.select([fd], [], [])
            # Reading and logging under the lock lets settle_stderr() tell "all written so far
            # is logged" (pipe empty while it holds the lock) from "a chunk is on its way".
            with self._stderr_lock:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                self._take_stderr(chunk)

    def _take_stderr(self, chunk: bytes) -> None:
        *lines, self._stderr_partial = (self._stderr_partial + chunk).split(b"\n")
        for line in lines:
            self._log_stderr(line)

    def _flush_stderr(self) -> None:
        if self._stderr_partial:
            partial, self._stderr_partial = self._stderr_partial, b""
            self._log_stderr(partial)

    def _log_stderr(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not text.strip():
            return
        self._tail.append(text)
        name = self.started.name if self.started else self.label
        stderr_log.info("harness %s: %s", name, text)

    def settle_stderr(self, timeout: float = STDERR_SETTLE) -> None:
        """Wait until what the harness wrote to stderr so far has become log records."""
        if not _POSIX:
            return
        stream = self._popen.stderr
        assert stream is not None
        end = time.monotonic() + timeout
        while not self._stderr_done.is_set() and time.monotonic() < end:
            with self._stderr_lock:
                try:
                    ready, _, _ = select.select([stream], [], [], 0)
                except (OSError, ValueError):
                    return
                if not ready:
                    self._flush_stderr()
                    return
            time.sleep(0.001)

    # -- lines ----------------------------------------------------------------------------

    def next_seq(self) -> int:
        """The seq of the next ``call``: it increases over the life of the process."""
        self._seq += 1
        return self._seq

    def remember_secrets(self, secrets: Iterable[str]) -> None:
        """Secrets the harness was given: every message this process makes redacts them."""
        self._secrets.update(secrets)

    def redactor(self) -> Redactor:
        return Redactor(self._secrets)

    def broke(self, reason: str, line: str | None = None) -> HarnessProtocolError:
        """Mark the process broken, kill it, and say why (one line, redacted)."""
        redact = self.redactor()
        message = f"harness {self.label} broke the protocol: {redact(reason)}"
        if line is not None:
            message += f": {_quote(line, redact)}"
        self.broken = message
        self.kill()
        return HarnessProtocolError(message)

    def _exit_note(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(0.5)
        code = self._popen.poll()
        note = f" (exit code {code})" if code is not None else ""
        self._stderr_done.wait(0.5)
        with self._stderr_lock:
            tail = list(self._tail)
        if tail:
            redact = self.redactor()
            note += "; its stderr ends: " + " | ".join(_quote(line, redact) for line in tail)
        return note

    def send(self, message: Mapping[str, Any]) -> None:
        stdin = self._popen.stdin
        assert stdin is not None
        try:
            stdin.write(encode(message))
            stdin.flush()
        except (OSError, ValueError):
            raise self.broke(
                f"the harness stopped reading before `{message['type']}`{self._exit_note()}"
            ) from None

    def receive(self, answering: str, timeout: float) -> tuple[dict[str, Any], str]:
        """The next message (parsed) and its line; blank lines are skipped."""
        end = time.monotonic() + timeout
        while True:
            try:
                item = self._lines.get(timeout=max(end - time.monotonic(), 0.0))
            except queue.Empty:
                raise self.broke(f"no answer to {answering} within {timeout:g}s") from None
            if isinstance(item, _Eof):
                if self._abandoned:
                    self._wait_out(end)
                raise self.broke(
                    f"the harness closed its stdout before answering {answering}{self._exit_note()}"
                )
            if isinstance(item, _TooLong):
                raise self.broke(
                    f"answered {answering} with a line longer than {MAX_LINE_BYTES} bytes",
                    item.head.decode("utf-8", errors="replace"),
                )
            try:
                parsed = parse_line(item)
            except Malformed as exc:
                raise self.broke(f"answered {answering} with {exc}", exc.line) from None
            if parsed is not None:
                return parsed

    def _wait_out(self, end: float) -> None:
        # The engine gave up on this call and moved on; answering now, even with an error,
        # would land in a case that is already being judged. Stay quiet until the bound.
        self._released.wait(max(end - time.monotonic(), 0.0))

    # -- the end --------------------------------------------------------------------------

    def abandon(self) -> None:
        """A call outlived the engine's deadline: kill the process, keep the waiter quiet."""
        self._abandoned = True
        self.broken = "a call outlived the deadline"
        self.kill()

    def kill(self) -> None:
        if self._popen.poll() is None:
            with contextlib.suppress(OSError):
                if _POSIX:
                    os.killpg(self._popen.pid, signal.SIGKILL)
                else:
                    self._popen.kill()

    def shutdown(self, grace: float = STOP_GRACE) -> None:
        """Send ``stop``, give the harness ``grace`` seconds to exit, then kill it; reap it."""
        stdin = self._popen.stdin
        assert stdin is not None
        if self.usable:
            with contextlib.suppress(OSError, ValueError):
                stdin.write(encode(STOP_MESSAGE))
                stdin.flush()
        with contextlib.suppress(OSError, ValueError):
            stdin.close()
        try:
            code = self._popen.wait(grace)
            if code != 0 and self.broken is None:
                log.warning("harness %s exited with code %s after stop", self.label, code)
        except subprocess.TimeoutExpired:
            log.warning("harness %s did not exit within %gs of stop: killed", self.label, grace)
        if _POSIX:
            # Whatever the harness started in its session goes with it.
            with contextlib.suppress(OSError):
                os.killpg(self._popen.pid, signal.SIGKILL)
        else:
            self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(grace)
        self.broken = self.broken or "stopped"
        self._stdout_thread.join(grace)
        self._stderr_thread.join(grace)
        for stream in (self._popen.stdout, self._popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._released.set()


class HarnessPool:
    """One process per command line for the whole run; a broken or dead one is replaced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._processes: dict[tuple[str, ...], HarnessProcess] = {}
        self._retired: list[HarnessProcess] = []

    def acquire(self, command: Sequence[str]) -> HarnessProcess:
        """The live process for a command line, started (or restarted) as needed."""
        key = tuple(command)
        with self._lock:
            process = self._processes.get(key)
            if process is not None and process.usable:
                return process
            if process is not None:
                if process.broken is None:
                    log.warning(
                        "harness %s exited (code %s) without being stopped: restarting it",
                        process.label,
                        process.returncode,
                    )
                self._retire(process)
            process = HarnessProcess(key)
            self._processes[key] = process
            return process

    def _retire(self, process: HarnessProcess) -> None:
        process.kill()
        # Reaped without waiting: a call thread the engine abandoned may still hold its lock.
        threading.Thread(target=process.shutdown, args=(0.5,), daemon=True).start()
        self._retired.append(process)

    def get(self, command: Sequence[str]) -> HarnessProcess | None:
        """The process for a command line, if one runs; starts nothing."""
        with self._lock:
            return self._processes.get(tuple(command))

    def processes(self) -> list[HarnessProcess]:
        """Every process this pool started, live or not."""
        with self._lock:
            return [*self._retired, *self._processes.values()]

    def close(self) -> None:
        """Stop every harness and reap it; the pool can be used again afterwards."""
        with self._lock:
            processes = [*self._retired, *self._processes.values()]
            self._processes.clear()
            self._retired.clear()
        for process in processes:
            process.shutdown()
