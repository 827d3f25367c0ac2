"""Settings: config/config.yaml is the one place defaults live.

A stage's command-line entry (`python -m climatune.<stage>`) and the benchmarks build their settings
from the workflow's embedded default config with their overrides on top, never from defaults of their
own; an unknown key is an error that names the known ones.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

from ._util import UserError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


class SettingsError(UserError, ValueError):
    """A setting that does not exist or cannot be read, named with the known ones."""


@functools.lru_cache(maxsize=1)
def _default_config() -> dict:
    import yaml

    if not DEFAULT_CONFIG.is_file():
        raise UserError(f"{DEFAULT_CONFIG} is missing: climatune reads its defaults from the workflow's config folder")
    return yaml.safe_load(DEFAULT_CONFIG.read_text())


def default_section(name: str) -> dict:
    """A copy of one top-level section of config/config.yaml."""
    return copy.deepcopy(_default_config()[name])


def section(name: str, overrides: dict | None = None) -> dict:
    """`name`'s defaults from config/config.yaml with `overrides` on top (one level; unknown keys refused)."""
    base = default_section(name)
    unknown = sorted(set(overrides or {}) - set(base))
    if unknown:
        raise SettingsError(f"unknown {name} setting(s) {unknown}; known: {sorted(base)}")
    base.update(overrides or {})
    return base


def read_overrides(text: str | None) -> dict:
    """--config of a stage's command line: a JSON object, or a path to a .json/.yaml file holding one
    (either the section itself or a whole config, whose matching section is taken by the caller)."""
    if not text:
        return {}
    p = Path(text)
    if p.suffix in (".json", ".yaml", ".yml") and p.is_file():
        import yaml

        data = yaml.safe_load(p.read_text()) if p.suffix != ".json" else json.loads(p.read_text())
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"--config is neither a JSON object nor a .json/.yaml file: {e}") from None
    if not isinstance(data, dict):
        raise UserError(f"--config must hold an object of settings, got {type(data).__name__}")
    return data


def cli_defaults(ap, name: str, options: dict[str, str]) -> None:
    """Give the options of a stage's command line their defaults from config.yaml's section `name`:
    {argparse dest: key or dotted path}, e.g. {"max_new_tokens": "generate.max_new_tokens"}. The
    command line then never carries defaults of its own, and --help shows the config's values."""
    values = {dest: default(name, path) for dest, path in options.items()}
    ap.set_defaults(**values)
    for action in ap._actions:  # --help names where the default comes from
        if action.dest in values:
            key = options[action.dest]
            action.help = f"{action.help + '; ' if action.help else ''}default: config.yaml {name}.{key} = {values[action.dest]!r}"


class Section:
    """Base of a stage's settings: a frozen dataclass whose fields are keys of config.yaml's section
    `SECTION`. `from_dict(overrides)` takes that section's values with the overrides on top (keys of the
    section that the stage does not read are allowed and ignored; keys the section lacks are refused)."""

    SECTION = ""

    @classmethod
    def from_dict(cls, overrides: dict | None = None):
        import dataclasses

        merged = section(cls.SECTION, overrides)
        # lists become tuples: a frozen settings object holds nothing mutable
        return cls(**{f.name: tuple(v) if isinstance(v := merged[f.name], list) else v
                      for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict:
        import dataclasses

        return dataclasses.asdict(self)


def default(name: str, path: str):
    """One value of config.yaml: `default("rag", "generate.max_new_tokens")` (for an argument left None)."""
    value = default_section(name)
    for part in path.split("."):
        value = value[part]
    return value
