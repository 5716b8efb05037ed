"""The harness protocol (`--client cmd:...`) against scripted harnesses: no network at all."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import shlex
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conformance import CAPABILITIES, TRANSPORT_FAILURE_KINDS, _data, harness, schemas
from conformance.api import ApiError, Outcome, Success, Target, TransportFailure
from conformance.case import case_by_id
from conformance.clients import ClientSpecError, load_factory
from conformance.config import RunConfig
from conformance.engine import run_case
from conformance.errors import AdapterBroken
from conformance.harness import (
    HarnessCrash,
    HarnessFactory,
    HarnessPool,
    HarnessProtocolError,
    load_harness_factory,
)
from conformance.session import RunSession
from conformance.transports import OFFLINE_HOST, StubTransport
from tests.fixtures.common import ROOT
from tests.fixtures.harnesses import SCRIPTED, scripted

SECRET = "c4n4ry-5ecret-01"
TOKEN = "tok-c4n4ry-0001"
GET = "crm.activity.badge.get"
TIME = {
    "start": 1774257804,
    "finish": 1774257804.1,
    "duration": 0.1,
    "processing": 0,
    "date_start": "2026-03-23T12:23:24+03:00",
    "date_finish": "2026-03-23T12:23:24+03:00",
}


def make_target(secret: str = SECRET) -> Target:
    return Target(
        base_url=f"https://{OFFLINE_HOST}/rest/1/{secret}/",
        portal_url=f"https://{OFFLINE_HOST}/",
        user_id=1,
        secret=secret,
        timeout=2.0,
    )


@pytest.fixture
def pool() -> Iterator[HarnessPool]:
    """A private pool, closed (every harness stopped and reaped) after the test."""
    private = HarnessPool()
    yield private
    private.close()


@pytest.fixture
def default_pool() -> Iterator[HarnessPool]:
    """The pool `cmd:` specs use, emptied after the test."""
    yield harness.POOL
    harness.POOL.close()


def factory(pool: HarnessPool, breakage: str | None = None, **options: Any) -> HarnessFactory:
    return load_harness_factory(scripted(breakage), pool=pool, **options)


def _gone(pid: int) -> bool:
    """No process and no zombie with this pid (a zombie still accepts signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# -- a well-behaved harness ----------------------------------------------------------------

OUTCOMES: list[tuple[dict[str, Any], Outcome]] = [
    (
        {"outcome": "success", "result": {"badges": []}, "time": TIME, "total": 0},
        Success({"badges": []}, TIME, 0),
    ),
    (
        {"outcome": "success", "result": True, "time": None, "total": None},
        Success(True, None, None),
    ),
    (
        {"outcome": "api-error", "code": 100, "description": "Could not find value", "status": 400},
        ApiError(100, "Could not find value", 400),
    ),
    (
        {"outcome": "api-error", "code": "", "description": None, "status": None},
        ApiError("", None, None),
    ),
    (
        {"outcome": "transport-failure", "kind": "non-json", "detail": "HTML", "status": 502},
        TransportFailure("non-json", "HTML", 502),
    ),
]


@pytest.mark.parametrize("validate", [False, True], ids=["lenient", "validating"])
def test_outcomes_map_to_the_public_types(pool: HarnessPool, validate: bool) -> None:
    adapter = factory(pool, validate_protocol=validate)(make_target())
    assert (adapter.name, adapter.version, adapter.language) == ("scripted", "1.0", "python")
    assert adapter.capabilities == frozenset({"status", "time", "total"})
    for answer, expected in OUTCOMES:
        outcome = adapter.call(GET, {"answer": answer})
        assert repr(outcome) == repr(expected), "types kept: 100 stays a number, True a boolean"
    assert adapter.call(GET, {"code": "x"}) == ApiError(
        "NOT_FOUND", "Badge not found for code `x`", 400
    )


def test_one_process_serves_every_target(
    pool: HarnessPool, caplog: pytest.LogCaptureFixture
) -> None:
    make = factory(pool)
    caplog.set_level(logging.INFO, logger="conformance.harness.stderr")
    first = make(make_target("first-5ecret-001"))
    first.call(GET, {"log": "using {secret}"})
    second = make(make_target("second-5ecret-02"))
    second.call(GET, {"log": "using {secret}"})
    first.call(GET, {"log": "using {secret}"})  # an older adapter starts the harness again
    assert len(pool.processes()) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "conformance.harness.stderr"]
    assert lines == [
        "harness scripted: using first-5ecret-001",
        "harness scripted: using second-5ecret-02",
        "harness scripted: using first-5ecret-001",
    ]


