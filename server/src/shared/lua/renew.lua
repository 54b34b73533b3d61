-- An instance keeps the seats its connections hold: each seat's expiry starts again, and its
-- room's and inbox's with it; not a seat that expired or that another connection holds now.
-- Each room's dead seats go first (and those left are told): every room with a live seat is
-- swept as often as its seats are renewed, in the same step. One step for many seats: a step
-- each cost Redis, and the instance, a round trip per seat every few seconds.
--
-- ARGV[5]: the seats' time to live (ms); then, for each seat, its room, its peer id and the
-- connection. Returns, for each seat in turn, 1 if it is still this connection's, else 0.
local seat_ttl = ARGV[5]
local kept, swept = {}, {}
for i = 6, #ARGV - 2, 3 do
  local peer, conn = ARGV[i + 1], ARGV[i + 2]
  use_room(ARGV[i])
  if not swept[room] then
    sweep()
    swept[room] = true
  end
  if holds(peer, conn) then
    redis.call('PEXPIRE', seat_key(peer), seat_ttl)
    redis.call('PEXPIRE', inbox_key(peer), room_ttl)
    keep_room()
    kept[#kept + 1] = 1
  else
    kept[#kept + 1] = 0
  end
end
return kept
