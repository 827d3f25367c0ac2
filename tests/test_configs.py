"""Every shipped config validates against the schema; the schema documents every key."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.utils import validate

from .conftest import REPO

SCHEMA = str(REPO / "config" / "schema.yaml")
CONFIGS = sorted((REPO / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.name != "schema.yaml"], ids=lambda p: p.name)
def test_shipped_config_validates(path):
    cfg = yaml.safe_load(path.read_text())
    validate(copy.deepcopy(cfg), SCHEMA)


def test_every_schema_key_has_description_and_default():
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    missing = []
    for section, spec in schema["properties"].items():
        assert spec.get("additionalProperties") is False, section
        for key, prop in spec["properties"].items():
            if "description" not in prop or "default" not in prop:
                missing.append(f"{section}.{key}")
    assert not missing, missing


def test_default_config_sets_every_schema_key():
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for section, spec in schema["properties"].items():
        assert set(cfg[section]) == set(spec["properties"]), section
