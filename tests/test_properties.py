"""The property layer can fail: each property holds for the reference client and is falsified,
with the minimal example and the replay command, by the miniature it targets; the stateful
machine runs against the fake portal. Every run uses the ``ci`` profile (derandomized)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

from conformance import reference
from conformance import strategies as gen
from conformance.case import ScriptedResponse, case_by_id
from conformance.cassettes import cassette_text
from conformance.engine import run_case
from conformance.modes import OFFLINE_MODES
from conformance.properties import (
    HYPOTHESIS_PROFILES,
    NOT_SHRUNK_EXPECTED,
    PROPERTIES,
    client_spec,
    example_transport,
    held,
    register_profiles,
    run_property,
)
from conformance.properties import runner as properties_runner
from conformance.reference import ReferenceClient
from conformance.testing import MINIATURES
from conformance.transports import (
    MEMORY_CASSETTES,
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    ReplayTransport,
    memory_cassette,
)
from conformance.validation import validate_response

DEADLINE = 3.0
SCRIPTED = [pid for pid, prop in PROPERTIES.items() if "stub" in prop.modes]


@dataclass(frozen=True)
class Row:
    """A property, the miniature that falsifies it, how, and what its minimal example shows."""

    property_id: str
    miniature: str
    outcome: str
    check: str | None  # None where an exception escapes: the run is errored
    evidence: str  # a regex the minimal example matches: the defect is in it


# fmt: off
TABLE = [
    Row("property.request-fidelity", "pastes-params-into-query", "failed", "requests.params", r'": \{|[&#+%?=\[\]/ ]'),
    Row("property.request-fidelity", "form-encodes-maps-as-text", "failed", "requests.params", r'"(title|value)": \{'),
    Row("property.parse-round-trip", "title-only-as-string", "failed", "outcome.payload", r'"title":\{'),
    Row("property.parse-round-trip", "drops-total", "failed", "outcome.payload", r'"total":\d+'),
    Row("property.error-mapping", "loses-error-code", "failed", "outcome.code", r'\{"error":'),
    Row("property.error-mapping", "uppercases-error-code", "failed", "outcome.code", r'\{"error":"[^"]*[a-z]'),
    Row("property.error-mapping", "falsy-error-is-success", "failed", "outcome.kind", r'\{"error":(0|""),'),
    Row("property.error-mapping", "trusts-status-200", "failed", "outcome.kind", r'HTTP 200 \{"error":'),
    Row("property.error-mapping", "ignores-status", "failed", "outcome.status", r'HTTP \d+ \{"error":'),
    Row("property.garbage-resistance", "crashes-on-non-json", "errored", None, r"HTTP \d+ .*'"),
    Row("property.garbage-resistance", "any-json-is-success", "failed", "property.garbage-resistance", r"""HTTP \d+ .*'(null|true|false|-?\d|\[|\{|")"""),
]
# fmt: on


def _minimal_example(message: str) -> str:
    found = re.search(r"^  minimal example: (.*)$", message, re.MULTILINE)
    assert found, message
    return found.group(1)


@pytest.mark.parametrize("mode", OFFLINE_MODES)
@pytest.mark.parametrize("property_id", SCRIPTED)
def test_property_holds_for_the_reference(property_id: str, mode: str) -> None:
    result = run_property(property_id, reference.factory, mode, deadline=DEADLINE)
    assert result.outcome == "passed", result.message
    assert (result.case_id, result.mode) == (property_id, mode)
    examples = HYPOTHESIS_PROFILES["ci"].max_examples
    assert result.message.startswith(f"passed {examples} generated examples (seed ")
    assert result.requests >= examples


