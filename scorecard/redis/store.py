"""The Redis store: every unit's own aggregate states, and the cascade that keeps its subtree states next to them.

Workers own units (through their Kafka partitions) and know only those units' *own* states; readers (``scorecard
status``, the Prometheus exporter) need every unit's *subtree* state, the merge of the own states of the unit and all
its descendants. The cascade bridges the two inside Redis: each flushed batch is ONE Lua script call that, per changed
own state, computes the delta against the own state Redis holds and applies it to the unit's subtree state and to
every ancestor's, then stores the new own state. docs/redis.md explains the layout and why this is exact.

Why the delta is computed in Lua, against the *stored* old own state: then every subtree state always equals the
merge of the stored own states of its subtree, whatever the interleaving of workers, and an update whose version is
not newer than the stored one is skipped, so replays after a crash never apply twice.

Numbers: states are fixed-point integers (``aggregates.SCALE``) of any size in Python, but Lua 5.1 numbers are doubles,
exact only up to 2**53. The script therefore holds each number as two limbs (``hi * 10**12 + lo``, both exact
doubles), reads decimal text as one double only below 10**15 (exact there) and digit by digit beyond, adds,
subtracts and compares limb by limb with carries, and writes decimal text back. Every component of every own and
subtree state, and every version, is exact within ``NUMERIC_LIMIT = (2**53 - 1) * 10**12`` (about 9.007e15 display
units at 6 decimals); reaching it is refused. Numbers travel as text both ways: the payload carries states and
versions as JSON strings (cjson would make JSON numbers doubles), and states read back are decoded by msgspec into
Python ints of any size (orjson would make integers beyond 64 bits floats). The stored format (plain decimal
integers in JSON lists) is the one of ``SCHEMA_VERSION`` 1, unchanged.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, NamedTuple, TypeAlias

import msgspec
import orjson
import redis
from redis.sentinel import MasterNotFoundError

from scorecard.config import RedisOptions
from scorecard.core.updates import Counts, CountsUpdate, OwnUpdate, check_ops
from scorecard.redis.client import Client, connect, describe

__all__ = [
    "NUMERIC_LIMIT",
    "SCHEMA_VERSION",
    "ApplyResult",
    "KeySpace",
    "NumericRangeError",
    "RedisStore",
    "StoreConflictError",
    "StoreError",
    "StoreMeta",
]

SCHEMA_VERSION: Final = 1
"""Version of the key layout and value formats below; a store holding another one is refused, not misread."""

NUMERIC_LIMIT: Final = (2**53 - 1) * 10**12
"""Every stored number (state components, own and subtree, and versions) stays strictly below this in magnitude.

The Lua script holds each number as two limbs ``hi * 10**12 + lo`` of exact doubles (``|hi| < 2**53``), so this is
the exact range of the cascade: about 9.007e27 micro-units (``aggregates.SCALE``), i.e. 9.007e15 display units per
bucket and subtree at 6 decimals."""

DEFAULT_RESYNC_BATCH: Final = 2000
"""Entries per script call during a resync: large enough to be fast, small enough not to block Redis for long."""

KpiBucket: TypeAlias = tuple[str, int]

_APP_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")
_STATE_ENCODER: Final = msgspec.json.Encoder()
_STATE_DECODER: Final = msgspec.json.Decoder(list[int])


# ----------------------------------------------------------------------------------------------------------- errors
class StoreError(Exception):
    """Redis could not be reached or refused a command. Callers retry: every write is idempotent."""


class NumericRangeError(StoreError, ValueError):
    """A number at or over ``NUMERIC_LIMIT`` in magnitude: the store cannot hold it exactly, nothing is written."""


class StoreConflictError(StoreError):
    """What Redis holds contradicts the update (shrinking own state, other schema or definition, corrupt value).

    Retrying does not help: the stored states were written by something else, or the caller broke a contract.
    ``RedisStore.reset`` then a resync is the way out, which a worker started with the new definition does itself; the
    message says what to do.
    """


# ------------------------------------------------------------------------------------------------------------- keys
@dataclass(frozen=True, slots=True)
class KeySpace:
    """Every Redis key of one scorecard, named in one place.

    All keys start with ``sc:{app_id}:``. The braces are literal: they are a Redis Cluster hash tag, so every key of a
    scorecard lives in one slot and a whole batch stays one script call there too. Two app ids never share a key.
    """

    app_id: str

    def __post_init__(self) -> None:
        if not _APP_ID.match(self.app_id):
            raise ValueError(
                f"app id must match {_APP_ID.pattern} (it becomes a Redis key prefix), got {self.app_id!r}"
            )

    @property
    def prefix(self) -> str:
        return f"sc:{{{self.app_id}}}:"

    def own(self, kpi: str, bucket: int) -> str:
        """Hash: unit -> ``"{version}|{state json}"``, each unit's own state for one KPI and bucket."""
        return f"{self.prefix}own:{kpi}:{bucket}"

    def sub(self, kpi: str, bucket: int) -> str:
        """Hash: unit -> ``"{state json}"``, each unit's subtree state for one KPI and bucket."""
        return f"{self.prefix}sub:{kpi}:{bucket}"

    @property
    def counts(self) -> str:
        """Hash: ``unit:{u}`` / ``part:{n}`` -> ``"{version}|{payload json}"``, outcome counts readers sum."""
        return f"{self.prefix}counts"

    @property
    def meta(self) -> str:
        """Hash: ``schema``, ``definition`` and ``epoch`` (the initialized marker)."""
        return f"{self.prefix}meta"

    @property
    def pattern(self) -> str:
        """SCAN pattern matching exactly this scorecard's keys (glob characters of the prefix escaped)."""
        return re.sub(r"([\\*?\[\]])", r"\\\1", self.prefix) + "*"


