"""Where a live run goes: a portal named by the environment, never by a file or a log line.

``B24_WEBHOOK_URL`` (an incoming webhook, ``https://<portal>/rest/<user id>/<secret>/``) or,
for OAuth, ``B24_PORTAL_URL`` with ``B24_AUTH_TOKEN``. Messages name the variable, never its
value: the value is the secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

WEBHOOK_VAR: Final = "B24_WEBHOOK_URL"
PORTAL_VAR: Final = "B24_PORTAL_URL"
TOKEN_VAR: Final = "B24_AUTH_TOKEN"  # noqa: S105 - the name of a variable, not a token
#: Optional: the portal's member id (OAuth apps see it); scrubbed by value like a secret.
MEMBER_VAR: Final = "B24_MEMBER_ID"

#: Plain http is allowed for these hosts only (a fake portal, a tunnel): a webhook secret
#: never crosses a network in clear text.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})

_WEBHOOK_SHAPE: Final = "https://<portal>/rest/<user id>/<secret>/"
_WEBHOOK_PATH: Final = re.compile(r"^/rest/(?P<user>[^/]+)/(?P<secret>[^/]+)/?$")


class LiveTargetError(ValueError):
    """A missing or malformed portal address; the message names the variable, not the value."""


@dataclass(frozen=True)
class LivePortal:
    """A real portal and the credentials of one webhook or one OAuth token."""

    kind: Literal["webhook", "oauth"]
    origin: str
    user_id: int | str
    secret: str | None = None
    auth_token: str | None = None
    member_id: str | None = None

    @property
    def netloc(self) -> str:
        return urlsplit(self.origin).netloc

    @property
    def host(self) -> str:
        """The host name the run's network guard lets through."""
        return urlsplit(self.origin).hostname or ""

    @property
    def portal_url(self) -> str:
        return self.origin + "/"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value that must never be printed or stored."""
        return tuple(s for s in (self.secret, self.auth_token, self.member_id) if s)

    def __repr__(self) -> str:
        return f"LivePortal(kind={self.kind!r}, host={self.host!r}, secrets=***)"


def portal_from_env(env: Mapping[str, str], base_url: str | None = None) -> LivePortal:
    """The portal of ``--base-url`` or the environment; LiveTargetError names what is wrong."""
    member = env.get(MEMBER_VAR) or None
    if base_url is not None:
        return _webhook(base_url, "--base-url", member)
    if env.get(WEBHOOK_VAR):
        return _webhook(env[WEBHOOK_VAR], WEBHOOK_VAR, member)
    if env.get(PORTAL_VAR) or env.get(TOKEN_VAR):
        return _oauth(env.get(PORTAL_VAR, ""), env.get(TOKEN_VAR, ""), member)
    raise LiveTargetError(
        f"{WEBHOOK_VAR} is not set: live mode needs your webhook URL ({_WEBHOOK_SHAPE}) in "
        f"{WEBHOOK_VAR}, or {PORTAL_VAR} and {TOKEN_VAR} for OAuth"
    )


def _origin(url: str, name: str, expected: str) -> tuple[str, str]:
    """(``scheme://host[:port]``, path) of ``url``, or LiveTargetError naming ``name``."""
    problem = f"{name} is not {expected} (the value is not shown: it may hold a secret)"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise LiveTargetError(problem) from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise LiveTargetError(problem)
    if parts.query or parts.fragment:
        raise LiveTargetError(problem)
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise LiveTargetError(
            f"{name} uses http: a portal is called over https only (http is allowed for "
            f"{', '.join(sorted(LOOPBACK_HOSTS))})"
        )
    shown_host = f"[{host}]" if ":" in host else host
    netloc = f"{shown_host}:{port}" if port is not None else shown_host
    return f"{parts.scheme}://{netloc}", parts.path


def _webhook(url: str, name: str, member: str | None) -> LivePortal:
    expected = f"a webhook URL: expected {_WEBHOOK_SHAPE}"
    origin, path = _origin(url, name, expected)
    match = _WEBHOOK_PATH.match(path)
    if match is None:
        raise LiveTargetError(f"{name} is not {expected} (the value is not shown: it holds one)")
    user, secret = unquote(match["user"]), unquote(match["secret"])
    return LivePortal(
        kind="webhook",
        origin=origin,
        user_id=int(user) if user.isdigit() else user,
        secret=secret,
        member_id=member,
    )


def _oauth(url: str, token: str, member: str | None) -> LivePortal:
    if not url:
        raise LiveTargetError(f"{PORTAL_VAR} is not set: OAuth needs {PORTAL_VAR} and {TOKEN_VAR}")
    if not token.strip():
        raise LiveTargetError(f"{TOKEN_VAR} is not set: OAuth needs {PORTAL_VAR} and {TOKEN_VAR}")
    expected = "a portal address: expected https://<portal>/"
    origin, path = _origin(url, PORTAL_VAR, expected)
    if path.rstrip("/") not in ("", "/rest"):
        raise LiveTargetError(f"{PORTAL_VAR} is not {expected} (a path other than /rest/)")
    return LivePortal(
        kind="oauth", origin=origin, user_id=0, auth_token=token.strip(), member_id=member
    )
