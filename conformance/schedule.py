"""The order worker processes take a run's items in, so that the long ones start first.

A run's items differ a hundredfold in length, and the long ones are predictable from the case
data: a portal that stalls makes a client wait out its timeout (or the deadline), an answer a
client may retry (a retried error code, 429, any 5xx, a dropped connection) makes it sleep
between attempts, and a property runs a hundred examples. pytest-xdist deals a worker a
contiguous share of the collection and lets idle workers steal from the end of a busy one's
share; ``spread`` orders the collection so that each share starts with its part of the long
items (longest processing time first), and what is stolen is short. Only the order in which
items run changes: the report lists them in the run's own order (``RunSession.selected``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Final

from conformance.case import Case, ScriptedResponse, all_cases

#: Relative lengths, by what an item makes a client do (only their order matters). A property
#: runs a hundred examples, each of which may wait as a case does (fast-bitrix24's
#: garbage-resistance: 14 s), and its CPU work overlaps other workers' waits best early on.
STALLS: Final = 10.0
GENERATED: Final = 5.0
MAY_RETRY: Final = 3.0
QUICK: Final = 0.1

#: HTTP statuses a client may retry (and so sleep on) besides a retried error code.
_RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


@cache
def _retried_codes() -> frozenset[str]:
    from conformance.error_catalogue import code_key, error_catalogue

    return frozenset(
        code_key(entry.code)
        for entry in error_catalogue()
        if entry.retry in ("backoff", "after-operating-reset")
    )


def _may_retry(answer: ScriptedResponse) -> bool:
    if answer.fault is not None:
        return True
    if answer.status in _RETRIED_STATUSES:
        return True
    body = answer.body if answer.has_body else None
    return isinstance(body, dict) and str(body.get("error")) in _retried_codes()


def case_length(case: Case) -> float:
    """The relative length of a case: STALLS, MAY_RETRY or QUICK."""
    answers = [answer for step in case.steps for answer in step.responses]
    if any(answer.fault == "timeout" for answer in answers):
        return STALLS
    if any(_may_retry(answer) for answer in answers):
        return MAY_RETRY
    return QUICK


@cache
def _case_lengths() -> dict[str, float]:
    return {case.id: case_length(case) for case in all_cases()}


def item_length(item: str, _mode: str = "") -> float:
    """The relative length of a case or property id (a property: GENERATED)."""
    return _case_lengths().get(item, GENERATED)


def _share_sizes(count: int, workers: int) -> list[int]:
    """How many items pytest-xdist's worksteal scheduler first hands each worker."""
    sizes = []
    for index in range(workers):
        sizes.append(count // (workers - index))
        count -= sizes[-1]
    return sizes


def together(item: str, _mode: str = "") -> str | None:
    """What ties an item to others that should run in the same worker: a property's modes
    (the first mode's examples, where every one holds, are replayed in the next: they are
    drawn once), None for a case."""
    return None if item in _case_lengths() else item


def spread(
    pairs: Sequence[tuple[str, str]],
    workers: int,
    length: Callable[[str, str], float] = item_length,
    group: Callable[[str, str], str | None] = together,
) -> list[tuple[str, str]]:
    """``pairs`` as ``workers`` consecutive shares (as many items each as the scheduler deals
    out) of about equal length, each longest first.

    Items go, longest first, to the share with the least length so far that has room; the
    items of one group (``group``: a property's modes) go together while a share has room for
    them all. Ties keep the run's order, so every worker (each collects on its own) computes
    the same order.
    """
    if workers < 2:
        return list(pairs)
    units: dict[object, list[tuple[str, str]]] = {}
    for index, pair in enumerate(pairs):
        units.setdefault(group(*pair) or index, []).append(pair)
    ranked = sorted(units.values(), key=lambda unit: -sum(length(*pair) for pair in unit))
    sizes = _share_sizes(len(pairs), workers)
    shares: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
    totals = [0.0] * workers

    def place(unit: list[tuple[str, str]]) -> bool:
        room = [share for share in range(workers) if len(shares[share]) + len(unit) <= sizes[share]]
        if not room:
            return False
        lightest = min(room, key=lambda share: totals[share])
        shares[lightest] += unit
        totals[lightest] += sum(length(*pair) for pair in unit)
        return True

    for unit in ranked:
        if not place(unit):
            for pair in unit:
                place([pair])
    # Longest first within each share (stable: a group stays in the run's order).
    return [pair for share in shares for pair in sorted(share, key=lambda p: -length(*p))]
