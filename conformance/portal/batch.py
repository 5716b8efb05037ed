"""The ``batch`` method (CRestProvider::methodsBatch, CONTRACT.md section 3.3).

Up to 50 ``method?query`` commands run with the batch's own credentials; each failure lands in
``result_error`` and the batch itself still answers 200. ``$result[k][...]`` references to
earlier results are substituted the way CRestUtil::ParseBatchQuery does it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import parse_qsl

from conformance.portal.auth import Caller
from conformance.portal.envelope import (
    Called,
    PortalError,
    php_array,
    php_bool,
    php_str,
    time_block,
)
from conformance.wire import php_parse_pairs

#: How a batch runs one command: RestLayer.call, passed in so batch needs no import of rest.
MethodCall = Callable[[str, Mapping[str, Any], Caller], Called]

#: CRestUtil::BATCH_MAX_LENGTH
BATCH_MAX_LENGTH: Final = 50

#: Methods a batch refuses to run (nested batch, file transfer).
NOT_IN_BATCH: Final = frozenset({"batch", "download", "upload"})

_SECTIONS: Final = ("result", "next", "total", "time", "error")
_REFERENCE: Final = re.compile(r"\$(" + "|".join(_SECTIONS) + r")(\S*)")
_PATH_KEY: Final = re.compile(r"\[([^\]]+)\]")


def _commands(cmd: Any) -> list[tuple[str, Any]]:
    if isinstance(cmd, dict):
        return [(str(k), v) for k, v in cmd.items()]
    if isinstance(cmd, list):
        return [(str(i), v) for i, v in enumerate(cmd)]
    return []


def _resolve(sections: Mapping[str, dict[str, Any]], section: str, path: str) -> Any:
    node: Any = sections[section]
    for key in _PATH_KEY.findall(path):
        if isinstance(node, dict) and node.get(key) is not None:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            break
    return node


def _substitute(value: Any, sections: Mapping[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, sections) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, sections) for v in value]
    if not isinstance(value, str):
        return value
    for match in _REFERENCE.finditer(value):
        if not _PATH_KEY.search(match[2]):
            continue
        resolved = _resolve(sections, match[1], match[2])
        if match[0] == value:
            # A parameter that is exactly one reference takes the referenced value itself.
            return resolved
        value = value.replace(match[0], php_str(resolved))
    return value


def _split(command: Any) -> tuple[str, str]:
    if not isinstance(command, str):
        return "", ""
    method, _, query = command.partition("?")
    return method, query.partition("#")[0]


def run_batch(call: MethodCall, params: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
    # methodsBatch upper-cases the keys: halt/HALT and cmd/CMD are the same parameter.
    upper = {str(k).upper(): v for k, v in params.items()}
    halt = php_bool(upper.get("HALT"))
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for count, (key, command) in enumerate(_commands(upper.get("CMD"))):
        method, query = _split(command)
        try:
            if count >= BATCH_MAX_LENGTH:
                raise PortalError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
            if method.lower() in NOT_IN_BATCH:
                raise PortalError(
                    "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"
                )
            pairs = parse_qsl(query, keep_blank_values=True) if query else []
            sub_params = _substitute(php_parse_pairs(pairs), sections)
            # The lowercased name first, then the name as given: either way case-insensitive.
            called = call(method.lower(), sub_params, caller)
        except PortalError as error:
            sections["error"][key] = error.body()
            if halt:
                break
            continue
        sections["result"][key] = called.result
        if called.total is not None:
            sections["total"][key] = called.total
        # The operating counters are left out of per-command times, as in the docs example.
        plain = replace(called.timing, operating=None, operating_reset_at=None)
        sections["time"][key] = time_block(plain, time.time())
    return {
        "result": php_array(sections["result"]),
        "result_error": php_array(sections["error"]),
        "result_total": php_array(sections["total"]),
        "result_next": php_array(sections["next"]),
        "result_time": php_array(sections["time"]),
    }
