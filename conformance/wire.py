"""Wire facts shared by every transport: how a portal writes JSON and how it reads a request.

CONTRACT.md section 3. The fake portal answers with these rules and the request-side checks
decode what a client sent with the very same code, so both agree on what "the params" are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.datastructures import Headers
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

#: Parameters the REST layer strips before the method sees them (CONTRACT.md 3.1).
AUTH_PARAMS = ("auth", "access_token", "auth_connector", "state")

# What json_encode escapes beyond Python's ensure_ascii output (PHP's default: slashes escaped;
# Bitrix adds JSON_HEX_TAG|JSON_HEX_AMP|JSON_HEX_APOS|JSON_HEX_QUOT; DEL is not ASCII to PHP).
# Python writes a quote as \", which JSON_HEX_QUOT writes as \u0022: see _php_string.
_PHP_EXTRA_ESCAPES = str.maketrans(
    {
        "/": "\\/",
        "<": "\\u003C",
        ">": "\\u003E",
        "&": "\\u0026",
        "'": "\\u0027",
        "\x7f": "\\u007f",
    }
)


def _php_escaped(dumped: str) -> str:
    """Python's ensure_ascii JSON text as json_encode writes it (see _PHP_EXTRA_ESCAPES)."""
    # In Python's output a backslash only ever starts an escape, so splitting on escaped
    # backslashes leaves \" as the only way a quote is escaped.
    escaped = dumped.translate(_PHP_EXTRA_ESCAPES)
    if '\\"' not in escaped:
        return escaped
    return "\\\\".join(part.replace('\\"', "\\u0022") for part in escaped.split("\\\\"))


