"""A conformance run: configuration, the smoke check, baseline handling, results and exit code.

The pytest plugin drives it case by case; it knows nothing of pytest itself.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import evidence, harness
from conformance.api import AdapterFactory, Redactor
from conformance.baseline import AppliedBaseline, apply_baseline, did_you_mean
from conformance.baseline import (
    judge as judge_by_baseline,
)
from conformance.baseline_update import Failing, update_baseline_file
from conformance.case import (
    Case,
    all_cases,
    case_by_id,
)
from conformance.clients import load_factory
from conformance.config import RunConfig
from conformance.engine import canary_secrets, mode_reason, run_case
from conformance.errors import EXIT_CONFORMANT, EXIT_NONCONFORMANT, AdapterBroken, UsageError
from conformance.modes import MODE_NAMES, TransportOptions, make_transport
from conformance.modes import mode as mode_entry
from conformance.properties import (
    DEFAULT_PROFILE,
    PROPERTIES,
    choose_seed,
    hypothesis_profile,
    run_property,
)
from conformance.results import (
    DEFAULT_DEADLINE,
    LEVELS,
    OUTCOMES,
    SHOWS_REPRODUCTION,
    CaseResult,
    Failure,
    fails_run,
    rerun_command,
)
from conformance.smoke import SmokeFindings, smoke, smoke_case
from conformance.transports import Transport

if TYPE_CHECKING:
    from conformance.live.run import LiveRun


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
    #: modes the smoke call showed cannot see the client -> the one line that says so
    skipped_modes: dict[str, str] = field(default_factory=dict)
    #: the client crashed or hung on the smoke call (not the adapter): said once, run goes on
    smoke_problem: str = ""
    #: why the smoke call found the adapter broken (exit 3), for the reports
    adapter_broken: str = ""
    #: harness protocol warnings the pytest-xdist workers handed on
    _absorbed_warnings: list[str] = field(default_factory=list)

    def prepare(self, smoked: SmokeFindings | None = None) -> None:
        """Load the client and smoke-test it; raises UsageError or AdapterBroken.

        ``smoked`` is what the run's smoke call found already (a pytest-xdist worker gets
        the controller's): the client is loaded, not smoke-tested again."""
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
        try:
            self._smoke(smoked)
        except AdapterBroken as exc:
            self.adapter_broken = str(exc)
            raise
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
                deadline=self.config.deadline or DEFAULT_DEADLINE,
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

    def _smoke(self, found: SmokeFindings | None = None) -> None:
        """The smoke call (conformance.smoke); raises AdapterBroken (exit 3)."""
        assert self.factory is not None
        found = found or smoke(
            self.factory,
            self.config.modes,
            self._transport,
            deadline=self.config.deadline or DEFAULT_DEADLINE,
        )
        self.adapter_name, self.capabilities = found.adapter_name, found.capabilities
        self.client_version = found.version
        self.skipped_modes, self.smoke_problem = found.skipped_modes, found.problem

    def smoke_findings(self) -> dict[str, Any]:
        """What the smoke call found, as plain data for a pytest-xdist worker."""
        return {
            "adapter_name": self.adapter_name,
            "capabilities": sorted(self.capabilities),
            "skipped_modes": dict(self.skipped_modes),
            "problem": self.smoke_problem,
            "version": self.client_version,
        }

    def harness_warnings(self) -> list[str]:
        """The protocol warnings of the run's harnesses (conformance.harness.redaction), from
        this process and the workers'."""
        from conformance import harness

        return list(dict.fromkeys([*self._absorbed_warnings, *harness.WARNINGS]))

    def smoke_lines(self) -> list[str]:
        """What the smoke call found: one line each."""
        lines = [f"skipped: {reason}" for reason in self.skipped_modes.values()]
        lines += [self.smoke_problem] if self.smoke_problem else []
        broken = [f"the adapter is broken: {self.adapter_broken}"] if self.adapter_broken else []
        return lines + broken

    def _transport(self, mode: str, cassette: Path | None = None) -> Transport:
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
        if mode in self.skipped_modes:
            level = case_by_id(item).level if item not in PROPERTIES else "must"
            result = CaseResult(item, mode, "skipped", self.skipped_modes[mode], level=level)
        elif mode == "live" and self.live is not None:
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
        if result.outcome in ("failed", "errored") and not result.evidence:
            # Properties and the state machine: no steps of their own, but the failed checks.
            result.evidence = evidence.observe(
                [],
                result.failures,
                portal_url="",
                outcome=result.outcome,
                level=result.level,
                redact=Redactor(self.secrets),
                said=result.message.strip().splitlines()[0] if result.message.strip() else "",
            )
        result = self._apply_baseline(result)
        if result.outcome in SHOWS_REPRODUCTION:
            result.render_reproduction()
        self.results.append(result)
        return result

    def _run_property(self, property_id: str, mode: str) -> CaseResult:
        assert self.factory is not None
        target = None
        if mode == "portal":
            secret, token = canary_secrets()
            target = self._transport(mode).target_for(smoke_case(), secret, token)
        # Chosen here, not inside the run, so the rerun command carries the seed the run used.
        profile = hypothesis_profile(self.config.hypothesis_profile)
        seed = choose_seed(property_id, profile, self.config.seed)
        result = run_property(
            property_id,
            self.factory,
            mode,
            seed=seed,
            profile=self.config.hypothesis_profile,
            deadline=self.config.deadline or DEFAULT_DEADLINE,
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
            entry,
            self.config.baseline.path,
            result.outcome,
            result.message,
            observed=result.evidence,
            mode=result.mode,
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
            [
                Failing(r.case_id, r.mode, r.outcome, redact(r.message), r.evidence)
                for r in self.results
            ],
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
            "harness_warnings": self.harness_warnings(),
            "client_version": self.client_version,
            "results": [result.as_data() for result in self.results],
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
        for warning in exported.get("harness_warnings", ()):
            if warning not in self._absorbed_warnings:
                self._absorbed_warnings.append(warning)
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

    def level_summary(self) -> dict[str, dict[str, int]]:
        """Outcome counts per level (a failed case counts at the level of its shortfall)."""
        counts = Counter((r.level, r.outcome) for r in self.results)
        return {
            level: {outcome: counts.get((level, outcome), 0) for outcome in OUTCOMES}
            for level in LEVELS
        }

    @property
    def smoke_verdict(self) -> str:
        """passed, client-problem (the run went on) or adapter-broken (no case ran)."""
        if self.adapter_broken:
            return "adapter-broken"
        return "client-problem" if self.smoke_lines() else "passed"

    def exit_code(self) -> int:
        live_problems = self.live.problems if self.live is not None else []
        failing = any(fails_run(r, strict=self.config.strict) for r in self.results)
        if failing or self.baseline_problems or live_problems:
            return EXIT_NONCONFORMANT
        return EXIT_CONFORMANT

    @property
    def started_iso(self) -> str:
        return datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds")
