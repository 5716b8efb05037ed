"""The order workers take a run's items in: every item once, the long ones first in each share."""

from __future__ import annotations

import pytest

from conformance.case import case_by_id
from conformance.schedule import (
    GENERATED,
    MAY_RETRY,
    QUICK,
    STALLS,
    _share_sizes,
    case_length,
    item_length,
    spread,
    together,
)

# case id -> its expected length class
LENGTHS = [
    ("transport.timeout", STALLS),
    ("retry.query-limit-exhausted", MAY_RETRY),
    ("transport.html-502", MAY_RETRY),
    ("get.not-found", QUICK),
]


@pytest.mark.parametrize(("case_id", "expected"), LENGTHS)
def test_a_case_is_as_long_as_what_it_makes_a_client_do(case_id: str, expected: float) -> None:
    assert case_length(case_by_id(case_id)) == expected


def test_a_property_counts_as_generated_work() -> None:
    assert item_length("property.request-fidelity", "stub") == GENERATED


def _pairs() -> list[tuple[str, str]]:
    quick = [(f"quick.{index}", "stub") for index in range(40)]
    long = [(f"long.{index}", "stub") for index in range(6)]
    return quick[:20] + long + quick[20:]


def _length(item: str, _mode: str) -> float:
    return 5.0 if item.startswith("long.") else 0.1


@pytest.mark.parametrize("workers", [2, 3, 4, 7])
def test_each_share_starts_with_its_part_of_the_long_items(workers: int) -> None:
    pairs = _pairs()
    ordered = spread(pairs, workers, _length)
    assert sorted(ordered) == sorted(pairs), "an item was lost or doubled"
    start = 0
    longs_per_share = []
    for size in _share_sizes(len(pairs), workers):
        share = ordered[start : start + size]
        start += size
        lengths = [_length(*pair) for pair in share]
        assert lengths == sorted(lengths, reverse=True), f"share not longest first: {share}"
        longs_per_share.append(sum(1 for length in lengths if length > 1))
    assert max(longs_per_share) - min(longs_per_share) <= 1, longs_per_share


def test_the_order_is_the_same_every_time_and_serial_runs_keep_theirs() -> None:
    pairs = _pairs()
    assert spread(pairs, 3, _length) == spread(list(pairs), 3, _length)
    assert spread(pairs, 1, _length) == pairs


def test_share_sizes_are_what_the_scheduler_deals_out() -> None:
    assert _share_sizes(10, 3) == [3, 3, 4]
    assert sum(_share_sizes(417, 4)) == 417


def test_a_propertys_modes_share_a_worker_and_cases_do_not_group() -> None:
    pairs = _pairs() + [("property.x", mode) for mode in ("stub", "replay", "portal")]

    def group(item: str, _mode: str) -> str | None:
        return item if item.startswith("property.") else None

    def length(item: str, mode: str) -> float:
        return 5.0 if item.startswith("property.") else _length(item, mode)

    ordered = spread(pairs, 4, length, group)
    assert sorted(ordered) == sorted(pairs), "an item was lost or doubled"
    start, holding = 0, []
    for size in _share_sizes(len(pairs), 4):
        share = ordered[start : start + size]
        start += size
        lengths = [length(*pair) for pair in share]
        assert lengths == sorted(lengths, reverse=True), f"share not longest first: {share}"
        holding.append(sum(1 for item, _ in share if item == "property.x"))
    assert sorted(holding) == [0, 0, 0, 3], holding


def test_the_run_groups_only_properties() -> None:
    assert together("property.request-fidelity", "stub") == "property.request-fidelity"
    assert together("get.not-found", "stub") is None
