"""Imports every model module so that ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "workforce.orgs.models",
    "workforce.practitioners.models",
    "workforce.audit.models",
    "workforce.idempotency",
    "workforce.training.models",
    "workforce.ledger.store",
    "workforce.certificates.models",
    "workforce.credit.models",
    "workforce.hiring.models",
)


def load_all_models() -> None:
    """Import each model module once."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
