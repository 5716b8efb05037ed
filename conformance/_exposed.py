"""Everything a client hands back or raises, as the texts its own caller could log.

A caller that logs ``str(error)``, ``repr(error)``, ``error.args`` or the traceback (which
prints the whole ``__cause__``/``__context__`` chain and every ``__notes__`` line) shows all
of them; the secret check reads every one, for the exception that escaped and for the one an
adapter caught to report an outcome (``ApiError.raised``, ``TransportFailure.raised``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pytest_socket import SocketBlockedError, SocketConnectBlockedError

__all__ = ["MAX_ERRORS", "chained", "error_texts", "message_texts", "reached_for_the_network"]

#: How many exceptions of one chain (causes, contexts, group members) are read: a chain that
#: long is a loop the ids did not catch, or a client that chains every retry.
MAX_ERRORS: Final = 64
#: How deep the args of an exception, or the fields of a harness message, are walked.
MAX_DEPTH: Final = 8


def error_texts(error: BaseException) -> Iterator[tuple[str, str, str]]:
    """(which exception, which part, text) for ``error`` and every exception it chains: its
    str, repr, each of args and each note. The first is ``the exception TypeName``, the
    others are named by their way from it (``__cause__.__context__ TypeName``)."""
    seen: set[int] = set()
    pending: list[tuple[BaseException, str]] = [(error, "")]
    while pending and len(seen) < MAX_ERRORS:
        current, path = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        which = f"{path or 'the exception'} {type(current).__name__}"
        yield which, "str", _safe(str, current)
        yield which, "repr", _safe(repr, current)
        for index, argument in enumerate(current.args):
            for _, text in _value_texts(argument, "", 0):
                yield which, f"args[{index}]", text
        for index, note in enumerate(getattr(current, "__notes__", None) or ()):
            yield which, f"note {index + 1}", _safe(str, note)
        way = f"{path}." if path else ""
        if current.__cause__ is not None:
            pending.append((current.__cause__, f"{way}__cause__"))
        if current.__context__ is not None:
            # `raise ... from None` hides the context from tracebacks, not from a caller that
            # walks __context__: it is read all the same.
            pending.append((current.__context__, f"{way}__context__"))
        for index, member in enumerate(getattr(current, "exceptions", None) or ()):
            if isinstance(member, BaseException):
                pending.append((member, f"{way}exceptions[{index}]"))


def chained(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception on its ``__cause__``/``__context__`` chain, once each."""
    seen: set[int] = set()
    pending = [error]
    while pending and len(seen) < MAX_ERRORS:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def reached_for_the_network(error: BaseException) -> bool:
    """Whether ``error`` came from an attempt to reach the network: an OSError on its chain
    (a refused connection, a name that does not resolve, a timeout: requests', aiohttp's and
    httpx's errors all carry or chain one) or the run's network guard refusing a socket. A
    client that raises that sent its request by a way the mode does not intercept."""
    refused = (OSError, SocketBlockedError, SocketConnectBlockedError)
    return any(isinstance(one, refused) for one in chained(error))


def message_texts(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(place, text) for every string in a decoded harness message, named by its field."""
    yield from _value_texts(value, where, 0, fields=True)


def _value_texts(
    value: Any, place: str, depth: int, *, fields: bool = False
) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield place, value
    elif isinstance(value, BaseException):
        for which, part, text in error_texts(value):
            yield f"{place}: {which} ({part})", text
    elif depth >= MAX_DEPTH:
        yield place, _safe(repr, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{place}, field {key}" if fields else f"{place}[{key!r}]"
            yield inner, _safe(str, key)
            yield from _value_texts(item, inner, depth + 1, fields=fields)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _value_texts(item, f"{place}[{index}]", depth + 1, fields=fields)
    elif value is not None and not isinstance(value, bool | int | float):
        yield place, _safe(repr, value)


def _safe(render: Any, value: object) -> str:
    """``render(value)``; a client's __str__ or __repr__ that raises is not the suite's failure."""
    try:
        return str(render(value))
    except Exception as exc:  # any client code may run here
        return f"<{type(value).__name__}: {render.__name__} raised {type(exc).__name__}>"
