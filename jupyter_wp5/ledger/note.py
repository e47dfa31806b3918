"""C2SP signed notes with Ed25519 keys, and C2SP tlog-checkpoint bodies.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:
``— <key name> <base64(4-byte key hash || signature)>``. The key hash is the first four bytes of
``SHA-256(name || "\\n" || 0x01 || public key)``, 0x01 being the Ed25519 algorithm byte, and the
signature is Ed25519 over the text. Verifier keys are ``name+hash+base64(0x01 || public key)``;
signer keys use Go's ``golang.org/x/mod/sumdb/note`` form ``PRIVATE+KEY+name+hash+base64(0x01 ||
seed)``, so keys and notes interoperate with that package and its ports.

A checkpoint (C2SP tlog-checkpoint) is the note text ``origin\\nsize\\nbase64(root)\\n``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .merkle import HASH_SIZE

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "NoteError",
    "NoteSignature",
    "Signer",
    "VerifierKey",
    "key_hash",
    "load_or_create_signer",
    "parse_note",
    "parse_signature_line",
    "sign_note",
]

ALG_ED25519 = 0x01
_DASH = "\u2014"
_PRIVATE_PREFIX = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A malformed key, note or checkpoint, or a signature that does not verify."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"invalid key name {name!r}: it must be non-empty, without '+' or spaces")


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash of the signed-note specification."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A published Ed25519 verifier key ``name+hash+base64``."""

    name: str
    public_key: bytes

    @property
    def key_hash(self) -> bytes:
        """The key's 4-byte hash, which every signature by it starts with."""
        return key_hash(self.name, self.public_key)

    def __str__(self) -> str:
        return f"{self.name}+{self.key_hash.hex()}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse ``name+hash+base64`` (the hash must match the name and key)."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"a verifier key is name+hash+base64, not {text!r}")
        name, hash_hex, material = parts
        _check_name(name)
        raw = _b64decode(material, f"the key material of {name!r}")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError(f"verifier key {name!r} is not an Ed25519 key (algorithm 0x01)")
        key = cls(name, raw[1:])
        if hash_hex != key.key_hash.hex():
            raise NoteError(f"verifier key {name!r}: the key hash {hash_hex} does not match")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class Signer:
    """An Ed25519 signing key with a name (the secret seed stays inside this object)."""

    def __init__(self, name: str, seed: bytes) -> None:
        _check_name(name)
        if len(seed) != 32:
            raise NoteError("an Ed25519 seed has 32 bytes")
        self.name = name
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._key.public_key().public_bytes_raw()
        self.verifier = VerifierKey(name, public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key."""
        return cls(name, os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> Signer:
        """Parse ``PRIVATE+KEY+name+hash+base64(0x01 || seed)``."""
        text = text.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise NoteError("a signer key starts with PRIVATE+KEY+")
        parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise NoteError("a signer key is PRIVATE+KEY+name+hash+base64")
        name, hash_hex, material = parts
        raw = _b64decode(material, "the signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("the signer key is not an Ed25519 key (algorithm 0x01)")
        signer = cls(name, raw[1:])
        if hash_hex != signer.verifier.key_hash.hex():
            raise NoteError(f"signer key {name!r}: the key hash does not match")
        return signer

    def private_text(self) -> str:
        """The ``PRIVATE+KEY+...`` form (secret: store it 0600)."""
        seed = self._key.private_bytes_raw()
        material = _b64(bytes([ALG_ED25519]) + seed)
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_hash.hex()}+{material}"

    def signature_line(self, text: str) -> str:
        """The note signature line (with its newline) of this key over ``text``."""
        return NoteSignature(
            self.name, self.verifier.key_hash, self._key.sign(text.encode())
        ).line()

    def __repr__(self) -> str:
        return f"Signer({self.verifier})"


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The signer key in ``path``; on first use a new one is written there with mode 0600 (and
    its verifier key next to it, ``<path>.pub``)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = Signer.generate(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use that one
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(signer.private_text() + "\n")
    signer = Signer.parse(path.read_text())
    if signer.name != name:
        raise NoteError(f"the key in {path} is named {signer.name!r}, not {name!r}")
    path.with_name(path.name + ".pub").write_text(f"{signer.verifier}\n")
    return signer


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        """The line as it appears in the note (with its newline)."""
        return f"{_DASH} {self.name} {_b64(self.key_hash + self.signature)}\n"

    def by(self, key: VerifierKey) -> bool:
        """Whether this signature claims to be by ``key`` (same name and key hash)."""
        return self.name == key.name and self.key_hash == key.key_hash


def sign_note(text: str, *signers: Signer) -> str:
    """The signed note of ``text`` (which must end in a newline) by ``signers``."""
    _check_text(text)
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text must end in a newline and hold no blank line")


def parse_signature_line(line: str) -> NoteSignature:
    """Parse one signature line (without its newline)."""
    if not line.startswith(_DASH + " "):
        raise NoteError(f"a signature line starts with an em dash and a space: {line!r}")
    parts = line[2:].split(" ")
    if len(parts) != 2:
        raise NoteError(f"a signature line is '— name base64': {line!r}")
    name, blob = parts
    _check_name(name)
    raw = _b64decode(blob, f"the signature of {name!r}")
    if len(raw) < 5:
        raise NoteError(f"the signature of {name!r} is too short")
    return NoteSignature(name, raw[:4], raw[4:])


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text (with the final newline) and its signatures."""
    head, sep, tail = note.rpartition("\n\n")
    if not sep:
        raise NoteError("a signed note has its text, a blank line, then signature lines")
    text = head + "\n"
    _check_text(text)
    if not tail.endswith("\n"):
        raise NoteError("a signed note ends in a newline")
    signatures = [parse_signature_line(line) for line in tail[:-1].split("\n")]
    return text, signatures


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root_hash: bytes

    def text(self) -> str:
        """The note text of the checkpoint."""
        return f"{self.origin}\n{self.size}\n{_b64(self.root_hash)}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (extension lines are not used by this log)."""
        lines = text.split("\n")
        if len(lines) != 4 or lines[3] != "":
            raise NoteError("a checkpoint is three lines: origin, tree size, base64 root hash")
        origin, size_text, root_text = lines[:3]
        if not origin or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
            raise NoteError(f"malformed checkpoint origin or size: {origin!r}, {size_text!r}")
        root = _b64decode(root_text, "the checkpoint's root hash")
        if len(root) != HASH_SIZE:
            raise NoteError("the checkpoint's root hash is not a SHA-256 hash")
        return cls(origin, int(size_text), root)
