/**
 * Lua shared by every script. KEYS[1] is the store's meta hash, `{mk:<prefix>}:meta`; every other key is derived from
 * it, so all keys of one store share the hash tag and live in one Redis Cluster slot.
 *
 * Numbers cross into Lua as doubles: epoch milliseconds and quantities stay far below 2^53, so they are exact, and
 * `int()` writes them back without an exponent. Quantities themselves are added with HINCRBY (64-bit, server side).
 *
 * Key layout under `base`:
 * - `:meta` hash: `cb` closedBefore, `seq` outbox order, `dseq` dead-letter order, `acc` accepted, `ok`/`ou` open keys/units
 * - `:hours` zset of open hours; `:oh:<hour>` hash keyId -> quantity; `:ol:<hour>` list of `<digest><keyId>` in arrival order
 * - `:r:<id>` hash per outbox record or dead letter: `k` keyId, `h` hour, `q` quantity, `a` attempts,
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

-- Adds usage to one open hour, remembering the key's arrival order for sealing.
local function addOpen(hour, keyId, digest, quantity)
  local h = int(hour)
  local hk = base .. ':oh:' .. h
  if redis.call('HSETNX', hk, keyId, 0) == 1 then
    redis.call('RPUSH', base .. ':ol:' .. h, digest .. keyId)
    redis.call('ZADD', base .. ':hours', hour, h)
    redis.call('HINCRBY', meta, 'ok', 1)
  end
  redis.call('HINCRBY', hk, keyId, quantity)
  redis.call('HINCRBY', meta, 'ou', quantity)
end

-- Puts a sealed (or requeued) record in the outbox, ready, after everything already there for its hour.
local function enqueue(id, keyId, hour, quantity, attempts)
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
  redis.call('ZADD', base .. ':outbox', hour, member)
  redis.call('ZADD', base .. ':ready', hour, member)
end

local function idOf(member)
  return string.sub(member, 18)
end
`;
