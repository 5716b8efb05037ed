"""Load an adapter factory from a ``--client`` spec."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Final

from conformance.api import AdapterFactory
from conformance.errors import UsageError

BUILTIN_CLIENTS: Final = {"reference": "conformance.reference:factory"}

SPEC_FORMS: Final = (
    "'reference' (the default), 'miniature:<name>' (a deliberately broken client from "
    "conformance.testing), 'package.module:factory' or 'cmd:<command line>' (a harness in "
    "any language speaking the harness protocol, see docs/harness-protocol.md)"
)


class ClientSpecError(UsageError):
    """A ``--client`` value that names no adapter factory; the message says what is allowed."""


def load_factory(spec: str) -> AdapterFactory:
    """The factory a spec names: a built-in, a miniature, ``package.module:factory`` or ``cmd:``."""
    text = spec.strip()
    if text.startswith("cmd:"):
        return _harness(text.removeprefix("cmd:"), spec)
    if text in BUILTIN_CLIENTS:
        text = BUILTIN_CLIENTS[text]
    if text.startswith("miniature:"):
        return _miniature(text.removeprefix("miniature:"), spec)
    module_name, colon, attribute = text.partition(":")
    if not colon or not module_name or not attribute:
        raise ClientSpecError(f"--client {spec!r} is not a client spec: expected {SPEC_FORMS}")
    module = _import_adapter_module(module_name, spec)
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)  # type: ignore[assignment]
        if factory is None:
            raise ClientSpecError(
                f"--client {spec!r}: module {module_name!r} has no attribute {attribute!r}"
            )
    if not callable(factory):
        raise ClientSpecError(f"--client {spec!r}: {attribute!r} is not callable")
    return factory


@contextmanager
def _working_directory_importable() -> Iterator[None]:
    """The working directory on ``sys.path`` for one import, as ``python -m`` puts it there.

    A console script's ``sys.path`` starts at its own bin directory, so ``--client
    my_adapter:factory`` beside my_adapter.py would not import; the entry is taken out again so
    the rest of the run resolves imports as the user's environment does.
    """
    here = os.getcwd()
    if here in sys.path or "" in sys.path:
        yield
        return
    sys.path.insert(0, here)
    try:
        yield
    finally:
        if here in sys.path:
            sys.path.remove(here)


#: Seconds an adapter module may take to import: one that hangs there would hang the run.
IMPORT_DEADLINE: Final = 30.0


class _ImportTookTooLong(Exception):
    pass


def _import_adapter_module(module_name: str, spec: str) -> ModuleType:
    """Import the adapter's module; whatever goes wrong there (any exception, SystemExit, a
    hang past IMPORT_DEADLINE) is a ClientSpecError of one line naming the module."""
    try:
        with _deadline(IMPORT_DEADLINE), _working_directory_importable():
            return importlib.import_module(module_name)
    except ImportError as exc:
        raise ClientSpecError(
            f"--client {spec!r}: cannot import module {module_name!r} ({_one_line(exc)}); "
            f"expected {SPEC_FORMS}"
        ) from None
    except _ImportTookTooLong:
        raise ClientSpecError(
            f"--client {spec!r}: importing module {module_name!r} did not finish within "
            f"{IMPORT_DEADLINE:g}s"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: an adapter's import never ends the run
        raise ClientSpecError(
            f"--client {spec!r}: importing module {module_name!r} raised {_one_line(exc)}"
        ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, ImportError):
        return text
    shown = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return shown if len(shown) <= 200 else shown[:197] + "..."


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _ImportTookTooLong in the block after ``seconds``.

    A real-time alarm interrupts the import where it runs, in the main thread, so the module
    is imported once, where signal handlers and event loops behave as in the user's program
    (an import on a helper thread, or a probe in a subprocess, would change either). Where
    there is no SIGALRM (Windows) or off the main thread, the import runs without a limit.
    """
    alarm = getattr(signal, "SIGALRM", None)
    if alarm is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _ImportTookTooLong

    previous = signal.signal(alarm, expire)
    earlier = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(alarm, previous)
        if earlier[0]:  # someone else's alarm (pytest-timeout): give it back what is left
            signal.setitimer(signal.ITIMER_REAL, earlier[0], earlier[1])


def _miniature(name: str, spec: str) -> AdapterFactory:
    from conformance import testing

    registry = getattr(testing, "MINIATURES", {})
    if name not in registry:
        known = ", ".join(sorted(registry)) or "none"
        raise ClientSpecError(f"--client {spec!r}: no miniature named {name!r}; known: {known}")
    factory: AdapterFactory = registry[name]
    return factory


def _harness(command: str, spec: str) -> AdapterFactory:
    from conformance.harness import load_harness_factory, split_command

    try:
        argv = split_command(command)
    except ValueError as exc:
        raise ClientSpecError(f"--client {spec!r}: {exc}; expected 'cmd:<command line>'") from None
    program = argv[0]
    if os.sep in program or (os.altsep and os.altsep in program):
        found, where = os.path.isfile(program) and os.access(program, os.X_OK), "an executable file"
    else:
        found, where = shutil.which(program) is not None, "on PATH"
    if not found:
        raise ClientSpecError(
            f"--client {spec!r}: the harness program {program!r} is not {where}; "
            "expected 'cmd:<command line>' whose first word is an executable"
        )
    return load_harness_factory(argv)
