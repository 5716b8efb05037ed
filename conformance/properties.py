"""Properties: hypothesis-generated exchanges run through the same adapters, transports and
named checks as the fixed cases; each property has a stable id (docs/properties.md).

Like conformance.engine this is core, not pytest: ``run_property`` returns a CaseResult whose
case id is the property id. Every example builds its own Case, transport and adapter, runs it
with ``engine.run_case`` and judges it with the property's checks; a falsified property reports
the minimal example, the seed and the command that replays it.
"""

from __future__ import annotations

import json
import secrets
import shlex
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from conformance import catalogue, schemas
from conformance import strategies as gen
from conformance.api import (
    Adapter,
    AdapterFactory,
    ApiError,
    Outcome,
    Success,
    Target,
    TransportFailure,
)
from conformance.case import (
    MODES,
    Case,
    RequestCount,
    ScriptedResponse,
    Step,
    Timing,
    expectation_from,
)
from conformance.engine import mode_reason, run_case
from conformance.results import DEFAULT_DEADLINE, CaseResult, Failure
from conformance.transports import (
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    ReplayTransport,
    StubTransport,
    Transport,
    memory_cassette,
)
from conformance.wire import php_json

__all__ = [
    "EXAMPLE_TRANSPORTS",
    "HYPOTHESIS_PROFILES",
    "PROPERTIES",
    "Exchange",
    "MachineProperty",
    "ScriptedProperty",
    "client_spec",
    "register_profiles",
    "run_property",
]

# ---------------------------------------------------------------------------------------------
# Hypothesis profiles

_TOO_SLOW: Final = [HealthCheck.too_slow]  # every example is an HTTP exchange
_DEFAULT: Final = settings.get_profile("default")

#: The profiles property runs (and, after ``register_profiles()``, any test) can use.
HYPOTHESIS_PROFILES: Final[Mapping[str, settings]] = {
    # Local work: fresh examples every run.
    "dev": settings(
        _DEFAULT,
        max_examples=100,
        deadline=None,
        print_blob=True,
        suppress_health_check=_TOO_SLOW,
    ),
    # CI is repeatable: the same examples every run, and a blob to replay a failure.
    "ci": settings(
        _DEFAULT,
        max_examples=100,
        derandomize=True,
        database=None,
        print_blob=True,
        deadline=None,
        suppress_health_check=_TOO_SLOW,
    ),
    # A live portal: few examples, no shrinking (a replayed add no longer behaves the same).
    "live": settings(
        _DEFAULT,
        max_examples=10,
        stateful_step_count=15,
        phases=(Phase.explicit, Phase.generate),
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=_TOO_SLOW,
    ),
}


def register_profiles() -> None:
    """Register ``dev``, ``ci`` and ``live`` with hypothesis (``--hypothesis-profile=ci``)."""
    for name, profile in HYPOTHESIS_PROFILES.items():
        settings.register_profile(name, profile)


def _profile(name: str) -> settings:
    try:
        return HYPOTHESIS_PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown hypothesis profile {name!r}: expected one of {', '.join(HYPOTHESIS_PROFILES)}"
        ) from None


# ---------------------------------------------------------------------------------------------
# What a property is


@dataclass(frozen=True)
class Exchange:
    """One generated call and the portal's scripted answer to it."""

    method: str
    params: Mapping[str, Any]
    answer: ScriptedResponse

    def describe(self) -> str:
        call = f"{self.method} {json.dumps(dict(self.params), ensure_ascii=False)}"
        answer = self.answer
        shown = php_json(answer.body) if answer.has_body else repr(answer.raw)
        content_type = answer.headers.get("Content-Type")
        typed = f" ({content_type})" if content_type and not answer.has_body else ""
        return f"{call}; the portal answers HTTP {answer.status}{typed} {_clip(shown, 400)}"


#: A property's own judgement of one example beside the engine checks:
#: (exchange, what the adapter returned, where) -> failures.
Judge = Callable[[Exchange, Any, str], Iterable[Failure]]