def test_crash_is_raised_and_the_harness_keeps_serving(pool: HarnessPool) -> None:
    adapter = factory(pool)(make_target())
    with pytest.raises(HarnessCrash, match=r"client 'scripted' raised: TypeError: boom \| at x"):
        adapter.call(GET, {"crash": "TypeError: boom\n  at x"})
    assert isinstance(adapter.call(GET, {"code": "x"}), ApiError)
    assert len(pool.processes()) == 1


def test_crash_on_start_is_raised_from_the_factory(pool: HarnessPool) -> None:
    with pytest.raises(HarnessCrash, match=r"building the client raised: ValueError: bad base_url"):
        factory(pool, "start-crashes")(make_target())


# -- protocol breakages ----------------------------------------------------------------------

BREAKAGES = [
    ("start-not-json", "a line that is not JSON", "'started, secret=***'"),
    ("start-wrong-type", "type 'ready', expected 'started'", '"secret": "***"'),
    ("start-other-protocol", "protocol 2: this suite speaks protocol 1", '"name": "***"'),
    ("start-unknown-capability", "unknown capabilities ['telepathy']", '"name": "***"'),
    ("start-without-name", "without a `name` string", '"version": "***"'),
    ("start-silent", "no answer to `start` within 0.5s", ""),
    ("start-exits", "before answering `start` (exit code 3)", "'fatal: cannot use secret ***'"),
    ("call-not-json", "`call` seq 1 with a line that is not JSON", "'oops ***'"),
    ("call-not-utf8", "a line that is not UTF-8", "***"),
    ("call-not-an-object", "JSON that is not an object", '["outcome", "***"]'),
    ("call-wrong-type", "type 'started', expected 'outcome' or 'crash'", '"name": "***"'),
    ("call-wrong-seq", "seq 8, expected 1", '"note": "***"'),
    ("call-without-seq", "seq None, expected 1", '"note": "***"'),
    ("call-without-result", "a `success` outcome without `result`", '"note": "***"'),
    ("call-unknown-outcome", "outcome 'maybe'", '"note": "***"'),
    ("call-code-is-a-list", "`code` is not a string, integer or null", '"code": ["***"]'),
    ("call-status-is-text", "`status` is not an integer or null", '"detail": "***"'),
    ("call-exits", "before answering `call` seq 1 (exit code 1)", "'panic while calling with ***'"),
]


