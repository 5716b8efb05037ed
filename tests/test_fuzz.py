"""The suite's own bounded fuzz tests: validate never tracebacks on hostile bodies, the fake
portal answers hostile requests with portal-shaped envelopes, and the redactor removes every
planted form of a secret from every channel.

A few seconds each under the default profiles; ``--hypothesis-profile=fuzz`` for 5,000
examples per test (tests/fixtures/fuzz.py).
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from conformance import schemas
from conformance._capture import captured_output
from conformance.api import Redactor
from conformance.cli import main, render_text
from conformance.portal import FakePortal
from conformance.validation import BodyRejected, validate_response
from tests.fixtures.fuzz import hostile_bodies, hostile_texts, nested
from tests.fixtures.leaky_client import planted_forms
from tests.test_no_secret_anywhere import _hidden_base64

methods = st.sampled_from(schemas.METHODS)


def _printable(text: str) -> bool:
    return all(c == "\n" or c.isprintable() for c in text)


# --- validate ---------------------------------------------------------------------------------


@given(
    methods, hostile_bodies, st.sampled_from(schemas.PROFILES), st.none() | st.integers(100, 599)
)
@example("crm.activity.badge.get", {"error": "E", "error_description": ["\ud800"]}, "wire", None)
@example("crm.activity.badge.get", nested(400), "wire", 400)
def test_validate_response_judges_or_rejects_in_one_way(
    method: str, body: Any, profile: str, status: int | None
) -> None:
    try:
        result = validate_response(method, body, profile=profile, status=status)  # type: ignore[arg-type]
    except BodyRejected as exc:
        rejection = str(exc)
        assert rejection.startswith("body: "), rejection
        return
    json.dumps(result.as_dict(), ensure_ascii=False).encode("utf-8")
    assert _printable(render_text(result, "fuzz"))


@given(methods, hostile_texts, st.sampled_from(["text", "json"]))
@example("crm.activity.badge.get", '{"error":"E","error_description":["\\ud800"]}', "text")
@example("crm.activity.badge.get", "[" * 5000 + "]" * 5000, "json")
def test_validate_never_tracebacks_on_hostile_text(
    method: str, text: str, output_format: str
) -> None:
    data = text.encode("utf-8", "surrogatepass")
    result = CliRunner().invoke(
        main, ["validate", method, "-", "--format", output_format], input=data
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert _printable(result.stdout), result.stdout
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- the fake portal --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portal() -> Iterator[FakePortal]:
    with FakePortal(bucket=None, operating_limit=None) as running:
        yield running


def _ask(
    portal: FakePortal, verb: str, path: str, body: bytes, content_type: str
) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=10)
    try:
        connection.request(verb, path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def _assert_portal_shaped(status: int, content_type: str, body: bytes) -> None:
    assert 200 <= status < 600
    assert status != 500, f"a 500 for a request the portal could refuse: {body[:200]!r}"
    assert "application/json" in content_type, content_type
    envelope = json.loads(body)
    assert isinstance(envelope, dict), envelope
    assert "error" in envelope or "result" in envelope, envelope
    if "error" in envelope:
        assert isinstance(envelope.get("error_description"), str), envelope


bracket_keys = st.lists(st.sampled_from(["a", "0", "", "[", "]", "%5B", "code"]), max_size=20)
form_bodies = st.builds(
    lambda name, keys, value: (name + "".join(f"[{k}]" for k in keys) + "=" + value).encode(),
    st.sampled_from(["code", "fields", "x", ""]),
    bracket_keys,
    st.text(max_size=10).map(lambda v: v.encode("utf-8", "surrogatepass").hex()),
)
json_bodies = st.builds(
    lambda depth, leaf: json.dumps(nested(depth, leaf)).encode(),
    st.integers(1, 60),
    st.text(max_size=10).map(
        lambda v: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    ),
)
raw_bodies = st.binary(max_size=300)


@given(
    verb=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    method=st.sampled_from([*schemas.METHODS, "crm.activity.badge.nope", "batch", "", "..%2f"]),
    suffix=st.sampled_from(["", ".json", ".xml", "/", ".json?x[]=1"]),
    authorised=st.booleans(),
    body=form_bodies | json_bodies | raw_bodies,
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "",
            "multipart/form-data",
        ]
    ),
)
def test_the_portal_answers_hostile_requests_with_envelopes(
    portal: FakePortal,
    verb: str,
    method: str,
    suffix: str,
    authorised: bool,
    body: bytes,
    content_type: str,
) -> None:
    base = portal.webhook_url() if authorised else f"{portal.url}rest/1/wrong-secret/"
    path = "/" + (base + method + suffix).split("/", 3)[3]
    _assert_portal_shaped(*_ask(portal, verb, path, body, content_type))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"code" + b"[a]" * 600 + b"=1", "application/x-www-form-urlencoded"),
        (b"[" * 1100 + b"]" * 1100, "application/json"),
    ],
    ids=["bracket-map-600-deep", "json-1100-deep"],
)
def test_the_portal_refuses_deep_requests_with_an_envelope(
    portal: FakePortal, body: bytes, content_type: str
) -> None:
    path = "/" + (portal.webhook_url() + "crm.activity.badge.get").split("/", 3)[3]
    _assert_portal_shaped(*_ask(portal, "POST", path, body, content_type))


def test_the_portal_keeps_a_bounded_share_of_request_bodies() -> None:
    # 12 bodies of 2 MB against bounds of 1 MiB a body and 4 MB in all: both bounds bite.
    per_body, total = 1 << 20, 4_000_000
    with FakePortal(
        bucket=None, operating_limit=None, log_body_limit=per_body, log_total_limit=total
    ) as fresh:
        path = "/" + (fresh.webhook_url() + "crm.activity.badge.get").split("/", 3)[3]
        for _ in range(12):
            _ask(fresh, "POST", path, b"x" * 2_000_000, "text/plain")
        kept = [len(request.body) for request in fresh.requests]
    assert max(kept) <= per_body, f"a request body kept whole: {max(kept)} bytes"
    assert sum(kept) <= total, f"the portal keeps {sum(kept)} bytes of request bodies"


# --- the redactor -----------------------------------------------------------------------------

secrets_ = st.from_regex(r"[a-z0-9]{16,32}", fullmatch=True) | st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=["Cs"]),
    min_size=8,
    max_size=24,
)
surroundings = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


def _clean(text: str, secret: str) -> bool:
    return not any(form in text for form in planted_forms(secret)) and not _hidden_base64(
        text, secret.encode()
    )


@given(secrets_, surroundings, surroundings)
def test_the_redactor_removes_every_planted_form(secret: str, before: str, after: str) -> None:
    redact = Redactor([secret])
    for form in planted_forms(secret):
        assert _clean(redact(before + form + after), secret), form


@given(secrets_, st.lists(st.integers(0, 400), max_size=4))
def test_no_channel_passes_a_planted_form_on(secret: str, cuts: list[int]) -> None:
    planted = " ".join(planted_forms(secret))
    out, err, logged = io.StringIO(), io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logged)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("b24_fuzz_channels")
    log.addHandler(handler)
    log.propagate = False
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        with captured_output(Redactor([secret])) as captured:
            ends = sorted(cuts)
            pieces = [planted[a:b] for a, b in zip([0, *ends], [*ends, None], strict=True)]
            for piece in pieces:  # a secret written in pieces still reaches the check whole
                sys.stdout.write(piece)
            print()
            print(planted, file=sys.stderr)
            warnings.warn(planted, UserWarning, stacklevel=1)
            try:
                raise ValueError(planted)
            except ValueError:
                log.exception("failed: %s", planted)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        log.removeHandler(handler)
    for channel, text in {"stdout": out, "stderr": err, "log handler": logged}.items():
        assert _clean(text.getvalue(), secret), channel
    texts: dict[str, str] = {}
    for entry in captured.seen:
        channel = entry.channel.split(" ")[0]
        texts[channel] = texts.get(channel, "") + entry.text
    seen = {channel for channel, text in texts.items() if planted in text}
    assert {"stdout", "stderr", "warning", "log", "traceback"} <= seen, seen
