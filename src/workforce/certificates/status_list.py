"""Revocation and suspension by W3C Bitstring Status List v1.0.

Specification: https://www.w3.org/TR/vc-bitstring-status-list/

- The bitstring holds one bit per credential (``statusSize`` 1); index 0 is the most significant
  bit of the first byte. It has at least 131,072 entries (16 KiB), so that one credential hides
  among many (herd privacy); indices are assigned at random for the same reason.
- ``encodedList`` is the Multibase base64url encoding without padding (prefix ``u``) of the
  GZIP-compressed (RFC 1952) bitstring. Decoding caps the decompressed size (gzip bombs).
- A ``BitstringStatusListCredential`` carries one ``statusPurpose`` (``revocation`` or
  ``suspension``) in a ``BitstringStatusList`` subject; it is secured like a certificate, as a
  ``vc+jwt`` (see :mod:`workforce.certificates.credential`).
- A credential points into it with a ``BitstringStatusListEntry`` (``statusPurpose``,
  ``statusListIndex`` as a base-10 string, ``statusListCredential``). :func:`check_status`
  follows the spec's validation algorithm: verify the list credential, require its purpose to
  match the entry's, require the minimum length and an index in range, then read the bit.
- Verifying many certificates against the same lists verifies and gunzips each list once: lists
  whose signature and structure held are kept, decoded, in a small LRU keyed by the SHA-256 of
  the token and the fingerprint of the JWK Set's usable keys. Their validity period, URL and
  issuer are still checked on every call, so a cached list that has expired is reported expired.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import secrets
import threading
import zlib
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import jwt
import msgspec

from workforce.certificates.credential import (
    STATUS_ENTRY_TYPE,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
    CredentialError,
    Issuer,
    ValidityPeriod,
    b64url_decode,
    b64url_encode,
    format_datetime,
    has_type,
    issuer_id,
    jwks_fingerprint,
    period_problem,
    unverified_claims,
    validity_period,
    verify_vc_jwt,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

MIN_LIST_BITS: Final = 131_072
"""Minimum number of entries of a list (16 KiB), from the spec."""
MAX_DECODED_BYTES: Final = 16 * 1024 * 1024
"""Largest decompressed bitstring accepted (gzip-bomb guard)."""
MAX_STATUS_LIST_TOKEN_BYTES: Final = 2 * 1024 * 1024
"""Size cap for a status-list ``vc+jwt`` (a 16 KiB list is at most ~30 KiB as a token)."""
MULTIBASE_BASE64URL: Final = "u"
LIST_CREDENTIAL_TYPE: Final = "BitstringStatusListCredential"
LIST_SUBJECT_TYPE: Final = "BitstringStatusList"
REVOCATION: Final = "revocation"
SUSPENSION: Final = "suspension"

# Stable codes of StatusListError and of StatusResult.reason.
MALFORMED_LIST: Final = "malformed_list"
LIST_TOO_SHORT: Final = "list_too_short"
LIST_TOO_LARGE: Final = "list_too_large"
INDEX_OUT_OF_RANGE: Final = "index_out_of_range"
INVALID_SIZE: Final = "invalid_size"
LIST_FULL: Final = "list_full"
INVALID_ENTRY: Final = "invalid_entry"
UNSUPPORTED_STATUS_SIZE: Final = "unsupported_status_size"
STATUS_LIST_MISSING: Final = "status_list_missing"
STATUS_LIST_MISMATCH: Final = "status_list_mismatch"
NOT_A_STATUS_LIST: Final = "not_a_status_list"
PURPOSE_MISMATCH: Final = "purpose_mismatch"

_BITS_PER_BYTE: Final = 8
_MAX_ENCODED_CHARS: Final = 1 + (MAX_DECODED_BYTES * 4) // 3 + 4096
_INDEX = re.compile(r"[0-9]{1,12}")
_RANDOM_DRAWS: Final = 64
_CACHE_SIZE: Final = 32
"""Verified lists kept (an issuer has two live lists per 131,072 certificates)."""
_CACHE_MAX_LIST_BYTES: Final = 512 * 1024
"""Larger decoded lists (over 4 million entries) are verified on every call, not kept."""


class StatusListError(CredentialError):
    """A bitstring or status list that cannot be built, decoded or read (see ``code``)."""


class StatusResult(msgspec.Struct, frozen=True, kw_only=True):
    """The status of a credential for one ``BitstringStatusListEntry``.

    Attributes:
        purpose: The entry's ``statusPurpose`` (empty if the entry had none).
        set: Whether the bit is set (revoked, suspended); ``None`` if it could not be read.
        reason: ``None`` when the bit was read, else a stable reason code.
        list_url: The entry's ``statusListCredential``, if readable.
        index: The entry's index, if readable.
    """

    purpose: str
    set: bool | None
    reason: str | None = None
    list_url: str | None = None
    index: int | None = None


class StatusBitstring:
    """A status bitstring: ``size`` bits, index 0 the most significant bit of byte 0."""

    __slots__ = ("_bits",)

    def __init__(self, size: int = MIN_LIST_BITS) -> None:
        """Create an all-clear bitstring.

        Args:
            size: Number of entries; a multiple of 8, at least :data:`MIN_LIST_BITS`.

        Raises:
            StatusListError: ``invalid_size`` otherwise.
        """
        if size < MIN_LIST_BITS or size % _BITS_PER_BYTE:
            raise StatusListError(INVALID_SIZE, f"size must be a multiple of 8 >= {MIN_LIST_BITS}")
        self._bits = bytearray(size // _BITS_PER_BYTE)

    @classmethod
    def from_bytes(cls, data: bytes, *, expected_min_size: int = MIN_LIST_BITS) -> StatusBitstring:
        """Wrap raw bitstring bytes (already decompressed).

        Raises:
            StatusListError: ``list_too_short`` below ``expected_min_size`` bits.
        """
        if len(data) * _BITS_PER_BYTE < expected_min_size:
            raise StatusListError(LIST_TOO_SHORT, f"fewer than {expected_min_size} entries")
        bitstring = cls.__new__(cls)
        bitstring._bits = bytearray(data)
        return bitstring

    @property
    def size(self) -> int:
        """Number of entries."""
        return len(self._bits) * _BITS_PER_BYTE

    def _locate(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise StatusListError(INDEX_OUT_OF_RANGE, f"index outside 0..{self.size - 1}")
        byte, offset = divmod(index, _BITS_PER_BYTE)
        return byte, 0x80 >> offset

    def get(self, index: int) -> bool:
        """Whether the bit at ``index`` is set.

        Raises:
            StatusListError: ``index_out_of_range``.
        """
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool) -> None:
        """Set or clear the bit at ``index``.

        Raises:
            StatusListError: ``index_out_of_range``.
        """
        byte, mask = self._locate(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        """The raw (uncompressed) bitstring."""
        return bytes(self._bits)

    def encode(self) -> str:
        """Encode as an ``encodedList``: ``u`` + base64url (no padding) of the GZIP bytes.

        The GZIP header's mtime is zero, so equal bitstrings encode identically.
        """
        compressed = gzip.compress(bytes(self._bits), mtime=0)
        return MULTIBASE_BASE64URL + b64url_encode(compressed)

    @classmethod
    def decode(
        cls,
        encoded: object,
        expected_min_size: int = MIN_LIST_BITS,
        *,
        max_bytes: int = MAX_DECODED_BYTES,
    ) -> StatusBitstring:
        """Decode an ``encodedList``.

        Args:
            encoded: The ``encodedList`` value.
            expected_min_size: Minimum number of entries.
            max_bytes: Largest decompressed size accepted.

        Returns:
            The bitstring.

        Raises:
            StatusListError: ``malformed_list`` (not a string, no ``u`` prefix, bad base64url,
                bad or truncated GZIP, trailing data), ``list_too_large``, ``list_too_short``.
        """
        if not isinstance(encoded, str) or not encoded.startswith(MULTIBASE_BASE64URL):
            raise StatusListError(MALFORMED_LIST, "encodedList must be a string starting with 'u'")
        if len(encoded) > _MAX_ENCODED_CHARS:
            raise StatusListError(LIST_TOO_LARGE, "encodedList is too long")
        try:
            compressed = b64url_decode(encoded[1:])
        except ValueError as exc:
            raise StatusListError(MALFORMED_LIST, "encodedList is not base64url") from exc
        data = _gunzip_capped(compressed, max_bytes)
        return cls.from_bytes(data, expected_min_size=expected_min_size)


def _gunzip_capped(compressed: bytes, max_bytes: int) -> bytes:
    """Decompress exactly one GZIP member, producing at most ``max_bytes`` bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise StatusListError(MALFORMED_LIST, "encodedList is not GZIP data") from exc
    if len(data) > max_bytes:
        raise StatusListError(LIST_TOO_LARGE, f"bitstring larger than {max_bytes} bytes")
    if not inflater.eof or inflater.unused_data:
        raise StatusListError(MALFORMED_LIST, "truncated GZIP data or trailing bytes")
    return data


