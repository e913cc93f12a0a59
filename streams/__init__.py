"""The Faust application that keeps the scorecard live: Kafka events -> unit table records -> Redis cascade.

- ``app``: the wiring (topics, the ``units`` table, the fetch handler, the timers);
- ``pipeline``: one batch from engine decisions to Redis, and the Redis recovery policy (resync, backoff, fail-stop);
- ``processor``: the batch step itself, pure (engine decisions over a table given as a dict);
- ``headers``: the Kafka headers of dead letters and forwarded events;
- ``topics``, ``publisher``, ``metrics``, ``worker``: topic names and creation, ``scorecard publish``, the worker's
  own metrics, ``scorecard worker``;
- ``faust_fixes``: every workaround for Faust and aiokafka internals.
"""
