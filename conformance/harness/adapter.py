"""The adapter a run uses for ``--client "cmd:<command line>"``: its name and capabilities from
``started``, ``call`` as one ``call`` message and its answer, over a pooled harness process."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from conformance._capture import observe
from conformance._exposed import message_texts
from conformance.api import Outcome, Target
from conformance.harness.errors import HarnessCrash, HarnessError, HarnessProtocolError
from conformance.harness.messages import (
    Malformed,
    Started,
    call_message,
    crash_error,
    decode_outcome,
    decode_started,
    schema_mismatch,
    start_message,
)
from conformance.harness.process import HarnessPool, HarnessProcess
from conformance.harness.redaction import masked_secret

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_START_TIMEOUT",
    "POOL",
    "WARNINGS",
    "HarnessAdapter",
    "HarnessFactory",
    "load_harness_factory",
    "split_command",
    "validating",
]

DEFAULT_START_TIMEOUT: Final = 10.0
# The engine's per-case deadline is what normally ends a slow call; this bound only matters
# when the adapter is used without the engine.
DEFAULT_CALL_TIMEOUT: Final = 60.0

_POSIX: Final = os.name == "posix"
log = logging.getLogger("conformance.harness")


def split_command(command: str) -> tuple[str, ...]:
    """The argv of a ``cmd:`` command line, split like a POSIX shell would (no shell runs)."""
    try:
        argv = tuple(shlex.split(command, posix=_POSIX))
    except ValueError as exc:
        raise ValueError(f"cannot split the command line {command!r}: {exc}") from None
    if not argv:
        raise ValueError("the command line is empty")
    return argv


# -- the exchanges ----------------------------------------------------------------------------


def _hold_to_schema(process: HarnessProcess, answer: Mapping[str, Any], text: str) -> None:
    problem = schema_mismatch(answer)
    if problem is not None:
        raise process.broke(f"the `{answer.get('type')}` message {problem}", text)


#: Protocol warnings of this process's harnesses, one line each (a pytest-xdist worker hands
#: its own to the controller with its results).
WARNINGS: list[str] = []


def _expose(process: HarnessProcess, answer: Mapping[str, Any], answering: str) -> None:
    """Every field of a harness's answer, raw, for the running case's secret check: fields the
    suite ignores (an unknown one, a crash's traceback) leak as well as those it maps. A field
    that holds the secret's place masked is said once (conformance.harness.redaction)."""
    where = f"`{answer.get('type')}` message answering {answering}"
    target = process.current
    for place, text in message_texts(dict(answer), where):
        observe(place, text)
        masked = masked_secret(text, target) if target is not None else None
        if masked is not None:
            field = place.rsplit(", field ", 1)[-1]
            line = f"harness {process.label} sent the client's text masked ({place}: {masked!r})"
            _warn((process.label, field), process.redactor()(f"{line}: {MASKED_ADVICE}"))


#: What a harness that masks is told (docs/harness-protocol.md, "Secrets and stderr").
MASKED_ADVICE: Final = (
    "a harness passes the client's text raw, and the suite redacts what it writes; masking "
    "hides the leak behaviour.no-secret looks for (if the client masks its own text, ignore "
    "this) [docs/harness-protocol.md#secrets-and-stderr]"
)


_WARNED: set[tuple[str, str]] = set()


def _warn(key: tuple[str, str], line: str) -> None:
    # Once per harness and field: the same mask shows again on every case.
    if key not in _WARNED:
        _WARNED.add(key)
        WARNINGS.append(line)
        log.warning("%s", line)


def _send_checked(process: HarnessProcess, message: Mapping[str, Any], validate: bool) -> None:
    if validate and (problem := schema_mismatch(message)) is not None:
        redact = process.redactor()
        raise HarnessProtocolError(redact(f"the suite's own `{message['type']}` message {problem}"))
    process.send(message)


def start_harness(
    process: HarnessProcess, target: Target, *, timeout: float, validate: bool
) -> Started:
    """Send ``start`` for a target and read ``started`` (or ``crash``, raised as HarnessCrash)."""
    process.remember_secrets(target.secrets)
    process.current = None
    _send_checked(process, start_message(target), validate)
    answer, text = process.receive("`start`", timeout)
    _expose(process, answer, "`start`")
    kind = answer.get("type")
    if kind not in ("started", "crash"):
        raise process.broke(
            f"answered `start` with a message of type {kind!r}, expected 'started'", text
        )
    if validate:
        _hold_to_schema(process, answer, text)
    try:
        if kind == "crash":
            raise HarnessCrash(
                f"harness {process.label} reports that building the client raised: "
                f"{crash_error(answer, None)}"
            )
        started = decode_started(answer)
    except Malformed as exc:
        raise process.broke(f"answered `start` with {exc}", text) from None
    process.current, process.started = target, started
    return started


def call_harness(
    process: HarnessProcess,
    method: str,
    params: Mapping[str, Any],
    *,
    timeout: float,
    validate: bool,
) -> Outcome:
    """Send ``call`` and read its ``outcome`` (or ``crash``, raised as HarnessCrash)."""
    seq = process.next_seq()
    _send_checked(process, call_message(seq, method, params), validate)
    answering = f"`call` seq {seq}"
    answer, text = process.receive(answering, timeout)
    _expose(process, answer, answering)
    kind = answer.get("type")
    if kind not in ("outcome", "crash"):
        raise process.broke(
            f"answered {answering} with a message of type {kind!r}, expected 'outcome' or 'crash'",
            text,
        )
    if validate:
        _hold_to_schema(process, answer, text)
    try:
        if kind == "crash":
            name = process.started.name if process.started else process.label
            raise HarnessCrash(
                f"harness {process.label} reports that client {name!r} raised: "
                f"{crash_error(answer, seq)}"
            )
        return decode_outcome(answer, seq)
    except Malformed as exc:
        raise process.broke(f"answered {answering} with {exc}", text) from None


# -- the factory and the adapter ----------------------------------------------------------------

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
            started = start_harness(
                process, target, timeout=factory.start_timeout, validate=factory.validate_protocol
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
                    start_harness(
                        process,
                        self.target,
                        timeout=factory.start_timeout,
                        validate=factory.validate_protocol,
                    )
                return call_harness(
                    process,
                    method,
                    params,
                    timeout=factory.call_timeout,
                    validate=factory.validate_protocol,
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
