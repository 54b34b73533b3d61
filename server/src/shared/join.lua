-- One atomic join: the room's dead seats go, then the newcomer gets the next peer id and a rank
-- past everyone's (above, so polite toward each, unless the room's first seat wished otherwise),
-- or the answer that the room is full. Loaded after sweep.lua.
--
-- KEYS[1]: the room's seats (hash: peer id -> rank); KEYS[2]: its state (hash: next, np)
-- ARGV[1]: the prefix of its seat keys; ARGV[2]: the room's size
-- ARGV[3]: the first seat's wish: '' none, '1' polite toward whoever comes, '0' impolite
-- ARGV[4]: the instance holding the new seat; ARGV[5]: the seat's time to live (ms)
-- ARGV[6]: the room's time to live (ms), renewed with its seats
-- Returns {'ok' or 'full', peer, rank, live, gone}; live and gone as sweep's, before this join.
local live, gone = sweep(KEYS[1], ARGV[1])
if #live / 2 >= tonumber(ARGV[2]) then
  return {'full', 0, 0, live, gone}
end
local newcomers_polite
if #live == 0 then
  newcomers_polite = ARGV[3] ~= '1'
  redis.call('HSET', KEYS[2], 'np', newcomers_polite and '1' or '0')
else
  newcomers_polite = redis.call('HGET', KEYS[2], 'np') ~= '0'
end
local rank = 0
for i = 2, #live, 2 do
  local r = live[i]
  if i == 2 or (newcomers_polite and r > rank) or (not newcomers_polite and r < rank) then
    rank = r
  end
end
if #live > 0 then
  rank = newcomers_polite and rank + 1 or rank - 1
end
local peer = redis.call('HINCRBY', KEYS[2], 'next', 1)
redis.call('HSET', KEYS[1], peer, rank)
redis.call('SET', ARGV[1] .. peer, ARGV[4], 'PX', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {'ok', peer, rank, live, gone}