@dataclass(frozen=True)
class ScriptedProperty:
    """A property over scripted exchanges: any transport that serves a Case can express it."""

    id: str
    description: str
    examples: Callable[[], st.SearchStrategy[Exchange]]
    #: Engine checks whose failures falsify the property (behaviour.deadline always does).
    checks: tuple[str, ...]
    contract: tuple[str, ...]
    judge: Judge | None = None
    level: str = "must"

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(EXAMPLE_TRANSPORTS)


@dataclass(frozen=True)
class MachineProperty:
    """A stateful property: a rule-based machine against a portal (conformance.machine)."""

    id: str
    description: str
    contract: tuple[str, ...]
    level: str = "must"
    modes: tuple[str, ...] = ("portal",)


Property = ScriptedProperty | MachineProperty

# ---------------------------------------------------------------------------------------------
# Transports, built per example

ExampleTransport = Callable[[Case], AbstractContextManager[Transport]]


@contextmanager
def _stub(case: Case) -> Iterator[Transport]:
    yield StubTransport()


@contextmanager
def _replay(case: Case) -> Iterator[Transport]:
    from conformance.cassettes import cassette_text

    # vcrpy swaps the secret placeholders for the run's values everywhere in a cassette, so a
    # generated body that spells one out cannot replay unchanged: replay cannot express it.
    answers = [php_json(r.body) if r.has_body else r.raw or "" for r in case.steps[0].responses]
    if any(p in answer for p in (SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER) for answer in answers):
        reject()
    with memory_cassette(cassette_text(case)) as name:
        yield ReplayTransport(cassette=name)


#: mode -> a context manager giving a fresh transport for one generated Case. Plug a portal
#: transport in with ``EXAMPLE_TRANSPORTS["portal"] = maker``; scripted properties then run there.
@contextmanager
def _portal(case: Case) -> Iterator[Transport]:
    from conformance.portal.transport import PortalTransport

    yield PortalTransport()


EXAMPLE_TRANSPORTS: dict[str, ExampleTransport] = {
    "stub": _stub,
    "replay": _replay,
    "portal": _portal,
}


@contextmanager
def _portal_tls(case: Case) -> Iterator[Transport]:
    from conformance.portal.transport import PortalTransport

    yield PortalTransport(tls=True)


def _example_transport(mode: str, target: Target | None) -> ExampleTransport | None:
    """An https portal for a run's examples when the run's portal is one (its target carries a
    CA bundle), so clients that only speak https take part (``--tls``); else None: the mode's."""
    https = mode == "portal" and target is not None and target.ca_bundle is not None
    return _portal_tls if https and EXAMPLE_TRANSPORTS.get(mode) is _portal else None


# ---------------------------------------------------------------------------------------------
# Generated exchanges

#: A realistic time block for answers whose timing is not the point.
SAMPLE_TIME: Final = {
    "start": 1774257804,
    "finish": 1774257804.1,
    "duration": 0.1,
    "processing": 0,
    "date_start": "2026-03-23T12:23:24+03:00",
    "date_finish": "2026-03-23T12:23:24+03:00",
}
_BADGE: Final = {"code": "missedCall", "title": "Call Status", "value": "Missed", "type": "failure"}
_ADD, _GET, _LIST, _DELETE = schemas.METHODS


def _params_for(method: str) -> dict[str, Any]:
    if method == _ADD:
        return dict(_BADGE)
    return {} if method == _LIST else {"code": _BADGE["code"]}


@st.composite
def fidelity_exchanges(draw: st.DrawFn) -> Exchange:
    """add with a generated badge, get and delete with a generated code; a success answers."""
    method = draw(st.sampled_from((_ADD, _GET, _DELETE)))
    result: Any
    if method == _ADD:
        params = draw(gen.badges())
        result = {"badge": params}
    else:
        params = {"code": draw(gen.badge_codes())}
        result = True if method == _DELETE else {"badge": {**_BADGE, "code": params["code"]}}
    answer = ScriptedResponse(status=200, body={"result": result, "time": dict(SAMPLE_TIME)})
    return Exchange(method, params, answer)


