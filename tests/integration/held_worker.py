"""``scorecard worker`` with one thing added for a test: it holds a batch in hand for as long as the test wants.

A fetch holding a record that starts with ``HOLD_MARK`` is handed to the real handler only once the file named by
``SCORECARD_TEST_RELEASE`` exists; the worker writes the file named by ``SCORECARD_TEST_HELD`` when it starts
holding. Everything else is the real worker, run through the real command line:
``python -m tests.integration.held_worker worker --scorecard ...``. Used by
``tests/integration/test_worker.py`` to put a rebalance in the middle of a batch.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import streams.worker
from scorecard.cli import main
from streams.app import create_app

HOLD_MARK = b'{"hold":'


def create_holding_app(*args: Any, **kwargs: Any) -> Any:
    app, pipeline = create_app(*args, **kwargs)
    handler = app.fetch_handler
    assert handler is not None, "create_app sets the fetch handler"
    held, release = Path(os.environ["SCORECARD_TEST_HELD"]), Path(os.environ["SCORECARD_TEST_RELEASE"])

    async def holding(fetched: Mapping[Any, Sequence[Any]]) -> None:
        if any(record.value.startswith(HOLD_MARK) for records in fetched.values() for record in records):
            held.write_text(str(sum(len(records) for records in fetched.values())))
            while not release.exists():
                await asyncio.sleep(0.05)
        await handler(fetched)

    app.fetch_handler = holding
    return app, pipeline


if __name__ == "__main__":
    streams.worker.create_app = create_holding_app
    main(prog_name="scorecard")
