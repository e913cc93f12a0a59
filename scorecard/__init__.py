"""Streaming balanced scorecard: a definition, the events that feed it, and the scorecard computed from them.

Using it as a library (what ``scorecard replay`` does)::

    import time

    import scorecard

    definition = scorecard.load_scorecard("examples/acme.yaml")
    with open("examples/acme-events.jsonl", "rb") as events:
        result = scorecard.replay(definition, events, received_at=time.time())
    report = result.evaluate()  # at the newest accepted event; evaluate(at) for another time
    print(scorecard.dumps(report).decode())

Reading guide
=============

Every event takes one path, the same in the replay and in the live stream::

    event -> validated event -> window/aggregate update -> cascade -> exported metric

- **event -> validated event**: ``scorecard.core.events`` decodes and checks one raw line (size, depth, fields,
  time); ``scorecard.core.lines`` reads bounded lines from a file.
- **validated event -> window/aggregate update**: ``scorecard.core.engine.Engine`` decides what the event does
  (accepted, duplicate, late, invalid, ignored; ``core.dedupe`` remembers ids) and folds it into its unit's own
  states, one per KPI and bucket (``core.windows``, ``core.aggregates``). The replay (``core.replay``) keeps the unit
  records in a dict; the stream (``streams``) keeps them in a Faust table and hands the changes to the store as
  ``core.updates`` records.
- **cascade**: ``scorecard.redis.store`` merges each changed own state into the subtree states of the unit and its
  ancestors, in one Lua script call per batch. The replay does the same merge at read time
  (``core.evaluation.subtree_states``, following ``core.hierarchy``).
- **exported metric**: ``core.evaluation`` and ``core.scoring`` turn subtree states into values, scores and statuses,
  for the replay's report as for a read of Redis (``scorecard.redis.live``); ``scorecard.outputs`` turns them into
  Prometheus metrics, the HTML report, the terminal table and board, and the alert rules and Grafana boards that
  read those metrics.

The packages, from the ground up (each imports only from the ones above it; tests/unit/test_layering.py checks it):

- ``scorecard.core``: pure code, the definition (``core.definition``) and everything above; no Kafka, Redis,
  Prometheus, click or rich;
- ``scorecard.contract`` and ``scorecard.config``: the names the outputs and the stream share (metric names, status
  codes, board uids), and the settings read from ``SCORECARD_*`` variables;
- ``scorecard.redis`` (the live store) and ``scorecard.simulator`` (realistic events for any definition);
- ``scorecard.outputs``: everything the scorecard is turned into, and the HTTP server of the metrics;
- ``streams``: the Faust application (a sibling package: ``streams.faust_fixes`` holds its workarounds of Faust
  and aiokafka internals; Faust, aiokafka and uvloop come with the ``worker`` extra);
- ``scorecard.cli``: the ``scorecard`` command.
"""

__version__ = "0.1.0"

from scorecard.core.definition import DefinitionError, Problem, Scorecard, load_scorecard, parse_scorecard
from scorecard.core.evaluation import dumps
from scorecard.core.replay import ReplayResult, replay

__all__ = [
    "DefinitionError",
    "Problem",
    "ReplayResult",
    "Scorecard",
    "__version__",
    "dumps",
    "load_scorecard",
    "parse_scorecard",
    "replay",
]