def _plain(value: Any) -> bool:
    """Whether json.dumps writes ``value`` as php_json's rules do: dicts with string keys,
    lists and tuples, and scalars."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return not isinstance(value, Mapping)


def php_json(value: Any) -> str:
    """JSON as Bitrix writes it: JSON_HEX_TAG|AMP|APOS|QUOT, \\uXXXX non-ASCII, escaped slashes."""
    # The fake portal writes every answer so: json.dumps does the escaping in C (non-ASCII as
    # \\uXXXX, astral characters as surrogate pairs, control characters) for the whole value.
    if _plain(value):
        return _php_escaped(json.dumps(value, separators=(",", ":")))
    if isinstance(value, str):
        return _php_escaped(json.dumps(value))
    if isinstance(value, Mapping):
        items = ",".join(
            f"{_php_escaped(json.dumps(str(k)))}:{php_json(v)}" for k, v in value.items()
        )
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(php_json(v) for v in value) + "]"
    return json.dumps(value)


def php_form_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``params`` flattened like PHP's http_build_query: ``title[en]=...``, true as ``1``."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, child in value.items():
                walk(f"{prefix}[{key}]", child)
        elif isinstance(value, list | tuple):
            for index, child in enumerate(value):
                walk(f"{prefix}[{index}]", child)
        else:
            pairs.append((prefix, form_scalar(value)))

    for key, value in params.items():
        walk(str(key), value)
    return pairs


def form_scalar(value: Any) -> str:
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    return str(value)


def as_form_values(value: Any) -> Any:
    """What ``value`` becomes after a round trip through a form or query string."""
    if isinstance(value, Mapping):
        return {str(k): as_form_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_form_values(v) for v in value]
    return form_scalar(value)


_BRACKETS = re.compile(r"\[([^\]]*)\]")


def php_parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode ``a[b][]=c`` style pairs the way PHP's parse_str does (later keys win)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, bracket, rest = key.partition("[")
        subkeys = _BRACKETS.findall("[" + rest) if rest.endswith("]") else []
        if not head:
            root[key] = value
            continue
        if bracket and not subkeys:
            # PHP turns the first unmatched "[" of a name into "_".
            root[f"{head}_{rest}"] = value
            continue
        node = root
        path = [head, *subkeys]
        for position, segment in enumerate(path):
            # An empty [] appends: the next integer key, as PHP does.
            name = segment or str(sum(1 for k in node if k.isdigit()))
            if position == len(path) - 1:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = node[name] = {}
                node = child
    # The top level is always a map of parameter names.
    return {name: _lists_from_sequential_keys(value) for name, value in root.items()}


def _lists_from_sequential_keys(value: Any) -> Any:
    # A PHP array with keys 0..n-1 is a list once it goes through json_encode.
    if isinstance(value, dict):
        converted = {k: _lists_from_sequential_keys(v) for k, v in value.items()}
        if converted and list(converted) == [str(i) for i in range(len(converted))]:
            return list(converted.values())
        return converted
    return value


Encoding = Literal["json", "form", "multipart", "query", "none"]
PathKind = Literal["webhook", "oauth", "unknown"]

_WEBHOOK_PATH = re.compile(r"^/rest/(?P<user>[^/]+)/(?P<secret>[^/]+)/(?P<method>[^/]+)$")
_OAUTH_PATH = re.compile(r"^/rest/(?P<method>[^/]+)$")


@dataclass(frozen=True)
class DecodedRequest:
    """A request as the portal understands it (CONTRACT.md 3.1 and 3.2)."""

    http_method: str
    path: str
    path_kind: PathKind
    api_method: str | None
    suffix: str | None
    user_id: str | None
    secret: str | None
    params: dict[str, Any]
    encoding: Encoding
    token: str | None = None
    token_carrier: str | None = None
    malformed_json: bool = False
    body_params: dict[str, Any] = field(default_factory=dict)


def split_method(last_segment: str) -> tuple[str, str | None]:
    """``crm.activity.badge.get.json`` -> (``crm.activity.badge.get``, ``json``), lowercased."""
    name = unquote(last_segment)
    lowered = name.lower()
    for suffix in ("json", "xml"):
        if lowered.endswith("." + suffix):
            return lowered[: -len(suffix) - 1], suffix
    return lowered, None


def decode_request(
    http_method: str, url: str, headers: Mapping[str, str] | Headers, body: bytes
) -> DecodedRequest:
    """Route and read a request like the portal: query and form merged, JSON only under an
    ``application/json`` POST (malformed JSON counts as empty), body keys over query keys."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    path_kind: PathKind = "unknown"
    user_id = secret = api_method = suffix = None
    if match := _WEBHOOK_PATH.match(parts.path):
        path_kind = "webhook"
        user_id, secret = unquote(match["user"]), unquote(match["secret"])
        api_method, suffix = split_method(match["method"])
    elif match := _OAUTH_PATH.match(parts.path):
        path_kind = "oauth"
        api_method, suffix = split_method(match["method"])

    header_map = Headers(headers.items() if isinstance(headers, Headers) else list(headers.items()))
    query = php_parse_pairs(parse_qsl(parts.query, keep_blank_values=True))
    content_type = header_map.get("Content-Type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    verb = http_method.upper()

    body_params: dict[str, Any] = {}
    encoding: Encoding = "query" if query else "none"
    malformed = False
    if body and mime in ("application/x-www-form-urlencoded", "multipart/form-data"):
        body_params = _form_body(verb, parts.path, content_type, body)
        encoding = "multipart" if mime == "multipart/form-data" else "form"
    elif body and verb == "POST" and mime == "application/json":
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            parsed = None
        if isinstance(parsed, dict):
            body_params = parsed
            encoding = "json"
        else:
            malformed = True
    elif body:
        # Any other raw body is read as a urlencoded string.
        text = body.decode("utf-8", errors="replace")
        body_params = php_parse_pairs(parse_qsl(text, keep_blank_values=True))
        if body_params:
            encoding = "form"

    params = {**query, **body_params}
    token, carrier = _oauth_token(header_map, params)
    for name in AUTH_PARAMS:
        params.pop(name, None)
    return DecodedRequest(
        http_method=verb,
        path=path,
        path_kind=path_kind,
        api_method=api_method,
        suffix=suffix,
        user_id=user_id,
        secret=secret,
        params=params,
        encoding=encoding,
        token=token,
        token_carrier=carrier,
        malformed_json=malformed,
        body_params=body_params,
    )


def _form_body(verb: str, path: str, content_type: str, body: bytes) -> dict[str, Any]:
    environ = EnvironBuilder(
        method=verb if verb != "GET" else "POST",
        path=path,
        data=body,
        content_type=content_type,
    ).get_environ()
    _stream, form, files = parse_form_data(environ)
    pairs = [(k, v) for k, v in form.items(multi=True)]
    pairs += [(k, f.read().decode("utf-8", errors="replace")) for k, f in files.items(multi=True)]
    return php_parse_pairs(pairs)


def _oauth_token(headers: Headers, params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    # The order Bitrix\Rest\OAuth\Auth reads them in (CONTRACT.md section 6).
    authorization = headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip(), "bearer"
    for name in ("auth", "access_token"):
        value = params.get(name)
        if isinstance(value, str) and value:
            return value, name
    return None, None


def is_error_code(error: Any) -> bool:
    """Whether an envelope's ``error`` is an error code: a string or an integer (not a
    boolean), or the REST v3 error object."""
    if isinstance(error, bool):
        return False
    return isinstance(error, str | int | dict)
