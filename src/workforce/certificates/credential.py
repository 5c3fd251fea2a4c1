"""Certificates as W3C Verifiable Credentials 2.0, secured as JWTs with Ed25519.

Specifications:

- W3C Verifiable Credentials Data Model v2.0 (https://www.w3.org/TR/vc-data-model-2.0/):
  ``@context`` (first ``https://www.w3.org/ns/credentials/v2``), ``type``, ``issuer``,
  ``validFrom``/``validUntil`` (XML Schema ``dateTimeStamp``), ``credentialSubject``,
  ``credentialStatus``.
- W3C Securing Verifiable Credentials using JOSE and COSE (https://www.w3.org/TR/vc-jose-cose/):
  the unsecured credential *is* the JWS payload (the JWT claims set); header ``typ`` is
  ``vc+jwt`` and ``cty`` is ``vc``; the claim names ``vc`` and ``vp`` must not appear; the
  registered claims ``iss``/``jti``/``nbf``/``exp`` may be added but must not conflict with
  ``issuer``/``id``/``validFrom``/``validUntil``.
- RFC 7515 (JWS), RFC 7519 (JWT), RFC 7517 (JWK, JWK Set), RFC 8037 (OKP keys, ``EdDSA``).
  RFC 9864 deprecates the polymorphic ``EdDSA`` in favour of ``Ed25519``; PyJWT and the product
  contract still use ``EdDSA``, so it is the only algorithm we sign with or accept.

Time claims: :func:`sign_vc_jwt` mirrors ``validFrom`` into ``nbf`` and ``validUntil`` into
``exp`` (whole seconds) so that plain JWT libraries also refuse an expired certificate.
:func:`verify_vc_jwt` applies the time checks itself against an injectable ``now``, after the
signature: an expired certificate must still show what it was.

Verification does not go through PyJWT (which parses a token twice and checks base64url in a
Python loop): the compact JWS is split and decoded once, with PyJWT 2.15's exact acceptance rules
(canonical unpadded base64url, a JSON object header with a string ``kid``, no ``crit``; the
payload parsed only after the Ed25519 signature over ``header.payload`` holds; ``sub`` and ``jti``
strings), so every reason code is what it was with ``jwt.decode``. Signing still uses PyJWT.

Verification never raises on hostile input; it answers with one of the stable reason codes below.
Keys come only from the caller's JWK Set, selected by ``kid``; ``jwk``/``jku``/``x5u`` headers are
ignored.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeGuard

import jwt
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

VC_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
VERIFIABLE_CREDENTIAL: Final = "VerifiableCredential"
CERTIFICATE_TYPE: Final = "ChildcareWorkforceCertificate"
STATUS_ENTRY_TYPE: Final = "BitstringStatusListEntry"
VC_JWT_TYP: Final = "vc+jwt"
VC_JWT_CTY: Final = "vc"
JWS_ALG: Final = "EdDSA"
MAX_TOKEN_BYTES: Final = 64 * 1024
"""Longest compact JWS accepted by default; longer input is ``malformed`` before any parsing."""
NOT_BEFORE_SKEW: Final = timedelta(minutes=2)
"""Tolerated clock skew for ``validFrom``/``nbf`` (a verifier's clock running a little behind)."""

# Stable reason codes of a failed verification.
MALFORMED: Final = "malformed"
UNSUPPORTED_ALG: Final = "unsupported_alg"
UNKNOWN_KEY: Final = "unknown_key"
BAD_SIGNATURE: Final = "bad_signature"
WRONG_TYPE: Final = "wrong_type"
EXPIRED: Final = "expired"
NOT_YET_VALID: Final = "not_yet_valid"
INVALID_CREDENTIAL: Final = "invalid_credential"

SIGNATURE_FAILURES: Final = frozenset(
    {MALFORMED, UNSUPPORTED_ALG, UNKNOWN_KEY, BAD_SIGNATURE, WRONG_TYPE, INVALID_CREDENTIAL}
)
"""Reasons after which the claims are not trusted (expiry reasons come after a good signature)."""

_REGISTERED_CLAIMS: Final = ("iss", "jti", "iat", "nbf", "exp")
_FORBIDDEN_CLAIMS: Final = ("vc", "vp")
# The signature may be empty so that an unsecured ("alg": "none") JWT gets ``unsupported_alg``.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_MAX_DATETIME_CHARS: Final = 64
_ED25519_KEY_BYTES: Final = 32
# Canonical unpadded base64url: the unused low bits of a partial last quantum must be zero, so
# a segment of length 4n+2 ends in one of 4 characters and one of length 4n+3 in one of 16.
_CANONICAL_LAST: Final = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
_URLSAFE_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_JSON: Final = msgspec.json.Decoder()
_JWKS_CACHE_SIZE: Final = 16


class CredentialError(Exception):
    """A credential or JWS that cannot be built, signed or verified.

    Attributes:
        code: A stable snake_case reason code (one of the module's reason constants, or a
            status-list code).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class Issuer(msgspec.Struct, frozen=True):
    """The issuing organisation as it appears in ``issuer``.

    Attributes:
        id: A URL identifying the issuer (``https://…`` or ``urn:workforce:org:<uuid>``).
        name: The organisation's name, in Chinese.
    """

    id: str
    name: str


class StatusPointer(msgspec.Struct, frozen=True):
    """Where a credential's status bit lives: one ``BitstringStatusListEntry``.

    Attributes:
        purpose: ``revocation`` or ``suspension``.
        list_url: URL of the ``BitstringStatusListCredential``.
        index: Position of the bit in that list.
    """

    purpose: str
    list_url: str
    index: int


class CertificateSubject(msgspec.Struct, frozen=True, kw_only=True):
    """What a workforce certificate says about its holder.

    Attributes:
        masked_id_number: The holder's masked citizen ID number (never the plain number).
        name: The holder's name.
        type_code: Certificate type code.
        type_name: Certificate type name, in Chinese.
        level_code: Level code, if the type has levels.
        level_name: Level name, in Chinese, if the type has levels.
        hours_tenths: Class hours earned, in tenths of an hour.
        serial: The certificate's serial number.
    """

    masked_id_number: str
    name: str
    type_code: str
    type_name: str
    level_code: str | None = None
    level_name: str | None = None
    hours_tenths: int = 0
    serial: str


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :func:`verify_vc_jwt`.

    Attributes:
        valid: Whether signature, structure and validity period all hold at ``now``.
        reason: ``None`` when valid, else a stable reason code.
        credential: The verified credential (claims without the JWT registered claims); also set
            when only the validity period failed, ``None`` when the signature is not trusted.
        kid: The ID of the key that verified the signature (``None`` if none did).
    """

    valid: bool
    reason: str | None = None
    credential: dict[str, Any] | None = None
    kid: str | None = None

    @property
    def signature_ok(self) -> bool:
        """Whether the signature and structure held (the period may still have failed)."""
        return self.valid or self.reason not in SIGNATURE_FAILURES


# --- encodings -------------------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode strict unpadded base64url.

    Raises:
        ValueError: On padding, characters outside the alphabet or an impossible length.
    """
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the regex already rules this out
        raise ValueError("not unpadded base64url") from exc


def format_datetime(moment: datetime) -> str:
    """Render an aware datetime as an XML Schema ``dateTimeStamp`` in UTC, e.g. ``…T08:00:00Z``.

    Raises:
        ValueError: If ``moment`` is naive.
    """
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: object) -> datetime | None:
    """Parse a ``dateTimeStamp`` (with a time zone) into an aware datetime, or ``None``."""
    if not isinstance(value, str) or len(value) > _MAX_DATETIME_CHARS or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def format_hours(hours_tenths: int) -> str:
    """Render tenths of an hour as a one-decimal string (``1200`` -> ``"120.0"``).

    Raises:
        ValueError: If ``hours_tenths`` is negative.
    """
    if hours_tenths < 0:
        raise ValueError("hours cannot be negative")
    whole, tenth = divmod(hours_tenths, 10)
    return f"{whole}.{tenth}"


# --- building --------------------------------------------------------------------------------


def status_entry(pointer: StatusPointer) -> dict[str, str]:
    """Render one ``BitstringStatusListEntry`` (the index travels as a base-10 string)."""
    return {
        "id": f"{pointer.list_url}#{pointer.index}",
        "type": STATUS_ENTRY_TYPE,
        "statusPurpose": pointer.purpose,
        "statusListIndex": str(pointer.index),
        "statusListCredential": pointer.list_url,
    }


def _subject_claims(subject: CertificateSubject) -> dict[str, Any]:
    certificate: dict[str, Any] = {"type": subject.type_code, "typeName": subject.type_name}
    if subject.level_code is not None:
        certificate["level"] = subject.level_code
    if subject.level_name is not None:
        certificate["levelName"] = subject.level_name
    certificate["hoursEarned"] = format_hours(subject.hours_tenths)
    certificate["serial"] = subject.serial
    return {
        "maskedIdNumber": subject.masked_id_number,
        "name": subject.name,
        "certificate": certificate,
    }


def build_credential(
    *,
    credential_id: str,
    issuer: Issuer,
    subject: CertificateSubject,
    valid_from: datetime,
    valid_until: datetime | None,
    status: Sequence[StatusPointer],
    contexts: Sequence[str] = (),
) -> dict[str, Any]:
    """Build the unsecured VC 2.0 credential of one workforce certificate.

    ``hoursEarned`` is a one-decimal string (``"120.0"``) so that it stays exact in every JSON
    parser. The subject has no ``id``: holders have no identifier of their own.

    Args:
        credential_id: ``urn:uuid:…`` or the certificate's URL.
        issuer: The issuing organisation.
        subject: The holder and the certificate's content.
        valid_from: Start of validity (aware).
        valid_until: End of validity (aware), or ``None`` for no end.
        status: Status-list pointers, normally one ``revocation`` and one ``suspension``.
        contexts: Further ``@context`` URLs after the VC 2.0 context (e.g. our own vocabulary).

    Returns:
        The credential as a JSON-ready dict.
    """
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT, *contexts],
        "id": credential_id,
        "type": [VERIFIABLE_CREDENTIAL, CERTIFICATE_TYPE],
        "issuer": {"id": issuer.id, "name": issuer.name},
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = _subject_claims(subject)
    credential["credentialStatus"] = [status_entry(pointer) for pointer in status]
    return credential


# --- structural checks -----------------------------------------------------------------------


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    """The issuer's ID of a credential (``issuer`` is a URL or an object with an ``id``)."""
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _is_str_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _types(credential: Mapping[str, Any]) -> list[str]:
    value = credential.get("type")
    if isinstance(value, str):
        return [value]
    return list(value) if _is_str_list(value) else []


def has_type(credential: Mapping[str, Any], type_name: str) -> bool:
    """Whether the credential's ``type`` includes ``type_name``."""
    return type_name in _types(credential)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object_or_objects(value: object) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _identity_problem(credential: Mapping[str, Any]) -> str | None:
    context = credential.get("@context")
    if not _is_str_list(context) or context[0] != VC_V2_CONTEXT:
        return "@context must be a list starting with the VC 2.0 context"
    if not has_type(credential, VERIFIABLE_CREDENTIAL):
        return "type must include VerifiableCredential"
    if issuer_id(credential) is None:
        return "issuer must be a URL or an object with an id"
    if "id" in credential and not isinstance(credential["id"], str):
        return "id must be a string"
    return None


def _content_problem(credential: Mapping[str, Any]) -> str | None:
    if not _is_object_or_objects(credential.get("credentialSubject")):
        return "credentialSubject must be an object"
    if "credentialStatus" in credential and not _is_object_or_objects(
        credential["credentialStatus"]
    ):
        return "credentialStatus must be an object or a list of objects"
    return None


def _period_problem(credential: Mapping[str, Any]) -> str | None:
    for name in ("validFrom", "validUntil"):
        if name in credential and parse_datetime(credential[name]) is None:
            return f"{name} must be a dateTimeStamp"
    return None


def _claims_problem(claims: Mapping[str, Any]) -> str | None:
    if any(name in claims for name in _FORBIDDEN_CLAIMS):
        return "the vc and vp claims must not be present"
    if "iss" in claims and claims["iss"] != issuer_id(claims):
        return "iss conflicts with issuer"
    if "jti" in claims and claims["jti"] != claims.get("id"):
        return "jti conflicts with id"
    if any(name in claims and not _is_number(claims[name]) for name in ("iat", "nbf", "exp")):
        return "iat, nbf and exp must be numbers"
    return None


def credential_problem(claims: Mapping[str, Any]) -> str | None:
    """Describe why ``claims`` is not a well-formed VC 2.0 credential, or return ``None``."""
    return (
        _identity_problem(claims)
        or _content_problem(claims)
        or _period_problem(claims)
        or _claims_problem(claims)
    )


# --- JWKs ------------------------------------------------------------------------------------


def public_jwk(public_key: Ed25519PublicKey, kid: str) -> dict[str, str]:
    """Render an Ed25519 public key as a JWK (RFC 8037) for a JWK Set."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(raw),
        "kid": kid,
        "alg": JWS_ALG,
        "use": "sig",
    }


def jwks_document(keys: Mapping[str, Ed25519PublicKey]) -> dict[str, list[dict[str, str]]]:
    """Render ``{kid: public key}`` as a JWK Set document ``{"keys": [...]}``."""
    return {"keys": [public_jwk(key, kid) for kid, key in keys.items()]}


def _jwk_usable(entry: Mapping[str, Any]) -> bool:
    if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
        return False
    if entry.get("alg", JWS_ALG) not in (JWS_ALG, "Ed25519") or entry.get("use", "sig") != "sig":
        return False
    key_ops = entry.get("key_ops", ["verify"])
    return isinstance(key_ops, list) and "verify" in key_ops


def _jwk_public_key(entry: Mapping[str, Any]) -> Ed25519PublicKey | None:
    x = entry.get("x")
    if not isinstance(x, str) or not _jwk_usable(entry):
        return None
    try:
        raw = b64url_decode(x)
    except ValueError:
        return None
    if len(raw) != _ED25519_KEY_BYTES:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:  # pragma: no cover - every 32-byte string is accepted today
        return None


def _usable_keys(jwks: object) -> dict[str, Ed25519PublicKey]:
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(entries, list):
        return {}
    found: dict[str, Ed25519PublicKey] = {}
    ambiguous: set[str] = set()
    for entry in entries:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        key = _jwk_public_key(entry) if isinstance(entry, dict) else None
        if not isinstance(kid, str) or not kid or key is None:
            continue
        if kid in found:
            ambiguous.add(kid)
        found[kid] = key
    return {kid: key for kid, key in found.items() if kid not in ambiguous}


def _fingerprint(keys: Mapping[str, Ed25519PublicKey]) -> bytes:
    """SHA-256 over the (kid, raw key) pairs, sorted by kid and length-prefixed."""
    digest = hashlib.sha256()
    for kid in sorted(keys):
        name = kid.encode("utf-8", "surrogatepass")
        digest.update(len(name).to_bytes(8, "big"))
        digest.update(name)
        digest.update(keys[kid].public_bytes(Encoding.Raw, PublicFormat.Raw))
    return digest.digest()


class _KeySet(NamedTuple):
    keys: dict[str, Ed25519PublicKey]
    fingerprint: bytes


def _plain_json_entries(jwks: object) -> list[dict[str, object]] | None:
    """The ``keys`` of a JWK Set made only of exact dicts, lists and strings, else ``None``.

    For such a document the JSON encoding is injective, so it can key the cache without two
    documents that :func:`jwks_keys` reads differently (a tuple for a list, a ``str`` subclass,
    a number for a string) ever sharing an entry. Anything else is simply not cached.
    """
    if type(jwks) is not dict:
        return None
    entries = jwks.get("keys")
    if type(entries) is not list:
        return None
    for entry in entries:
        if type(entry) is not dict:
            return None
        for name, value in entry.items():
            if type(name) is not str:
                return None
            if type(value) is str:
                continue
            if type(value) is not list or any(type(item) is not str for item in value):
                return None
    return entries


class _KeySetCache:
    """A small thread-safe LRU of :class:`_KeySet` by the JSON of a JWK Set's ``keys``."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, _KeySet] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, jwks: object) -> _KeySet:
        entries = _plain_json_entries(jwks)
        try:
            cache_key = msgspec.json.encode(entries) if entries is not None else None
        except (TypeError, ValueError):  # e.g. a lone surrogate in a string
            cache_key = None
        if cache_key is None:
            keys = _usable_keys(jwks)
            return _KeySet(keys, _fingerprint(keys))
        with self._lock:
            found = self._entries.get(cache_key)
            if found is not None:
                self._entries.move_to_end(cache_key)
                return found
        keys = _usable_keys(jwks)
        key_set = _KeySet(keys, _fingerprint(keys))
        with self._lock:
            self._entries[cache_key] = key_set
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return key_set

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_KEY_SETS: Final = _KeySetCache(_JWKS_CACHE_SIZE)


def jwks_keys(jwks: object) -> dict[str, Ed25519PublicKey]:
    """Extract the Ed25519 verification keys of a JWK Set, by ``kid``.

    Entries that are not OKP/Ed25519 signature keys, lack a string ``kid`` or carry a bad ``x``
    are skipped; a ``kid`` listed twice is dropped as ambiguous. Never raises. Results for plain
    JSON documents are kept in a small LRU keyed by their content (the same set is usually
    passed again and again); the caller gets its own dict.

    Args:
        jwks: A parsed JWK Set document (``{"keys": [...]}``); anything else yields no keys.

    Returns:
        The usable keys by key ID.
    """
    return dict(_KEY_SETS.get(jwks).keys)


def jwks_fingerprint(jwks: object) -> bytes:
    """A digest of exactly what verification reads from a JWK Set: its usable keys by ``kid``.

    Two documents with the same fingerprint give every token the same verification outcome,
    so the fingerprint can key caches of verification results (see ``status_list``).
    """
    return _KEY_SETS.get(jwks).fingerprint


def clear_cache() -> None:
    """Empty the JWK Set cache (tests, benchmarks)."""
    _KEY_SETS.clear()


# --- signing ---------------------------------------------------------------------------------


def _epoch(value: object) -> int | None:
    parsed = parse_datetime(value)
    return int(parsed.timestamp()) if parsed is not None else None


def _registered_claims(credential: Mapping[str, Any], issued_at: datetime) -> dict[str, Any]:
    claims: dict[str, Any] = {"iss": issuer_id(credential)}
    if isinstance(credential.get("id"), str):
        claims["jti"] = credential["id"]
    claims["iat"] = int(issued_at.timestamp())
    not_before = _epoch(credential.get("validFrom"))
    if not_before is not None:
        claims["nbf"] = not_before
    expires = _epoch(credential.get("validUntil"))
    if expires is not None:
        claims["exp"] = expires
    return claims


def sign_vc_jwt(
    credential: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    kid: str,
    *,
    issued_at: datetime | None = None,
) -> str:
    """Secure a credential as a ``vc+jwt`` (VC-JOSE-COSE), signed with EdDSA.

    The payload is the credential itself plus ``iss`` (issuer id), ``jti`` (credential id),
    ``iat``, and ``nbf``/``exp`` mirroring ``validFrom``/``validUntil``.

    Args:
        credential: A VC 2.0 credential, e.g. from :func:`build_credential`.
        private_key: The issuer's Ed25519 signing key.
        kid: The key ID under which the public key is published in the JWK Set.
        issued_at: Time of signing (aware); defaults to now.

    Returns:
        The compact JWS.

    Raises:
        CredentialError: ``invalid_credential`` if the credential is not well formed or already
            carries JWT registered claims.
    """
    problem = credential_problem(credential)
    if problem is None and any(name in credential for name in _REGISTERED_CLAIMS):
        problem = "the credential already carries JWT registered claims"
    if problem is not None:
        raise CredentialError(INVALID_CREDENTIAL, problem)
    moment = _now(issued_at)
    payload = {**credential, **_registered_claims(credential, moment)}
    headers = {"typ": VC_JWT_TYP, "cty": VC_JWT_CTY, "kid": kid}
    return jwt.encode(payload, private_key, algorithm=JWS_ALG, headers=headers)


def sign_jws(payload: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str, typ: str) -> str:
    """Sign any JSON object as a compact JWS/JWT (EdDSA) with the given ``typ`` and ``kid``.

    Used for other signed artefacts such as admission and ban-check receipts.  The values must
    be JSON-native (numbers for ``iat``/``exp``).  The JWS is assembled directly (RFC 7515
    §7.1): the protected header of a (kid, typ) pair is encoded once, the payload is compact
    JSON, and the Ed25519 signature covers ``header.payload`` as ASCII.
    """
    signing_input = f"{_protected_header(kid, typ)}.{b64url_encode(_ENCODE(payload))}"
    signature = private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


_ENCODE: Final = msgspec.json.Encoder().encode


@functools.lru_cache(maxsize=64)
def _protected_header(kid: str, typ: str) -> str:
    return b64url_encode(_ENCODE({"alg": JWS_ALG, "kid": kid, "typ": typ}))


# --- verifying -------------------------------------------------------------------------------


def _normalise_typ(value: object) -> str | None:
    """Compare ``typ`` as RFC 7515 §4.1.9 says: case-insensitive, ``application/`` optional."""
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return lowered.removeprefix("application/")


def _compact_token(token: object, max_bytes: int) -> str:
    if not isinstance(token, str):
        raise CredentialError(MALFORMED, "token is not a string")
    if len(token) > max_bytes:
        raise CredentialError(MALFORMED, "token is too long")
    compact = token.strip()
    if not _COMPACT_JWS.fullmatch(compact):
        raise CredentialError(MALFORMED, "not a compact JWS")
    return compact


class _CompactJws(NamedTuple):
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def _segment(text: str) -> bytes:
    """Decode one base64url segment the way PyJWT 2.15 accepts it, without its Python loop.

    The caller has already checked the alphabet (``_COMPACT_JWS``, so no padding either); a
    length of 4n+1 is impossible and a non-canonical last character (non-zero unused bits) is
    refused, as PyJWT does by re-encoding.
    """
    remainder = len(text) % 4
    if remainder == 1 or (remainder and text[-1] not in _CANONICAL_LAST[remainder]):
        raise CredentialError(MALFORMED, "not canonical base64url")
    padded = text.encode("ascii").translate(_URLSAFE_TO_STANDARD) + b"=" * (-remainder % 4)
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above rule this out
        raise CredentialError(MALFORMED, "not base64url") from exc


def _json_object(data: bytes) -> dict[str, Any] | None:
    """Parse a JSON object as ``json.loads`` (PyJWT's parser) would, or return ``None``.

    msgspec answers first; it is stricter than ``json.loads`` (no NaN/Infinity, no lone
    surrogates, no UTF-16/32 or BOM detection, tighter number ranges) but equal wherever both
    accept, so its refusals are re-parsed with ``json.loads`` to keep the verdicts identical.
    """
    value: object
    try:
        value = _JSON.decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError):
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _parse_compact(compact: str) -> _CompactJws:
    """Split and decode a compact JWS once: PyJWT's ``_load`` and header checks, in one pass.

    Every problem here is ``malformed``, as it was through ``jwt.get_unverified_header``: all
    three segments must be canonical base64url, the header a JSON object with a string ``kid``
    (if any) and neither ``crit`` nor ``b64``. The payload is not parsed before the signature
    has been verified.
    """
    header_b64, payload_b64, signature_b64 = compact.split(".")
    header = _json_object(_segment(header_b64))
    if header is None:
        raise CredentialError(MALFORMED, "unreadable JOSE header")
    payload = _segment(payload_b64)
    signature = _segment(signature_b64)
    if "kid" in header and not isinstance(header["kid"], str):
        raise CredentialError(MALFORMED, "kid must be a string")
    if "crit" in header or "b64" in header:
        raise CredentialError(MALFORMED, "critical or unencoded-payload headers are not supported")
    signing_input = compact[: len(header_b64) + 1 + len(payload_b64)].encode("ascii")
    return _CompactJws(header, payload, signing_input, signature)


def _check_header(header: Mapping[str, Any], typ: str) -> None:
    if header.get("alg") != JWS_ALG:
        raise CredentialError(UNSUPPORTED_ALG, "only EdDSA is accepted")
    if _normalise_typ(header.get("typ")) != _normalise_typ(typ):
        raise CredentialError(WRONG_TYPE, f"typ must be {typ}")


def _select_key(
    header: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]
) -> Ed25519PublicKey:
    key = keys.get(header["kid"]) if isinstance(header.get("kid"), str) else None
    if key is None:
        raise CredentialError(UNKNOWN_KEY, "no key in the JWK Set for this kid")
    return key


