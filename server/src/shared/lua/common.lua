-- What every script shares: the room's keys, a delivery into a seat's inbox with its wake-up,
-- the holder check and the sweep of dead seats. Each script is this file followed by its own.
--
-- ARGV[1]: the room's name; ARGV[2]: this instance; ARGV[3]: an inbox's length at most;
-- ARGV[4]: the room's time to live (ms). A script's own arguments start at ARGV[5].
-- Keys: loopback:{room}:seats (hash: peer id -> rank), :state (hash: next, np), :tokens (hash:
-- resume token -> peer id), :seat:<peer> (hash: inst, conn, name, rank, taken, n, token; its
-- expiry is the seat's life), :inbox:<peer> (stream: what the seat's page is to be told).
local room, me, maxlen, room_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tag, seats_key, state_key, tokens_key

-- The room the functions below act on: the script's own, or each in turn in a step over the
-- seats of many rooms (the renewal).
local function use_room(name)
  room = name
  tag = 'loopback:{' .. room .. '}'
  seats_key, state_key, tokens_key = tag .. ':seats', tag .. ':state', tag .. ':tokens'
end
use_room(room)

local function seat_key(peer)
  return tag .. ':seat:' .. peer
end

local function inbox_key(peer)
  return tag .. ':inbox:' .. peer
end

-- An entry in peer's inbox, and a wake-up for the instance holding its seat now (none while the
-- seat is away: its page reads the inbox when it resumes). The wake-up carries the entry and the
-- id of the one before it, so that a reader that has that one delivers this without reading the
-- inbox: `room, peer, previous id, id, field, value, …`, a line each (every value is JSON or a
-- name, neither of which holds a line break).
local function deliver(peer, ...)
  local inbox = inbox_key(peer)
  local last = redis.call('XREVRANGE', inbox, '+', '-', 'COUNT', 1)
  local previous = ''
  if #last > 0 then
    previous = last[1][1]
  end
  local id = redis.call('XADD', inbox, 'MAXLEN', maxlen, '*', ...)
  redis.call('PEXPIRE', inbox, room_ttl)
  local holder = redis.call('HGET', seat_key(peer), 'inst')
  if holder and holder ~= '' then
    local wake = table.concat({room, peer, previous, id, ...}, '\n')
    redis.call('PUBLISH', 'loopback:wake:' .. holder, wake)
  end
end

-- The same entry for everyone in the room but `except`.
local function tell_others(except, ...)
  for _, peer in ipairs(redis.call('HKEYS', seats_key)) do
    if peer ~= tostring(except) then
      deliver(peer, ...)
    end
  end
end

-- Whether this instance's connection `conn` holds peer's seat.
local function holds(peer, conn)
  local h = redis.call('HMGET', seat_key(peer), 'inst', 'conn')
  return h[1] == me and h[2] == conn
end

-- The seats whose keys expired (their instance died, or an away seat's grace ran out) leave the
-- room, and those left are told; a room left with nobody goes, so its peer ids start from 1
-- again, as in one server's memory. Returns live ({peer, rank} each) and gone (peer ids).
local function sweep()
  local live, gone = {}, {}
  local seats = redis.call('HGETALL', seats_key)
  for i = 1, #seats, 2 do
    if redis.call('EXISTS', seat_key(seats[i])) == 1 then
      table.insert(live, {tonumber(seats[i]), tonumber(seats[i + 1])})
    else
      redis.call('HDEL', seats_key, seats[i])
      redis.call('DEL', inbox_key(seats[i]))
      table.insert(gone, tonumber(seats[i]))
    end
  end
  for _, peer in ipairs(gone) do
    for _, other in ipairs(live) do
      deliver(other[1], 'k', 'l', 'p', peer)
    end
  end
  if #live == 0 and #gone > 0 then
    redis.call('DEL', seats_key, state_key, tokens_key)
  end
  return live, gone
end

-- Everyone in live but `except`, as a page is told of them: {peer, rank, away (1 or 0), name}.
local function describe(live, except)
  local out = {}
  for _, seat in ipairs(live) do
    if seat[1] ~= except then
      local h = redis.call('HMGET', seat_key(seat[1]), 'inst', 'name')
      local away = (not h[1] or h[1] == '') and 1 or 0
      table.insert(out, {seat[1], seat[2], away, h[2] or ''})
    end
  end
  return out
end

-- The room lives as long as someone renews a seat in it, and a little longer.
local function keep_room()
  redis.call('PEXPIRE', seats_key, room_ttl)
  redis.call('PEXPIRE', state_key, room_ttl)
  redis.call('PEXPIRE', tokens_key, room_ttl)
end
