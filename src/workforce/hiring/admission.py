"""Admission checks: may this person take this position in a childcare institution today?

The decision folds four facts, each giving a stable reason code:

* ``not_registered`` — the ID number is not in the registry (no training or certificate record);
* ``banned`` — a ban is in force on the ban ledger (从业禁止);
* ``no_valid_certificate`` / ``certificate_revoked`` / ``certificate_suspended`` /
  ``certificate_expired`` — the position's certificate requirement (``policy/positions.toml``);
* ``credit_joint_punishment`` — the person is under credit joint punishment (联合惩戒).

An institution learns the decision and the codes, nothing more about the person.  Every check
is stored (insert-only) and signed: the receipt is a JWS (EdDSA, ``typ``
``admission-receipt+jwt``) over the decision, the reason codes, the position, the institution,
the time, the ban-ledger checkpoint checked against and a salted commitment to the subject::

    subject_commitment = SHA-256("workforce/admission-subject/v1" || salt || ID number)

The 32-byte salt is ``HMAC-SHA256(K, "workforce/admission-check/salt/v1" || check_id)`` with a
key ``K`` derived from the service's index key, so the service can show it again to whoever may
read the check, while the database alone does not allow guessing the ID number from it.  The
salt is returned next to the receipt, never inside it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import weakref
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from workforce import regions
from workforce.audit.service import access_values, record_access
from workforce.certificates.credential import sign_jws, verify_jws
from workforce.certificates.service import cert_status
from workforce.db import begin_write, new_id, utcnow
from workforce.errors import Invalid, NotFound, Reason
from workforce.hiring import sources
from workforce.hiring.models import AdmissionCheck
from workforce.hiring.schemas import AdmissionCheckResult, ReasonOut
from workforce.orgs.models import Org
from workforce.policy.catalog import (
    CERTIFICATE_EXPIRED,
    CERTIFICATE_REVOKED,
    CERTIFICATE_SUSPENDED,
    NO_VALID_CERTIFICATE,
    HeldCert,
    Position,
    UnknownPositionError,
    evaluate_position,
)
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import normalize_id_number
from workforce.security.idnumber import today_in_china

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence
    from datetime import date, datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from workforce.context import AppContext
    from workforce.hiring.gate import AdmissionGate, Facts
    from workforce.security.principal import Principal

RECEIPT_TYP: Final = "admission-receipt+jwt"
SUBJECT_DOMAIN: Final = b"workforce/admission-subject/v1"
SALT_DOMAIN: Final = b"workforce/admission-check/salt/v1"
_SALT_KEY_DOMAIN: Final = b"workforce/hiring/salt-key/v1"

NOT_REGISTERED: Final = "not_registered"
BANNED: Final = "banned"
CREDIT_JOINT_PUNISHMENT: Final = "credit_joint_punishment"
UNKNOWN_POSITION: Final = "unknown_position"
CERTIFICATE_CODES: Final = frozenset(
    {NO_VALID_CERTIFICATE, CERTIFICATE_REVOKED, CERTIFICATE_SUSPENDED, CERTIFICATE_EXPIRED}
)

REEXAMINATION_NOTICE: Final = (
    "当事人如对结果有异议，可向发证机关或所在地卫生健康部门申请复查。"
    " The person may request a re-examination (复查) of this result."
)

_DETAILS: Final[dict[str, str]] = {
    NOT_REGISTERED: (
        "该身份证号码未在从业人员登记系统中登记，无培训或证书记录，因此不予准入（并非错误）。"
        " The ID number is not in the registry: no training or certificate is on record,"
        " so the candidate is denied (this is a decision, not an error)."
    ),
    BANNED: (
        "当事人在托育从业禁止名单中，禁止期内不得从事托育服务工作。"
        " The person is barred from childcare work by a ban in force on the ban ledger."
    ),
    NO_VALID_CERTIFICATE: (
        "当事人未持有该岗位要求的有效证书。"
        " The person holds no valid certificate accepted for position {position}."
    ),
    CERTIFICATE_REVOKED: (
        "当事人持有的该岗位证书已被撤销。"
        " The certificate accepted for position {position} that the person held was revoked."
    ),
    CERTIFICATE_SUSPENDED: (
        "当事人持有的该岗位证书已被暂停。"
        " The certificate accepted for position {position} that the person holds is suspended."
    ),
    CERTIFICATE_EXPIRED: (
        "当事人持有的该岗位证书已过有效期。"
        " The certificate accepted for position {position} that the person held has expired."
    ),
    CREDIT_JOINT_PUNISHMENT: (
        "当事人正处于信用联合惩戒期内。 The person is under credit joint punishment (联合惩戒)."
    ),
}


def reason(code: str, position: str, *, denied: bool = True) -> Reason:
    """The fixed, person-free wording of a reason code (with the re-examination notice)."""
    text = _DETAILS.get(code, code).format(position=position)
    if denied and code != NOT_REGISTERED:
        text = f"{text} {REEXAMINATION_NOTICE}"
    return Reason(code, text)


def position_of(ctx: AppContext, code: str) -> Position:
    """The position in force with this code; 422 ``unknown_position`` otherwise."""
    try:
        return ctx.catalog.position(code)
    except UnknownPositionError:
        known = ", ".join(p.code for p in ctx.catalog.positions)
        raise Invalid(
            f"unknown position {code!r}; positions in force: {known}", code=UNKNOWN_POSITION
        ) from None


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating one person for one position on one day."""

    codes: tuple[str, ...]
    certificate_code: str | None
    """The certificate reason, if any (also in ``codes``)."""
    banned: bool

    @property
    def admitted(self) -> bool:
        """Whether no reason stands against the person."""
        return not self.codes


