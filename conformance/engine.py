"""Run one case against one adapter over one transport, and judge it with the named checks.

This is the core: no pytest, no CLI. The pytest plugin and ``b24-conformance run`` call it.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from conformance import schemas
from conformance.api import (
    CAPABILITIES,
    TRANSPORT_FAILURE_KINDS,
    Adapter,
    AdapterFactory,
    ApiError,
    Outcome,
    Redactor,
    Success,
    Target,
    TransportFailure,
)
from conformance.case import Case, Step, uses_now
from conformance.transports import (
    OFFLINE_HOST,
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    RecordedRequest,
    Script,
    Transport,
    make_transport,
)
from conformance.wire import DecodedRequest, as_form_values, decode_request, php_json

CaseOutcome = Literal["passed", "failed", "xfailed", "skipped", "errored"]

DEFAULT_DEADLINE: Final = 10.0

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


@dataclass(frozen=True)
class Failure:
    """One check that did not hold: a fixed title, expected vs actual, where, and a hint."""

    check: str
    title: str
    expected: str
    actual: str
    where: str
    hint: str = ""

    def render(self) -> str:
        lines = [
            f"[{self.check}] {self.title}",
            f"  expected: {self.expected}",
            f"  actual:   {self.actual}",
        ]
        lines.append(f"  where:    {self.where}")
        if self.hint:
            lines.append(f"  hint:     {self.hint}")
        return "\n".join(lines)


@dataclass
class CaseResult:
    """What happened to one case in one mode."""

    case_id: str
    mode: str
    outcome: CaseOutcome
    message: str = ""
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    duration: float = 0.0
    reproduction: str = ""
    level: str = "must"


@dataclass
class StepRun:
    """What one step produced: the outcome or the escaped exception, and the requests."""

    index: int
    step: Step
    outcome: Outcome | None = None
    exception: str | None = None
    hung: bool = False
    seconds: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)


@dataclass
class CheckContext:
    case: Case
    mode: str
    target: Target
    adapter_name: str
    capabilities: frozenset[str]
    runs: list[StepRun]
    logs: list[logging.LogRecord]
    deadline: float
    served: list[tuple[int, float, Any]] = field(default_factory=list)
    #: id(RecordedRequest) -> its decoding; filled by _sent() so each request decodes once.
    decoded: dict[int, DecodedRequest] = field(default_factory=dict)


Check = Callable[[CheckContext], Iterable[Failure]]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    """Register a named check; the name is its stable id in reports."""

    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


def offline_target(case: Case, *, secret: str, token: str, timeout: float = 2.0) -> Target:
    """A Target on the unresolvable offline host, with planted secrets."""
    return Target(
        base_url=f"https://{OFFLINE_HOST}/rest/1/{secret}/",
        portal_url=f"https://{OFFLINE_HOST}/",
        user_id=1,
        secret=secret,
        auth_token=token if case.auth == "oauth" else None,
        timeout=timeout,
    )


def canary_secrets() -> tuple[str, str]:
    """A fresh webhook secret and token for a run: any occurrence in output is a leak."""
    return secrets.token_hex(8), "tok" + secrets.token_hex(12)


def mode_reason(mode: str, modes: tuple[str, ...], what: str = "case") -> str | None:
    """Why ``mode`` skips a case (or property) that runs only in ``modes``; None if it runs."""
    if mode in modes:
        return None
    return f"{mode} mode cannot express this {what} (it runs in {', '.join(modes)})"


def skip_reason(
    case: Case, mode: str, capabilities: frozenset[str], adapter_name: str
) -> str | None:
    """Why a case does not run for this adapter: a capability it does not declare."""
    needed = set(case.needs) | ({"oauth"} if case.auth == "oauth" else set())
    for capability in sorted(needed - capabilities):
        return (
            f"needs capability {capability!r} ({CAPABILITIES.get(capability, 'undocumented')}), "
            f"which adapter {adapter_name!r} does not declare"
        )
    return None


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = Collector(level=logging.DEBUG)
    # Records the secret check ignores anyway need not be made at all: the transports and HTTP
    # stacks log every request at DEBUG, and formatting those costs more than the request.
    quiet = {name: logging.getLogger(name) for name in (*TRANSPORT_LOGGERS, *HTTP_STACK_LOGGERS)}
    levels = {name: logger.level for name, logger in quiet.items()}
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in quiet.values():
        logger.setLevel(max(logger.level, logging.WARNING))
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for name, logger in quiet.items():
            logger.setLevel(levels[name])


def _call_with_deadline(adapter: Adapter, step: Step, deadline: float) -> StepRun:
    run = StepRun(index=-1, step=step)
    params = copy.deepcopy(dict(step.params))

    def target() -> None:
        try:
            run.outcome = adapter.call(step.method, params)
        except BaseException:
            run.exception = traceback.format_exc()

    started = time.monotonic()
    worker = threading.Thread(target=target, name="b24-conformance-call", daemon=True)
    worker.start()
    worker.join(deadline)
    run.seconds = time.monotonic() - started
    run.hung = worker.is_alive()
    return run


def run_case(
    case: Case,
    factory: AdapterFactory,
    mode: str,
    *,
    transport: Transport | None = None,
    deadline: float = DEFAULT_DEADLINE,
    canaries: tuple[str, str] | None = None,
    rerun: str = "",
) -> CaseResult:
    """Run every step of a case and judge it; never raises for client or adapter faults."""
    secret, token = canaries or canary_secrets()
    if reason := mode_reason(mode, case.modes):
        # Before any transport is made: a portal need not start for a case it cannot serve.
        return CaseResult(case.id, mode, "skipped", reason, level=case.level)
    transport = transport or make_transport(mode)
    target_for = getattr(transport, "target_for", None)
    target = (
        target_for(case, secret, token)
        if callable(target_for)
        else offline_target(case, secret=secret, token=token)
    )
    redact = Redactor(target.secrets)
    started = time.monotonic()
    result = CaseResult(case.id, mode, "passed", level=case.level)
    try:
        adapter = factory(target)
        name, capabilities = str(adapter.name), frozenset(adapter.capabilities)
    except Exception as exc:
        result.outcome = "errored"
        result.message = redact(f"the adapter factory raised {type(exc).__name__}: {exc}")
        return result
    reason = skip_reason(case, mode, capabilities, name)
    if reason:
        result.outcome, result.message = "skipped", reason
        return result

    script = Script(case, substitutions={SECRET_PLACEHOLDER: secret, TOKEN_PLACEHOLDER: token})
    with captured_logs() as logs:
        try:
            runs = _drive(adapter, case, transport, script, deadline)
        except Exception as exc:
            result.outcome = "errored"
            result.message = redact(f"the {mode} transport failed: {type(exc).__name__}: {exc}")
            return result
    context = CheckContext(
        case, mode, target, name, capabilities, runs, list(logs), deadline, list(script.served)
    )
    result.requests = len(script.requests)
    result.reproduction = redact(reproduction(case, target, rerun))
    _judge(result, context, redact)
    result.duration = time.monotonic() - started
    return result


def _drive(
    adapter: Adapter, case: Case, transport: Transport, script: Script, deadline: float
) -> list[StepRun]:
    """Make the case's calls through the transport; stop at a hang or an escaped exception."""
    runs: list[StepRun] = []
    try:
        with transport.serve(script):
            for index, step in enumerate(case.steps):
                with transport.step(script, index):
                    run = _call_with_deadline(adapter, step, deadline)
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


