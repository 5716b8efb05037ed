"""Hypothesis strategies for badge-method data (public API, documented in docs/properties.md).

Everything generated here is valid under the chosen profile of the contract, except
``garbage_bodies()``, which is never an envelope on purpose; the test-suite checks that against
the schemas, so the strategies and the schemas cannot drift apart silently.

Strategies are built once and shared (building one validates it, which costs more than many
draws); calling a function twice returns an equal strategy.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Final

from hypothesis import strategies as st

from conformance import _data, error_catalogue, schemas
from conformance.schemas import Profile
from conformance.wire import php_json

__all__ = [
    "DOCUMENTED_ERROR_STATUSES",
    "HOSTILE_CHARACTERS",
    "PORTAL_LANGUAGES",
    "UNDOCUMENTED_ERROR_STATUSES",
    "badge_codes",
    "badge_types",
    "badges",
    "error_answers",
    "error_codes",
    "error_envelopes",
    "garbage_bodies",
    "identifiers",
    "language_codes",
    "success_envelopes",
    "time_blocks",
    "titles",
]

# Languages that exist on Bitrix24 portals (b_language.LID is two letters).
PORTAL_LANGUAGES = (
    "en", "de", "ru", "ua", "la", "br", "fr", "pl", "it", "tr",
    "ja", "vn", "id", "ms", "kz", "sc", "tc", "th",
)  # fmt: skip

# Characters that break naive query-string and bracket-map encoders.
HOSTILE_CHARACTERS = "&+#%?=[]/ "

# utf-8 leaves out lone surrogates, which JSON text cannot carry.
_JSON_SAFE_TEXT = st.characters(codec="utf-8")


@cache
def badge_types() -> st.SearchStrategy[str]:
    """The five badge types, read from the wire schema."""
    enum = _data.read_schema_file("wire/badge.json")["$defs"]["type"]["enum"]
    return st.sampled_from(tuple(enum))


@cache
def identifiers() -> st.SearchStrategy[str]:
    """Ordinary, mixed-case badge codes such as ``missedCall`` (safe on any portal)."""
    return st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,29}", fullmatch=True)


# One trap each; the first is ordinary so that shrinking lands on a readable code.
_HOSTILE_CODES = (
    "missedCall", "missed&call", "missed+call", "missed#call", "100%", "a?b=c", "title[en]",
    "code[]", "a/b", "missed call", " missedCall", "missedCall ", "  missedCall  ",
    "MISSEDcall", "Пропущенный", "ärger", "徽章", "\U0001f4de call", "\U0001d11e",
    "<b>&amp;</b>", "a\tb",
)  # fmt: skip


@cache
def badge_codes() -> st.SearchStrategy[str]:
    """Badge codes: ordinary identifiers and hostile strings (never empty).

    Hostile means ``& + # % ? = [ ] /``, inner, leading and trailing spaces, unicode
    (non-BMP included), very long and mixed case.
    """
    hostile = st.text(
        alphabet=st.one_of(st.sampled_from(HOSTILE_CHARACTERS), _JSON_SAFE_TEXT),
        min_size=1,
        max_size=64,
    )
    spaces = st.sampled_from(["", " ", "  "])
    padded = st.tuples(spaces, identifiers(), spaces).map("".join)
    non_bmp = st.tuples(
        identifiers(),
        st.text(alphabet=st.characters(min_codepoint=0x10000, codec="utf-8"), min_size=1),
    ).map("".join)
    long_codes = st.text(alphabet=string.ascii_letters, min_size=100, max_size=300)
    # A hostile code repeated to a length: its first choice shrinks like the sampled branch's.
    long_hostile = st.tuples(
        st.sampled_from(_HOSTILE_CODES), st.integers(min_value=100, max_value=300)
    ).map(lambda pair: (pair[0] * pair[1])[: pair[1]])
    return st.one_of(
        identifiers(),
        st.sampled_from(_HOSTILE_CODES),
        hostile,
        padded,
        non_bmp,
        long_codes,
        long_hostile,
    )


def language_codes(languages: Sequence[str] = PORTAL_LANGUAGES) -> st.SearchStrategy[str]:
    """Two-letter portal language codes (``languages`` narrows them to a portal's own)."""
    return _language_codes(tuple(languages))


@cache
def _language_codes(languages: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(languages)


@cache
def _non_empty_text() -> st.SearchStrategy[str]:
    return st.text(alphabet=_JSON_SAFE_TEXT, min_size=1, max_size=40)


def titles(
    profile: Profile = "wire", *, languages: Sequence[str] = PORTAL_LANGUAGES
) -> st.SearchStrategy[Any]:
    """Titles and values: a non-empty string or a language map (the newest docs agree)."""
    return _titles(profile, tuple(languages))


@cache
def _titles(profile: Profile, languages: tuple[str, ...]) -> st.SearchStrategy[Any]:
    # The docs at 5988ed13 said "string or an array of strings"; the newest kept revision
    # types them string|object, as portals send them, so both profiles generate the same.
    maps = st.dictionaries(_language_codes(languages), _non_empty_text(), min_size=1, max_size=4)
    return st.one_of(_non_empty_text(), maps)


def badges(
    profile: Profile = "wire",
    *,
    codes: st.SearchStrategy[str] | None = None,
    languages: Sequence[str] = PORTAL_LANGUAGES,
) -> st.SearchStrategy[dict[str, Any]]:
    """Badge records with exactly code, title, value and type (``codes`` replaces the codes)."""
    return _badges(profile, codes, tuple(languages))


@cache
def _badges(
    profile: Profile, codes: st.SearchStrategy[str] | None, languages: tuple[str, ...]
) -> st.SearchStrategy[dict[str, Any]]:
    text = _titles(profile, languages)
    if codes is None:
        # The newest docs cap codes at 30 characters; the wire schema holds any length.
        codes = badge_codes() if profile == "wire" else badge_codes().filter(lambda c: len(c) <= 30)
    return st.fixed_dictionaries(
        {
            "code": codes,
            "title": text,
            "value": text,
            "type": badge_types(),
        }
    )


def _offsets() -> st.SearchStrategy[timezone]:
    quarter_hours = st.integers(min_value=-12 * 4, max_value=14 * 4)
    return quarter_hours.map(lambda q: timezone(timedelta(minutes=15 * q)))


_OFFSETS: Final = _offsets()
_FRACTIONAL: Final = st.floats(min_value=0.000001, max_value=0.999999)
_SECONDS: Final = st.floats(0, 60)


@st.composite
def time_blocks(draw: st.DrawFn, profile: Profile = "wire") -> dict[str, Any]:
    """``time`` blocks: integer or float start, optional operating counters present or absent."""
    start_whole = draw(st.integers(min_value=1_600_000_000, max_value=1_900_000_000))
    duration = draw(_FRACTIONAL) if profile == "docs" else draw(_SECONDS)
    integer_start = profile == "wire" and draw(st.booleans())
    start: float | int = start_whole if integer_start else start_whole + draw(_FRACTIONAL)
    processing: float | int = (
        draw(_FRACTIONAL) if profile == "docs" else draw(st.one_of(st.just(0), _SECONDS))
    )
    zone = draw(_OFFSETS)
    block: dict[str, Any] = {
        "start": start,
        "finish": start + duration,
        "duration": duration,
        "processing": processing,
        "date_start": datetime.fromtimestamp(start, zone).isoformat(timespec="seconds"),
        "date_finish": datetime.fromtimestamp(start + duration, zone).isoformat(timespec="seconds"),
    }
    if draw(st.booleans()):
        block["operating"] = draw(st.one_of(st.just(0), st.floats(0, 480)))
    if draw(st.booleans()):
        block["operating_reset_at"] = start_whole + draw(st.integers(0, 600))
    if profile == "docs" and isinstance(block["finish"], float) and block["finish"].is_integer():
        block["finish"] += 0.5
    return block


@cache
def error_codes(profile: Profile = "wire") -> st.SearchStrategy[str | int]:
    """Error codes from the catalogue and beyond; on the wire numbers and "" too."""
    known = [c for c in error_catalogue.known_codes() if profile == "wire" or isinstance(c, str)]
    documented_shape = st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True)
    if profile == "docs":
        return st.one_of(st.sampled_from(known), documented_shape, st.sampled_from(["100", "0"]))
    return st.one_of(
        st.sampled_from(known),
        documented_shape,
        st.sampled_from(["", "0", "100", 0, 100]),
        st.integers(min_value=-(2**31), max_value=2**31),
        st.text(alphabet=_JSON_SAFE_TEXT, max_size=30),
    )


@cache
def _descriptions() -> st.SearchStrategy[str]:
    samples = st.sampled_from(
        [
            "Access denied<br>",
            "<b>Not found</b>",
            "Badge not found for code `x`",
            "Доступ запрещён",
            "Badge not found for code `\U0001f4de`",
            "Method is blocked due to operation time limit.",
        ]
    )
    return st.one_of(samples, st.text(alphabet=_JSON_SAFE_TEXT, max_size=80))


_ARGUMENTS: Final = st.sampled_from(["code", "title", "value", "type"])


@st.composite
def error_envelopes(draw: st.DrawFn, profile: Profile = "wire") -> dict[str, Any]:
    """v2 error bodies: a code as the portal may send it (string, number, empty) and a
    description (HTML and unicode included)."""
    body: dict[str, Any] = {
        "error": draw(error_codes(profile)),
        "error_description": draw(_descriptions()),
    }
    if profile == "wire" and draw(st.booleans()):
        body["argument"] = draw(_ARGUMENTS)
    return body


@cache
def _results(method: str, profile: Profile) -> st.SearchStrategy[Any]:
    if method == "crm.activity.badge.delete":
        return st.just(True)
    if method == "crm.activity.badge.list":
        return st.lists(badges(profile), max_size=5).map(lambda items: {"badges": items})
    return badges(profile).map(lambda badge: {"badge": badge})


@st.composite
def success_envelopes(draw: st.DrawFn, method: str, profile: Profile = "wire") -> dict[str, Any]:
    """v2 success bodies of a method: result, time and (for list) total."""
    method = schemas.canonical_method(method)
    body: dict[str, Any] = {
        "result": draw(_results(method, profile)),
        "time": draw(time_blocks(profile)),
    }
    if method == "crm.activity.badge.list":
        count = len(body["result"]["badges"])
        body["total"] = draw(st.integers(min_value=count, max_value=count + 1000))
    return body


def _catalogue_statuses() -> tuple[int, ...]:
    statuses = {
        status
        for entry in error_catalogue.error_catalogue()
        for profile in schemas.PROFILES
        for status in entry.statuses[profile]
    }
    # 400 first, 200 (batch errors) last: shrinking lands on the most ordinary status.
    return tuple(sorted(statuses, key=lambda status: (status == 200, status)))


#: Every HTTP status the error catalogue documents for some error (200 for batch errors).
DOCUMENTED_ERROR_STATUSES: Final = _catalogue_statuses()

#: Statuses no document mentions, which proxies and future portals may still send.
UNDOCUMENTED_ERROR_STATUSES: Final = (402, 409, 410, 418, 422, 451, 502, 504, 520)


@cache
def error_answers(profile: Profile = "wire") -> st.SearchStrategy[tuple[int, dict[str, Any]]]:
    """(HTTP status, error envelope) pairs: every documented status and undocumented ones."""
    statuses = st.one_of(
        st.sampled_from(DOCUMENTED_ERROR_STATUSES),
        st.sampled_from(UNDOCUMENTED_ERROR_STATUSES),
    )
    return st.tuples(statuses, error_envelopes(profile))


# Pages that proxies, WAFs and PHP put where JSON should be (CONTRACT.md 3.2).
_PAGES = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
    "<!DOCTYPE html><html><body>Access denied by the web application firewall</body></html>",
    "<br />\n<b>Fatal error</b>:  Allowed memory size exhausted in <b>/bitrix/x.php</b><br />",
    "Service Temporarily Unavailable",
    "OK",
    "\ufeff",
    "null null",
    "{'result': true}",
)