@pytest.mark.parametrize("mode", OFFLINE_MODES)
@pytest.mark.parametrize("row", TABLE, ids=lambda row: f"{row.property_id}-{row.miniature}")
def test_property_is_falsified_by_its_miniature(row: Row, mode: str) -> None:
    result = run_property(row.property_id, MINIATURES[row.miniature], mode, deadline=DEADLINE)
    assert result.outcome == row.outcome, result.message
    if row.check is not None:
        assert row.check in {f.check for f in result.failures}, result.message
    assert result.message.startswith(f"[{row.property_id}] falsified: ")
    assert re.search(row.evidence, _minimal_example(result.message)), result.message
    seed = re.search(r"seed (\d+)", result.message)
    assert seed, result.message
    command = (
        f"b24-conformance run --client miniature:{row.miniature} --mode {mode} "
        f"--case {row.property_id} --seed {seed.group(1)}"
    )
    assert command in result.message
    assert command in result.reproduction


def test_every_scripted_property_has_a_miniature() -> None:
    assert {row.property_id for row in TABLE} == set(SCRIPTED)


def test_every_property_describes_a_fact() -> None:
    for property_id, prop in PROPERTIES.items():
        assert property_id == prop.id
        assert property_id.startswith("property.")
        assert "should" not in prop.description
        assert prop.description == prop.description.strip()


def test_the_same_seed_finds_the_same_minimal_example() -> None:
    factory = MINIATURES["uppercases-error-code"]
    first = run_property("property.error-mapping", factory, "stub", seed=7, deadline=DEADLINE)
    second = run_property("property.error-mapping", factory, "stub", seed=7, deadline=DEADLINE)
    assert first.outcome == second.outcome == "failed"
    assert _minimal_example(first.message) == _minimal_example(second.message)
    assert "--seed 7" in first.message


