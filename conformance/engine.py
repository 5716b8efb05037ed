"""Run one case against one adapter over one transport, and judge it with the named checks.

This is the core: no pytest, no CLI, no mode of its own (the caller hands in the transport).
The pytest plugin and ``b24-conformance run`` call it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import secrets
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Final

from conformance import checks, evidence
from conformance._capture import captured_output
from conformance._exposed import reached_for_the_network
from conformance.api import (
    CAPABILITIES,
    TRANSPORT_FAILURE_KINDS,
    Adapter,
    AdapterFactory,
    Redactor,
    Target,
    TransportFailure,
)
from conformance.case import Alternative, Case, Step
from conformance.checks import CheckContext, StepRun
from conformance.harness.errors import HarnessError
from conformance.reproduce import reproduction
from conformance.results import (
    DEFAULT_DEADLINE,
    STALL_DEADLINE,
    CaseResult,
    Failure,
    call_with_deadline,
    clip,
    conclude,
)
from conformance.transports import (
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    Script,
    Transport,
)

__all__ = [
    "DEFAULT_DEADLINE",
    "Execution",
    "canary_secrets",
    "case_deadline",
    "crashed_before_sending",
    "execute",
    "judge",
    "mode_reason",
    "run_case",
    "skip_reason",
    "verdict_failures",
]


def canary_secrets() -> tuple[str, str]:
    """A fresh webhook secret and token for a run: any occurrence in output is a leak."""
    return secrets.token_hex(8), "tok" + secrets.token_hex(12)


def mode_reason(mode: str, modes: tuple[str, ...], what: str = "case") -> str | None:
    """Why ``mode`` skips a case (or property) that runs only in ``modes``; None if it runs."""
    if mode in modes:
        return None
    return f"{mode} mode cannot express this {what} (it runs in {', '.join(modes)})"


def case_deadline(case: Case, given: float | None = None) -> float:
    """The seconds a call of ``case`` may take: ``given`` (``--deadline``) when set, else
    STALL_DEADLINE where the portal stalls and DEFAULT_DEADLINE elsewhere, plus the longest
    wait the case's answers announce (CONTRACT.md 4.1: deadlines follow the scenario)."""
    if given is not None:
        return given
    stalls = any(r.fault == "timeout" for step in case.steps for r in step.responses)
    return (STALL_DEADLINE if stalls else DEFAULT_DEADLINE) + announced_wait(case)


def announced_wait(case: Case) -> float:
    """The longest wait any answer of ``case`` announces: an ``operating_reset_at`` set
    relative to the moment it is served (``{$now: N}``), or a ``Retry-After`` in seconds; or
    the wait a step's ``timing.may_wait`` allows."""
    waits = [0.0]
    for step in case.steps:
        waits.append(step.timing.may_wait)
        for answer in step.responses:
            timing = answer.body.get("time") if isinstance(answer.body, dict) else None
            reset = timing.get("operating_reset_at") if isinstance(timing, dict) else None
            if isinstance(reset, dict) and isinstance(reset.get("$now"), int | float):
                waits.append(float(reset["$now"]))
            retry_after = next(
                (v for k, v in answer.headers.items() if k.lower() == "retry-after"), ""
            )
            if retry_after.strip().isdigit():
                waits.append(float(retry_after))
    return max(waits)


def skip_reason(case: Case, capabilities: frozenset[str], adapter_name: str) -> str | None:
    """Why a case does not run for this adapter: a capability it does not declare."""
    needed = set(case.needs) | ({"oauth"} if case.auth == "oauth" else set())
    for capability in sorted(needed - capabilities):
        return (
            f"not observable through this client: needs capability {capability!r} "
            f"({CAPABILITIES.get(capability, 'undocumented')}), which adapter "
            f"{adapter_name!r} does not declare"
        )
    return None


@dataclass
class Execution:
    """One case driven through a transport, not yet judged."""

    result: CaseResult
    redact: Redactor
    #: None when the case never reached the adapter's calls (skipped, factory or transport broke)
    context: CheckContext | None = None
    escaped: str | None = None
    #: where the client crashed before its first request, and the request it never sent
    unsent: str | None = None
    adapter: Any = field(default=None, repr=False)


