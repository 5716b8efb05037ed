"""Checks of how the client behaves: waits between retries, deadlines, secrets kept."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Final

from conformance._capture import HTTP_STACK_LOGGERS, TRANSPORT_LOGGERS
from conformance._exposed import error_texts
from conformance.api import Redactor
from conformance.checks._registry import CheckContext, StepRun, check
from conformance.results import Failure


@check("behaviour.timing")
def check_timing(context: CheckContext) -> Iterator[Failure]:
    """Retries wait: a minimum gap, growing gaps (backoff), nothing before the operating reset."""
    for run in context.runs:
        timing = run.step.timing
        gaps = [b.at - a.at for a, b in itertools.pairwise(run.requests)]
        if not gaps:
            continue
        if timing.min_gap and min(gaps) < timing.min_gap:
            yield Failure(
                "behaviour.timing",
                "a retry came without waiting",
                f"at least {timing.min_gap:.2f}s between attempts",
                "gaps of " + ", ".join(f"{g:.3f}s" for g in gaps),
                context.where(run),
                "back off before retrying QUERY_LIMIT_EXCEEDED",
            )
        if timing.growing_gaps and not backs_off(gaps):
            yield Failure(
                "behaviour.timing",
                "retry waits do not grow (no backoff)",
                "waits that grow (and may level off at a cap), none shorter than the one before "
                f"by more than {JITTER_SECONDS:g}s or {JITTER_SHARE:.0%}",
                "gaps of " + ", ".join(f"{g:.3f}s" for g in gaps),
                context.where(run),
            )
        if timing.not_before_reset:
            yield from _reset_failures(context, run)


#: How much shorter than the one before a wait may be and still count as a capped backoff:
#: timers and schedulers jitter (a capped 2.007 s then 2.002 s is not shrinking).
JITTER_SECONDS: Final = 0.05
JITTER_SHARE: Final = 0.10


def backs_off(gaps: list[float]) -> bool:
    """Whether waits grow, allowing a cap and jitter: none shrinks by more than the jitter,
    and the longest is longer than the first."""
    if len(gaps) < 2:
        return True

    def slack(gap: float) -> float:
        return max(JITTER_SECONDS, JITTER_SHARE * gap)

    def growth(gap: float) -> float:
        # Growing from a short first wait (0.06 s then 0.1 s) is backoff too: the growth asked
        # for is a share of the wait, capped at the absolute jitter.
        return min(JITTER_SECONDS, 2 * JITTER_SHARE * gap)

    shrinks = any(later < earlier - slack(earlier) for earlier, later in itertools.pairwise(gaps))
    return not shrinks and max(gaps) > gaps[0] + growth(gaps[0])


def _reset_failures(context: CheckContext, run: StepRun) -> Iterator[Failure]:
    announced = [
        body["time"]["operating_reset_at"]
        for step, _at, body in context.served
        if step < run.index
        and isinstance(body, dict)
        and isinstance(body.get("time"), dict)
        and isinstance(body["time"].get("operating_reset_at"), int | float)
    ]
    if not announced or len(run.requests) < 2:
        return
    reset_at = max(announced)
    retry = run.requests[1]
    if retry.wall + 0.05 < reset_at:
        yield Failure(
            "behaviour.timing",
            "the retry after OPERATION_TIME_LIMIT came before operating_reset_at",
            f"no retry before {reset_at} (the last success's operating_reset_at)",
            f"a retry {reset_at - retry.wall:.2f}s too early",
            context.where(run),
            "error answers carry no time block: keep operating_reset_at from the last success",
        )


@check("behaviour.deadline")
def check_deadline(context: CheckContext) -> Iterator[Failure]:
    """The client returns an outcome within the deadline (no hang); on a stall, should give up
    within its configured timeout."""
    for run in context.runs:
        if run.hung:
            yield Failure(
                "behaviour.deadline",
                "the call did not return within the case's deadline",
                f"an outcome within {context.deadline:.1f}s",
                f"no outcome after {run.seconds:.1f}s ({len(run.requests)} request(s) so far)",
                context.where(run),
                "set a timeout on every request and bound every retry loop",
                level="must",  # a hang is harmful whatever the case (CONTRACT.md 4.1)
            )
        elif _stalls(run) and run.requests:
            # Judged per attempt, never on their sum (CONTRACT.md 4.1): the last attempt's time
            # is exact (from its request to the call's return); earlier ones also hold the wait
            # before the retry, so they are shown but not judged.
            attempts = run.attempts()
            allowed = context.target.timeout + max(
                TIMEOUT_SLACK, TIMEOUT_SHARE * context.target.timeout
            )
            if attempts[-1] > allowed:
                shown = ", ".join(f"{seconds:.1f}s" for seconds in attempts)
                yield Failure(
                    "behaviour.deadline",
                    "the client waited out a stalled portal past its configured timeout",
                    f"each attempt given up within Target.timeout "
                    f"({context.target.timeout:g}s) plus slack ({allowed:g}s)",
                    f"attempts lasted {shown} (the last one exact, earlier ones with the wait "
                    "before the next)",
                    context.where(run),
                    "use Target.timeout for every request",
                    level="should",
                )


#: How much longer than Target.timeout a client may take to give up on a stall: connection
#: set-up, and timers that fire late.
TIMEOUT_SLACK: Final = 1.0
TIMEOUT_SHARE: Final = 0.5


def _stalls(run: StepRun) -> bool:
    return any(response.fault == "timeout" for response in run.step.responses)


@check("behaviour.no-secret")
def check_no_secret(context: CheckContext) -> Iterator[Failure]:
    """The planted secret and token appear, in no form (raw, URL-encoded, base64, escaped, hex),
    in any outcome, exception (its chain, args, repr and notes, raised or caught by the adapter),
    harness message, log record, stdout, stderr or warning."""
    detector = Redactor([s for s in context.target.secrets if s])
    places: list[tuple[str, str]] = []
    errors: list[tuple[str, BaseException]] = []
    for run in context.runs:
        step = f"step {run.index + 1}"
        if run.outcome is not None:
            places.append((f"outcome of {step}", repr(run.outcome)))
            caught = getattr(run.outcome, "raised", None)
            if isinstance(caught, BaseException):
                errors.append((f"error the adapter handed on with the outcome of {step}", caught))
            result = getattr(run.outcome, "result", None)
            if isinstance(result, BaseException):
                errors.append((f"error object returned as the result of {step}", result))
        if run.exception:
            places.append((f"exception text of {step}", run.exception))
        if run.error is not None:
            errors.append((f"exception that escaped in {step}", run.error))
    places += _channel_texts(context)
    found = [where for where, text in places if detector.finds(text)]
    for label, error in errors:
        # One failure per exception, naming every part of its chain that holds a secret.
        parts: dict[str, list[str]] = {}
        for which, part, text in error_texts(error):
            if detector.finds(text):
                parts.setdefault(which, []).append(part)
        if parts:
            shown = "; ".join(f"{which} ({', '.join(p)})" for which, p in parts.items())
            found.append(f"{label}: {shown}")
    for where in dict.fromkeys(found):
        yield Failure(
            "behaviour.no-secret",
            "a secret leaked",
            "no occurrence of the webhook secret or the access token, in any encoding",
            f"found in the {where}",
            f"case {context.case.id} ({context.mode})",
            "redact secrets by value before they reach an exception, a log line, a print, "
            "a warning or an outcome",
            level="must",
        )


def _channel_texts(context: CheckContext) -> list[tuple[str, str]]:
    """(channel, text) for what the client wrote: log records (the HTTP stacks' below WARNING
    and the suite's transports' aside), stdout and stderr each read whole, warnings, and what
    the suite handed the capture (a harness's message fields)."""
    places: list[tuple[str, str]] = []
    streams: dict[str, list[str]] = {}
    for seen in context.seen:
        if seen.logger:
            top = seen.logger.split(".")[0]
            if top in TRANSPORT_LOGGERS or (
                top in HTTP_STACK_LOGGERS and seen.level < logging.WARNING
            ):
                continue
            places.append((seen.channel, seen.text))
        elif seen.channel.startswith(("stdout", "stderr")):
            # Written in pieces, read whole: a secret printed half by half still shows.
            streams.setdefault(seen.channel, []).append(seen.text)
        else:
            places.append((seen.channel, seen.text))
    return places + [(channel, "".join(pieces)) for channel, pieces in streams.items()]
