-- A seat leaves its room on purpose, if this connection holds it; the others are told, and a
-- room left empty goes, so its peer ids start from 1 again, as in one server's memory.
--
-- ARGV[5]: the seat's peer id; ARGV[6]: the connection.
-- Returns 1 if the seat left, 0 if this connection did not hold it.
local peer, conn = ARGV[5], ARGV[6]
if not holds(peer, conn) then
  return 0
end
local token = redis.call('HGET', seat_key(peer), 'token')
redis.call('DEL', seat_key(peer), inbox_key(peer))
redis.call('HDEL', seats_key, peer)
if token then
  redis.call('HDEL', tokens_key, token)
end
tell_others(peer, 'k', 'l', 'p', peer)
if redis.call('HLEN', seats_key) == 0 then
  redis.call('DEL', seats_key, state_key, tokens_key)
end
return 1
