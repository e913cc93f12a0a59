"""The ``--web-config`` option of the commands that serve metrics (``exporter``, ``worker``): exporter-toolkit's web
config file (``scorecard.outputs.webconfig``), read before anything else starts so a bad file is a one-line error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scorecard.cli.console import echo
from scorecard.cli.options import env_option
from scorecard.outputs.webconfig import WebConfig, WebConfigError, load_web_config


def web_config_option(envvar: str, what: str) -> Callable[[Any], Any]:
    """``--web-config FILE`` (and its variable): TLS and basic authentication for ``what``."""
    return env_option(
        "--web-config",
        envvar,
        f"Web config file in Prometheus exporter-toolkit's format (tls_server_config, basic_auth_users with bcrypt "
        f"hashes) protecting {what}; '' serves plain HTTP to anyone.",
        metavar="FILE",
    )


def load_web_config_or_exit(path: str | None) -> WebConfig | None:
    """The loaded web config, None without one (no or an empty path); a bad file prints its one-line problem and
    exits 1."""
    if not path:
        return None
    try:
        return load_web_config(Path(path))
    except WebConfigError as error:
        echo(str(error), err=True)  # user names and paths may hold control characters: shown escaped
        sys.exit(1)
