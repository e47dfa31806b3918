"""The RFC 9162 (formerly RFC 6962) Merkle tree over SHA-256: hashes, proofs and their checks.

Leaf hash ``SHA-256(0x00 || entry)``, node hash ``SHA-256(0x01 || left || right)``. Proof
generation follows the ``PATH`` and ``SUBPROOF`` definitions of RFC 9162 section 2.1.3.1 and
2.1.4.1; verification follows the numbered steps of sections 2.1.3.2 and 2.1.4.2.

:class:`MerkleTree` keeps every complete (power-of-two, aligned) subtree hash, so appending is
amortised O(1) and a proof costs O(log^2 n) hashes at worst, whatever the tree's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "ProofError",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """An inclusion or consistency proof does not verify (the message says which step failed)."""


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only Merkle tree of leaf hashes, with roots and proofs for any earlier size.

    ``levels[k][i]`` is the hash of the complete subtree over leaves ``[i * 2**k, (i+1) * 2**k)``.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_hash(h)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append(self, entry: bytes) -> int:
        """Append an entry; return its leaf index."""
        return self.append_hash(leaf_hash(entry))

    def append_hash(self, hashed: bytes) -> int:
        """Append a leaf hash; return its leaf index."""
        if len(hashed) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(hashed)}")
        index = self.size
        self._levels[0].append(hashed)
        level, position = 0, index
        # Each time the new node is a right child, its parent subtree is complete.
        while position % 2 == 1:
            parent = node_hash(self._levels[level][position - 1], self._levels[level][position])
            level, position = level + 1, position // 2
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(parent)
        return index

    def leaf(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """``MTH(D[0:size])`` (default: the whole tree)."""
        size = self.size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._mth(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """``PATH(index, D[0:size])`` of RFC 9162 section 2.1.3.1."""
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise IndexError(f"leaf {index} is not in a tree of size {size}")
        return self._path(index, 0, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """``PROOF(old_size, D[0:new_size])`` of RFC 9162 section 2.1.4.1 (empty when the old
        tree is empty or the sizes are equal)."""
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise IndexError(f"no consistency proof from size {old_size} to {new_size}")
        if old_size in (0, new_size):
            return []
        return self._subproof(old_size, 0, new_size, True)

    # -- RFC 9162 definitions, over the range [start, end) of the leaves --------------------

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise IndexError(f"the tree has {self.size} leaves, not {size}")

    def _mth(self, start: int, end: int) -> bytes:
        n = end - start
        level = n.bit_length() - 1
        if n == 1 << level and start % n == 0:
            return self._levels[level][start >> level]
        k = _split(n)
        return node_hash(self._mth(start, start + k), self._mth(start + k, end))

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self._mth(start + k, end)]
        return [*self._path(m - k, start + k, end), self._mth(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._mth(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self._mth(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._mth(start, start + k)]


def _check_hashes(proof: Sequence[bytes], *named: tuple[str, bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"proof element {i} has {len(h)} bytes, not {HASH_SIZE}")
    for what, h in named:
        if len(h) != HASH_SIZE:
            raise ProofError(f"the {what} has {len(h)} bytes, not {HASH_SIZE}")


def _step(fn: int, sn: int) -> tuple[bool, int, int]:
    """One step of RFC 9162's proof verifications (2.1.3.2 and 2.1.4.2): whether the proof's
    next hash goes on the left, and the next ``(fn, sn)``."""
    left = bool(fn & 1) or fn == sn
    if left and not fn & 1:
        while not fn & 1 and fn != 0:
            fn >>= 1
            sn >>= 1
    return left, fn >> 1, sn >> 1


def root_from_inclusion_proof(
    hashed_leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` leads to from leaf ``index`` (RFC 9162 2.1.3.2, steps 1 to 4)."""
    _check_hashes(proof, ("leaf hash", hashed_leaf))
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, hashed_leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        left, fn, sn = _step(fn, sn)
        r = node_hash(p, r) if left else node_hash(r, p)
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    hashed_leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf ``index`` with hash ``hashed_leaf`` is in the tree of ``size`` with
    ``root``; raise :class:`ProofError` if not (RFC 9162 section 2.1.3.2)."""
    _check_hashes((), ("root", root))
    if root_from_inclusion_proof(hashed_leaf, index, size, proof) != root:
        raise ProofError(
            f"the inclusion proof of leaf {index} does not lead to the root of the tree of "
            f"size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``);
    raise :class:`ProofError` if not (RFC 9162 section 2.1.4.2, with the trivial cases of an
    empty old tree and of equal sizes, whose proof is empty)."""
    _check_hashes(proof, ("old root", old_root), ("new root", new_root))
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of size {new_size} cannot extend one of size {old_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same tree size {old_size}: a fork")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    # Step 2: a power-of-two old tree is itself a node of the new tree.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the new tree is deep")
        left, fn, sn = _step(fn, sn)
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the new tree is deep")
    if fr != old_root:
        raise ProofError(
            f"the consistency proof does not lead to the old root: the tree of size "
            f"{new_size} does not extend the one of size {old_size}"
        )
    if sr != new_root:
        raise ProofError(
            f"the consistency proof does not lead to the new root of the tree of size {new_size}"
        )
