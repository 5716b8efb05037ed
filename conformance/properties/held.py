"""The examples a property search drew, kept where every one held, for the run's next mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from conformance.properties.exchanges import Exchange

__all__ = ["HELD", "HELD_AT_MOST", "drawing", "every_one_holds", "hold"]

#: The examples of searches in which every example held, by (property id, seed, settings),
#: newest last. Whatever the client or the mode, hypothesis draws the same examples for the
#: same seed and settings as long as every one holds, so a later run of the property (the
#: run's next mode) replays them instead of drawing them again. Where one does not hold there,
#: the search runs as it would have: it draws the same examples up to that one, then shrinks.
HELD: dict[tuple[str, int, str], tuple[Exchange, ...]] = {}
HELD_AT_MOST: Final = 16


def hold(key: tuple[str, int, str], examples: tuple[Exchange, ...]) -> None:
    """Keep the examples of a search in which every one held (the oldest go past HELD_AT_MOST)."""
    HELD.pop(key, None)
    HELD[key] = examples
    while len(HELD) > HELD_AT_MOST:
        del HELD[next(iter(HELD))]


def drawing(
    example: Callable[[Exchange], None], drawn: list[tuple[Exchange, bool]]
) -> Callable[[Exchange], None]:
    """``example``, keeping every exchange hypothesis drew, in order, and whether it held."""

    def run(exchange: Exchange) -> None:
        drawn.append((exchange, False))
        example(exchange)
        drawn[-1] = (exchange, True)

    return run


def every_one_holds(examples: tuple[Exchange, ...], example: Callable[[Exchange], None]) -> bool:
    """Run the kept examples in order: whether every one held (any exception says not: the
    search then finds it again, and reports it as a search would have)."""
    try:
        for exchange in examples:
            example(exchange)
    except Exception:
        return False
    return True
