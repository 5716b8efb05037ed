"""fast-bitrix24 (aiohttp, an async core behind a sync facade), through two of its paths.

``factory`` (``fast-bitrix24``): ``call(method, params, raw=True)``, one POST of the params as
JSON to ``{webhook}{method}``, answered with the parsed body. Reading that body as an envelope
is the application's job with ``raw=True``; this adapter does it the plain way (``error`` ->
``ApiError``, ``result`` -> ``Success`` with ``time`` and ``total``, anything else ->
``TransportFailure("bad-envelope")``). So envelope cases judge little of fast-bitrix24 here;
what it decides itself (HTTP errors, retries, encoding, timeouts) is what they judge.
Capabilities: ``status``, ``time``, ``total``, ``oauth``, ``retry`` (it retries every 5xx).

``factory_default`` (``fast-bitrix24-default``): the API its README leads with, ``call(method,
params)`` for get, add and delete, which sends each call as a ``batch`` command, and
``get_all(method, params)`` for list (``call`` refuses a call without params and points list
methods to ``get_all``). Their return values are what the application gets: ``Success(value)``
with neither ``time`` nor ``total``; an ``ErrorInServerResponseException`` carries the
command's ``{error, error_description}`` -> ``ApiError`` without a status. Capabilities:
``oauth``, ``retry``.

Both paths, from fast-bitrix24's own exceptions (their text is passed on as it is, and the
exception itself as the outcome's ``raised``, for the secret check):

- ``aiohttp.ClientResponseError`` (it opens its session with ``raise_for_status=True``, so a
  4xx body is never read) -> ``ApiError(None, text, status)``; ``ContentTypeError`` (a body
  that is not JSON) -> ``TransportFailure("non-json", text, status)``;
- ``RuntimeError("All attempts ... exhausted")`` after its retries -> by the exception it
  chains: a 5xx (``ServerError``) -> ``ApiError(None, text, status)``, a dropped connection ->
  ``TransportFailure("connection")``, a timeout -> ``TransportFailure("timeout")``;
- OAuth: ``token_func`` is fast-bitrix24's own refresh path (it asks it for a token again after
  an HTTP 401), passed through: each time it is asked it hands out ``Target.auth_token``, as
  an application whose refresh succeeds would, so how often fast-bitrix24 refreshes and
  replays is its own (CONTRACT.md 4.1: once per call); ``token_refreshes`` counts the asks
  after the first.

Knobs: none of its retry settings is changed. Its n-th retry waits 0.5 s * 1.5**(n - 4)
(0.15 s, 0.22 s, ...; ten of them 16.8 s) and it makes at most 11 attempts, so what the
retry and timeout cases see is fast-bitrix24 as shipped. (A shrunk first wait of 0.2 s put
its ten timed-out attempts and waits at 30.7 s, a hair past the case's 30 s deadline, and
its first two waits 0.03 s apart: each verdict then followed the machine's load.)

Its request timeout is set the way its constructor documents (``client``: an
``aiohttp.ClientSession`` the user configures, opens and closes): a session with
fast-bitrix24's own ``raise_for_status=True`` and ``Target.timeout`` per request (without it aiohttp
waits 5 minutes). Calls run on the adapter's private event loop, to which that session belongs,
so ``close()`` can cancel a call the suite gave up on before its retries reach the next case.
``verbose=False`` keeps progress bars off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any, Final

from conformance.adapters import installed_version, missing_extra
from conformance.api import ApiError, Outcome, Success, Target, TransportFailure
from conformance.wire import is_error_code

try:
    import aiohttp
    import fast_bitrix24
    import fast_bitrix24.srh
    from fast_bitrix24.server_response import (
        ErrorInServerResponseException,
    )
except ImportError as exc:
    raise missing_extra(__name__, "fast-bitrix24", "fast-bitrix24", exc) from None

_LIST_SUFFIXES: Final = (".list",)


class _NoRefresh(Exception):
    """The application holds no refresh token: it cannot give fast-bitrix24 a new one."""


class FastBitrix24Adapter:
    """fast-bitrix24's ``call(raw=True)``: the parsed body, read as an envelope."""

    name = "fast-bitrix24"
    version = installed_version("fast-bitrix24")
    capabilities = frozenset({"status", "time", "total", "oauth", "retry"})

    def __init__(self, target: Target) -> None:
        self._token = target.auth_token
        self._token_asks = 0
        oauth = target.auth_token is not None
        # One event loop per adapter: the session the client is given belongs to it. Both are
        # made on the first call, so an adapter that never calls leaves nothing open.
        self._loop = asyncio.new_event_loop()
        self._session: aiohttp.ClientSession | None = None
        self._timeout = target.timeout
        self.bitrix = fast_bitrix24.BitrixAsync(
            target.oauth_url if oauth else target.base_url,
            token_func=self._token_func if oauth else None,
            verbose=False,
        )
        self._lock = threading.Lock()
        self._task: asyncio.Future[Any] | None = None
        self._closed = False

    @property
    def token_refreshes(self) -> int:
        """How often fast-bitrix24 asked for a fresh token after the first one."""
        return max(self._token_asks - 1, 0)

    async def _token_func(self) -> str:
        if self._token is None:
            raise _NoRefresh("the application holds no access token")
        self._token_asks += 1
        return self._token

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        try:
            value = self._run(self.bitrix.call(method, dict(params), raw=True))
        except Exception as error:
            return _failure(error)
        return _envelope(value)

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        try:
            with self._lock:
                if self._closed:
                    coroutine.close()
                    raise asyncio.CancelledError
                if self._session is None:
                    self._session = self._loop.run_until_complete(_session(self._timeout))
                    # fast-bitrix24's documented option (the constructor's `client`), set on
                    # the request handler it made from it, as the constructor would.
                    self.bitrix.srh.session = self._session
                    self.bitrix.srh.client_provided_by_user = True
                self._task = self._loop.create_task(coroutine)
            return self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            # close() cancelled a call the suite had given up on: nothing is waiting for it.
            raise TimeoutError("cancelled: the suite stopped waiting for this call") from None
        finally:
            with self._lock:
                self._task = None
                closing = self._closed
            if closing:
                self._shut()

    def close(self) -> None:
        """Cancel a call still running after the suite's deadline; close session and loop."""
        with self._lock:
            self._closed = True
            task = self._task
            if task is not None and not self._loop.is_closed():
                # The call's own thread shuts the loop down once the call has ended.
                self._loop.call_soon_threadsafe(task.cancel)
                return
        self._shut()

    def _shut(self) -> None:
        if self._loop.is_closed():
            return
        if self._session is not None:
            self._loop.run_until_complete(self._session.close())
        self._loop.close()

    def __del__(self) -> None:
        # An adapter the suite made but never called (a skipped case) still owns its loop.
        with contextlib.suppress(Exception):
            if self._task is None:
                self._shut()


