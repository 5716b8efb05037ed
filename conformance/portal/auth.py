"""Who is calling: webhook users and OAuth tokens, checked the way the REST module does.

CONTRACT.md sections 1, 2.4, 3.1 and 6 (``Bitrix\\Rest\\APAuth\\Auth`` for webhooks,
``Bitrix\\Rest\\OAuth\\Auth`` for tokens).
Auth-class errors go through OAuthException, whose default HTTP status is 401.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from conformance.portal.envelope import PortalError
from conformance.wire import DecodedRequest

_SECRET_ALPHABET = string.ascii_lowercase + string.digits


def random_secret() -> str:
    """A webhook secret shaped like a real one: 16 lowercase letters and digits."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(16))


@dataclass(frozen=True)
class User:
    """A portal user with one incoming webhook."""

    id: int
    secret: str
    admin: bool = True
    extranet: bool = False
    scopes: frozenset[str] = frozenset({"crm"})
    login: str | None = None


@dataclass(frozen=True)
class Token:
    """An OAuth access token of the portal's application."""

    token: str
    user_id: int
    expires_at: float
    scopes: frozenset[str] = frozenset({"crm"})
    app: str = "app"


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the user, the granted scopes and the operating-limit key."""

    user: User
    scopes: frozenset[str]
    kind: Literal["webhook", "oauth"]
    credential: str

    @property
    def intranet_denied(self) -> bool:
        # The crm controllers add the IntranetUser pre-filter for non-admins only.
        return self.user.extranet and not self.user.admin


def _wrong_scope(kind: str) -> PortalError:
    holder = "webhook token" if kind == "webhook" else "access token."
    return PortalError(
        "insufficient_scope",
        f"The request requires higher privileges than provided by the {holder}",
        401,
    )


def scope_error(caller: Caller, scope: str) -> PortalError | None:
    return None if scope in caller.scopes else _wrong_scope(caller.kind)


class Directory:
    """Users and tokens of the portal; authenticates decoded requests."""

    def __init__(self, require_https: bool = False) -> None:
        self.require_https = require_https
        self._lock = threading.Lock()
        self._users: dict[int, User] = {}
        self._tokens: dict[str, Token] = {}

    def add_user(
        self,
        user_id: int,
        secret: str,
        *,
        admin: bool = True,
        extranet: bool = False,
        scopes: Iterable[str] = ("crm",),
        login: str | None = None,
    ) -> User:
        user = User(int(user_id), secret, admin, extranet, frozenset(scopes), login)
        with self._lock:
            self._users[user.id] = user
        return user

    def add_token(
        self,
        token: str,
        user_id: int,
        *,
        expires_in: float = 3600,
        scopes: Iterable[str] = ("crm",),
        app: str = "app",
    ) -> Token:
        entry = Token(token, int(user_id), time.time() + expires_in, frozenset(scopes), app)
        with self._lock:
            self._tokens[token] = entry
        return entry

    def user(self, user_id: int) -> User:
        with self._lock:
            try:
                return self._users[int(user_id)]
            except KeyError:
                raise KeyError(f"no user {user_id} on this portal: add_user() adds one") from None

    def authenticate(self, request: DecodedRequest, https: bool) -> Caller:
        if request.path_kind == "webhook":
            return self._webhook(request, https)
        return self._oauth(request)

    def _webhook(self, request: DecodedRequest, https: bool) -> Caller:
        if self.require_https and not https:
            raise PortalError("INVALID_REQUEST", "Https required.", 401)
        segment = request.user_id or ""
        with self._lock:
            if segment.isascii() and segment.isdigit():
                user = self._users.get(int(segment))
            else:
                # APAuth also accepts the user's login in place of the numeric id.
                user = next((u for u in self._users.values() if u.login == segment), None)
        given = (request.secret or "").encode("utf-8", "surrogateescape")
        if user is None or not hmac.compare_digest(given, user.secret.encode("utf-8")):
            raise PortalError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
        return Caller(user, user.scopes, "webhook", f"webhook:{user.id}")

    def _oauth(self, request: DecodedRequest) -> Caller:
        if request.token is None:
            raise PortalError("NO_AUTH_FOUND", "Wrong authorization data", 401)
        with self._lock:
            token = self._tokens.get(request.token)
            user = self._users.get(token.user_id) if token is not None else None
        if token is None or user is None:
            raise PortalError("invalid_token", "The access token provided is invalid", 401)
        if token.expires_at <= time.time():
            raise PortalError("expired_token", "The access token provided has expired", 401)
        return Caller(user, token.scopes, "oauth", f"oauth:{token.app}")
