"""The case catalogue: cases read from conformance/cases/*.yaml (format: schemas/case.json)."""

from __future__ import annotations

import base64
import dataclasses
import math
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from conformance import _data, schemas
from conformance.results import clip
from conformance.wire import is_error_code, php_json


def _case_modes() -> tuple[str, ...]:
    """The modes a case may name, as the case format lists them (its default: all of them)."""
    case_format = _data.read_schema_file("case.json")
    return tuple(case_format["$defs"]["case"]["properties"]["modes"]["items"]["enum"])


# From the case format, not restated: conformance.modes (the registry, which imports this
# module) declares the modes, and tests/test_modes.py holds the format's enum to it.
MODES: Final[tuple[str, ...]] = _case_modes()
OutcomeKind = Literal["success", "api-error", "transport-failure"]

#: The one method whose retry can duplicate what the portal did (CONTRACT.md 4).
ADD_METHOD: Final = "crm.activity.badge.add"

JSON_HEADERS: Final[Mapping[str, str]] = {"Content-Type": "application/json; charset=utf-8"}
HTML_HEADERS: Final[Mapping[str, str]] = {"Content-Type": "text/html; charset=utf-8"}


class CaseFormatError(ValueError):
    """A case file breaks schemas/case.json or a rule the schema cannot state."""


class _Missing:
    """No body (or result) given: one object, also after pickling (``catalogue_handoff``)."""

    def __reduce__(self) -> str:
        return "_MISSING"

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


@dataclass(frozen=True)
class ScriptedResponse:
    """One answer of the portal, as a case scripts it."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = _MISSING
    raw: str | None = None
    fault: str | None = None

    @property
    def has_body(self) -> bool:
        return self.body is not _MISSING

    def render(self, now: float | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and the exact bytes a portal would send (JSON written the PHP way)."""
        if self.fault is not None or self.status is None:
            raise ValueError("a transport fault has no HTTP rendering")
        if self.has_body:
            default = JSON_HEADERS
            payload = php_json(_resolve_now(self.body, time.time() if now is None else now))
        else:
            default = HTML_HEADERS if (self.raw or "").lstrip().startswith("<") else {}
            payload = self.raw or ""
        headers = {**default, **self.headers}
        return self.status, headers, payload.encode("utf-8")

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.fault is not None:
            return {"fault": self.fault}
        data["status"] = self.status
        if self.headers:
            data["headers"] = dict(self.headers)
        if self.has_body:
            data["body"] = self.body
        else:
            data["raw"] = self.raw
        return data


