"""Wire schema of the ban ledger: the ``/api/v1/bans`` bodies and the public ``/ledger`` views.

Hashes, leaves, salts and proofs travel as standard base64 (as in C2SP checkpoints and RFC 9162
JSON); inside an entry they are lowercase hex (the entry format of ``workforce.ledger.entry``).
An ID number appears only in request bodies; responses carry at most its mask.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

import msgspec

from workforce.structs import Input, Output

BanKind = Literal["lifetime", "fixed_term"]
Effect = Literal["quashed", "amended"]
ReasonCode = Literal[
    "child_abuse",
    "sexual_offense",
    "trafficking",
    "violence",
    "neglect",
    "drug_offense",
    "responsible_manager",
    "other_serious_offense",
]
"""Why a person is banned (从业禁止的事由); ``responsible_manager`` for the managers answerable
for an institution where the offence happened (负有责任的管理人员)."""

IdNumber = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=40,
        description="Citizen ID number (GB 11643, 18 characters); never echoed back.",
    ),
]
Reference = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        description="Kept private: the ledger holds only a salted commitment to it.",
    ),
]
Base64 = Annotated[str, msgspec.Meta(description="Standard base64 (RFC 4648 §4).")]
MAX_MANAGERS = 50


class ManagerBan(Input):
    """A manager answerable for the same case, banned in the same request."""

    id_number: IdNumber
    reason_code: ReasonCode = "responsible_manager"


class BanCreate(Input):
    """``POST /api/v1/bans``: record a ban (and those of the managers answerable)."""

    id_number: IdNumber
    kind: BanKind
    reason_code: ReasonCode
    decision_ref: Reference
    """The administrative decision or judgment imposing the ban (文书号)."""
    related_case: Reference
    """The case number; every entry of one case carries the same case commitment."""
    until: date | None = None
    """Last day of a ``fixed_term`` ban (inclusive); absent for ``lifetime``."""
    managers: Annotated[list[ManagerBan], msgspec.Meta(max_length=MAX_MANAGERS)] = []  # noqa: RUF012 - msgspec copies mutable defaults


class BanCorrectionCreate(Input):
    """``POST /api/v1/bans/{entry}/correction``: quash or amend a ban by a new entry."""

    effect: Effect
    decision_ref: Reference
    """The decision that quashes or amends the ban (e.g. a court judgment)."""
    kind: BanKind | None = None
    """The amended kind (``amended`` only)."""
    until: date | None = None
    """The amended last day (``amended`` with ``fixed_term`` only)."""


class BanCheckRequest(Input):
    """``POST /api/v1/bans/check``."""

    id_number: IdNumber


class RecordedEntry(Output):
    """One entry appended by a request."""

    seq: int
    leaf_hash: Base64
    inclusion_proof: list[Base64]
    """Audit path of the entry in the tree of the returned checkpoint (RFC 9162)."""
    role: Literal["subject", "manager", "correction"]
    reason_code: str
    id_number_masked: str
    practitioner_id: uuid.UUID | None
    """The registered practitioner, when the person is registered."""


class BanRecorded(Output):
    """The appended entries, their inclusion proofs and the checkpoint they are proven in."""

    seq: int
    """Sequence number of the (first) entry."""
    leaf_hash: Base64
    inclusion_proof: list[Base64]
    checkpoint: str
    """The signed checkpoint (C2SP tlog-checkpoint note) covering every entry below."""
    tree_size: int
    entries: list[RecordedEntry]


class BanStatus(Output):
    """A person's status: the fold of their entries."""

    banned: bool
    kind: BanKind | None
    since: date | None
    until: date | None


class BanCorrected(BanRecorded):
    """A correction entry."""

    corrects: int
    """Sequence number of the corrected ban."""
    effect: Effect
    status: BanStatus
    """The person's status after the correction."""


class ReceiptEntry(Output):
    """A ledger entry as evidence in a receipt."""

    seq: int
    leaf: Base64
    """The entry's exact canonical bytes."""
    inclusion_proof: list[Base64]
    """Audit path in the tree of the receipt's checkpoint."""
    subject_salt: Base64
    """Opens the entry's subject commitment against the ID number checked."""


class BanCheckReceipt(Output):
    """Evidence of a ban check that can be verified offline (``verify_ban_receipt``)."""

    version: int
    statement: str
    """Compact JWS (EdDSA, ``kid`` in the JWKS, ``typ`` ``ban-check+jwt``): the verdict, the time,
    the checkpoint checked against and a salted commitment to the ID number checked."""
    salt: Base64
    """Opens the statement's subject commitment against the ID number checked."""
    checkpoint: str
    """The signed checkpoint note the check was made against."""
    entries: list[ReceiptEntry]
    """For a hit: the ban in force and its corrections, with inclusion proofs; else empty."""


class BanCheckResult(Output):
    """``POST /api/v1/bans/check``: the verdict and its receipt."""

    banned: bool
    kind: BanKind | None
    since: date | None
    until: date | None
    receipt: BanCheckReceipt
    entries: list[int] | msgspec.UnsetType = msgspec.UNSET
    """Regulators only: sequence numbers of every entry about the person."""


# --- public views ------------------------------------------------------------------------


class PublicEntry(Output):
    """A ledger entry as published."""

    seq: int
    leaf: Base64
    """The exact canonical bytes hashed (subjects as commitments only)."""
    leaf_hash: Base64
    """``SHA-256(0x00 || leaf)``."""


class PublicEntries(Output):
    """``GET /ledger/entries``."""

    start: int
    end: int
    """Last sequence number returned (inclusive), ``start - 1`` when none."""
    tree_size: int
    entries: list[PublicEntry]


class InclusionProof(Output):
    """``GET /ledger/proof/inclusion``."""

    index: int
    size: int
    hashes: list[Base64]


class ConsistencyProof(Output):
    """``GET /ledger/proof/consistency``."""

    from_: int = msgspec.field(name="from")
    to: int
    hashes: list[Base64]