def _decode(jws: _CompactJws, key: Ed25519PublicKey) -> dict[str, Any]:
    """Verify the signature, then parse the payload and apply PyJWT's remaining claim checks."""
    try:
        key.verify(jws.signature, jws.signing_input)
    except InvalidSignature as exc:
        raise CredentialError(BAD_SIGNATURE, "signature verification failed") from exc
    claims = _json_object(jws.payload)
    if claims is None:
        raise CredentialError(MALFORMED, "undecodable payload")
    # jwt.decode checked these even with its time checks off (verify_sub, verify_jti).
    if any(name in claims and not isinstance(claims[name], str) for name in ("sub", "jti")):
        raise CredentialError(INVALID_CREDENTIAL, "sub and jti must be strings")
    return claims


def _verified_claims(
    token: object, jwks: object, typ: str, max_bytes: int
) -> tuple[dict[str, Any], str]:
    """Run the JOSE checks in a fixed order; return the claims and the kid."""
    jws = _parse_compact(_compact_token(token, max_bytes))
    _check_header(jws.header, typ)
    key = _select_key(jws.header, _KEY_SETS.get(jwks).keys)
    return _decode(jws, key), str(jws.header["kid"])


def unverified_claims(token: object, *, max_token_bytes: int = MAX_TOKEN_BYTES) -> dict[str, Any]:
    """Read the claims of a compact JWS WITHOUT verifying its signature or its header.

    Never trust the result on its own: it serves to route a token (e.g. by the ``id`` it
    claims) or to re-read the registered claims of a token that :func:`verify_vc_jwt` has just
    accepted (``status_list`` keeps ``nbf``/``exp`` that way for its cache).

    Raises:
        CredentialError: ``malformed`` if the token is not a compact JWS with a JSON object
            payload.
    """
    jws = _parse_compact(_compact_token(token, max_token_bytes))
    claims = _json_object(jws.payload)
    if claims is None:
        raise CredentialError(MALFORMED, "undecodable payload")
    return claims


