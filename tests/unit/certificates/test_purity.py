"""The certificate core stays pure: no web framework, no database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
MODULES = (
    "workforce.certificates.credential",
    "workforce.certificates.status_list",
    "workforce.certificates.verify",
)
FORBIDDEN = ("litestar", "sqlalchemy", "advanced_alchemy", "alembic", "jinja2", "uvicorn")

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
