"""Text from definitions and events made safe to print on a terminal: one place for every command and view.

Names in a definition (of the scorecard, units, perspectives, KPIs, their display units, owners) and values in
events are free text written by other people, and they end up in tables, boards and messages. Two things go wrong
when such text is printed as it is:

- rich parses ``[...]`` as markup in every string it is given (table cells, column headers, ``console.print``): a
  perspective named ``[/]`` raises ``MarkupError`` and ``[bold]`` restyles what follows;
- control characters reach the terminal: ``\\x1b[2J`` clears the screen, ``\\r`` rewrites the line, a
  bidirectional override (U+202E) reorders what follows, ``\\x00`` and friends are written raw.

``printable`` replaces every such character by its visible escape (``\\x1b``, ``\\r``, ``\\u202e``), so a name shows
what it holds and cannot act on the terminal; ``markup`` also escapes rich markup, for strings rich will parse;
``plain`` returns a ``rich.text.Text``, which rich never parses. Replaced: C0 controls and DEL, C1 controls, the
line and paragraph separators, and the bidirectional marks, embeddings, overrides and isolates. Newlines are
replaced too unless ``keep_newlines`` (text made of several lines on purpose, such as a command's summary).
"""

from __future__ import annotations

import re
from typing import Final

from rich.markup import escape
from rich.text import Text

__all__ = ["markup", "plain", "printable"]

# Besides the C0 and C1 controls: line/paragraph separators, bidirectional marks, embeddings, overrides, isolates.
_OTHERS: Final = "\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE: Final = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_KEEPING_NEWLINES: Final = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_NAMED: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``str(text)`` with every control, separator and bidirectional character written as its escape."""
    pattern = _UNSAFE_KEEPING_NEWLINES if keep_newlines else _UNSAFE
    return pattern.sub(_visible, str(text))


def markup(text: object) -> str:
    """``printable`` text with rich markup escaped: for strings that rich parses (cells, headers, descriptions)."""
    return escape(printable(text))


def plain(text: object, style: str = "") -> Text:
    """``printable`` text as a rich ``Text``, which is never parsed as markup."""
    return Text(printable(text), style=style)
