-- The person at a seat is called `name` from now on; the others are told.
--
-- ARGV[5]: the seat's peer id; ARGV[6]: the connection; ARGV[7]: the name.
-- Returns 1, or 0 if this connection does not hold the seat.
local peer, conn, name = ARGV[5], ARGV[6], ARGV[7]
if not holds(peer, conn) then
  return 0
end
redis.call('HSET', seat_key(peer), 'name', name)
tell_others(peer, 'k', 'm', 'p', peer, 'nm', name)
return 1
