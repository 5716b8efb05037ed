"""The public types adapters speak: Target, the outcomes, and the Adapter protocol."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Protocol, runtime_checkable

#: Capabilities an adapter may declare. A case that needs one the adapter lacks is skipped.
CAPABILITIES: Final[Mapping[str, str]] = {
    "status": "outcomes carry the HTTP status (ApiError.status, TransportFailure.status)",
    "time": "Success.time carries the envelope's time block",
    "total": "Success.total carries the envelope's top-level total",
    "oauth": "the client can call with Target.auth_token instead of the webhook URL",
    "retry": "the client retries QUERY_LIMIT_EXCEEDED and OPERATION_TIME_LIMIT itself "
    "(a promise: retry is judged for every client, and one that declares it and does not "
    "retry fails at must)",
    "refresh": "the client refreshes an expired OAuth token and replays the call",
}

#: Documented TransportFailure kinds.
TRANSPORT_FAILURE_KINDS: Final[Mapping[str, str]] = {
    "non-json": "the body is not JSON (an HTML page from a proxy, a WAF, a fatal error)",
    "empty-body": "the body is empty",
    "bad-envelope": "the body is JSON but neither a success nor an error envelope",
    "timeout": "no answer within the timeout",
    "connection": "the connection failed or dropped",
    "redirect": "a redirect could not be followed",
}


@dataclass(frozen=True)
class Target:
    """Where and how a client calls the portal. Secrets never show in its repr."""

    base_url: str
    portal_url: str
    user_id: int | str
    secret: str
    auth_token: str | None = None
    ca_bundle: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/"):
            raise ValueError("Target.base_url must end with '/'")
        if not self.portal_url.endswith("/"):
            raise ValueError("Target.portal_url must end with '/'")

    @property
    def oauth_url(self) -> str:
        """The OAuth endpoint base: ``{portal_url}rest/``."""
        return f"{self.portal_url}rest/"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in anything a client prints, raises or logs."""
        return tuple(s for s in (self.secret, self.auth_token) if s)

    def __repr__(self) -> str:
        return (
            f"Target(base_url={redact(self.base_url, self.secrets)!r}, "
            f"portal_url={self.portal_url!r}, user_id={self.user_id!r}, secret='***', "
            f"auth_token={'***' if self.auth_token else None}, ca_bundle={self.ca_bundle!r}, "
            f"timeout={self.timeout!r})"
        )


@dataclass(frozen=True)
class Success:
    """The portal answered with a success envelope."""

    result: Any
    time: Mapping[str, Any] | None = None
    total: int | None = None


@dataclass(frozen=True)
class ApiError:
    """The portal answered with an error envelope; ``code`` exactly as sent (string or number)."""

    code: str | int | None
    description: str | None = None
    status: int | None = None
    #: what the client raised (or returned as an error object) that the adapter caught to
    #: report this outcome: the secret check reads it as the client's own caller would log it.
    #: Never compared, never shown (see docs/adapters.md).
    raised: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TransportFailure:
    """No envelope came back: see TRANSPORT_FAILURE_KINDS for ``kind``."""

    kind: str
    detail: str = ""
    status: int | None = None
    #: as ApiError.raised: the client's exception behind this failure, never compared or shown
    raised: BaseException | None = field(default=None, compare=False, repr=False)


Outcome = Success | ApiError | TransportFailure


class ReturnedError(Exception):
    """An error a client returned as a value (a dict, an error object) instead of raising it,
    wrapped whole (``args[0]``) so an adapter can hand it on as an outcome's ``raised``."""


@runtime_checkable
class Adapter(Protocol):
    """A client wrapped to report outcomes: adapters translate, never assert."""

    name: str
    capabilities: frozenset[str]

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome: ...


AdapterFactory = Callable[[Target], Adapter]


#: Derived forms shorter than this are not redacted: a 3-character base64 core of a short
#: secret would blank out unrelated text. The raw value is always redacted.
MIN_DERIVED_FORM: Final = 8


# Every case makes several redactors for the same planted secrets (engine, client, checks).
@lru_cache(maxsize=256)
def secret_forms(secret: str) -> frozenset[str]:
    """Every form of ``secret`` the redactor replaces: raw, URL-encoded (once and twice, either
    hex case), JSON- and repr-escaped, hex, and base64 (standard and urlsafe, padded or not,
    and the core that shows whatever the secret's alignment inside a longer base64 text)."""
    import base64
    import json
    from urllib.parse import quote, quote_plus

    if not secret:
        return frozenset()
    data = secret.encode("utf-8", "surrogatepass")
    once = quote(secret, safe="")
    derived = {
        quote(secret),
        once,
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), once),
        quote_plus(secret),
        quote(once, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        data.hex(),
        data.hex().upper(),
    }
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        derived.update({whole, whole.rstrip("=")})
        # Inside a longer base64 text the secret starts at a byte offset of 0, 1 or 2 modulo 3;
        # the characters that encode only its bits are the same whatever surrounds it.
        for offset in range(3):
            text = encode(bytes(offset) + data + bytes(2)).decode("ascii")
            first, last = -(-8 * offset // 6), (8 * (offset + len(data))) // 6
            derived.add(text[first:last])
    return frozenset({secret} | {form for form in derived if len(form) >= MIN_DERIVED_FORM})


@dataclass
class Redactor:
    """Replaces every secret value, in every form :func:`secret_forms` lists, with a
    placeholder."""

    secrets: Iterable[str]
    placeholder: str = "***"
    _forms: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        forms: set[str] = set()
        for secret in self.secrets:
            forms.update(secret_forms(secret))
        # Longest first, so an encoded form is not half-replaced by a shorter one.
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, self.placeholder)
        return text

    def finds(self, text: str) -> bool:
        """Whether ``text`` holds a secret in any form."""
        return any(form in text for form in self._forms)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    return Redactor(secrets)(text)
