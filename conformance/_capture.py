"""Capturing what a client writes while a case runs, on every channel, for the secret check."""

from __future__ import annotations

import io
import logging
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

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


class _Collector(logging.Handler):
    """Keeps every record it is handed (a class made once: a class made per case cost a stub
    case about a tenth of its CPU)."""

    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(level=logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record made while the block runs, from DEBUG up (quiet transports aside)."""
    records: list[logging.LogRecord] = []
    root = logging.getLogger()
    handler = _Collector(records)
    # Records the secret check ignores anyway need not be made at all: the transports and HTTP
    # stacks log every request at DEBUG, and formatting those costs more than the request.
    quiet = {name: logging.getLogger(name) for name in (*TRANSPORT_LOGGERS, *HTTP_STACK_LOGGERS)}
    levels = {name: logger.level for name, logger in quiet.items()}
    previous = root.level
    root.addHandler(handler)
    _set_levels({root: logging.DEBUG} | {q: max(q.level, logging.WARNING) for q in quiet.values()})
    try:
        yield records
    finally:
        root.removeHandler(handler)
        _set_levels({root: previous} | {quiet[name]: level for name, level in levels.items()})


def _set_levels(levels: dict[logging.Logger, int]) -> None:
    """Logger.setLevel for many loggers at once. Each setLevel empties every logger's level
    cache, which cost more per case than a stub case itself; the last one alone does, after
    all the levels are in place."""
    *first, (last, last_level) = levels.items()
    for logger, level in first:
        logger.level = level
    last.setLevel(last_level)


@dataclass(frozen=True)
class Seen:
    """Text a client put in one channel while a case ran, before any redaction."""

    channel: str
    text: str
    #: the logger's name for a log record, "" for the other channels
    logger: str = ""
    level: int = 0


@dataclass
class CapturedOutput:
    """What a case's client wrote: every log record (redacted in place) and raw channel text."""

    records: list[logging.LogRecord] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


#: The capture of the case running now (one at a time in a process: stdout, stderr and the
#: log record factory are process-wide too), for what the suite itself hands it.
_ACTIVE: list[CapturedOutput] = []


def observe(channel: str, text: str) -> None:
    """Hand the running case's secret check text a client sent by another way than a channel
    captured here (a harness's messages); nothing when no case runs."""
    if _ACTIVE:
        _ACTIVE[-1].seen.append(Seen(channel, text))


class _Tee(io.TextIOBase):
    """Stands in for sys.stdout or sys.stderr while a case runs: keeps every write raw for the
    secret check (from any thread, named), and passes it on, redacted line by line."""

    def __init__(
        self, name: str, original: TextIO, output: CapturedOutput, redact: Callable[[str], str]
    ) -> None:
        super().__init__()
        self._name, self._original, self._output, self._redact = name, original, output, redact
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        thread = threading.current_thread().name
        with self._lock:
            self._output.seen.append(Seen(f"{self._name} (thread {thread})", str(text)))
            # Whole lines are redacted at once, so a secret written in pieces is still caught.
            self._pending += str(text)
            complete, newline, self._pending = self._pending.rpartition("\n")
            if newline:
                self._original.write(self._redact(complete + newline))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._release()
        self._original.flush()

    def _release(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._original.write(self._redact(pending))

    def close_capture(self) -> None:
        with self._lock:
            self._release()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", "utf-8")


def _record_text(record: logging.LogRecord) -> tuple[str, str | None]:
    try:
        message = record.getMessage()
    except Exception:  # a client's bad format arguments are not the suite's failure
        message = str(record.msg)
    trace = None
    if record.exc_info and record.exc_info[0] is not None:
        trace = "".join(traceback.format_exception(*record.exc_info))
    elif record.exc_text:
        trace = record.exc_text
    return message, trace


@contextmanager
def captured_output(redact: Callable[[str], str]) -> Iterator[CapturedOutput]:
    """Everything a client writes while the block runs, on every channel: log records (their
    text and tracebacks redacted before any handler formats them), stdout and stderr (passed on
    redacted), and warnings (recorded, not shown). Raw text goes to ``seen`` for the check."""
    output = CapturedOutput()
    previous_factory = logging.getLogRecordFactory()

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        message, trace = _record_text(record)
        where = f"log record of {record.name} at {record.levelname}"
        output.seen.append(Seen(where, message, record.name, record.levelno))
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if trace is not None:
            traced = f"traceback in the {where}"
            output.seen.append(Seen(traced, trace, record.name, record.levelno))
            # Formatters use exc_text when it is set, so the raw traceback is never formatted.
            record.exc_text = redact(trace)
        if record.stack_info:
            output.seen.append(Seen(f"stack in the {where}", record.stack_info, record.name))
            record.stack_info = redact(record.stack_info)
        return record

    tees = {name: _Tee(name, getattr(sys, name), output, redact) for name in ("stdout", "stderr")}
    logging.setLogRecordFactory(make_record)
    for name, tee in tees.items():
        setattr(sys, name, tee)
    _ACTIVE.append(output)
    try:
        with captured_logs() as records, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield output
            finally:
                output.records.extend(records)
                for warning in caught:
                    text = warnings.formatwarning(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )
                    output.seen.append(Seen(f"warning {warning.category.__name__}", text))
    finally:
        _ACTIVE.remove(output)
        logging.setLogRecordFactory(previous_factory)
        for name, tee in tees.items():
            setattr(sys, name, tee._original)  # also when the client swapped the stream itself
            tee.close_capture()
