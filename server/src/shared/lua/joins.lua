-- Rooms one client address may join, counted across every instance: a bucket of `burst` joins
-- that fills again at `per_minute`, on Redis's clock (the instances' may differ). Standalone:
-- the address is not a room, so the rooms' prelude is not loaded.
--
-- KEYS[1]: loopback:joins:<address> (hash: tokens, at); ARGV[1]: burst; ARGV[2]: per minute.
-- Returns 1 if the address may join now (and counts it), else 0.
local burst, per_minute = tonumber(ARGV[1]), math.max(tonumber(ARGV[2]), 1)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(bucket[1]) or burst, tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(now - at, 0) * per_minute / 60000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
-- Once full again, a bucket says nothing a new one would not.
redis.call('PEXPIRE', KEYS[1], math.ceil(60000 * burst / per_minute) + 1000)
return allowed
