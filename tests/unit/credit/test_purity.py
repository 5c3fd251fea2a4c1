"""The credit grading and draw cores stay pure: no web framework, no database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
MODULES = ("workforce.credit.grading", "workforce.credit.draw")
FORBIDDEN = ("litestar", "sqlalchemy", "advanced_alchemy", "alembic", "jinja2", "uvicorn", "httpx")

PROBE = f"""
import importlib, json, sys
for name in {MODULES!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})))
"""


def test_pure_cores_import_no_web_or_database_modules() -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "PYTHONPATH": str(SRC)},
        timeout=60,
    )
    assert json.loads(completed.stdout) == []
