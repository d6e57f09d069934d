/** The script that claims due records under a lease, for the replica holding the submitter lease. */
import { PRELUDE } from './prelude.js';

/**
 * Claims due records for the submitter. ARGV: now, limit, leaseMillis, instance id, submitter lease (ms), claim prefix.
 * Only the instance holding the submitter lease (or taking over a lapsed one) gets records, so replicas share the
 * service's quota; the lease is renewed on every call. Expired record leases and retries whose time has come go back
 * to ready first. Returns `id, keyId, hourStart, quantity, attempts, claim, allocations` per claimed record.
 */
export const TAKE_DUE = `${PRELUDE}
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local leaseUntil = now + tonumber(ARGV[3])
local sub = base .. ':sub'
local owner = redis.call('HGET', sub, 'o')
if owner and owner ~= ARGV[4] and tonumber(redis.call('HGET', sub, 'u')) > now then return {} end
redis.call('HSET', sub, 'o', ARGV[4], 'u', int(now + tonumber(ARGV[5])))

local function makeReady(id)
  local rk = base .. ':r:' .. id
  local f = redis.call('HMGET', rk, 'h', 'm')
  redis.call('HSET', rk, 'st', 'r')
  redis.call('HDEL', rk, 'c')
  redis.call('ZADD', base .. ':ready', f[1], f[2])
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. ':leased', '-inf', int(now))) do
  redis.call('ZREM', base .. ':leased', id)
  makeReady(id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. ':waiting', '-inf', int(now))) do
  redis.call('ZREM', base .. ':waiting', id)
  makeReady(id)
end

local out = {}
if limit < 1 then return out end
for i, member in ipairs(redis.call('ZRANGE', base .. ':ready', 0, limit - 1)) do
  local id = idOf(member)
  local rk = base .. ':r:' .. id
  redis.call('ZREM', base .. ':ready', member)
  local attempts = redis.call('HINCRBY', rk, 'a', 1)
  local claim = ARGV[6] .. ':' .. i
  redis.call('HSET', rk, 'st', 'l', 'c', claim)
  redis.call('ZADD', base .. ':leased', leaseUntil, id)
  local f = redis.call('HMGET', rk, 'k', 'h', 'q', 'al')
  out[#out + 1] = id
  out[#out + 1] = f[1]
  out[#out + 1] = f[2]
  out[#out + 1] = f[3]
  out[#out + 1] = attempts
  out[#out + 1] = claim
  out[#out + 1] = f[4] or ''
end
return out
`;
