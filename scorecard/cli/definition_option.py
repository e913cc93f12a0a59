"""The definition option: ``-s/--scorecard FILE`` or ``$SCORECARD_DEFINITION`` (``definition_option``,
``definition_flag``, ``scorecard_option``), the older positional FILE (``resolve_definition``), and loading the
definition or exiting with the reason (``load_or_exit``).

Every command that reads a definition takes it the same way (docs/cli.md). Not to be confused with ``define``, the
command module of ``validate``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import click

from scorecard.cli.console import echo
from scorecard.core.definition import DefinitionError, Scorecard, load_scorecard

DEFINITION_ENV: Final = "SCORECARD_DEFINITION"

_DEFINITION_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)
_F = TypeVar("_F", bound=Callable[..., Any])


def definition_option(positional: bool = False) -> Callable[[_F], _F]:
    """``-s/--scorecard FILE`` (or ``$SCORECARD_DEFINITION``), passed to the command as ``scorecard_path``.

    ``positional`` also accepts the definition as the first argument (``scorecard validate FILE``, the older form of
    the definition commands). A definition given twice, differently, is a usage error; none at all is one too.
    """

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def command(*args: Any, **kwargs: Any) -> Any:
            given = kwargs.pop("definition_argument", None)
            kwargs["scorecard_path"] = resolve_definition(kwargs.pop("scorecard_path"), given)
            return function(*args, **kwargs)

        wrapped: Any = command
        if positional:
            wrapped = click.argument("definition_argument", metavar="[FILE]", required=False, type=_DEFINITION_PATH)(
                wrapped
            )
        return cast(_F, definition_flag(positional)(wrapped))

    return decorate


def definition_flag(positional: bool = False) -> Callable[[_F], _F]:
    """The bare ``-s/--scorecard`` option (``scorecard_path``, None when not given) of ``definition_option``, for a
    command that resolves it with ``resolve_definition`` itself (``replay``, whose FILE precedes EVENTS)."""
    more = " May be given as the first argument instead." if positional else ""
    return click.option(
        "-s",
        "--scorecard",
        "scorecard_path",
        envvar=DEFINITION_ENV,
        show_envvar=True,
        type=_DEFINITION_PATH,
        metavar="FILE",
        help=f"Scorecard definition (YAML).{more}",
    )


def resolve_definition(option: Path | None, argument: Path | None) -> Path:
    """The definition from ``-s``/``$SCORECARD_DEFINITION`` or the positional FILE; a usage error when neither or two
    different ones are given on the command line (a positional FILE wins over the variable)."""
    ctx = click.get_current_context()
    from_command_line = ctx.get_parameter_source("scorecard_path") is click.core.ParameterSource.COMMANDLINE
    if argument is not None:
        if option is not None and from_command_line and option.resolve() != argument.resolve():
            raise click.UsageError(f"two definitions given ({option} with -s, {argument} as FILE); give one")
        return argument
    if option is None:
        raise click.UsageError(f"no scorecard definition: give -s FILE (or set {DEFINITION_ENV})")
    return option


def scorecard_option(function: Any) -> Any:
    """``-s/--scorecard FILE`` or ``$SCORECARD_DEFINITION`` (``definition_option``), as ``scorecard_path``."""
    return definition_option()(function)


def load_or_exit(path: Path) -> Scorecard:
    """Load a definition for a command that needs a valid one; problems go to stderr with a pointer to validate."""
    try:
        return load_scorecard(path)
    except DefinitionError as err:
        for problem in err.problems:
            echo(problem.format(str(path)), err=True)
        click.echo(f"{path} is not a valid scorecard; see `scorecard validate {path}`", err=True)
        sys.exit(1)
