"""Certificates for TLS tests, made with the ``openssl`` command: a CA, a server certificate for 127.0.0.1 and
localhost, a client certificate signed by the same CA, and a second CA with a client certificate nobody trusts."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files ``make_pki`` wrote."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    untrusted_client_cert: Path
    untrusted_client_key: Path


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def _ca(directory: Path, name: str) -> Path:
    _openssl("req", "-x509", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "3650",
             "-subj", f"/CN={name}", cwd=directory)  # fmt: skip
    return directory / f"{name}.crt"


def _signed(directory: Path, name: str, ca: str, extensions: str) -> tuple[Path, Path]:
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-days", "3650", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=directory)  # fmt: skip
    return directory / f"{name}.crt", directory / f"{name}.key"


def make_pki(directory: Path) -> Pki:
    """Write every file into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(directory, "test-ca")
    other_ca = _ca(directory, "other-ca")
    leaf = "basicConstraints=CA:FALSE\n"
    server = leaf + "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    server_cert, server_key = _signed(directory, "server", "test-ca", server)
    client_cert, client_key = _signed(directory, "client", "test-ca", leaf + "extendedKeyUsage=clientAuth\n")
    untrusted_cert, untrusted_key = _signed(directory, "stranger", "other-ca", leaf + "extendedKeyUsage=clientAuth\n")
    return Pki(ca, server_cert, server_key, client_cert, client_key, other_ca, untrusted_cert, untrusted_key)
