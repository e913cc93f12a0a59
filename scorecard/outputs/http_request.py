"""An HTTP request for a URL that may carry ``user:password@``: the board's pipeline metrics and the Prometheus API
(``scorecard explain --since``) both accept such URLs.

``urllib`` would take the login for part of the host (and name the password in its error), so it is sent as basic
authentication instead and left out of the URL.
"""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request

__all__ = ["authenticated_request"]


def authenticated_request(url: str) -> urllib.request.Request:
    """A GET request for ``url`` whose ``user:password@``, if any, goes as an ``Authorization: Basic`` header."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return urllib.request.Request(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()).decode()
    return urllib.request.Request(parts._replace(netloc=host).geturl(), headers={"Authorization": f"Basic {token}"})
