"""The RFC 9162 tree reproduces the reference implementations' test vectors exactly.

The vectors are those of the 8-leaf test tree used by the RFC 6962 reference implementations
(google/certificate-transparency, transparency-dev/merkle ``proof/verify_test.go``): the leaves,
the root of every tree size, and inclusion and consistency proofs. Leaf indices here are 0-based
(the Go tables count from 1).
"""

from __future__ import annotations

import hashlib

import pytest

from jupyter_wp5.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# (leaf index, tree size) -> proof
INCLUSION = {
    (0, 1): [],
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
# (old size, new size) -> proof
CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _hashes(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


@pytest.fixture(scope="module")
def tree() -> MerkleTree:
    t = MerkleTree()
    for leaf in LEAVES:
        t.append(leaf)
    return t


def _mth(entries: list[bytes]) -> bytes:
    """MTH straight from RFC 9162's recursive definition (no caching)."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return leaf_hash(entries[0])
    k = 1 << ((len(entries) - 1).bit_length() - 1)
    return node_hash(_mth(entries[:k]), _mth(entries[k:]))


def test_hashes_are_rfc9162_leaf_and_node_hashes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert (
        MerkleTree().root()
        == EMPTY_ROOT
        == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_roots_of_the_reference_tree(tree: MerkleTree, size: int) -> None:
    assert tree.root(size).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_of_the_reference_tree(tree: MerkleTree, index: int, size: int) -> None:
    proof = tree.inclusion_proof(index, size)
    assert proof == _hashes(INCLUSION[(index, size)])
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY))
def test_consistency_proofs_of_the_reference_tree(tree: MerkleTree, old: int, new: int) -> None:
    proof = tree.consistency_proof(old, new)
    assert proof == _hashes(CONSISTENCY[(old, new)])
    verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


@pytest.mark.parametrize(("index", "size"), [k for k in sorted(INCLUSION) if INCLUSION[k]])
def test_corrupted_inclusion_proofs_fail(tree: MerkleTree, index: int, size: int) -> None:
    """The corruptions of the reference implementations' verifier tests: each must fail."""
    root, leaf = bytes.fromhex(ROOTS[size]), leaf_hash(LEAVES[index])
    proof = _hashes(INCLUSION[(index, size)])
    flipped = [
        [*proof[:i], bytes([p[0] ^ 8]) + p[1:], *proof[i + 1 :]] for i, p in enumerate(proof)
    ]
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, proof, SOME_HASH),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
        (index, size, leaf, proof[:-1], root),
        (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root),
        *((index, size, leaf, p, root) for p in flipped),
    ]
    for probe in probes:
        if not 0 <= probe[0] < probe[1]:
            continue
        with pytest.raises(ProofError):
            verify_inclusion(probe[2], probe[0], probe[1], probe[3], probe[4])


@pytest.mark.parametrize(("old", "new"), [k for k in sorted(CONSISTENCY) if CONSISTENCY[k]])
def test_corrupted_consistency_proofs_fail(old: int, new: int) -> None:
    root1, root2 = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    proof = _hashes(CONSISTENCY[(old, new)])
    flipped = [
        [*proof[:i], bytes([p[0] ^ 16]) + p[1:], *proof[i + 1 :]] for i, p in enumerate(proof)
    ]
    probes = [
        (old - 1, new, root1, root2, proof),
        (old + 1, new, root1, root2, proof),
        (old ^ 2, new, root1, root2, proof),
        (old, new * 2, root1, root2, proof),
        (old, new // 2, root1, root2, proof),
        (old, new, SOME_HASH, root2, proof),
        (old, new, root1, SOME_HASH, proof),
        (old, new, root2, root1, proof),
        (old, new, root1, root2, []),
        (old, new, root1, root2, [*proof, root1]),
        (old, new, root1, root2, [*proof, root2]),
        (old, new, root1, root2, [root1, *proof]),
        (old, new, root1, root2, [root2, *proof]),
        (old, new, root1, root2, [proof[0], *proof]),
        (old, new, root1, root2, proof[:-1]),
        *((old, new, root1, root2, p) for p in flipped),
    ]
    for probe in probes:
        with pytest.raises(ProofError):
            verify_consistency(*probe)


def test_every_proof_of_a_larger_tree_checks_against_the_definition() -> None:
    """Roots against MTH computed from the definition; every inclusion and consistency proof
    of every size up to 40 verifies."""
    entries = [f"entry {i}".encode() for i in range(40)]
    t = MerkleTree()
    for e in entries:
        t.append(e)
    for n in range(41):
        root = t.root(n)
        assert root == _mth(entries[:n])
        for i in range(n):
            verify_inclusion(t.leaf(i), i, n, t.inclusion_proof(i, n), root)
        for m in range(n + 1):
            verify_consistency(m, n, t.root(m), root, t.consistency_proof(m, n))


def test_a_fork_at_the_same_size_is_reported() -> None:
    with pytest.raises(ProofError, match="fork"):
        verify_consistency(3, 3, bytes.fromhex(ROOTS[3]), SOME_HASH, [])