@st.composite
def success_exchanges(draw: st.DrawFn) -> Exchange:
    """Any method answered by a generated success envelope of that method."""
    method = draw(st.sampled_from(schemas.METHODS))
    envelope = draw(gen.success_envelopes(method))
    params = _params_for(method)
    badge = envelope["result"].get("badge") if isinstance(envelope["result"], dict) else None
    if badge is not None:
        # The call asks for what the portal answers: add sends it, get names its code.
        params = dict(badge) if method == _ADD else {"code": badge["code"]}
    return Exchange(method, params, ScriptedResponse(status=200, body=envelope))


def _waited_on(code: object) -> bool:
    # Retried codes are the retry.* cases' concern: a retrying client would sleep here.
    return any(
        entry.retry in ("backoff", "after-operating-reset")
        for entry in catalogue.error_catalogue()
        if catalogue.code_key(entry.code) == catalogue.code_key(code)
    )


_UNRETRIED_ERROR_ANSWERS: Final = gen.error_answers().filter(
    lambda a: not _waited_on(a[1]["error"])
)


@st.composite
def error_exchanges(draw: st.DrawFn) -> Exchange:
    """Any method answered by a generated error envelope under any status (never a retried code)."""
    method = draw(st.sampled_from(schemas.METHODS))
    status, envelope = draw(_UNRETRIED_ERROR_ANSWERS)
    return Exchange(method, _params_for(method), ScriptedResponse(status=status, body=envelope))


GARBAGE_STATUSES: Final = (200, 403, 500, 502, 503, 504)
GARBAGE_CONTENT_TYPES: Final = (
    "application/json; charset=utf-8",
    "text/html; charset=utf-8",
    "text/plain",
    None,
)


@st.composite
def garbage_exchanges(draw: st.DrawFn) -> Exchange:
    """Any method answered by a garbage body, under a status and content type proxies use."""
    method = draw(st.sampled_from(schemas.METHODS))
    text = draw(gen.garbage_bodies())
    content_type = draw(st.sampled_from(GARBAGE_CONTENT_TYPES))
    answer = ScriptedResponse(
        status=draw(st.sampled_from(GARBAGE_STATUSES)),
        headers={"Content-Type": content_type} if content_type else {},
        raw=text,
    )
    return Exchange(method, _params_for(method), answer)


def _describe_outcome(outcome: object) -> str:
    if isinstance(outcome, Success):
        return f"Success(result={_clip(json.dumps(outcome.result, default=str), 120)})"
    if isinstance(outcome, ApiError):
        return f"ApiError(code={outcome.code!r}, status={outcome.status})"
    if isinstance(outcome, TransportFailure):
        return f"TransportFailure(kind={outcome.kind!r}, status={outcome.status})"
    return f"not an outcome: {type(outcome).__name__}"


def _judge_garbage(exchange: Exchange, outcome: Any, where: str) -> Iterator[Failure]:
    if isinstance(outcome, TransportFailure | ApiError):
        return
    yield Failure(
        GARBAGE_RESISTANCE,
        "a body that is no envelope was taken for a success"
        if isinstance(outcome, Success)
        else "the client returned something that is not an outcome",
        "TransportFailure (non-json, empty-body, bad-envelope) or ApiError",
        _describe_outcome(outcome),
        where,
        "parse defensively: only a JSON object with result (and no error) is a success",
    )


REQUEST_FIDELITY: Final = "property.request-fidelity"
PARSE_ROUND_TRIP: Final = "property.parse-round-trip"
ERROR_MAPPING: Final = "property.error-mapping"
GARBAGE_RESISTANCE: Final = "property.garbage-resistance"
BADGE_REGISTRY: Final = "property.badge-registry"

