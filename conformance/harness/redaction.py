"""Telling a harness that masks the client's text: the suite must see that text raw.

A harness that replaces the planted secret with ``***`` before sending hides the very leak
``behaviour.no-secret`` exists to find. The suite cannot see inside the harness, but it knows
where the secret goes: in the webhook URL, between ``rest/{user_id}/`` and the method. A
message field that holds that URL with a mask in the secret's place (``rest/1/***/``,
``rest/1/[REDACTED]/``) was made from a text that held the secret, and someone masked it:
the harness (a protocol fault) or the client itself (its own business). The suite says so in
one line, as a protocol warning, naming the field; it never changes a verdict.
"""

from __future__ import annotations

import re
from typing import Final

from conformance.api import Target

__all__ = ["MASKS", "masked_secret"]

#: What masks look like: the suite's own ``***``, and the usual words in brackets.
MASKS: Final = (
    r"\*{3,}|x{3,}|X{3,}|…|\[(?:redacted|REDACTED|Redacted|hidden|HIDDEN|masked|MASKED|filtered"
    r"|FILTERED|secret|SECRET)\]|<(?:redacted|hidden|masked|secret|REDACTED|SECRET)>"
)
#: Characters of context shown either side of the masked place.
CONTEXT: Final = 24


def masked_secret(text: str, target: Target) -> str | None:
    """The excerpt of ``text`` where the webhook URL (or a Bearer header) carries a mask in
    the secret's place, or None."""
    slots = [rf"rest/{re.escape(str(target.user_id))}/(?:{MASKS})(?=/|$|\s|\.)"]
    if target.auth_token:
        slots.append(rf"(?:Bearer\s+|auth=|access_token=)(?:{MASKS})")
    for slot in slots:
        found = re.search(slot, text)
        if found:
            start, end = max(found.start() - CONTEXT, 0), found.end() + CONTEXT
            return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    return None
