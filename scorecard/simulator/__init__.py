"""Realistic example events for any scorecard definition: fixed batches and the live producer of ``scorecard simulate``.

Demos, examples and benchmarks need events that exercise every KPI of a definition and give a scorecard worth looking
at, some units green and some red. The modules, from the ground up:

- ``plan``: who emits which event types, at what rates and with which field values, aimed at each unit's level;
- ``draws``: one event at a time from the plan, the trouble producers cause, business hours;
- ``batch``: fixed batches hour by hour (``generate_events``; examples/acme-events.jsonl, tests, benchmarks);
- ``simulation``: ``Simulation``, the plan as history up to a start time and then an endless live stream with a KPI
  drifting red on cue;
- ``pacing``: sending a simulation or a batch to a sink (Kafka or a file) on the wall clock, with clean stops.

Everything but ``pacing`` is deterministic and does no I/O: the same arguments give the same events, byte for byte.
docs/simulator.md describes the command.
"""

from scorecard.simulator.batch import generate_batch, generate_events
from scorecard.simulator.draws import SimulatedEvent, Trouble
from scorecard.simulator.simulation import Simulation, Trend

__all__ = ["SimulatedEvent", "Simulation", "Trend", "Trouble", "generate_batch", "generate_events"]
