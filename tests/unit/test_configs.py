"""Every shipped config validates against the schema; the schema documents every key."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.utils import validate

from ..conftest import REPO

SCHEMA = str(REPO / "config" / "schema.yaml")
CONFIGS = sorted((REPO / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.name != "schema.yaml"], ids=lambda p: p.name)
def test_shipped_config_validates(path):
    cfg = yaml.safe_load(path.read_text())
    validate(copy.deepcopy(cfg), SCHEMA)


def _walk(spec: dict, cfg, path: str = ""):
    """(path, schema property, config value) of every key, nested objects included."""
    for key, prop in spec.get("properties", {}).items():
        value = cfg.get(key) if isinstance(cfg, dict) else None
        yield f"{path}{key}", prop, value
        if prop.get("type") == "object" and "properties" in prop:
            yield from _walk(prop, value or {}, f"{path}{key}.")


def test_every_schema_key_is_described_and_has_no_default_of_its_own():
    """config/config.yaml is the one place defaults live: the schema holds types, ranges, descriptions."""
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    undescribed = [p for p, prop, _ in _walk(schema, cfg) if "description" not in prop]
    with_default = [p for p, prop, v in _walk(schema, cfg) if "default" in prop and prop["default"] != v]
    assert not undescribed, undescribed
    assert not with_default, f"schema defaults that differ from config.yaml: {with_default}"
    for section, spec in schema["properties"].items():
        assert spec.get("additionalProperties") is False, section


def test_config_yaml_and_schema_hold_the_same_keys():
    """A key in one and not the other fails, at every depth."""
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())

    def keys(spec, value, path=""):
        assert set(value) == set(spec["properties"]), (path, sorted(set(value) ^ set(spec["properties"])))
        for k, prop in spec["properties"].items():
            if prop.get("type") == "object" and "properties" in prop and isinstance(value.get(k), dict):
                keys(prop, value[k], f"{path}{k}.")

    keys(schema, cfg)
