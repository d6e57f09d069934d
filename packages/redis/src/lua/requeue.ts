/** The script that moves dead letters back into the outbox. */
import { PRELUDE } from './prelude.js';

/**
 * Moves dead letters (ARGV: ids) back into the outbox, ready at once, keeping their attempts: a record that was ever
 * sent must still be recognised as our own if the service echoes it back. Returns how many moved.
 */
export const REQUEUE = `${PRELUDE}
local moved = 0
for _, id in ipairs(ARGV) do
  local rk = base .. ':r:' .. id
  local f = redis.call('HMGET', rk, 'st', 'k', 'h', 'q', 'a', 'al')
  if f[1] == 'd' then
    redis.call('ZREM', base .. ':dead', id)
    redis.call('HDEL', rk, 'rs', 'dt', 'at')
    enqueue(id, f[2], tonumber(f[3]), tonumber(f[4]), tonumber(f[5]), f[6] or '')
    moved = moved + 1
  end
end
return moved
`;
