"""Live exchanges as vcrpy cassettes that replay mode plays back, scrubbed by value.

vcrpy's own filters miss too much (LIBRARIES.md: the URL path, JSON bodies under
``application/json; charset=utf-8``), so the recorder writes cassettes itself from what the
gateway saw, after replacing every sensitive value wherever it occurs: the webhook secret, OAuth
tokens (``auth``, ``access_token``, ``Authorization: Bearer``, in JSON, form and query), member
ids, and the portal's address. The placeholders are the ones replay substitutes back
(WEBHOOK_SECRET, ACCESS_TOKEN), so a recorded cassette replays like a generated one. A
cassette in which a known value survives is not written.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

# vcrpy through conformance._vcr first: it leaves out the HTTP libraries no client loaded.
from conformance import _vcr  # noqa: F401

# isort: split
from vcr.request import Request
from vcr.serialize import deserialize, serialize
from vcr.serializers import yamlserializer

from conformance import __version__
from conformance._cassette_file import CHECKSUM_KEY, interactions_digest
from conformance._yaml import load_yaml
from conformance.case import Case, case_by_id
from conformance.live.cases import live_case, live_case_ids, live_modes
from conformance.live.exchange import Exchange
from conformance.live.target import LivePortal
from conformance.transports import OFFLINE_HOST, SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER
from conformance.wire import decode_request, php_json

MEMBER_PLACEHOLDER: Final = "MEMBER_ID"
#: JSON, form and query keys whose values are credentials or identify the portal.
SENSITIVE_KEYS: Final[Mapping[str, str]] = {
    "auth": TOKEN_PLACEHOLDER,
    "access_token": TOKEN_PLACEHOLDER,
    "refresh_token": "REFRESH_TOKEN",
    "application_token": "APPLICATION_TOKEN",
    "client_secret": "CLIENT_SECRET",
    "member_id": MEMBER_PLACEHOLDER,
}
#: Request headers a cassette keeps (Authorization scrubbed); the rest stay behind.
REQUEST_HEADERS: Final = ("Content-Type", "Accept", "Authorization")
#: Response headers a cassette keeps; cookies, server names and the like stay behind.
RESPONSE_HEADERS: Final = ("Content-Type", "Location", "Access-Control-Allow-Origin")
RESPONSE_HEADER_PREFIXES: Final = ("X-Bitrix-Rest-",)
ORIGIN: Final = "live recording"


class RecordingLeak(RuntimeError):
    """A sensitive value survived scrubbing; the cassette was not written."""


class Scrubber:
    """Replaces known sensitive values, in every encoding they travel in, by placeholders."""

    def __init__(self, portal: LivePortal) -> None:
        self._values: dict[str, str] = {}
        self.learn_value(portal.secret, SECRET_PLACEHOLDER)
        self.learn_value(portal.auth_token, TOKEN_PLACEHOLDER)
        self.learn_value(portal.member_id, MEMBER_PLACEHOLDER)
        parts = urlsplit(portal.origin)
        self._hosts = [
            (portal.origin, f"https://{OFFLINE_HOST}"),
            (parts.netloc, OFFLINE_HOST),
            (parts.hostname or "", OFFLINE_HOST),
        ]

    def learn_value(self, value: str | None, placeholder: str) -> None:
        if value and value not in (SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER):
            self._values.setdefault(value, placeholder)

    def learn(self, exchange: Exchange) -> None:
        """Take the credentials a request carried (and ids an answer named) as sensitive."""
        decoded = decode_request(
            exchange.http_method,
            exchange.portal_url,
            exchange.request_headers,
            exchange.request_body,
        )
        self.learn_value(decoded.secret, SECRET_PLACEHOLDER)
        self.learn_value(decoded.token, TOKEN_PLACEHOLDER)
        query = urlsplit(exchange.portal_url).query
        for key, value in parse_qsl(query, keep_blank_values=True):
            self._learn_key(key, value)
        for body, content_type in (
            (exchange.request_body, _header(exchange.request_headers, "Content-Type")),
            (exchange.response_body, _header(exchange.response_headers, "Content-Type")),
        ):
            text = body.decode("utf-8", errors="replace")
            if "json" in content_type.lower():
                with contextlib.suppress(ValueError):
                    self._learn_json(json.loads(text))
            else:
                for key, value in parse_qsl(text, keep_blank_values=True):
                    self._learn_key(key, value)

    def _learn_key(self, key: str, value: Any) -> None:
        name = key.split("[", 1)[0].lower()
        # Short values are no credentials, and replacing them would garble the cassette.
        if name in SENSITIVE_KEYS and isinstance(value, str | int) and len(str(value)) >= 6:
            self.learn_value(str(value), SENSITIVE_KEYS[name])

    def _learn_json(self, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, dict | list):
                    self._learn_json(item)
                else:
                    self._learn_key(str(key), item)
        elif isinstance(value, list):
            for item in value:
                self._learn_json(item)

    def _forms(self) -> Iterator[tuple[str, str]]:
        for value, placeholder in self._values.items():
            forms = {
                value,
                quote(value, safe=""),
                quote_plus(value),
                json.dumps(value)[1:-1],
                php_json(value)[1:-1],
            }
            for form in forms:
                yield form, placeholder

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(self._values)

    def __call__(self, text: str) -> str:
        # Longest first, so no value is half-replaced by a shorter one inside it.
        for form, placeholder in sorted(self._forms(), key=lambda p: len(p[0]), reverse=True):
            text = text.replace(form, placeholder)
        for address, placeholder in self._hosts:
            if address:
                text = text.replace(address, placeholder)
        return text

    def leaks(self, text: str) -> list[str]:
        """Which known values (by placeholder, never by value) still occur in ``text``."""
        found = [p for form, p in self._forms() if form and form in text]
        found += [p for address, p in self._hosts[1:] if address and address in text]
        return sorted(set(found))


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _kept_response_headers(headers: Mapping[str, str]) -> dict[str, list[str]]:
    wanted = {h.lower() for h in RESPONSE_HEADERS}
    return {
        name: [value]
        for name, value in headers.items()
        if name.lower() in wanted
        or any(name.lower().startswith(p.lower()) for p in RESPONSE_HEADER_PREFIXES)
    }


@dataclass
class Recorder:
    """Writes one cassette per live case into ``directory``."""

    directory: Path
    portal: LivePortal
    prefix: str

    def __post_init__(self) -> None:
        self.scrub = Scrubber(self.portal)
        self.written: list[Path] = []
        self.skipped: list[str] = []

    def write(self, case: Case, exchanges: Iterable[Exchange], outcome: str) -> Path | None:
        """The case's cassette, or None when a step was not answered by the portal."""
        chosen = [e for e in exchanges if e.tag == case.id and e.step >= 0 and not e.absorbed]
        steps = [sum(1 for e in chosen if e.step == index) for index in range(len(case.steps))]
        if not chosen or 0 in steps or any(not e.from_portal for e in chosen):
            self.skipped.append(case.id)
            return None
        for exchange in chosen:
            self.scrub.learn(exchange)
        recorded = datetime.now(UTC)
        interactions = [self._interaction(e) for e in sorted(chosen, key=lambda e: e.number)]
        metadata = {
            "case": case.id,
            "description": case.description,
            "steps": steps,
            "provenance": {
                "origin": ORIGIN,
                "recorded": recorded.isoformat(timespec="seconds"),
                "date": recorded.date().isoformat(),
                "portal": "scrubbed: address, webhook secret, tokens and member ids replaced",
                "outcome": outcome,
                "contract": [f"CONTRACT.md section {s}" for s in case.contract],
                "generated_by": f"b24-conformance {__version__}: b24-conformance record",
            },
            "live": {"prefix": self.prefix, "auth": case.auth},
        }

        def text_of() -> str:
            return str(
                serialize(
                    {
                        "requests": [request for request, _ in interactions],
                        "responses": [response for _, response in interactions],
                        "metadata": metadata,
                    },
                    yamlserializer,
                )
            )

        # Checksummed like the catalogue's cassettes: a recording edited by hand is refused
        # before a replay run, naming the file, instead of failing the client.
        metadata[CHECKSUM_KEY] = interactions_digest(load_yaml(text_of())["interactions"])
        text = text_of()
        leaks = self.scrub.leaks(text)
        if leaks:
            raise RecordingLeak(
                f"the cassette of {case.id} still held {', '.join(leaks)} after scrubbing; "
                "it was not written"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{case.id}.yaml"
        path.write_text(text, encoding="utf-8")
        self.written.append(path)
        return path

    def _interaction(self, exchange: Exchange) -> tuple[Request, dict[str, Any]]:
        scrub = self.scrub
        wanted = {h.lower() for h in REQUEST_HEADERS}
        headers = {
            name: scrub(value)
            for name, value in exchange.request_headers.items()
            if name.lower() in wanted
        }
        request = Request(
            exchange.http_method,
            scrub(exchange.portal_url),
            scrub(exchange.request_body.decode("utf-8", errors="replace")),
            headers,
        )
        response = {
            "status": {"code": exchange.status, "message": _reason(exchange.status)},
            "headers": {
                name: [scrub(v) for v in values]
                for name, values in _kept_response_headers(exchange.response_headers).items()
            },
            "body": {"string": scrub(exchange.response_body.decode("utf-8", errors="replace"))},
        }
        return request, response


# --- replay of recorded cassettes ---------------------------------------------------------------


class CassetteDirError(ValueError):
    """A --cassettes directory that replay cannot use; the message names the file."""


def cassette_metadata(path: Path) -> dict[str, Any]:
    loaded = deserialize(path.read_text(encoding="utf-8"), yamlserializer)
    metadata = loaded[2] if len(loaded) > 2 else {}
    return metadata if isinstance(metadata, dict) else {}


def recorded_cases(directory: Path) -> dict[str, tuple[Case, Path]]:
    """Case id -> (the case to replay, its cassette) for every cassette in ``directory``.

    A live recording rebuilds its live case under the recorded prefix; any other cassette
    replays the catalogue case it names.
    """
    if not directory.is_dir():
        raise CassetteDirError(f"--cassettes {str(directory)!r} is not a directory")
    found: dict[str, tuple[Case, Path]] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            metadata = cassette_metadata(path)
        except Exception as exc:
            raise CassetteDirError(f"--cassettes: {path.name} is no cassette ({exc})") from None
        case_id = str(metadata.get("case") or path.stem)
        live = metadata.get("live")
        if isinstance(live, dict) and case_id in live_case_ids():
            case: Case = live_case(
                case_id,
                str(live.get("prefix", "")),
                str(live.get("auth", "webhook")),
                live_modes("replay"),
            )
        else:
            try:
                case = case_by_id(case_id)
            except KeyError:
                raise CassetteDirError(
                    f"--cassettes: {path.name} names case {case_id!r}, which is neither in the "
                    "catalogue nor a live case"
                ) from None
            if "replay" not in case.modes:
                raise CassetteDirError(
                    f"--cassettes: {path.name} names case {case_id!r}, which replay cannot run"
                )
        found[case.id] = (case, path)
    if not found:
        raise CassetteDirError(f"--cassettes {str(directory)!r} holds no *.yaml cassette")
    return found
