-- A signal from the seat `from` for the seat `to`, into the target's inbox, numbered there (the
-- page's resume point). Counted as taken from the sender whether or not it went anywhere (the
-- page counts what it sent); `seq` is that count after this one, so that a step asked again
-- after its answer was lost (Redis's connection dropped) is not taken twice.
--
-- ARGV[5]: from; ARGV[6]: the connection; ARGV[7]: to; ARGV[8]: the signal (JSON); ARGV[9]: seq.
-- Returns 'ok', 'again' (taken already), 'notin', 'unknown' or 'nopeer'.
local from, conn, to, body, seq = ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])
if not holds(from, conn) then
  return 'notin'
end
if tonumber(redis.call('HGET', seat_key(from), 'taken')) >= seq then
  return 'again'
end
redis.call('HSET', seat_key(from), 'taken', seq)
if body == '' then
  return 'ok'
end
if from == to then
  return 'unknown'
end
if redis.call('HEXISTS', seats_key, to) == 0 or redis.call('EXISTS', seat_key(to)) == 0 then
  if redis.call('HLEN', seats_key) <= 1 then
    return 'nopeer'
  end
  return 'unknown'
end
local n = redis.call('HINCRBY', seat_key(to), 'n', 1)
deliver(to, 'k', 's', 'p', from, 'n', n, 'b', body)
return 'ok'
