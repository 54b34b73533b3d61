-- An instance keeps its seat: its key's expiry starts again, and its room's with it, if the key
-- still names this instance (not if it expired, or another instance took the seat over).
--
-- KEYS[1]: the seat's key; KEYS[2], KEYS[3]: its room's seats and state
-- ARGV[1]: the instance; ARGV[2]: the seat's time to live (ms); ARGV[3]: the room's (ms)
-- Returns 1 if the seat is still this instance's, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
