"""The Redis store: every unit's own aggregate states, and the cascade that keeps its subtree states next to them.

Workers own units (through their Kafka partitions) and know only those units' *own* states; readers (``scorecard
status``, the Prometheus exporter) need every unit's *subtree* state, the merge of the own states of the unit and all
its descendants. The cascade bridges the two inside Redis: each flushed batch is ONE Lua script call that, per changed
own state, computes the delta against the own state Redis holds and applies it to the unit's subtree state and to
every ancestor's, then stores the new own state. docs/redis.md explains the layout and why this is exact.

Why the delta is computed in Lua, against the *stored* old own state: then every subtree state always equals the
merge of the stored own states of its subtree, whatever the interleaving of workers, and an update whose version is
not newer than the stored one is skipped, so replays after a crash never apply twice.

Public API
----------
- ``RedisStore(client, app_id, *, definition_hash="", url=None)`` or ``RedisStore.from_url(url, app_id, ...)``:
  - ``apply(updates, counts=()) -> ApplyResult``: one round trip for a whole batch of ``OwnUpdate`` and
    ``CountsUpdate``; ``ApplyResult.epoch`` tells the caller whether Redis was emptied since it last synced;
  - ``resync(updates, counts=(), batch_size=...) -> ApplyResult``: ``mark_initialized`` then ``apply`` in chunks;
  - ``read_subtree(kpi_buckets) -> {(kpi, bucket): {unit: state list}}``: one MULTI/EXEC round trip, a consistent
    snapshot; ``read_own(kpi_buckets)`` (versions included, for tests and debugging); ``read_counts() -> Counts``;
  - ``read_meta() -> StoreMeta``, ``is_initialized()``, ``mark_initialized() -> epoch``, ``reset() -> keys deleted``;
  - ``keys``: the ``KeySpace`` that names every key (``keys.own(kpi, bucket)``, ``keys.sub(...)``, ``keys.counts``,
    ``keys.meta``).
- ``OwnUpdate(kpi, bucket, unit, version, state, ancestors, ops, ttl_ms)``; ``CountsUpdate(field, version, payload)``
  with ``CountsUpdate.for_unit`` / ``CountsUpdate.for_partition``.
- ``merge_components(ops, a, b)``: the op-vector merge the Lua script applies, in Python (tests, debugging).
- Errors: ``StoreError`` (Redis unreachable or failing; names the URL), ``NumericRangeError`` (a number at or over
  ``NUMERIC_LIMIT`` in magnitude), ``StoreConflictError`` (stored data contradicts the update: an own state that
  shrank under a newer version, another schema or definition, a corrupt value).

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
from functools import lru_cache
from typing import Any, Final, NamedTuple, TypeAlias

import msgspec
import orjson
import redis

from scorecard.config import redact_url

__all__ = [
    "NUMERIC_LIMIT",
    "SCHEMA_VERSION",
    "ApplyResult",
    "Counts",
    "CountsUpdate",
    "KeySpace",
    "NumericRangeError",
    "OwnUpdate",
    "RedisStore",
    "StoreConflictError",
    "StoreError",
    "StoreMeta",
    "merge_components",
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
_OPS = re.compile(r"^[acnx]+$")


# ----------------------------------------------------------------------------------------------------------- errors
class StoreError(Exception):
    """Redis could not be reached or refused a command. Callers retry: every write is idempotent."""


class NumericRangeError(StoreError, ValueError):
    """A number at or over ``NUMERIC_LIMIT`` in magnitude: the store cannot hold it exactly, nothing is written."""


class StoreConflictError(StoreError):
    """What Redis holds contradicts the update (shrinking own state, other schema or definition, corrupt value).

    Retrying does not help: the stored states were written by something else, or the caller broke a contract.
    ``scorecard ... --reset`` (``RedisStore.reset``) then a resync is the way out.
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
class OwnUpdate:
    """A unit's new own state for one (KPI, bucket), and where the change must cascade.

    ``version`` counts the events the unit has applied (monotone, content-determined): Redis keeps the highest it has
    seen per field and skips anything not newer. ``state`` is ``Aggregation.to_list`` output and ``ops`` the KPI's
    ``Aggregation.component_ops``. ``ancestors`` is ``OrgTree.ancestors(unit)``: the unit itself first, up to the root.
    ``ttl_ms`` is the KPI's retention; the own and subtree keys of the bucket expire that long after their last write.
    Within one (KPI, bucket) the own state may only grow between versions (events are added, never removed).
    """

    kpi: str
    bucket: int
    unit: str
    version: int
    state: list[int]
    ancestors: tuple[str, ...]
    ops: str
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class CountsUpdate:
    """A versioned record of the ``counts`` hash: per unit (``unit:{u}``) or per input partition (``part:{n}``).

    Stored as given (readers sum the records); like own states, a record is only replaced by a newer version.
    """

    field: str
    version: int
    payload: Mapping[str, Any]

    @classmethod
    def for_unit(cls, unit: str, version: int, payload: Mapping[str, Any]) -> CountsUpdate:
        """Per-unit outcome counts and stream time (accepted, duplicate, late, last event time...)."""
        return cls(f"unit:{unit}", version, payload)

    @classmethod
    def for_partition(cls, partition: int, version: int, payload: Mapping[str, Any]) -> CountsUpdate:
        """Per-input-partition counts of events that belong to no unit (invalid, ignored)."""
        return cls(f"part:{partition}", version, payload)


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


