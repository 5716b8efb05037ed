"""The one registry of named checks, and the contexts they read.

Two scopes, as schemathesis separates per-response from per-run checks: a ``case`` check
reads one case's steps (outcomes, the requests the transport recorded, logs); an
``exchanges`` check reads what passed through the live gateway during a case (the portal's
own answers). A check yields failures and never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from conformance.api import Outcome, Target
from conformance.case import Case, Step
from conformance.results import Failure
from conformance.transports import RecordedRequest
from conformance.wire import DecodedRequest, decode_request

Scope = Literal["case", "exchanges"]
SCOPES: Final[tuple[Scope, ...]] = ("case", "exchanges")


@dataclass
class StepRun:
    """What one step produced: the outcome or the escaped exception, and the requests."""

    index: int
    step: Step
    outcome: Outcome | None = None
    exception: str | None = None
    raised: type[BaseException] | None = None
    #: the escaped exception itself (its chain, args and notes), beside its traceback text
    error: BaseException | None = None
    hung: bool = False
    seconds: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    #: time.monotonic() when the call returned (the clock of RecordedRequest.at); 0: unknown
    ended: float = 0.0

    def attempts(self) -> list[float]:
        """How long each request lasted, upper bounds: from its arrival to the next request's
        (a retry's wait included) and, for the last, to the call's return (exact)."""
        marks = [request.at for request in self.requests]
        if not marks:
            return []
        end = self.ended if self.ended else marks[-1]
        return [later - earlier for earlier, later in zip(marks, [*marks[1:], end], strict=True)]


@dataclass
class CheckContext:
    """Everything a ``case`` check may read about one case in one mode."""

    case: Case
    mode: str
    target: Target
    adapter_name: str
    capabilities: frozenset[str]
    runs: list[StepRun]
    logs: list[logging.LogRecord]
    deadline: float
    served: list[tuple[int, float, Any]] = field(default_factory=list)
    #: raw text the client wrote on every channel (conformance._capture.Seen records)
    seen: list[Any] = field(default_factory=list)
    #: id(RecordedRequest) -> its decoding; filled by sent() so each request decodes once.
    decoded: dict[int, DecodedRequest] = field(default_factory=dict)

    def where(self, run: StepRun, path: str = "") -> str:
        """Where in the case a failure is: case id, mode, step, and a path in the outcome."""
        step = f", step {run.index + 1}" if len(self.case.steps) > 1 else ""
        return f"case {self.case.id} ({self.mode}{step}){': ' + path if path else ''}"

    def sent(self) -> Iterator[tuple[StepRun, int, RecordedRequest, DecodedRequest]]:
        """Every request of every step with its decoding by the portal's rules (decoded once)."""
        for run in self.runs:
            for number, request in enumerate(run.requests, 1):
                key = id(request)
                if key not in self.decoded:
                    self.decoded[key] = decode_request(
                        request.method, request.url, request.headers, request.body
                    )
                yield run, number, request, self.decoded[key]


@dataclass
class ExchangeContext:
    """What an ``exchanges`` check reads: one case and the gateway's exchanges during it."""

    case: Case
    mode: str
    #: conformance.live.gateway.Exchange records (typed loosely: the gateway is optional)
    exchanges: list[Any]


@dataclass(frozen=True)
class RegisteredCheck:
    """A named check: its stable id in reports, its scope and what it holds."""

    name: str
    scope: Scope
    function: Callable[[Any], Iterable[Failure]]
    description: str


CHECKS: dict[str, RegisteredCheck] = {}

CaseCheck = Callable[[CheckContext], Iterable[Failure]]
ExchangeCheck = Callable[[ExchangeContext], Iterable[Failure]]


def check(name: str, scope: Scope = "case") -> Callable[[Any], Any]:
    """Register a named check; the name is its stable id in reports."""
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r}: expected one of {', '.join(SCOPES)}")

    def register(function: Callable[[Any], Iterable[Failure]]) -> Any:
        if name in CHECKS and CHECKS[name].function is not function:
            raise ValueError(f"check {name!r} is registered twice")
        doc = (function.__doc__ or "").strip().splitlines()
        CHECKS[name] = RegisteredCheck(name, scope, function, doc[0] if doc else "")
        return function

    return register


def checks_of(scope: Scope) -> tuple[RegisteredCheck, ...]:
    """The registered checks of one scope, in registration order."""
    return tuple(entry for entry in CHECKS.values() if entry.scope == scope)


def run_checks(scope: Scope, context: CheckContext | ExchangeContext) -> list[Failure]:
    """Every failure the checks of ``scope`` find in ``context``."""
    failures: list[Failure] = []
    for entry in checks_of(scope):
        failures.extend(entry.function(context))
    return failures
