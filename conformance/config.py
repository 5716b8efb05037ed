"""One run configuration: the options of ``run`` declared once, and the one function that
turns their values into a validated :class:`RunConfig`.

``b24-conformance run`` declares its click options from :data:`RUN_OPTIONS`, and the pytest
plugin its ``--b24-*`` options from the same table; both hand the values they parsed to
:func:`build_config`, so both validate alike and name the option as the user typed it.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

from conformance.baseline import EMPTY, Baseline, load_baseline
from conformance.clients import ClientSpecError, load_factory
from conformance.errors import UsageError
from conformance.live.budget import (
    DEFAULT_BURST,
    DEFAULT_MAX_REQUESTS,
    DEFAULT_RATE,
    BudgetSettings,
)
from conformance.live.run import LiveSettings
from conformance.modes import DEFAULT_MODES, MODE_NAMES, MODES
from conformance.properties import HYPOTHESIS_PROFILES
from conformance.results import DEFAULT_DEADLINE, STALL_DEADLINE

#: A harness is a process of its own: only the default modes that serve over a real server
#: (not in-process interception) can see its requests.
HARNESS_MODES: Final[tuple[str, ...]] = tuple(
    name for name in DEFAULT_MODES if not MODES[name].offline
)

Kind = Literal["text", "int", "float", "flag", "multiple", "dir", "file"]


@dataclass(frozen=True)
class RunOption:
    """One option of ``run``: ``--NAME`` on the command line, ``--b24-NAME`` under pytest."""

    name: str
    kind: Kind
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    #: the smallest value allowed (int and float options)
    minimum: float | None = None
    #: ``minimum`` itself is not allowed
    above: bool = False
    hidden: bool = False
    metavar: str | None = None

    @property
    def dest(self) -> str:
        """The option's key in the values mapping."""
        return self.name.replace("-", "_")


RUN_OPTIONS: Final[tuple[RunOption, ...]] = (
    RunOption(
        "client",
        "text",
        "The client: reference, miniature:NAME (a deliberately broken client), "
        "package.module:factory (a Python adapter) or 'cmd:COMMAND LINE' (a harness in any "
        "language, see docs/harness-protocol.md).",
        default="reference",
    ),
    RunOption(
        "mode",
        "multiple",
        "Transport; repeat for several. Default: "
        + ", ".join(DEFAULT_MODES)
        + " ("
        + ", ".join(HARNESS_MODES)
        + " for a cmd: client). "
        + "; ".join(f"{name}: {mode.description}" for name, mode in MODES.items())
        + " (see docs/live.md).",
        choices=MODE_NAMES,
    ),
    RunOption("case", "multiple", "Run only this case or property id; repeatable."),
    RunOption(
        "report",
        "dir",
        "Write report.json, report.md, report.html and junit.xml into this directory.",
    ),
    RunOption("baseline", "file", "YAML file listing the client's expected failures."),
    RunOption(
        "baseline-update",
        "file",
        "Write a baseline of this run's failures to this file: entries that stay keep their "
        "reasons, new ones are marked for review.",
    ),
    RunOption("seed", "int", "Seed for generated inputs (recorded in the report)."),
    RunOption(
        "tls",
        "flag",
        "Serve portal mode (and the live gateway) over https (CA bundle in Target.ca_bundle).",
    ),
    RunOption(
        "hypothesis-profile",
        "text",
        "Profile of the generated-input properties.",
        default="ci",
        choices=tuple(HYPOTHESIS_PROFILES),
    ),
    RunOption(
        "validate-protocol", "flag", "cmd: clients: validate every harness message both ways."
    ),
    RunOption(
        "no-properties", "flag", "Run the fixed cases only, not the generated-input properties."
    ),
    RunOption(
        "allow-writes",
        "flag",
        "Live: also run the stateful cases, which add (and delete) badges under a run prefix.",
    ),
    RunOption(
        "budget-rate",
        "float",
        "Live: requests per second after the burst (the portal's drain rate).",
        default=DEFAULT_RATE,
        minimum=0,
        above=True,
    ),
    RunOption(
        "budget-burst",
        "int",
        "Live: the portal's bucket size; the run keeps two slots of headroom.",
        default=DEFAULT_BURST,
        minimum=1,
    ),
    RunOption(
        "max-requests",
        "int",
        "Live: requests one run may send (deleting what it created is never refused).",
        default=DEFAULT_MAX_REQUESTS,
        minimum=1,
    ),
    RunOption(
        "cassettes",
        "dir",
        "Replay the cassettes in this directory (e.g. from `record`) instead of the catalogue's.",
    ),
    RunOption("record", "dir", "Live: write a scrubbed cassette per case here.", hidden=True),
    RunOption(
        "run-id", "text", "Live: the run id in the code prefix (random by default).", hidden=True
    ),
    RunOption(
        "deadline",
        "float",
        "Seconds one client call may take before it counts as hung (default "
        f"{DEFAULT_DEADLINE:g}; {STALL_DEADLINE:g} on cases where the portal stalls; plus any "
        "wait the case's answers announce). Given, it applies to every case.",
        minimum=0.1,
    ),
    RunOption(
        "strict",
        "flag",
        "Fail the run on should and may shortfalls too, not only on must ones.",
    ),
)