def _is_success_envelope(text: str) -> bool:
    try:
        body = json.loads(text.removeprefix("\ufeff"))
    except ValueError:
        return False
    return isinstance(body, dict) and "result" in body and "error" not in body


@cache
def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(alphabet=_JSON_SAFE_TEXT, max_size=20),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(alphabet=_JSON_SAFE_TEXT, max_size=8), inner, max_size=3),
        ),
        max_leaves=8,
    )


def _wrongly_typed_json() -> st.SearchStrategy[str]:
    not_an_object = _json_values().filter(lambda v: not isinstance(v, dict))
    # Objects that are no envelope: a bare badge, keys in the wrong case, an odd error value.
    no_envelope = st.one_of(
        badges(),
        st.dictionaries(
            st.text(alphabet=_JSON_SAFE_TEXT, max_size=10).filter(
                lambda key: key not in ("result", "error")
            ),
            _json_values(),
            max_size=4,
        ),
        _json_values().map(lambda v: {"Result": v}),
        st.one_of(
            st.none(),
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.lists(st.integers(), max_size=2),
        ).map(lambda v: {"error": v}),
    )
    return st.one_of(not_an_object, no_envelope).map(lambda v: json.dumps(v, ensure_ascii=False))


@st.composite
def _truncated_json(draw: st.DrawFn) -> str:
    method = draw(st.sampled_from(schemas.METHODS))
    body = draw(st.one_of(success_envelopes(method), error_envelopes()))
    text = php_json(body)
    return text[: draw(st.integers(min_value=1, max_value=len(text) - 1))]


@cache
def garbage_bodies() -> st.SearchStrategy[str]:
    """Bodies that are no envelope: non-JSON (HTML, text, empty), truncated or wrongly typed JSON.

    None of them is a success envelope: a client must report each as a transport failure (or,
    for an object with an odd ``error``, as an API error).
    """
    non_json = st.one_of(
        st.sampled_from(_PAGES),
        st.sampled_from(["", " ", "\r\n"]),
        st.text(alphabet=_JSON_SAFE_TEXT, max_size=60),
    )
    return st.one_of(non_json, _truncated_json(), _wrongly_typed_json()).filter(
        lambda text: not _is_success_envelope(text)
    )
