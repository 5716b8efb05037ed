"""PHP's nesting limits on the way in, so that no depth of JSON or bracket map makes the fake
portal answer 500 (or run out of stack): what the server would not parse is not parsed here.

* ``json_decode`` stops at a depth of 512 (PHP's default) and returns null: the body is then
  malformed JSON, which the server reads as an empty body (CONTRACT.md section 3.2), so a
  method that needs a parameter answers 400 error 100 "Could not find value for parameter".
* ``max_input_nesting_level`` (64 by default) drops a query or form variable whose bracket
  map is nested deeper; the rest of the request is read as usual.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import unquote_plus

#: json_decode's default $depth.
JSON_DEPTH: Final = 512
#: php.ini max_input_nesting_level's default.
BRACKET_DEPTH: Final = 64


def json_too_deep(body: bytes, limit: int = JSON_DEPTH) -> bool:
    """True when ``body`` is JSON nested deeper than ``limit`` (json_decode would refuse it)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot be that deep: no parse needed
    try:
        value = json.loads(body.decode("utf-8"))
    except RecursionError:
        return True
    except (UnicodeDecodeError, ValueError):
        return False  # malformed anyway: read as empty like any other malformed body
    return _depth(value) > limit


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion (it may be very deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in node)
    return deepest


def drop_deep_pairs(encoded: str, limit: int = BRACKET_DEPTH) -> str:
    """``encoded`` (a query string or urlencoded body) without the variables whose bracket
    map is nested deeper than ``limit``, as PHP drops them; unchanged when there are none."""
    if encoded.count("[") + encoded.count("%5B") + encoded.count("%5b") <= limit:
        return encoded
    kept = [
        pair
        for pair in encoded.split("&")
        if unquote_plus(pair.partition("=")[0]).count("[") <= limit
    ]
    return "&".join(kept)