def _judge(result: CaseResult, context: CheckContext, redact: Redactor) -> None:
    """Run every registered check, and the case's own (``extra_checks``, e.g. a live case's);
    an escaped exception makes the case errored, a failure failed."""
    own: tuple[Check, ...] = tuple(getattr(context.case, "extra_checks", ()))
    for function in (*CHECKS.values(), *own):
        result.failures.extend(_redacted(failure, redact) for failure in function(context))
    escaped = next((r.exception for r in context.runs if r.exception), None)
    rendered = "\n".join(f.render() for f in result.failures)
    if escaped is not None:
        last_line = escaped.strip().splitlines()[-1]
        result.outcome = "errored"
        result.message = redact(f"an exception escaped the adapter: {last_line}")
        if rendered:
            result.message += "\n" + rendered
    elif result.failures:
        result.outcome = "failed"
        result.message = rendered


def _redacted(failure: Failure, redact: Redactor) -> Failure:
    return Failure(
        check=failure.check,
        title=redact(failure.title),
        expected=redact(failure.expected),
        actual=redact(failure.actual),
        where=redact(failure.where),
        hint=redact(failure.hint),
    )


def reproduction(case: Case, target: Target, rerun: str = "") -> str:
    """The calls a case scripts, as curl commands against the portal, and the rerun command."""
    lines = []
    for number, step in enumerate(case.steps, 1):
        body = json.dumps(dict(step.params), ensure_ascii=False)
        if case.auth == "oauth":
            url = f"{target.oauth_url}{step.method}.json"
            auth = f" -H 'Authorization: Bearer {target.auth_token}'"
        else:
            url, auth = f"{target.base_url}{step.method}.json", ""
        if step.responses:
            lines.append(
                f"# step {number}: the portal answers "
                + "; then ".join(_describe_answer(r.as_dict()) for r in step.responses)
            )
        else:
            # A stateful step: the portal's store answers; the case says what must come out.
            lines.append(f"# step {number}: expected {step.expect.describe()}")
        lines.append(f"curl -X POST -H 'Content-Type: application/json'{auth} -d '{body}' '{url}'")
    if rerun:
        lines.append(f"# rerun just this case: {rerun}")
    return "\n".join(lines)