def _verified_credential(token: object, jwks: object, max_bytes: int) -> tuple[dict[str, Any], str]:
    claims, kid = _verified_claims(token, jwks, VC_JWT_TYP, max_bytes)
    problem = credential_problem(claims)
    if problem is not None:
        raise CredentialError(INVALID_CREDENTIAL, problem)
    return claims, kid


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def _bound(claims: Mapping[str, Any], date_name: str, epoch_name: str) -> list[datetime]:
    bounds: list[datetime] = []
    parsed = parse_datetime(claims.get(date_name))
    if parsed is not None:
        bounds.append(parsed)
    epoch = claims.get(epoch_name)
    if _is_number(epoch):
        try:
            bounds.append(datetime.fromtimestamp(epoch, UTC))
        except (OverflowError, OSError, ValueError):
            raise CredentialError(INVALID_CREDENTIAL, f"{epoch_name} out of range") from None
    return bounds


class ValidityPeriod(NamedTuple):
    """The validity bounds of verified claims, parsed once (see :func:`period_problem`).

    Attributes:
        start: The latest of ``validFrom`` and ``nbf``, if any.
        end: The earliest of ``validUntil`` and ``exp``, if any.
        start_error: Why ``nbf`` is unusable (out of range), if it is.
        end_error: Why ``exp`` is unusable (out of range), if it is.
    """

    start: datetime | None
    end: datetime | None
    start_error: str | None = None
    end_error: str | None = None


