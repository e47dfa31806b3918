"""TLS credentials made for one Dask cluster.

A fresh self-signed key and certificate (as distributed's ``Security.temporary()`` makes them, but
with an elliptic-curve P-256 key: generating it takes microseconds where RSA-2048 takes about
0.1 s, and every TLS handshake between the cluster's processes is cheaper too) are written, mode
0600, into a private directory (0700) of the user's Jupyter runtime directory. The scheduler, its
workers (local processes or batch jobs) and the user's kernels read them from there: only paths
travel in command lines, job scripts and REST answers, never a key. A client without them cannot
connect: the scheduler requires TLS and a certificate signed by the cluster's own key.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_core.paths import jupyter_runtime_dir, secure_write

if TYPE_CHECKING:
    from distributed import Security

PROTOCOL = "tls://"


@dataclass(frozen=True)
class ClusterCredentials:
    """The directory holding one cluster's ``cert.pem`` (also its CA) and ``key.pem``."""

    directory: Path

    @property
    def cert(self) -> Path:
        return self.directory / "cert.pem"

    @property
    def key(self) -> Path:
        return self.directory / "key.pem"

    @classmethod
    def create(cls, runtime_dir: str | Path | None = None) -> ClusterCredentials:
        """New credentials in a new directory under ``runtime_dir`` (default: Jupyter's)."""
        root = Path(runtime_dir or jupyter_runtime_dir())
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        made = cls(Path(tempfile.mkdtemp(prefix="wp5-dask-", dir=root)))
        cert, key = _self_signed()
        with secure_write(str(made.cert)) as f:
            f.write(cert)
        with secure_write(str(made.key)) as f:
            f.write(key)
        return made

    def security_kwargs(self) -> dict[str, object]:
        """``distributed.Security`` arguments for every role (JSON, for another process)."""
        cert, key = str(self.cert), str(self.key)
        kwargs: dict[str, object] = {"require_encryption": True, "tls_ca_file": cert}
        for role in ("client", "scheduler", "worker"):
            kwargs[f"tls_{role}_cert"] = cert
            kwargs[f"tls_{role}_key"] = key
        return kwargs

    def security(self) -> Security:
        """The ``distributed.Security`` that lets a client (or scheduler, or worker) in."""
        from distributed import Security

        return Security(**self.security_kwargs())

    def remove(self) -> None:
        """Delete the directory; the cluster's processes have ended."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _self_signed() -> tuple[str, str]:
    """A new P-256 key and a one-year certificate it signs itself (PEM: certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    # distributed's own temporary certificates use this name; its TLS does not check hostnames.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dask-internal")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dask-internal")]), False)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Batch nodes' clocks may be a little behind this one's.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()