def decide(
    position: Position,
    *,
    registered: bool,
    banned: bool,
    held: Sequence[HeldCert],
    joint_punishment: bool,
) -> Evaluation:
    """The decision from the facts, in the fixed order of the reason codes (pure).

    ``held`` is ignored for a person who is not registered (no certificate can be on record).
    """
    codes: list[str] = []
    if not registered:
        codes.append(NOT_REGISTERED)
    if banned:
        codes.append(BANNED)
    cert_code: str | None = None
    if registered and position.requires_any_certificate:
        found = evaluate_position(position, held)
        if found:
            cert_code = found[0].code
            codes.append(cert_code)
    if joint_punishment:
        codes.append(CREDIT_JOINT_PUNISHMENT)
    return Evaluation(codes=tuple(codes), certificate_code=cert_code, banned=banned)


async def evaluate(
    session: AsyncSession,
    ctx: AppContext,
    *,
    person: Practitioner | None,
    id_number: str,
    position: Position,
    today: date,
) -> Evaluation:
    """Evaluate the universal requirements and the position's certificate requirement.

    ``id_number`` is the normalized number (the ledger is keyed by it; a person who is not
    registered may still be banned).  No receipt, no storage: re-checks use this directly.
    """
    joint_punishment = False
    if person is None:
        banned = await sources.is_banned(session, ctx, id_number, today)
    else:
        # The credit grade reads the ledger too: take the ban status from it (one lookup).
        standing = await sources.credit_standing(session, ctx, person.id, today)
        joint_punishment = standing.joint_punishment
        banned = (
            standing.banned
            if standing.banned is not None
            else await sources.is_banned(session, ctx, id_number, today)
        )
    held: list[HeldCert] = []
    if person is not None and position.requires_any_certificate:
        held = await sources.held_certificates(session, person.id, today)
    return decide(
        position,
        registered=person is not None,
        banned=banned,
        held=held,
        joint_punishment=joint_punishment,
    )


# --------------------------------------------------------------------------- receipts


def _salt_key(ctx: AppContext) -> bytes:
    return hmac.digest(ctx.secrets.pii_index_key, _SALT_KEY_DOMAIN, "sha256")


def subject_salt(ctx: AppContext, check_id: uuid.UUID) -> bytes:
    """The 32-byte commitment salt of a check (derived, so never stored)."""
    return hmac.digest(_salt_key(ctx), SALT_DOMAIN + check_id.bytes, "sha256")