class Counts(NamedTuple):
    """The ``counts`` hash decoded: payloads per unit and per input partition, versions dropped."""

    units: dict[str, dict[str, Any]]
    partitions: dict[int, dict[str, Any]]


class StoreMeta(NamedTuple):
    """The ``meta`` hash: all None in an empty (or emptied) store."""

    schema: int | None
    definition: str | None
    epoch: str | None


class OwnRecord(NamedTuple):
    """One stored own state and the version it was written at."""

    version: int
    state: list[int]


# ------------------------------------------------------------------------------------------------------ component ops
@lru_cache(maxsize=64)
def check_ops(ops: str) -> str:
    """Validate an op vector: letters ``a c n x``, at most one ``c``, and ``n`` / ``x`` only next to a ``c``."""
    if not _OPS.match(ops) or ops.count("c") > 1 or (("n" in ops or "x" in ops) and "c" not in ops):
        raise ValueError(f"component ops must be letters a/c/n/x with one c when n or x is used, got {ops!r}")
    return ops


def merge_components(ops: str, a: Sequence[int], b: Sequence[int]) -> list[int]:
    """Merge two serialized states component by component, exactly as the Lua cascade does.

    ``a`` / ``c`` add; ``n`` / ``x`` keep the min / max of the non-empty sides (emptiness is the ``c`` component being
    0, and an empty result keeps the canonical 0 there). tests/unit/test_store_ops.py checks this equals
    ``Aggregation.merge`` for every kind, so the ops declared in aggregates.py cannot drift from the real merge.
    """
    check_ops(ops)
    count = ops.find("c")
    a_empty = count >= 0 and a[count] == 0
    b_empty = count >= 0 and b[count] == 0
    out: list[int] = []
    for op, x, y in zip(ops, a, b, strict=True):
        if op in "ac":
            out.append(x + y)
        elif a_empty or b_empty:
            out.append(y if a_empty else x)
        else:
            out.append(min(x, y) if op == "n" else max(x, y))
    return out


