-- The seats of a room whose keys have expired (their instance stopped renewing them: it died or
-- lost Redis) leave it; what is left is returned. Shared by join.lua, which runs it first.
--
-- KEYS[1]: the room's seats, a hash of peer id -> rank
-- ARGV[1]: the prefix of its seat keys (the key of peer 3 is prefix .. 3)
-- Returns {live, gone}: live is {peer, rank, peer, rank, ...}, gone is {peer, ...}.
local function sweep(seats_key, seat_prefix)
  local live, gone = {}, {}
  local seats = redis.call('HGETALL', seats_key)
  for i = 1, #seats, 2 do
    if redis.call('EXISTS', seat_prefix .. seats[i]) == 1 then
      table.insert(live, tonumber(seats[i]))
      table.insert(live, tonumber(seats[i + 1]))
    else
      redis.call('HDEL', seats_key, seats[i])
      table.insert(gone, tonumber(seats[i]))
    end
  end
  return live, gone
end