def commit_subject(salt: bytes, id_number: str) -> bytes:
    """``SHA-256(domain || salt || normalized ID number)``."""
    return hashlib.sha256(SUBJECT_DOMAIN + salt + id_number.encode("ascii")).digest()


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def receipt_claims(
    ctx: AppContext,
    *,
    check_id: uuid.UUID,
    decision: str,
    codes: list[str],
    position: str,
    org_id: uuid.UUID,
    checked_at: datetime,
    checkpoint: sources.CheckpointRef,
    commitment: bytes,
) -> dict[str, Any]:
    """The signed claims of an admission receipt."""
    return {
        "iss": ctx.settings.issuer,
        "jti": str(check_id),
        "iat": int(checked_at.timestamp()),
        "check_id": str(check_id),
        "decision": decision,
        "reasons": codes,
        "position": position,
        "positions_version": ctx.catalog.positions_version,
        "institution": str(org_id),
        "checked_at": _rfc3339(checked_at),
        "ledger_checkpoint": checkpoint.claims(),
        "subject_commitment": {
            "alg": "sha256",
            "domain": SUBJECT_DOMAIN.decode(),
            "value": b64url(commitment),
        },
    }


def verify_receipt(
    receipt: str, jwks: object, *, id_number: str | None = None, salt: str | None = None
) -> dict[str, Any]:
    """Verify a receipt against a JWK Set (and, given both, that it is about ``id_number``).

    Raises:
        workforce.certificates.credential.CredentialError: Bad signature, unknown key, wrong type.
        ValueError: The commitment does not open to ``id_number`` under ``salt``.
    """
    claims = verify_jws(receipt, jwks, RECEIPT_TYP)
    if id_number is not None and salt is not None:
        expected = commit_subject(_b64url_decode(salt), normalize_id_number(id_number))
        if not hmac.compare_digest(b64url(expected), claims["subject_commitment"]["value"]):
            msg = "the receipt is not about this ID number"
            raise ValueError(msg)
    return claims


# --------------------------------------------------------------------------- the check


@dataclasses.dataclass(frozen=True)
class CheckOutcome:
    """A stored check and what it found."""

    row: AdmissionCheck
    person: Practitioner | None
    evaluation: Evaluation
    position: Position


def _add_check(session: AsyncSession, actor: Principal, row: AdmissionCheck, route: str) -> None:
    session.add(row)
    record_access(
        session,
        actor,
        action="admission_check",
        route=route,
        practitioner_id=row.practitioner_id,
        outcome=row.decision,
    )


_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _write_lock() -> asyncio.Lock:
    """One writer at a time per process and event loop (SQLite has one write lock anyway)."""
    loop = asyncio.get_running_loop()
    lock = _WRITE_LOCKS.get(loop)
    if lock is None:
        lock = _WRITE_LOCKS[loop] = asyncio.Lock()
    return lock


async def _store_alone(
    session: AsyncSession, actor: Principal, row: AdmissionCheck, route: str
) -> None:
    """Store a plain check in a short write transaction of its own.

    A plain check is the whole unit of work of its request, and what it read is named in the
    signed receipt (the checkpoint), so reading and writing need not share a transaction.  On
    SQLite the read snapshot is closed first (nothing was written) and the write is
    ``BEGIN IMMEDIATE`` … ``COMMIT`` under a per-process lock, so concurrent requests queue on an
    asyncio lock rather than in SQLite's sleeping busy handler, and the write lock is held for
    two inserts only.  On PostgreSQL the rows join the request's transaction as usual.
    """
    if session.bind is None or session.bind.dialect.name != "sqlite":
        _add_check(session, actor, row, route)
        await session.flush()
        return
    if session.new or session.dirty or session.deleted:  # pragma: no cover - misuse guard
        msg = "a plain admission check must be the only write of its unit of work"
        raise RuntimeError(msg)
    await session.commit()  # end the read-only snapshot
    async with _write_lock():
        await begin_write(session)
        _add_check(session, actor, row, route)
        await session.commit()


async def _find_person(session: AsyncSession, ctx: AppContext, number: str) -> Practitioner | None:
    key = ctx.vault.subject_key(number)
    found: Practitioner | None = await session.scalar(
        select(Practitioner).where(Practitioner.subject_key == key)
    )
    return found


