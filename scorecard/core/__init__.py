"""The pure core: the definition, events, windows, aggregates, the engine, scoring and evaluation, and the replay.

Nothing here does I/O beyond reading a definition file or the lines it is handed, and nothing imports Kafka, Redis,
Prometheus, click or rich (tests/unit/test_layering.py proves it), so the stream, the replay and every reader share
this code unchanged.
"""
