"""Reading JSON Lines without ever holding more than a bounded piece of one line.

``for line in handle`` reads a whole physical line into memory, however long: one 10 GB line (a file without
newlines, a runaway producer) would take 10 GB. The replay and ``scorecard publish`` read through ``read_lines``
instead, which never holds more than ``max_bytes + 2`` bytes of a line, yet gives every consumer what it needs:

- a line whose content (the line without trailing JSON whitespace, the size ``scorecard.core.events.decode_event``
  measures) fits in ``max_bytes`` is yielded whole, or with only whitespace dropped from its end, which JSON ignores;
- a longer line is read to its end and stood in for by its first ``max_bytes`` bytes and a ``#``: content of
  ``max_bytes + 1`` bytes, which the decoder refuses as ``too_large`` with the same reason and detail as the whole
  line (the detail never quotes a too-large line), and which Kafka refuses when ``max_bytes`` is its limit.

Line numbers are kept: exactly one item per physical line, blank lines included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Final

_JSON_SPACE: Final = b" \t\r\n"
_CHUNK: Final = 1 << 20


def read_lines(handle: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """Each physical line of ``handle``, its content bounded as the module docstring says."""
    limit = max_bytes + 2  # room for the line's own "\r\n"
    while True:
        line = handle.readline(limit)
        if not line:
            return
        if line.endswith(b"\n") or len(line) < limit:
            yield line  # the whole line
            continue
        # A long line: only what lies beyond max_bytes decides, and only whether it holds more than whitespace.
        overlong = bool(line[max_bytes:].strip(_JSON_SPACE))
        ended = False
        while not ended:
            piece = handle.readline(_CHUNK)
            ended = not piece or piece.endswith(b"\n")
            overlong = overlong or bool(piece.strip(_JSON_SPACE))
        yield line[:max_bytes] + (b"#" if overlong else b"\n")
