"""The shape of the code: a package per rule group, a module per rule with the rule's name, no import
circles (also through imports inside functions), small files and functions."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from ..conftest import REPO

SRC = REPO / "src" / "climatune"
GROUPS = ("corpus", "model", "parallel", "rag")
# Packages that are no pipeline stage: the chat UI spans model and rag (it serves what both built), so it
# lives beside them, and its rule (`chat`, in rag.smk) runs the package itself.
APPS = ("chat",)
MAX_FILE_LINES = 310
MAX_FUNCTION_LINES = 60
LONG_OK = "Why this is long:"  # a function over the limit says why in its docstring


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(SRC.rglob("*.py")):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """climatune modules `name` imports anywhere in its file (module level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # `from . import x` names a module x
    return {m for m in found if m in modules and m != name}


def test_no_import_circles():
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    # a package's __init__ re-exporting its modules is not a circle through them
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_top_level_holds_only_helpers_and_the_four_stage_packages():
    top = {p.name for p in SRC.iterdir() if not p.name.startswith("__pycache__")}
    assert top - {"__init__.py", "__main__.py", "_util.py", "_settings.py", "py.typed", *GROUPS, *APPS} == set()


def test_files_and_functions_stay_small():
    too_long = []
    for name, p in _modules().items():
        lines = len(p.read_text().splitlines())
        if lines > MAX_FILE_LINES:
            too_long.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES and LONG_OK not in (ast.get_docstring(node) or ""):
                    too_long.append(f"{name}.{node.name}: {n} lines")
    assert not too_long, too_long


def _rules() -> list[tuple[str, str, str]]:
    """(group, rule, script) of every rule with a script."""
    out = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        for m in re.finditer(r"^\s*rule (\w+):(.*?)(?=^\s*rule \w+:|\Z)", text, re.S | re.M):
            script = re.search(r'script:\s*"\.\./scripts/([\w.]+)"', m.group(2))
            if script:
                out.append((smk.stem, m.group(1), script.group(1)))
    return out


def _module_of(group: str, rule: str) -> str:
    """Rule `extract_text` of corpus.smk -> climatune.corpus.extract_text; `rag_chunk` -> climatune.rag.chunk;
    `parallel` -> climatune.parallel (the package's launcher)."""
    if rule in APPS:
        return f"climatune.{rule}"
    stage = rule[len(group) + 1:] if rule.startswith(group + "_") else rule
    return f"climatune.{group}" if stage == group else f"climatune.{group}.{stage}"


@pytest.mark.parametrize("group, rule, script", _rules(), ids=[r for _, r, _ in _rules()])
def test_rule_script_and_module_share_the_rules_name(group, rule, script):
    assert group in GROUPS and script == f"{rule}.py"
    module = importlib.import_module(_module_of(group, rule))
    assert hasattr(module, "main"), f"{module.__name__} has no main(): not runnable as python -m"
    text = (REPO / "workflow" / "scripts" / script).read_text()
    assert module.__name__.rsplit(".", 1)[-1] in text  # the script calls its module


def test_every_rule_is_covered():
    assert len(_rules()) >= 19


def test_loads_are_safe():
    """Weights load through safetensors, any torch.load reads tensors and plain containers only
    (weights_only=True), and no model code from a hub runs (no trust_remote_code)."""
    found = []
    for name, p in _modules().items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                fname = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                kw = {k.arg: k.value for k in node.keywords}
                if fname == "load" and isinstance(f, ast.Attribute) and getattr(f.value, "id", "") == "torch":
                    wo = kw.get("weights_only")
                    if not (isinstance(wo, ast.Constant) and wo.value is True):
                        found.append(f"{name}:{node.lineno} torch.load without weights_only=True")
                tr = kw.get("trust_remote_code")
                if tr is not None and not (isinstance(tr, ast.Constant) and tr.value is False):
                    found.append(f"{name}:{node.lineno} trust_remote_code")
    assert not found, found
