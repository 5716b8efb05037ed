"""The badge table and the controller's actions, in the server's validation order.

CONTRACT.md section 1 (source: crm ``Controller\\Activity\\Badge`` and ``CustomBadgeTable``):
the parameter binder first (error 100), then the admin check, then title, value and type,
then the ORM insert (required code, unique code). Only the first error is reported.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from conformance.portal.envelope import PortalError, php_str

#: Language codes of the portal (CultureTable); map keys are compared strictly.
LANGUAGES: Final = frozenset(
    (
        "en",
        "de",
        "ru",
        "ua",
        "la",
        "br",
        "fr",
        "pl",
        "it",
        "tr",
        "ja",
        "vn",
        "id",
        "ms",
        "kz",
        "sc",
        "tc",
        "th",
    )
)

#: CustomBadgeTable::ALLOWED_TYPES, compared case-sensitively.
BADGE_TYPES: Final = ("success", "failure", "warning", "primary", "secondary")


@dataclass(frozen=True)
class Badge:
    """One row of b_crm_custom_badge, as CustomBadge::jsonSerialize writes it."""

    code: str
    title: Any
    value: Any
    type: str

    def as_dict(self) -> dict[str, Any]:
        # Exactly four keys, in this order, and no id.
        return {
            "code": self.code,
            "title": copy.deepcopy(self.title),
            "value": copy.deepcopy(self.value),
            "type": self.type,
        }


def collation_key(code: str) -> str:
    """How MySQL's default collation compares codes: case-insensitive, trailing spaces ignored."""
    return code.rstrip(" ").casefold()


# --- the parameter binder (main/lib/engine/autowire/binder.php) ----------------------------


def bind(params: Mapping[str, Any], name: str) -> Any:
    """An untyped action parameter: present (any value, null included) or error 100."""
    if name not in params:
        raise PortalError(100, f"Could not find value for parameter {{{name}}}")
    return params[name]


def bind_string(params: Mapping[str, Any], name: str) -> str:
    """A ``string $name`` parameter: over JSON only a JSON string passes the type check."""
    value = bind(params, name)
    if not isinstance(value, str):
        raise PortalError(
            100,
            f"Invalid value {php_str(value)} to match with parameter {{{name}}}. "
            "Should be value of type string.",
        )
    return value


# --- the controller's own checks ------------------------------------------------------------


def _required(field: str) -> PortalError:
    return PortalError("REQUIRED_ARG_MISSING", f"Argument '{field}' is required")


def text_error(text: Any, field: str) -> PortalError | None:
    """The first error validateTranslatedText reports for a title or value, if any."""
    if isinstance(text, str):
        return _required(field) if text == "" else None
    if isinstance(text, dict | list):
        entries = list(text.items()) if isinstance(text, dict) else list(enumerate(text))
        if not entries:
            # The source lets an empty array through and the badge would echo `[]`, which no
            # contract form allows; answer as for any other empty title instead.
            return _required(field)
        for language, translated in entries:
            if not (isinstance(language, str) and language in LANGUAGES):
                return PortalError(0, f"Language `{language}` was not found")
            if not isinstance(translated, str) or translated == "":
                return PortalError(0, f"Wrong value of field `{field}` for language {language}")
        return None
    # Numbers, booleans and null are neither a string nor an array.
    return _required(field)


def type_error(badge_type: str) -> PortalError | None:
    if badge_type not in BADGE_TYPES:
        return PortalError("WRONG_TYPE_VALUE", "Wrong value of field `type`")
    return None


def _access_denied() -> PortalError:
    return PortalError("ACCESS_DENIED", "Access denied")


def _not_found(code: str) -> PortalError:
    return PortalError("NOT_FOUND", f"Badge not found for code `{code}`")


class BadgeStore:
    """The portal's badges: global, keyed by code under MySQL's collation, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._badges: dict[str, Badge] = {}
        self._in_use: set[str] = set()

    def clear(self) -> None:
        with self._lock:
            self._badges.clear()
            self._in_use.clear()

    def mark_in_use(self, code: str, in_use: bool = True) -> None:
        """An open activity shows the badge (or no longer does): delete is refused while it does."""
        with self._lock:
            if in_use:
                self._in_use.add(collation_key(code))
            else:
                self._in_use.discard(collation_key(code))

    # --- actions: each takes the bound request parameters and whether the caller is admin ---

    def add(self, params: Mapping[str, Any], admin: bool) -> dict[str, Any]:
        code = bind_string(params, "code")
        title = bind(params, "title")
        value = bind(params, "value")
        badge_type = bind_string(params, "type")
        if not admin:
            raise _access_denied()
        # All three checks run, but only the first error reaches the client.
        errors = (text_error(title, "title"), text_error(value, "value"), type_error(badge_type))
        for error in errors:
            if error is not None:
                raise error
        if code == "":
            raise PortalError("BX_EMPTY_REQUIRED", 'Field "CODE" is required')
        badge = Badge(code, copy.deepcopy(title), copy.deepcopy(value), badge_type)
        with self._lock:
            key = collation_key(code)
            if key in self._badges:
                raise PortalError("BX_INVALID_VALUE", "Code must be unique")
            self._badges[key] = badge
        return {"badge": badge.as_dict()}

    def get(self, params: Mapping[str, Any]) -> dict[str, Any]:
        code = bind_string(params, "code")
        with self._lock:
            badge = self._badges.get(collation_key(code))
        if badge is None:
            raise _not_found(code)
        return {"badge": badge.as_dict()}

    def badges(self) -> list[dict[str, Any]]:
        with self._lock:
            return [badge.as_dict() for badge in self._badges.values()]

    def delete(self, params: Mapping[str, Any], admin: bool) -> bool:
        code = bind_string(params, "code")
        if not admin:
            raise _access_denied()
        with self._lock:
            key = collation_key(code)
            if key not in self._badges:
                raise _not_found(code)
            if key in self._in_use:
                raise PortalError(
                    "ENTITY_WITH_BADGE_EXISTS",
                    "There are entities with this badge. Delete them first.",
                )
            del self._badges[key]
        return True
