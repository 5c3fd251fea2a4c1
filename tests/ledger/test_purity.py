"""The ledger core stays pure: no web framework, no database, only allowed imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PURE = ("__init__", "errors", "merkle", "note", "checkpoint", "entry")
MODULES = tuple(f"workforce.ledger.{name}" for name in PURE)
FORBIDDEN = ("litestar", "sqlalchemy", "advanced_alchemy", "alembic", "jinja2", "uvicorn")
ALLOWED_ROOTS = {"cryptography", "msgspec"}

PROBE = f"""
import importlib, json, sys
for name in {MODULES!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})))
"""


def test_core_imports_no_web_or_database_modules() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
        timeout=60,
    )
    assert json.loads(completed.stdout) == []


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_only_stdlib_cryptography_msgspec_and_itself() -> None:
    for name in PURE:
        for module in _imported(SRC / "workforce" / "ledger" / f"{name}.py"):
            root = module.split(".")[0]
            allowed = (
                root in sys.stdlib_module_names
                or root in ALLOWED_ROOTS
                or module.startswith("workforce.ledger.")
            )
            assert allowed, f"{name}.py imports {module}"
            assert module not in {"workforce.ledger.store", "workforce.ledger.service"}
