"""What Faust's consumer pays per message to hand it to the streams, before any stream sees it.

The worker's input no longer takes this path (whole fetches go to the scorecard: ``streams/faust_fixes/fetches.py``);
the messages Faust still delivers one at a time (the table's changelog during a recovery) do.

Faust's drain loop (``faust.transport.consumer.Consumer._drain_messages``) delivers each fetched message with ``await
self.wait_first(callback(message), self.suspend_flow.wait())``: mode's ``wait_first`` wraps the delivery, the flow event
and the service's stopped and crashed events in four tasks and an ``asyncio.wait``, for every message. This script
measures that cost on this machine against awaiting the same delivery directly and against the worker's own hand-over
(``streams/faust_fixes/delivery.py``: the delivery's first step run in place, the race kept for a delivery that would
block), with uvloop as the worker uses, and writes the figures to docs/benchmarks.md. No broker needed.

    .venv/bin/python bench/bench_faust_handover.py [--messages 50000] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from mode import Service

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, write_block
from streams.faust_fixes.delivery import DirectDelivery

START = "<!-- bench_faust_handover:start -->"
END = "<!-- bench_faust_handover:end -->"


class _Idle(Service):
    """A running mode service, as Faust's consumer is, so ``wait_first`` watches its stopped and crashed events."""


class _Direct(DirectDelivery, _Idle):
    """The worker's hand-over on the same service, delivering with ``deliver`` below."""

    suspend_flow = asyncio.Event()

    def callback(self, message: int) -> Any:
        return deliver(message)


async def deliver(message: int) -> int:
    """Stands for the conductor's ``on_message`` when the queue has room: it completes without suspending."""
    return message


async def measure(messages: int) -> tuple[float, float, float]:
    service = _Direct()
    await service.start()
    suspend_flow = asyncio.Event()
    try:
        started = time.perf_counter()
        for message in range(messages):
            await service.wait_first(deliver(message), suspend_flow.wait())
        with_wait_first = (time.perf_counter() - started) / messages * 1e6
        started = time.perf_counter()
        for message in range(messages):
            await deliver(message)
        direct = (time.perf_counter() - started) / messages * 1e6
        started = time.perf_counter()
        for message in range(messages):
            await service._deliver(message)
        worker = (time.perf_counter() - started) / messages * 1e6
    finally:
        await service.stop()
    return with_wait_first, direct, worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md as it is")
    args = parser.parse_args()
    uvloop.install()
    with_wait_first, direct, worker = asyncio.run(measure(args.messages))
    info = machine()
    text = "\n".join(
        [
            START,
            f"Measured {info['date']} on {info['cpu']} ({info['nproc']} cores, load {info['load']}), "
            f"{info['python']}, uvloop, {args.messages:,} messages (`bench/bench_faust_handover.py`):",
            "",
            "| hand-over of one message to the streams | µs per message |",
            "| --- | --- |",
            f"| Faust's `wait_first(callback(message), suspend_flow.wait())` | {with_wait_first:.1f} |",
            f"| the same delivery awaited directly | {direct:.2f} |",
            f"| the worker's `DirectDelivery._deliver` (first step in place; the race only if it would block) | "
            f"{worker:.2f} |",
            END,
        ]
    )
    print(text)
    if not args.no_write:
        write_block(text, START, END)


if __name__ == "__main__":
    main()