@pytest.mark.parametrize(("breakage", "reason", "quoted"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_a_protocol_breakage_quotes_the_line_with_secrets_redacted(
    pool: HarnessPool, breakage: str, reason: str, quoted: str
) -> None:
    # Only the silent harness gets a short bound: a slow machine may take a while to start Python.
    make = factory(pool, breakage, start_timeout=0.5 if breakage == "start-silent" else 10.0)
    with pytest.raises(HarnessProtocolError) as caught:
        make(make_target()).call(GET, {"code": "x"})
    message = str(caught.value)
    assert f"scripted.py {breakage} broke the protocol: " in message
    assert reason in message
    assert quoted in message
    assert SECRET not in message
    assert "\n" not in message, "the engine shows only the last line"
    broken = pool.get(scripted(breakage))
    assert broken is not None
    assert not broken.usable, "a harness that broke the protocol is never asked again"


def test_an_extra_answer_is_caught_on_the_next_call(pool: HarnessPool) -> None:
    adapter = factory(pool, "call-answers-twice")(make_target())
    assert isinstance(adapter.call(GET, {"code": "x"}), ApiError)
    with pytest.raises(HarnessProtocolError, match="seq 1, expected 2"):
        adapter.call(GET, {"code": "x"})


def test_a_broken_harness_is_replaced_by_a_fresh_process(pool: HarnessPool) -> None:
    make = factory(pool, "call-answers-twice")
    adapter = make(make_target())
    adapter.call(GET, {})
    with pytest.raises(HarnessProtocolError):
        adapter.call(GET, {})
    broken = pool.get(make.command)
    assert isinstance(make(make_target()).call(GET, {}), ApiError)
    fresh = pool.get(make.command)
    assert fresh is not None
    assert broken is not None
    assert fresh.pid != broken.pid
    assert pool.processes() == [broken, fresh]


# -- lenient and validating ------------------------------------------------------------------


def test_validation_catches_what_the_lenient_mode_lets_through(pool: HarnessPool) -> None:
    lenient = factory(pool, "call-lenient-only")(make_target())
    assert lenient.call(GET, {}) == TransportFailure("dns", "", None)
    strict = dataclasses.replace(lenient.factory, validate_protocol=True)(make_target())
    with pytest.raises(HarnessProtocolError) as caught:
        strict.call(GET, {})
    assert "does not match schemas/harness/outcome.json at $" in str(caught.value)
    assert "(and 2 more)" in str(caught.value)


def test_validating_turns_validation_on_for_harness_factories_only(pool: HarnessPool) -> None:
    assert harness.validating(factory(pool)).validate_protocol
    with pytest.raises(ValueError, match=r"--validate-protocol .* needs --client 'cmd:<command"):
        harness.validating(load_factory("reference"))


def test_validation_checks_the_suites_own_messages(pool: HarnessPool) -> None:
    target = dataclasses.replace(make_target(), timeout=0)
    with pytest.raises(
        HarnessProtocolError, match=r"the suite's own `start` message does not match"
    ):
        factory(pool, validate_protocol=True)(target)


# -- through the engine ------------------------------------------------------------------------


def _run(case_id: str, make: HarnessFactory, **options: Any) -> Any:
    return run_case(
        case_by_id(case_id),
        make,
        "stub",
        StubTransport(),
        canaries=(SECRET, TOKEN),
        **options,
    )


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            "call-not-json",
            "an exception escaped the adapter: conformance.harness.HarnessProtocolError: "
            "harness * broke the protocol: answered `call` seq 1 with a line that is not JSON",
        ),
        (
            "call-crashes",
            "an exception escaped the adapter: conformance.harness.HarnessCrash: "
            "harness * reports that client 'scripted' raised: Traceback... | KeyError: 'badge'",
        ),
        (
            "start-wrong-type",
            "the adapter factory raised HarnessProtocolError: "
            "harness * broke the protocol: answered `start` with a message of type 'ready'",
        ),
    ],
)
def test_a_broken_harness_makes_the_case_errored_not_failed(
    pool: HarnessPool, breakage: str, message: str
) -> None:
    result = _run("get.not-found", factory(pool, breakage))
    assert result.outcome == "errored"
    label = pool.processes()[0].label
    assert result.message.startswith(message.replace("*", label)), result.message
    assert SECRET not in result.message


def test_a_working_harness_is_judged_on_its_outcomes(pool: HarnessPool) -> None:
    result = _run("get.not-found", factory(pool))
    # The stub transport cannot see another process's HTTP: only the request checks object.
    assert result.outcome == "failed"
    assert {f.check for f in result.failures} == {"requests.count"}


def test_a_secret_on_the_harness_stderr_fails_the_case(pool: HarnessPool) -> None:
    result = _run("get.not-found", factory(pool, "call-logs-the-secret"))
    assert "behaviour.no-secret" in {f.check for f in result.failures}
    assert "log record of conformance.harness.stderr" in result.message
    assert SECRET not in result.message


def test_a_base64_secret_on_the_harness_stderr_or_in_its_crash_fails_and_is_redacted(
    pool: HarnessPool,
) -> None:
    result = _run("get.not-found", factory(pool, "call-logs-the-secret-in-base64"))
    assert result.outcome == "errored", result.message
    assert "behaviour.no-secret" in {f.check for f in result.failures}
    assert "log record of conformance.harness.stderr" in result.message
    assert "exception text of step 1" in result.message
    encoded = base64.b64encode(f"hook:{SECRET}".encode()).decode()
    assert encoded[8:24] not in result.message, result.message


