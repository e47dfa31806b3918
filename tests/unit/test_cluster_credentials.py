"""A cluster's own TLS credentials: a P-256 key (cheap to make) and the certificate it signs
itself, in files only the user can read, which a Dask scheduler and client accept."""

from __future__ import annotations

import asyncio
import stat

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jupyter_wp5.compute.credentials import ClusterCredentials


def test_credentials_are_a_private_p256_key_and_its_own_certificate(tmp_path):
    made = ClusterCredentials.create(tmp_path / "runtime")
    try:
        assert stat.S_IMODE(made.directory.stat().st_mode) == 0o700
        for path in (made.cert, made.key):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = serialization.load_pem_private_key(made.key.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
        assert cert.issuer == cert.subject
        assert cert.public_key() == key.public_key()
        cert.verify_directly_issued_by(cert)
        other = ClusterCredentials.create(tmp_path / "runtime")
        assert other.key.read_bytes() != made.key.read_bytes()  # one key per cluster
    finally:
        made.remove()
    assert not made.directory.exists()


def test_a_scheduler_with_them_lets_in_only_their_holders(tmp_path):
    from distributed import Client, Scheduler

    made = ClusterCredentials.create(tmp_path)
    stranger = ClusterCredentials.create(tmp_path / "other")

    async def scenario() -> None:
        async with Scheduler(
            host="127.0.0.1", protocol="tls://", security=made.security(), dashboard_address=None
        ) as scheduler:
            async with Client(
                scheduler.address, security=made.security(), asynchronous=True
            ) as client:
                assert (await client.scheduler.identity())["address"] == scheduler.address
            try:
                await Client(
                    scheduler.address, security=stranger.security(), asynchronous=True, timeout=3
                )
            except (OSError, TimeoutError):
                return
            raise AssertionError("a client with another cluster's credentials got in")

    asyncio.run(scenario())
