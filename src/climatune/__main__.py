"""python -m climatune check-config FILE [FILE ...]: check config files before a run.

Snakemake reads the files of --configfile before the workflow starts, and a YAML syntax error there is
reported as "Config file is not valid JSON or YAML" without file or line. This names both, then checks
the merged configuration (config/config.yaml with the files on top, in order) exactly as the workflow
does at start: unknown keys (with the nearest known one), types, ranges.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def check_files(paths: list[str]) -> list[str]:
    """Problems of the config files and of their merge with config/config.yaml; [] when all is well."""
    import yaml

    from ._settings import DEFAULT_CONFIG, SettingsError, check_config

    merged = yaml.safe_load(DEFAULT_CONFIG.read_text())
    problems = []
    for p in paths:
        try:
            data = yaml.safe_load(Path(p).read_text())
        except OSError as e:
            problems.append(f"{p}: {e.strerror}")
            continue
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark else p
            problems.append(f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{p}: must hold keys at top level (a YAML mapping), not {type(data).__name__}")
            continue
        for section, values in data.items():
            if isinstance(values, dict) and isinstance(merged.get(section), dict):
                _deep_update(merged[section], values)
            else:
                merged[section] = values
    if not problems:
        try:
            check_config(merged, DEFAULT_CONFIG.parent / "schema.yaml")
        except SettingsError as e:
            problems.append(str(e))
    return problems


def _deep_update(base: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check-config", help="check config files (YAML syntax with file and line, then the schema)")
    c.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    problems = check_files(a.files)
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print(f"ok: {', '.join(a.files)} on top of config/config.yaml")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