def execute(
    case: Case,
    factory: AdapterFactory,
    mode: str,
    transport: Transport,
    *,
    deadline: float | None = None,
    canaries: tuple[str, str] | None = None,
) -> Execution:
    """Make the adapter and drive every step of ``case`` through ``transport``; never raises
    for client or adapter faults (they land in the result)."""
    deadline = case_deadline(case, deadline)
    secret, token = canaries or canary_secrets()
    target = transport.target_for(case, secret, token)
    redact = Redactor(target.secrets)
    result = CaseResult(case.id, mode, "passed", level=case.level)
    execution = Execution(result, redact)
    # What the factory and the calls print, warn or log is watched and redacted; one capture
    # for both, as entering one costs about as much as a stub case's own work.
    with captured_output(redact) as captured:
        try:
            adapter = factory(target)
            name, capabilities = str(adapter.name), frozenset(adapter.capabilities)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            result.outcome = "errored"
            result.message = redact(f"the adapter factory raised {type(exc).__name__}: {exc}")
            return execution
        execution.adapter = adapter
        reason = skip_reason(case, capabilities, name)
        if reason:
            result.outcome, result.message = "skipped", reason
            return execution
        script = Script(case, substitutions={SECRET_PLACEHOLDER: secret, TOKEN_PLACEHOLDER: token})
        try:
            runs = _drive(adapter, case, transport, script, deadline)
        except Exception as exc:
            result.outcome = "errored"
            result.message = redact(f"the {mode} transport failed: {type(exc).__name__}: {exc}")
            return execution
    execution.context = CheckContext(
        case,
        mode,
        target,
        name,
        capabilities,
        runs,
        captured.records,
        deadline,
        list(script.served),
        seen=captured.seen,
    )
    crashed = next((run for run in runs if run.exception), None)
    if crashed is not None:
        execution.escaped = crashed.exception
        if crashed_before_sending(crashed):
            execution.unsent = _never_sent(crashed, case, target)
    result.requests = len(script.requests)
    return execution


def judge(execution: Execution) -> CaseResult:
    """Run every registered case check over an execution and conclude its outcome."""
    result, context = execution.result, execution.context
    if context is not None:
        conclude(
            result,
            verdict_failures(context),
            execution.redact,
            escaped=execution.escaped,
            unsent=execution.unsent,
            broken=_undocumented_kind(context),
        )
    return result


def verdict_failures(context: CheckContext) -> list[Failure]:
    """The case checks' failures, judged against every behaviour the case accepts.

    Where the asked-for behaviour fails, each acceptable alternative of a step (CONTRACT.md
    4.1, listed in the case data) is tried in its place; one that clears failures is taken,
    and leaves a shortfall at its level instead of a must failure. An alternative the adapter
    promised to do better than (``unless``, a declared capability) is a broken promise: the
    failures stand, and say so.
    """
    failures = checks.run_checks("case", context)
    if not failures:
        return failures
    shortfalls: list[Failure] = []
    promises: list[str] = []
    for position, run in enumerate(context.runs):
        if run.hung or run.exception is not None:
            # An alternative is a behaviour; a call that crashed or never returned took none,
            # and its "because" would say what the client did not do.
            continue
        for alternative in run.step.accept:
            trial = _taking(context, position, alternative)
            found = checks.run_checks("case", trial)
            if len(found) >= len(failures) or _fits_partly(trial, run, found):
                continue
            if alternative.unless in context.capabilities:
                promises.append(
                    f"the adapter declares capability {alternative.unless!r}, yet the client "
                    f"{alternative.because}: a broken promise"
                )
                continue
            cleared = [f for f in failures if f not in found]
            shortfalls.append(_shortfall(context, run, alternative, cleared))
            context, failures = trial, found
            break
    if promises:
        failures = [
            dataclasses.replace(f, hint="; ".join(filter(None, [f.hint, *promises])))
            for f in failures
        ]
    return failures + shortfalls


#: the checks an alternative replaces (its expect, requests and timing): one that leaves any
#: of them failing at its step does not describe what the client did
_ALTERNATIVE_CHECKS: Final = ("outcome.", "requests.", "behaviour.timing")


def _fits_partly(context: CheckContext, run: StepRun, found: list[Failure]) -> bool:
    """Whether an alternative leaves a failure of its own checks at its step: then its
    ``because`` would not be what happened, so it is not taken."""
    where = context.where(run)
    return any(
        failure.where.startswith(where) and failure.check.startswith(_ALTERNATIVE_CHECKS)
        for failure in found
    )


def _taking(context: CheckContext, position: int, alternative: Alternative) -> CheckContext:
    runs = list(context.runs)
    runs[position] = dataclasses.replace(
        runs[position], step=runs[position].step.taking(alternative)
    )
    # The decodings are kept: the requests are the same objects.
    return dataclasses.replace(context, runs=runs)


def _shortfall(
    context: CheckContext, run: StepRun, alternative: Alternative, cleared: list[Failure]
) -> Failure:
    first = cleared[0] if cleared else None
    return Failure(
        first.check if first else "outcome.kind",
        "an acceptable alternative, not the better behaviour",
        f"better: {run.step.expect.describe()} after {run.step.requests.describe()} request(s)",
        f"the client {alternative.because} ({len(run.requests)} request(s))",
        context.where(run),
        first.title if first else "",
        level=alternative.level,
    )


