-- An instance keeps a seat its connection holds: the seat's expiry starts again, and its
-- room's and inbox's with it; not if the seat expired or another connection holds it now. The
-- room's dead seats go first (and those left are told): every room with a live seat is swept
-- as often as its seats are renewed, in the same step.
--
-- ARGV[5]: the seat's peer id; ARGV[6]: the connection; ARGV[7]: the seat's time to live (ms).
-- Returns 1 if the seat is still this connection's, else 0.
local peer, conn, seat_ttl = ARGV[5], ARGV[6], ARGV[7]
sweep()
if not holds(peer, conn) then
  return 0
end
redis.call('PEXPIRE', seat_key(peer), seat_ttl)
redis.call('PEXPIRE', inbox_key(peer), room_ttl)
keep_room()
return 1