def _resolve_now(value: Any, now: float) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$now"}:
            return math.ceil(now + float(value["$now"]))
        return {k: _resolve_now(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_now(v, now) for v in value]
    return value


def uses_now(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"$now"} or any(uses_now(v) for v in value.values())
    if isinstance(value, list):
        return any(uses_now(v) for v in value)
    return False


@dataclass(frozen=True)
class Expectation:
    """The client outcome a step must produce."""

    outcome: OutcomeKind
    result: Any = _MISSING
    total: int | None = None
    code: str | int | None = None
    status: int | None = None
    kind: str | None = None
    time: Any = None
    #: the envelope has no total, and the client must report none (``total: null`` in a case)
    no_total: bool = False
    #: the error_description the caller gets, unchanged; None: not judged
    description: str | None = None
    #: an API error with whatever code (``code: null`` in a case): the answer named none
    any_code: bool = False

    @property
    def has_result(self) -> bool:
        return self.result is not _MISSING

    def describe(self) -> str:
        if self.outcome == "success":
            shown = f"result={clip(php_json(self.result), 80)}" if self.has_result else ""
            total = f", total={self.total}" if self.total is not None else ""
            total = ", no total" if self.no_total else total
            return f"Success({shown}{total})"
        if self.outcome == "api-error":
            status = f", status={self.status}" if self.status is not None else ""
            described = f", description={self.description!r}" if self.description else ""
            return f"ApiError(code={self.code!r}{status}{described})"
        kind = f"kind={self.kind!r}" if self.kind else "any kind"
        status = f", status={self.status}" if self.status is not None else ""
        return f"TransportFailure({kind}{status})"


def expectation_from(response: ScriptedResponse) -> Expectation:
    """What a correct client reports for a portal answer."""
    if response.fault is not None:
        kind = "timeout" if response.fault == "timeout" else "connection"
        return Expectation("transport-failure", kind=kind)
    if not response.has_body:
        kind = "empty-body" if not (response.raw or "").strip() else "non-json"
        return Expectation("transport-failure", kind=kind, status=response.status)
    body = response.body
    # An `error` of false, a list or null is no error envelope, and no success either: it
    # falls through to bad-envelope (CONTRACT.md 4.1).
    if isinstance(body, dict) and "error" in body and is_error_code(body["error"]):
        error = body["error"]
        code = error.get("code") if isinstance(error, dict) else error
        return Expectation("api-error", code=code, status=response.status)
    if isinstance(body, dict) and "result" in body and "error" not in body:
        total = body.get("total") if isinstance(body.get("total"), int) else None
        timing = body.get("time") if isinstance(body.get("time"), dict) else None
        return Expectation("success", result=body["result"], total=total, time=timing)
    return Expectation("transport-failure", kind="bad-envelope", status=response.status)


@dataclass(frozen=True)
class RequestCount:
    minimum: int
    maximum: int

    def allows(self, count: int) -> bool:
        return self.minimum <= count <= self.maximum

    def describe(self) -> str:
        if self.minimum == self.maximum:
            return f"exactly {self.minimum}"
        return f"between {self.minimum} and {self.maximum}"


@dataclass(frozen=True)
class Timing:
    min_gap: float = 0.0
    growing_gaps: bool = False
    not_before_reset: bool = False
    #: seconds of waiting the contract allows on top of the deadline (engine.announced_wait)
    may_wait: float = 0.0


#: Transport failures of the "no envelope" family (CONTRACT.md 4.1): any of them is safe for a
#: body that is not an envelope; naming the right one is better.
NO_ENVELOPE_KINDS: Final = ("non-json", "empty-body", "bad-envelope")


@dataclass(frozen=True)
class Alternative:
    """A behaviour the contract also allows for a step: another expect, count or timing.

    A client that takes it is not failed at must; the case counts as a shortfall at ``level``.
    Declaring capability ``unless`` makes it a broken promise instead (a must failure).
    """

    level: str
    because: str
    expect: Expectation | None = None
    requests: RequestCount | None = None
    timing: Timing | None = None
    unless: str | None = None


@dataclass(frozen=True)
class Step:
    """One client call: what it is asked, what the portal answers, what must come out."""

    method: str
    params: Mapping[str, Any]
    responses: tuple[ScriptedResponse, ...]
    expect: Expectation
    requests: RequestCount
    timing: Timing
    stateful: bool = False
    #: other behaviours the contract allows, best first (CONTRACT.md 4.1)
    accept: tuple[Alternative, ...] = ()
    #: answers to requests for another method during the step (a client checking what an
    #: unanswered add did), by method; never used up
    reads: Mapping[str, ScriptedResponse] = field(default_factory=dict)

    @property
    def outcome_unknown(self) -> bool:
        """Whether an add of this step may have been done without the client hearing of it:
        a scripted answer drops the connection or never comes (CONTRACT.md 4.1)."""
        return self.method == ADD_METHOD and any(r.fault for r in self.responses)

    def taking(self, alternative: Alternative) -> Step:
        """This step judged as if ``alternative`` were what it asks for."""
        return dataclasses.replace(
            self,
            expect=alternative.expect or self.expect,
            requests=alternative.requests or self.requests,
            timing=alternative.timing or Timing(),
            accept=(),
        )


def family_alternatives(expect: Expectation) -> tuple[Alternative, ...]:
    """The other kinds of the no-envelope family, acceptable for a transport failure that
    expects one of them: telling an empty body from other non-JSON is a should, the rest a may."""
    if expect.outcome != "transport-failure" or expect.kind not in NO_ENVELOPE_KINDS:
        return ()
    alternatives = []
    for kind in NO_ENVELOPE_KINDS:
        if kind == expect.kind:
            continue
        level = "should" if {kind, expect.kind} == {"empty-body", "non-json"} else "may"
        alternatives.append(
            Alternative(
                level,
                f"reported the body as {kind!r}, of the no-envelope family, not {expect.kind!r}",
                expect=dataclasses.replace(expect, kind=kind),
            )
        )
    return tuple(alternatives)


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    level: str
    source: str
    contract: tuple[str, ...]
    #: numbers of the conformance checks in CONTRACT.md the case covers (not check ids)
    contract_checks: tuple[int, ...]
    needs: frozenset[str]
    modes: tuple[str, ...]
    auth: str
    steps: tuple[Step, ...]
    file: str
    stateful: bool = False
    #: why the answers break the wire schema on purpose ("" when they follow it)
    off_schema: str = ""

    @property
    def uses_clock(self) -> bool:
        return any(uses_now(r.body) for s in self.steps for r in s.responses if r.has_body)


def _response(raw: Mapping[str, Any]) -> ScriptedResponse:
    return ScriptedResponse(
        status=raw.get("status"),
        headers=dict(raw.get("headers", {})),
        body=raw.get("body", _MISSING) if "body" in raw else _MISSING,
        raw=raw.get("raw"),
        fault=raw.get("fault"),
    )


def _expectation(raw: Mapping[str, Any]) -> Expectation:
    return Expectation(
        outcome=raw["outcome"],
        result=raw.get("result", _MISSING) if "result" in raw else _MISSING,
        total=raw.get("total"),
        no_total="total" in raw and raw["total"] is None,
        description=raw.get("description"),
        code=raw.get("code"),
        any_code="code" in raw and raw["code"] is None,
        status=raw.get("status"),
        kind=raw.get("kind"),
    )


def _step(raw: Mapping[str, Any], file: str, case_id: str, *, stateful: bool) -> Step:
    if stateful:
        responses: tuple[ScriptedResponse, ...] = ()
    elif "responses" in raw or "response" in raw:
        responses = tuple(_response(r) for r in raw.get("responses", [raw.get("response")]))
    else:
        raise CaseFormatError(
            f"{file}: case {case_id}: a step without stateful: true needs a response"
        )
    planned = len(responses) or 1  # a stateful step is one request unless it says otherwise
    count = _count(raw.get("requests", {}), planned)
    expect = _expectation(raw["expect"]) if "expect" in raw else expectation_from(responses[-1])
    written = tuple(_alternative(a, expect) for a in raw.get("accept", ()))
    return Step(
        method=raw["request"]["method"],
        params=raw["request"]["params"],
        responses=responses,
        expect=expect,
        stateful=stateful,
        requests=count,
        timing=_timing(raw.get("timing", {})),
        accept=written + family_alternatives(expect),
        reads={method: _response(r) for method, r in raw.get("reads", {}).items()},
    )


def _count(count: Mapping[str, Any], planned: int) -> RequestCount:
    exactly = count.get("exactly")
    minimum = exactly or count.get("min", planned if "max" not in count else 1)
    maximum = exactly or count.get("max", max(minimum, planned))
    return RequestCount(minimum, maximum)


def _timing(timing: Mapping[str, Any]) -> Timing:
    return Timing(
        min_gap=float(timing.get("min_gap", 0.0)),
        growing_gaps=bool(timing.get("growing_gaps", False)),
        not_before_reset=bool(timing.get("not_before_reset", False)),
        may_wait=float(timing.get("may_wait", 0.0)),
    )


def _alternative(raw: Mapping[str, Any], expect: Expectation) -> Alternative:
    return Alternative(
        level=raw["level"],
        because=raw["because"],
        expect=_expectation(raw["expect"]) if "expect" in raw else None,
        requests=_count(raw["requests"], 1) if "requests" in raw else None,
        timing=_timing(raw["timing"]) if "timing" in raw else None,
        unless=raw.get("unless"),
    )


def _case(raw: Mapping[str, Any], file: str) -> Case:
    steps = raw.get("steps") or [raw]
    if "accept" in raw and "steps" in raw:
        raise CaseFormatError(f"{file}: case {raw['id']}: put accept on the step it applies to")
    modes = tuple(raw.get("modes", MODES))
    stateful = bool(raw.get("stateful", False))
    case = Case(
        id=raw["id"],
        description=raw["description"],
        level=raw["level"],
        source=raw["source"],
        contract=tuple(raw["contract"]),
        contract_checks=tuple(raw.get("checks", ())),
        needs=frozenset(raw.get("needs", ())),
        modes=modes,
        auth=raw.get("auth", "webhook"),
        steps=tuple(_step(s, file, raw["id"], stateful=stateful) for s in steps),
        file=file,
        stateful=stateful,
        off_schema=raw.get("off_schema", ""),
    )
    if "replay" in case.modes and (
        case.uses_clock or any(r.fault or s.reads for s in case.steps for r in s.responses)
    ):
        raise CaseFormatError(
            f"{file}: case {case.id} uses $now, a transport fault or reads, which a cassette "
            "cannot replay: list its modes without replay"
        )
    return case


def load_case_file(path: Any) -> list[Case]:
    document = _data.read_yaml(path)
    validator = schemas.validator(schemas.uri("case.json"))
    problems = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    if problems:
        first = problems[0]
        raise CaseFormatError(f"{path.name}: {first.json_path}: {first.message}")
    return [_case(raw, path.name) for raw in document["cases"]]


def all_cases() -> tuple[Case, ...]:
    """Every case of the catalogue, in file order; ids are unique."""
    if _CATALOGUE:
        return _CATALOGUE[0]
    _CATALOGUE.append(_read_catalogue())
    return _CATALOGUE[0]


#: The catalogue once read (or adopted): the only element, when there is one.
_CATALOGUE: list[tuple[Case, ...]] = []


def catalogue_handoff() -> str:
    """The catalogue as read in this process, as text for ``adopt_catalogue`` in another
    (a pytest-xdist worker): unpickling it costs a hundredth of reading and validating."""
    return base64.b64encode(pickle.dumps(all_cases())).decode("ascii")


def adopt_catalogue(handoff: str) -> None:
    """Take the catalogue ``catalogue_handoff`` made in the controller of this run."""
    _CATALOGUE[:] = [pickle.loads(base64.b64decode(handoff))]  # noqa: S301 - our own process


def _read_catalogue() -> tuple[Case, ...]:
    cases: list[Case] = []
    for path in sorted(_data.cases_dir().glob("*.yaml")):
        cases.extend(load_case_file(path))
    seen: dict[str, str] = {}
    for case in cases:
        if case.id in seen:
            raise CaseFormatError(f"case id {case.id} is in {seen[case.id]} and {case.file}")
        seen[case.id] = case.file
    return tuple(cases)


def case_by_id(case_id: str) -> Case:
    for case in all_cases():
        if case.id == case_id:
            return case
    raise KeyError(case_id)
