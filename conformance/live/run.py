"""One live run: the gateway, the cases, the portal checks, cleanup, and what the run writes.

A run never hurts the portal and never leaves data behind: writes need ``allow_writes``; every
code an add was sent for is deleted after its case, again when the run ends (also after
SIGINT or SIGTERM), and a last list deletes whatever still carries the run's prefix.
``sweep`` (conformance.live.sweep) removes the leftovers of a run that was killed outright.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance import __version__, checks
from conformance._http_server import Certificates, ServerThread
from conformance.api import AdapterFactory, Redactor
from conformance.engine import run_case
from conformance.live.answers import error_code, gone, listed_codes, log_line
from conformance.live.budget import BudgetSettings, Clock, RequestBudget, Sleep
from conformance.live.cases import (
    LiveCase,
    live_cases,
    live_modes,
    run_prefix,
)
from conformance.live.drift import DriftCollector
from conformance.live.exchange import SUITE_TAG, Exchange
from conformance.live.gateway import DELETE, LIST, Gateway, GatewayApp
from conformance.live.preflight import PreflightFailed, preflight_problem
from conformance.live.record import Recorder
from conformance.live.signals import SignalGuard
from conformance.live.target import LivePortal, portal_from_env
from conformance.live.transport import LiveTransport
from conformance.results import CaseResult, conclude

#: Seconds the end of a run waits for client requests still in flight before cleaning up.
DRAIN_WAIT: Final = 5.0
#: How long the final cleanup keeps retrying deletes (and the last list), and its backoff:
#: the first pause, doubled after each round up to the longest.
CLEANUP_DEADLINE: Final = 120.0
CLEANUP_FIRST_PAUSE: Final = 0.5
CLEANUP_LONGEST_PAUSE: Final = 8.0
_RUN_ID_ALPHABET: Final = "0123456789abcdef"


@dataclass(frozen=True)
class LiveSettings:
    """How a live run behaves; the portal itself comes from the environment."""

    allow_writes: bool = False
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    #: write a cassette per case here (``b24-conformance record``)
    record_dir: Path | None = None
    #: the run id in the code prefix (random when None)
    run_id: str | None = None
    #: serve the gateway over https with a throwaway CA (clients that insist on TLS)
    tls: bool = False
    #: ``--base-url`` in place of B24_WEBHOOK_URL; never shown
    base_url: str | None = field(default=None, repr=False)


def new_run_id() -> str:
    return secrets.token_hex(4)


class LiveRun:
    """Everything one live run owns; ``close()`` is idempotent and always cleans up.

    ``clock`` and ``sleep`` pace the budget and the cleanup's retries (real time by default).
    """

    def __init__(
        self,
        settings: LiveSettings,
        *,
        env: Mapping[str, str] | None = None,
        report_dir: Path | None = None,
        deadline: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        self.report_dir = report_dir
        self.deadline = deadline
        self.portal: LivePortal = portal_from_env(
            os.environ if env is None else env, settings.base_url
        )
        self.run_id = settings.run_id or new_run_id()
        self.prefix = run_prefix(self.run_id)
        self.redact = Redactor(self.portal.secrets)
        self.budget = RequestBudget(settings.budget, clock=clock, sleep=sleep)
        self._clock = clock
        self._sleep = sleep or time.sleep
        self.gateway = Gateway(
            self.portal,
            self.budget,
            prefix=self.prefix,
            allow_writes=settings.allow_writes,
            timeout=max(5.0, deadline * 3),
        )
        self.drift = DriftCollector(self.redact)
        self.recorder = (
            Recorder(settings.record_dir, self.portal, self.prefix)
            if settings.record_dir is not None
            else None
        )
        self.problems: list[str] = []
        self.leftovers: list[str] = []
        self.admin_problem: str | None = None
        self.files: list[Path] = []
        self._server: Any = None
        self._certificates: Any = None
        self._transport: LiveTransport | None = None
        self._cases: dict[str, LiveCase] = {}
        self._observed = 0
        self._closed = False
        self._signals = SignalGuard()

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def extra_hosts(self) -> tuple[str, ...]:
        """Hosts besides loopback the run's network guard lets through: the portal's (and the
        HTTP proxy the environment names for it, if any, since the gateway goes through it)."""
        from urllib.parse import urlsplit

        from requests.utils import get_environ_proxies

        proxies = get_environ_proxies(self.portal.portal_url)
        via = {urlsplit(p).hostname for p in proxies.values() if p} - {None, ""}
        return (self.portal.host, *sorted(h for h in via if h))

    def start(self) -> None:
        """Start the gateway, take over SIGTERM, and (with writes) probe for admin rights."""
        try:
            self._certificates = Certificates() if self.settings.tls else None
            self._server = ServerThread(
                GatewayApp(self.gateway),
                0,
                self._certificates.context if self._certificates else None,
                name="b24-gateway",
            )
            self._server.start()
            scheme = "https" if self._certificates else "http"
            self.gateway.public_url = f"{scheme}://127.0.0.1:{self._server.port}/"
            self._transport = LiveTransport(
                self.gateway,
                ca_bundle=self._certificates.ca_bundle if self._certificates else None,
                timeout=max(1.0, self.deadline - 1.0),
            )
            self._signals.install()
            self._preflight()
            auth = "oauth" if self.portal.kind == "oauth" else "webhook"
            self._cases = {c.id: c for c in live_cases(self.prefix, auth, live_modes("live"))}
            if self.settings.allow_writes:
                self._probe_admin()
        except BaseException:
            self.close()
            raise

    def _preflight(self) -> None:
        """One read-only list before the first case; raises PreflightFailed (one line)."""
        listed = self.gateway.call(LIST, {})
        self._observe([listed])
        problem = preflight_problem(listed, self.gateway.moved_to)
        if problem is not None:
            raise PreflightFailed(self.redact(problem))

    def case_ids(self) -> list[str]:
        return list(self._cases)

    def _probe_admin(self) -> None:
        """Delete a code that surely does not exist: NOT_FOUND means the calling user may add
        and delete; ACCESS_DENIED means it is no CRM administrator."""
        exchange = self.gateway.call(DELETE, {"code": f"{self.prefix}admin-probe"})
        self._observe([exchange])
        body = exchange.json()
        code = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, dict) and (code == "NOT_FOUND" or body.get("result") is True):
            return
        if code == "ACCESS_DENIED":
            self.admin_problem = (
                "the calling user is no CRM administrator (a delete of an unknown code "
                "answered ACCESS_DENIED); add and delete need one"
            )
        elif exchange.local is not None:
            self.admin_problem = f"the admin probe did not reach the portal ({exchange.local})"
        else:
            shown = code if code is not None else f"HTTP {exchange.status}"
            self.admin_problem = (
                f"the admin probe (a delete of an unknown code) answered {shown}, not NOT_FOUND; "
                "add and delete need a CRM administrator with scope crm"
            )

    # --- cases ------------------------------------------------------------------------------

    def run(self, case_id: str, factory: AdapterFactory, *, rerun: str = "") -> CaseResult:
        """Run one live case; skipped with the reason when it may not or cannot run."""
        case = self._cases[case_id]
        reason = self._skip_reason(case)
        if reason is not None:
            return CaseResult(case.id, "live", "skipped", reason, level=case.level)
        assert self._transport is not None, "start() first"
        mark = self.gateway.mark()
        try:
            result = run_case(
                case,
                factory,
                "live",
                transport=self._transport,
                deadline=self.deadline,
                rerun=rerun,
            )
        finally:
            if case.writes:
                with self._signals.deferred():
                    self._delete([c for c in self.gateway.created_codes() if c in case.codes])
        exchanges = self.gateway.since(mark)
        self._observe(exchanges)
        moved = self.gateway.moved_to
        if moved is not None and not any("redirected" in p for p in self.problems):
            self.problems.append(
                self.redact(
                    f"the portal redirected to another address ({moved}); the gateway refused to "
                    "follow: point the target variable at the portal's new address"
                )
            )
        ours = [e for e in exchanges if e.tag == case.id]
        # Every answer of the portal is judged; what the client saw excludes the throttled
        # attempts the gateway absorbed.
        self._judge_portal(result, case, ours)
        ours = [e for e in ours if not e.absorbed]
        result.reproduction = self.redact(
            result.render_reproduction().replace(self.gateway.public_url, self.portal.portal_url)
        )
        result.requests = len(ours)
        if self.recorder is not None:
            try:
                self.recorder.write(case, ours, result.outcome)
            except Exception as exc:
                self.problems.append(self.redact(f"cassette of {case.id}: {exc}"))
        return result

    def _skip_reason(self, case: LiveCase) -> str | None:
        if case.writes and not self.settings.allow_writes:
            return "adds and deletes badges: live runs are read-only unless --allow-writes"
        if case.writes and self.admin_problem:
            return self.admin_problem
        if self.budget.exhausted:
            return (
                f"the run's request budget is spent ({self.budget.settings.max_requests} "
                "requests; raise it with --max-requests)"
            )
        return None

    def _judge_portal(self, result: CaseResult, case: LiveCase, exchanges: list[Exchange]) -> None:
        """The checks of the portal's own answers during the case, through the same verdict."""
        failures = checks.run_checks("exchanges", checks.ExchangeContext(case, "live", exchanges))
        conclude(result, failures, self.redact)

    def _observe(self, exchanges: list[Exchange]) -> None:
        for exchange in exchanges:
            self.drift.observe(exchange)

    # --- cleanup ----------------------------------------------------------------------------

    def _delete(self, codes: list[str]) -> list[str]:
        """Delete ``codes`` (all under the run's prefix); returns the ones still there."""
        left = []
        for code in codes:
            if not code.startswith(self.prefix) or code in self.gateway.deleted:
                continue
            exchange = self.gateway.call(DELETE, {"code": code}, essential=True)
            if gone(exchange):
                self.gateway.note_deleted(code)
            else:
                left.append(code)
        return left

    def _cleanup(self) -> None:
        """Delete every code the run sent an add for, then whatever still has its prefix;
        retried with backoff until CLEANUP_DEADLINE, and only then the sweep command."""
        if not self.settings.allow_writes or not self.gateway.created_codes():
            return  # every add is noted before it is sent: no add, nothing to look for
        deadline = self._clock() + CLEANUP_DEADLINE
        pause = CLEANUP_FIRST_PAUSE
        while True:
            left = self._delete(self.gateway.created_codes())
            listed = self.gateway.call(LIST, {}, essential=True)
            self._observe([listed])
            answered = isinstance(listed.json(), dict) and "result" in listed.json()
            stray = [c for c in listed_codes(listed) if c.startswith(self.prefix)]
            left = sorted(set(left) | set(self._delete(stray)))
            if (answered and not left) or self._clock() + pause > deadline:
                break
            self._sleep(pause)
            pause = min(pause * 2, CLEANUP_LONGEST_PAUSE)
        sweep = f"`b24-conformance sweep --prefix {self.prefix}`"
        if not answered:
            self.problems.append(
                f"the final list did not answer within {CLEANUP_DEADLINE:g}s of retries, so "
                f"leftovers could not be checked: run {sweep}"
            )
        self.leftovers = left
        if left:
            self.problems.append(
                f"{len(left)} badge(s) could not be deleted within {CLEANUP_DEADLINE:g}s of "
                f"retries ({', '.join(left)}): run {sweep}"
            )

    def close(self) -> None:
        """Stop taking requests, clean up, stop the gateway, write the run's files. Idempotent;
        SIGINT and SIGTERM wait until it is done."""
        if self._closed:
            return
        self._closed = True
        # The run is ending anyway: a signal during cleanup must not cut it short.
        with self._signals.deferred(reraise=False):
            try:
                self.gateway.close(DRAIN_WAIT)
                self._cleanup()
            except Exception as exc:
                self.problems.append(
                    self.redact(
                        f"cleanup failed ({type(exc).__name__}: {exc}): run "
                        f"`b24-conformance sweep --prefix {self.prefix}`"
                    )
                )
            finally:
                if self._server is not None:
                    self._server.stop()
                if self.report_dir is not None:
                    self.files = self.write_files(self.report_dir)
                self._signals.restore()

    # --- what the run tells -----------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        exchanges = self.gateway.exchanges
        to_portal = [e for e in exchanges if e.from_portal]
        codes = Counter(error_code(e) for e in to_portal)
        codes.pop(None, None)
        return {
            "suite": {"version": __version__},
            "run": self.run_id,
            "prefix": self.prefix,
            "auth": self.portal.kind,
            "writes_allowed": self.settings.allow_writes,
            "admin_problem": self.admin_problem,
            "budget": {
                "rate": self.budget.settings.rate,
                "burst": self.budget.settings.burst,
                "max_requests": self.budget.settings.max_requests,
                "requests_made": self.budget.made,
                "waited_seconds": round(self.budget.waited, 3),
                "throttled": self.budget.throttles,
                "rate_now": round(self.budget.rate, 6),
            },
            "requests": {
                "to_portal": len(to_portal),
                "by_the_suite": sum(1 for e in to_portal if e.tag == SUITE_TAG),
                "refused_by_gateway": sum(
                    1 for e in exchanges if not e.from_portal and not e.unreachable
                ),
                "portal_unreachable": sum(1 for e in exchanges if e.unreachable),
                "query_limit_exceeded": codes.get("QUERY_LIMIT_EXCEEDED", 0),
                "absorbed_by_gateway": sum(1 for e in exchanges if e.absorbed),
                "error_codes": {str(k): v for k, v in sorted(codes.items(), key=str)},
            },
            "cleanup": {
                "created": self.gateway.created_codes(),
                "deleted": sorted(self.gateway.deleted),
                "leftovers": list(self.leftovers),
            },
            "drift_entries": len(self.drift.items),
            "cassettes": [p.name for p in self.recorder.written] if self.recorder else [],
            "problems": list(self.problems),
        }

    def summary_lines(self) -> list[str]:
        s = self.summary()
        lines = [
            f"live: {s['requests']['to_portal']} requests to the portal "
            f"({self.budget.settings.describe()}; {s['budget']['waited_seconds']}s waited), "
            f"{s['requests']['query_limit_exceeded']} QUERY_LIMIT_EXCEEDED"
            + (
                f" ({s['requests']['absorbed_by_gateway']} waited out and sent again by the "
                f"gateway; the budget slowed to {self.budget.rate:g} req/s)"
                if s["requests"]["absorbed_by_gateway"]
                else ""
            )
            + f", {s['requests']['refused_by_gateway']} refused by the gateway"
            + f", {s['requests']['portal_unreachable']} failed to reach the portal",
            f"live: codes of this run start with {self.prefix}; "
            + (
                f"created {len(s['cleanup']['created'])}, deleted {len(s['cleanup']['deleted'])}"
                f", left {len(self.leftovers)}"
                if self.settings.allow_writes
                else "read-only (no --allow-writes)"
            ),
            f"live: {len(self.drift.items)} drift item(s) against the docs"
            + (" (see drift.md)" if self.report_dir else " (--report DIR writes drift.md)"),
        ]
        if self.recorder is not None:
            lines.append(f"live: {len(self.recorder.written)} cassette(s) recorded")
        lines += [f"live problem: {p}" for p in self.problems]
        return [self.redact(line) for line in lines]

    def write_files(self, directory: Path) -> list[Path]:
        """drift.json, drift.md, live.json and live.log in ``directory``; all redacted."""
        directory.mkdir(parents=True, exist_ok=True)
        files = self.drift.write(directory, self.run_id)
        summary = directory / "live.json"
        summary.write_text(
            self.redact(json.dumps(self.summary(), indent=2, ensure_ascii=False)) + "\n",
            encoding="utf-8",
        )
        log = directory / "live.log"
        log.write_text(
            "".join(self.redact(log_line(e)) + "\n" for e in self.gateway.exchanges),
            encoding="utf-8",
        )
        return [*files, summary, log]
