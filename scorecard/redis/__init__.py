"""The live scorecard in Redis: the store and its cascade script, and the reads of the live scorecard.

``store`` writes what the stream hands it (``scorecard.core.updates``) with one Lua script call per batch
(``cascade.lua``) and reads consistent snapshots; ``live`` scores those snapshots with the core's evaluation, exactly
as the replay does. docs/redis.md describes the key layout and why the cascade is exact.
"""
