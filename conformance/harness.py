"""The harness protocol: clients in any language, driven over newline-delimited JSON.

``--client "cmd:<command line>"`` starts the command once per run and speaks protocol 1 with it
over stdin and stdout (docs/harness-protocol.md, schemas/harness/). The harness's stderr is its
log: every line becomes a log record, so the secret check reads it like any client's log.

Every read has a bound. A harness that breaks the protocol makes the adapter raise
:class:`HarnessProtocolError` (the engine reports the case as errored), quoting the offending
line with the target's secrets redacted; the process is then killed and the next case gets a
fresh one, so no stale answer can reach a later case.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from jsonschema.exceptions import best_match

from conformance import schemas
from conformance.api import (
    CAPABILITIES,
    ApiError,
    Outcome,
    Redactor,
    Success,
    Target,
    TransportFailure,
)

PROTOCOL_VERSION: Final = 1
DEFAULT_START_TIMEOUT: Final = 10.0
# The engine's per-case deadline is what normally ends a slow call; this bound only matters
# when the adapter is used without the engine.
DEFAULT_CALL_TIMEOUT: Final = 60.0
STOP_GRACE: Final = 2.0
MAX_LINE_BYTES: Final = 16 * 1024 * 1024
QUOTE_LIMIT: Final = 300
LABEL_LIMIT: Final = 100
STDERR_TAIL_LINES: Final = 5
# How long to wait for the harness's stderr to reach us before a case ends.
STDERR_SETTLE: Final = 0.5

_POSIX: Final = os.name == "posix"

log = logging.getLogger(__name__)
#: The harness's stderr, one record per line; the secret check reads these.
stderr_log = logging.getLogger("conformance.harness.stderr")


class HarnessError(RuntimeError):
    """A harness could not be used: it would not start, or it broke down."""


class HarnessProtocolError(HarnessError):
    """The harness broke the protocol; the message quotes the offending line, secrets redacted."""


class HarnessCrash(HarnessError):
    """The harness answered ``crash``: the client itself threw instead of reporting an outcome."""


@dataclass(frozen=True)
class Started:
    """What a harness said about itself in ``started``."""

    name: str
    version: str
    language: str
    capabilities: frozenset[str]


class _Malformed(Exception):
    """A message that parses but lacks what the protocol needs; the reason says what."""


class _Eof:
    pass


@dataclass(frozen=True)
class _TooLong:
    head: bytes


_EOF: Final = _Eof()
_Line = bytes | _Eof | _TooLong


def split_command(command: str) -> tuple[str, ...]:
    """The argv of a ``cmd:`` command line, split like a POSIX shell would (no shell runs)."""
    try:
        argv = tuple(shlex.split(command, posix=_POSIX))
    except ValueError as exc:
        raise ValueError(f"cannot split the command line {command!r}: {exc}") from None
    if not argv:
        raise ValueError("the command line is empty")
    return argv


def target_message(target: Target) -> dict[str, Any]:
    """The ``target`` object of a ``start`` message."""
    return {
        "base_url": target.base_url,
        "portal_url": target.portal_url,
        "user_id": target.user_id,
        "secret": target.secret,
        "auth_token": target.auth_token,
        "ca_bundle": target.ca_bundle,
        "timeout": float(target.timeout),
    }


def _quote(text: str, redact: Redactor) -> str:
    # Redact first: a cut through a secret would leave part of it behind.
    clean = redact(text)
    if len(clean) <= QUOTE_LIMIT:
        return repr(clean)
    return f"{clean[:QUOTE_LIMIT]!r}... ({len(clean)} characters)"


def _fold(text: str) -> str:
    """One line: the engine shows only the last line of an escaped exception."""
    return " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _label(command: tuple[str, ...]) -> str:
    """The command line as messages show it: the program's base name, the middle cut if long."""
    text = shlex.join((os.path.basename(command[0]), *command[1:]))
    if len(text) <= LABEL_LIMIT:
        return text
    half = (LABEL_LIMIT - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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

    # -- messages -------------------------------------------------------------------------

    def _redactor(self) -> Redactor:
        return Redactor(self._secrets)

    def _failure(self, reason: str, line: str | None = None) -> HarnessProtocolError:
        """Mark the process broken, kill it, and say why (one line, redacted)."""
        redact = self._redactor()
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
            redact = self._redactor()
            note += "; its stderr ends: " + " | ".join(_quote(line, redact) for line in tail)
        return note

    def send(self, message: Mapping[str, Any]) -> None:
        stdin = self._popen.stdin
        assert stdin is not None
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            stdin.write(line.encode("utf-8"))
            stdin.flush()
        except (OSError, ValueError):
            raise self._failure(
                f"the harness stopped reading before `{message['type']}`{self._exit_note()}"
            ) from None

    def receive(self, answering: str, timeout: float) -> tuple[dict[str, Any], str]:
        """The next message (parsed) and its line; blank lines are skipped."""
        end = time.monotonic() + timeout
        while True:
            try:
                item = self._lines.get(timeout=max(end - time.monotonic(), 0.0))
            except queue.Empty:
                raise self._failure(f"no answer to {answering} within {timeout:g}s") from None
            if isinstance(item, _Eof):
                if self._abandoned:
                    self._wait_out(end)
                raise self._failure(
                    f"the harness closed its stdout before answering {answering}{self._exit_note()}"
                )
            if isinstance(item, _TooLong):
                raise self._failure(
                    f"answered {answering} with a line longer than {MAX_LINE_BYTES} bytes",
                    item.head.decode("utf-8", errors="replace"),
                )
            try:
                text = item.decode("utf-8")
            except UnicodeDecodeError:
                raise self._failure(
                    f"answered {answering} with a line that is not UTF-8",
                    item.decode("utf-8", errors="replace").rstrip("\r\n"),
                ) from None
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                message = json.loads(text, parse_constant=_reject_constant)
            except ValueError as exc:
                raise self._failure(
                    f"answered {answering} with a line that is not JSON ({exc})", text
                ) from None
            if not isinstance(message, dict):
                raise self._failure(f"answered {answering} with JSON that is not an object", text)
            return message, text

    def _wait_out(self, end: float) -> None:
        # The engine gave up on this call and moved on; answering now, even with an error,
        # would land in a case that is already being judged. Stay quiet until the bound.
        self._released.wait(max(end - time.monotonic(), 0.0))

    def _check_schema(self, message: Mapping[str, Any], relative: str, text: str) -> None:
        errors = list(schemas.validator(schemas.uri(relative)).iter_errors(message))
        if errors:
            error = best_match(errors)
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise self._failure(
                f"the `{message.get('type')}` message does not match schemas/{relative} "
                f"at {error.json_path}: {error.message}{more}",
                text,
            )

    def _check_outgoing(self, message: Mapping[str, Any], relative: str) -> None:
        error = best_match(schemas.validator(schemas.uri(relative)).iter_errors(message))
        if error is not None:
            raise HarnessProtocolError(
                self._redactor()(
                    f"the suite's own `{message['type']}` message does not match "
                    f"schemas/{relative} at {error.json_path}: {error.message}"
                )
            )

    # -- the exchanges --------------------------------------------------------------------

    def start(self, target: Target, *, timeout: float, validate: bool) -> Started:
        """Send ``start`` for a target and read ``started``."""
        self._secrets.update(target.secrets)
        message = {"type": "start", "protocol": PROTOCOL_VERSION, "target": target_message(target)}
        if validate:
            self._check_outgoing(message, "harness/start.json")
        self.current = None
        self.send(message)
        answer, text = self.receive("`start`", timeout)
        kind = answer.get("type")
        if kind not in ("started", "crash"):
            raise self._failure(
                f"answered `start` with a message of type {kind!r}, expected 'started'", text
            )
        if validate:
            self._check_schema(answer, f"harness/{kind}.json", text)
        try:
            if kind == "crash":
                error = _crash_error(answer, None)
                raise HarnessCrash(
                    f"harness {self.label} reports that building the client raised: {error}"
                )
            started = _started(answer)
        except _Malformed as exc:
            raise self._failure(f"answered `start` with {exc}", text) from None
        self.current, self.started = target, started
        return started

    def call(
        self, method: str, params: Mapping[str, Any], *, timeout: float, validate: bool
    ) -> Outcome:
        """Send ``call`` and read its ``outcome`` (or ``crash``, raised as HarnessCrash)."""
        self._seq += 1
        seq = self._seq
        message = {"type": "call", "seq": seq, "method": method, "params": dict(params)}
        if validate:
            self._check_outgoing(message, "harness/call.json")
        self.send(message)
        answering = f"`call` seq {seq}"
        answer, text = self.receive(answering, timeout)
        kind = answer.get("type")
        if kind not in ("outcome", "crash"):
            raise self._failure(
                f"answered {answering} with a message of type {kind!r}, "
                "expected 'outcome' or 'crash'",
                text,
            )
        if validate:
            self._check_schema(answer, f"harness/{kind}.json", text)
        try:
            if answer.get("seq") != seq or not _is_int(answer.get("seq")):
                raise _Malformed(f"seq {answer.get('seq')!r}, expected {seq}")
            if kind == "crash":
                name = self.started.name if self.started else self.label
                raise HarnessCrash(
                    f"harness {self.label} reports that client {name!r} raised: "
                    f"{_crash_error(answer, seq)}"
                )
            return _outcome(answer)
        except _Malformed as exc:
            raise self._failure(f"answered {answering} with {exc}", text) from None

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
                stdin.write(b'{"type":"stop"}\n')
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _crash_error(answer: Mapping[str, Any], seq: int | None) -> str:
    if seq is None and answer.get("seq") is not None:
        raise _Malformed(f"a `crash` with seq {answer.get('seq')!r}, expected null")
    error = answer.get("error")
    if not isinstance(error, str):
        raise _Malformed("a `crash` without an `error` string")
    return _fold(error) or "(no error text)"


def _started(answer: Mapping[str, Any]) -> Started:
    if answer.get("protocol") != PROTOCOL_VERSION or not _is_int(answer.get("protocol")):
        raise _Malformed(
            f"protocol {answer.get('protocol')!r}: this suite speaks protocol {PROTOCOL_VERSION}"
        )
    name = answer.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Malformed("a `started` without a `name` string")
    capabilities = answer.get("capabilities")
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise _Malformed("a `started` without a `capabilities` list of strings")
    unknown = sorted(set(capabilities) - set(CAPABILITIES))
    if unknown:
        raise _Malformed(f"unknown capabilities {unknown} (known: {', '.join(CAPABILITIES)})")
    texts = {}
    for key in ("version", "language"):
        value = answer.get(key, "")
        if not isinstance(value, str):
            raise _Malformed(f"a `started` whose `{key}` is not a string")
        texts[key] = value
    return Started(name, texts["version"], texts["language"], frozenset(capabilities))


def _optional(answer: Mapping[str, Any], key: str, check: Callable[[Any], bool], what: str) -> Any:
    value = answer.get(key)
    if value is not None and not check(value):
        raise _Malformed(f"a `{answer.get('outcome')}` outcome whose `{key}` is not {what}")
    return value


def _outcome(answer: Mapping[str, Any]) -> Outcome:
    kind = answer.get("outcome")
    status = _optional(answer, "status", _is_int, "an integer or null")
    if kind == "success":
        if "result" not in answer:
            raise _Malformed("a `success` outcome without `result`")
        timing = _optional(answer, "time", lambda v: isinstance(v, dict), "an object or null")
        total = _optional(answer, "total", _is_int, "an integer or null")
        return Success(answer["result"], timing, total)
    if kind == "api-error":
        if "code" not in answer:
            raise _Malformed("an `api-error` outcome without `code` (null when the client lost it)")
        code = _optional(
            answer, "code", lambda v: isinstance(v, str) or _is_int(v), "a string, integer or null"
        )
        description = _optional(answer, "description", lambda v: isinstance(v, str), "a string")
        return ApiError(code, description, status)
    if kind == "transport-failure":
        failure = answer.get("kind")
        if not isinstance(failure, str) or not failure:
            raise _Malformed("a `transport-failure` outcome without a `kind` string")
        detail = _optional(answer, "detail", lambda v: isinstance(v, str), "a string")
        return TransportFailure(failure, detail or "", status)
    raise _Malformed(f"outcome {kind!r}, expected 'success', 'api-error' or 'transport-failure'")


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


#: The pool ``cmd:`` factories use: one process per command line for the run.
POOL: Final = HarnessPool()
atexit.register(POOL.close)


@dataclass(frozen=True)
class HarnessFactory:
    """The adapter factory for a harness command line (``--client "cmd:..."``)."""

    command: tuple[str, ...]
    validate_protocol: bool = False
    start_timeout: float = DEFAULT_START_TIMEOUT
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    pool: HarnessPool = field(default=POOL, compare=False, repr=False)

    def __call__(self, target: Target) -> HarnessAdapter:
        return HarnessAdapter(self, target)


class HarnessAdapter:
    """An Adapter whose client lives in a harness process; built fresh for every Target."""

    def __init__(self, factory: HarnessFactory, target: Target) -> None:
        self.factory = factory
        self.target = target
        self._in_flight: HarnessProcess | None = None
        with self._process() as process:
            started = process.start(
                target, timeout=factory.start_timeout, validate=factory.validate_protocol
            )
        self.name = started.name
        self.capabilities = started.capabilities
        self.version = started.version
        self.language = started.language

    @contextlib.contextmanager
    def _process(self) -> Iterator[HarnessProcess]:
        process = self.factory.pool.acquire(self.factory.command)
        if not process.lock.acquire(timeout=self.factory.start_timeout):
            raise HarnessError(
                f"harness {process.label} is busy with another call for "
                f"{self.factory.start_timeout:g}s"
            )
        try:
            yield process
        finally:
            process.lock.release()

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        factory = self.factory
        with self._process() as process:
            self._in_flight = process
            try:
                if process.current != self.target:
                    # Another adapter started the harness for its own target since (or the
                    # process was replaced): start it again for ours.
                    process.start(
                        self.target,
                        timeout=factory.start_timeout,
                        validate=factory.validate_protocol,
                    )
                return process.call(
                    method, params, timeout=factory.call_timeout, validate=factory.validate_protocol
                )
            finally:
                self._in_flight = None
                process.settle_stderr()

    def close(self) -> None:
        """End of the case: a call still running is abandoned (its process killed)."""
        process = self._in_flight
        if process is not None:
            process.abandon()
            return
        current = self.factory.pool.get(self.factory.command)
        if current is not None:
            current.settle_stderr()

    def __repr__(self) -> str:
        return f"HarnessAdapter({self.factory.command!r}, name={getattr(self, 'name', None)!r})"


def validating(factory: object) -> HarnessFactory:
    """The same harness factory with every message validated (``--validate-protocol``)."""
    if not isinstance(factory, HarnessFactory):
        raise ValueError(
            "--validate-protocol checks the harness protocol, so it needs --client "
            f"'cmd:<command line>'; the client given is {factory!r}"
        )
    return dataclasses.replace(factory, validate_protocol=True)


def load_harness_factory(
    command: str | Sequence[str],
    *,
    validate_protocol: bool = False,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    call_timeout: float = DEFAULT_CALL_TIMEOUT,
    pool: HarnessPool | None = None,
) -> HarnessFactory:
    """The factory for a harness command line; ``validate_protocol`` checks every message."""
    argv = split_command(command) if isinstance(command, str) else tuple(command)
    if not argv:
        raise ValueError("the command line is empty")
    return HarnessFactory(
        argv,
        validate_protocol=validate_protocol,
        start_timeout=start_timeout,
        call_timeout=call_timeout,
        pool=pool if pool is not None else POOL,
    )
