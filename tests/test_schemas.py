"""The schema files themselves: valid 2020-12 schemas, stable ids, every $ref resolvable offline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from conformance import _data, schemas

SCHEMA_FILES = [relative for relative, _ in _data.iter_schema_files()]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "$ref" and isinstance(child, str):
                yield child
            elif key not in ("enum", "const"):
                yield from _refs(child)
    elif isinstance(node, list):
        for child in node:
            yield from _refs(child)


def test_schema_files_are_found() -> None:
    assert "wire/badge.json" in SCHEMA_FILES
    assert "methods/crm.activity.badge.list.json" in SCHEMA_FILES


@pytest.mark.parametrize("relative", SCHEMA_FILES)
def test_schema_is_valid_2020_12(relative: str) -> None:
    contents = _data.read_schema_file(relative)
    assert contents["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(contents)


@pytest.mark.parametrize("relative", SCHEMA_FILES)
def test_schema_id_matches_its_path(relative: str) -> None:
    assert _data.read_schema_file(relative)["$id"] == schemas.uri(relative)


@pytest.mark.parametrize("relative", SCHEMA_FILES)
def test_every_ref_resolves_from_the_offline_registry(relative: str) -> None:
    base = schemas.uri(relative)
    resolver = schemas.registry().resolver(base_uri=base)
    for ref in _refs(_data.read_schema_file(relative)):
        resolved = resolver.lookup(ref)
        assert isinstance(resolved.contents, dict | bool), urljoin(base, ref)


def test_registry_refuses_unknown_uris_instead_of_fetching() -> None:
    resolver = schemas.registry().resolver()
    with pytest.raises(Unresolvable):
        resolver.lookup("https://json-schema.org/draft/2019-09/schema")


def test_validating_against_an_unknown_ref_fails_without_network() -> None:
    validator = Draft202012Validator(
        {"$ref": "https://example.invalid/schema.json"}, registry=schemas.registry()
    )
    with pytest.raises(Unresolvable):
        validator.validate({})


def test_mismatched_id_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "x.json").write_text(
        '{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://elsewhere/x.json"}'
    )
    monkeypatch.setenv(_data.DATA_ENV_VAR, str(tmp_path))
    schemas.clear_caches()
    try:
        with pytest.raises(ValueError, match=r"schemas/x.json has \$id"):
            schemas.registry()
    finally:
        monkeypatch.delenv(_data.DATA_ENV_VAR)
        schemas.clear_caches()


@pytest.mark.parametrize("method", schemas.METHODS)
@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_each_method_has_params_and_a_response_per_profile(method: str, profile: str) -> None:
    assert isinstance(schemas.contents_at(schemas.response_schema(method, profile)), dict)  # type: ignore[arg-type]
    assert isinstance(schemas.contents_at(schemas.params_schema(method)), dict)
