"""The contract's JSON Schemas: one offline registry, validators built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args
from urllib.parse import urldefrag

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

from conformance import _data

SCHEMA_BASE_URI = "https://b24-conformance.dev/schemas/"

Profile = Literal["docs", "wire"]
PROFILES: tuple[Profile, ...] = get_args(Profile)
DEFAULT_PROFILE: Profile = "wire"

METHODS: tuple[str, ...] = tuple(
    f"crm.activity.badge.{name}" for name in ("add", "get", "list", "delete")
)


class UnknownMethodError(ValueError):
    """A method name outside crm.activity.badge.add/get/list/delete."""


def canonical_method(name: str) -> str:
    """The method's canonical name; the portal lowercases method names, so do we."""
    lowered = name.strip().lower()
    if lowered not in METHODS:
        raise UnknownMethodError(f"unknown method {name!r}: expected one of {', '.join(METHODS)}")
    return lowered


def _refuse_retrieval(uri: str) -> Resource[Any]:
    # Every schema the suite needs is in the registry; anything else would be a
    # network fetch, which the suite never does.
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs field, untyped in stubs


@cache
def registry() -> Registry[Any]:
    """All schemas under ``schemas/``, keyed by their ``$id``; unknown URIs are refused."""
    resources = []
    for relative, _path in _data.iter_schema_files():
        contents = _data.read_schema_file(relative)
        expected_id = SCHEMA_BASE_URI + relative
        if contents.get("$id") != expected_id:
            raise ValueError(
                f"schemas/{relative} has $id {contents.get('$id')!r}; expected {expected_id!r}"
            )
        resources.append((expected_id, DRAFT202012.create_resource(contents)))
    return Registry(retrieve=_refuse_retrieval).with_resources(resources).crawl()  # type: ignore[call-arg]


def clear_caches() -> None:
    """Forget the registry, validators and schema index (after the data directory changed)."""
    for cached in (registry, validator, _places, contents_at):
        cached.cache_clear()


def uri(relative: str) -> str:
    """The absolute URI of a schema given relative to ``schemas/`` (fragment allowed)."""
    return SCHEMA_BASE_URI + relative


def short_location(absolute: str) -> str:
    """A schema URI relative to ``schemas/``, as people read it."""
    return absolute.removeprefix(SCHEMA_BASE_URI)


@cache
def contents_at(absolute: str) -> Any:
    """The schema (or subschema, by JSON pointer fragment) at an absolute URI."""
    resource_uri, fragment = urldefrag(absolute)
    node = registry().contents(resource_uri)
    for token in _pointer_tokens(fragment):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _pointer_tokens(fragment: str) -> list[str]:
    if not fragment:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in fragment.lstrip("/").split("/")]


@dataclass(frozen=True)
class Place:
    """Where a subschema sits: its absolute URI with a JSON pointer, and the nearest x-contract."""

    uri: str
    contract: str | None


@cache
def _places() -> dict[int, Place]:
    # Validators hand back the very dicts the registry holds, so identity finds them.
    index: dict[int, Place] = {}
    for relative, _path in _data.iter_schema_files():
        resource_uri = uri(relative)
        _index(registry().contents(resource_uri), resource_uri, [], None, index)
    return index


def _index(
    node: Any, base: str, pointer: list[str], contract: str | None, index: dict[int, Place]
) -> None:
    if isinstance(node, dict):
        contract = str(node.get("x-contract", contract)) if "x-contract" in node else contract
        index[id(node)] = Place(base + "#/" + "/".join(pointer), contract)
        for key, child in node.items():
            if key not in ("enum", "const", "examples", "default"):
                escaped = key.replace("~", "~0").replace("/", "~1")
                _index(child, base, [*pointer, escaped], contract, index)
    elif isinstance(node, list):
        for position, child in enumerate(node):
            _index(child, base, [*pointer, str(position)], contract, index)


def place_of(subschema: Any) -> Place | None:
    """Where a subschema handed out by a validator lives in ``schemas/``."""
    return _places().get(id(subschema))


@cache
def validator(absolute: str) -> Draft202012Validator:
    """A validator for the schema at an absolute URI (with a pointer fragment if needed)."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": absolute}
    return Draft202012Validator(
        schema,
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def response_schema(method: str, profile: Profile) -> str:
    return uri(f"methods/{method}.json#/$defs/{profile}")


def params_schema(method: str) -> str:
    return uri(f"methods/{method}.json#/$defs/params")


def error_schema(profile: Profile) -> str:
    return uri(f"{profile}/error.json")


V3_ERROR_SCHEMA = uri("v3/error.json")


@cache
def documented_time_keys() -> frozenset[str]:
    """The keys of the ``time`` block the contract names (schemas/wire/time.json); a portal may
    send others, which a client may keep or drop (CONTRACT.md 4.1)."""
    return frozenset(contents_at(uri("wire/time.json"))["properties"])
