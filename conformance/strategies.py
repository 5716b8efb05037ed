"""Hypothesis strategies for badge-method data (public API).

Everything generated here is valid under the chosen profile of the contract; the
test-suite checks that against the schemas, so the strategies and the schemas cannot
drift apart silently.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from conformance import _data, catalogue, schemas
from conformance.schemas import Profile

__all__ = [
    "badge_codes",
    "badge_types",
    "badges",
    "error_codes",
    "error_envelopes",
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


def badge_types() -> st.SearchStrategy[str]:
    """The five badge types, read from the wire schema."""
    enum = _data.read_schema_file("wire/badge.json")["$defs"]["type"]["enum"]
    return st.sampled_from(tuple(enum))


def badge_codes() -> st.SearchStrategy[str]:
    """Badge codes: ordinary identifiers and hostile strings (never empty)."""
    identifiers = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,29}", fullmatch=True)
    hostile = st.text(
        alphabet=st.one_of(st.sampled_from(HOSTILE_CHARACTERS), _JSON_SAFE_TEXT),
        min_size=1,
        max_size=64,
    )
    long_codes = st.text(alphabet=string.ascii_letters, min_size=100, max_size=300)
    return st.one_of(identifiers, hostile, long_codes)


def language_codes() -> st.SearchStrategy[str]:
    return st.sampled_from(PORTAL_LANGUAGES)


def _non_empty_text() -> st.SearchStrategy[str]:
    return st.text(alphabet=_JSON_SAFE_TEXT, min_size=1, max_size=40)


def titles(profile: Profile = "wire") -> st.SearchStrategy[Any]:
    """Titles and values: a non-empty string or, on the wire, a language map."""
    if profile == "docs":
        return st.one_of(_non_empty_text(), st.lists(_non_empty_text(), min_size=1, max_size=3))
    maps = st.dictionaries(language_codes(), _non_empty_text(), min_size=1, max_size=4)
    return st.one_of(_non_empty_text(), maps)


def badges(profile: Profile = "wire") -> st.SearchStrategy[dict[str, Any]]:
    """Badge records with exactly code, title, value and type."""
    return st.fixed_dictionaries(
        {
            "code": badge_codes(),
            "title": titles(profile),
            "value": titles(profile),
            "type": badge_types(),
        }
    )


def _offsets() -> st.SearchStrategy[timezone]:
    quarter_hours = st.integers(min_value=-12 * 4, max_value=14 * 4)
    return quarter_hours.map(lambda q: timezone(timedelta(minutes=15 * q)))


@st.composite
def time_blocks(draw: st.DrawFn, profile: Profile = "wire") -> dict[str, Any]:
    """``time`` blocks: integer or float start, optional operating counters."""
    fractional = st.floats(min_value=0.000001, max_value=0.999999)
    start_whole = draw(st.integers(min_value=1_600_000_000, max_value=1_900_000_000))
    duration = draw(fractional) if profile == "docs" else draw(st.floats(0, 60))
    integer_start = profile == "wire" and draw(st.booleans())
    start: float | int = start_whole if integer_start else start_whole + draw(fractional)
    processing: float | int = (
        draw(fractional) if profile == "docs" else draw(st.one_of(st.just(0), st.floats(0, 60)))
    )
    zone = draw(_offsets())
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


def error_codes(profile: Profile = "wire") -> st.SearchStrategy[str | int]:
    """Error codes from the catalogue and beyond; on the wire numbers and "" too."""
    known = [c for c in catalogue.known_codes() if profile == "wire" or isinstance(c, str)]
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


def _descriptions() -> st.SearchStrategy[str]:
    html = st.sampled_from(
        ["Access denied<br>", "<b>Not found</b>", "Badge not found for code `x`"]
    )
    return st.one_of(html, st.text(alphabet=_JSON_SAFE_TEXT, max_size=80))


@st.composite
def error_envelopes(draw: st.DrawFn, profile: Profile = "wire") -> dict[str, Any]:
    """v2 error bodies: a code as the portal may send it and a description."""
    body: dict[str, Any] = {
        "error": draw(error_codes(profile)),
        "error_description": draw(_descriptions()),
    }
    if profile == "wire" and draw(st.booleans()):
        body["argument"] = draw(st.sampled_from(["code", "title", "value", "type"]))
    return body


def _results(method: str, profile: Profile) -> st.SearchStrategy[Any]:
    if method == "crm.activity.badge.delete":
        return st.just(True)
    if method == "crm.activity.badge.list":
        return st.lists(badges(profile), max_size=5).map(lambda items: {"badges": items})
    return badges(profile).map(lambda badge: {"badge": badge})


@st.composite
def success_envelopes(draw: st.DrawFn, method: str, profile: Profile = "wire") -> dict[str, Any]:
    """v2 success bodies of a method: result, time and (for list on the wire) total."""
    method = schemas.canonical_method(method)
    body: dict[str, Any] = {
        "result": draw(_results(method, profile)),
        "time": draw(time_blocks(profile)),
    }
    if method == "crm.activity.badge.list" and profile == "wire":
        count = len(body["result"]["badges"])
        body["total"] = draw(st.integers(min_value=count, max_value=count + 1000))
    return body
