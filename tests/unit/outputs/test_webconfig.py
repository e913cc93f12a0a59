"""Reading exporter-toolkit web configs (``scorecard.outputs.webconfig``): what a good file gives, the one-line
problem of each bad one (file, line, field, fix), and the basic authentication check."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import bcrypt
import pytest

from scorecard.outputs import webconfig
from scorecard.outputs.webconfig import BasicAuth, WebConfigError, load_web_config
from tests.certs import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()  # cost 4: quick, same format


def _header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(directory: Path, text: str) -> Path:
    path = directory / "web.yml"
    path.write_text(text)
    return path


def test_an_empty_file_serves_plain_http(tmp_path: Path) -> None:
    config = load_web_config(_write(tmp_path, "# nothing\n"))
    assert config.tls is None and config.auth is None and config.ssl_context is None
    assert config.describe() == "plain HTTP, no authentication"


def test_a_full_config_with_paths_relative_to_the_file(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "tls").mkdir()
    for source in (pki.server_cert, pki.server_key, pki.ca):
        (tmp_path / "tls" / source.name).write_bytes(source.read_bytes())
    path = _write(
        tmp_path,
        f"tls_server_config:\n  cert_file: tls/{pki.server_cert.name}\n  key_file: tls/{pki.server_key.name}\n"
        f"  client_ca_file: tls/{pki.ca.name}\n  min_version: TLS12\n"
        f"basic_auth_users:\n  prometheus: '{_hash('s3cret')}'\n  grafana: {_hash('other')}\n",
    )
    config = load_web_config(path)
    assert config.tls is not None and config.tls.cert_file == tmp_path / "tls" / pki.server_cert.name
    # exporter-toolkit's default: a client CA without client_auth_type requires and verifies client certificates
    assert config.tls.client_auth_type == "RequireAndVerifyClientCert"
    assert config.ssl_context is not None and config.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert config.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert config.auth is not None and set(config.auth.users) == {"prometheus", "grafana"}
    assert config.describe() == "TLS, client certificates required, basic auth (2 users)"


def test_tls_without_client_certificates(tmp_path: Path, pki: Pki) -> None:
    path = _write(tmp_path, f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n")
    config = load_web_config(path)
    assert config.ssl_context is not None and config.ssl_context.verify_mode == ssl.CERT_NONE
    assert config.auth is None and config.describe() == "TLS"


BAD = [
    ("nope: 1\n", ":1: nope: unknown key; expected tls_server_config or basic_auth_users"),
    ("http_server_config:\n  http2: true\n", ":1: http_server_config: not supported by scorecard"),
    ("- a\n- b\n", ":1: top level: expected a mapping"),
    ("basic_auth_users: [a]\n", ":1: basic_auth_users: expected a mapping"),
    ("basic_auth_users:\n  alice: plain-password\n", ":2: basic_auth_users.alice: not a bcrypt hash; expected"),
    ("basic_auth_users:\n  alice:\n    nested: 1\n", ":3: basic_auth_users.alice: expected a text value"),
    ("basic_auth_users:\n  alice:\n", ":2: basic_auth_users.alice: expected a text value"),
    ("basic_auth_users:\n  'a:b': HASH\n", ":2: basic_auth_users.a:b: a user name cannot hold ':'"),
    ("basic_auth_users:\n  alice: HASH\n  alice: HASH\n", ":3: basic_auth_users.alice: given twice"),
    ("tls_server_config:\n  cert_file: CERT\n", ":2: tls_server_config.key_file: missing"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  cipher_suites: [x]\n",
     ":4: tls_server_config.cipher_suites: not supported by scorecard"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  colour: blue\n",
     ":4: tls_server_config.colour: unknown key; expected one of cert_file"),
    ("tls_server_config:\n  cert_file: missing.crt\n  key_file: KEY\n",
     ":2: tls_server_config.cert_file: no such file"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: CLIENT_KEY\n",
     ":3: tls_server_config.cert_file/key_file: cannot use the certificate and key"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: CERT\n",
     ":3: tls_server_config.cert_file/key_file: cannot use the certificate and key"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  client_ca_file: KEY\n",
     ":4: tls_server_config.client_ca_file: cannot use it"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  client_auth_type: RequireAndVerifyClientCert\n",
     ":4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  client_auth_type: RequestClientCert\n",
     ":4: tls_server_config.client_auth_type: RequestClientCert (a client certificate taken without verifying it)"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  client_auth_type: Always\n",
     ":4: tls_server_config.client_auth_type: expected one of NoClientCert"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  min_version: TLS9\n",
     ":4: tls_server_config.min_version: expected one of TLS10, TLS11, TLS12, TLS13, got 'TLS9'"),
    ("tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  min_version: TLS13\n  max_version: TLS12\n",
     ":5: tls_server_config.max_version: lower than min_version"),
    ("tls_server_config:\n  cert_file: [CERT]\n  key_file: KEY\n", ":2: tls_server_config.cert_file: expected a text"),
    ("basic_auth_users:\n  alice: 'unterminated\n", ":3: not valid YAML: found unexpected end of stream"),
    ("a: [1\n", ":2: not valid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[expected for _text, expected in BAD])
def test_each_bad_config_is_one_line_naming_file_line_and_field(
    tmp_path: Path, pki: Pki, text: str, expected: str
) -> None:
    text = (
        text.replace("CLIENT_KEY", str(pki.client_key))
        .replace("CERT", str(pki.server_cert))
        .replace("KEY", str(pki.server_key))
        .replace("HASH", _hash("x"))
    )
    path = _write(tmp_path, text)
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}{expected}"), message


def test_unreadable_and_wrong_files(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match=r"web\.yml: cannot read the web config: No such file"):
        load_web_config(tmp_path / "web.yml")
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(WebConfigError, match=r"binary\.yml: not UTF-8 text"):
        load_web_config(binary)
    huge = tmp_path / "huge.yml"
    huge.write_bytes(b"#" * (webconfig.MAX_FILE_BYTES + 1))
    with pytest.raises(WebConfigError, match=r"huge\.yml: larger than 1048576 bytes"):
        load_web_config(huge)


# ------------------------------------------------------------------------------------------------ basic auth
@pytest.fixture
def auth() -> BasicAuth:
    return BasicAuth({"prometheus": _hash("s3cret").encode(), "ünïcode": _hash("pässwörd ✓").encode()})


def test_basic_auth_accepts_the_right_password_only(auth: BasicAuth) -> None:
    assert auth.check(_header("prometheus", "s3cret"))
    assert auth.check("basic " + _header("prometheus", "s3cret").split()[1])  # the scheme in any case
    assert auth.check(_header("ünïcode", "pässwörd ✓"))
    assert not auth.check(_header("prometheus", "S3cret"))
    assert not auth.check(_header("prometheus", "s3cret "))
    assert not auth.check(_header("prometheus", ""))
    assert not auth.check(_header("nobody", "s3cret"))
    assert not auth.check(_header("prometheus", "s3cret" * 20))  # over bcrypt's 72 bytes: matches nothing
    assert not auth.check(None)
    assert not auth.check("")
    assert not auth.check("Bearer abc")
    assert not auth.check("Basic !!!not-base64")
    assert not auth.check("Basic " + base64.b64encode(b"no colon").decode())
    assert not auth.check("Basic " + base64.b64encode(b"\xff\xfe:\x00").decode())


def test_a_checked_password_is_remembered_and_a_wrong_one_never(
    auth: BasicAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(webconfig.bcrypt, "checkpw", counting)
    for _ in range(3):
        assert auth.check(_header("prometheus", "s3cret"))
        assert not auth.check(_header("prometheus", "wrong"))
        assert not auth.check(_header("nobody", "s3cret"))  # an unknown user costs a bcrypt check too
    assert calls.count(b"s3cret") == 1 + 3  # once for prometheus, then remembered; every time for nobody
    assert calls.count(b"wrong") == 3
