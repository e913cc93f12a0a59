-- The cascade. Phase 1 reads and computes everything in Lua tables and checks every bound; phase 2 writes. An error
-- raised in phase 1 (number out of range, shrinking own state, corrupt value) therefore leaves Redis untouched.
-- Subtree states touched by several entries of the batch (every entry reaches the root) are read and written once.
--
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