class FastBitrix24DefaultAdapter(FastBitrix24Adapter):
    """fast-bitrix24's default API: ``call`` (as a batch command) and ``get_all`` for lists."""

    name = "fast-bitrix24-default"
    capabilities = frozenset({"oauth", "retry"})

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        if method.lower().endswith(_LIST_SUFFIXES):
            coroutine = self.bitrix.get_all(method, dict(params))
        else:
            coroutine = self.bitrix.call(method, dict(params))
        try:
            value = self._run(coroutine)
        except ErrorInServerResponseException as error:
            return _command_error(error)
        except Exception as error:
            return _failure(error)
        return Success(value)


async def _session(timeout: float) -> aiohttp.ClientSession:
    """The session fast-bitrix24 is given (its ``client`` option): its own default settings
    (``raise_for_status=True``), and ``Target.timeout`` for each request."""
    return aiohttp.ClientSession(
        raise_for_status=True, timeout=aiohttp.ClientTimeout(total=timeout)
    )


def _envelope(body: Any) -> Outcome:
    """The plain reading of a v2 envelope, as an application using ``raw=True`` does it."""
    # An error that is neither string nor integer (false, a list) is no error envelope.
    if isinstance(body, dict) and "error" in body and is_error_code(body["error"]):
        description = body.get("error_description")
        return ApiError(body["error"], description if isinstance(description, str) else None)
    if isinstance(body, dict) and "result" in body and "error" not in body:
        timing = body.get("time")
        total = body.get("total")
        return Success(
            body["result"],
            timing if isinstance(timing, dict) else None,
            total if isinstance(total, int) else None,
        )
    return TransportFailure("bad-envelope", f"JSON without result or error: {type(body).__name__}")


def _command_error(error: Any) -> Outcome:
    """The first command's ``{error, error_description}`` of an ErrorInServerResponseException."""
    errors = error.args[0] if error.args else None
    first = next(iter(errors.values()), None) if isinstance(errors, dict) else None
    if not isinstance(first, dict):
        return ApiError(None, str(error), raised=error)
    description = first.get("error_description")
    text = description if isinstance(description, str) else None
    return ApiError(first.get("error"), text, raised=error)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it chains (fast-bitrix24 chains with ``raise ... from``)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _failure(error: Exception) -> Outcome:
    """What fast-bitrix24 raised, as an outcome; anything it does not document escapes."""
    text = str(error)
    status = next(
        (e.status for e in _chain(error) if isinstance(e, aiohttp.ClientResponseError)), None
    )
    # After its retries it raises RuntimeError from the last retried error.
    cause = error.__cause__ if isinstance(error, RuntimeError) else None
    if isinstance(error, aiohttp.ContentTypeError | json.JSONDecodeError):
        kind = "non-json"
    elif isinstance(error, aiohttp.ClientResponseError | _NoRefresh) or isinstance(
        cause, fast_bitrix24.srh.ServerError
    ):
        return ApiError(None, text, status, raised=error)
    elif isinstance(error, TimeoutError) or isinstance(cause, TimeoutError):
        kind = "timeout"
    elif isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        kind = "connection"
    else:
        raise error
    return TransportFailure(kind, text, status, raised=error)


def factory(target: Target) -> FastBitrix24Adapter:
    """``--client conformance.adapters.fast_bitrix24:factory``: ``call(raw=True)``."""
    return FastBitrix24Adapter(target)


def factory_default(target: Target) -> FastBitrix24DefaultAdapter:
    """``--client conformance.adapters.fast_bitrix24:factory_default``: ``call``/``get_all``."""
    return FastBitrix24DefaultAdapter(target)