# ----------------------------------------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one batch did. ``epoch`` is the store's initialization token after the batch (None: not initialized).

    A worker remembers the epoch it last resynced against; a different one means Redis lost its states since (restart,
    flush, reset) and the worker must ``resync`` everything it holds, because unchanged states would never be resent.
    """

    applied: int
    skipped: int
    counts_applied: int
    counts_skipped: int
    epoch: str | None

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(
            self.applied + other.applied,
            self.skipped + other.skipped,
            self.counts_applied + other.counts_applied,
            self.counts_skipped + other.counts_skipped,
            other.epoch,
        )


class StoreMeta(NamedTuple):
    """The ``meta`` hash: all None in an empty (or emptied) store."""

    schema: int | None
    definition: str | None
    epoch: str | None


class OwnRecord(NamedTuple):
    """One stored own state and the version it was written at."""

    version: int
    state: list[int]


# ------------------------------------------------------------------------------------------------------------- Lua
# The cascade (cascade.lua, package data): phase 1 computes and checks everything, phase 2 writes, so an error
# leaves Redis untouched.
_CASCADE_LUA: Final = resources.files(__package__).joinpath("cascade.lua").read_text(encoding="utf-8")

# Sets schema and definition, refusing a store written for other ones, and creates the epoch if there is none.
_MARK_LUA: Final = r"""
-- KEYS[1] meta; ARGV[1] schema, ARGV[2] definition hash, ARGV[3] a fresh epoch token. Returns the epoch in force.
local fixes = {
  -- Another store layout: its keys cannot be read, only dropped; the workers' tables still hold every state.
  schema = 'another scorecard version wrote these keys; delete them (redis-cli --scan --pattern \''
    .. string.sub(KEYS[1], 1, -5) .. '*\' | xargs redis-cli unlink) and restart the workers: they rebuild them',
  -- A worker starting with a new definition rebuilds the store itself; a conflict means two definitions run at once.
  definition = 'run every worker of this app id with the same definition (restarting them rebuilds Redis from their'
    .. ' tables), or give the other definition its own SCORECARD_APP_ID',
}
for i, name in ipairs({'schema', 'definition'}) do
  local stored = redis.call('HGET', KEYS[1], name)
  if stored and stored ~= ARGV[i] then
    return redis.error_reply('SC_CONFLICT Redis holds ' .. name .. ' ' .. stored .. ', this process has ' .. ARGV[i]
      .. ': ' .. fixes[name])
  end
