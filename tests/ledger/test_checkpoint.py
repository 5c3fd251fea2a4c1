"""C2SP tlog-checkpoints: real round trips, strict parsing, signing with rotated keys."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from workforce.ledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    open_checkpoint,
    sign_checkpoint,
)
from workforce.ledger.errors import CheckpointError, NoteError
from workforce.ledger.merkle import empty_root, leaf_hash
from workforce.ledger.note import Signer, sign_note

ORIGIN = "registry.example.cn/workforce/bans/v1"
ROOT = leaf_hash(b"root")
OLD = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
NEW = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))

# The example of the C2SP tlog-checkpoint specification.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

CHECKPOINTS = [
    Checkpoint(ORIGIN, 0, empty_root()),
    Checkpoint(ORIGIN, 1, leaf_hash(b"")),
    Checkpoint(ORIGIN, 10**6, ROOT),
    Checkpoint("a", 2**32, b"\xff" * 32),
    Checkpoint("登记/禁入", MAX_TREE_SIZE, b"\x00" * 32),
]


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=lambda cp: f"{cp.size}")
def test_parse_render_round_trip(checkpoint: Checkpoint) -> None:
    text = checkpoint.render()
    assert text.count("\n") == 3
    assert text.endswith("\n")
    parsed = Checkpoint.parse(text)
    assert parsed == checkpoint
    assert (parsed.origin, parsed.size, parsed.root_hash) == (
        checkpoint.origin,
        checkpoint.size,
        checkpoint.root_hash,
    )
    assert parsed.render() == text


def test_render_layout() -> None:
    assert Checkpoint(ORIGIN, 7, ROOT).render() == (
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\n"
    )


def test_spec_example_round_trips() -> None:
    checkpoint = Checkpoint.parse(SPEC_TEXT)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.render() == SPEC_TEXT


@given(
    origin=st.text(
        alphabet=st.characters(
            exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="+\x85"
        ),
        min_size=1,
    ).filter(lambda text: not any(char.isspace() for char in text)),
    size=st.integers(min_value=0, max_value=MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
)
def test_any_checkpoint_round_trips(origin: str, size: int, root: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root)
    assert Checkpoint.parse(checkpoint.render()) == checkpoint


GOOD_ROOT = base64.b64encode(ROOT).decode()
BAD_TEXTS = {
    "no final newline": (f"{ORIGIN}\n1\n{GOOD_ROOT}", "end with a newline"),
    "two lines": (f"{ORIGIN}\n1\n", "2 lines"),
    "extension line": (f"{ORIGIN}\n1\n{GOOD_ROOT}\next\n", "4 lines"),
    "blank line": (f"{ORIGIN}\n1\n{GOOD_ROOT}\n\n", "4 lines"),
    "crlf": (f"{ORIGIN}\r\n1\r\n{GOOD_ROOT}\r\n", "control"),
    "empty origin": (f"\n1\n{GOOD_ROOT}\n", "origin is empty"),
    "origin with space": (f"a b\n1\n{GOOD_ROOT}\n", "space"),
    "origin with plus": (f"a+b\n1\n{GOOD_ROOT}\n", "'\\+'"),
    "origin with ideographic space": (f"a\u3000b\n1\n{GOOD_ROOT}\n", "space"),
    "leading zero": (f"{ORIGIN}\n01\n{GOOD_ROOT}\n", "leading zeros"),
    "double zero": (f"{ORIGIN}\n00\n{GOOD_ROOT}\n", "leading zeros"),
    "plus sign": (f"{ORIGIN}\n+1\n{GOOD_ROOT}\n", "leading zeros"),
    "minus sign": (f"{ORIGIN}\n-1\n{GOOD_ROOT}\n", "leading zeros"),
    "space in size": (f"{ORIGIN}\n 1\n{GOOD_ROOT}\n", "leading zeros"),
    "underscore in size": (f"{ORIGIN}\n1_000\n{GOOD_ROOT}\n", "leading zeros"),
    "arabic-indic digit": (f"{ORIGIN}\n\u0661\n{GOOD_ROOT}\n", "leading zeros"),
    "empty size": (f"{ORIGIN}\n\n{GOOD_ROOT}\n", "leading zeros"),
    "size over uint64": (f"{ORIGIN}\n{MAX_TREE_SIZE + 1}\n{GOOD_ROOT}\n", "outside"),
    "size of 21 digits": (f"{ORIGIN}\n{10**20}\n{GOOD_ROOT}\n", "leading zeros"),
    "root too short": (f"{ORIGIN}\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes"),
    "root too long": (f"{ORIGIN}\n1\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes"),
    "root unpadded": (f"{ORIGIN}\n1\n{GOOD_ROOT.rstrip('=')}\n", "not valid base64"),
    "root urlsafe": (f"{ORIGIN}\n1\n{'_' * 43}=\n", "not valid base64"),
    "root not canonical": (f"{ORIGIN}\n1\n{'A' * 42}B=\n", "not canonical"),
    "root with space": (f"{ORIGIN}\n1\n {GOOD_ROOT}\n", "not valid base64"),
    "empty root": (f"{ORIGIN}\n1\n\n", "0 bytes"),
}


@pytest.mark.parametrize(("text", "match"), BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_strict_parsing_rejects(text: str, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        ("", 1, ROOT),
        ("a b", 1, ROOT),
        ("a+b", 1, ROOT),
        ("a\nb", 1, ROOT),
        (ORIGIN, -1, ROOT),
        (ORIGIN, MAX_TREE_SIZE + 1, ROOT),
        (ORIGIN, True, ROOT),
        (ORIGIN, 1, ROOT[:31]),
        (ORIGIN, 1, ROOT.hex()),
    ],
)
def test_constructor_rejects(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root)


def test_sign_and_open_with_rotated_keys() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(checkpoint, [OLD, NEW])
    assert note.startswith(checkpoint.render() + "\n")
    assert open_checkpoint(note, [OLD.verifier]) == checkpoint
    assert open_checkpoint(note, [NEW.verifier], origin=ORIGIN) == checkpoint
    assert open_checkpoint(sign_checkpoint(checkpoint, [NEW]), [OLD.verifier, NEW.verifier]) == (
        checkpoint
    )


def test_open_rejects_wrong_key_origin_and_body() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT)
    stranger = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
    with pytest.raises(NoteError, match="no signature from a known key"):
        open_checkpoint(sign_checkpoint(checkpoint, [stranger]), [OLD.verifier])
    with pytest.raises(CheckpointError, match="not the expected"):
        open_checkpoint(sign_checkpoint(checkpoint, [OLD]), [OLD.verifier], origin="other/log")
    with pytest.raises(CheckpointError, match="lines"):
        open_checkpoint(sign_note("just a note\n", [OLD]), [OLD.verifier])


def test_tampered_checkpoint_fails() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), [OLD])
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(note.replace("\n42\n", "\n43\n"), [OLD.verifier])