def test_a_secret_only_in_a_field_the_suite_ignores_fails_the_case(pool: HarnessPool) -> None:
    result = _run("get.not-found", factory(pool, "call-leaks-in-an-extra-field"))
    assert "behaviour.no-secret" in {f.check for f in result.failures}, result.message
    assert "`outcome` message answering `call` seq 1, field debug" in result.message
    assert SECRET not in result.message


def test_a_harness_that_masks_the_secret_is_warned_once(pool: HarnessPool) -> None:
    harness.WARNINGS.clear()
    for _ in range(2):
        result = _run("transport.html-502", factory(pool, "call-masks-the-secret"))
        assert "behaviour.no-secret" not in {f.check for f in result.failures}
    label = pool.processes()[0].label
    assert len(harness.WARNINGS) == 1, harness.WARNINGS
    warning = harness.WARNINGS[0]
    assert warning.startswith(
        f"harness {label} sent the client's text masked (`outcome` message answering `call` "
        "seq 1, field detail: '... 502 for https://portal/rest/1/***/crm.activity.badge."
    ), warning
    assert warning.endswith(harness.adapter.MASKED_ADVICE)
    harness.WARNINGS.clear()


def test_a_hung_call_is_abandoned_and_the_next_case_gets_a_fresh_process(
    pool: HarnessPool,
) -> None:
    case = case_by_id("get.not-found")
    hanging = dataclasses.replace(
        case, steps=(dataclasses.replace(case.steps[0], params={"hang": True}),)
    )
    make = factory(pool, call_timeout=1.0)
    result = run_case(hanging, make, "stub", StubTransport(), deadline=0.3)
    assert result.outcome == "failed", "a hang is the client's fault, not the harness's"
    assert "behaviour.deadline" in {f.check for f in result.failures}
    hung = pool.processes()[0]
    assert not hung.usable
    after = _run("get.not-found", make)
    assert after.outcome == "failed"
    assert {f.check for f in after.failures} == {"requests.count"}, after.message
    fresh = pool.get(make.command)
    assert fresh is not None
    assert fresh.pid != hung.pid


def test_an_abandoned_call_stays_quiet_until_its_bound(pool: HarnessPool) -> None:
    adapter = factory(pool, call_timeout=1.5)(make_target())
    raised: list[BaseException] = []

    def call() -> None:
        try:
            adapter.call(GET, {"hang": True})
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(0.2)
    adapter.close()  # what the engine does after its deadline
    worker.join(0.2)
    assert worker.is_alive(), "an answer now would land in a case already being judged"
    worker.join(5.0)
    assert not worker.is_alive()
    assert isinstance(raised[0], HarnessProtocolError)


# -- processes -------------------------------------------------------------------------------


def test_closing_the_pool_stops_and_reaps_every_harness(pool: HarnessPool) -> None:
    factory(pool)(make_target()).call(GET, {})
    with pytest.raises(HarnessProtocolError):
        factory(pool, "call-not-json")(make_target()).call(GET, {})
    factory(pool, "call-not-json")(make_target())  # replaces the broken one
    processes = pool.processes()
    assert len(processes) == 3
    pool.close()
    well_behaved = next(p for p in processes if p.command == scripted())
    assert well_behaved.returncode == 0, "a harness exits 0 on stop"
    assert all(_gone(p.pid) for p in processes)
    assert pool.processes() == []


def test_a_harness_that_cannot_start_raises_a_clear_error(pool: HarnessPool) -> None:
    make = load_harness_factory(("/nonexistent/harness-xyz",), pool=pool)
    with pytest.raises(
        harness.HarnessError, match="cannot start harness harness-xyz: No such file"
    ):
        make(make_target())


# -- --client cmd:... --------------------------------------------------------------------------