def _describe_answer(answer: Mapping[str, Any]) -> str:
    if "fault" in answer:
        return f"a {answer['fault']}"
    shown = php_json(answer["body"]) if "body" in answer else repr(answer.get("raw", ""))
    return f"HTTP {answer['status']} {shown[:160]}"


# ---------------------------------------------------------------------------------------------
# The checks. Each reads the context and yields failures; none may raise.


def _where(context: CheckContext, run: StepRun, path: str = "") -> str:
    step = f", step {run.index + 1}" if len(context.case.steps) > 1 else ""
    return f"case {context.case.id} ({context.mode}{step}){': ' + path if path else ''}"


def _normalised(value: Any) -> Any:
    # Payloads are compared as parsed JSON: tuples are lists, mappings are dicts.
    return json.loads(json.dumps(value, default=str))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def _describe(outcome: Outcome | None) -> str:
    if outcome is None:
        return "no outcome"
    if isinstance(outcome, Success):
        total = f", total={outcome.total}" if outcome.total is not None else ""
        return f"Success(result={_show(outcome.result)}{total})"
    if isinstance(outcome, ApiError):
        return f"ApiError(code={outcome.code!r}, status={outcome.status})"
    if isinstance(outcome, TransportFailure):
        return f"TransportFailure(kind={outcome.kind!r}, status={outcome.status})"
    return f"not an outcome: {type(outcome).__name__}"


_KINDS = {Success: "success", ApiError: "api-error", TransportFailure: "transport-failure"}


@check("outcome.kind")
def check_outcome_kind(context: CheckContext) -> Iterator[Failure]:
    """The client reports the right kind of outcome: success, API error or transport failure."""
    for run in context.runs:
        if run.exception is not None or run.hung:
            continue
        expected = run.step.expect
        actual = _KINDS.get(type(run.outcome))
        if actual != expected.outcome:
            yield Failure(
                "outcome.kind",
                f"wrong kind of outcome: {actual or 'not an Outcome'} "
                f"instead of {expected.outcome}",
                expected.describe(),
                _describe(run.outcome),
                _where(context, run),
                _KIND_HINTS.get((expected.outcome, actual or ""), ""),
            )


