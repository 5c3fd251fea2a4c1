"""C2SP signed notes: the Go sumdb known answer, round trips and every malformed input."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workforce.ledger.errors import NoteError
from workforce.ledger.note import (
    MAX_SIGNATURES,
    Signer,
    Verifier,
    check_key_name,
    key_id,
    open_note,
    sign_note,
)

if TYPE_CHECKING:
    from collections.abc import Callable

# Known answer from Go's golang.org/x/mod/sumdb/note tests (see the design notes).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
PETER_NOTE = f"{PETER_TEXT}\n\u2014 PeterNeumann {PETER_SIG}\n"

TEXT = "registry.example.cn/workforce/bans/v1\n7\n托育 ledger\n\nsecond paragraph\n"


def _signer(name: str, seed: int) -> Signer:
    return Signer(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


ALICE = _signer("example.cn/alice", 1)
BOB = _signer("example.cn/bob", 2)


def test_known_answer_verifies() -> None:
    verifier = Verifier.from_vkey(PETER_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id == 0xC74F20A3
    assert verifier.vkey == PETER_VKEY
    assert open_note(PETER_NOTE, [verifier]) == (PETER_TEXT, ["PeterNeumann"])


def test_known_answer_fails_when_text_changes() -> None:
    tampered = PETER_NOTE.replace("cryptography", "Cryptography")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [Verifier.from_vkey(PETER_VKEY)])


def test_key_id_definition() -> None:
    raw = base64.b64decode(PETER_VKEY.split("+")[2])[1:]
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + raw).digest()
    assert key_id("PeterNeumann", raw) == int.from_bytes(digest[:4], "big") == 0xC74F20A3


def test_sign_then_open_round_trips() -> None:
    note = sign_note(TEXT, [ALICE])
    assert note.startswith(TEXT + "\n\u2014 example.cn/alice ")
    assert open_note(note, [ALICE.verifier]) == (TEXT, ["example.cn/alice"])
    assert open_note(note, [Verifier.from_vkey(ALICE.vkey)]) == (TEXT, ["example.cn/alice"])


def test_vkey_round_trips() -> None:
    parsed = Verifier.from_vkey(ALICE.vkey)
    assert (parsed.name, parsed.key_id, parsed.vkey) == (ALICE.name, ALICE.key_id, ALICE.vkey)


def test_multiple_signatures_and_rotation() -> None:
    note = sign_note(TEXT, [ALICE, BOB])
    assert open_note(note, [ALICE.verifier, BOB.verifier]) == (
        TEXT,
        ["example.cn/alice", "example.cn/bob"],
    )
    assert open_note(note, [BOB.verifier]) == (TEXT, ["example.cn/bob"])
    assert open_note(note, [ALICE.verifier]) == (TEXT, ["example.cn/alice"])


def test_unknown_signatures_are_ignored() -> None:
    foreign = base64.b64encode(b"\x01\x02\x03\x04" + b"\xff" * 5).decode()
    note = sign_note(TEXT, [ALICE]) + f"\u2014 other.example/witness {foreign}\n"
    assert open_note(note, [ALICE.verifier]) == (TEXT, ["example.cn/alice"])


def test_signature_sharing_only_the_name_is_ignored() -> None:
    impostor = _signer(ALICE.name, 3)  # same name, other key, hence other key ID
    note = sign_note(TEXT, [impostor, ALICE])
    assert open_note(note, [ALICE.verifier]) == (TEXT, ["example.cn/alice"])
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(sign_note(TEXT, [impostor]), [ALICE.verifier])


def test_wrong_key_fails() -> None:
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_note(sign_note(TEXT, [BOB]), [ALICE.verifier])


def test_known_key_with_bad_signature_rejects_the_whole_note() -> None:
    good = sign_note(TEXT, [ALICE, BOB])
    line = good.splitlines()[-1]
    raw = bytearray(base64.b64decode(line.rsplit(" ", 1)[1]))
    raw[-1] ^= 1
    bad = good.replace(line, line.rsplit(" ", 1)[0] + " " + base64.b64encode(raw).decode())
    with pytest.raises(NoteError, match=r"signature line 2 by known key 'example\.cn/bob'"):
        open_note(bad, [ALICE.verifier, BOB.verifier])


def test_known_key_with_short_signature_is_rejected() -> None:
    raw = ALICE.key_id.to_bytes(4, "big") + b"\x00" * 63
    note = f"{TEXT}\n\u2014 {ALICE.name} {base64.b64encode(raw).decode()}\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(note, [ALICE.verifier])


def _sig() -> str:
    return sign_note(TEXT, [ALICE]).rsplit(" ", 1)[1].rstrip("\n")


def _line(name: str, signature: str) -> str:
    return f"{TEXT}\n\u2014 {name} {signature}\n"


MALFORMED = {
    "no final newline": (lambda: sign_note(TEXT, [ALICE])[:-1], "end with a newline"),
    "no blank line": (lambda: f"text\n\u2014 {ALICE.name} {_sig()}\n", "no blank line"),
    "no signatures": (lambda: TEXT + "\n", "no signature lines"),
    "hyphen for em dash": (lambda: f"{TEXT}\n- {ALICE.name} {_sig()}\n", "em dash"),
    "em dash, no space": (lambda: f"{TEXT}\n\u2014{ALICE.name} {_sig()}\n", "em dash"),
    "name with plus": (lambda: _line("a+b", _sig()), "key name 'a\\+b'"),
    "empty name": (lambda: _line("", _sig()), "key name is empty"),
    "no signature": (lambda: f"{TEXT}\n\u2014 {ALICE.name}\n", "no space between"),
    "empty signature": (lambda: _line(ALICE.name, ""), "holds 0 bytes"),
    "not base64": (lambda: _line(ALICE.name, _sig()[:-2] + "!!"), "not valid base64"),
    "base64 with space": (lambda: _line(ALICE.name, "AAAA " + _sig()), "not valid base64"),
    "base64 urlsafe": (lambda: _line(ALICE.name, "___-"), "not valid base64"),
    "base64 unpadded": (lambda: _line(ALICE.name, _sig().rstrip("=")), "not valid base64"),
    "base64 not canonical": (lambda: _line(ALICE.name, "AAAAAAB="), "not canonical"),
    "four-byte signature": (lambda: _line(ALICE.name, "AAAAAA=="), "holds 4 bytes"),
    "trailing blank line": (lambda: sign_note(TEXT, [ALICE]) + "\n", "no signature lines"),
    "carriage return": (lambda: f"a\r\n\n\u2014 {ALICE.name} {_sig()}\n", "control character"),
    "bell": (lambda: f"te\x07xt\n\n\u2014 {ALICE.name} {_sig()}\n", "control character"),
    "tab": (lambda: f"a\tb\n\n\u2014 {ALICE.name} {_sig()}\n", "control character"),
    "lone surrogate": (lambda: f"te\ud800xt\n\n\u2014 {ALICE.name} {_sig()}\n", "surrogate"),
    "too many signatures": (
        lambda: TEXT + "\n" + f"\u2014 {ALICE.name} {_sig()}\n" * (MAX_SIGNATURES + 1),
        "101 signature lines",
    ),
    "too long": (lambda: "x" * (1 << 20) + f"\n\n\u2014 {ALICE.name} {_sig()}\n", "longer"),
}


@pytest.mark.parametrize(("make", "match"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_notes_are_rejected(make: Callable[[], str], match: str) -> None:
    with pytest.raises(NoteError, match=match):
        open_note(make(), [ALICE.verifier])


def test_sixteen_signatures_are_accepted() -> None:
    signers = [_signer(f"example.cn/key{i}", 10 + i) for i in range(16)]
    note = sign_note(TEXT, signers)
    _, names = open_note(note, [signers[15].verifier, signers[0].verifier])
    assert names == ["example.cn/key0", "example.cn/key15"]


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+x",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpcA2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_vkeys_are_rejected(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u3000b", "a\tb", "a\nb", "a\x7f\x00"])
def test_bad_key_names_are_rejected(name: str) -> None:
    with pytest.raises(NoteError):
        check_key_name(name)
    with pytest.raises(NoteError):
        Signer(name, Ed25519PrivateKey.generate())


@pytest.mark.parametrize("text", ["", "no newline", "bell\x07\n", "cr\r\n", "\ud800\n"])
def test_sign_note_rejects_bad_text(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, [ALICE])


def test_sign_note_needs_a_signer() -> None:
    with pytest.raises(NoteError, match="between 1 and"):
        sign_note(TEXT, [])


def test_text_ending_in_blank_lines_round_trips() -> None:
    for text in ("\n", "a\n\n", "a\n\n\n"):
        assert open_note(sign_note(text, [ALICE]), [ALICE.verifier]) == (text, [ALICE.name])


def test_colliding_verifiers_are_refused() -> None:
    other = Verifier(ALICE.name, ALICE.key_id, BOB.verifier.public_key)
    with pytest.raises(NoteError, match="share name"):
        open_note(sign_note(TEXT, [ALICE]), [ALICE.verifier, other])


def test_signer_repr_hides_the_key() -> None:
    assert repr(ALICE) == f"Signer(name='example.cn/alice', key_id={ALICE.key_id:08x})"
    assert Signer.generate("example.cn/new").name == "example.cn/new"


def test_vkey_whose_base64_contains_plus_round_trips() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from workforce.ledger.note import Signer, Verifier

    for _ in range(200):
        signer = Signer("registry.example.cn/workforce/bans/v1", Ed25519PrivateKey.generate())
        if "+" in signer.vkey.split("+", 2)[2]:
            break
    else:  # pragma: no cover - 200 keys without a '+' in base64 is vanishingly unlikely
        raise AssertionError("no key with '+' in its base64 form")
    assert Verifier.from_vkey(signer.vkey).vkey == signer.vkey
