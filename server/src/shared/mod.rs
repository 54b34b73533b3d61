//! Rooms shared by several server instances through Redis: who sits in which room, by rules that
//! hold whatever the instances do at once.
//!
//! Each step that reads a room and changes it is one Lua script, so it is atomic in Redis: two
//! instances joining the last free seat at once get one seat and one "full", never two seats.
//! A seat is a key with an expiry that its instance keeps renewing (`renew`); an instance that
//! dies stops renewing, its seats' keys expire, and the next join or sweep of the room takes them
//! out. Roles come from ranks as in one server's memory ([`loopback_signal::polite`]), so the
//! two ends of every pair read opposite roles from the same two numbers.
//!
//! A room's keys share the hash tag `{room}`, so that a script's keys are in one slot. This is the
//! room part of the shared store; the messages between instances (a Stream per seat with pub/sub
//! as the wake-up) and the server's use of it come next (issue 18).

use loopback_signal::{polite, PeerId, RoomName};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use std::time::Duration;

/// How long Redis may take to answer before a step counts as failed: a join is refused in words
/// rather than left waiting while Redis is away.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a step on the shared rooms did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the rooms' store (Redis) cannot be reached; no one can join until it is back: {0}")]
    Unreachable(String),
    #[error("the rooms' store (Redis) answered something this server cannot read: {0}")]
    Unexpected(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            StoreError::Unreachable(e.to_string())
        } else {
            StoreError::Unexpected(e.to_string())
        }
    }
}

/// Someone in a room, as the store knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub peer: PeerId,
    /// The seat's rank: of two seats, the higher is the polite end.
    pub rank: i64,
}

/// What a join gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Joined {
    /// A seat: its peer id and rank, and everyone else there, each with this seat's role toward
    /// them.
    Seated {
        me: Member,
        others: Vec<(Member, bool)>,
        /// Seats found expired and taken out on the way: their rooms' pages are to be told.
        gone: Vec<PeerId>,
    },
    /// The room holds as many as it may.
    Full { gone: Vec<PeerId> },
}

/// What a sweep found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub live: Vec<Member>,
    /// Seats whose keys expired, now out of the room.
    pub gone: Vec<PeerId>,
}

/// The shared rooms, as one instance sees them.
#[derive(Clone)]
pub struct SharedRooms {
    redis: ConnectionManager,
    /// This instance, as its seats' keys name it.
    instance: String,
    size: usize,
    seat_ttl: Duration,
    scripts: std::sync::Arc<Scripts>,
}

struct Scripts {
    join: Script,
    sweep: Script,
    renew: Script,
    leave: Script,
}

const SWEEP: &str = include_str!("sweep.lua");

impl Scripts {
    fn new() -> Self {
        Self {
            join: Script::new(&format!("{SWEEP}\n{}", include_str!("join.lua"))),
            sweep: Script::new(&format!(
                "{SWEEP}\nlocal live, gone = sweep(KEYS[1], ARGV[1])\nreturn {{live, gone}}"
            )),
            renew: Script::new(include_str!("renew.lua")),
            leave: Script::new(include_str!("leave.lua")),
        }
    }
}

/// A room's keys: its seats, its state, and the prefix of its seats' keys.
struct Keys {
    seats: String,
    state: String,
    seat_prefix: String,
}

impl Keys {
    fn of(room: &RoomName) -> Self {
        // A room name is letters, digits, '-' and '_' (RoomName's rule): it cannot end a tag.
        let tag = format!("loopback:{{{room}}}");
        Self {
            seats: format!("{tag}:seats"),
            state: format!("{tag}:state"),
            seat_prefix: format!("{tag}:seat:"),
        }
    }

    fn seat(&self, peer: PeerId) -> String {
        format!("{}{peer}", self.seat_prefix)
    }
}

type Row = (String, i64, i64, Vec<i64>, Vec<i64>);

fn members(flat: &[i64]) -> Vec<Member> {
    flat.chunks_exact(2)
        .map(|pair| Member {
            peer: pair[0].unsigned_abs(),
            rank: pair[1],
        })
        .collect()
}