#: Every property by its stable id.
PROPERTIES: Final[dict[str, Property]] = {
    REQUEST_FIDELITY: ScriptedProperty(
        REQUEST_FIDELITY,
        "what the client sends decodes, as the portal decodes it, to the generated params",
        fidelity_exchanges,
        checks=("requests.params",),
        contract=("1.1", "3.2"),
    ),
    PARSE_ROUND_TRIP: ScriptedProperty(
        PARSE_ROUND_TRIP,
        "a generated success envelope comes back as a Success with the envelope's result",
        success_exchanges,
        checks=("outcome.kind", "outcome.payload"),
        contract=("1.1", "2.1", "2.3"),
    ),
    ERROR_MAPPING: ScriptedProperty(
        ERROR_MAPPING,
        "a generated error envelope comes back as an ApiError with its code and status",
        error_exchanges,
        checks=("outcome.kind", "outcome.code", "outcome.status"),
        contract=("2.2", "2.4"),
    ),
    GARBAGE_RESISTANCE: ScriptedProperty(
        GARBAGE_RESISTANCE,
        "a body that is no envelope is a transport failure or an API error, in time, never a crash",
        garbage_exchanges,
        checks=(),
        judge=_judge_garbage,
        contract=("3.2",),
    ),
    BADGE_REGISTRY: MachineProperty(
        BADGE_REGISTRY,
        "add, get, list, delete and duplicate add agree with a model of the badge registry",
        contract=("1.1", "1.2", "1.3", "1.4"),
    ),
}

# ---------------------------------------------------------------------------------------------
# Running one example


_E = TypeVar("_E", bound=BaseException)


class _HarnessError(Exception):
    """The suite itself failed (a factory that raises, a broken transport): not the client."""


class _Falsified(Exception):
    """One example the property does not hold for; hypothesis shrinks on it."""

    def __init__(
        self,
        exchange: Exchange,
        failures: list[Failure],
        *,
        crash: str = "",
        hung: bool = False,
        reproduction: str = "",
    ) -> None:
        super().__init__(crash or (failures[0].title if failures else "falsified"))
        self.exchange = exchange
        self.failures = failures
        self.crash = crash
        self.hung = hung
        self.reproduction = reproduction


class _Recording:
    """An adapter wrapper that keeps what the calls returned and whether one raised."""

    def __init__(self, adapter: Adapter) -> None:
        self._adapter = adapter
        self.name = adapter.name
        self.capabilities = adapter.capabilities
        self.outcomes: list[Any] = []
        self.raised = False

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        try:
            outcome = self._adapter.call(method, params)
        except BaseException:
            self.raised = True
            raise
        self.outcomes.append(outcome)
        return outcome

    def close(self) -> None:
        closer = getattr(self._adapter, "close", None)
        if callable(closer):
            closer()


def _case(prop: ScriptedProperty, exchange: Exchange) -> Case:
    step = Step(
        method=exchange.method,
        params=exchange.params,
        responses=(exchange.answer,),
        expect=expectation_from(exchange.answer),
        requests=RequestCount(1, 1),
        timing=Timing(),
    )
    return Case(
        id=prop.id,
        description=prop.description,
        level=prop.level,
        source="server",
        contract=prop.contract,
        checks=(),
        needs=frozenset(),
        modes=tuple(EXAMPLE_TRANSPORTS),  # type: ignore[arg-type]
        auth="webhook",
        steps=(step,),
        file="(generated)",
    )


@dataclass
class _Tally:
    examples: int = 0
    requests: int = 0