_KIND_HINTS = {
    (
        "api-error",
        "success",
    ): 'an error envelope (maybe with HTTP 200, or a falsy code 0 or "") was taken for success',
    ("transport-failure", "success"): "a body that is not a v2 envelope was taken for success",
    ("success", "api-error"): "a success envelope was reported as an error",
    (
        "success",
        "transport-failure",
    ): "the client gave up where a retry or a correct parse would succeed",
}


@check("outcome.failure-kind")
def check_failure_kind(context: CheckContext) -> Iterator[Failure]:
    """A transport failure names what went wrong: non-json, empty-body, bad-envelope, timeout..."""
    for run in context.runs:
        expected = run.step.expect
        if not isinstance(run.outcome, TransportFailure) or expected.outcome != "transport-failure":
            continue
        if expected.kind is not None and run.outcome.kind != expected.kind:
            yield Failure(
                "outcome.failure-kind",
                "the transport failure has the wrong kind",
                f"kind={expected.kind!r}",
                f"kind={run.outcome.kind!r}",
                _where(context, run, "TransportFailure.kind"),
                "kinds: " + ", ".join(TRANSPORT_FAILURE_KINDS),
            )


@check("outcome.payload")
def check_outcome_payload(context: CheckContext) -> Iterator[Failure]:
    """A success carries the envelope's result, compared as parsed JSON, and total when declared."""
    for run in context.runs:
        expected = run.step.expect
        if not isinstance(run.outcome, Success) or expected.outcome != "success":
            continue
        if expected.has_result and _normalised(run.outcome.result) != _normalised(expected.result):
            yield Failure(
                "outcome.payload",
                "the success payload differs from the envelope's result",
                _show(expected.result),
                _show(run.outcome.result),
                _where(context, run, "Success.result"),
                "titles and values may be language maps; \\uXXXX escapes decode to characters",
            )
        timing = expected.time
        judged = timing is not None and "time" in context.capabilities and not uses_now(timing)
        if judged and (
            run.outcome.time is None or _normalised(run.outcome.time) != _normalised(timing)
        ):
            yield Failure(
                "outcome.payload",
                "the success lost or changed the envelope's time block",
                _show(timing),
                _show(run.outcome.time),
                _where(context, run, "Success.time"),
                "the adapter declares capability 'time'; operating fields are optional",
            )
        if (
            expected.total is not None
            and "total" in context.capabilities
            and run.outcome.total != expected.total
        ):
            yield Failure(
                "outcome.payload",
                "the success lost the envelope's top-level total",
                f"total={expected.total}",
                f"total={run.outcome.total}",
                _where(context, run, "Success.total"),
                "list answers carry total beside result, not inside it",
            )


@check("outcome.code")
def check_outcome_code(context: CheckContext) -> Iterator[Failure]:
    """An API error carries the code exactly as the portal sent it (100 and "100" are equal)."""
    for run in context.runs:
        expected = run.step.expect
        if not isinstance(run.outcome, ApiError) or expected.outcome != "api-error":
            continue
        if run.outcome.code is None or str(run.outcome.code) != str(expected.code):
            yield Failure(
                "outcome.code",
                "the error code is not the one the portal sent",
                repr(expected.code),
                repr(run.outcome.code),
                _where(context, run, "ApiError.code"),
                "keep the code as sent: numbers (100, 0), empty strings, lowercase OAuth codes",
            )


@check("outcome.status")
def check_outcome_status(context: CheckContext) -> Iterator[Failure]:
    """With capability status, errors and transport failures carry the HTTP status."""
    if "status" not in context.capabilities:
        return
    for run in context.runs:
        expected = run.step.expect
        if expected.status is None or not isinstance(run.outcome, ApiError | TransportFailure):
            continue
        if _KINDS[type(run.outcome)] != expected.outcome:
            continue
        if run.outcome.status != expected.status:
            yield Failure(
                "outcome.status",
                "the HTTP status is lost or wrong",
                f"status={expected.status}",
                f"status={run.outcome.status}",
                _where(context, run, f"{type(run.outcome).__name__}.status"),
                "the adapter declares capability 'status'",
            )


