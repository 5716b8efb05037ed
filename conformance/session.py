"""A conformance run: configuration, the smoke check, baseline handling, results and exit code.

The pytest plugin drives it case by case; it knows nothing of pytest itself.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import harness
from conformance.api import CAPABILITIES, AdapterFactory, Redactor
from conformance.baseline import (
    AppliedBaseline,
    Failing,
    apply_baseline,
    did_you_mean,
    update_baseline_file,
)
from conformance.baseline import (
    judge as judge_by_baseline,
)
from conformance.case import (
    Case,
    Expectation,
    RequestCount,
    ScriptedResponse,
    Step,
    Timing,
    all_cases,
    case_by_id,
)
from conformance.clients import load_factory
from conformance.config import RunConfig
from conformance.engine import canary_secrets, execute, judge, mode_reason, run_case
from conformance.errors import EXIT_CONFORMANT, EXIT_NONCONFORMANT, AdapterBroken, UsageError
from conformance.modes import MODE_NAMES, TransportOptions, make_transport
from conformance.modes import mode as mode_entry
from conformance.properties import (
    DEFAULT_PROFILE,
    PROPERTIES,
    SAMPLE_TIME,
    choose_seed,
    hypothesis_profile,
    run_property,
)
from conformance.results import OUTCOME_TYPES, OUTCOMES, CaseResult, Failure, rerun_command
from conformance.transports import offline_target

if TYPE_CHECKING:
    from conformance.live.run import LiveRun


def _smoke_case() -> Case:
    body = {
        "result": {"badges": []},
        "total": 0,
        "time": dict(SAMPLE_TIME),
    }
    step = Step(
        method="crm.activity.badge.list",
        params={},
        responses=(ScriptedResponse(status=200, body=body),),
        expect=Expectation("success", result={"badges": []}, total=0),
        requests=RequestCount(0, 10),
        timing=Timing(),
    )
    return Case(
        id="smoke.list",
        description="the adapter answers a list call with an outcome",
        level="must",
        source="docs",
        contract=("1.3",),
        contract_checks=(),
        needs=frozenset(),
        modes=("stub", "portal"),
        auth="webhook",
        steps=(step,),
        file="(built in)",
    )


@dataclass
class RunSession:
    """One run of the suite against one client."""

    config: RunConfig
    factory: AdapterFactory | None = None
    adapter_name: str = ""
    capabilities: frozenset[str] = frozenset()
    results: list[CaseResult] = field(default_factory=list)
    baseline_problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    live: LiveRun | None = None
    recorded: dict[str, tuple[Case, Path]] = field(default_factory=dict)
    #: the client's version as the adapter or harness declares it (``version``), or None
    client_version: str | None = None
    applied_baseline: AppliedBaseline | None = None
    baseline_notes: list[str] = field(default_factory=list)
    #: what --baseline-update wrote, for the summary
    baseline_written: str | None = None
    #: SIGINT (or SIGTERM) ended the run before every selected case ran
    interrupted: bool = False

    def prepare(self) -> None:
        """Load the client and smoke-test it; raises UsageError or AdapterBroken."""
        from conformance.live.cases import live_case_ids

        known = {case.id for case in all_cases()} | set(PROPERTIES) | set(live_case_ids())
        unknown = [case_id for case_id in self.config.case_ids if case_id not in known]
        prefix = self.config.option_prefix
        if unknown:
            raise UsageError(
                f"{prefix}case {unknown[0]!r} names no case or property"
                + did_you_mean(unknown[0], known)
                + ": list them with `b24-conformance cases`"
            )
        for mode in self.config.modes:
            if mode not in MODE_NAMES:
                raise UsageError(
                    f"{prefix}mode {mode!r} is not available: "
                    f"expected one of {', '.join(MODE_NAMES)}"
                )
        self.factory = load_factory(self.config.client)
        if self.config.validate_protocol:
            self.factory = harness.validating(self.factory)
        self._smoke()
        # After the smoke call: an entry's client range is checked against the declared version.
        self.applied_baseline = apply_baseline(
            self.config.baseline, self.client_version, self.config.today or date.today()
        )
        self.baseline_problems = self.applied_baseline.problems(known)
        self.baseline_notes = list(self.applied_baseline.notes)
        if self.config.cassettes is not None and "replay" in self.config.modes:
            self._load_recording(self.config.cassettes)
        if "live" in self.config.modes:
            self._start_live()

    def _load_recording(self, directory: Path) -> None:
        from conformance.live.record import CassetteDirError, recorded_cases

        try:
            self.recorded = recorded_cases(directory)
        except CassetteDirError as exc:
            raise UsageError(str(exc)) from None

    def _start_live(self) -> None:
        """Reach the portal through the live gateway; a missing target is a usage problem."""
        from conformance.live.run import LiveRun, LiveSettings
        from conformance.live.target import LiveTargetError

        try:
            self.live = LiveRun(
                self.config.live or LiveSettings(),
                report_dir=self.config.report_dir,
                deadline=self.config.deadline,
            )
            # The pre-flight in start() raises LiveTargetError too: a portal problem, exit 2.
            self.live.start()
        except LiveTargetError as exc:
            raise UsageError(str(exc)) from None

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        """Hosts besides loopback a run may reach: the live portal's, in live mode."""
        return self.live.extra_hosts if self.live is not None else ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Real secrets of the run (live mode), redacted by value in everything written."""
        return self.live.portal.secrets if self.live is not None else ()

    def close(self) -> None:
        """End the run: a live run cleans up and writes its drift report. Idempotent."""
        if self.live is not None:
            self.live.close()

    def _smoke(self) -> None:
        assert self.factory is not None
        case = _smoke_case()
        try:
            adapter = self.factory(offline_target(case, secret="0" * 16, token="smoke-token"))  # noqa: S106
        except Exception as exc:
            raise AdapterBroken(f"the adapter factory raised {type(exc).__name__}: {exc}") from None
        for attribute in ("name", "capabilities", "call"):
            if not hasattr(adapter, attribute):
                raise AdapterBroken(
                    f"the adapter has no {attribute!r} (see docs: writing an adapter)"
                )
        self.adapter_name = str(adapter.name)
        capabilities = frozenset(adapter.capabilities)
        strange = sorted(capabilities - set(CAPABILITIES))
        if strange:
            raise AdapterBroken(
                f"adapter {self.adapter_name!r} declares unknown capabilities {strange}; "
                f"known: {', '.join(CAPABILITIES)}"
            )
        self.capabilities = capabilities
        version = getattr(adapter, "version", None)
        self.client_version = str(version) if version else None
        # Over the portal when the run uses it: it reaches every client, whatever its HTTP
        # stack, where the stub would leave an aiohttp client retrying a refused connection.
        mode = "portal" if "portal" in self.config.modes else "stub"
        execution = execute(
            case, self.factory, mode, self._transport(mode), deadline=self.config.deadline
        )
        runs = execution.context.runs if execution.context is not None else []
        result = judge(execution)
        if result.outcome == "errored":
            raise AdapterBroken(f"smoke call of adapter {self.adapter_name!r}: {result.message}")
        if any(run.hung for run in runs):
            raise AdapterBroken(f"smoke call of adapter {self.adapter_name!r} hung")
        odd: list[object] = [
            run.outcome for run in runs if not isinstance(run.outcome, OUTCOME_TYPES)
        ]
        if odd:
            raise AdapterBroken(
                f"smoke call of adapter {self.adapter_name!r} returned "
                f"something that is not an Outcome ({type(odd[0]).__name__}; expected "
                f"{', '.join(t.__name__ for t in OUTCOME_TYPES)})"
            )

    def _transport(self, mode: str, cassette: Path | None = None) -> Any:
        """A fresh transport of ``mode`` as this run configures it."""
        return make_transport(mode, TransportOptions(tls=self.config.tls, cassette=cassette))

    def selected(self) -> list[tuple[str, str]]:
        """(case or property id, mode) pairs of the run: cases first, then properties."""
        chosen = set(self.config.case_ids)
        ids = [case.id for case in all_cases()]
        if self.config.properties:
            ids += list(PROPERTIES)
        by_mode = dict.fromkeys(self.config.modes, ids)
        if self.live is not None:
            by_mode["live"] = self.live.case_ids()
        if self.recorded:
            by_mode["replay"] = list(self.recorded)
        return [
            (item, mode)
            for mode in self.config.modes
            for item in by_mode[mode]
            if not chosen or item in chosen
        ]

    def rerun_command(self, case_id: str, mode: str, seed: int | None = None) -> str:
        """The command that reruns one case or property as this run ran it."""
        flags = list(mode_entry(mode).rerun_flags(self.config))
        if mode == "replay" and self.recorded:
            flags += ["--cassettes", str(self.config.cassettes)]
        if case_id in PROPERTIES and self.config.hypothesis_profile != DEFAULT_PROFILE:
            flags += ["--hypothesis-profile", self.config.hypothesis_profile]
        if self.config.baseline.path:
            flags += ["--baseline", self.config.baseline.path]
        if seed is None and case_id in PROPERTIES:
            seed = self.config.seed
        return rerun_command(self.config.client, mode, case_id, seed=seed, flags=flags)

    def run(self, item: str, mode: str) -> CaseResult:
        """Run one case or property in one mode, apply the baseline, keep the result."""
        assert self.factory is not None, "prepare() first"
        if mode == "live" and self.live is not None:
            result = self.live.run(item, self.factory, rerun=self.rerun_command(item, mode))
        elif mode == "replay" and item in self.recorded:
            case, cassette = self.recorded[item]
            result = run_case(
                case,
                self.factory,
                mode,
                self._transport(mode, cassette),
                deadline=self.config.deadline,
                rerun=self.rerun_command(item, mode),
            )
        elif item in PROPERTIES:
            result = self._run_property(item, mode)
        else:
            case = case_by_id(item)
            if reason := mode_reason(mode, case.modes):
                # A skipped case needs no transport (and must not start a portal).
                result = CaseResult(case.id, mode, "skipped", reason, level=case.level)
            else:
                result = run_case(
                    case,
                    self.factory,
                    mode,
                    self._transport(mode),
                    deadline=self.config.deadline,
                    rerun=self.rerun_command(item, mode),
                )
        result = self._apply_baseline(result)
        self.results.append(result)
        return result

    def _run_property(self, property_id: str, mode: str) -> CaseResult:
        assert self.factory is not None
        target = None
        if mode == "portal":
            secret, token = canary_secrets()
            target = self._transport(mode).target_for(_smoke_case(), secret, token)
        # Chosen here, not inside the run, so the rerun command carries the seed the run used.
        profile = hypothesis_profile(self.config.hypothesis_profile)
        seed = choose_seed(property_id, profile, self.config.seed)
        result = run_property(
            property_id,
            self.factory,
            mode,
            seed=seed,
            profile=self.config.hypothesis_profile,
            deadline=self.config.deadline,
            client=self.config.client,
            target=target,
            # A failure the baseline expects is shown as found: shrinking it only costs time.
            shrink=self.config.baseline.lookup(property_id, mode) is None,
        )
        result.rerun = self.rerun_command(property_id, mode, seed=seed)
        return result

    def _apply_baseline(self, result: CaseResult) -> CaseResult:
        applied = self.applied_baseline
        entry = applied.lookup(result.case_id, result.mode) if applied is not None else None
        if entry is None or result.outcome == "skipped":
            return result
        result.outcome, result.message = judge_by_baseline(
            entry, self.config.baseline.path, result.outcome, result.message
        )
        return result

    def baseline_lines(self) -> list[str]:
        """The run header's baseline lines: file, entries, expired; then the notes."""
        # A pytest-xdist controller never prepares: it sorts the entries here.
        applied = self.applied_baseline or apply_baseline(
            self.config.baseline, self.client_version, self.config.today or date.today()
        )
        header = applied.header()
        lines = [header] if header else []
        lines += [f"note: {note}" for note in self.baseline_notes]
        if self.baseline_written:
            lines.append(self.baseline_written)
        return lines

    def update_baseline(self, path: Path) -> None:
        """``--baseline-update``: write a baseline from this run's failures."""
        # A live run's messages may quote the portal's secrets: the file is redacted by value.
        redact = Redactor(self.secrets)
        self.baseline_written = update_baseline_file(
            path,
            self.config.baseline,
            [Failing(r.case_id, r.mode, r.outcome, redact(r.message)) for r in self.results],
            client=self.adapter_name or None,
            version=self.client_version,
            modes=self.config.modes,
        )

    def export(self) -> dict[str, Any]:
        """What a pytest-xdist worker hands the controller: its results, as plain data."""
        return {
            "adapter_name": self.adapter_name,
            "capabilities": sorted(self.capabilities),
            "baseline_problems": list(self.baseline_problems),
            "baseline_notes": list(self.baseline_notes),
            "client_version": self.client_version,
            "results": [dataclasses.asdict(result) for result in self.results],
        }

    def absorb(self, exported: dict[str, Any]) -> None:
        """Take a worker's results into this (the controller's) session."""
        self.adapter_name = self.adapter_name or exported["adapter_name"]
        self.capabilities = self.capabilities or frozenset(exported["capabilities"])
        self.client_version = self.client_version or exported.get("client_version")
        for problem in exported["baseline_problems"]:
            if problem not in self.baseline_problems:
                self.baseline_problems.append(problem)
        for note in exported.get("baseline_notes", ()):
            if note not in self.baseline_notes:
                self.baseline_notes.append(note)
        for raw in exported["results"]:
            failures = [Failure(**failure) for failure in raw.pop("failures")]
            self.results.append(CaseResult(**raw, failures=failures))

    def sort_results(self) -> None:
        """Put the results in the run's own order (``selected()``), however workers
        interleaved them: reports list the same cases in the same order every run."""
        order = {pair: index for index, pair in enumerate(self.selected())}
        self.results.sort(key=lambda result: order.get((result.case_id, result.mode), len(order)))

    def not_run(self) -> list[tuple[str, str]]:
        """(case or property id, mode) pairs selected for the run that have no result."""
        done = {(result.case_id, result.mode) for result in self.results}
        return [pair for pair in self.selected() if pair not in done]

    def summary(self) -> dict[str, int]:
        counts = Counter(r.outcome for r in self.results)
        return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}

    def exit_code(self) -> int:
        summary = self.summary()
        live_problems = self.live.problems if self.live is not None else []
        if summary["failed"] or summary["errored"] or self.baseline_problems or live_problems:
            return EXIT_NONCONFORMANT
        return EXIT_CONFORMANT

    @property
    def started_iso(self) -> str:
        return datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds")