def _run_example(
    prop: ScriptedProperty,
    exchange: Exchange,
    factory: AdapterFactory,
    mode: str,
    deadline: float,
    rerun: str,
    tally: _Tally,
    transports: ExampleTransport | None = None,
) -> None:
    """Run one exchange as a Case; raise _Falsified when the property does not hold for it."""
    case = _case(prop, exchange)
    made: list[_Recording] = []

    def recording(target: Target) -> Adapter:
        made.append(_Recording(factory(target)))
        return made[-1]

    with (transports or EXAMPLE_TRANSPORTS[mode])(case) as transport:
        result = run_case(
            case, recording, mode, transport=transport, deadline=deadline, rerun=rerun
        )
    tally.examples += 1
    tally.requests += result.requests
    raised = bool(made) and made[0].raised
    if result.outcome in ("errored", "skipped") and not raised:
        raise _HarnessError(result.message)
    failures = [f for f in result.failures if f.check in (*prop.checks, "behaviour.deadline")]
    hung = any(f.check == "behaviour.deadline" for f in failures)
    if prop.judge is not None and made and made[0].outcomes and not raised and not hung:
        failures += prop.judge(exchange, made[0].outcomes[0], f"case {prop.id} ({mode})")
    if raised or failures:
        crash = result.message.splitlines()[0] if raised else ""
        raise _Falsified(
            exchange, failures, crash=crash, hung=hung, reproduction=result.reproduction
        )


# ---------------------------------------------------------------------------------------------
# Running a property


def client_spec(factory: object) -> str:
    """The ``--client`` spec naming a factory: reference, miniature:NAME or module:attribute."""
    from conformance import reference, testing

    if factory is reference.factory or factory is reference.ReferenceClient:
        return "reference"
    for name, miniature in testing.MINIATURES.items():
        if factory is miniature:
            return f"miniature:{name}"
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        return f"{module}:{qualname}"
    return "<your client spec>"


def rerun_command(property_id: str, client: str, mode: str, seed_: int) -> str:
    """The command that replays a property run exactly."""
    words = ["b24-conformance", "run", "--client", client, "--mode", mode, "--case", property_id]
    return shlex.join([*words, "--seed", str(seed_)])


def _seed_for(property_id: str, profile: settings, given_seed: int | None) -> int:
    if given_seed is not None:
        return given_seed
    if profile.derandomize:
        # Repeatable like derandomize, and a number the failure message can show.
        return zlib.crc32(property_id.encode())
    return secrets.randbits(32)


def _search(
    prop: ScriptedProperty,
    test: Callable[[Exchange], None],
    options: settings,
    seed_: int,
) -> _Falsified | None:
    """One hypothesis run; the falsifying exception of the (minimal) failing example, if any."""
    run = hypothesis_seed(seed_)(settings(options)(given(exchange=prop.examples())(test)))
    try:
        run()
    except _Falsified as falsified:
        return falsified
    except BaseExceptionGroup as group:  # hypothesis' FlakyFailure and friends
        found = _find(group, _Falsified)
        if found is None:
            harness = _find(group, _HarnessError)
            if harness is not None:
                raise harness from None
            raise
        return found
    return None


def _find(group: BaseExceptionGroup[Any], kind: type[_E]) -> _E | None:
    for inner in group.exceptions:
        if isinstance(inner, kind):
            return inner
        if isinstance(inner, BaseExceptionGroup):
            found = _find(inner, kind)
            if found is not None:
                return found
    return None


def run_property(
    property_id: str,
    factory: AdapterFactory,
    mode: str,
    *,
    seed: int | None = None,
    profile: str = "ci",
    deadline: float = DEFAULT_DEADLINE,
    client: str | None = None,
    target: Target | None = None,
) -> CaseResult:
    """Run one property against one client in one mode; never raises for client faults.

    ``seed`` makes the run reproducible (without one, ``ci`` derives a fixed seed from the
    property id and ``dev`` draws a fresh one; the message shows it). ``deadline`` bounds each
    client call. ``client`` is the spec the rerun command shows (derived from ``factory`` when
    omitted). ``target`` is the portal the stateful machine runs against (portal mode).
    """
    prop = _property(property_id)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
    options = _profile(profile)
    chosen = _seed_for(property_id, options, seed)
    rerun = rerun_command(prop.id, client or client_spec(factory), mode, chosen)
    result = CaseResult(prop.id, mode, "passed", level=prop.level)
    if reason := mode_reason(mode, prop.modes, "property"):
        result.outcome, result.message = "skipped", reason
        return result
    if mode == "portal" and target is not None and target.ca_bundle is not None:
        rerun += " --tls"
    if isinstance(prop, MachineProperty):
        from conformance.machine import run_machine

        if target is None:
            raise ValueError(f"property {prop.id} runs against a portal: pass target=")
        return run_machine(
            factory, target, mode=mode, seed=chosen, profile=profile, deadline=deadline, rerun=rerun
        )
    transports = _example_transport(mode, target)
    return _run_scripted(
        prop, factory, mode, options, chosen, deadline, rerun, result, profile, transports
    )