@check("requests.count")
def check_request_count(context: CheckContext) -> Iterator[Failure]:
    """Each call makes as many requests as the script allows: no storms, no retried 4xx."""
    for run in context.runs:
        count, allowed = len(run.requests), run.step.requests
        if run.hung or allowed.allows(count):
            continue
        too_many = count > allowed.maximum
        yield Failure(
            "requests.count",
            "too many requests (a retry storm or a retried non-retryable answer)"
            if too_many
            else "too few requests (a retryable answer was not retried)",
            f"{allowed.describe()} request(s)",
            f"{count} request(s)",
            _where(context, run),
            _count_hint(run, too_many),
        )


def _count_hint(run: StepRun, too_many: bool) -> str:
    codes = [
        r.body.get("error") for r in run.step.responses if r.has_body and isinstance(r.body, dict)
    ]
    codes = [c for c in codes if c is not None and not isinstance(c, dict)]
    if too_many and codes:
        seen = ", ".join(map(str, dict.fromkeys(codes)))
        return (
            f"answers seen: {seen}; only QUERY_LIMIT_EXCEEDED and OPERATION_TIME_LIMIT are retried"
        )
    if not too_many:
        return "retry QUERY_LIMIT_EXCEEDED with backoff; wait out OPERATION_TIME_LIMIT"
    return ""


def _sent(context: CheckContext) -> Iterator[tuple[StepRun, int, RecordedRequest, DecodedRequest]]:
    """Every request of every step with its decoding by the portal's rules (decoded once)."""
    for run in context.runs:
        for number, sent in enumerate(run.requests, 1):
            key = id(sent)
            if key not in context.decoded:
                context.decoded[key] = decode_request(
                    sent.method, sent.url, sent.headers, sent.body
                )
            yield run, number, sent, context.decoded[key]


def _read_by(method: str) -> frozenset[str]:
    """The parameter names a method's controller (or the REST layer) reads."""
    return frozenset(schemas.contents_at(schemas.params_schema(method)).get("properties", {}))


@check("requests.params")
def check_request_params(context: CheckContext) -> Iterator[Failure]:
    """What the client sent decodes, as the portal decodes it, to the case's params.

    Only the names the method reads are judged: the binder looks each one up exactly and
    ignores the rest, so an SDK's own bookkeeping parameters change nothing on the portal.
    """
    for run, number, _sent_request, decoded in _sent(context):
        wanted = dict(run.step.params)
        read = _read_by(run.step.method) | set(wanted)
        got = {name: value for name, value in decoded.params.items() if name in read}
        if decoded.encoding != "json":
            wanted = as_form_values(wanted)
        if got != wanted:
            yield Failure(
                "requests.params",
                "the request does not decode to the params the client was given",
                _show(wanted),
                f"{_show(got)} (sent as {decoded.encoding})",
                _where(context, run, f"request {number}"),
                _params_hint(decoded.encoding, decoded.malformed_json),
            )


def _params_hint(encoding: str, malformed: bool) -> str:
    if malformed:
        return "the body was sent as application/json but is not a JSON object"
    if encoding in ("query", "form"):
        return "percent-encode & + # % [ ] ? = in values; send maps as title[en]=...; or POST JSON"
    return "names are lowercase and case-sensitive; JSON keeps types"