def _signed_values(
    ctx: AppContext,
    actor: Principal,
    *,
    number: str,
    position: Position,
    person_id: uuid.UUID | None,
    evaluation: Evaluation,
    checkpoint: sources.CheckpointRef,
    checked_at: datetime,
    purpose: str,
) -> dict[str, Any]:
    """The check row's columns for a decision, with its signed receipt (not yet stored)."""
    check_id = new_id()
    commitment = commit_subject(subject_salt(ctx, check_id), number)
    decision = "admitted" if evaluation.admitted else "denied"
    codes = list(evaluation.codes)
    claims = receipt_claims(
        ctx,
        check_id=check_id,
        decision=decision,
        codes=codes,
        position=position.code,
        org_id=actor.org_id,
        checked_at=checked_at,
        checkpoint=checkpoint,
        commitment=commitment,
    )
    key = ctx.keyring.current
    return dict(
        id=check_id,
        created_at=checked_at,
        org_id=actor.org_id,
        region_code=actor.region or regions.NATIONAL,
        client_id=actor.client_id,
        practitioner_id=person_id,
        subject_commitment=commitment,
        position=position.code,
        decision=decision,
        reasons=[
            {"code": r.code, "detail": r.detail} for r in (reason(c, position.code) for c in codes)
        ],
        purpose=purpose,
        checkpoint_size=checkpoint.size,
        checkpoint_root=checkpoint.root_hash,
        receipt=sign_jws(claims, key.private, key.kid, RECEIPT_TYP),
    )


async def run_check(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    *,
    raw_id_number: str,
    position_code: str,
    route: str,
    purpose: str = "check",
) -> CheckOutcome:
    """Evaluate, sign and store one admission check through the ORM.

    ``purpose="hire"`` runs everything in the caller's write transaction (the hire depends on
    the decision).  A plain check reads first and takes the write lock only to store its rows
    (see :func:`_store_alone`); ``POST /admission-checks`` normally takes
    :func:`run_fast_check` instead.  The checkpoint is read before the ledger status, so the
    status reflects at least everything the checkpoint covers.
    """
    number = normalize_id_number(raw_id_number)
    position = position_of(ctx, position_code)
    if purpose == "hire":
        await begin_write(session)
    checkpoint = await sources.latest_checkpoint(session, ctx)
    person = await _find_person(session, ctx, number)
    checked_at = utcnow()
    today = today_in_china()
    evaluation = await evaluate(
        session, ctx, person=person, id_number=number, position=position, today=today
    )
    row = AdmissionCheck(
        **_signed_values(
            ctx,
            actor,
            number=number,
            position=position,
            person_id=person.id if person else None,
            evaluation=evaluation,
            checkpoint=checkpoint,
            checked_at=checked_at,
            purpose=purpose,
        )
    )
    if purpose == "hire":
        _add_check(session, actor, row, route)
        await session.flush()
    else:
        await _store_alone(session, actor, row, route)
    return CheckOutcome(row=row, person=person, evaluation=evaluation, position=position)


def evaluate_facts(facts: Facts, position: Position, today: date) -> Evaluation:
    """The decision from a snapshot read (:mod:`workforce.hiring.gate`) of a person without
    credit events; the same rules as :func:`evaluate`.
    """
    if facts.has_credit_events:  # pragma: no cover - callers route these to the ORM path
        msg = "a person with credit events is evaluated by evaluate()"
        raise ValueError(msg)
    banned = sources.ban_in_force(facts.leaves, today)
    joint_punishment = False
    if facts.person_id is not None:
        standing = sources.credit_standing_without_events(banned, today)
        joint_punishment = standing.joint_punishment
    held = [
        HeldCert(
            cert_type=c.cert_type,
            level=c.level,
            status=cert_status(
                revoked=c.revoked, suspended=c.suspended, valid_until=c.valid_until, today=today
            ),
        )
        for c in facts.certificates
    ]
    return decide(
        position,
        registered=facts.person_id is not None,
        banned=banned,
        held=held,
        joint_punishment=joint_punishment,
    )


