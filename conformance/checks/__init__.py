"""The named checks, one registry for all of them (see ``_registry``), grouped by subject.

Importing this package registers every check: ``outcome`` (what the client reports),
``requests`` (what it sends), ``behaviour`` (how it waits, hangs or leaks) and ``live`` (a
shared portal's list, and the portal's own answers).
"""

from conformance.checks import behaviour, live, outcome, requests
from conformance.checks._registry import (
    CHECKS,
    SCOPES,
    CaseCheck,
    CheckContext,
    ExchangeCheck,
    ExchangeContext,
    RegisteredCheck,
    Scope,
    StepRun,
    check,
    checks_of,
    run_checks,
)

__all__ = [
    "CHECKS",
    "SCOPES",
    "CaseCheck",
    "CheckContext",
    "ExchangeCheck",
    "ExchangeContext",
    "RegisteredCheck",
    "Scope",
    "StepRun",
    "behaviour",
    "check",
    "checks_of",
    "live",
    "outcome",
    "requests",
    "run_checks",
]
