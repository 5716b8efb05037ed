"""``b24-conformance drift``: the drift ledger's open and closed entries at a docs revision."""

from __future__ import annotations

import json
from typing import Any

import click

from conformance import error_catalogue
from conformance._options import FORMAT_OPTION
from conformance.error_catalogue import DriftEntry


class _UnknownRevision(click.ClickException):
    """An unknown --docs-revision, said in one line; exit code 2, as every usage error."""

    exit_code = 2


def ledger_listing(revision: str | None = None) -> dict[str, Any]:
    """The kept docs revisions, and each ledger entry as open or closed at ``revision``."""
    chosen = error_catalogue.docs_revision(revision)
    revisions = error_catalogue.docs_revisions()
    entries = error_catalogue.drift_ledger()
    return {
        "docs_revision": chosen.id,
        "revisions": [
            {
                "id": r.id,
                "newest": r is revisions[-1],
                "source": r.source,
                "pages": r.pages,
            }
            for r in revisions
        ],
        "open": [_entry(e, chosen.id) for e in entries if e.open_at(chosen.id)],
        "closed": [_entry(e, chosen.id) for e in entries if not e.open_at(chosen.id)],
    }


def _entry(entry: DriftEntry, revision: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "claim": entry.claim,
        "observed": entry.observed,
        "docs_source": entry.docs_source,
        "contract": list(entry.contract),
        "observed_in": list(entry.observed_in),
        "closed_in": entry.closed_in,
        # Open but never read at this revision: the claim may be gone; nobody checked.
        "rechecked": revision in entry.observed_in or entry.closed_in is not None,
    }


def render_text(listing: dict[str, Any]) -> str:
    lines = ["docs revisions, oldest first:"]
    for revision in listing["revisions"]:
        marker = " (newest, the default)" if revision["newest"] else ""
        lines.append(f"  {revision['id']}{marker}: {revision['source']}")
    open_, closed = listing["open"], listing["closed"]
    lines.append(
        f"drift ledger at docs revision {listing['docs_revision']}: {len(open_)} open, "
        f"{len(closed)} closed"
    )
    lines.append("open:")
    for entry in open_:
        seen = ", ".join(entry["observed_in"])
        note = "" if entry["rechecked"] else f"; not read at {listing['docs_revision']}"
        lines.append(f"  {entry['id']} ({entry['kind']}; observed in {seen}{note})")
        lines.append(f"      docs: {entry['claim']}")
        lines.append(f"      wire: {entry['observed']}")
    lines.append("closed:")
    for entry in closed:
        seen = ", ".join(entry["observed_in"])
        lines.append(f"  {entry['id']} (closed in {entry['closed_in']}; observed in {seen})")
        lines.append(f"      docs said: {entry['claim']}")
    return "\n".join(lines)


@click.command()
@click.option(
    "--docs-revision",
    metavar="REV",
    default=None,
    help="List the ledger as it stands at this docs revision (default: the newest kept).",
)
@FORMAT_OPTION
def drift_command(docs_revision: str | None, output_format: str) -> None:
    """List the docs revisions and the drift ledger's open and closed entries.

    An entry is closed from the docs revision that agrees with the wire on. Exits 0, or 2 on
    an unknown revision.
    """
    try:
        listing = ledger_listing(docs_revision)
    except error_catalogue.UnknownRevisionError as exc:
        raise _UnknownRevision(str(exc)) from None
    if output_format == "json":
        click.echo(json.dumps(listing, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(listing))
