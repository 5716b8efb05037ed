"""The one module that opens the suite's data: schemas, cassettes and the case catalogue.

Installed wheels carry ``schemas/``, ``cassettes/``, ``harnesses/`` and ``baselines/`` inside
the package (``conformance/_bundled``); a source checkout keeps them at the repository root.
``B24_CONFORMANCE_DATA`` points at another directory holding them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from conformance._yaml import load_yaml
from conformance.errors import UsageError

DATA_ENV_VAR = "B24_CONFORMANCE_DATA"

DataKind = Literal["schemas", "cassettes", "harnesses", "baselines"]


class DataFileError(UsageError):
    """A data file that cannot be read as what it should be (exit 2); one line says why."""


class DataNotFoundError(RuntimeError):
    """The suite's data directory is missing; the message says how to fix it."""


@cache
def _package_dir() -> Path:
    # Where the package lies does not change while it runs; asking importlib.resources costs
    # about a tenth of a millisecond, and a replayed case asks for each of its cassettes.
    return Path(str(resources.files("conformance")))


def _candidates(kind: DataKind) -> list[Path]:
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return [Path(override) / kind]
    return [_package_dir() / "_bundled" / kind, _package_dir().parent / kind]


def data_dir(kind: DataKind) -> Path:
    """The directory holding the suite's ``schemas``, ``cassettes``, ``harnesses`` or
    ``baselines`` (of the clients it has adapters for)."""
    candidates = _candidates(kind)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    if os.environ.get(DATA_ENV_VAR):
        hint = f"{DATA_ENV_VAR} is set: point it at a directory that contains {kind}/, or unset it"
    else:
        hint = (
            "reinstall the package (pip install --force-reinstall b24-conformance) "
            f"or set {DATA_ENV_VAR} to a directory that contains {kind}/"
        )
    raise DataNotFoundError(
        f"cannot find the b24-conformance {kind} directory (looked in {looked}): {hint}"
    )


def schemas_dir() -> Path:
    return data_dir("schemas")


def cassettes_dir() -> Path:
    return data_dir("cassettes")


def harnesses_dir() -> Path:
    """The harnesses for clients in other languages (docs/harness-protocol.md)."""
    return data_dir("harnesses")


def baselines_dir() -> Path:
    """The baselines of the clients the suite has adapters for (baselines/<client>.yaml)."""
    return data_dir("baselines")


def cases_dir() -> Path:
    """The case catalogue ships as package data, so it is always beside the code."""
    return _package_dir() / "cases"


def fixes_file() -> Path:
    """How to fix a client per check (``conformance/checks/fixes.yaml``), for the reports."""
    return _package_dir() / "checks" / "fixes.yaml"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataNotFoundError(
            f"b24-conformance data file {path} is missing: reinstall the package "
            f"or check {DATA_ENV_VAR}"
        ) from None


def read_schema_file(relative: str) -> Any:
    """A JSON document under ``schemas/`` ."""
    return json.loads(_read_text(schemas_dir() / relative))


def iter_schema_files() -> Iterator[tuple[str, Path]]:
    """Every JSON Schema under ``schemas/`` as (relative path, path), catalogue data excluded."""
    root = schemas_dir()
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        if not relative.startswith("catalogue/"):
            yield relative, path


def read_yaml(path: Path) -> Any:
    """A YAML data file, within conformance._yaml's limits; DataFileError says what is wrong."""
    try:
        return load_yaml(_read_text(path))
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise DataFileError(f"{path}: not YAML this suite reads ({_one_line(exc)})") from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
