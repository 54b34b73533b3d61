-- A seat's connection was lost, or its instance hands it back on the way down: the seat is
-- nobody's, kept for the grace period for its page to resume anywhere; the others are told.
--
-- ARGV[5]: the seat's peer id; ARGV[6]: the connection; ARGV[7]: the grace (ms).
-- Returns 1 if the seat is away now, 0 if this connection did not hold it.
local peer, conn, grace = ARGV[5], ARGV[6], ARGV[7]
if not holds(peer, conn) then
  return 0
end
redis.call('HSET', seat_key(peer), 'inst', '', 'conn', '')
redis.call('PEXPIRE', seat_key(peer), grace)
tell_others(peer, 'k', 'a', 'p', peer)
return 1
