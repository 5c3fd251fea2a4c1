"""Public ban-ledger endpoints (``/ledger/…``): checkpoints, verifier keys, entries, proofs.

Anyone may read them, as a transparency-log monitor would; none reveals an identity (entries
hold commitments only). Proofs follow RFC 9162 §2.1; checkpoints are C2SP tlog-checkpoint notes.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.ledger import service
from workforce.ledger.schemas import ConsistencyProof, InclusionProof, PublicEntries, PublicEntry

PUBLIC_REASON = "the ban ledger is a public transparency log (contract: role (none))"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
SHORT = {"Cache-Control": "public, max-age=5"}
KEYS = {"Cache-Control": "public, max-age=300"}
TEXT = MediaType.TEXT

Index = Annotated[int, QueryParameter(description="Leaf index (0-based).")]
Size = Annotated[int, QueryParameter(description="Tree size (at most the latest checkpoint's).")]
From = Annotated[int, QueryParameter(name="from", description="Earlier tree size (at least 1).")]
To = Annotated[
    int, QueryParameter(description="Later tree size (at most the latest checkpoint's).")
]
Start = Annotated[int, QueryParameter(description="First sequence number (0-based).")]
End = Annotated[
    int | None,
    QueryParameter(description="Last sequence number, inclusive (at most 1000 entries a page)."),
]


@get(
    "/ledger/checkpoint",
    operation_id="getLedgerCheckpoint",
    tags=["ledger", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    media_type=MediaType.TEXT,
)
async def latest_checkpoint(
    db_session: NamedDependency[AsyncSession], ctx: NamedDependency[AppContext]
) -> Response[str]:
    """The latest signed checkpoint (C2SP tlog-checkpoint note)."""
    view = await service.latest_checkpoint(db_session, ctx)
    return Response(view.note or "", media_type=TEXT, headers=SHORT)


@get(
    "/ledger/checkpoints/{size:int}",
    operation_id="getLedgerCheckpointAt",
    tags=["ledger", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    media_type=MediaType.TEXT,
)
async def checkpoint_at(
    size: FromPath[int],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
) -> Response[str]:
    """The checkpoint signed at a given tree size (every signed checkpoint is kept)."""
    view = await service.checkpoint_at(db_session, ctx, size)
    return Response(view.note or "", media_type=TEXT, headers=IMMUTABLE if size else KEYS)


@get(
    "/ledger/vkey",
    operation_id="getLedgerVerifierKeys",
    tags=["ledger", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
    media_type=MediaType.TEXT,
)
async def verifier_keys(ctx: NamedDependency[AppContext]) -> Response[str]:
    """Every checkpoint verifier key (C2SP vkey strings, one a line; retired keys included)."""
    return Response(
        "".join(f"{vkey}\n" for vkey in service.vkeys(ctx)), media_type=TEXT, headers=KEYS
    )


@get(
    "/ledger/entries",
    operation_id="listLedgerEntries",
    tags=["ledger", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
)
async def entries(
    db_session: NamedDependency[AsyncSession], start: Start = 0, end: End = None
) -> Response[PublicEntries]:
    """Entries ``start..end`` (inclusive; at most 1000): the exact leaf bytes, base64."""
    tree, rows = await service.public_entries(db_session, start, end)
    last = rows[-1].seq if rows else start - 1
    body = PublicEntries(
        start=start,
        end=last,
        tree_size=tree,
        entries=[
            PublicEntry(seq=r.seq, leaf=service.b64(r.leaf), leaf_hash=service.b64(r.leaf_hash))
            for r in rows
        ],
    )
    complete = end is not None and last == end
    return Response(body, headers=IMMUTABLE if complete else SHORT)


@get(
    "/ledger/proof/inclusion",
    operation_id="getLedgerInclusionProof",
    tags=["ledger", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
)
async def inclusion_proof(
    index: Index, size: Size, db_session: NamedDependency[AsyncSession]
) -> Response[InclusionProof]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3)."""
    path = await service.inclusion_proof(db_session, index, size)
    body = InclusionProof(index=index, size=size, hashes=[service.b64(h) for h in path])
    return Response(body, headers=IMMUTABLE)


@get(
    "/ledger/proof/consistency",
    operation_id="getLedgerConsistencyProof",
    tags=["ledger", "public"],
    exclude_from_auth=True,
    opt={"public_reason": PUBLIC_REASON},
)
async def consistency_proof(
    from_: From, to: To, db_session: NamedDependency[AsyncSession]
) -> Response[ConsistencyProof]:
    """The consistency proof between tree sizes ``from`` and ``to`` (RFC 9162 §2.1.4)."""
    path = await service.consistency_proof(db_session, from_, to)
    body = ConsistencyProof(from_=from_, to=to, hashes=[service.b64(h) for h in path])
    return Response(body, headers=IMMUTABLE)


ROUTES: list[Any] = [
    latest_checkpoint,
    checkpoint_at,
    verifier_keys,
    entries,
    inclusion_proof,
    consistency_proof,
]