def crashed_before_sending(run: StepRun) -> bool:
    """Whether the client raised inside itself before sending this step's first request. An
    error from reaching for the network (a transport the mode does not intercept) is not such
    a crash, nor one a harness reports: its requests go out from another process."""
    error = run.error
    return (
        error is not None
        and not run.requests
        and not isinstance(error, HarnessError)
        and not reached_for_the_network(error)
    )


def _never_sent(run: StepRun, case: Case, target: Target) -> str:
    """Where the client raised (its last frame) and the request it never sent."""
    assert run.error is not None  # crashed_before_sending said so
    frames = traceback.extract_tb(run.error.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        code = f": {last.line.strip()}" if last.line else ""
        where = f", raised at {last.filename}:{last.lineno} in {last.name}{code}"
    base = target.oauth_url if case.auth == "oauth" else target.base_url
    body = clip(json.dumps(dict(run.step.params), ensure_ascii=False), 200)
    return f"{where}; the request never sent: POST {base}{run.step.method}.json {body}"


def _undocumented_kind(context: CheckContext) -> str | None:
    """An adapter that reports a TransportFailure kind nobody documented is broken."""
    for run in context.runs:
        outcome = run.outcome
        if isinstance(outcome, TransportFailure) and outcome.kind not in TRANSPORT_FAILURE_KINDS:
            return (
                f"it reported TransportFailure(kind={outcome.kind!r}), an undocumented kind; "
                f"allowed: {', '.join(TRANSPORT_FAILURE_KINDS)} ({context.where(run)})"
            )
    return None


def run_case(
    case: Case,
    factory: AdapterFactory,
    mode: str,
    transport: Transport,
    *,
    deadline: float | None = None,
    canaries: tuple[str, str] | None = None,
    rerun: str = "",
) -> CaseResult:
    """Run every step of a case over ``transport`` and judge it; never raises for client or
    adapter faults. A case the mode cannot express is skipped before the transport serves."""
    if reason := mode_reason(mode, case.modes):
        return CaseResult(case.id, mode, "skipped", reason, level=case.level)
    started = time.monotonic()
    execution = execute(case, factory, mode, transport, deadline=deadline, canaries=canaries)
    result = judge(execution)
    if execution.context is not None:
        # A passing case can still fail later (a live case's portal checks, a baseline entry
        # gone stale): its reproduction is made then, from what was sent now.
        context, redact = execution.context, execution.redact
        sent = [run.requests[0] if run.requests else None for run in context.runs]
        result.pending_reproduction = lambda: redact(
            reproduction(case, context.target, rerun, sent=sent)
        )
        if result.outcome != "passed":
            result.render_reproduction()
    unobservable = getattr(transport, "unobservable", None)
    if result.outcome == "failed" and execution.context is not None and callable(unobservable):
        # The transport knows where it, not the client, decided the outcome (portal.transport).
        reason = unobservable(case, execution.context.runs)
        if reason:
            result.outcome, result.message = "skipped", reason
    if result.outcome in ("failed", "errored") and execution.context is not None:
        result.evidence = evidence.observe(
            execution.context.runs,
            result.failures,
            portal_url=execution.context.target.portal_url,
            outcome=result.outcome,
            level=result.level,
            redact=execution.redact,
        )
    result.rerun = rerun
    result.duration = time.monotonic() - started
    return result


def _call(adapter: Adapter, step: Step, deadline: float) -> StepRun:
    params = copy.deepcopy(dict(step.params))
    call = call_with_deadline(lambda: adapter.call(step.method, params), deadline)
    ended = time.monotonic()
    return StepRun(
        index=-1,
        step=step,
        outcome=call.value,
        exception=call.exception,
        raised=call.raised,
        error=call.error,
        hung=call.hung,
        seconds=call.seconds,
        ended=ended,
    )


def _drive(
    adapter: Adapter, case: Case, transport: Transport, script: Script, deadline: float
) -> list[StepRun]:
    """Make the case's calls through the transport; stop at a hang or an escaped exception."""
    runs: list[StepRun] = []
    try:
        with transport.serve(script):
            for index, step in enumerate(case.steps):
                with transport.step(script, index):
                    run = _call(adapter, step, deadline)
                run.index = index
                run.requests = script.step_requests(index)
                runs.append(run)
                if run.hung or run.exception is not None:
                    break
    finally:
        closer = getattr(adapter, "close", None)
        if callable(closer):
            with contextlib.suppress(Exception):  # closing is best effort
                closer()
    return runs
