-- A seat leaves its room, if its key still names this instance; a room left empty goes, so its
-- peer ids start from 1 again, as in one server's memory.
--
-- KEYS[1]: the seat's key; KEYS[2], KEYS[3]: its room's seats and state
-- ARGV[1]: the instance; ARGV[2]: the seat's peer id
-- Returns 1 if the seat left, 0 if it was not this instance's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3])
end
return 1
