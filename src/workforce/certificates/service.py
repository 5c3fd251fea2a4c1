"""Certificates: issued only when earned, signed, verifiable offline, revocable.

Issuance checks the certificate type's prerequisites (catalog data) against the hours recorded by
the training domain and the certificates already held, refuses with one reason per unmet
prerequisite, and signs a W3C VC 2.0 credential (``vc+jwt``) that points at two Bitstring Status
Lists (revocation, suspension). Status changes are insert-only history rows plus facts on the
certificate (``revoked_at``, ``suspended_at``); expiry is computed against ``valid_until``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from workforce import hooks
from workforce.certificates import status_store
from workforce.certificates.credential import (
    CertificateSubject,
    StatusPointer,
    build_credential,
    sign_vc_jwt,
    verify_vc_jwt,
)
from workforce.certificates.models import Certificate, CertificateEvent
from workforce.certificates.schemas import CertificateCreate
from workforce.certificates.status_list import REVOCATION, SUSPENSION
from workforce.certificates.verify import CertificateVerdict, verify_certificate_offline
from workforce.context import AppContext
from workforce.db import begin_write, new_id, utcnow
from workforce.errors import Conflict, Forbidden, Invalid, NotFound, Reason, RuleRefused
from workforce.ledger import service as ledger
from workforce.orgs.models import Org
from workforce.pagination import Page, paginate
from workforce.policy.catalog import (
    CertificateType,
    CertStatus,
    HeldCert,
    LevelRequiredError,
    PrerequisiteFacts,
    UnknownCertificateTypeError,
    UnknownLevelError,
    add_months,
    evaluate_prerequisites,
    records_needed_since,
    valid_until,
)
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import get_visible
from workforce.rules.engine import RecordHours, RuleResult, RulesError, evaluate_totals
from workforce.security.idnumber import CHINA_TZ
from workforce.security.principal import Principal
from workforce.training import service as training
from workforce.training.aggregates import rule_region
from workforce.training.models import TrainingRecord

SERIAL_PREFIX: Final = "TY"
SERIAL_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: no I, L, O or U, so a serial read aloud or retyped survives."""
SERIAL_GROUPS: Final = 6
SERIAL_GROUP_SIZE: Final = 4
SERIAL_BITS: Final = 5 * SERIAL_GROUPS * SERIAL_GROUP_SIZE
"""120 random bits: unguessable even among billions of certificates."""
INSERT_ATTEMPTS: Final = 8
RENEWAL_WINDOW: Final = timedelta(days=90)
"""A certificate still valid may be re-issued (renewed) in its last 90 days."""
MAX_STATUS_ENTRIES: Final = 8
"""Status entries of a presented token we look up (a hostile token may list many)."""
BANNED_REASON: Final = "banned"

STATUS_LABELS: Final[dict[str, str]] = {
    "valid": "有效",
    "revoked": "已撤销",
    "suspended": "已暂停",
    "expired": "已过期",
}

CERTIFICATE_NOT_FOUND: Final = "certificate_not_found"
UNKNOWN_CERTIFICATE_TYPE: Final = "unknown_certificate_type"
UNKNOWN_LEVEL: Final = "unknown_level"
LEVEL_REQUIRED: Final = "level_required"
ISSUER_OUT_OF_SCOPE: Final = "issuer_out_of_scope"
ISSUER_NOT_ACCREDITED: Final = "issuer_not_accredited"
HOLDER_BANNED: Final = "holder_banned"
PREREQUISITES_UNMET: Final = "prerequisites_unmet"
ALREADY_HELD: Final = "certificate_already_held"
REVOKED_FINAL: Final = "certificate_revoked_final"
ALREADY_SUSPENDED: Final = "certificate_already_suspended"
NOT_SUSPENDED: Final = "certificate_not_suspended"


# --- time, serials, status --------------------------------------------------------------------