end
redis.call('HSET', KEYS[1], 'schema', ARGV[1], 'definition', ARGV[2])
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[3])
return redis.call('HGET', KEYS[1], 'epoch')
"""


# ------------------------------------------------------------------------------------------------------------ store
class RedisStore:
    """Own and subtree states of one scorecard (one ``app_id``) in Redis; see the module docstring and docs/redis.md.

    Thread-safe as far as the redis-py client is (its pool hands each call its own connection).
    """

    def __init__(self, client: Client, app_id: str, *, definition_hash: str = "", url: str | None = None) -> None:
        self.keys = KeySpace(app_id)
        self.definition_hash = definition_hash
        self.url = url or _describe(client)
        self._client = client
        self._cascade = client.register_script(_CASCADE_LUA)
        self._mark = client.register_script(_MARK_LUA)

    @classmethod
    def from_url(
        cls, url: str, app_id: str, *, definition_hash: str = "", options: RedisOptions | None = None
    ) -> RedisStore:
        """A store on a new client for ``url`` (``Settings.redis_url``) and ``options`` (TLS, ACL, Sentinel,
        Cluster), made by ``scorecard.redis.client.connect``."""
        return cls(connect(url, options), app_id, definition_hash=definition_hash, url=describe(url, options))

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, app_id={self.keys.app_id!r})"

    # ------------------------------------------------------------------------------------------------ writes
    def apply(self, updates: Sequence[OwnUpdate], counts: Sequence[CountsUpdate] = ()) -> ApplyResult:
        """Cascade a batch of own-state changes and store its counts records: one script call, one round trip.

        Each update newer than the stored own state (by ``version``) is applied to the subtree state of the unit
        and of every ancestor, as ``new - stored old`` for additive components and min/max for the others; older or
        equal versions are skipped, so replays are harmless. Nothing is written if any update is refused.
        """
        keys, payload = self._encode(updates, counts)
        with self._errors("cascade"):
            reply = self._cascade(keys=keys, args=[payload], client=self._client)
        applied, skipped, counts_applied, counts_skipped, epoch = reply
        return ApplyResult(applied, skipped, counts_applied, counts_skipped, _text_or_none(epoch))

    def resync(
        self,
        updates: Sequence[OwnUpdate],
        counts: Sequence[CountsUpdate] = (),
        *,
        batch_size: int = DEFAULT_RESYNC_BATCH,
    ) -> ApplyResult:
        """Write every state the caller holds, after Redis lost them or at start-up; returns the epoch to remember.

        The store is marked initialized *first*, so a Redis emptied during the resync shows up as a changed epoch in
        a later chunk: then nothing can be trusted and ``StoreError`` asks the caller to start over. Already stored
        versions are skipped, so resyncing a store that lost nothing only costs the round trips.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        epoch = self.mark_initialized()
        total = ApplyResult(0, 0, 0, 0, epoch)
        starts = range(0, max(len(updates), 1), batch_size)
        for start in starts:
            # Counts go with the last chunk: a reader that sees all the events counted sees all their states too.
            result = self.apply(updates[start : start + batch_size], counts if start == starts[-1] else ())
            if result.epoch != epoch:
                raise StoreError(
                    f"Redis at {self.url} was emptied during the resync (epoch {epoch} is gone); resync again"
                )
            total += result
        return total

    def mark_initialized(self) -> str:
        """Record schema and definition and create the epoch if missing; return the epoch in force.

        Raises ``StoreConflictError`` when Redis holds states of another schema version or definition.
        """
        args = [str(SCHEMA_VERSION), self.definition_hash, secrets.token_hex(8)]
        with self._errors("mark initialized"):
            epoch = self._mark(keys=[self.keys.meta], args=args, client=self._client)
        return _text(epoch)

    def reset(self) -> int:
        """Delete every key of this scorecard (and no other), for the worker's rebuild after a definition change and
        for tests. Returns how many went."""
        deleted = 0
        with self._errors("reset"):
            batch: list[Any] = []
            for key in self._client.scan_iter(match=self.keys.pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    deleted += self._client.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += self._client.unlink(*batch)
        return deleted

    # ------------------------------------------------------------------------------------------------- reads
    def read_subtree(self, kpi_buckets: Iterable[KpiBucket]) -> dict[KpiBucket, dict[str, list[int]]]:
        """Subtree states of every unit for each (KPI, bucket), read as one MULTI/EXEC snapshot.

        A cascade is one script, so within the snapshot a unit and its ancestors always agree. A (KPI, bucket) with
        nothing stored maps to ``{}``: every unit's state is then empty (``Aggregation.new()``).
        """
        return self.read_snapshot(kpi_buckets, with_counts=False)[0]

    def read_snapshot(
        self, kpi_buckets: Iterable[KpiBucket], *, with_counts: bool = True
    ) -> tuple[dict[KpiBucket, dict[str, list[int]]], Counts]:
        """Subtree states (as ``read_subtree``) and the counts records (as ``read_counts``) in ONE MULTI/EXEC.

        What a reader shows together (values, event counts, last event times) then comes from the same instant:
        every cascade writes states and counts in one script call, so they never disagree inside the snapshot.
        """
        wanted = list(dict.fromkeys(kpi_buckets))
        keys = [self.keys.sub(kpi, bucket) for kpi, bucket in wanted]
        if with_counts:
            keys.append(self.keys.counts)
        hashes = self._read_hashes(keys, "read a snapshot")
        counts = _parse_counts(hashes.pop()) if with_counts else Counts({}, {})
        states = {
            kb: {_text(unit): _ints(raw, key, unit) for unit, raw in h.items()}
            for kb, key, h in zip(wanted, keys[: len(wanted)], hashes, strict=True)
        }
        return states, counts

    def read_own(self, kpi_buckets: Iterable[KpiBucket]) -> dict[KpiBucket, dict[str, OwnRecord]]:
        """Own states with their versions for each (KPI, bucket), one snapshot: for tests and debugging."""
        wanted = list(dict.fromkeys(kpi_buckets))
        hashes = self._read_hashes([self.keys.own(kpi, bucket) for kpi, bucket in wanted], "read own states")
        out: dict[KpiBucket, dict[str, OwnRecord]] = {}
        for kb, h in zip(wanted, hashes, strict=True):
            out[kb] = {}
            for unit, raw in h.items():
                version, state = _split_versioned(raw)
                out[kb][_text(unit)] = OwnRecord(version, _ints(state, self.keys.own(*kb), unit))
        return out

    def read_counts(self) -> Counts:
        """The counts records, per unit and per input partition; readers sum them."""
        (raw,) = self._read_hashes([self.keys.counts], "read counts")
        return _parse_counts(raw)

    def read_meta(self) -> StoreMeta:
        (raw,) = self._read_hashes([self.keys.meta], "read meta")
        meta = {_text(k): _text(v) for k, v in raw.items()}
        schema = meta.get("schema")
        return StoreMeta(int(schema) if schema else None, meta.get("definition"), meta.get("epoch"))

    def is_initialized(self) -> bool:
        """False in a new or emptied Redis: the workers must resync before readers see complete states."""
        return self.read_meta().epoch is not None

    # ----------------------------------------------------------------------------------------------- helpers
    def _read_hashes(self, keys: list[str], doing: str) -> list[dict[Any, Any]]:
        with self._errors(doing):
            pipe = self._client.pipeline(transaction=True)
            for key in keys:
                pipe.hgetall(key)
            return pipe.execute() if keys else []

    def _encode(self, updates: Sequence[OwnUpdate], counts: Sequence[CountsUpdate]) -> tuple[list[str], bytes]:
        """The script's KEYS (meta, counts, then each bucket's own and sub hash) and its JSON payload.

        Versions and states go as JSON strings of decimal text (``"17"``, ``"[120500000,1]"``), never as JSON
        numbers: the script's cjson would read those as doubles. The state text is also what the script stores.
        """
        keys = [self.keys.meta, self.keys.counts]
        groups: dict[KpiBucket, list[Any]] = {}
        for update in updates:
            _check_update(update)
            group = groups.get((update.kpi, update.bucket))  # [own index, sub index, ops, ttl_ms, entries]
            if group is None:
                keys += (self.keys.own(update.kpi, update.bucket), self.keys.sub(update.kpi, update.bucket))
                group = groups[update.kpi, update.bucket] = [len(keys) - 1, len(keys), update.ops, update.ttl_ms, []]
            elif group[2] != update.ops:
                raise ValueError(
                    f"{update.kpi} bucket {update.bucket}: ops {update.ops!r} and {group[2]!r} in one batch"
                )
            group[3] = max(group[3], update.ttl_ms)
            group[4].append((update.unit, str(update.version), _encode_state(update.state), update.ancestors))
        records = [(c.field, str(_check_version(c.version, c.field)), _dumps(c.payload)) for c in counts]
        for record in records:
            if not record[0].startswith(("unit:", "part:")):
                raise ValueError(f"counts field must start with 'unit:' or 'part:', got {record[0]!r}")
        return keys, orjson.dumps({"g": list(groups.values()), "c": records})

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Translate redis-py errors into store errors that name the server and say what was being done."""
        try:
            yield
        except redis.ResponseError as error:
            message = str(error)
            if message.startswith("SC_RANGE"):
                raise NumericRangeError(f"{doing}: {message.removeprefix('SC_RANGE ')}") from None
            if message.startswith("SC_CONFLICT"):
                raise StoreConflictError(f"{doing}: {message.removeprefix('SC_CONFLICT ')}") from None
            raise StoreError(f"Redis at {self.url}: {doing} failed: {message.removeprefix('SC_ERROR ')}") from error
        except MasterNotFoundError as error:  # its text holds the whole client's repr: said plainly instead
            raise StoreError(
                f"Redis at {self.url}: {doing} failed: no Sentinel answered with a reachable primary (are the Sentinels"
                " up, and do they monitor that service name?)"
            ) from error
        except redis.RedisError as error:
            raise StoreError(f"Redis at {self.url}: {doing} failed: {error}") from error


# -------------------------------------------------------------------------------------------------------- checks
def _check_update(update: OwnUpdate) -> None:
    """Refuse locally what Lua would get wrong or could not explain as well: shapes, bounds and the ancestor chain."""
    state, ancestors = update.state, update.ancestors
    check_ops(update.ops)
    if len(state) != len(update.ops) or not all(type(n) is int for n in state):
        raise ValueError(f"{_where(update)}: state must be {len(update.ops)} ints (ops {update.ops!r}), got {state!r}")
    if max(state) >= NUMERIC_LIMIT or min(state) <= -NUMERIC_LIMIT:
        raise NumericRangeError(
            f"{_where(update)}: state {state} has a component at or over (2**53 - 1) * 10**12 in magnitude, beyond "
            "what the store holds exactly (about 9.007e15 display units at 6 decimals)"
        )
    if type(update.version) is not int or not 0 <= update.version < NUMERIC_LIMIT:
        _check_version(update.version, _where(update))
    if not ancestors or ancestors[0] != update.unit or len(set(ancestors)) != len(ancestors):
        raise ValueError(f"{_where(update)}: ancestors must be OrgTree.ancestors(unit), unit first, got {ancestors!r}")
    if type(update.ttl_ms) is not int or update.ttl_ms <= 0:
        raise ValueError(f"{_where(update)}: ttl_ms must be a positive int, got {update.ttl_ms!r}")


def _where(update: OwnUpdate) -> str:
    return f"{update.kpi} bucket {update.bucket} unit {update.unit}"


def _check_version(version: int, where: str) -> int:
    if type(version) is not int or not 0 <= version < NUMERIC_LIMIT:
        raise NumericRangeError(f"{where}: version must be an int in [0, (2**53 - 1) * 10**12), got {version!r}")
    return version


# ---------------------------------------------------------------------------------------------------- decoding
def _dumps(payload: Mapping[str, Any]) -> str:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()


def _parse_counts(raw: Mapping[Any, Any]) -> Counts:
    counts = Counts({}, {})
    for field, value in raw.items():
        kind, _, name = _text(field).partition(":")
        payload = orjson.loads(_split_versioned(value)[1])
        if kind == "unit":
            counts.units[name] = payload
        elif kind == "part":
            counts.partitions[int(name)] = payload
    return counts


def _text(value: bytes | str) -> str:
    """Field names and values as str, whether the client decodes responses or not."""
    return value.decode() if isinstance(value, bytes) else value


def _text_or_none(value: bytes | str | None) -> str | None:
    return None if value is None else _text(value)


def _encode_state(state: list[int]) -> str:
    """A state as the script's and the store's JSON text: ints of any size, exactly (orjson stops at 64 bits)."""
    return _STATE_ENCODER.encode(state).decode()


def _ints(raw: bytes | str, key: str, unit: bytes | str) -> list[int]:
    """A stored state (field ``unit`` of hash ``key``) as exact Python ints, whatever their size.

    msgspec, because orjson reads integers beyond 64 bits as floats. Anything but a list of integers (a float
    included) is a corrupt value: ``StoreConflictError`` naming the key and field.
    """
    try:
        return _STATE_DECODER.decode(raw)
    except msgspec.DecodeError as error:
        raise StoreConflictError(f"{key} {_text(unit)}: corrupt state {_text(raw)[:200]!r} ({error})") from None


def _split_versioned(raw: bytes | str) -> tuple[int, str]:
    version, _, rest = _text(raw).partition("|")
    return int(version), rest


def _describe(client: Client) -> str:
    """A password-free URL for error messages, rebuilt from the client's connection settings."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:  # a cluster client: the caller names it (``from_url``)
        return "redis cluster"
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = "rediss" if issubclass(pool.connection_class, redis.SSLConnection) else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
