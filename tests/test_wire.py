"""Wire facts: PHP-style JSON, PHP bracket maps, and the portal's request decoding."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import strategies as gen
from conformance.wire import decode_request, php_form_pairs, php_json, php_parse_pairs

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_php_json_escapes_like_bitrix() -> None:
    text = php_json({"t": "<b>Звонок</b> & 'x' \"q\" /"})
    assert text == (
        '{"t":"\\u003Cb\\u003E\\u0417\\u0432\\u043e\\u043d\\u043e\\u043a\\u003C\\/b\\u003E'
        ' \\u0026 \\u0027x\\u0027 \\u0022q\\u0022 \\/"}'
    )
    assert text.isascii()


# json_encode character by character, as PHP documents it: the oracle for the fast encoder.
_PHP_CHARACTER_ESCAPES = {
    '"': "\\u0022",
    "\\": "\\\\",
    "/": "\\/",
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "'": "\\u0027",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _php_string_by_character(text: str) -> str:
    out = ['"']
    for char in text:
        if char in _PHP_CHARACTER_ESCAPES:
            out.append(_PHP_CHARACTER_ESCAPES[char])
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) > 0xFFFF:
            code = ord(char) - 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join([*out, '"'])


@given(
    text=st.text(
        st.one_of(
            st.sampled_from(list("\\\"/<>&'\x7f\x00\n\tuU0")),
            st.characters(codec=None),
        )
    )
)
def test_php_json_writes_strings_as_json_encode_does(text: str) -> None:
    assert php_json(text) == _php_string_by_character(text)
    assert php_json({text: [text]}) == (
        "{" + _php_string_by_character(text) + ":[" + _php_string_by_character(text) + "]}"
    )
    # Keys json.dumps would write apart from PHP (a number as text, null, true) are kept.
    assert php_json({1: text, None: (True, 2.5)}) == (
        '{"1":' + _php_string_by_character(text) + ',"None":[true,2.5]}'
    )
    assert php_json(MappingProxyType({"k": text})) == '{"k":' + _php_string_by_character(text) + "}"


@given(value=gen.success_envelopes("crm.activity.badge.get"))
def test_php_json_round_trips(value: dict[str, Any]) -> None:
    assert json.loads(php_json(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("title[en]", "A"), ("title[de]", "B")], {"title": {"en": "A", "de": "B"}}),
        ([("title[]", "A")], {"title": ["A"]}),
        ([("a[b][c]", "d")], {"a": {"b": {"c": "d"}}}),
        ([("code", "x"), ("code", "y")], {"code": "y"}),
        ([("odd[", "v")], {"odd_": "v"}),
    ],
)
def test_php_bracket_maps_decode(pairs: list[tuple[str, str]], expected: dict[str, Any]) -> None:
    assert php_parse_pairs(pairs) == expected


@given(params=gen.badges())
def test_form_pairs_decode_back(params: dict[str, Any]) -> None:
    assert php_parse_pairs(php_form_pairs(params)) == params


@pytest.mark.parametrize(
    ("verb", "url", "headers", "body", "params", "encoding"),
    [
        (
            "POST",
            "https://p/rest/1/s/crm.activity.badge.get.json",
            JSON,
            b'{"code":"a"}',
            {"code": "a"},
            "json",
        ),
        (
            "POST",
            "https://p/rest/1/s/crm.activity.badge.get",
            {"Content-Type": "application/json; charset=utf-8"},
            b'{"code":"a"}',
            {"code": "a"},
            "json",
        ),
        ("POST", "https://p/rest/1/s/crm.activity.badge.get", JSON, b"{broken", {}, "none"),
        (
            "POST",
            "https://p/rest/1/s/crm.activity.badge.get",
            {"Content-Type": "text/plain"},
            b'{"code":"a"}',
            {'{"code":"a"}': ""},
            "form",
        ),
        (
            "POST",
            "https://p/rest/1/s/crm.activity.badge.add",
            FORM,
            b"code=a%26b&title%5Ben%5D=A",
            {"code": "a&b", "title": {"en": "A"}},
            "form",
        ),
        (
            "GET",
            "https://p/rest/1/s/crm.activity.badge.get?code=q",
            {},
            b"",
            {"code": "q"},
            "query",
        ),
        (
            "POST",
            "https://p/rest/1/s/crm.activity.badge.get?code=q",
            JSON,
            b'{"code":"b"}',
            {"code": "b"},
            "json",
        ),
    ],
)
def test_requests_decode_like_the_portal(
    verb: str, url: str, headers: dict[str, str], body: bytes, params: dict[str, Any], encoding: str
) -> None:
    decoded = decode_request(verb, url, headers, body)
    assert decoded.params == params
    assert decoded.encoding == encoding


def test_multipart_bodies_decode() -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="code"\r\n\r\nmissedCall\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="title[en]"\r\n\r\nAlarm\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    decoded = decode_request(
        "POST",
        "https://p/rest/1/s/crm.activity.badge.add",
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        body,
    )
    assert decoded.params == {"code": "missedCall", "title": {"en": "Alarm"}}
    assert decoded.encoding == "multipart"


@pytest.mark.parametrize(
    ("url", "headers", "body", "kind", "token", "carrier"),
    [
        ("https://p/rest/7/abc/crm.activity.badge.list.json", {}, b"", "webhook", None, None),
        ("https://p/rest/crm.activity.badge.list?auth=t1", {}, b"", "oauth", "t1", "auth"),
        (
            "https://p/rest/crm.activity.badge.list",
            JSON,
            b'{"access_token":"t2"}',
            "oauth",
            "t2",
            "access_token",
        ),
        (
            "https://p/rest/crm.activity.badge.list",
            {"Authorization": "Bearer t3", **JSON},
            b'{"auth":"t4"}',
            "oauth",
            "t3",
            "bearer",
        ),
    ],
)
def test_auth_is_found_where_the_portal_looks(
    url: str,
    headers: dict[str, str],
    body: bytes,
    kind: str,
    token: str | None,
    carrier: str | None,
) -> None:
    decoded = decode_request("POST", url, headers, body)
    assert decoded.path_kind == kind
    assert (decoded.token, decoded.token_carrier) == (token, carrier)
    assert "auth" not in decoded.params
    assert "access_token" not in decoded.params


def test_method_names_are_lowercased_and_suffix_split() -> None:
    decoded = decode_request("POST", "https://p/rest/1/s/CRM.Activity.Badge.LIST.json", {}, b"")
    assert (decoded.api_method, decoded.suffix, decoded.user_id, decoded.secret) == (
        "crm.activity.badge.list",
        "json",
        "1",
        "s",
    )


@given(code=gen.badge_codes())
def test_hostile_codes_survive_form_encoding(code: str) -> None:
    from urllib.parse import urlencode

    body = urlencode(php_form_pairs({"code": code})).encode()
    decoded = decode_request("POST", "https://p/rest/1/s/crm.activity.badge.get", FORM, body)
    assert decoded.params == {"code": code}


@given(st.binary(max_size=200))
def test_any_body_decodes_without_raising(body: bytes) -> None:
    for headers in (JSON, FORM, {}):
        decode_request("POST", "https://p/rest/1/s/crm.activity.badge.get", headers, body)
