"""YAML read with limits: alias bombs and deep nesting are refused before anything is built.

PyYAML's safe loader shares an aliased node instead of copying it, so loading an alias bomb is
cheap; whatever walks the result afterwards (the schema validators) walks every path, which is
exponential, and a document nested thousands deep overflows the composer's recursion. One
pass over the parser's events (libyaml's parser keeps its own stack) counts alias uses, depth
and the size of the document as it would be walked, before it is composed.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

#: No file of ours comes near these: a case file uses a few dozen aliases and nests 8 deep.
MAX_ALIASES: Final = 1000
MAX_DEPTH: Final = 100
#: Values of the document walked as a tree, every alias expanded.
MAX_WALKED_NODES: Final = 1_000_000

_LOADER: Final[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLLimitError(yaml.YAMLError):
    """A YAML document beyond the limits; the text says which."""


def check_limits(text: str) -> None:
    """Raise YAMLLimitError when ``text`` passes MAX_ALIASES, MAX_DEPTH or MAX_WALKED_NODES
    (and yaml.YAMLError when it does not parse)."""
    walk = _Walk()
    for event in yaml.parse(text, Loader=_LOADER):
        walk.take(event)


class _Walk:
    """The running counts of one pass over a document's events."""

    def __init__(self) -> None:
        self.aliases = 0
        self.walked = 0
        #: per open collection: its anchor and how many values it holds when walked
        self.open: list[tuple[str | None, int]] = []
        self.anchored: dict[str, int] = {}

    def take(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.CollectionStartEvent):
            self.open.append((event.anchor, 1))
            if len(self.open) > MAX_DEPTH:
                raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels")
            return
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YAMLLimitError(f"more than {MAX_ALIASES} aliases (*name)")
            size = self.anchored.get(event.anchor or "", 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = self.open.pop()
            if anchor:
                self.anchored[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
        else:
            return
        if self.open:
            anchor, held = self.open[-1]
            self.open[-1] = (anchor, held + size)
            size = held + size
        else:
            self.walked += size
            size = self.walked
        if size > MAX_WALKED_NODES:
            raise YAMLLimitError(
                f"more than {MAX_WALKED_NODES} values once its aliases are expanded"
            )


def load_yaml(text: str) -> Any:
    """One YAML document, safely and within the limits (yaml.YAMLError otherwise)."""
    check_limits(text)
    return yaml.load(text, Loader=_LOADER)  # noqa: S506  # a safe loader
