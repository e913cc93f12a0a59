"""The web configuration of the metrics endpoints (``--web-config FILE``): TLS and basic authentication in the file
format of Prometheus' exporter-toolkit, so one file serves the scorecard's endpoints and any Go exporter alike.

```yaml
tls_server_config:
  cert_file: server.crt          # relative paths are read from the config file's directory, as exporter-toolkit does
  key_file: server.key
  client_ca_file: clients-ca.crt # optional: clients must show a certificate signed by it
  client_auth_type: RequireAndVerifyClientCert   # or VerifyClientCertIfGiven, NoClientCert
  min_version: TLS12             # optional, TLS10..TLS13; max_version too
basic_auth_users:
  prometheus: $2y$10$...         # bcrypt hashes: htpasswd -nBC 10 prometheus, or python -c "import bcrypt; ..."
```

Either part may be left out; an empty file serves plain HTTP without authentication, as exporter-toolkit does. The
file is read once at start (certificates too): restart to rotate them. Everything wrong in it is one
``file:line: field: problem`` line (``WebConfigError``), found at start, before any port or service is touched.

What exporter-toolkit accepts and this reader refuses, by name: ``RequestClientCert`` and ``RequireAnyClientCert``
(they take a client certificate without verifying it; Python's ``ssl`` verifies every certificate it asks for),
inline ``cert``/``key``, ``cipher_suites``, ``curve_preferences``, ``prefer_server_cipher_suites``,
``client_allowed_sans`` and ``http_server_config`` (OpenSSL's defaults apply).

Basic authentication follows exporter-toolkit: every path needs a user of ``basic_auth_users`` with its password,
checked against the bcrypt hash; a wrong or missing one gets ``401`` with a ``WWW-Authenticate`` challenge. A checked
password is remembered (as a SHA-256 of user, hash and password, never the password itself) so that a scraper every
few seconds does not cost a bcrypt computation (about 0.1 s of CPU at cost 10) each time; an unknown user costs the
same bcrypt computation as a known one, so the answer's time does not tell which users exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import bcrypt
import yaml

__all__ = ["BasicAuth", "TLSServerConfig", "WebConfig", "WebConfigError", "load_web_config"]

MAX_FILE_BYTES: Final = 1024 * 1024
"""A web config is a few lines; anything this large is the wrong file."""

CLIENT_AUTH_TYPES: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED_CLIENT_AUTH: Final = ("RequestClientCert", "RequireAnyClientCert")
TLS_VERSIONS: Final = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_TLS_FIELDS: Final = ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version", "max_version")
_TOOLKIT_ONLY: Final = {
    "cert": "give the certificate as cert_file",
    "key": "give the key as key_file",
    "cipher_suites": "OpenSSL's default suites apply",
    "curve_preferences": "OpenSSL's default curves apply",
    "prefer_server_cipher_suites": "OpenSSL's default applies",
    "client_allowed_sans": "any certificate signed by client_ca_file is accepted",
    "http_server_config": "the server speaks HTTP/1.1 without extra headers",
}
_BCRYPT_HASH: Final = re.compile(r"\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}")
_DUMMY_HASH: Final = b"$2b$10$4FIjH69Fer/NmwzxmWhFJOUFIt7LZevhh52xKMS2T4OVEPFG66ZVK"
"""Checked against for an unknown user, so that it costs what a known one costs."""
_HASH_HELP: Final = (
    "expected a bcrypt hash such as $2y$10$ followed by 53 characters (make one with `htpasswd -nBC 10 USER` or "
    "`python -c 'import bcrypt, getpass; print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt()).decode())'`)"
)
_REMEMBERED: Final = 256
"""Checked passwords remembered at once (the memory is cleared when full)."""


class WebConfigError(ValueError):
    """A web config that cannot be used: the message is one line, ``file[:line]: field: problem and fix``."""


@dataclass(frozen=True)
class TLSServerConfig:
    """``tls_server_config``: the server's certificate and key, and how clients must identify themselves."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth_type: str = "NoClientCert"
    min_version: str | None = None
    max_version: str | None = None

    def context(self) -> ssl.SSLContext:
        """A server-side context with the certificate, key and client verification loaded (files read now).

        Raises ``OSError`` or ``ssl.SSLError`` for a file that cannot be read or used; ``load_web_config`` turns those
        into ``WebConfigError`` naming the field.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if self.min_version:
            context.minimum_version = TLS_VERSIONS[self.min_version]
        if self.max_version:
            context.maximum_version = TLS_VERSIONS[self.max_version]
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file is not None:
            context.load_verify_locations(cafile=self.client_ca_file)
        context.verify_mode = CLIENT_AUTH_TYPES[self.client_auth_type]
        return context


@dataclass(frozen=True)
class BasicAuth:
    """``basic_auth_users``: user name -> bcrypt hash; ``check`` reads an ``Authorization`` header."""

    users: dict[str, bytes]
    _checked: set[bytes] = field(default_factory=set, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def check(self, authorization: str | None) -> bool:
        """Whether the header names a user of the file with its password (``Basic base64(user:password)``)."""
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return False
        user, password = credentials
        hashed = self.users.get(user)
        memo = hashlib.sha256(b"\0".join((user.encode(), hashed or b"", password.encode()))).digest()
        if hashed is not None and memo in self._checked:
            return True
        try:
            matches = bcrypt.checkpw(password.encode(), hashed or _DUMMY_HASH)
        except ValueError:  # a password over bcrypt's 72 bytes can match no hash
            return False
        if not (matches and hashed is not None):
            return False
        with self._lock:
            if len(self._checked) >= _REMEMBERED:
                self._checked.clear()
            self._checked.add(memo)
        return True


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


@dataclass(frozen=True)
class WebConfig:
    """A loaded web config: what the metrics server needs (``ssl_context`` ready, or None for plain HTTP)."""

    path: Path
    tls: TLSServerConfig | None = None
    auth: BasicAuth | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        """A short summary for a start-up line: ``TLS, client certificates required, basic auth (2 users)``."""
        parts = []
        if self.tls is not None:
            parts.append("TLS")
            if self.tls.client_auth_type != "NoClientCert":
                required = self.tls.client_auth_type == "RequireAndVerifyClientCert"
                parts.append(f"client certificates {'required' if required else 'verified if given'}")
        if self.auth is not None:
            parts.append(f"basic auth ({len(self.auth.users)} user{'s' if len(self.auth.users) != 1 else ''})")
        return ", ".join(parts) or "plain HTTP, no authentication"


# ------------------------------------------------------------------------------------------------------ loading
def load_web_config(path: Path) -> WebConfig:
    """Read and check ``path``, load its certificates; ``WebConfigError`` (one line) for anything wrong."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise WebConfigError(f"{path}: cannot read the web config: {error.strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise WebConfigError(f"{path}: larger than {MAX_FILE_BYTES} bytes; is this the web config?")
    try:
        root = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise WebConfigError(f"{path}: not UTF-8 text; expected a YAML web config") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise WebConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    return _Reader(path).read(root)


class _Reader:
    """Walks the composed YAML nodes, so every problem names its line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node | None, where: str, problem: str) -> WebConfigError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return WebConfigError(f"{self.path}{line}: {where}: {problem}")

    def mapping(self, node: yaml.Node, where: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping node's entries by key text (key node, value node); null counts as empty."""
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "expected a mapping of keys to values")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, where, "keys must be plain names")
            if key.value in entries:
                raise self.fail(key, f"{where}.{key.value}" if where else key.value, "given twice")
            entries[key.value] = (key, value)
        return entries

    def text(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null" or node.value == "":
            raise self.fail(node, where, "expected a text value")
        return str(node.value)

    def read(self, root: yaml.Node | None) -> WebConfig:
        if root is None:
            return WebConfig(self.path)
        top = self.mapping(root, "top level")
        for name, (key, _value) in top.items():
            if name in _TOOLKIT_ONLY:
                raise self.fail(key, name, f"not supported by scorecard ({_TOOLKIT_ONLY[name]}); remove it")
            if name not in ("tls_server_config", "basic_auth_users"):
                raise self.fail(key, name, "unknown key; expected tls_server_config or basic_auth_users")
        tls = self.tls(top["tls_server_config"][1]) if "tls_server_config" in top else None
        auth = self.users(top["basic_auth_users"][1]) if "basic_auth_users" in top else None
        context = self.context(tls, top["tls_server_config"][1]) if tls is not None else None
        return WebConfig(self.path, tls, auth, context)

    def tls(self, node: yaml.Node) -> TLSServerConfig | None:
        section = "tls_server_config"
        entries = self.mapping(node, section)
        if not entries:
            return None
        values: dict[str, str] = {}
        for name, (key, value) in entries.items():
            where = f"{section}.{name}"
            if name in _TOOLKIT_ONLY:
                raise self.fail(key, where, f"not supported by scorecard ({_TOOLKIT_ONLY[name]}); remove it")
            if name not in _TLS_FIELDS:
                raise self.fail(key, where, f"unknown key; expected one of {', '.join(_TLS_FIELDS)}")
            values[name] = self.text(value, where)
        for required in ("cert_file", "key_file"):
            if required not in values:
                raise self.fail(node, f"{section}.{required}", "missing; TLS needs the server's certificate and key")
        for name in ("min_version", "max_version"):
            if name in values and values[name] not in TLS_VERSIONS:
                raise self.fail(
                    entries[name][1],
                    f"{section}.{name}",
                    f"expected one of {', '.join(TLS_VERSIONS)}, got {values[name]!r}",
                )
        auth_type = values.get("client_auth_type")
        if auth_type is None:  # exporter-toolkit's default: verify clients when a client CA is given
            auth_type = "RequireAndVerifyClientCert" if "client_ca_file" in values else "NoClientCert"
        elif auth_type in _UNVERIFIED_CLIENT_AUTH:
            raise self.fail(
                entries["client_auth_type"][1],
                f"{section}.client_auth_type",
                f"{auth_type} (a client certificate taken without verifying it) is not supported; use "
                "VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file",
            )
        elif auth_type not in CLIENT_AUTH_TYPES:
            raise self.fail(
                entries["client_auth_type"][1],
                f"{section}.client_auth_type",
                f"expected one of {', '.join(CLIENT_AUTH_TYPES)}, got {auth_type!r}",
            )
        if auth_type != "NoClientCert" and "client_ca_file" not in values:
            raise self.fail(
                entries["client_auth_type"][1],
                f"{section}.client_auth_type",
                f"{auth_type} needs client_ca_file, the CA that signs the clients' certificates",
            )
        directory = self.path.parent
        ca = values.get("client_ca_file")
        return TLSServerConfig(
            cert_file=directory / values["cert_file"],
            key_file=directory / values["key_file"],
            client_ca_file=directory / ca if ca is not None else None,
            client_auth_type=auth_type,
            min_version=values.get("min_version"),
            max_version=values.get("max_version"),
        )

    def context(self, tls: TLSServerConfig, node: yaml.Node) -> ssl.SSLContext:
        """Load the files now, so a missing or mismatched one names its field at start."""
        entries = self.mapping(node, "tls_server_config")
        for name in ("cert_file", "key_file", "client_ca_file"):
            file = getattr(tls, name)
            if file is not None and not file.is_file():
                raise self.fail(entries[name][1], f"tls_server_config.{name}", f"no such file: {file}")
        if tls.min_version and tls.max_version and TLS_VERSIONS[tls.min_version] > TLS_VERSIONS[tls.max_version]:
            raise self.fail(entries["max_version"][1], "tls_server_config.max_version", "lower than min_version")
        try:
            chain = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            chain.load_cert_chain(tls.cert_file, tls.key_file)
        except (ssl.SSLError, OSError) as error:
            raise self.fail(
                entries["key_file"][1],
                "tls_server_config.cert_file/key_file",
                f"cannot use the certificate and key ({_ssl_reason(error)}): both must be PEM, the key unencrypted "
                "and belonging to the certificate",
            ) from None
        try:
            return tls.context()
        except (ssl.SSLError, OSError) as error:
            where = "client_ca_file" if tls.client_ca_file is not None else "cert_file"
            raise self.fail(
                entries[where][1], f"tls_server_config.{where}", f"cannot use it ({_ssl_reason(error)}); expected PEM"
            ) from None

    def users(self, node: yaml.Node) -> BasicAuth | None:
        section = "basic_auth_users"
        entries = self.mapping(node, section)
        if not entries:
            return None
        users: dict[str, bytes] = {}
        for name, (key, value) in entries.items():
            where = f"{section}.{name}"
            if ":" in name:
                raise self.fail(key, where, "a user name cannot hold ':' (basic authentication splits there)")
            hashed = self.text(value, where)
            if not _BCRYPT_HASH.fullmatch(hashed):
                raise self.fail(value, where, f"not a bcrypt hash; {_HASH_HELP}")
            users[name] = hashed.encode()
        return BasicAuth(users)


def _ssl_reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).splitlines()[0] if str(error) else type(error).__name__