# ------------------------------------------------------------------------------------------------------------- Lua
# The cascade. Phase 1 reads and computes everything in Lua tables and checks every bound; phase 2 writes. An error
# raised in phase 1 (number out of range, shrinking own state, corrupt value) therefore leaves Redis untouched.
# Subtree states touched by several entries of the batch (every entry reaches the root) are read and written once.
_CASCADE_LUA: Final = r"""
-- KEYS[1] meta hash, KEYS[2] counts hash, KEYS[3..] the own/sub hashes the payload names by index.
-- ARGV[1] JSON {"g": [[own_index, sub_index, ops, ttl_ms, [[unit, version, state, ancestors], ...]], ...],
--               "c": [[field, version, payload_json], ...]}
-- version and state are decimal TEXT ("17", "[-5000000,1]"): cjson would turn JSON numbers into doubles.
-- Returns {applied, skipped, counts_applied, counts_skipped, epoch or nil}.
--
-- Numbers. Lua 5.1 numbers are doubles, exact for integers up to 2^53 only, so every state component is held as two
-- limbs: value = hi * 10^12 + lo, with 0 <= lo < 10^12 and hi carrying the sign (floor division). Decimal text is
-- read as one double only below 10^15 (exact there), split into limbs by its digits otherwise, and written back
-- from the limbs. The range is
-- |value| < (2^53 - 1) * 10^12, so |hi| <= 2^53 - 1 and both limbs are exact doubles. A sum or difference of two
-- in-range numbers: the low limbs give an exact result below 2 * 10^12 and a carry; the high limb is ONE rounded
-- operation on exact operands (the carry is added to one operand first, which stays exact). Rounding is monotone and
-- +-2^53 are doubles, so a true high limb out of range stays out of range once rounded: the range check after every
-- operation refuses every inexact result. Versions (never negative) are compared as limbs too.
--
-- Error locations (key and field) are passed apart and joined only when an error is raised: building them per entry
-- and ancestor would cost more than the arithmetic.
local BASE = 1000000000000       -- 10^12
local HI_MAX = 9007199254740991  -- 2^53 - 1: every value is strictly inside +-(HI_MAX * BASE)
local FAST = 1000000000000000    -- 10^15: smaller magnitudes take the one-double path
local decode, floor, format, tonumber = cjson.decode, math.floor, string.format, tonumber
local byte, find, gmatch, sub = string.byte, string.find, string.gmatch, string.sub

local function fail(code, message)
  error(code .. ' ' .. message, 0) -- level 0: no position prefix, the code stays first for Python to map
end

local function in_range(hi, lo)
  return hi < HI_MAX and (hi > -HI_MAX or (hi == -HI_MAX and lo > 0))
end

-- A decimal integer ('-'? digits) of more than 15 characters as limbs: digits beyond the last 12 form hi; a hi of
-- 2^53 - 1 or more (however many digits: tonumber rounds a long string monotonically) is out of range.
local function parse_long(token, key, field)
  local negative = byte(token, 1) == 45 -- '-'
  local digits = negative and sub(token, 2) or token
  local n = #digits
  local hi, lo = tonumber(sub(digits, 1, n - 12)), tonumber(sub(digits, n - 11))
  if not find(digits, '^%d+$') or hi >= HI_MAX then
    fail('SC_CONFLICT', key .. ' ' .. field .. ': number out of the store\'s range: ' .. token)
  end
  if negative and (hi ~= 0 or lo ~= 0) then
    if lo == 0 then hi = -hi else hi, lo = -hi - 1, BASE - lo end
  end
  return hi, lo
end

-- Any decimal integer as limbs. Up to 15 characters it is below 10^15: one exact double, and floor division by 10^12
-- is exact there (a quotient below 1000 is never rounded across an integer).
local function parse_number(token, key, field)
  if #token > 15 then return parse_long(token, key, field) end
  local value = tonumber(token)
  if not value then fail('SC_CONFLICT', key .. ' ' .. field .. ': not a number: ' .. token) end
  local hi = floor(value / BASE)
  return hi, value - hi * BASE
end

local function encode_number(hi, lo)
  if hi > -9000 and hi < 9000 then return format('%d', hi * BASE + lo) end -- below 9 * 10^15 < 2^53: exact
  if hi > 0 then return format('%d%012d', hi, lo) end
  if lo == 0 then return format('-%d000000000000', -hi) end
  return format('-%d%012d', -hi - 1, BASE - lo) -- the magnitude's limbs
end

local function not_a_state(text, key, field)
  fail('SC_CONFLICT', key .. ' ' .. field .. ' holds ' .. text .. ', not a JSON list of integers')
end

local function check_width(spec, components, key, field)
  if components ~= spec.width then
    fail('SC_CONFLICT', key .. ' ' .. field .. ' holds ' .. components .. ' components, the update ' .. spec.width)
  end
end

-- A state with a number of more than 15 characters: split token by token (parse_long); anything but digits, '-',
-- ',' and brackets (a float's '.' or 'e') is refused first, since the tokens would skip it.
local function parse_wide_state(spec, text, key, field)
  if find(text, '[^%d,%-%[%]]') then not_a_state(text, key, field) end
  local out, n = {}, 0
  for token in gmatch(text, '%-?%d+') do
    out[n + 1], out[n + 2] = parse_number(token, key, field)
    n = n + 2
  end
  check_width(spec, n / 2, key, field)
  return out
end

-- A state's JSON text as a flat table of limbs {hi1, lo1, hi2, lo2, ...}, checked to have the update's width. cjson
-- parses it (fast, and strict JSON): a number below 10^15 in magnitude comes out as the exact double of an integer
-- (rounding is monotone, so a larger one never comes out below 10^15), and is split by floor division, exact there
-- (a quotient below 1000 is never rounded across an integer). A larger one sends the text to parse_wide_state.
local function parse_state(spec, text, key, field)
  local ok, values = pcall(decode, text)
  if not ok or type(values) ~= 'table' then not_a_state(text, key, field) end
  check_width(spec, #values, key, field)
  local out = {}
  for i = 1, #values do
    local value = values[i]
    if type(value) ~= 'number' then not_a_state(text, key, field) end
    if not (value < FAST and value > -FAST) then return parse_wide_state(spec, text, key, field) end -- NaN too
    local hi = floor(value / BASE)
    local lo = value - hi * BASE
    if lo ~= floor(lo) then not_a_state(text, key, field) end
    out[2 * i - 1], out[2 * i] = hi, lo
  end
  return out
end

local function encode_state(state)
  local parts = {}
  for j = 1, #state, 2 do parts[#parts + 1] = encode_number(state[j], state[j + 1]) end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- "{version}|{rest}" -> version limbs, rest.
local function split_versioned(text, key, field)
  local bar = find(text, '|', 1, true)
  if not bar then fail('SC_CONFLICT', 'corrupt versioned value at ' .. key .. ' ' .. field .. ': ' .. text) end
  local hi, lo = parse_number(sub(text, 1, bar - 1), key, field)
  return hi, lo, sub(text, bar + 1)
end

local function compile_ops(ops)
  local spec = {width = #ops, limbs = 2 * #ops, op = {}, count = nil}
  for i = 1, #ops do
    spec.op[i] = sub(ops, i, i)
    if spec.op[i] == 'c' then spec.count = 2 * i - 1 end -- the count's hi limb
  end
  return spec
end

-- a < b for the component whose hi limb is at index j of both.
local function less(a, b, j) return a[j] < b[j] or (a[j] == b[j] and a[j + 1] < b[j + 1]) end

-- The min/max rule (and the count never dropping) needs own states that only grow: refuse anything else.
local function check_growth(spec, old, new, key, field)
  local count = spec.count
  if not count or (old[count] == 0 and old[count + 1] == 0) then return end
  for i = 1, spec.width do
    local op, j = spec.op[i], 2 * i - 1
    if (op == 'c' and less(new, old, j)) or (op == 'n' and less(old, new, j)) or (op == 'x' and less(new, old, j)) then
      fail('SC_CONFLICT', key .. ' ' .. field .. ' shrank from ' .. encode_state(old) .. ' to ' .. encode_state(new))
    end
  end
end

-- new - old for the additive components (the others need no delta); a missing old state is the empty one.
local function delta_of(spec, old, new, key, field)
  if not old then return new end
  check_growth(spec, old, new, key, field)
  local delta = {}
  for i = 1, spec.width do
    local op, j = spec.op[i], 2 * i - 1
    if op == 'a' or op == 'c' then
      local lo, borrow = new[j + 1] - old[j + 1], 0
      if lo < 0 then lo, borrow = lo + BASE, 1 end
      local hi = new[j] - (old[j] + borrow)
      if not in_range(hi, lo) then
        fail('SC_RANGE', key .. ' ' .. field .. ' changes by (2**53 - 1) * 10**12 or more')
      end
      delta[j], delta[j + 1] = hi, lo
    end
  end
  return delta
end

-- Fold one own-state change into one subtree state, in place.
local function cascade(spec, sub_state, new, delta, key, field)
  local count = spec.count
  local was_empty = count and sub_state[count] == 0 and sub_state[count + 1] == 0
  local incoming = count and (new[count] > 0 or (new[count] == 0 and new[count + 1] > 0))
  for i = 1, spec.width do
    local op, j = spec.op[i], 2 * i - 1
    if op == 'a' or op == 'c' then
      local lo, carry = sub_state[j + 1] + delta[j + 1], 0
      if lo >= BASE then lo, carry = lo - BASE, 1 end
      local hi = sub_state[j] + (delta[j] + carry)
      if not in_range(hi, lo) then fail('SC_RANGE', key .. ' ' .. field .. ' would reach (2**53 - 1) * 10**12') end
      sub_state[j], sub_state[j + 1] = hi, lo
    elseif incoming and (was_empty or (op == 'n' and less(new, sub_state, j))
                        or (op == 'x' and less(sub_state, new, j))) then
      sub_state[j], sub_state[j + 1] = new[j], new[j + 1]
    end
  end
end

local function hset_all(key, values)
  local args, n = {}, 0
  for field, value in pairs(values) do
    args[n + 1], args[n + 2] = field, value
    n = n + 2
    if n >= 1000 then
      redis.call('HSET', key, unpack(args, 1, n))
      n = 0
    end
  end
  if n > 0 then redis.call('HSET', key, unpack(args, 1, n)) end
end

local function main()
  local batch = cjson.decode(ARGV[1])
  local own_writes, subs, ttl_of, counts_writes = {}, {}, {}, {}
  local applied, skipped, counts_applied, counts_skipped = 0, 0, 0, 0

  for _, group in ipairs(batch.g) do
    local own_key, sub_key, spec, ttl = KEYS[group[1]], KEYS[group[2]], compile_ops(group[3]), group[4]
    local pending = own_writes[own_key] or {}
    own_writes[own_key] = pending
    local states = subs[sub_key] or {}
    subs[sub_key] = states

    local function sub_state_of(unit)
      local state = states[unit]
      if not state then
        local raw = redis.call('HGET', sub_key, unit)
        if raw then state = parse_state(spec, raw, sub_key, unit) else
          state = {}
          for j = 1, spec.limbs do state[j] = 0 end
        end
        states[unit] = state
      end
      return state
    end

    for _, entry in ipairs(group[5]) do
      local unit, version, text, ancestors = entry[1], entry[2], entry[3], entry[4]
      local stored = pending[unit] or redis.call('HGET', own_key, unit)
      local old_hi, old_lo, old_text = -1, 0, nil
      if stored then old_hi, old_lo, old_text = split_versioned(stored, own_key, unit) end
      local hi, lo = parse_number(version, own_key, unit)
      if hi < old_hi or (hi == old_hi and lo <= old_lo) then
        skipped = skipped + 1
      else
        local old = old_text and parse_state(spec, old_text, own_key, unit)
        local new = parse_state(spec, text, own_key, unit)
        local delta = delta_of(spec, old, new, own_key, unit)
        for _, ancestor in ipairs(ancestors) do
          cascade(spec, sub_state_of(ancestor), new, delta, sub_key, ancestor)
        end
        pending[unit] = version .. '|' .. text -- canonical text, as Python encoded and checked it
        ttl_of[own_key] = math.max(ttl_of[own_key] or 0, ttl)
        ttl_of[sub_key] = math.max(ttl_of[sub_key] or 0, ttl)
        applied = applied + 1
      end
    end
  end

  for _, record in ipairs(batch.c) do
    local field, version, payload = record[1], record[2], record[3]
    local stored = counts_writes[field] or redis.call('HGET', KEYS[2], field)
    local old_hi, old_lo = -1, 0
    if stored then old_hi, old_lo = split_versioned(stored, KEYS[2], field) end
    local hi, lo = parse_number(version, KEYS[2], field)
    if hi < old_hi or (hi == old_hi and lo <= old_lo) then
      counts_skipped = counts_skipped + 1
    else
      counts_writes[field] = version .. '|' .. payload
      counts_applied = counts_applied + 1
    end
  end

  -- Phase 2: write. One clock reading, so a bucket's own and sub keys get the very same deadline.
  local now = redis.call('TIME')
  local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  for key, fields in pairs(own_writes) do hset_all(key, fields) end
  for key, states in pairs(subs) do
    local encoded = {}
    for unit, state in pairs(states) do encoded[unit] = encode_state(state) end
    hset_all(key, encoded)
  end
  for key, ttl in pairs(ttl_of) do redis.call('PEXPIREAT', key, now_ms + ttl) end
  hset_all(KEYS[2], counts_writes)
  return {applied, skipped, counts_applied, counts_skipped, redis.call('HGET', KEYS[1], 'epoch')}
end

local ok, result = pcall(main)
if ok then return result end
result = tostring(result) -- Redis hands errors, ours and redis.call's (WRONGTYPE...), to pcall as strings
if string.sub(result, 1, 3) ~= 'SC_' then result = 'SC_ERROR ' .. result end
return redis.error_reply(result)
"""

