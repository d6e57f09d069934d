/**
 * Lua shared by every script. KEYS[1] is the store's meta hash, `{mk:<prefix>}:meta`; every other key is derived from
 * it, so all keys of one store share the hash tag and live in one Redis Cluster slot.
 *
 * Numbers cross into Lua as doubles, exact up to 2^53. Epoch milliseconds stay far below that, and `int()` writes them
 * back without an exponent. Quantities are added with HINCRBY (64-bit, server side), and a stored total never passes
 * 2^53 - 1 (what does not fit moves to the next hour), so reading it back into Lua is exact too.
 *
 * Key layout under `base`:
 * - `:meta` hash: `cb` closedBefore, `seq` outbox order, `dseq` dead-letter order, `acc` accepted, `ok`/`ou` open keys/units
 * - `:hours` zset of open hours; `:oh:<hour>` hash keyId -> 1 + quantity; `:ol:<hour>` list of `<digest><keyId>` in arrival order;
 *   `:ot:<hour>:<digest>` hash tag set id -> quantity, the tagged parts of that key's total (only for tagged usage)
 * - `:r:<id>` hash per outbox record or dead letter: `k` keyId, `h` hour, `q` quantity, `al` allocations (JSON
 *   `[[tagSetId, quantity], ...]`, only for tagged usage), `a` attempts,
 *   `st` r(eady)/w(aiting)/l(eased)/d(ead), `c` claim, `m` order member; dead letters add `rs` reason, `dt` detail, `at`
 * - `:outbox` and `:ready` zsets (score hour, member `<16-digit seq>|<id>`), `:waiting` (score notBefore),
 *   `:leased` (score leaseUntil), `:dead` (score dead-letter order), members ids
 * - `:audit` list (JSON, capped); `:sub` hash (submitter lease `o` owner, `u` until); `:b:<batch>` applied checkpoints
 */
