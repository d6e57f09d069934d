/** The seal script: closes hours and moves their totals into the outbox as records, answering with counts. */
import { PRELUDE } from './prelude.js';

/**
 * Closes every hour before ARGV[1] and moves up to ARGV[2] of their entries into the outbox, oldest hour first, each
 * hour in arrival order. Returns `more` (0/1), the number of tag sets rolled into untagged allocations, the records
 * sealed and the sum of their quantities (each at most the per-record maximum, so the sum stays an exact double), and
 * then `keyId, hourStart, carried` per record cut down to the maximum, `carried` being the units moved to the next
 * hour. The records themselves stay in the outbox: nothing is sent back for them.
 */
export const SEAL = `${PRELUDE}
local cb = closedBefore()
local closeBefore = tonumber(ARGV[1])
if cb == nil or closeBefore > cb then
  cb = closeBefore
  redis.call('HSET', meta, 'cb', ARGV[1])
end
local limit = tonumber(ARGV[2])
local out = { 0, 0, 0, '0' }
local count = 0
local units = 0
-- The earliest closed hour is looked up afresh each time: an overflow carried into the next hour must be sealed
-- before any later hour, or a later hour could be sealed twice for the same key.
while count < limit do
  -- Overflow carried from the previous hour must be in its order list and the hours index before the lookup.
  flushOpen()
  local earliest = redis.call('ZRANGEBYSCORE', base .. ':hours', '-inf', '(' .. int(cb), 'LIMIT', 0, 1)
  if #earliest == 0 then break end
  local h = earliest[1]
  local hour = tonumber(h)
  local hk = base .. ':oh:' .. h
  local lk = base .. ':ol:' .. h
  local entries = redis.call('LRANGE', lk, 0, limit - count - 1)
  for _, entry in ipairs(entries) do
    local digest = string.sub(entry, 1, DIGEST_LENGTH)
    local keyId = string.sub(entry, DIGEST_LENGTH + 1)
    local quantity = tonumber(redis.call('HGET', hk, keyId)) - 1
    redis.call('HDEL', hk, keyId)
    openKeysDelta = openKeysDelta - 1
    openUnitsDelta = openUnitsDelta - quantity
    local carried = '0'
    if quantity > MAX_QUANTITY then carried = int(quantity - MAX_QUANTITY) end
    local tk = base .. ':ot:' .. h .. ':' .. digest
    local tagged = redis.call('HGETALL', tk)
    local allocations = ''
    if #tagged > 0 then
      -- Tagged usage: one record all the same, its allocations fixed here (and the excess of each part carried).
      redis.call('DEL', tk)
      local parts, rolled
      allocations, parts, rolled = sealAllocations(quantity, tagged)
      out[2] = out[2] + rolled
      for _, part in ipairs(parts) do addOpen(hour + HOUR, keyId, digest, int(part[2]), part[1]) end
    elseif quantity > MAX_QUANTITY then
      -- One record carries at most the service's maximum; the rest is billed in the next hour, never truncated.
      addOpen(hour + HOUR, keyId, digest, carried)
    end
    if quantity > MAX_QUANTITY then quantity = MAX_QUANTITY end
    enqueue(hourLabel(hour) .. '~' .. digest, keyId, hour, quantity, 0, allocations)
    if carried ~= '0' then
      out[#out + 1] = keyId
      out[#out + 1] = h
      out[#out + 1] = carried
    end
    count = count + 1
    units = units + quantity
  end
  redis.call('LTRIM', lk, #entries, -1)
  if redis.call('LLEN', lk) == 0 then
    redis.call('DEL', hk, lk)
    redis.call('ZREM', base .. ':hours', h)
  end
end
flushOpen()
out[3] = count
out[4] = int(units)
if redis.call('ZCOUNT', base .. ':hours', '-inf', '(' .. int(cb)) > 0 then out[1] = 1 end
return out
`;