# Sets schema and definition, refusing a store written for other ones, and creates the epoch if there is none.
_MARK_LUA: Final = r"""
-- KEYS[1] meta; ARGV[1] schema, ARGV[2] definition hash, ARGV[3] a fresh epoch token. Returns the epoch in force.
for i, name in ipairs({'schema', 'definition'}) do
  local stored = redis.call('HGET', KEYS[1], name)
  if stored and stored ~= ARGV[i] then
    return redis.error_reply('SC_CONFLICT Redis holds ' .. name .. ' ' .. stored .. ', this process has ' .. ARGV[i]
      .. ': reset the store (scorecard --reset) and resync')
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

    def __init__(self, client: redis.Redis, app_id: str, *, definition_hash: str = "", url: str | None = None) -> None:
        self.keys = KeySpace(app_id)
        self.definition_hash = definition_hash
        self.url = url or _describe(client)
        self._client = client
        self._cascade = client.register_script(_CASCADE_LUA)
        self._mark = client.register_script(_MARK_LUA)

    @classmethod
    def from_url(cls, url: str, app_id: str, *, definition_hash: str = "") -> RedisStore:
        """A store on a new client for ``url`` (``Settings.redis_url``)."""
        return cls(redis.Redis.from_url(url), app_id, definition_hash=definition_hash, url=redact_url(url))

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
        """Delete every key of this scorecard (and no other): for tests and ``--reset``. Returns how many went."""
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


def _describe(client: redis.Redis) -> str:
    """A password-free URL for error messages, rebuilt from the client's connection settings."""
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    scheme = "rediss" if issubclass(pool.connection_class, redis.SSLConnection) else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