def test_load_factory_accepts_a_command_line(default_pool: HarnessPool) -> None:
    make = load_factory(f"cmd:{shlex.join(scripted())}")
    assert isinstance(make, HarnessFactory)
    assert make.command == (sys.executable, str(SCRIPTED))
    assert make(make_target()).name == "scripted"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cmd:", "the command line is empty"),
        ("cmd:python 'unbalanced", "cannot split the command line"),
        (
            "cmd:no-such-harness-xyz --flag",
            "the harness program 'no-such-harness-xyz' is not on PATH",
        ),
        (
            "cmd:./no/such/harness.sh",
            "the harness program './no/such/harness.sh' is not an executable file",
        ),
    ],
)
def test_a_bad_command_line_is_a_client_spec_error(spec: str, message: str) -> None:
    with pytest.raises(ClientSpecError, match=re.escape(message)):
        load_factory(spec)


def test_the_smoke_call_passes_a_working_harness(default_pool: HarnessPool) -> None:
    session = RunSession(RunConfig(client=f"cmd:{shlex.join(scripted())}"))
    session.prepare()
    assert session.adapter_name == "scripted"
    assert session.capabilities == frozenset({"status", "time", "total"})


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("start-exits", "the adapter factory raised HarnessProtocolError"),
        ("call-not-json", "smoke call of adapter 'scripted': an exception escaped the adapter"),
    ],
)
def test_the_smoke_call_tells_a_broken_harness(
    default_pool: HarnessPool, breakage: str, message: str
) -> None:
    session = RunSession(RunConfig(client=f"cmd:{shlex.join(scripted(breakage))}"))
    with pytest.raises(AdapterBroken, match=re.escape(message)):
        session.prepare()


# -- the schemas and the docs ----------------------------------------------------------------

HARNESS_SCHEMAS = [r for r, _ in _data.iter_schema_files() if r.startswith("harness/")]


def _schema_examples() -> list[tuple[str, int, Any]]:
    """(schema, position, example) for every example a harness schema holds or unites."""
    found = []
    for relative in HARNESS_SCHEMAS:
        # A direction's union schema (`type` one of several) takes its members' examples.
        kinds = _data.read_schema_file(relative)["properties"]["type"].get("enum", ())
        members = [f"harness/{kind}.json" for kind in kinds] or [relative]
        examples = [e for m in members for e in _data.read_schema_file(m).get("examples", [])]
        found += [(relative, position, example) for position, example in enumerate(examples)]
    return found


SCHEMA_EXAMPLES = _schema_examples()


def test_every_harness_schema_has_examples() -> None:
    # Without this guard an empty list would make the parametrized test below vanish.
    assert HARNESS_SCHEMAS, "no schemas under schemas/harness/"
    missing = set(HARNESS_SCHEMAS) - {relative for relative, _, _ in SCHEMA_EXAMPLES}
    assert not missing, f"harness schemas without examples: {sorted(missing)}"


@pytest.mark.parametrize(
    ("relative", "example"),
    [(relative, example) for relative, _, example in SCHEMA_EXAMPLES],
    ids=[f"{relative}-{position}" for relative, position, _ in SCHEMA_EXAMPLES],
)
def test_schema_examples_are_valid(relative: str, example: Any) -> None:
    validator = schemas.validator(schemas.uri(relative))
    validator.validate(example)
    # The validator really looks: the same example under another type is refused.
    assert not validator.is_valid({**example, "type": "bogus"})


def test_schemas_list_the_documented_capabilities_and_kinds() -> None:
    started = schemas.contents_at(schemas.uri("harness/started.json#/properties/capabilities"))
    assert started["items"]["enum"] == list(CAPABILITIES)
    kinds = schemas.contents_at(schemas.uri("harness/outcome.json#/$defs/transport-failure"))
    assert kinds["properties"]["kind"]["enum"] == list(TRANSPORT_FAILURE_KINDS)


def _doc_messages() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "harness-protocol.md").read_text()
    return [json.loads(line) for line in re.findall(r'^(\{"type": ?".*\})$', text, re.MULTILINE)]


def test_every_message_in_the_docs_matches_the_schemas() -> None:
    messages = _doc_messages()
    assert {m["type"] for m in messages} == {"start", "started", "call", "outcome", "crash", "stop"}
    for message in messages:
        direction = "to" if message["type"] in ("start", "call", "stop") else "from"
        schemas.validator(schemas.uri(f"harness/{direction}-harness.json")).validate(message)
