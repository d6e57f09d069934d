/** Read-only scripts (pending records, dead letters, stats) and the submitter lease's release. */
import { PRELUDE } from './prelude.js';

/** Outbox records, oldest first. ARGV[1]: last index (-1 for all). Returns `keyId, hourStart, quantity, allocations` each. */
export const PENDING = `${PRELUDE}
local out = {}
for _, member in ipairs(redis.call('ZRANGE', base .. ':outbox', 0, tonumber(ARGV[1]))) do
  local f = redis.call('HMGET', base .. ':r:' .. idOf(member), 'k', 'h', 'q', 'al')
  out[#out + 1] = f[1]
  out[#out + 1] = f[2]
  out[#out + 1] = f[3]
  out[#out + 1] = f[4] or ''
end
return out
`;

/** Dead letters in the order they died. ARGV[1]: last index. Returns `keyId, hour, quantity, reason, detail, at, attempts, allocations`. */
export const DEAD_LETTERS = `${PRELUDE}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', base .. ':dead', 0, tonumber(ARGV[1]))) do
  local f = redis.call('HMGET', base .. ':r:' .. id, 'k', 'h', 'q', 'rs', 'dt', 'at', 'a', 'al')
  for j = 1, 7 do out[#out + 1] = f[j] end
  out[#out + 1] = f[8] or ''
end
return out
`;

/** One consistent snapshot of the counters `stats()` reports. */
export const STATS = `${PRELUDE}
local f = redis.call('HMGET', meta, 'ok', 'ou', 'cb', 'acc')
return {
  f[1] or '0', f[2] or '0', f[3] or '', f[4] or '0',
  redis.call('ZCARD', base .. ':ready'), redis.call('ZCARD', base .. ':waiting'),
  redis.call('ZCARD', base .. ':leased'), redis.call('ZCARD', base .. ':dead'),
}
`;

/** Hands the submitter lease back (ARGV[1]: instance id) if this instance holds it. */
export const RELEASE_SUBMITTER = `${PRELUDE}
if redis.call('HGET', base .. ':sub', 'o') == ARGV[1] then
  redis.call('DEL', base .. ':sub')
  return 1
end
return 0
`;
