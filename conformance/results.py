"""What a run produces, and the one way failures become a verdict.

Cases, properties, the state machine and live mode all report through these types: a
:class:`Failure` per broken check, a :class:`CaseResult` per case and mode, and
:func:`conclude` to turn failures (and an escaped exception) into the outcome.
"""

from __future__ import annotations

import json
import queue
import shlex
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Generic, Literal, TypeVar

from conformance.api import ApiError, Outcome, Success, TransportFailure

CaseOutcome = Literal["passed", "failed", "xfailed", "skipped", "errored"]
OUTCOMES: Final[tuple[CaseOutcome, ...]] = ("passed", "failed", "xfailed", "skipped", "errored")
#: the outcomes whose report entry shows the reproduction (conformance.reports)
SHOWS_REPRODUCTION: Final[frozenset[CaseOutcome]] = frozenset({"failed", "xfailed", "errored"})

Level = Literal["must", "should", "may"]
#: RFC 2119 levels, strongest first: a must shortfall fails the run, the others only under
#: ``--strict`` (CONTRACT.md 4.1).
LEVELS: Final[tuple[Level, ...]] = ("must", "should", "may")

#: Seconds one client call may take before it counts as hung.
DEFAULT_DEADLINE: Final = 10.0
#: The deadline of a case where the portal stalls: common client timeouts are 10 to 30 s, and
#: giving up on any of them is safe (CONTRACT.md 4.1).
STALL_DEADLINE: Final = 30.0

#: How long a shown value may get before it is cut (with an ellipsis).
SHOWN_LENGTH: Final = 200


@dataclass(frozen=True)
class Failure:
    """One check that did not hold: a fixed title, expected vs actual, where, and a hint."""

    check: str
    title: str
    expected: str
    actual: str
    where: str
    hint: str = ""
    #: the level of the shortfall; empty: the case's own level
    level: str = ""

    def render(self) -> str:
        shortfall = f" ({self.level} shortfall)" if self.level and self.level != "must" else ""
        lines = [
            f"[{self.check}] {self.title}{shortfall}",
            f"  expected: {self.expected}",
            f"  actual:   {self.actual}",
            f"  where:    {self.where}",
        ]
        if self.hint:
            lines.append(f"  hint:     {self.hint}")
        return "\n".join(lines)

    def redacted(self, redact: Callable[[str], str]) -> Failure:
        """The same failure with every secret in its text replaced."""
        return Failure(
            check=self.check,
            title=redact(self.title),
            expected=redact(self.expected),
            actual=redact(self.actual),
            where=redact(self.where),
            hint=redact(self.hint),
            level=self.level,
        )


@dataclass
class CaseResult:
    """What happened to one case (or property) in one mode."""

    case_id: str
    mode: str
    outcome: CaseOutcome
    message: str = ""
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    duration: float = 0.0
    reproduction: str = ""
    level: str = "must"
    #: the command that reruns just this case or property, as this run ran it (seed included)
    rerun: str = ""
    #: what a failed or errored case observed (conformance.evidence); empty when it passed
    evidence: dict[str, Any] = field(default_factory=dict)
    #: makes ``reproduction`` when it is first asked for: run_case leaves a passed case's
    #: unrendered (most are never shown), ``render_reproduction`` renders it
    pending_reproduction: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    def render_reproduction(self) -> str:
        """The reproduction, rendered now if run_case left it for later."""
        if self.pending_reproduction is not None:
            render, self.pending_reproduction = self.pending_reproduction, None
            self.reproduction = render()
        return self.reproduction

    def as_data(self) -> dict[str, Any]:
        """The result as plain data (``CaseResult(**data)`` makes it again), without a
        reproduction left for later (RunSession.run renders those a report shows)."""
        return asdict(replace(self, pending_reproduction=None))


def conclude(
    result: CaseResult,
    failures: Iterable[Failure],
    redact: Callable[[str], str],
    *,
    escaped: str | None = None,
    unsent: str | None = None,
    broken: str | None = None,
) -> None:
    """Set ``result``'s outcome and message from its failures and an escaped exception.

    An exception that escaped the adapter makes the case errored (a crash is not a verdict
    on the answer, and always a must shortfall; ``unsent`` says where a client that crashed
    before its first request raised, and what it never sent); ``broken`` names an adapter bug found
    otherwise (an undocumented failure kind), also errored. Any failure makes a passed case
    failed, and is added to the message of one already failed or errored; otherwise the
    outcome stays as it was. A failed case's level becomes the strongest level among its
    failures (a must case that falls short only of a should alternative is a should shortfall).
    """
    new = [failure.redacted(redact) for failure in failures]
    result.failures.extend(new)
    rendered = "\n".join(failure.render() for failure in result.failures)
    if escaped is not None or broken is not None:
        if escaped is not None:
            last_line = escaped.strip().splitlines()[-1] if escaped.strip() else escaped
            if unsent is not None:
                result.message = redact(
                    f"the client crashed before sending its first request: {last_line}{unsent}"
                )
            else:
                result.message = redact(f"an exception escaped the adapter: {last_line}")
        else:
            result.message = redact(f"the adapter is broken: {broken}")
        result.outcome = "errored"
        result.level = "must"
        if rendered:
            result.message += "\n" + rendered
    elif new and result.outcome in ("failed", "errored"):
        # Judged again (a live case's portal checks after its client checks): keep the verdict.
        result.message += "\n" + "\n".join(failure.render() for failure in new)
    elif new:
        result.outcome = "failed"
        result.message = rendered
        result.level = strongest(failure.level or result.level for failure in result.failures)