def _strictest(
    claims: Mapping[str, Any], date_name: str, epoch_name: str, pick: Any
) -> tuple[datetime | None, str | None]:
    try:
        bounds = _bound(claims, date_name, epoch_name)
    except CredentialError as exc:
        return None, str(exc).partition(": ")[2]
    return (pick(bounds) if bounds else None), None


def validity_period(claims: Mapping[str, Any]) -> ValidityPeriod:
    """Parse the validity bounds of ``claims`` (``validFrom``/``nbf``, ``validUntil``/``exp``)."""
    start, start_error = _strictest(claims, "validFrom", "nbf", max)
    end, end_error = _strictest(claims, "validUntil", "exp", min)
    return ValidityPeriod(start, end, start_error, end_error)


def _period_error(period: ValidityPeriod, now: datetime) -> CredentialError | None:
    """The strictest bounds at ``now``, checked in the order the claims were always checked."""
    if period.start_error is not None:
        return CredentialError(INVALID_CREDENTIAL, period.start_error)
    if period.start is not None and now + NOT_BEFORE_SKEW < period.start:
        return CredentialError(NOT_YET_VALID, "not valid yet")
    if period.end_error is not None:
        return CredentialError(INVALID_CREDENTIAL, period.end_error)
    if period.end is not None and now >= period.end:
        return CredentialError(EXPIRED, "validity has ended")
    return None