OPTIONS_BY_DEST: Final[Mapping[str, RunOption]] = {option.dest: option for option in RUN_OPTIONS}
#: Options that only a live run reads.
LIVE_ONLY: Final = (
    "allow_writes",
    "budget_rate",
    "budget_burst",
    "max_requests",
    "record",
    "run_id",
)


@dataclass
class RunConfig:
    """A validated run: everything the session needs, built by :func:`build_config`."""

    client: str = "reference"
    modes: tuple[str, ...] = DEFAULT_MODES
    report_dir: Path | None = None
    baseline: Baseline = EMPTY
    seed: int | None = None
    #: seconds a call may take; None: each case's own (DEFAULT_DEADLINE, STALL_DEADLINE)
    deadline: float | None = None
    #: should and may shortfalls fail the run too
    strict: bool = False
    case_ids: tuple[str, ...] = ()
    #: serve portal mode over https (clients that insist on TLS)
    tls: bool = False
    #: hypothesis profile of the properties: dev, ci or live
    hypothesis_profile: str = "ci"
    #: validate every harness message both ways (cmd: clients)
    validate_protocol: bool = False
    #: run the generated-input properties beside the cases
    properties: bool = True
    #: live mode (``--mode live``): writes, budget, recording; the portal comes from the env
    live: LiveSettings | None = None
    #: replay mode plays the cassettes in this directory (a recording) instead of the catalogue
    cassettes: Path | None = None
    #: ``run --baseline-update FILE``: write a baseline from this run's failures
    baseline_update: Path | None = None
    #: the day baseline entries expire against (None: today); tests pass one in
    today: date | None = None
    #: how the user spells the options (``--`` or ``--b24-``), for messages after validation
    option_prefix: str = "--"
    #: the option values this configuration was built from (for pytest-xdist workers)
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def allow_writes(self) -> bool:
        return self.live is not None and self.live.allow_writes


def option_default(dest: str) -> Any:
    """The default value of option ``dest`` (``[]`` for repeatable ones)."""
    option = OPTIONS_BY_DEST[dest]
    if option.kind == "multiple":
        return ()
    if option.kind == "flag":
        return False
    return option.default


def build_config(
    values: Mapping[str, Any],
    *,
    prefix: str = "--",
    base_url: str | None = None,
    cassettes_checked: bool = False,
) -> RunConfig:
    """The RunConfig of a set of option values (keys: each option's ``dest``; a missing key
    takes the default). ``prefix`` is how the user spells the options (``--`` on the command
    line, ``--b24-`` under pytest), for the messages; ``base_url`` is the live ``--base-url``,
    which is never part of ``values`` (they travel to worker processes).
    ``cassettes_checked``: the process that handed these values on (an xdist worker's
    controller) has checked every cassette the replay would play, so they are not read again.

    Raises UsageError naming the option, the value given and what is allowed.
    """
    unknown = sorted(set(values) - set(OPTIONS_BY_DEST))
    if unknown:
        raise UsageError(f"unknown run option {unknown[0]!r}")
    given = {dest: values.get(dest, option_default(dest)) for dest in OPTIONS_BY_DEST}

    def flag(dest: str) -> str:
        return prefix + OPTIONS_BY_DEST[dest].name

    for dest, option in OPTIONS_BY_DEST.items():
        _check_value(option, given[dest], flag(dest))
    client = str(given["client"])
    try:
        load_factory(client)  # a spec that names no factory is a usage error before anything runs
    except ClientSpecError as exc:
        raise ClientSpecError(_as_typed(str(exc), "--client", flag("client"))) from None
    baseline = (
        load_baseline(given["baseline"], option=flag("baseline")) if given["baseline"] else EMPTY
    )
    baseline_update = Path(given["baseline_update"]) if given["baseline_update"] else None
    if baseline_update is not None and baseline_update.is_file() and not given["baseline"]:
        # An existing target must be a baseline: the entries that stay keep its reasons.
        load_baseline(baseline_update, option=flag("baseline_update"))
    modes = tuple(dict.fromkeys(given["mode"]))
    cassettes = Path(given["cassettes"]) if given["cassettes"] else None
    if cassettes is not None:
        modes = modes or ("replay",)
        if "replay" not in modes:
            raise UsageError(f"{flag('cassettes')} applies to {prefix}mode replay only")
    modes = modes or default_modes(client)
    if "replay" in modes and not cassettes_checked:
        _check_cassettes(cassettes, tuple(given["case"]))
    live = None
    if "live" in modes:
        live = _live_settings(given, flag, prefix, base_url)
    else:
        _refuse_live_only(given, flag, prefix, base_url)
    report_dir = Path(given["report"]) if given["report"] else None
    if report_dir is not None:
        _check_report_dir(report_dir, flag("report"))
    return RunConfig(
        client=client,
        modes=modes,
        report_dir=report_dir,
        baseline=baseline,
        seed=given["seed"],
        deadline=None if given["deadline"] is None else float(given["deadline"]),
        strict=bool(given["strict"]),
        case_ids=tuple(given["case"]),
        tls=bool(given["tls"]),
        hypothesis_profile=str(given["hypothesis_profile"]),
        validate_protocol=bool(given["validate_protocol"]),
        properties=not given["no_properties"],
        live=live,
        cassettes=cassettes,
        baseline_update=baseline_update,
        option_prefix=prefix,
        values={dest: _plain(given[dest]) for dest in OPTIONS_BY_DEST},
    )