export const PRELUDE = `
local meta = KEYS[1]
local base = string.sub(meta, 1, -6)
local HOUR = 3600000
local MAX_QUANTITY = 2147483647
local MAX_ALLOCATIONS = 2500
local MAX_TAG_KEYS = 5
local MAX_ALLOCATION_BYTES = 900000
local ALLOCATION_OVERHEAD_BYTES = 160
-- The most a stored total (quantity + 1) may reach: 2^53 - 1, the largest integer a Lua number holds exactly.
local STORED_MAX = 9007199254740991
local DIGEST_LENGTH = 22

local function int(n)
  -- '%.0f' writes negative zero as '-0', which HINCRBY refuses.
  if n == 0 then return '0' end
  return string.format('%.0f', n)
end

-- ISO form of an hour start, as core's formatHour: 2026-11-26T10:00Z (days-from-civil inverted, all integer maths).
local function hourLabel(ms)
  local hours = math.floor(ms / HOUR)
  local z = math.floor(hours / 24)
  local hh = hours - z * 24
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:00Z', y, m, d, hh)
end

local function closedBefore()
  local cb = redis.call('HGET', meta, 'cb')
  if cb then return tonumber(cb) end
  return nil
end

-- Changes to the open hours made by this script, written once at the end (flushOpen): open-key and open-unit
-- counts, and per hour the keys that arrived (appended to the hour's order list in one RPUSH per 500).
local openKeysDelta = 0
local openUnitsDelta = 0
local touchedHours = {}
local touchedOrder = {}

local function hourOf(hour)
  local entry = touchedHours[hour]
  if entry == nil then
    local h = int(hour)
    entry = { label = h, hash = base .. ':oh:' .. h, list = base .. ':ol:' .. h, hour = hour, arrived = {} }
    touchedHours[hour] = entry
    touchedOrder[#touchedOrder + 1] = entry
  end
  return entry
end

local function countUnits(units)
  -- Flushed early so the running sum stays exact as a Lua number.
  if openUnitsDelta + units > 4503599627370496 then
    redis.call('HINCRBY', meta, 'ou', int(openUnitsDelta))
    openUnitsDelta = 0
  end
  openUnitsDelta = openUnitsDelta + units
end

-- Adds tagged usage to its tag set's part of a key's total in one open hour.
local function addTaggedPart(entry, digest, tags, quantity)
  redis.call('HINCRBY', base .. ':ot:' .. entry.label .. ':' .. digest, tags, quantity)
end

-- Adds usage (a quantity string, at most 2^53 - 1) to one open hour, remembering the key's arrival order for sealing.
-- A tagged part (tags not empty) also goes to its tag set's part of the key's total.
local function addOpen(hour, keyId, digest, quantity, tags)
  local entry = hourOf(hour)
  local isTagged = tags ~= nil and tags ~= ''
  local added = tonumber(quantity)
  -- Stored totals carry +1, so a result equal to what was added means the key is new to this hour: one call for a
  -- key already there (the common case), two for a new one.
  local stored = redis.call('HINCRBY', entry.hash, keyId, quantity)
  if stored == added then
    stored = redis.call('HINCRBY', entry.hash, keyId, 1)
    entry.arrived[#entry.arrived + 1] = digest .. keyId
    openKeysDelta = openKeysDelta + 1
  end
  if stored > STORED_MAX then
    -- Past exact maths (the comparison holds even on a rounded reply): undo, fill the total up to the bound, and move
    -- the rest (under the same tags) to the next hour, as a sealed overflow is. The undo is exact: HINCRBY counts in
    -- 64 bits.
    local before = redis.call('HINCRBY', entry.hash, keyId, '-' .. quantity)
    local room = STORED_MAX - before
    redis.call('HSET', entry.hash, keyId, int(STORED_MAX))
    if isTagged and room > 0 then addTaggedPart(entry, digest, tags, int(room)) end
    countUnits(room)
    addOpen(hour + HOUR, keyId, digest, int(added - room), tags)
    return
  end
  if isTagged then addTaggedPart(entry, digest, tags, quantity) end
  countUnits(added)
end

local function flushOpen()
  for _, entry in ipairs(touchedOrder) do
    local arrived = entry.arrived
    if #arrived > 0 then
      for from = 1, #arrived, 500 do
        redis.call('RPUSH', entry.list, unpack(arrived, from, math.min(from + 499, #arrived)))
      end
      redis.call('ZADD', base .. ':hours', entry.hour, entry.label)
      entry.arrived = {}
    end
  end
  if openKeysDelta ~= 0 then redis.call('HINCRBY', meta, 'ok', int(openKeysDelta)) end
  if openUnitsDelta ~= 0 then redis.call('HINCRBY', meta, 'ou', int(openUnitsDelta)) end
  openKeysDelta = 0
  openUnitsDelta = 0
end

-- Puts a sealed (or requeued) record in the outbox, ready, after everything already there for its hour.
local function enqueue(id, keyId, hour, quantity, attempts, allocations)
  local rk = base .. ':r:' .. id
  local old = redis.call('HGET', rk, 'm')
  if old then
    redis.call('ZREM', base .. ':outbox', old)
    redis.call('ZREM', base .. ':ready', old)
    redis.call('ZREM', base .. ':waiting', id)
    redis.call('ZREM', base .. ':leased', id)
    redis.call('ZREM', base .. ':dead', id)
    redis.call('DEL', rk)
  end
  local seq = redis.call('HINCRBY', meta, 'seq', 1)
  local member = string.format('%016.0f', seq) .. '|' .. id
  redis.call('HSET', rk, 'k', keyId, 'h', int(hour), 'q', int(quantity), 'a', int(attempts), 'st', 'r', 'm', member)
  if allocations ~= nil and allocations ~= '' then redis.call('HSET', rk, 'al', allocations) end
  redis.call('ZADD', base .. ':outbox', hour, member)
  redis.call('ZADD', base .. ':ready', hour, member)
end

-- A key's allocations at seal, as core's sealAllocations: tag sets in sorted order, those bringing a sixth distinct
-- key, passing the byte budget or past the allocation limit rolled into the untagged part, and above the per-record maximum each part filled in that order with its excess
-- carried. \`flat\` is HGETALL of the key's tagged parts. Returns the allocations JSON (or '' when nothing is tagged),
-- the carried parts as { tagSetId, quantity } pairs, and how many tag sets were rolled up.
local function sealAllocations(total, flat)
  local ids = {}
  local parts = {}
  for i = 1, #flat, 2 do
    local q = tonumber(flat[i + 1])
    if q > 0 then
      ids[#ids + 1] = flat[i]
      parts[flat[i]] = q
    end
  end
  if #ids == 0 then
    if total > MAX_QUANTITY then return '', { { '', total - MAX_QUANTITY } }, 0 end
    return '', {}, 0
  end
  table.sort(ids)
  local untagged = total
  for _, id in ipairs(ids) do untagged = untagged - parts[id] end
  -- At most five distinct tag keys across a record's allocations: a tag set bringing a sixth is billed untagged.
  local keys = {}
  local keyCount = 0
  local kept = {}
  local rolled = 0
  local bytes = ALLOCATION_OVERHEAD_BYTES
  for _, id in ipairs(ids) do
    local fresh = {}
    for _, tag in ipairs(cjson.decode(id)) do
      if not keys[tag[1]] then fresh[#fresh + 1] = tag[1] end
    end
    local cost = ALLOCATION_OVERHEAD_BYTES + #id
    if keyCount + #fresh > MAX_TAG_KEYS or bytes + cost > MAX_ALLOCATION_BYTES then
      untagged = untagged + parts[id]
      rolled = rolled + 1
    else
      for _, key in ipairs(fresh) do keys[key] = true end
      keyCount = keyCount + #fresh
      bytes = bytes + cost
      kept[#kept + 1] = id
    end
  end
  ids = kept
  local room = MAX_ALLOCATIONS
  if untagged > 0 or #ids > MAX_ALLOCATIONS then room = MAX_ALLOCATIONS - 1 end
  if #ids > room then
    for j = #ids, room + 1, -1 do
      untagged = untagged + parts[ids[j]]
      ids[j] = nil
      rolled = rolled + 1
    end
  end
  local all = {}
  if untagged > 0 then all[1] = { '', untagged } end
  for _, id in ipairs(ids) do all[#all + 1] = { id, parts[id] } end
  local sealed = all
  local carried = {}
  if total > MAX_QUANTITY then
    sealed = {}
    local left = MAX_QUANTITY
    for _, part in ipairs(all) do
      local billed = math.min(left, part[2])
      left = left - billed
      if billed > 0 then sealed[#sealed + 1] = { part[1], billed } end
      if part[2] > billed then carried[#carried + 1] = { part[1], part[2] - billed } end
    end
  end
  if #sealed == 0 then return '', carried, rolled end
  return cjson.encode(sealed), carried, rolled
end

local function idOf(member)
  return string.sub(member, 18)
end
`;
