"""The status lists of each issuer: entry allocation, bits, and the signed tokens we publish.

Each issuing organisation has its own lists, one chain per purpose (``revocation``,
``suspension``) of W3C Bitstring Status Lists of :data:`LIST_SIZE` entries; a new list is opened
when the current one is full. Indices are drawn at random (herd privacy); the certificate row
carries them under a unique constraint, so a concurrent draw of the same index fails the insert
and the caller retries.

The bits are not stored: they are derived from the certificates' ``revoked_at`` and
``suspended_at`` when a list is signed. A list's ``version`` is bumped whenever one of its bits
changes; the signed token is cached on the row and re-signed when the version moved, when the
signing key rotated, or when it is older than :data:`RESIGN_AFTER`. Every published token
carries a ``validUntil`` (:data:`LIST_VALIDITY`) so that an old list cannot be replayed for long
to hide a revocation.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from workforce.certificates.credential import Issuer, sign_vc_jwt
from workforce.certificates.models import Certificate, StatusList
from workforce.certificates.status_list import (
    MIN_LIST_BITS,
    REVOCATION,
    SUSPENSION,
    StatusBitstring,
    build_status_list_credential,
    random_free_index,
)
from workforce.context import AppContext
from workforce.db import begin_write, utcnow
from workforce.errors import NotFound
from workforce.orgs.models import Org

LIST_SIZE: Final = MIN_LIST_BITS
"""Entries per list (131,072: the spec's minimum, 16 KiB uncompressed)."""
LIST_VALIDITY: Final = timedelta(hours=24)
"""``validUntil`` of a published list, counted from its signature."""
RESIGN_AFTER: Final = timedelta(hours=12)
"""A cached token older than this is re-signed, so a published list is valid >= 12 more hours."""
DENSE_FILL: Final = 3 / 4
"""Above this fill ratio an index is drawn among the known free ones instead of blindly."""
PURPOSES: Final = (REVOCATION, SUSPENSION)
LIST_PATH: Final = "/api/v1/status-lists/"


def list_url(ctx: AppContext, list_id: uuid.UUID) -> str:
    """The public URL of a status list (its credential ``id``)."""
    return f"{ctx.settings.public_base_url.rstrip('/')}{LIST_PATH}{list_id}"


def list_id_of(ctx: AppContext, url: object) -> uuid.UUID | None:
    """The ID of one of our status lists named by ``url``, or ``None`` for any other value."""
    prefix = f"{ctx.settings.public_base_url.rstrip('/')}{LIST_PATH}"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    try:
        return uuid.UUID(url.removeprefix(prefix))
    except ValueError:
        return None


def issuer_of(org: Org) -> Issuer:
    """The ``issuer`` of the certificates and status lists of an organisation."""
    return Issuer(id=f"urn:workforce:org:{org.id}", name=org.name)


def _columns(
    purpose: str,
) -> tuple[
    InstrumentedAttribute[uuid.UUID],
    InstrumentedAttribute[int],
    InstrumentedAttribute[datetime | None],
]:
    if purpose == REVOCATION:
        return Certificate.revocation_list_id, Certificate.revocation_index, Certificate.revoked_at
    return Certificate.suspension_list_id, Certificate.suspension_index, Certificate.suspended_at


# --- allocation -------------------------------------------------------------------------------


class Claim(NamedTuple):
    """One entry claimed in a status list (its index is drawn next)."""

    list_id: uuid.UUID
    purpose: str
    size: int
    allocated: int
    """Entries allocated in the list, this one included."""


async def claim_entry(session: AsyncSession, issuer_org_id: uuid.UUID, purpose: str) -> Claim:
    """Claim one entry in the issuer's open list of ``purpose``, opening a new list if needed.

    The caller must be in a write transaction. The claim is one conditional increment of
    ``allocated`` (re-checked under the row lock on PostgreSQL), so no list is ever over-filled.
    """
    open_list = (
        select(StatusList.id)
        .where(
            StatusList.issuer_org_id == issuer_org_id,
            StatusList.purpose == purpose,
            StatusList.allocated < StatusList.size,
        )
        .order_by(StatusList.id)
        .limit(1)
        .scalar_subquery()
    )
    claim = (
        update(StatusList)
        .where(StatusList.id == open_list, StatusList.allocated < StatusList.size)
        .values(allocated=StatusList.allocated + 1)
        .returning(StatusList.id, StatusList.size, StatusList.allocated)
        .execution_options(synchronize_session=False)
    )
    claimed = (await session.execute(claim)).one_or_none()
    if claimed is None:
        # Open a new list, one writer per issuer at a time (the issuer's row is the lock), after
        # looking again: a concurrent writer may have opened one while we waited.
        await session.execute(select(Org.id).where(Org.id == issuer_org_id).with_for_update())
        claimed = (await session.execute(claim)).one_or_none()
    if claimed is not None:
        return Claim(claimed[0], purpose, claimed[1], claimed[2])
    row = StatusList(
        issuer_org_id=issuer_org_id, purpose=purpose, size=LIST_SIZE, allocated=1, version=0
    )
    session.add(row)
    await session.flush()
    return Claim(row.id, purpose, row.size, 1)


async def draw_index(session: AsyncSession, claim: Claim) -> int:
    """A random index of the claimed list that is free as far as this transaction can tell.

    While the list is sparse the draw is blind (a collision is caught by the unique constraint
    and retried by the caller); once it is dense the free indices are read and one is drawn
    among them with :func:`random_free_index`.
    """
    if claim.allocated <= claim.size * DENSE_FILL:
        return secrets.randbelow(claim.size)
    list_column, index_column, _ = _columns(claim.purpose)
    taken = await session.scalars(select(index_column).where(list_column == claim.list_id))
    return random_free_index(set(taken.all()), claim.size)


async def bump_versions(session: AsyncSession, list_ids: Iterable[uuid.UUID]) -> None:
    """Record that a bit of each list changed (its signed token is then stale)."""
    ids = sorted(set(list_ids))
    if ids:
        await session.execute(
            update(StatusList)
            .where(StatusList.id.in_(ids))
            .values(version=StatusList.version + 1)
            .execution_options(synchronize_session=False)
        )


# --- publication ------------------------------------------------------------------------------


def _fresh(row: StatusList, ctx: AppContext, now: datetime) -> bool:
    return (
        row.signed_token is not None
        and row.signed_version == row.version
        and row.signed_kid == ctx.keyring.current.kid
        and row.signed_at is not None
        and now - row.signed_at < RESIGN_AFTER
    )


async def _bits(session: AsyncSession, row: StatusList) -> StatusBitstring:
    list_column, index_column, flag_column = _columns(row.purpose)
    bits = StatusBitstring(row.size)
    indices = await session.scalars(
        select(index_column).where(list_column == row.id, flag_column.is_not(None))
    )
    for index in indices:
        bits.set(index, True)
    return bits


async def sign_list(session: AsyncSession, ctx: AppContext, row: StatusList, now: datetime) -> None:
    """Rebuild the list's bits from the certificates and cache a freshly signed token."""
    org = await session.get(Org, row.issuer_org_id)
    if org is None:  # pragma: no cover - a foreign key guarantees it
        raise NotFound("no such status list", code="status_list_not_found")
    version = row.version
    bits = await _bits(session, row)
    credential = build_status_list_credential(
        list_url(ctx, row.id),
        row.purpose,
        bits.encode(),
        issuer_of(org),
        now,
        valid_until=now + LIST_VALIDITY,
    )
    key = ctx.keyring.current
    row.signed_token = sign_vc_jwt(credential, key.private, key.kid, issued_at=now)
    row.signed_kid = key.kid
    row.signed_version = version
    row.signed_at = now
    row.signed_until = now + LIST_VALIDITY
    await session.flush()


async def fresh_lists(
    session: AsyncSession, ctx: AppContext, list_ids: Iterable[uuid.UUID]
) -> list[StatusList]:
    """The lists with these IDs (unknown IDs are skipped), each with an up-to-date signed token.

    Call it at the start of a read-only unit of work: when a list needs re-signing, the read
    transaction is restarted as a writer (SQLite cannot upgrade a read snapshot safely), the
    lists are read again and only those still stale are signed.
    """
    ids = sorted(set(list_ids))
    if not ids:
        return []
    now = utcnow()
    rows = list((await session.scalars(select(StatusList).where(StatusList.id.in_(ids)))).all())
    if all(_fresh(row, ctx, now) for row in rows):
        return rows
    if session.in_transaction():
        await session.rollback()
    await begin_write(session)
    rows = list(
        (
            await session.scalars(
                select(StatusList)
                .where(StatusList.id.in_(ids))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    for row in rows:
        if not _fresh(row, ctx, now):
            await sign_list(session, ctx, row, now)
    return rows


async def published_list(
    session: AsyncSession, ctx: AppContext, list_id: uuid.UUID
) -> tuple[str, str]:
    """The signed token of a status list and its entity tag (404 ``status_list_not_found``)."""
    rows = await fresh_lists(session, ctx, [list_id])
    if not rows or rows[0].signed_token is None:
        raise NotFound("no status list has this ID", code="status_list_not_found")
    token = rows[0].signed_token
    return token, f'"{hashlib.sha256(token.encode()).hexdigest()[:32]}"'


async def refresh_stale_lists(session: AsyncSession, ctx: AppContext) -> int:
    """Re-sign every list whose token is stale (for a periodic job); returns how many."""
    await begin_write(session)
    now = utcnow()
    count = 0
    for row in (await session.scalars(select(StatusList).order_by(StatusList.id))).all():
        if not _fresh(row, ctx, now):
            await sign_list(session, ctx, row, now)
            count += 1
    return count
