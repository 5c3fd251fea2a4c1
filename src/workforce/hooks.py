"""Cross-domain reactions, wired explicitly in one table.

A service that changes a person's standing calls the matching function here, inside its own
unit of work; every subscriber runs in the same transaction (so an alert is written together
with the change that causes it: the outbox).  Subscribers are named as ``module:function``
and imported on first use, which keeps the domains free of import cycles.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    # A ban was recorded (kwargs: id_number, practitioner_id, kind, until, seq).
    "ban_recorded": (
        "workforce.certificates.service:on_ban_recorded",
        "workforce.hiring.alerts:on_ban_recorded",
    ),
    # A ban was quashed or amended (kwargs: id_number, practitioner_id, effect, seq).
    "ban_corrected": ("workforce.hiring.alerts:on_ban_corrected",),
    # A certificate was revoked, suspended, reinstated or expired
    # (kwargs: practitioner_id, serial, status, reason).
    "certificate_status_changed": ("workforce.hiring.alerts:on_certificate_status_changed",),
    # A yearly training rule was missed at year end (kwargs: practitioner_id, year, rule_ids).
    "training_lapsed": ("workforce.hiring.alerts:on_training_lapsed",),
    # A credit grade changed (kwargs: practitioner_id or institution_id, grade, previous).
    "credit_grade_changed": (),
}


def _resolve(target: str) -> Callable[..., Awaitable[None]]:
    module_name, _, attr = target.partition(":")
    fn: Callable[..., Awaitable[None]] = getattr(importlib.import_module(module_name), attr)
    return fn


async def emit(event: str, session: Any, ctx: Any, **kwargs: Any) -> None:
    """Run every subscriber of ``event`` in the caller's transaction."""
    for target in SUBSCRIBERS[event]:
        await _resolve(target)(session, ctx, **kwargs)