@check("requests.path")
def check_request_path(context: CheckContext) -> Iterator[Failure]:
    """Requests go to the case's method, on the webhook or OAuth path, with or without .json."""
    for run, number, sent, decoded in _sent(context):
        expected_kind = "oauth" if context.case.auth == "oauth" else "webhook"
        problems = []
        if decoded.api_method != run.step.method or decoded.suffix not in (None, "json"):
            problems.append(
                f"method {decoded.api_method}{'.' + decoded.suffix if decoded.suffix else ''}"
            )
        if decoded.path_kind != expected_kind:
            problems.append(f"a {decoded.path_kind} path")
        if problems:
            yield Failure(
                "requests.path",
                "the request went to the wrong endpoint",
                f"{expected_kind} path to {run.step.method} (optionally .json)",
                f"{'; '.join(problems)}: {sent.method} {sent.url}",
                _where(context, run, f"request {number}"),
                "webhook: {base_url}{method}.json; OAuth: {portal_url}rest/{method}.json",
            )


@check("requests.auth")
def check_request_auth(context: CheckContext) -> Iterator[Failure]:
    """The webhook secret goes in the path; the token as auth, access_token or Bearer."""
    target = context.target
    for run, number, sent, decoded in _sent(context):
        if context.case.auth == "oauth":
            ok = decoded.token == target.auth_token and target.secret not in sent.url
            expected = "the access token as auth, access_token or Authorization: Bearer"
            actual = f"token via {decoded.token_carrier or 'nothing'}"
        else:
            ok = decoded.secret == target.secret and str(decoded.user_id) == str(target.user_id)
            expected = "the webhook user id and secret in the URL path"
            actual = "a different or missing user id or secret in the path"
        if not ok:
            yield Failure(
                "requests.auth",
                "the request does not carry the right credentials",
                expected,
                actual,
                _where(context, run, f"request {number}"),
            )


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
                _where(context, run),
                "back off before retrying QUERY_LIMIT_EXCEEDED",
            )
        if timing.growing_gaps and any(
            later <= earlier for earlier, later in itertools.pairwise(gaps)
        ):
            yield Failure(
                "behaviour.timing",
                "retry waits do not grow (no backoff)",
                "each wait longer than the one before",
                "gaps of " + ", ".join(f"{g:.3f}s" for g in gaps),
                _where(context, run),
            )
        if timing.not_before_reset:
            yield from _reset_failures(context, run, gaps)


def _reset_failures(context: CheckContext, run: StepRun, gaps: list[float]) -> Iterator[Failure]:
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
            _where(context, run),
            "error answers carry no time block: keep operating_reset_at from the last success",
        )


@check("behaviour.deadline")
def check_deadline(context: CheckContext) -> Iterator[Failure]:
    """The client returns an outcome within the deadline: no hang."""
    for run in context.runs:
        if run.hung:
            yield Failure(
                "behaviour.deadline",
                "the client hung",
                f"an outcome within {context.deadline:.1f}s",
                f"no outcome after {run.seconds:.1f}s ({len(run.requests)} request(s) so far)",
                _where(context, run),
                "set a timeout on every request and bound every retry loop",
            )


@check("behaviour.no-secret")
def check_no_secret(context: CheckContext) -> Iterator[Failure]:
    """The planted secret and token appear in no outcome, exception text or log record."""
    planted = [s for s in context.target.secrets if s]
    detector = Redactor(planted, placeholder="\0")
    places: list[tuple[str, str]] = []
    for run in context.runs:
        if run.outcome is not None:
            places.append((f"outcome of step {run.index + 1}", repr(run.outcome)))
        if run.exception:
            places.append((f"exception text of step {run.index + 1}", run.exception))
    for record in context.logs:
        top = record.name.split(".")[0]
        if top in TRANSPORT_LOGGERS or (
            top in HTTP_STACK_LOGGERS and record.levelno < logging.WARNING
        ):
            continue
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        places.append((f"log record of {record.name} at {record.levelname}", text))
    for where, text in places:
        if "\0" in detector(text):
            yield Failure(
                "behaviour.no-secret",
                "a secret leaked",
                "no occurrence of the webhook secret or the access token",
                f"found in the {where}",
                f"case {context.case.id} ({context.mode})",
                "redact secrets by value before they reach an exception, a log line or an outcome",
            )