def build_status_list_credential(
    list_url: str,
    purpose: str,
    encoded_list: str,
    issuer: Issuer,
    valid_from: datetime,
    *,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """Build an unsecured ``BitstringStatusListCredential``; sign it with ``sign_vc_jwt``.

    Args:
        list_url: The URL the list is published at (also the credential ``id``).
        purpose: ``revocation`` or ``suspension``.
        encoded_list: From :meth:`StatusBitstring.encode`.
        issuer: The issuer, the same as the certificates' issuer.
        valid_from: Time of publication (aware).
        valid_until: End of validity (aware), after which verifiers must fetch a fresh copy.

    Returns:
        The credential as a JSON-ready dict.
    """
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": [VERIFIABLE_CREDENTIAL, LIST_CREDENTIAL_TYPE],
        "issuer": {"id": issuer.id, "name": issuer.name},
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": LIST_SUBJECT_TYPE,
        "statusPurpose": purpose,
        "encodedList": encoded_list,
    }
    return credential


def random_free_index(
    taken: Collection[int] | Callable[[int], bool],
    size: int = MIN_LIST_BITS,
    *,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> int:
    """Pick an unused index at random (the spec asks for random assignment, for privacy).

    The store should still insert under a unique constraint and retry on a collision, since
    another writer may take the same index concurrently.

    Args:
        taken: The indices in use, or a predicate telling whether one is.
        size: Number of entries of the list.
        randbelow: Source of randomness, ``secrets.randbelow`` by default.

    Returns:
        A free index in ``0..size-1``.

    Raises:
        StatusListError: ``list_full`` when every index is taken.
    """
    is_taken = taken if callable(taken) else taken.__contains__
    if not callable(taken) and len(taken) >= size:
        raise StatusListError(LIST_FULL, "no free index left")
    for _ in range(_RANDOM_DRAWS):
        candidate = randbelow(size)
        if not is_taken(candidate):
            return candidate
    start = randbelow(size)
    for step in range(size):
        candidate = (start + step) % size
        if not is_taken(candidate):
            return candidate
    raise StatusListError(LIST_FULL, "no free index left")


# --- checking --------------------------------------------------------------------------------


class _Entry(msgspec.Struct, frozen=True):
    purpose: str
    list_url: str
    index: int


def _parse_entry(entry: object) -> _Entry:
    if not isinstance(entry, dict) or entry.get("type") != STATUS_ENTRY_TYPE:
        raise StatusListError(INVALID_ENTRY, "not a BitstringStatusListEntry")
    purpose, url, index = (
        entry.get("statusPurpose"),
        entry.get("statusListCredential"),
        entry.get("statusListIndex"),
    )
    if not isinstance(purpose, str) or not isinstance(url, str):
        raise StatusListError(INVALID_ENTRY, "statusPurpose and statusListCredential required")
    if not isinstance(index, str) or not _INDEX.fullmatch(index):
        raise StatusListError(INVALID_ENTRY, "statusListIndex must be a base-10 string")
    if entry.get("statusSize", 1) != 1:
        raise StatusListError(UNSUPPORTED_STATUS_SIZE, "only statusSize 1 is supported")
    return _Entry(purpose, url, int(index))


def _purposes(subject: Mapping[str, Any]) -> list[str]:
    value = subject.get("statusPurpose")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _entries(credential_status: object) -> list[object]:
    if credential_status is None:
        return []
    if isinstance(credential_status, list):
        return list(credential_status)
    return [credential_status]


class _VerifiedList(NamedTuple):
    """What a status-list token says once its signature and structure held.

    Only what does not depend on the call is kept: the time check, the URL and the issuer are
    compared on every use.
    """

    period: ValidityPeriod
    """The signed ``validFrom``/``validUntil``/``nbf``/``exp``, for the per-call time check."""
    list_id: object
    """The credential's ``id`` (compared with the entry's ``statusListCredential``)."""
    issuer: str | None
    """The issuer's ID (compared with the certificate's issuer)."""
    problem: tuple[str, str] | None
    """``(code, message)`` if the list cannot be used whatever the call (shape, decoding)."""
    purposes: tuple[str, ...]
    bits: StatusBitstring | None


def _shape(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    if not has_type(credential, LIST_CREDENTIAL_TYPE) or not isinstance(subject, dict):
        raise StatusListError(NOT_A_STATUS_LIST, "not a BitstringStatusListCredential")
    if subject.get("type") != LIST_SUBJECT_TYPE:
        raise StatusListError(NOT_A_STATUS_LIST, "subject is not a BitstringStatusList")
    return subject


def _verified_list(claims: Mapping[str, Any], credential: Mapping[str, Any]) -> _VerifiedList:
    """Digest a verified status-list credential: shape, purposes and decoded bitstring."""
    period = validity_period(claims)
    problem: tuple[str, str] | None = None
    purposes: tuple[str, ...] = ()
    bits: StatusBitstring | None = None
    try:
        subject = _shape(credential)
        purposes = tuple(_purposes(subject))
        bits = StatusBitstring.decode(subject.get("encodedList"))
    except StatusListError as exc:
        problem = (exc.code, str(exc).partition(": ")[2])
    return _VerifiedList(
        period, credential.get("id"), issuer_id(credential), problem, purposes, bits
    )


class _VerifiedListCache:
    """A small thread-safe LRU of verified, decoded status lists.

    Keyed by the SHA-256 of the token and the fingerprint of the JWK Set's usable keys: the
    outcome of verifying a token depends on nothing else (the issuer and purpose are inside the
    signed token). Only lists whose signature and structure held are kept; the bitstrings are
    never handed out, so they are never modified.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[bytes, bytes], _VerifiedList] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, bytes]) -> _VerifiedList | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[bytes, bytes], value: _VerifiedList) -> None:
        if value.bits is not None and value.bits.size // 8 > _CACHE_MAX_LIST_BYTES:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_VERIFIED_LISTS: Final = _VerifiedListCache(_CACHE_SIZE)


def clear_cache() -> None:
    """Forget every verified status list (tests, benchmarks, key revocation drills)."""
    _VERIFIED_LISTS.clear()


class _StatusLists:
    """The status lists supplied for one check, each verified and decoded at most once.

    Across checks, verified and decoded lists come from :data:`_VERIFIED_LISTS`; the validity
    period, the URL and the issuer are still checked on every call.
    """

    def __init__(
        self,
        tokens: Mapping[str, object],
        jwks: object,
        now: datetime | None,
        expected_issuer: str | None,
    ) -> None:
        self._tokens = tokens
        self._jwks = jwks
        self._now = now
        self._expected_issuer = expected_issuer
        self._fingerprint: bytes | None = None
        self._loaded: dict[str, tuple[list[str], StatusBitstring] | StatusListError] = {}

    def get(self, list_url: str) -> tuple[list[str], StatusBitstring]:
        """The purposes and bitstring of the list at ``list_url``.

        Raises:
            StatusListError: Why the list is unusable (remembered for later entries).
        """
        if list_url not in self._loaded:
            try:
                self._loaded[list_url] = self._load(list_url)
            except StatusListError as exc:
                self._loaded[list_url] = exc
        outcome = self._loaded[list_url]
        if isinstance(outcome, StatusListError):
            raise outcome
        return outcome

    def _moment(self) -> datetime:
        if self._now is None:
            self._now = datetime.now(UTC)
        elif self._now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return self._now

    def _cache_key(self, token: object) -> tuple[bytes, bytes] | None:
        if not isinstance(token, str) or len(token) > MAX_STATUS_LIST_TOKEN_BYTES:
            return None
        if self._fingerprint is None:
            self._fingerprint = jwks_fingerprint(self._jwks)
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        return digest, self._fingerprint

    def _verify(self, token: object, now: datetime) -> _VerifiedList:
        key = self._cache_key(token)
        cached = _VERIFIED_LISTS.get(key) if key is not None else None
        if cached is not None:
            return cached
        verification = verify_vc_jwt(
            token, self._jwks, now, max_token_bytes=MAX_STATUS_LIST_TOKEN_BYTES
        )
        if verification.credential is None:
            raise StatusListError(f"status_list_{verification.reason}", "status list not verified")
        # The signature held over exactly these bytes: re-read them for nbf/exp, which the
        # returned credential leaves out.
        try:
            claims = unverified_claims(token, max_token_bytes=MAX_STATUS_LIST_TOKEN_BYTES)
        except CredentialError as exc:  # pragma: no cover - it was just parsed and verified
            raise StatusListError(f"status_list_{exc.code}", "status list not verified") from exc
        verified = _verified_list(claims, verification.credential)
        if key is not None:
            _VERIFIED_LISTS.put(key, verified)
        return verified

    def _load(self, list_url: str) -> tuple[list[str], StatusBitstring]:
        token = self._tokens.get(list_url)
        if token is None:
            raise StatusListError(STATUS_LIST_MISSING, "no status list for this URL")
        now = self._moment()
        verified = self._verify(token, now)
        reason = period_problem(verified.period, now)
        if reason is not None:
            raise StatusListError(f"status_list_{reason}", "status list not verified")
        if verified.problem is not None and verified.problem[0] == NOT_A_STATUS_LIST:
            raise StatusListError(*verified.problem)
        if verified.list_id != list_url:
            raise StatusListError(STATUS_LIST_MISMATCH, "list id differs from statusListCredential")
        if self._expected_issuer is not None and verified.issuer != self._expected_issuer:
            raise StatusListError(STATUS_LIST_MISMATCH, "list issued by another issuer")
        if verified.problem is not None or verified.bits is None:
            code, message = verified.problem or (MALFORMED_LIST, "no bitstring")
            raise StatusListError(code, message)
        return list(verified.purposes), verified.bits


def _read_entry(entry: _Entry, lists: _StatusLists) -> StatusResult:
    try:
        purposes, bits = lists.get(entry.list_url)
    except StatusListError as exc:
        return _result(entry, None, exc.code)
    if entry.purpose not in purposes:
        return _result(entry, None, PURPOSE_MISMATCH)
    if entry.index >= bits.size:
        return _result(entry, None, INDEX_OUT_OF_RANGE)
    return _result(entry, bits.get(entry.index), None)


def _result(entry: _Entry, is_set: bool | None, reason: str | None) -> StatusResult:
    return StatusResult(
        purpose=entry.purpose,
        set=is_set,
        reason=reason,
        list_url=entry.list_url,
        index=entry.index,
    )


def check_status(
    credential_status: object,
    status_list_tokens_by_url: Mapping[str, object],
    jwks: object,
    now: datetime | None = None,
    *,
    expected_issuer: str | None = None,
) -> list[StatusResult]:
    """Read the status bits a credential points at; never raises on hostile input.

    Each status list credential is verified (signature via the JWK Set, validity at ``now``),
    must be a ``BitstringStatusListCredential`` whose ``id`` is the entry's
    ``statusListCredential`` (and whose issuer is ``expected_issuer``, when given), must have the
    entry's ``statusPurpose``, and must decode to at least 131,072 entries covering the index.

    Reason codes: ``invalid_entry``, ``unsupported_status_size``, ``status_list_missing`` (no
    token for that URL), ``status_list_<verification reason>`` (e.g.
    ``status_list_bad_signature``, ``status_list_expired``), ``not_a_status_list``,
    ``status_list_mismatch``, ``purpose_mismatch``, ``malformed_list``, ``list_too_short``,
    ``list_too_large``, ``index_out_of_range``.

    Args:
        credential_status: The credential's ``credentialStatus`` (an object or a list).
        status_list_tokens_by_url: Status-list ``vc+jwt`` tokens by their URL.
        jwks: A parsed JWK Set document.
        now: Verification time (aware); defaults to the current time.
        expected_issuer: The issuer ID the lists must carry (the certificate's issuer).

    Returns:
        One result per entry, in order.
    """
    lists = _StatusLists(status_list_tokens_by_url, jwks, now, expected_issuer)
    results: list[StatusResult] = []
    for raw in _entries(credential_status):
        purpose = raw.get("statusPurpose") if isinstance(raw, dict) else None
        label = purpose if isinstance(purpose, str) else ""
        try:
            result = _read_entry(_parse_entry(raw), lists)
        except StatusListError as exc:
            result = StatusResult(purpose=label, set=None, reason=exc.code)
        results.append(result)
    return results


def index_status_lists(tokens: Iterable[object]) -> dict[str, str]:
    """Key status-list tokens by the ``id`` they claim, for :func:`check_status`.

    The claim is read without verification: it only routes each token to the entries that name
    its URL, and :func:`check_status` then verifies the token and requires ``id`` to equal that
    URL. Unreadable tokens are skipped; never raises.

    Args:
        tokens: Status-list ``vc+jwt`` tokens, e.g. the contents of ``--status`` files.

    Returns:
        The tokens by claimed list URL.
    """
    indexed: dict[str, str] = {}
    for token in tokens:
        if not isinstance(token, str) or len(token) > MAX_STATUS_LIST_TOKEN_BYTES:
            continue
        try:
            claims = jwt.decode(token.strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            continue
        if isinstance(claims.get("id"), str):
            indexed[claims["id"]] = token.strip()
    return indexed