def _check_period(claims: Mapping[str, Any], now: datetime) -> None:
    """Apply the strictest of validFrom/nbf and validUntil/exp."""
    error = _period_error(validity_period(claims), now)
    if error is not None:
        raise error


def period_problem(period: ValidityPeriod, now: datetime | None = None) -> str | None:
    """Why a validity period fails at ``now``, or ``None`` if it holds.

    The check :func:`verify_vc_jwt` applies after the signature: the strictest of
    ``validFrom``/``nbf`` (with :data:`NOT_BEFORE_SKEW`) and ``validUntil``/``exp``. Parse the
    period once with :func:`validity_period` and check it at as many moments as needed.

    Returns:
        ``None``, ``not_yet_valid``, ``expired`` or ``invalid_credential`` (an epoch out of
        range).

    Raises:
        ValueError: If ``now`` is naive.
    """
    error = _period_error(period, _now(now))
    return error.code if error is not None else None


def _strip_registered(claims: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in claims.items() if name not in _REGISTERED_CLAIMS}


def verify_vc_jwt(
    token: object,
    jwks: object,
    now: datetime | None = None,
    *,
    max_token_bytes: int = MAX_TOKEN_BYTES,
) -> Verification:
    """Verify a ``vc+jwt`` against a JWK Set; never raises on hostile input.

    Checks, in order: size and compact shape (``malformed``), ``alg`` is EdDSA
    (``unsupported_alg``), ``typ`` is ``vc+jwt`` (``wrong_type``), ``kid`` names an Ed25519 key
    of the set (``unknown_key``), the signature (``bad_signature``), the VC 2.0 structure and
    claim consistency (``invalid_credential``), then the validity period at ``now``
    (``not_yet_valid``, ``expired``).

    Args:
        token: The compact JWS (anything else is ``malformed``).
        jwks: A parsed JWK Set document ``{"keys": [...]}``.
        now: Verification time (aware); defaults to the current time.
        max_token_bytes: Size cap; larger input is ``malformed``.

    Returns:
        The verification; the credential is included whenever the signature held.

    Raises:
        ValueError: Only if ``now`` is naive (a programming error, not input).
    """
    moment = _now(now)
    try:
        claims, kid = _verified_credential(token, jwks, max_token_bytes)
    except CredentialError as exc:
        return Verification(valid=False, reason=exc.code)
    credential = _strip_registered(claims)
    try:
        _check_period(claims, moment)
    except CredentialError as exc:
        return Verification(valid=False, reason=exc.code, credential=credential, kid=kid)
    return Verification(valid=True, credential=credential, kid=kid)


def verify_jws(
    token: object,
    jwks: object,
    typ: str,
    now: datetime | None = None,
    *,
    max_token_bytes: int = MAX_TOKEN_BYTES,
) -> dict[str, Any]:
    """Verify a compact JWS made by :func:`sign_jws` and return its payload.

    ``exp`` and ``nbf`` are checked against ``now`` when present.

    Args:
        token: The compact JWS.
        jwks: A parsed JWK Set document.
        typ: The expected ``typ`` header.
        now: Verification time (aware); defaults to the current time.
        max_token_bytes: Size cap; larger input is ``malformed``.

    Returns:
        The verified payload.

    Raises:
        CredentialError: With one of the reason codes of :func:`verify_vc_jwt`.
    """
    moment = _now(now)
    claims, _ = _verified_claims(token, jwks, typ, max_token_bytes)
    if any(name in claims and not _is_number(claims[name]) for name in ("nbf", "exp")):
        raise CredentialError(INVALID_CREDENTIAL, "nbf and exp must be numbers")
    _check_period(claims, moment)
    return claims