def china_today(now: datetime | None = None) -> date:
    """Today in China Standard Time."""
    return (now or utcnow()).astimezone(CHINA_TZ).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` (Beijing time), as UTC: a credential's ``validUntil``."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA_TZ).astimezone(UTC)


def new_serial() -> str:
    """A fresh serial: ``TY-`` and six groups of four Crockford base32 characters."""
    value = secrets.randbits(SERIAL_BITS)
    chars = "".join(
        SERIAL_ALPHABET[(value >> (5 * shift)) & 31]
        for shift in reversed(range(SERIAL_GROUPS * SERIAL_GROUP_SIZE))
    )
    groups = [chars[i : i + SERIAL_GROUP_SIZE] for i in range(0, len(chars), SERIAL_GROUP_SIZE)]
    return "-".join([SERIAL_PREFIX, *groups])


_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalize_serial(raw: str) -> str | None:
    """The canonical form of a serial as a person may type it (case, dashes, O/0, I/1), or None."""
    compact = "".join(raw.split()).replace("-", "").upper()
    size = SERIAL_GROUPS * SERIAL_GROUP_SIZE
    if len(compact) == size + len(SERIAL_PREFIX) and compact.startswith(SERIAL_PREFIX):
        compact = compact.removeprefix(SERIAL_PREFIX)
    compact = compact.translate(_CONFUSABLE)
    if len(compact) != size or any(char not in SERIAL_ALPHABET for char in compact):
        return None
    groups = [compact[i : i + SERIAL_GROUP_SIZE] for i in range(0, size, SERIAL_GROUP_SIZE)]
    return "-".join([SERIAL_PREFIX, *groups])


def status_of(cert: Certificate, today: date) -> CertStatus:
    """Current status: revoked, else suspended, else expired after ``valid_until``, else valid."""
    return cert_status(
        revoked=cert.revoked_at is not None,
        suspended=cert.suspended_at is not None,
        valid_until=cert.valid_until,
        today=today,
    )


def cert_status(
    *, revoked: bool, suspended: bool, valid_until: date | None, today: date
) -> CertStatus:
    """:func:`status_of` from the bare facts (for readers that do not load ``Certificate`` rows)."""
    if revoked:
        return "revoked"
    if suspended:
        return "suspended"
    if valid_until is not None and today > valid_until:
        return "expired"
    return "valid"


def mask_name(name: str) -> str:
    """A name for public display: the surname and, for three or more characters, the last one."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def verify_url(ctx: AppContext, serial: str) -> str:
    """The public verification page of a certificate (what its QR code opens)."""
    return f"{ctx.settings.public_base_url.rstrip('/')}/verify/{serial}"


def api_url(ctx: AppContext, serial: str, suffix: str = "") -> str:
    """The public API URL of a certificate."""
    return f"{ctx.settings.public_base_url.rstrip('/')}/api/v1/certificates/{serial}{suffix}"


# --- lookups ----------------------------------------------------------------------------------


async def get_by_serial(session: AsyncSession, raw_serial: str) -> Certificate:
    """The certificate with this serial (404 ``certificate_not_found``)."""
    serial = normalize_serial(raw_serial)
    cert = None
    if serial is not None:
        cert = await session.scalar(select(Certificate).where(Certificate.serial == serial))
    if cert is None:
        raise NotFound("no certificate has this serial", code=CERTIFICATE_NOT_FOUND)
    return cert


async def held_certificates(
    session: AsyncSession, practitioner_id: uuid.UUID, today: date
) -> list[HeldCert]:
    """Every certificate of a practitioner with its status on ``today`` (oldest first)."""
    found = await held_certificates_many(session, [practitioner_id], today)
    return found.get(practitioner_id, [])


async def held_certificates_many(
    session: AsyncSession, practitioner_ids: Iterable[uuid.UUID], today: date
) -> dict[uuid.UUID, list[HeldCert]]:
    """:func:`held_certificates` for many practitioners in one query per 500."""
    ids = list(dict.fromkeys(practitioner_ids))
    held: dict[uuid.UUID, list[HeldCert]] = {}
    for start in range(0, len(ids), 500):
        rows = await session.scalars(
            select(Certificate)
            .where(Certificate.practitioner_id.in_(ids[start : start + 500]))
            .order_by(Certificate.id)
        )
        for cert in rows:
            held.setdefault(cert.practitioner_id, []).append(
                HeldCert(cert_type=cert.cert_type, level=cert.level, status=status_of(cert, today))
            )
    return held


async def certificate_holding_rate(
    session: AsyncSession, practitioner_ids: Sequence[uuid.UUID], today: date
) -> tuple[int, int]:
    """How many of these practitioners hold at least one valid certificate on ``today``.

    Returns:
        ``(certified, total)`` where ``total`` is the number of distinct practitioners given.
    """
    ids = list(dict.fromkeys(practitioner_ids))
    held = await held_certificates_many(session, ids, today)
    certified = sum(1 for certs in held.values() if any(c.status == "valid" for c in certs))
    return certified, len(ids)


async def list_for_practitioner(
    session: AsyncSession,
    actor: Principal,
    practitioner_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    route: str,
) -> Page[Certificate]:
    """The certificates of a practitioner the caller may see (404 otherwise); access-logged."""
    await get_visible(session, actor, practitioner_id, action="read_certificates", route=route)
    stmt = select(Certificate).where(Certificate.practitioner_id == practitioner_id)
    return await paginate(session, stmt, Certificate.id, limit, cursor)


# --- issuance ---------------------------------------------------------------------------------


def _certificate_type(ctx: AppContext, code: str, level: str | None) -> CertificateType:
    try:
        cert_type = ctx.catalog.certificate_type(code)
    except UnknownCertificateTypeError:
        raise Invalid(
            "no certificate type has this code; see GET /api/v1/certificate-types",
            code=UNKNOWN_CERTIFICATE_TYPE,
        ) from None
    try:
        cert_type.level(level)
    except LevelRequiredError as exc:
        raise Invalid(str(exc), code=LEVEL_REQUIRED) from None
    except UnknownLevelError as exc:
        raise Invalid(str(exc), code=UNKNOWN_LEVEL) from None
    return cert_type


async def _check_issuer_scope(
    session: AsyncSession, actor: Principal, cert_type: CertificateType, today: date
) -> None:
    """The issuer kind must be one the type names; a base must be accredited for the type."""
    if actor.role not in cert_type.issuers:
        raise Forbidden(
            f"certificate type {cert_type.code} is issued by: {', '.join(cert_type.issuers)}",
            code=ISSUER_OUT_OF_SCOPE,
        )
    if actor.role != "training_base":
        return  # a regulator's scope is its jurisdiction, checked with the holder's visibility
    accreditation = await training.current_accreditation(session, actor.org_id, today)
    if accreditation is None:
        raise Forbidden(
            f"the training base holds no accreditation valid on {today.isoformat()}",
            code=ISSUER_NOT_ACCREDITED,
        )
    if cert_type.code not in accreditation.certificate_types:
        raise Forbidden(
            f"certificate type {cert_type.code} is outside the base's accreditation scope",
            code=ISSUER_OUT_OF_SCOPE,
        )


async def _holder_banned(
    session: AsyncSession, ctx: AppContext, person: Practitioner, today: date
) -> bool:
    """Whether a ban recorded in the ban ledger is in force against the practitioner."""
    return await ledger.practitioner_banned(session, ctx, person, today)


async def _dated_records(
    session: AsyncSession, practitioner_id: uuid.UUID, since: date, until: date
) -> list[RecordHours]:
    """Completions (not voided) in ``since..until``, for the windowed hour prerequisites.

    The training domain's running totals are per calendar year; a "120 hours in the last 24
    months" prerequisite needs the completion dates, so this reads the records themselves.
    """
    rows = await session.execute(
        select(
            TrainingRecord.category,
            TrainingRecord.completed_on,
            TrainingRecord.hours_tenths,
            TrainingRecord.mode,
        ).where(
            TrainingRecord.practitioner_id == practitioner_id,
            TrainingRecord.voided_at.is_(None),
            TrainingRecord.completed_on >= since,
            TrainingRecord.completed_on <= until,
        )
    )
    return [
        RecordHours(category=category, completed_on=day, hours_tenths=tenths, mode=mode)
        for category, day, tenths, mode in rows
    ]


async def _training_facts(
    session: AsyncSession,
    ctx: AppContext,
    person: Practitioner,
    cert_type: CertificateType,
    level: str | None,
    today: date,
) -> tuple[list[RuleResult], list[RecordHours], int]:
    """Rule results (every family in force today, any position), dated records, total hours."""
    totals = await training.hours_totals(session, person.id)
    try:
        results = evaluate_totals(
            ctx.rules, rule_region(person.region_code), None, today.year, totals, on_date=today
        )
    except RulesError:  # an unusable region code: no rule applies (reported as not in force)
        results = []
    since = records_needed_since(cert_type, level, today)
    records = [] if since is None else await _dated_records(session, person.id, since, today)
    return results, records, sum(totals.values())


def _counted_hours(
    cert_type: CertificateType, level: str | None, facts: PrerequisiteFacts, total: int
) -> int:
    """Hours counted toward the certificate's hour prerequisites; all hours if it has none."""
    counted = 0
    found = False
    for prerequisite in cert_type.prerequisites_for(level):
        if prerequisite.kind != "hours":
            continue
        found = True
        if prerequisite.rule_family is not None:
            counted += next(
                (
                    r.earned_tenths
                    for r in facts.rule_results
                    if r.family == prerequisite.rule_family
                ),
                0,
            )
            continue
        months = prerequisite.within_months
        start = date.min
        if months is not None:  # the catalog's window: the months ending on the issue day
            start = add_months(facts.as_of, -months) + timedelta(days=1)
        counted += sum(
            record.hours_tenths
            for record in facts.records
            if record.category in prerequisite.categories
            and start <= record.completed_on <= facts.as_of
        )
    return counted if found else total


def _already_held(existing: Sequence[Certificate], today: date) -> Certificate | None:
    renew_from = today + RENEWAL_WINDOW
    for cert in existing:
        if status_of(cert, today) not in ("valid", "suspended"):
            continue
        if cert.valid_until is None or cert.valid_until > renew_from:
            return cert
    return None


async def issue_certificate(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    cmd: CertificateCreate,
    *,
    route: str = "",
    now: datetime | None = None,
) -> Certificate:
    """Issue a certificate if the practitioner has earned it.

    Refusals: 422 ``unknown_certificate_type``, ``unknown_level``, ``level_required``; 403
    ``issuer_out_of_scope`` (issuer kind or accreditation scope), ``issuer_not_accredited``;
    404 ``practitioner_not_found`` (not visible to the caller); 422 ``prerequisites_unmet`` with
    one reason per unmet prerequisite and ``holder_banned``; 409 ``certificate_already_held``.
    """
    moment = now or utcnow()
    today = china_today(moment)
    cert_type = _certificate_type(ctx, cmd.type, cmd.level)
    await begin_write(session)
    await _check_issuer_scope(session, actor, cert_type, today)
    person = await get_visible(
        session, actor, cmd.practitioner_id, action="issue_certificate", route=route
    )
    reasons: list[Reason] = []
    if await _holder_banned(session, ctx, person, today):
        reasons.append(Reason(HOLDER_BANNED, "a ban recorded in the ban ledger is in force"))
    results, records, total = await _training_facts(
        session, ctx, person, cert_type, cmd.level, today
    )
    mine = list(
        (
            await session.scalars(
                select(Certificate).where(Certificate.practitioner_id == person.id)
            )
        ).all()
    )
    same = [c for c in mine if c.cert_type == cert_type.code and c.level == cmd.level]
    if _already_held(same, today) is not None:
        raise Conflict(
            "the practitioner already holds this certificate (renewal opens 90 days before expiry)",
            code=ALREADY_HELD,
        )
    facts = PrerequisiteFacts(
        as_of=today,
        rule_results=results,
        records=records,
        held=[
            HeldCert(cert_type=c.cert_type, level=c.level, status=status_of(c, today)) for c in mine
        ],
        assessment_passed=cmd.assessment_passed,
        assessment_ref=cmd.assessment_ref,
    )
    reasons.extend(evaluate_prerequisites(cert_type, cmd.level, facts))
    if reasons:
        raise RuleRefused(
            "the practitioner has not met the requirements of this certificate",
            code=PREREQUISITES_UNMET,
            reasons=reasons,
        )
    org = await session.get(Org, actor.org_id)
    if org is None:  # pragma: no cover - a token names an existing organisation
        raise NotFound("the issuing organisation does not exist", code="org_not_found")
    cert = await _sign_and_insert(
        session,
        ctx,
        org,
        actor.role,
        person,
        cert_type,
        cmd.level,
        hours_tenths=_counted_hours(cert_type, cmd.level, facts, total),
        assessment_ref=cmd.assessment_ref,
        moment=moment,
    )
    session.add(
        CertificateEvent(
            certificate_id=cert.id,
            action="issue",
            status="valid",
            reason=None,
            actor_org_id=actor.org_id,
            actor_client_id=actor.client_id,
        )
    )
    await session.flush()
    return cert


async def _sign_and_insert(
    session: AsyncSession,
    ctx: AppContext,
    org: Org,
    role: str,
    person: Practitioner,
    cert_type: CertificateType,
    level: str | None,
    *,
    hours_tenths: int,
    assessment_ref: str | None,
    moment: datetime,
) -> Certificate:
    """Claim status entries, sign the credential and insert it, retrying on a collision."""
    today = china_today(moment)
    last_day = valid_until(cert_type, level, today)
    level_name = next((lv.name for lv in cert_type.levels if lv.code == level), None)
    lists = {
        purpose: await status_store.claim_entry(session, org.id, purpose)
        for purpose in status_store.PURPOSES
    }
    issuer = status_store.issuer_of(org)
    for _ in range(INSERT_ATTEMPTS):
        cert_id = new_id()
        serial = new_serial()
        indices = {
            purpose: await status_store.draw_index(session, claim)
            for purpose, claim in lists.items()
        }
        credential = build_credential(
            credential_id=f"urn:uuid:{cert_id}",
            issuer=issuer,
            subject=CertificateSubject(
                masked_id_number=person.id_masked,
                name=person.name,
                type_code=cert_type.code,
                type_name=cert_type.name,
                level_code=level,
                level_name=level_name,
                hours_tenths=hours_tenths,
                serial=serial,
            ),
            valid_from=moment,
            valid_until=end_of_day(last_day) if last_day is not None else None,
            status=[
                StatusPointer(purpose, status_store.list_url(ctx, claim.list_id), indices[purpose])
                for purpose, claim in lists.items()
            ],
        )
        key = ctx.keyring.current
        cert = Certificate(
            id=cert_id,
            serial=serial,
            practitioner_id=person.id,
            issuer_org_id=org.id,
            issuer_role=role,
            issuer_name=org.name,
            cert_type=cert_type.code,
            type_name=cert_type.name,
            level=level,
            level_name=level_name,
            catalog_version=ctx.catalog.version,
            hours_tenths=hours_tenths,
            holder_name=person.name,
            holder_id_masked=person.id_masked,
            issued_at=moment,
            valid_from=today,
            valid_until=last_day,
            assessment_ref=assessment_ref,
            kid=key.kid,
            token=sign_vc_jwt(credential, key.private, key.kid, issued_at=moment),
            revocation_list_id=lists[REVOCATION].list_id,
            revocation_index=indices[REVOCATION],
            suspension_list_id=lists[SUSPENSION].list_id,
            suspension_index=indices[SUSPENSION],
        )
        try:
            async with session.begin_nested():
                session.add(cert)
        except IntegrityError:
            continue  # an index (or, improbably, the serial) was taken concurrently: redraw
        return cert
    raise Conflict("could not allocate a status entry; retry", code="status_entry_busy")


# --- status changes ---------------------------------------------------------------------------


async def _record_change(
    session: AsyncSession,
    ctx: AppContext,
    cert: Certificate,
    *,
    action: str,
    reason: str | None,
    actor: Principal | None,
    today: date,
    changed_lists: Iterable[uuid.UUID],
) -> None:
    await status_store.bump_versions(session, changed_lists)
    status = status_of(cert, today)
    session.add(
        CertificateEvent(
            certificate_id=cert.id,
            action=action,
            status=status,
            reason=reason,
            actor_org_id=actor.org_id if actor else None,
            actor_client_id=actor.client_id if actor else None,
        )
    )
    await session.flush()
    await hooks.emit(
        "certificate_status_changed",
        session,
        ctx,
        practitioner_id=cert.practitioner_id,
        serial=cert.serial,
        status=status,
        reason=reason,
    )


def _revoke(cert: Certificate, moment: datetime) -> list[uuid.UUID]:
    """Set the revocation facts; returns the lists whose bits changed."""
    changed = [cert.revocation_list_id]
    if cert.suspended_at is not None:
        changed.append(cert.suspension_list_id)
    cert.revoked_at = moment
    cert.suspended_at = None
    return changed


async def change_status(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    raw_serial: str,
    action: str,
    reason: str,
    *,
    route: str = "",
) -> Certificate:
    """Revoke, suspend or reinstate a certificate (a regulator covering the holder's region).

    Revocation is final (409 ``certificate_revoked_final``); ``reinstate`` only lifts a
    suspension (409 ``certificate_not_suspended``); suspending twice is 409
    ``certificate_already_suspended``.
    """
    await begin_write(session)
    cert = await get_by_serial(session, raw_serial)
    try:
        await get_visible(
            session, actor, cert.practitioner_id, action="certificate_status", route=route
        )
    except NotFound:
        raise NotFound("no certificate has this serial", code=CERTIFICATE_NOT_FOUND) from None
    moment = utcnow()
    if cert.revoked_at is not None:
        raise Conflict("the certificate is revoked; revocation is final", code=REVOKED_FINAL)
    if action == "revoke":
        changed = _revoke(cert, moment)
    elif action == "suspend":
        if cert.suspended_at is not None:
            raise Conflict("the certificate is already suspended", code=ALREADY_SUSPENDED)
        cert.suspended_at = moment
        changed = [cert.suspension_list_id]
    else:
        if cert.suspended_at is None:
            raise Conflict("only a suspended certificate can be reinstated", code=NOT_SUSPENDED)
        cert.suspended_at = None
        changed = [cert.suspension_list_id]
        if status_of(cert, china_today(moment)) == "expired":  # its expiry is announced now
            cert.expiry_recorded_on = china_today(moment)
    await _record_change(
        session,
        ctx,
        cert,
        action=action,
        reason=reason,
        actor=actor,
        today=china_today(moment),
        changed_lists=changed,
    )
    return cert


async def revoke_for_practitioner(
    session: AsyncSession, ctx: AppContext, practitioner_id: uuid.UUID, reason: str
) -> int:
    """Revoke every certificate of a practitioner that is not revoked yet; returns how many."""
    await begin_write(session)
    moment = utcnow()
    today = china_today(moment)
    rows = (
        await session.scalars(
            select(Certificate)
            .where(Certificate.practitioner_id == practitioner_id, Certificate.revoked_at.is_(None))
            .order_by(Certificate.id)
        )
    ).all()
    for cert in rows:
        changed = _revoke(cert, moment)
        await _record_change(
            session,
            ctx,
            cert,
            action="revoke",
            reason=reason,
            actor=None,
            today=today,
            changed_lists=changed,
        )
    return len(rows)


async def on_ban_recorded(
    session: AsyncSession,
    ctx: AppContext,
    *,
    id_number: str,
    practitioner_id: uuid.UUID | None,
    kind: str,
    until: date | None,
    seq: int,
    **_: Any,
) -> None:
    """Hook ``ban_recorded``: revoke every valid or suspended certificate of the banned person.

    A fixed-term ban revokes too: the person must earn a new certificate after the ban.
    """
    if practitioner_id is None:
        return
    await revoke_for_practitioner(session, ctx, practitioner_id, BANNED_REASON)


async def expire_due(session: AsyncSession, ctx: AppContext, today: date) -> int:
    """Record the expiry of every certificate whose last day is before ``today``.

    Each newly expired certificate (neither revoked nor suspended, expiry not yet recorded) gets
    a history row and a ``certificate_status_changed`` event with status ``expired``. A suspended
    certificate keeps the status ``suspended``; reinstated after its last day, it becomes
    ``expired`` with the reinstatement's own event. Idempotent per certificate.

    Returns:
        How many certificates were newly recorded as expired.
    """
    await begin_write(session)
    count = 0
    while True:
        batch = (
            await session.scalars(
                select(Certificate)
                .where(
                    Certificate.valid_until < today,
                    Certificate.expiry_recorded_on.is_(None),
                    Certificate.revoked_at.is_(None),
                    Certificate.suspended_at.is_(None),
                )
                .order_by(Certificate.id)
                .limit(500)
            )
        ).all()
        if not batch:
            return count
        for cert in batch:
            cert.expiry_recorded_on = today
            session.add(
                CertificateEvent(
                    certificate_id=cert.id,
                    action="expire",
                    status="expired",
                    reason="validity_ended",
                )
            )
            await session.flush()
            await hooks.emit(
                "certificate_status_changed",
                session,
                ctx,
                practitioner_id=cert.practitioner_id,
                serial=cert.serial,
                status="expired",
                reason="validity_ended",
            )
            count += 1


# --- verification -----------------------------------------------------------------------------


def _status_list_ids(ctx: AppContext, credential: dict[str, Any]) -> list[uuid.UUID]:
    entries = credential.get("credentialStatus")
    items = entries if isinstance(entries, list) else [entries]
    ids: list[uuid.UUID] = []
    for entry in items[:MAX_STATUS_ENTRIES]:
        if isinstance(entry, dict):
            found = status_store.list_id_of(ctx, entry.get("statusListCredential"))
            if found is not None:
                ids.append(found)
    return ids


async def verify_token(
    session: AsyncSession, ctx: AppContext, token: str, now: datetime | None = None
) -> CertificateVerdict:
    """Verify a presented certificate with the live JWKS and our current status lists.

    Never raises on hostile input: a bad token is an ``invalid`` verdict with its reason.
    """
    jwks = ctx.keyring.jwks()
    first = verify_vc_jwt(token, jwks, now)
    if not first.signature_ok or first.credential is None:
        return verify_certificate_offline(token, jwks, None, now)
    rows = await status_store.fresh_lists(session, ctx, _status_list_ids(ctx, first.credential))
    tokens = {
        status_store.list_url(ctx, row.id): row.signed_token
        for row in rows
        if row.signed_token is not None
    }
    return verify_certificate_offline(token, jwks, tokens, now)
