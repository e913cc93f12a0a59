"""The shape every command shares: its exit codes, ``-h`` for help, and the command group that suggests the closest
command names for a mistyped one.

Held apart so that every other module of the command line (files, service errors, the commands) can name the exit
codes without importing options or services. Errors are one line on stderr and an exit status (1, or click's 2 for a
bad option, 3 for a service that cannot be reached), never a traceback.
"""

from __future__ import annotations

import difflib
from typing import Any, Final

import click

from scorecard.outputs.terminal import printable

# --------------------------------------------------------------------------------------------------- one CLI shape
# The shape every command shares (docs/cli.md): the definition as -s/--scorecard FILE or SCORECARD_DEFINITION, -o as
# where generated output goes, durations in Prometheus's syntax, -h for help, --check on every generator, and the exit
# codes below. New commands take the decorators and helpers of the modules beside this one (definition_option, files,
# params, options, options_kafka, options_redis) rather than declaring their own variants.

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
"""The command ran and the answer is no: an invalid definition or events (``--fail-on-invalid``), stale generated
files (``--check``), balance warnings (``validate --strict``), nothing live in Redis, a port taken."""
EXIT_USAGE: Final = 2
"""Click's status for a bad command line: unknown command or option, bad option value, missing definition."""
EXIT_UNAVAILABLE: Final = 3
"""Kafka or Redis cannot be reached or refuses: retrying later may work, changing the input will not."""
CONTEXT_SETTINGS: Final[dict[str, Any]] = {"help_option_names": ["-h", "--help"]}


class ScorecardGroup(click.Group):
    """The command group: a mistyped command gets the closest names (``valdate`` -> did you mean validate)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; `{ctx.command_path} -h` lists them"
            ctx.fail(f"no command '{printable(name)}'{hint}")
        return super().resolve_command(ctx, args)
