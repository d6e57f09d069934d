/** The script that settles claimed records: accepted, retry, dead letter or carried forward. */
import { PRELUDE } from './prelude.js';

/**
 * Settles claimed records. ARGV[1]: audit capacity; then `kind, id, claim, a, b, c` per settlement:
 * accepted `+<meteringRecordId>` or `-` (none), at; retry notBefore; dead reason, detail, at; carry (nothing).
 * A settlement whose claim no longer holds the record is stale and ignored. Returns `{ applied, stale }`.
 */
export const SETTLE = `${PRELUDE}
local capacity = tonumber(ARGV[1])
local applied = 0
local stale = 0
for i = 2, #ARGV, 6 do
  local kind, id, claim = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local rk = base .. ':r:' .. id
  local state = redis.call('HMGET', rk, 'st', 'c', 'k', 'h', 'q', 'm', 'a', 'al')
  if state[1] ~= 'l' or state[2] ~= claim then
    stale = stale + 1
  else
    applied = applied + 1
    local keyId, h, q, member = state[3], state[4], state[5], state[6]
    redis.call('ZREM', base .. ':leased', id)
    if kind == 'accepted' then
      redis.call('ZREM', base .. ':outbox', member)
      redis.call('DEL', rk)
      redis.call('HINCRBY', meta, 'acc', 1)
      redis.call('RPUSH', base .. ':audit', cjson.encode({ id, keyId, h, q, ARGV[i + 3], ARGV[i + 4] }))
      redis.call('LTRIM', base .. ':audit', -capacity, -1)
    elseif kind == 'retry' then
      redis.call('HSET', rk, 'st', 'w')
      redis.call('HDEL', rk, 'c')
      redis.call('ZADD', base .. ':waiting', ARGV[i + 3], id)
    elseif kind == 'dead' then
      redis.call('ZREM', base .. ':outbox', member)
      redis.call('HSET', rk, 'st', 'd', 'rs', ARGV[i + 3], 'dt', ARGV[i + 4], 'at', ARGV[i + 5])
      redis.call('HDEL', rk, 'c')
      redis.call('ZADD', base .. ':dead', redis.call('HINCRBY', meta, 'dseq', 1), id)
    elseif kind == 'carry' then
      -- Someone else billed this key and hour: bill the quantity in the next hour that is still open.
      redis.call('ZREM', base .. ':outbox', member)
      redis.call('DEL', rk)
      local target = tonumber(h) + HOUR
      local cb = closedBefore()
      if cb ~= nil and target < cb then target = cb end
      local digest = string.sub(id, -DIGEST_LENGTH)
      if state[8] then
        -- Its allocations go too, tag set by tag set, so the next hour's record allocates them the same way.
        for _, part in ipairs(cjson.decode(state[8])) do addOpen(target, keyId, digest, int(part[2]), part[1]) end
      else
        addOpen(target, keyId, digest, q)
      end
    end
  end
end
flushOpen()
return { applied, stale }
`;
