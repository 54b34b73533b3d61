-- A page takes its seat back on this instance by its token, which is spent for a fresh one. The
-- token is the proof: a seat another connection still holds changes hands (that connection's
-- instance finds out at its next renewal). Asked again after an answer lost on the way, it
-- answers the same.
--
-- ARGV[5]: the token shown; ARGV[6]: the fresh one; ARGV[7]: the connection; ARGV[8]: the
-- seat's time to live (ms).
-- Returns {'unknown'}, {'expired'}, or {'ok', peer, rank, taken, n, others (as describe),
-- inbox entries, 1 if it was away}.
local token, fresh, conn, seat_ttl = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local live = sweep()
local peer = redis.call('HGET', tokens_key, token)
local was_away = 0
if not peer then
  peer = redis.call('HGET', tokens_key, fresh)
  if not peer or not holds(peer, conn) then
    return {'unknown'}
  end
else
  if redis.call('EXISTS', seat_key(peer)) == 0 then
    redis.call('HDEL', tokens_key, token)
    return {'expired'}
  end
  local holder = redis.call('HGET', seat_key(peer), 'inst')
  if not holder or holder == '' then
    was_away = 1
  end
  redis.call('HSET', seat_key(peer), 'inst', me, 'conn', conn, 'token', fresh)
  redis.call('HDEL', tokens_key, token)
  redis.call('HSET', tokens_key, fresh, peer)
  if was_away == 1 then
    tell_others(peer, 'k', 'b', 'p', peer)
  end
end
redis.call('PEXPIRE', seat_key(peer), seat_ttl)
keep_room()
local h = redis.call('HMGET', seat_key(peer), 'rank', 'taken', 'n')
local entries = redis.call('XRANGE', inbox_key(peer), '-', '+')
return {'ok', tonumber(peer), tonumber(h[1]), tonumber(h[2]), tonumber(h[3]),
  describe(live, tonumber(peer)), entries, was_away}
