"""What the hiring gate reads from the other domains, in one place.

Each function calls the owning domain's service (imported on first use, which keeps the
domains free of import cycles) and reduces its answer to the few facts hiring needs:

* the ban ledger: whether a subject is barred now, and the latest signed checkpoint;
* certificates: the certificates a practitioner holds with their status, and expiry;
* credit: whether a practitioner is under joint punishment (联合惩戒);
* training: the practitioner's rule results for a year.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable
    from datetime import date

    from sqlalchemy.ext.asyncio import AsyncSession

    from workforce.context import AppContext
    from workforce.policy.catalog import HeldCert
    from workforce.practitioners.models import Practitioner
    from workforce.rules.engine import RuleResult


@dataclasses.dataclass(frozen=True)
class CheckpointRef:
    """The ledger checkpoint a check was made against."""

    origin: str
    size: int
    root_hash: bytes

    def claims(self) -> dict[str, Any]:
        """The receipt's ``ledger_checkpoint`` claim."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root_hash": base64.b64encode(self.root_hash).decode("ascii"),
        }


async def is_banned(
    session: AsyncSession, ctx: AppContext, id_number: str, today: date | None = None
) -> bool:
    """Whether a ban is in force for this (normalized, valid) ID number on ``today``."""
    from workforce.ledger.service import subject_status  # noqa: PLC0415 - on first use: no import cycles

    status = await subject_status(session, ctx, id_number, today)
    return bool(status.banned)


async def latest_checkpoint(session: AsyncSession, ctx: AppContext) -> CheckpointRef:
    """The latest signed checkpoint of the ban ledger (the empty tree before any entry)."""
    from workforce.ledger.service import latest_checkpoint as ledger_checkpoint  # noqa: PLC0415

    checkpoint = await ledger_checkpoint(session)
    return checkpoint_ref(ctx, int(checkpoint.size), bytes(checkpoint.root_hash), checkpoint.note)


def checkpoint_ref(
    ctx: AppContext, size: int, root_hash: bytes | None, note: str | None
) -> CheckpointRef:
    """:func:`latest_checkpoint` from a checkpoint row's columns (``root_hash`` None: no row)."""
    if root_hash is None or note is None:
        from workforce.ledger.merkle import empty_root  # noqa: PLC0415 - on first use

        return CheckpointRef(
            origin=ctx.settings.ledger_origin, size=0, root_hash=bytes(empty_root())
        )
    return CheckpointRef(origin=note.split("\n", 1)[0], size=size, root_hash=root_hash)


def ledger_index(ctx: AppContext, number: str) -> bytes:
    """The keyed index of a (validated, normalized) ID number in the ledger's subject table."""
    from workforce.ledger.service import subject_index  # noqa: PLC0415 - on first use: no import cycles

    return subject_index(ctx, number)


def ban_in_force(leaves: Iterable[bytes], today: date) -> bool:
    """Whether the ledger entries about a person (leaf bytes, in order) bar them on ``today``."""
    from workforce.ledger.entry import fold_status, parse_entry  # noqa: PLC0415 - on first use

    entries = [parse_entry(leaf) for leaf in leaves]
    return bool(entries) and bool(fold_status(entries, today).banned)


async def held_certificates(
    session: AsyncSession, practitioner_id: uuid.UUID, today: date
) -> list[HeldCert]:
    """The practitioner's certificates with their status on ``today``."""
    from workforce.certificates.service import (  # noqa: PLC0415 - on first use: no import cycles
        held_certificates as certificates_held,
    )

    return list(await certificates_held(session, practitioner_id, today))


async def held_certificates_many(
    session: AsyncSession, practitioner_ids: list[uuid.UUID], today: date
) -> dict[uuid.UUID, list[HeldCert]]:
    """:func:`held_certificates` for many practitioners at once."""
    from workforce.certificates.service import (  # noqa: PLC0415 - on first use: no import cycles
        held_certificates_many as certificates_held_many,
    )

    return {
        pid: list(certs)
        for pid, certs in (await certificates_held_many(session, practitioner_ids, today)).items()
    }


async def expire_due(session: AsyncSession, ctx: AppContext, today: date) -> int:
    """Mark certificates whose validity ended before ``today`` as expired (emits hooks)."""
    from workforce.certificates.service import expire_due as certificates_expire  # noqa: PLC0415 - on first use: no import cycles

    return int(await certificates_expire(session, ctx, today))


@dataclasses.dataclass(frozen=True)
class CreditStanding:
    """What the credit grade says about a practitioner."""

    joint_punishment: bool
    """Under joint punishment (联合惩戒) because of credit events (not merely because of a ban)."""
    banned: bool | None
    """The ledger's ban status as the grade saw it (None: not checked there)."""


async def credit_standing(
    session: AsyncSession, ctx: AppContext, practitioner_id: uuid.UUID, on: date | None = None
) -> CreditStanding:
    """The practitioner's credit grade, reduced to joint punishment and the ban it saw.

    A ban in force lowers the grade to D by rule (``decided_by == "ledger_ban"``); that is
    reported once, as the ban, not again as joint punishment.
    """
    from workforce.credit.service import practitioner_grade  # noqa: PLC0415 - on first use: no import cycles

    return _standing(await practitioner_grade(session, ctx, practitioner_id, on))


@functools.lru_cache(maxsize=64)
def credit_standing_without_events(banned: bool, on: date) -> CreditStanding:
    """:func:`credit_standing` of a practitioner who has no credit event at all (pure).

    It depends only on the ban and the day (the grade rules are read once), so it is cached.
    """
    from workforce.credit import grading  # noqa: PLC0415 - on first use: no import cycles

    return _standing(
        grading.evaluate(
            (), grading.default_grade_rules(), grading.default_event_types(), on, banned=banned
        )
    )


def _standing(grade: Any) -> CreditStanding:
    decided_by = getattr(grade, "decided_by", None)
    banned = getattr(grade, "banned", None)
    return CreditStanding(
        joint_punishment=bool(grade.joint_punishment) and decided_by != "ledger_ban",
        banned=None if banned is None else bool(banned),
    )


async def compliance(
    session: AsyncSession, ctx: AppContext, person: Practitioner, year: int
) -> list[RuleResult]:
    """The practitioner's rule results for ``year``."""
    from workforce.training.service import compliance as training_compliance  # noqa: PLC0415 - on first use: no import cycles

    return list(await training_compliance(session, ctx, person, year))


def yearly_rule_ids(ctx: AppContext) -> frozenset[str]:
    """Ids of the rules whose period is a calendar year."""
    return frozenset(rule.id for rule in ctx.rules.rules if rule.period == "calendar_year")
