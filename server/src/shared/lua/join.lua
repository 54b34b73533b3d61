-- One atomic join: the room's dead seats go, then the newcomer gets the next peer id and a rank
-- past everyone's (above, so polite toward each, unless the room's first seat wished otherwise),
-- or the answer that the room is full. Everyone there is told, in their inboxes. Asked again
-- after an answer lost on the way (the same token and connection), it answers the same seat.
--
-- ARGV[5]: the room's size; ARGV[6]: the first seat's wish ('' none, '1' polite toward whoever
-- comes, '0' impolite); ARGV[7]: the connection; ARGV[8]: the seat's time to live (ms);
-- ARGV[9]: the newcomer's name; ARGV[10]: its resume token.
-- Returns {'ok' or 'full', peer, rank, others (as describe), gone}.
local size, wish, conn, seat_ttl = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local name, token = ARGV[9], ARGV[10]
local live, gone = sweep()
local already = redis.call('HGET', tokens_key, token)
if already and holds(already, conn) then
  local mine = tonumber(already)
  return {'ok', mine, tonumber(redis.call('HGET', seat_key(mine), 'rank')), describe(live, mine), gone}
end
if #live >= size then
  return {'full', 0, 0, {}, gone}
end
local newcomers_polite
if #live == 0 then
  newcomers_polite = wish ~= '1'
  redis.call('HSET', state_key, 'np', newcomers_polite and '1' or '0')
else
  newcomers_polite = redis.call('HGET', state_key, 'np') ~= '0'
end
local rank = 0
for i, seat in ipairs(live) do
  local r = seat[2]
  if i == 1 or (newcomers_polite and r > rank) or (not newcomers_polite and r < rank) then
    rank = r
  end
end
if #live > 0 then
  rank = newcomers_polite and rank + 1 or rank - 1
end
local peer = redis.call('HINCRBY', state_key, 'next', 1)
redis.call('HSET', seats_key, peer, rank)
-- A room that went and came back under the same name may have left an inbox behind.
redis.call('DEL', seat_key(peer), inbox_key(peer))
redis.call('HSET', seat_key(peer), 'inst', me, 'conn', conn, 'name', name, 'rank', rank,
  'taken', 0, 'n', 0, 'token', token)
redis.call('PEXPIRE', seat_key(peer), seat_ttl)
redis.call('HSET', tokens_key, token, peer)
keep_room()
for _, seat in ipairs(live) do
  deliver(seat[1], 'k', 'j', 'p', peer, 'r', rank, 'nm', name)
end
return {'ok', peer, rank, describe(live, -1), gone}
