"""Signed notes and checkpoints: the format of golang.org/x/mod/sumdb/note and C2SP.

The PeterNeumann key and signed note are the published example of Go's ``sumdb/note`` package
(and of the C2SP signed-note specification's implementations): Ed25519 is deterministic, so our
signer must reproduce that note byte for byte, and our verifier must accept it.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from jupyter_wp5.ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    VerifierKey,
    load_or_create_signer,
    parse_note,
    sign_note,
)

GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_go_reference_note_is_reproduced_byte_for_byte() -> None:
    signer = Signer.parse(GO_SIGNER)
    assert str(signer.verifier) == GO_VERIFIER
    assert signer.private_text() == GO_SIGNER
    assert sign_note(GO_TEXT, signer) == GO_NOTE


def test_the_go_reference_note_verifies_and_an_altered_one_does_not() -> None:
    key = VerifierKey.parse(GO_VERIFIER)
    text, (sig,) = parse_note(GO_NOTE)
    assert text == GO_TEXT
    assert sig.by(key)
    assert key.verify(text.encode(), sig.signature)
    assert not key.verify(text.replace("problem", "Problem").encode(), sig.signature)


def test_key_hash_is_the_specified_one() -> None:
    key = VerifierKey.parse(GO_VERIFIER)
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + key.public_key).digest()[:4]
    assert key.key_hash == expected == bytes.fromhex("c74f20a3")
    assert base64.b64decode(GO_VERIFIER.split("+", 2)[2])[0] == 0x01


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "Ed25519"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key name"),
        ("PeterNeumann", "name+hash+base64"),
    ],
)
def test_malformed_verifier_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=re.escape(message)):
        VerifierKey.parse(text)


def test_checkpoint_text_is_the_c2sp_format() -> None:
    root = bytes(range(32))
    cp = Checkpoint("example.com/log", 12, root)
    assert cp.text() == f"example.com/log\n12\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.parse(cp.text()) == cp
    for bad in ("example.com/log\n012\nAAAA\n", "example.com/log\n12\n", "x\n-1\nAA==\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(bad)


def test_notes_with_several_signatures_parse_in_order() -> None:
    a, b = Signer.generate("a.example/log"), Signer.generate("b.example/witness")
    note = sign_note("hello\n", a, b)
    text, sigs = parse_note(note)
    assert text == "hello\n"
    assert [s.name for s in sigs] == ["a.example/log", "b.example/witness"]
    assert sigs[0].by(a.verifier) and not sigs[0].by(b.verifier)
    with pytest.raises(NoteError):
        sign_note("no final newline", a)


def test_signer_keys_are_made_once_with_mode_0600(tmp_path) -> None:
    path = tmp_path / "keys" / "log.key"
    first = load_or_create_signer(path, "example.com/log")
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_signer(path, "example.com/log").verifier == first.verifier
    assert (tmp_path / "keys" / "log.key.pub").read_text() == f"{first.verifier}\n"
    with pytest.raises(NoteError, match="named"):
        load_or_create_signer(path, "other.example/log")