def _as_typed(message: str, flag: str, typed: str) -> str:
    """``message`` naming the option as the user typed it (``--b24-client`` under pytest)."""
    return typed + message.removeprefix(flag) if message.startswith(flag + " ") else message


def default_modes(client: str) -> tuple[str, ...]:
    """The modes of a run that names none: what can intercept ``client``'s requests."""
    return HARNESS_MODES if client.strip().startswith("cmd:") else DEFAULT_MODES


def _live_settings(
    given: Mapping[str, Any], flag: Callable[[str], str], prefix: str, base_url: str | None
) -> LiveSettings:
    """A live run's settings from the option values; UsageError for a budget that cannot be."""
    try:
        budget = BudgetSettings(
            rate=given["budget_rate"],
            burst=given["budget_burst"],
            max_requests=given["max_requests"],
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return LiveSettings(
        allow_writes=bool(given["allow_writes"]),
        budget=budget,
        record_dir=Path(given["record"]) if given["record"] else None,
        run_id=given["run_id"] or secrets.token_hex(4),
        tls=bool(given["tls"]),
        base_url=base_url,
    )


def _refuse_live_only(
    given: Mapping[str, Any], flag: Callable[[str], str], prefix: str, base_url: str | None
) -> None:
    """Options only a live run reads are a usage error in any other run."""
    for dest in LIVE_ONLY:
        if given[dest] != option_default(dest):
            raise UsageError(f"{flag(dest)} applies to {prefix}mode live only")
    if base_url is not None:
        raise UsageError(f"{prefix}base-url applies to {prefix}mode live only")


def _check_cassettes(recording: Path | None, case_ids: tuple[str, ...]) -> None:
    """Refuse (CassetteError, exit 2) a cassette the replay would play that cannot be played:
    found out before any case runs, and never blamed on the client."""
    from conformance._cassette_file import check_cassette_files
    from conformance.transports import cassette_path

    if recording is not None:
        files = sorted(recording.glob("*.yaml")) if recording.is_dir() else []
    elif case_ids:
        files = [path for path in map(cassette_path, case_ids) if path.is_file()]
    else:
        files = sorted(cassette_path("x").parent.glob("*.yaml"))
    check_cassette_files(files)


def _check_report_dir(directory: Path, flag: str) -> None:
    """Raise UsageError unless the reports can be written to ``directory`` (made if missing):
    found out before any case runs, not after the whole run."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != directory and not existing.is_dir():
        raise UsageError(
            f"{flag} {str(directory)!r}: cannot make the directory, {str(existing)!r} is a "
            "file; expected a directory to write the reports to"
        )
    if existing == directory and not directory.is_dir():
        raise UsageError(
            f"{flag} {str(directory)!r} is a file; expected a directory to write the reports to"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"{flag} {str(directory)!r}: {str(existing)!r} is not writable; expected a "
            "directory the reports can be written to"
        )


def _check_value(option: RunOption, value: Any, flag: str) -> None:
    """Raise UsageError when ``value`` is not allowed for ``option``."""
    values = value if option.kind == "multiple" else (value,)
    for one in values:
        if one is None:
            continue
        if option.choices and one not in option.choices:
            raise UsageError(
                f"{flag} {one!r} is not allowed: expected one of {', '.join(option.choices)}"
            )
        if option.kind in ("int", "float"):
            number = float(one)
            too_small = option.minimum is not None and (
                number <= option.minimum if option.above else number < option.minimum
            )
            if not math.isfinite(number) or too_small:
                bound = (
                    ""
                    if option.minimum is None
                    else f" {'above' if option.above else 'at least'} {option.minimum:g}"
                )
                raise UsageError(f"{flag} {one!r} is not allowed: expected a number{bound}")


def _plain(value: Any) -> Any:
    """An option value as plain data (paths as text), fit to travel to worker processes."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(one) for one in value]
    return value
