"""How the portal answers: PHP value semantics, the v2 envelopes and the `time` block.

CONTRACT.md sections 2.1-2.3 and 3.2: successes carry ``result`` (and ``total``) and ``time``,
errors carry only ``error`` and ``error_description``, and JSON is written the PHP way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, Final

from conformance.wire import php_json

#: The REST module's own headers (CRestUtil::sendHeaders) plus the JSON transport's type.
JSON_HEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("Content-Type", "application/json; charset=utf-8"),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "origin, content-type, accept"),
    ("X-Content-Type-Options", "nosniff"),
)


class PortalError(Exception):
    """An error envelope the portal answers with: code as sent (string or number), status."""

    def __init__(self, code: str | int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description}


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers and the exact bytes."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"


def json_answer(status: int, payload: Any) -> Answer:
    return Answer(status, JSON_HEADERS, php_json(payload).encode("ascii"))


def error_answer(error: PortalError) -> Answer:
    return json_answer(error.status, error.body())


def internal_error() -> Answer:
    return json_answer(
        500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
    )


@dataclass(frozen=True)
class Timing:
    """When a call started and how long its method ran, plus the operating counters if on."""

    start: float
    processing: float = 0.0
    operating: float | None = None
    operating_reset_at: int | None = None


@dataclass(frozen=True)
class Called:
    """A method's successful outcome, ready for an envelope or a batch section."""

    result: Any
    total: int | None
    timing: Timing


def time_block(timing: Timing, finish: float) -> dict[str, Any]:
    """The ``time`` object as appendDebugInfo builds it (date('c') in the local timezone)."""
    block: dict[str, Any] = {
        "start": timing.start,
        "finish": finish,
        "duration": finish - timing.start,
        "processing": timing.processing,
        "date_start": _date_c(timing.start),
        "date_finish": _date_c(finish),
    }
    if timing.operating is not None:
        block["operating_reset_at"] = timing.operating_reset_at
        block["operating"] = timing.operating
    return block


def _date_c(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")


def success_body(result: Any, timing: Timing, finish: float, total: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"result": result}
    if total is not None:
        body["total"] = total
    body["time"] = time_block(timing, finish)
    return body


# --- PHP value semantics ------------------------------------------------------------------

_LEADING_INT: Final = re.compile(r"[ \t\n\r\v\f]*([+-]?[0-9]+)")


def php_bool(value: Any) -> bool:
    """PHP's (bool) cast: "", "0", 0, 0.0, null and empty arrays are false; "false" is true."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def php_intval(value: Any) -> int:
    """PHP's intval(): leading digits of a string, truncated floats, 0 for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):
        match = _LEADING_INT.match(value)
        return int(match[1]) if match else 0
    if isinstance(value, dict | list):
        return 1 if value else 0
    return 0


def php_str(value: Any) -> str:
    """What PHP's string conversion makes of a value: "1"/"" for booleans, "Array" for arrays."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, dict | list):
        return "Array"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def php_array(section: Mapping[str, Any]) -> dict[str, Any] | list[Any]:
    """A PHP array as json_encode writes it: [] when empty, a list when keys are 0..n-1."""
    keys = list(section)
    if keys == [str(i) for i in range(len(keys))]:
        return list(section.values())
    return dict(section)