async def run_fast_check(
    gate: AdmissionGate,
    ctx: AppContext,
    actor: Principal,
    *,
    raw_id_number: str,
    position_code: str,
    route: str,
) -> AdmissionCheckResult | None:
    """A plain check by the gate's hot path: one snapshot read, a group-committed write.

    Returns the stored check's wire form, or None when the person has credit events (then use
    :func:`run_check`, whose credit grade reads their appeal steps and corrections).
    """
    if gate.reader is None:
        return None
    number = normalize_id_number(raw_id_number)
    position = position_of(ctx, position_code)
    facts = await gate.reader.read(ctx.vault.subject_key(number), sources.ledger_index(ctx, number))
    if facts.has_credit_events:
        return None
    checked_at = utcnow()
    evaluation = evaluate_facts(facts, position, today_in_china())
    values = _signed_values(
        ctx,
        actor,
        number=number,
        position=position,
        person_id=facts.person_id,
        evaluation=evaluation,
        checkpoint=sources.checkpoint_ref(
            ctx, facts.checkpoint_size, facts.checkpoint_root, facts.checkpoint_note
        ),
        checked_at=checked_at,
        purpose="check",
    )
    await gate.writer.store(
        values,
        access_values(
            actor,
            action="admission_check",
            route=route,
            practitioner_id=facts.person_id,
            outcome=values["decision"],
        ),
    )
    return _result(ctx, **{k: values[k] for k in _RESULT_FIELDS})


async def check_candidate(
    gate: AdmissionGate,
    ctx: AppContext,
    actor: Principal,
    *,
    raw_id_number: str,
    position_code: str,
    route: str,
) -> AdmissionCheckResult:
    """``POST /admission-checks``: the hot path, or the ORM path in a unit of work of its own.

    The ORM path takes a person with credit events, or every check when the gate cannot read
    the database directly; its session commits the check (a failure closes it unkept).
    """
    result = await run_fast_check(
        gate, ctx, actor, raw_id_number=raw_id_number, position_code=position_code, route=route
    )
    if result is not None:
        return result
    async with gate.sessions() as session:
        outcome = await run_check(
            session,
            ctx,
            actor,
            raw_id_number=raw_id_number,
            position_code=position_code,
            route=route,
        )
        await session.commit()
    return to_result(ctx, outcome.row)


def to_result(ctx: AppContext, row: AdmissionCheck) -> AdmissionCheckResult:
    """Wire form of a stored check (the salt is derived again)."""
    return _result(ctx, **{k: getattr(row, k) for k in _RESULT_FIELDS})


_RESULT_FIELDS: Final = ("id", "decision", "reasons", "position", "created_at", "receipt")


def _result(
    ctx: AppContext,
    *,
    id: uuid.UUID,
    decision: str,
    reasons: list[dict[str, str]],
    position: str,
    created_at: datetime,
    receipt: str,
) -> AdmissionCheckResult:
    return AdmissionCheckResult(
        check_id=id,
        decision="admitted" if decision == "admitted" else "denied",
        reasons=[ReasonOut(code=r["code"], detail=r["detail"]) for r in reasons],
        position=position,
        checked_at=created_at,
        receipt=receipt,
        subject_salt=b64url(subject_salt(ctx, id)),
        notice=REEXAMINATION_NOTICE if decision == "denied" else None,
    )


async def get_check(session: AsyncSession, actor: Principal, check_id: uuid.UUID) -> AdmissionCheck:
    """A stored check, for the institution that made it or a regulator of its region."""
    row = await session.get(AdmissionCheck, check_id)
    visible = row is not None and (
        row.org_id == actor.org_id
        or (actor.role == "regulator" and regions.covers(actor.region or "", row.region_code))
    )
    if row is None or not visible:
        raise NotFound("no such admission check", code="admission_check_not_found")
    return row


async def institution_of(session: AsyncSession, org_id: uuid.UUID) -> Org:
    """The institution row (for names and regions)."""
    org = await session.get(Org, org_id)
    if org is None:  # pragma: no cover - tokens name existing organisations
        raise NotFound("no such organisation", code="org_not_found")
    return org