@pytest.mark.parametrize(
    "property_id", ["property.parse-round-trip", "property.garbage-resistance"]
)
def test_every_mode_draws_the_same_examples_while_every_one_holds(
    property_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What replaying a property's examples in the run's next mode rests on: while every
    example holds, the seed alone decides what hypothesis draws, whatever the transport."""
    drawn = {}
    for mode in OFFLINE_MODES:
        monkeypatch.setattr(held, "HELD", {})
        result = run_property(property_id, reference.factory, mode, deadline=DEADLINE)
        assert result.outcome == "passed", result.message
        (drawn[mode],) = held.HELD.values()
    stub = drawn["stub"]
    assert len(stub) == HYPOTHESIS_PROFILES["ci"].max_examples
    assert all(drawn[mode] == stub for mode in OFFLINE_MODES), {
        mode: [e.describe() for e in examples][:3] for mode, examples in drawn.items()
    }


def test_a_later_mode_replays_the_examples_that_held_without_drawing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(held, "HELD", {})
    first = run_property("property.error-mapping", reference.factory, "stub", deadline=DEADLINE)
    searches = []
    search = properties_runner._search
    monkeypatch.setattr(
        properties_runner, "_search", lambda *args: searches.append(args) or search(*args)
    )
    again = run_property("property.error-mapping", reference.factory, "portal", deadline=DEADLINE)
    assert searches == []
    assert (again.outcome, again.message) == (first.outcome, first.message)
    assert again.requests == first.requests


@pytest.mark.parametrize("mode", ["stub", "replay"])
def test_a_kept_example_that_fails_is_found_by_the_search_as_without_keeping(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = MINIATURES["uppercases-error-code"]
    monkeypatch.setattr(held, "HELD", {})
    fresh = run_property("property.error-mapping", factory, mode, deadline=DEADLINE)
    run_property("property.error-mapping", reference.factory, "stub", deadline=DEADLINE)
    assert len(held.HELD) == 1
    after_replay = run_property("property.error-mapping", factory, mode, deadline=DEADLINE)
    assert fresh.outcome == after_replay.outcome == "failed"
    assert after_replay.message == fresh.message
    assert after_replay.failures == fresh.failures
    assert after_replay.requests == fresh.requests


def test_the_dev_profile_draws_a_seed_and_shows_it() -> None:
    result = run_property(
        "property.error-mapping", MINIATURES["loses-error-code"], "stub", profile="dev"
    )
    assert result.outcome == "failed"
    assert re.search(r"--seed \d+", result.message)
    assert "hypothesis profile dev" in result.message


def test_the_rerun_command_names_the_client_given() -> None:
    result = run_property(
        "property.error-mapping",
        MINIATURES["loses-error-code"],
        "stub",
        seed=3,
        client="my_adapter:factory",
    )
    assert "--client my_adapter:factory --mode stub --case property.error-mapping --seed 3" in (
        result.message
    )


def test_client_specs_are_derived_from_the_factory() -> None:
    assert client_spec(reference.factory) == "reference"
    assert client_spec(MINIATURES["drops-total"]) == "miniature:drops-total"
    assert client_spec(_SleepsOnPages) == f"{__name__}:_SleepsOnPages"


class _SleepsOnPages(ReferenceClient):
    """Sleeps over an HTML page, as a client stuck in a retry loop would."""

    name = "sleeps-on-pages"

    def _outcome(self, response: requests.Response) -> Any:
        if response.content.lstrip().startswith(b"<"):
            time.sleep(1.0)
        return super()._outcome(response)


def test_a_hang_is_a_failure_found_without_shrinking() -> None:
    started = time.monotonic()
    result = run_property("property.garbage-resistance", _SleepsOnPages, "stub", deadline=0.3)
    assert result.outcome == "failed", result.message
    assert "behaviour.deadline" in {f.check for f in result.failures}
    assert "not shrunk: the client hung" in result.message
    assert time.monotonic() - started < 10


def _raises(target: Any) -> Any:
    raise RuntimeError("no client here")


def test_a_factory_that_raises_makes_the_run_errored() -> None:
    result = run_property("property.error-mapping", _raises, "stub")
    assert result.outcome == "errored"
    assert "the adapter factory raised RuntimeError: no client here" in result.message


def test_a_mode_that_cannot_express_a_property_skips_it_with_the_reason() -> None:
    result = run_property("property.badge-registry", reference.factory, "stub")
    assert result.outcome == "skipped"
    assert result.message == "stub mode cannot express this property (it runs in portal)"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"property_id": "property.nope"}, "unknown property 'property.nope': expected one of"),
        ({"profile": "fast"}, "unknown hypothesis profile 'fast': expected one of dev, ci, live"),
        ({"mode": "tape"}, "unknown mode 'tape': expected one of stub, replay, portal"),
    ],
)
def test_usage_errors_name_the_value_and_what_is_allowed(
    arguments: dict[str, Any], problem: str
) -> None:
    call: dict[str, Any] = {
        "property_id": "property.error-mapping",
        "factory": reference.factory,
        "mode": "stub",
    }
    with pytest.raises(ValueError, match=re.escape(problem)):
        run_property(**{**call, **arguments})


def test_the_profiles_are_registered_with_hypothesis() -> None:
    register_profiles()
    assert settings.get_profile("ci").derandomize
    assert settings.get_profile("ci").deadline is None
    assert settings.get_profile("ci").print_blob
    live = settings.get_profile("live")
    assert Phase.shrink not in live.phases
    assert live.deadline is None
    assert live.max_examples < settings.get_profile("dev").max_examples


# --- the in-memory cassettes behind replay mode ------------------------------------------------


def test_a_cassette_held_in_memory_replays_like_its_file() -> None:
    case = case_by_id("get.success-language-map")
    with memory_cassette(cassette_text(case)) as name:
        from_memory = run_case(case, reference.factory, "replay", ReplayTransport(cassette=name))
    from_file = run_case(case, reference.factory, "replay", ReplayTransport())
    assert from_memory.outcome == from_file.outcome == "passed", from_memory.message
    assert name not in MEMORY_CASSETTES


def test_a_forgotten_memory_cassette_is_a_transport_error() -> None:
    case = case_by_id("get.success")
    with memory_cassette(cassette_text(case)) as name:
        pass
    result = run_case(case, reference.factory, "replay", ReplayTransport(cassette=name))
    assert result.outcome == "errored"
    assert f"no cassette held in memory as {name}" in result.message


@settings(max_examples=2, deadline=None)
@given(placeholder=st.sampled_from([SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER]))
def test_replay_cannot_express_a_body_that_spells_a_placeholder(placeholder: str) -> None:
    # vcrpy would swap the placeholder for the run's secret: the example is rejected instead.
    case = case_by_id("get.success")
    step = replace(
        case.steps[0],
        responses=(ScriptedResponse(status=200, body={"result": placeholder, "time": {}}),),
    )
    spelled = replace(case, steps=(step,))
    with pytest.raises(UnsatisfiedAssumption), example_transport("replay")(spelled):
        pass
    with example_transport("stub")(spelled) as transport:
        assert transport.name == "stub"


@pytest.mark.parametrize(
    ("name", "outcome"), [("reference", "passed"), ("loses-error-code", "failed")]
)
def test_scripted_properties_run_over_the_fake_portal(name: str, outcome: str) -> None:
    assert "portal" in PROPERTIES["property.error-mapping"].modes
    factory = reference.factory if name == "reference" else MINIATURES[name]
    result = run_property("property.error-mapping", factory, "portal", profile="dev", seed=7)
    assert result.outcome == outcome, result.message
    assert result.requests > 0


# --- the new strategies ------------------------------------------------------------------------

# Finding one example is enough: no shrinking.
_FIND = settings(
    database=None,
    max_examples=2000,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize(
    "shape",
    [
        *gen.HOSTILE_CHARACTERS.strip(),
        "leading space",
        "trailing space",
        "non-BMP",
        "long",
        "mixed case",
    ],
)
def test_badge_codes_reach_every_hostile_shape(shape: str) -> None:
    conditions = {
        "leading space": lambda c: c.startswith(" ") and c.strip(),
        "trailing space": lambda c: c.endswith(" ") and c.strip(),
        "non-BMP": lambda c: any(ord(ch) > 0xFFFF for ch in c),
        "long": lambda c: len(c) >= 100,
        "mixed case": lambda c: c.lower() != c != c.upper(),
    }
    condition = conditions.get(shape, lambda c: shape in c)
    assert condition(find(gen.badge_codes(), condition, settings=_FIND))


@pytest.mark.parametrize(
    "status", [*gen.DOCUMENTED_ERROR_STATUSES, *gen.UNDOCUMENTED_ERROR_STATUSES]
)
def test_error_answers_reach_every_status(status: int) -> None:
    found = find(gen.error_answers(), lambda answer: answer[0] == status, settings=_FIND)
    assert validate_response("crm.activity.badge.get", found[1]).valid


@pytest.mark.parametrize(
    "shape", ["integer code", "empty code", "html description", "non-ASCII description"]
)
def test_error_envelopes_reach_every_shape(shape: str) -> None:
    conditions = {
        "integer code": lambda b: isinstance(b["error"], int),
        "empty code": lambda b: b["error"] == "",
        "html description": lambda b: "<" in b["error_description"],
        "non-ASCII description": lambda b: not b["error_description"].isascii(),
    }
    assert find(gen.error_envelopes(), conditions[shape], settings=_FIND)


def _parsed(text: str) -> Any:
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except ValueError:
        return ValueError


@pytest.mark.parametrize(
    "shape", ["not JSON", "truncated JSON", "a JSON list", "an object without result"]
)
def test_garbage_bodies_reach_every_shape(shape: str) -> None:
    conditions = {
        "not JSON": lambda t: _parsed(t) is ValueError and not t.startswith("{"),
        "truncated JSON": lambda t: _parsed(t) is ValueError and t.startswith('{"'),
        "a JSON list": lambda t: isinstance(_parsed(t), list),
        "an object without result": lambda t: isinstance(_parsed(t), dict),
    }
    assert find(gen.garbage_bodies(), conditions[shape], settings=_FIND)


@settings(deadline=None)
@given(text=gen.garbage_bodies())
def test_garbage_bodies_are_never_success_envelopes(text: str) -> None:
    body = _parsed(text)
    assert not (isinstance(body, dict) and "result" in body and "error" not in body)


@pytest.mark.parametrize("languages", [("en",), ("de", "ru")])
def test_titles_keep_to_the_languages_given(languages: tuple[str, ...]) -> None:
    found = find(
        gen.titles(languages=languages),
        lambda title: isinstance(title, dict) and len(title) == len(languages),
        settings=_FIND,
    )
    assert set(found) == set(languages)


# --- the stateful machine against the fake portal ----------------------------------------------


def test_the_machine_holds_for_the_reference_and_cleans_up() -> None:
    portal_module = pytest.importorskip("conformance.portal")
    with portal_module.FakePortal(bucket=None) as portal:
        result = run_property(
            "property.badge-registry", reference.factory, "portal", target=portal.target()
        )
        assert result.outcome == "passed", result.message
        assert portal.badges == []
        methods = {r.url.rsplit("/", 1)[-1] for r in portal.requests}
    assert {f"crm.activity.badge.{m}.json" for m in ("add", "get", "list", "delete")} <= methods


def test_the_machine_is_falsified_with_its_minimal_steps() -> None:
    portal_module = pytest.importorskip("conformance.portal")
    with portal_module.FakePortal(bucket=None) as portal:
        target = portal.target()
        result = run_property(
            "property.badge-registry",
            MINIATURES["loses-error-code"],
            "portal",
            target=target,
            seed=11,
        )
        assert portal.badges == []
    assert result.outcome == "failed", result.message
    assert "minimal steps (shrunk):" in result.message
    # The shortest way to an error with this client: one get of a code nobody added.
    assert "    state = BadgeRegistry()\n    state.get_unknown(" in result.message
    command = (
        "b24-conformance run --client miniature:loses-error-code --mode portal "
        "--case property.badge-registry --seed 11"
    )
    assert command in result.message
    assert target.secret not in result.message


# Shrinking a machine costs a portal run per attempt: the payload check is shown unshrunk.
def test_the_live_machine_does_not_shrink_and_cleans_up() -> None:
    portal_module = pytest.importorskip("conformance.portal")
    from conformance.machine import run_machine

    with portal_module.FakePortal(bucket=None) as portal:
        result = run_machine(
            MINIATURES["title-only-as-string"],
            portal.target(),
            profile="live",
            pace=0.0,
            seed=5,
        )
        assert portal.badges == []
        codes = {
            json.loads(r.body).get("code", "")
            for r in portal.requests
            if r.url.endswith("crm.activity.badge.add.json")
        }
    assert result.outcome == "failed", result.message
    assert "add of a new code answers the badge as sent" in result.message
    assert "minimal steps (not shrunk: no shrinking phase)" in result.message
    assert codes
    assert all(re.fullmatch(r"b24c-[0-9a-f]{8}-\d+-[A-Za-z][A-Za-z0-9_]*", c) for c in codes)


# A failure the baseline expects costs one falsifying example: the report says it was kept so.
@pytest.mark.parametrize(
    ("property_id", "miniature", "mode"),
    [
        ("property.error-mapping", "loses-error-code", "stub"),
        ("property.badge-registry", "loses-error-code", "portal"),
    ],
)
def test_an_expected_failure_is_not_shrunk(property_id: str, miniature: str, mode: str) -> None:
    portal_module = pytest.importorskip("conformance.portal")
    with portal_module.FakePortal(bucket=None) as portal:
        target = portal.target() if mode == "portal" else None
        kept = run_property(
            property_id, MINIATURES[miniature], mode, target=target, seed=11, shrink=False
        )
    assert kept.outcome == "failed", kept.message
    assert NOT_SHRUNK_EXPECTED in kept.message
    assert "shrunk with the same seed" not in kept.message
    assert "(shrunk)" not in kept.message
