"""The modes a run can use, declared once: how each makes its transport, what it reaches.

Adding a mode is one :class:`Mode` entry here plus its transport module (a class satisfying
``conformance.transports.Transport``). The CLI's and the plugin's ``--mode`` choices come from
:data:`MODES`; the mode enums in ``schemas/case.json`` and ``schemas/baseline.json`` are
checked against it by tests/test_modes.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from conformance.live.gateway import Gateway
from conformance.live.transport import LiveTransport
from conformance.portal.transport import PortalTransport
from conformance.transports import ReplayTransport, StubTransport, Transport


class UnknownMode(ValueError):
    """A mode name that no entry of the registry declares."""


@dataclass(frozen=True)
class TransportOptions:
    """What a run hands a mode's transport maker."""

    #: serve portal mode (and the live gateway) over https
    tls: bool = False
    #: the live run's gateway (live mode only)
    gateway: Gateway | None = None
    #: replay mode: play this cassette instead of the case's own
    cassette: Path | None = None
    #: live mode: the CA bundle of the gateway's certificate, and the clients' timeout
    ca_bundle: str | None = None
    timeout: float = 10.0


class RerunSettings(Protocol):
    """The parts of a run configuration that a rerun command repeats."""

    @property
    def tls(self) -> bool: ...

    @property
    def allow_writes(self) -> bool: ...


@dataclass(frozen=True)
class Mode:
    """One way of serving the cases to a client."""

    name: str
    #: what the mode is, for help texts
    description: str
    #: which clients the mode can intercept (said when it sees none of their requests)
    intercepts: str
    #: runs without any server or network (stub, replay); portal starts a loopback server
    offline: bool
    #: part of a run that names no mode
    default: bool
    #: serves the case catalogue (conformance/cases/*.yaml); live serves its own probes
    catalogue: bool
    make: Callable[[TransportOptions], Transport]
    #: flags a rerun command needs to repeat the mode as the run used it
    rerun_flags: Callable[[RerunSettings], tuple[str, ...]]


def _no_flags(settings: RerunSettings) -> tuple[str, ...]:
    return ()


def _tls_flags(settings: RerunSettings) -> tuple[str, ...]:
    return ("--tls",) if settings.tls else ()


def _live_flags(settings: RerunSettings) -> tuple[str, ...]:
    return _tls_flags(settings) + (("--allow-writes",) if settings.allow_writes else ())


def _stub(options: TransportOptions) -> Transport:
    return StubTransport()


def _replay(options: TransportOptions) -> Transport:
    return ReplayTransport(cassette=str(options.cassette) if options.cassette else None)


def _portal(options: TransportOptions) -> Transport:
    return PortalTransport(tls=options.tls)


def _live(options: TransportOptions) -> Transport:
    if options.gateway is None:
        raise UnknownMode("live mode serves through a running live gateway; none was given")
    return LiveTransport(options.gateway, ca_bundle=options.ca_bundle, timeout=options.timeout)


MODES: Final[dict[str, Mode]] = {
    mode.name: mode
    for mode in (
        Mode(
            "stub",
            "responses stubs in process",
            "clients on requests",
            offline=True,
            default=True,
            catalogue=True,
            make=_stub,
            rerun_flags=_no_flags,
        ),
        Mode(
            "replay",
            "vcrpy cassettes in process",
            "clients on requests, httpx, aiohttp, urllib3 or http.client",
            offline=True,
            default=True,
            catalogue=True,
            make=_replay,
            rerun_flags=_no_flags,
        ),
        Mode(
            "portal",
            "the fake portal, a real HTTP(S) server on 127.0.0.1",
            "any client in any language",
            offline=False,
            default=True,
            catalogue=True,
            make=_portal,
            rerun_flags=_tls_flags,
        ),
        Mode(
            "live",
            "your portal from B24_WEBHOOK_URL, through a gateway on 127.0.0.1",
            "any client in any language",
            offline=False,
            default=False,
            catalogue=False,
            make=_live,
            rerun_flags=_live_flags,
        ),
    )
}

MODE_NAMES: Final[tuple[str, ...]] = tuple(MODES)
DEFAULT_MODES: Final[tuple[str, ...]] = tuple(name for name, mode in MODES.items() if mode.default)
#: Modes that serve the case catalogue, as the case format's ``modes`` enum lists them.
CATALOGUE_MODES: Final[tuple[str, ...]] = tuple(
    name for name, mode in MODES.items() if mode.catalogue
)
OFFLINE_MODES: Final[tuple[str, ...]] = tuple(name for name, mode in MODES.items() if mode.offline)


def mode(name: str) -> Mode:
    """The registry entry of ``name``; UnknownMode names the modes there are."""
    try:
        return MODES[name]
    except KeyError:
        raise UnknownMode(
            f"unknown mode {name!r}: expected one of {', '.join(MODE_NAMES)}"
        ) from None


def make_transport(name: str, options: TransportOptions | None = None) -> Transport:
    """A fresh transport of mode ``name``."""
    return mode(name).make(options or TransportOptions())


__all__: Final[Any] = [
    "CATALOGUE_MODES",
    "DEFAULT_MODES",
    "MODES",
    "MODE_NAMES",
    "OFFLINE_MODES",
    "Mode",
    "RerunSettings",
    "TransportOptions",
    "UnknownMode",
    "make_transport",
    "mode",
]