def _property(property_id: str) -> Property:
    try:
        return PROPERTIES[property_id]
    except KeyError:
        raise ValueError(
            f"unknown property {property_id!r}: expected one of {', '.join(PROPERTIES)}"
        ) from None


def _run_scripted(
    prop: ScriptedProperty,
    factory: AdapterFactory,
    mode: str,
    options: settings,
    seed_: int,
    deadline: float,
    rerun: str,
    result: CaseResult,
    profile: str,
    transports: ExampleTransport | None = None,
) -> CaseResult:
    started = time.monotonic()
    tally = _Tally()

    def example(exchange: Exchange) -> None:
        _run_example(prop, exchange, factory, mode, deadline, rerun, tally, transports)

    try:
        minimal, found_after, how = _falsify(prop, example, options, seed_, tally)
    except (_HarnessError, HypothesisException) as exc:
        result.outcome = "errored"
        result.message = f"the property run failed ({type(exc).__name__}): {exc}"
        result.duration = time.monotonic() - started
        return result
    result.requests = tally.requests
    result.duration = time.monotonic() - started
    about = f"seed {seed_}, hypothesis profile {profile}"
    if minimal is None:
        result.message = f"passed {found_after} generated examples ({about})"
        return result
    result.outcome = "errored" if minimal.crash else "failed"
    result.failures = list(minimal.failures)
    result.reproduction = minimal.reproduction
    headline = minimal.crash or (minimal.failures[0].title if minimal.failures else "")
    result.message = "\n".join(
        [
            f"[{prop.id}] falsified: {headline}",
            f"  property: {prop.description}",
            f"  minimal example: {minimal.exchange.describe()}",
            *(failure.render() for failure in minimal.failures),
            f"  found after {found_after} examples in {mode} mode ({about}); {how}",
            "reproduce:",
            minimal.reproduction,
        ]
    )
    return result


def _falsify(
    prop: ScriptedProperty,
    example: Callable[[Exchange], None],
    options: settings,
    seed_: int,
    tally: _Tally,
) -> tuple[_Falsified | None, int, str]:
    """The minimal falsifying example (or None), the examples run until the first, and how it
    was shrunk.

    Generation runs first without shrinking: a hung client would cost the full deadline on
    every shrinking attempt. Any other failure is found again with the same seed, then shrunk.
    """
    # The explain phase reruns the minimal example many times for notes nobody reads here.
    phases = [p for p in options.phases if p is not Phase.explain]
    searching = settings(
        options,
        phases=[p for p in phases if p is not Phase.shrink],
        database=None,
        report_multiple_bugs=False,
        deadline=None,
    )
    found = _search(prop, example, searching, seed_)
    found_after = tally.examples
    if found is None:
        return None, found_after, ""
    if found.hung:
        return found, found_after, "not shrunk: the client hung (each attempt waits the deadline)"
    if Phase.shrink not in phases:
        return found, found_after, "not shrunk: the profile has no shrinking phase"
    minimal = _search(prop, example, settings(searching, phases=phases), seed_)
    if minimal is None:
        return found, found_after, "not shrunk: the failure did not happen again (flaky client?)"
    return minimal, found_after, f"shrunk with the same seed ({tally.examples} examples in all)"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
