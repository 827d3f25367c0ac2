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


# --- the workflow's config: coerced and validated before any job -------------------------------

_SCALARS = {"true": True, "false": False, "yes": True, "no": False, "null": None, "none": None, "~": None}


def _types(prop: dict) -> set[str]:
    """JSON types a schema property admits (its `type`, the types of `oneOf`/`anyOf`, or of `enum`/`const`)."""
    t = prop.get("type")
    out = set(t if isinstance(t, list) else [t] if t else [])
    for sub in prop.get("oneOf", []) + prop.get("anyOf", []):
        out |= _types(sub)
    for v in prop.get("enum", []) + ([prop["const"]] if "const" in prop else []):
        out.add({bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}[type(v)])
    return out


def _coerce_scalar(value: str, types: set[str]):
    """A string the command line or YAML 1.1 left unparsed ('false', '10', '1e-3') as the type the schema
    wants; unchanged when it is none of them."""
    low = value.strip().lower()
    if low in _SCALARS:
        v = _SCALARS[low]
        if (isinstance(v, bool) and "boolean" in types) or (v is None and "null" in types):
            return v
    for kind, cast in (("integer", int), ("number", float)):
        if kind in types:
            try:
                return cast(value)
            except ValueError:
                pass
    return value


def coerce(config: dict, schema: dict) -> dict:
    """Values given as strings where the schema wants booleans, numbers or null (Snakemake reads nested
    `--config key='{...}'` values as strings; PyYAML reads `1e-3` as one) become that type, in place."""
    for key, prop in schema.get("properties", {}).items():
        if not isinstance(config, dict) or key not in config:
            continue
        value, types = config[key], _types(prop)
        if isinstance(value, str) and "string" not in types:
            config[key] = _coerce_scalar(value, types)
        elif isinstance(value, dict) and "properties" in prop:
            coerce(value, prop)
        elif isinstance(value, list) and isinstance(prop.get("items"), dict):
            item_types = _types(prop["items"])
            if "string" not in item_types:
                config[key] = [_coerce_scalar(v, item_types) if isinstance(v, str) else v for v in value]
    return config


def validation_errors(config: dict, schema: dict) -> list[str]:
    """Every schema violation of `config` as one line that names the key, the value and what is allowed
    (a misspelt key gets the nearest known one), instead of the validator's dump of the schema."""
    import difflib

    import jsonschema

    lines = []
    for e in sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path)):
        where = ".".join(map(str, e.absolute_path)) or "the config"
        if e.validator == "additionalProperties":
            known = sorted(e.schema.get("properties", {}))
            extra = sorted(set(e.instance) - set(known))
            for k in extra:
                near = difflib.get_close_matches(k, known, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                lines.append(f"{where + '.' if e.absolute_path else ''}{k}: not a known key{hint} "
                             f"(known: {', '.join(known)})")
        elif e.validator == "required":
            lines.append(f"{where}: {e.message}")
        else:
            allowed = e.schema.get("description", "")
            lines.append(f"{where} = {e.instance!r}: {e.message}" + (f" ({allowed})" if allowed else ""))
    return lines


def check_config(config: dict, schema_path: str | Path) -> None:
    """The workflow's first step: coerce, then validate; raise SettingsError listing every problem."""
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    coerce(config, schema)
    errors = validation_errors(config, schema)
    if errors:
        raise SettingsError("invalid configuration (config/config.yaml and your --configfile/--config):\n  "
                            + "\n  ".join(errors))