fn peers(ids: &[i64]) -> Vec<PeerId> {
    ids.iter().map(|id| id.unsigned_abs()).collect()
}

impl SharedRooms {
    /// Connects to Redis at `url` as `instance` (a name unique among the instances), for rooms
    /// of `size` whose seats live `seat_ttl` unless renewed. The connection comes back by itself
    /// after Redis drops it; steps in between fail as [`StoreError::Unreachable`].
    pub async fn connect(
        url: &str,
        instance: String,
        size: usize,
        seat_ttl: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError::Unexpected(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let redis = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            redis,
            instance,
            size: size.clamp(2, loopback_signal::room::MAX_SIZE),
            seat_ttl,
            scripts: std::sync::Arc::new(Scripts::new()),
        })
    }

    fn millis(duration: Duration) -> u64 {
        u64::try_from(duration.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// A room outlives its seats' expiry a little, so its peer ids keep counting while a seat is
    /// away, and goes by itself once no one renews it.
    fn room_ttl(&self) -> u64 {
        Self::millis(self.seat_ttl) * 4
    }

    /// Takes a seat in `room`, in one atomic step; in an empty room with the role the seat
    /// `wish`es toward whoever comes.
    pub async fn join(&self, room: &RoomName, wish: Option<bool>) -> Result<Joined, StoreError> {
        let keys = Keys::of(room);
        let wish = match wish {
            None => "",
            Some(true) => "1",
            Some(false) => "0",
        };
        let (status, peer, rank, live, gone): Row = self
            .scripts
            .join
            .key(&keys.seats)
            .key(&keys.state)
            .arg(&keys.seat_prefix)
            .arg(self.size)
            .arg(wish)
            .arg(&self.instance)
            .arg(Self::millis(self.seat_ttl))
            .arg(self.room_ttl())
            .invoke_async(&mut self.redis.clone())
            .await?;
        let gone = peers(&gone);
        match status.as_str() {
            "full" => Ok(Joined::Full { gone }),
            "ok" => {
                let me = Member {
                    peer: peer.unsigned_abs(),
                    rank,
                };
                let others = members(&live)
                    .into_iter()
                    .map(|other| (other, polite(rank, other.rank)))
                    .collect();
                Ok(Joined::Seated { me, others, gone })
            }
            other => Err(StoreError::Unexpected(format!("join answered {other:?}"))),
        }
    }

    /// Keeps `peer`'s seat in `room` for another expiry; false if it is no longer this
    /// instance's (it expired, or another instance holds it now).
    pub async fn renew(&self, room: &RoomName, peer: PeerId) -> Result<bool, StoreError> {
        let keys = Keys::of(room);
        let kept: i64 = self
            .scripts
            .renew
            .key(keys.seat(peer))
            .key(&keys.seats)
            .key(&keys.state)
            .arg(&self.instance)
            .arg(Self::millis(self.seat_ttl))
            .arg(self.room_ttl())
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(kept == 1)
    }

    /// `peer`'s seat leaves `room`; false if it was not this instance's.
    pub async fn leave(&self, room: &RoomName, peer: PeerId) -> Result<bool, StoreError> {
        let keys = Keys::of(room);
        let left: i64 = self
            .scripts
            .leave
            .key(keys.seat(peer))
            .key(&keys.seats)
            .key(&keys.state)
            .arg(&self.instance)
            .arg(peer)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(left == 1)
    }

    /// Takes the seats whose keys expired out of `room`, and says who is left and who went.
    pub async fn sweep(&self, room: &RoomName) -> Result<Swept, StoreError> {
        let keys = Keys::of(room);
        let (live, gone): (Vec<i64>, Vec<i64>) = self
            .scripts
            .sweep
            .key(&keys.seats)
            .arg(&keys.seat_prefix)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(Swept {
            live: members(&live),
            gone: peers(&gone),
        })
    }

    /// Whether Redis answers now: for `/readyz`.
    pub async fn reachable(&self) -> bool {
        let ping: Result<String, _> = redis::cmd("PING")
            .query_async(&mut self.redis.clone())
            .await;
        ping.is_ok()
    }
}
