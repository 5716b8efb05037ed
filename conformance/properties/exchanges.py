"""The scripted examples: generated calls with the portal's answers, and the transport each
mode serves one example through."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import reject
from hypothesis import strategies as st

from conformance import error_catalogue, schemas
from conformance import strategies as gen
from conformance.case import Case, ScriptedResponse
from conformance.modes import MODES, TransportOptions, make_transport
from conformance.results import clip
from conformance.transports import (
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    ReplayTransport,
    Transport,
    memory_cassette,
)
from conformance.wire import php_json

__all__ = [
    "GARBAGE_CONTENT_TYPES",
    "GARBAGE_STATUSES",
    "SAMPLE_TIME",
    "ExampleTransport",
    "Exchange",
    "clip",
    "error_exchanges",
    "example_modes",
    "example_transport",
    "fidelity_exchanges",
    "garbage_exchanges",
    "success_exchanges",
]


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
        return f"{call}; the portal answers HTTP {answer.status}{typed} {clip(shown, 400)}"


# ---------------------------------------------------------------------------------------------
# Transports, built per example

ExampleTransport = Callable[[Case], AbstractContextManager[Transport]]


@contextmanager
def _replay_example(case: Case) -> Iterator[Transport]:
    from conformance.cassettes import memory_document

    # vcrpy swaps the secret placeholders for the run's values everywhere in a cassette, so a
    # generated body that spells one out cannot replay unchanged: replay cannot express it.
    answers = [php_json(r.body) if r.has_body else r.raw or "" for r in case.steps[0].responses]
    if any(p in answer for p in (SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER) for answer in answers):
        reject()
    with memory_cassette(memory_document(case)) as name:
        yield ReplayTransport(cassette=name)


def example_modes() -> tuple[str, ...]:
    """The modes scripted properties run in: every mode of the registry that serves cases."""
    return tuple(name for name, entry in MODES.items() if entry.catalogue)


def example_transport(mode: str, *, tls: bool = False) -> ExampleTransport:
    """A maker of a fresh transport of ``mode`` for one generated case: the registry's own
    transport, but for replay, which plays each example from a cassette held in memory."""
    if mode == "replay":
        return _replay_example

    @contextmanager
    def fresh(case: Case) -> Iterator[Transport]:
        yield make_transport(mode, TransportOptions(tls=tls))

    return fresh


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
        for entry in error_catalogue.error_catalogue()
        if error_catalogue.code_key(entry.code) == error_catalogue.code_key(code)
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