def strongest(levels: Iterable[str]) -> Level:
    """The strongest of ``levels`` (must before should before may); may when there are none."""
    given = set(levels)
    return next((level for level in LEVELS if level in given), "may")


def fails_run(result: CaseResult, *, strict: bool = False) -> bool:
    """Whether ``result`` makes the run non-conformant: an errored case or a must shortfall
    always, should and may shortfalls only under ``--strict``."""
    if result.outcome == "errored":
        return True  # a crash or a broken adapter is harmful whatever the case's level
    return result.outcome == "failed" and (strict or result.level == "must")


def rerun_command(
    client: str,
    mode: str,
    case_id: str,
    *,
    seed: int | None = None,
    flags: Iterable[str] = (),
) -> str:
    """The command that reruns one case or property: the one place such commands are built."""
    words = ["b24-conformance", "run", "--client", client, "--mode", mode, "--case", case_id]
    words += list(flags)
    if seed is not None:
        words += ["--seed", str(seed)]
    return shlex.join(words)


def normalised(value: Any) -> Any:
    """``value`` as parsed JSON: payloads are compared so (tuples are lists, mappings dicts)."""
    return json.loads(json.dumps(value, default=str))


def clip(text: str, limit: int = SHOWN_LENGTH) -> str:
    """``text`` cut with an ellipsis past ``limit`` characters: never cut without one."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show(value: Any, limit: int = SHOWN_LENGTH) -> str:
    """``value`` as JSON for a message, cut with an ellipsis past ``limit`` characters."""
    return clip(json.dumps(value, ensure_ascii=False, default=str), limit)


def describe_outcome(outcome: object) -> str:
    """One line naming an outcome and what matters in it."""
    if outcome is None:
        return "no outcome"
    if isinstance(outcome, Success):
        total = f", total={outcome.total}" if outcome.total is not None else ""
        return f"Success(result={show(outcome.result)}{total})"
    if isinstance(outcome, ApiError):
        return f"ApiError(code={outcome.code!r}, status={outcome.status})"
    if isinstance(outcome, TransportFailure):
        # The detail is what the client saw (a TLS error, a refused connection): the caller
        # redacts it with the rest of the message.
        detail = f", detail={show(outcome.detail, 160)}" if outcome.detail else ""
        return f"TransportFailure(kind={outcome.kind!r}, status={outcome.status}{detail})"
    return f"not an outcome: {type(outcome).__name__}"


def is_outcome(value: object) -> bool:
    """Whether ``value`` is one of the public outcome types."""
    return isinstance(value, Success | ApiError | TransportFailure)


OUTCOME_TYPES: Final[tuple[type[Outcome], ...]] = (Success, ApiError, TransportFailure)

T = TypeVar("T")


@dataclass
class Call(Generic[T]):
    """What a call made under a deadline came to: its value, or its exception, or a hang."""

    value: T | None = None
    exception: str | None = None
    #: the type of what it raised (the smoke call tells a harness fault from a client crash)
    raised: type[BaseException] | None = None
    #: the exception itself: the secret check reads its chain, args and notes
    error: BaseException | None = None
    hung: bool = False
    seconds: float = 0.0


class _CallThread:
    """A daemon thread that makes the calls handed to it, one at a time, until one hangs.

    Starting a thread per call cost more than the call itself in stub mode; an idle one is
    reused instead. A thread whose call outlived its deadline is never handed another.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="b24-conformance-call", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._jobs.get()()

    def hand(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)


_IDLE_CALL_THREADS: list[_CallThread] = []
_IDLE_LOCK = threading.Lock()


def _call_thread() -> _CallThread:
    with _IDLE_LOCK:
        if _IDLE_CALL_THREADS:
            return _IDLE_CALL_THREADS.pop()
    return _CallThread()


def _release(thread: _CallThread) -> None:
    with _IDLE_LOCK:
        _IDLE_CALL_THREADS.append(thread)


def call_with_deadline(function: Callable[[], T], deadline: float) -> Call[T]:
    """Call ``function`` on a daemon thread and wait at most ``deadline`` seconds.

    A client that hangs cannot be stopped from outside, so its thread is left behind (and
    never reused); the traceback of anything it raised is kept as text (redacted by whoever
    shows it).
    """
    call: Call[T] = Call()
    finished = threading.Event()

    def job() -> None:
        try:
            call.value = function()
        except BaseException as exc:
            call.exception = traceback.format_exc()
            call.raised, call.error = type(exc), exc
        finally:
            finished.set()

    thread = _call_thread()
    started = time.monotonic()
    thread.hand(job)
    call.hung = not finished.wait(deadline)
    call.seconds = time.monotonic() - started
    if not call.hung:
        _release(thread)
    return call


__all__ = [
    "DEFAULT_DEADLINE",
    "LEVELS",
    "OUTCOMES",
    "OUTCOME_TYPES",
    "SHOWS_REPRODUCTION",
    "STALL_DEADLINE",
    "Call",
    "CaseOutcome",
    "CaseResult",
    "Failure",
    "Level",
    "call_with_deadline",
    "clip",
    "conclude",
    "describe_outcome",
    "fails_run",
    "is_outcome",
    "normalised",
    "rerun_command",
    "show",
    "strongest",
]
