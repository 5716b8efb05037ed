"""Baselines: a client's expected failures, held strictly (YAML, format schemas/baseline.json)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance import schemas
from conformance._yaml import load_yaml
from conformance.errors import UsageError


class BaselineError(UsageError):
    """A baseline file that cannot be read or breaks its format."""


@dataclass(frozen=True)
class ExpectedFailure:
    case: str
    reason: str
    issue: str | None
    modes: frozenset[str] | None

    def covers(self, mode: str) -> bool:
        return self.modes is None or mode in self.modes


@dataclass(frozen=True)
class Baseline:
    path: str
    client: str | None
    entries: tuple[ExpectedFailure, ...]

    def lookup(self, case_id: str, mode: str) -> ExpectedFailure | None:
        for entry in self.entries:
            if entry.case == case_id and entry.covers(mode):
                return entry
        return None

    def unknown_cases(self, known: set[str]) -> list[str]:
        return [e.case for e in self.entries if e.case not in known]


EMPTY = Baseline(path="", client=None, entries=())


def load_baseline(path: str | Path) -> Baseline:
    file = Path(path)
    try:
        document = load_yaml(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"--baseline {str(path)!r}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise BaselineError(f"--baseline {str(path)!r}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise BaselineError(f"--baseline {str(path)!r}: not YAML ({problem})") from None
    problems = list(schemas.validator(schemas.uri("baseline.json")).iter_errors(document))
    if problems:
        first = problems[0]
        raise BaselineError(
            f"--baseline {str(path)!r}: {first.json_path}: {first.message} "
            "(expected: expected_failures: [{case, reason, issue?, modes?}])"
        )
    entries = tuple(
        ExpectedFailure(
            case=raw["case"],
            reason=raw["reason"],
            issue=raw.get("issue"),
            modes=frozenset(raw["modes"]) if "modes" in raw else None,
        )
        for raw in document["expected_failures"]
    )
    return Baseline(str(path), document.get("client"), entries)
