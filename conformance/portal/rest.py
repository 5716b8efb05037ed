"""The REST layer between a request and a method (CRestServer, CONTRACT.md sections 2-4):
the method table, the scope check, the operating-time limit, ``start``, the intranet filter
and the lifting of ``total`` out of a list page."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from conformance.portal.auth import Caller, scope_error
from conformance.portal.batch import run_batch
from conformance.portal.envelope import Called, PortalError, Timing, php_intval
from conformance.portal.limits import OperatingLimiter
from conformance.portal.store import BadgeStore

#: The scope of methods every credential may call (CRestUtil::GLOBAL_SCOPE).
GLOBAL_SCOPE: Final = "_global"


def method_not_found() -> PortalError:
    return PortalError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)


@dataclass(frozen=True)
class Page:
    """What a list action returns: items under ``key`` and the count the REST layer lifts."""

    key: str
    items: list[Any]
    count: int


Action = Callable[["RestLayer", Mapping[str, Any], Caller], Any]


@dataclass(frozen=True)
class Method:
    scope: str
    action: Action
    #: Controller methods sit behind the crm IntranetUser pre-filter.
    intranet_only: bool = True
    #: The outer batch call is not counted in ``operating`` (CONTRACT.md 3.3).
    metered: bool = True


def _badge_add(rest: RestLayer, params: Mapping[str, Any], caller: Caller) -> Any:
    return rest.store.add(params, caller.user.admin)


def _badge_get(rest: RestLayer, params: Mapping[str, Any], caller: Caller) -> Any:
    return rest.store.get(params)


def _badge_list(rest: RestLayer, params: Mapping[str, Any], caller: Caller) -> Any:
    items = rest.store.badges()
    return Page("badges", items, len(items))


def _badge_delete(rest: RestLayer, params: Mapping[str, Any], caller: Caller) -> Any:
    return rest.store.delete(params, caller.user.admin)


def _batch(rest: RestLayer, params: Mapping[str, Any], caller: Caller) -> Any:
    return run_batch(rest.call, params, caller)


METHODS: Final[Mapping[str, Method]] = {
    "crm.activity.badge.add": Method("crm", _badge_add),
    "crm.activity.badge.get": Method("crm", _badge_get),
    "crm.activity.badge.list": Method("crm", _badge_list),
    "crm.activity.badge.delete": Method("crm", _badge_delete),
    "batch": Method(GLOBAL_SCOPE, _batch, intranet_only=False, metered=False),
}


class RestLayer:
    """Runs one method call for an authenticated caller; raises PortalError on failure."""

    def __init__(self, store: BadgeStore, limiter: OperatingLimiter | None) -> None:
        self.store = store
        self.limiter = limiter

    @staticmethod
    def exists(method: str | None) -> bool:
        return method is not None and method in METHODS

    def call(self, method: str, params: Mapping[str, Any], caller: Caller) -> Called:
        started = time.time()
        spec = METHODS.get(method)
        if spec is None:
            raise method_not_found()
        if spec.scope != GLOBAL_SCOPE and (error := scope_error(caller, spec.scope)) is not None:
            raise error
        if self.limiter is not None and spec.metered:
            self.limiter.check(caller.credential, method)
        query = dict(params)
        # processCall reads `start` and removes it before the method sees its parameters.
        start = php_intval(query.pop("start")) if "start" in query else 0
        processing_start = time.time()
        try:
            if spec.intranet_only and caller.intranet_denied:
                raise PortalError(
                    "allowed_only_intranet_user", "Action is allowed only for intranet users", 403
                )
            outcome = spec.action(self, query, caller)
        finally:
            processing = time.time() - processing_start
            operating: tuple[float, int] | None = None
            if self.limiter is not None:
                operating = (
                    self.limiter.charge(caller.credential, method)
                    if spec.metered
                    else self.limiter.state(caller.credential, method)
                )
        total: int | None = None
        if isinstance(outcome, Page):
            result: Any = {outcome.key: outcome.items}
            # The count is not calculated for start=-1, so total is left out.
            total = outcome.count if start != -1 else None
        else:
            result = outcome
        timing = Timing(
            start=started,
            processing=processing,
            operating=operating[0] if operating else None,
            operating_reset_at=operating[1] if operating else None,
        )
        return Called(result, total, timing)
