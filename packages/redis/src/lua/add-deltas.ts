/** The checkpoint script: adds a batch of deltas to the open hours, once, redirecting late usage. */
import { PRELUDE } from './prelude.js';

/**
 * Merges one checkpoint. ARGV: batch id, batch memory (ms), then `keyId, digest, hourStart, quantity, tagSetId` per
 * delta (tag set id empty for untagged usage).
 * Atomic with sealing, so a delta for an hour sealed a moment ago lands in the earliest open hour, never in a sealed
 * one. A batch id seen before is ignored: a checkpoint resent after a lost reply is not counted twice.
 */
export const ADD_DELTAS = `${PRELUDE}
if not redis.call('SET', base .. ':b:' .. ARGV[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end
local cb = closedBefore()
for i = 3, #ARGV, 5 do
  local hour = tonumber(ARGV[i + 2])
  if cb ~= nil and hour < cb then hour = cb end
  addOpen(hour, ARGV[i], ARGV[i + 1], ARGV[i + 3], ARGV[i + 4])
end
flushOpen()
return 1
`;
