//! The rooms in Redis, one Lua script a step: each step reads a room and changes it atomically,
//! so two instances joining the last free seat at once get one seat and one "full".

use loopback_signal::{PeerId, RoomName};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::IntoConnectionInfo;
use redis::{Script, ScriptInvocation};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long Redis may take to answer before a step counts as failed: a join is refused in words
/// rather than left waiting while Redis is away.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a step that may be asked twice is asked again while Redis's connection comes back
/// (the connection manager reconnects at once after a dropped connection, but a loaded machine
/// may take a while), and how long apart.
const RETRY_FOR: Duration = Duration::from_secs(3);
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// Inbox entries read at once.
pub const READ_BATCH: usize = 256;

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
            || e.is_unrecoverable_error()
        {
            StoreError::Unreachable(e.to_string())
        } else {
            StoreError::Unexpected(e.to_string())
        }
    }
}

impl From<redis::ParsingError> for StoreError {
    fn from(e: redis::ParsingError) -> Self {
        StoreError::Unexpected(e.to_string())
    }
}

/// Someone in a room, as the store ranks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub peer: PeerId,
    /// The seat's rank: of two seats, the higher is the polite end.
    pub rank: i64,
}

/// Someone in a room, as a page is told of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub member: Member,
    /// Their page's connection was lost, and the seat waits for it.
    pub away: bool,
    pub name: String,
}

/// What a join gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Joined {
    /// A seat, and everyone else there, oldest first.
    Seated {
        me: Member,
        others: Vec<Person>,
        /// Seats found expired and taken out on the way (their rooms' pages were told).
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

/// What a resume found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resumed {
    /// The token was never issued, or was spent.
    Unknown,
    /// The token's seat is gone: it was away longer than the grace.
    Expired,
    /// The seat, now this connection's.
    Seat {
        me: Member,
        /// Signals the server took from this seat.
        taken: u64,
        /// Signals given to this seat so far.
        given: u64,
        others: Vec<Person>,
        /// The seat's inbox as it is, oldest first.
        inbox: Vec<Entry>,
        was_away: bool,
    },
}

/// What a relay did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relayed {
    Delivered,
    /// Taken already, by this same step asked before.
    Again,
    /// The connection does not hold the seat.
    NotInRoom,
    UnknownPeer,
    NoPeer,
}

/// One entry of a seat's inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its id in the stream, to read on after.
    pub id: String,
    pub event: Event,
}

/// What an inbox entry says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The `n`th signal given to this seat, from `from`, as JSON.
    Signal {
        from: PeerId,
        n: u64,
        body: String,
    },
    Joined {
        peer: PeerId,
        rank: i64,
        name: String,
    },
    Left {
        peer: PeerId,
    },
    Away {
        peer: PeerId,
    },
    Back {
        peer: PeerId,
    },
    Named {
        peer: PeerId,
        name: String,
    },
    /// Written by something else: skipped.
    Unknown,
}

/// How an entry comes from Redis: its id and its fields, name and value in turn.
type RawEntry = (String, Vec<String>);

impl Entry {
    fn parse((id, fields): RawEntry) -> Self {
        let field = |name: &str| {
            fields
                .chunks_exact(2)
                .find(|pair| pair[0] == name)
                .map(|pair| pair[1].as_str())
        };
        let number = |name: &str| field(name).and_then(|v| v.parse::<i64>().ok());
        let peer = number("p").map(i64::unsigned_abs);
        let text = |name: &str| field(name).unwrap_or_default().to_owned();
        let event = match (field("k"), peer) {
            (Some("s"), Some(from)) => Event::Signal {
                from,
                n: number("n").map_or(0, i64::unsigned_abs),
                body: text("b"),
            },
            (Some("j"), Some(peer)) => Event::Joined {
                peer,
                rank: number("r").unwrap_or_default(),
                name: text("nm"),
            },
            (Some("l"), Some(peer)) => Event::Left { peer },
            (Some("a"), Some(peer)) => Event::Away { peer },
            (Some("b"), Some(peer)) => Event::Back { peer },
            (Some("m"), Some(peer)) => Event::Named {
                peer,
                name: text("nm"),
            },
            _ => Event::Unknown,
        };
        Self { id, event }
    }
}

/// The shared rooms, as one instance sees them.
#[derive(Clone)]
pub struct SharedRooms {
    redis: ConnectionManager,
    client: redis::Client,
    /// This instance, as its seats name it.
    instance: String,
    size: usize,
    seat_ttl: Duration,
    scripts: Arc<Scripts>,
}

struct Scripts {
    join: Script,
    sweep: Script,
    renew: Script,
    leave: Script,
    away: Script,
    resume: Script,
    relay: Script,
    rename: Script,
    joins: Script,
}

impl Scripts {
    fn new() -> Self {
        let script = |own: &str| Script::new(&format!("{}\n{own}", include_str!("lua/common.lua")));
        Self {
            join: script(include_str!("lua/join.lua")),
            sweep: script(include_str!("lua/sweep.lua")),
            renew: script(include_str!("lua/renew.lua")),
            leave: script(include_str!("lua/leave.lua")),
            away: script(include_str!("lua/away.lua")),
            resume: script(include_str!("lua/resume.lua")),
            relay: script(include_str!("lua/relay.lua")),
            rename: script(include_str!("lua/rename.lua")),
            joins: Script::new(include_str!("lua/joins.lua")),
        }
    }
}

/// The tag every key of `room` starts with: one hash slot for all of a room's keys.
fn tag(room: &RoomName) -> String {
    // A room name is letters, digits, '-' and '_' (RoomName's rule): it cannot end a tag.
    format!("loopback:{{{room}}}")
}

/// The channel on which `instance` is told that one of its seats has something in its inbox.
pub fn wake_channel(instance: &str) -> String {
    format!("loopback:wake:{instance}")
}

/// A wake-up: for which seat, and the entry added to its inbox after `previous` (empty: the
/// inbox was empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wake {
    pub room: String,
    pub peer: PeerId,
    pub previous: String,
    pub entry: Entry,
}

impl Wake {
    /// A wake-up as `common.lua` publishes it: a line each for the room, the peer, the previous
    /// id, the id, then the entry's fields and values.
    pub fn parse(text: &str) -> Option<Self> {
        let mut lines = text.split('\n');
        let room = lines.next()?.to_owned();
        let peer = lines.next()?.parse().ok()?;
        let previous = lines.next()?.to_owned();
        let id = lines.next()?.to_owned();
        let fields = lines.map(str::to_owned).collect();
        Some(Self {
            room,
            peer,
            previous,
            entry: Entry::parse((id, fields)),
        })
    }
}

/// Stream ids in order: `<milliseconds>-<sequence>`.
pub fn stream_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Who a `(room, people, gone)` answer describes: {peer, rank, away, name} each.
type RawPerson = (i64, i64, i64, String);

fn people(raw: Vec<RawPerson>) -> Vec<Person> {
    let mut people: Vec<Person> = raw
        .into_iter()
        .map(|(peer, rank, away, name)| Person {
            member: Member {
                peer: peer.unsigned_abs(),
                rank,
            },
            away: away == 1,
            name,
        })
        .collect();
    // Peer ids are given in join order: oldest first.
    people.sort_by_key(|p| p.member.peer);
    people
}

fn peers(ids: &[i64]) -> Vec<PeerId> {
    ids.iter().map(|id| id.unsigned_abs()).collect()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A client of the Redis at `url` whose connections send each step at once: redis-rs leaves
/// Nagle's algorithm on, and a step sent while another is unanswered (several pages' signals
/// share one connection) would wait for that answer's ACK.
fn client(url: &str) -> Result<redis::Client, StoreError> {
    let info = url
        .into_connection_info()
        .map_err(|e| StoreError::Unexpected(e.to_string()))?;
    let nodelay = info.tcp_settings().clone().set_nodelay(true);
    redis::Client::open(info.set_tcp_settings(nodelay))
        .map_err(|e| StoreError::Unexpected(e.to_string()))
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
        let client = client(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let redis = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self {
            redis,
            client,
            instance,
            size: size.clamp(2, loopback_signal::room::MAX_SIZE),
            seat_ttl,
            scripts: Arc::new(Scripts::new()),
        })
    }

    /// This instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The client, for a connection of another kind (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// How many seats a room holds.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How long a seat lives unless renewed.
    pub fn seat_ttl(&self) -> Duration {
        self.seat_ttl
    }

    /// A room outlives its seats' expiry a little, so its peer ids keep counting while a seat is
    /// away, and goes by itself once no one renews it.
    fn room_ttl(&self) -> u64 {
        millis(self.seat_ttl).saturating_mul(4).max(120_000)
    }

    /// An inbox holds what a page away during everyone's setup needs, twice over (room events
    /// come between the signals).
    fn inbox_length(&self) -> usize {
        2 * crate::hub::replay_capacity(self.size)
    }

    /// `script` for `room`, with the arguments every script starts with.
    fn invocation<'a>(&self, script: &'a Script, room: &RoomName) -> ScriptInvocation<'a> {
        let mut invocation = script.key(format!("{}:seats", tag(room)));
        invocation
            .arg(room.as_str())
            .arg(&self.instance)
            .arg(self.inbox_length())
            .arg(self.room_ttl());
        invocation
    }

    /// Runs `step` and, if Redis's connection dropped meanwhile, again (it comes back at once):
    /// only for steps that may be asked twice.
    async fn again<T, F, Fut>(&self, mut step: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        loop {
            match step().await {
                Err(StoreError::Unreachable(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(RETRY_AFTER).await;
                }
                answer => return answer,
            }
        }
    }

    /// Takes a seat in `room` for this instance's connection `conn`, as `name` with `token`, in
    /// one atomic step; in an empty room with the role the seat `wish`es toward whoever comes.
    /// Asked again after Redis's connection dropped, it gives the seat it gave, never a second.
    pub async fn join(
        &self,
        room: &RoomName,
        conn: u64,
        name: &str,
        wish: Option<bool>,
        token: &str,
    ) -> Result<Joined, StoreError> {
        let wish = match wish {
            None => "",
            Some(true) => "1",
            Some(false) => "0",
        };
        self.again(|| async {
            let mut invocation = self.invocation(&self.scripts.join, room);
            invocation
                .arg(self.size)
                .arg(wish)
                .arg(conn)
                .arg(millis(self.seat_ttl))
                .arg(name)
                .arg(token);
            let (status, peer, rank, others, gone): (String, i64, i64, Vec<RawPerson>, Vec<i64>) =
                invocation.invoke_async(&mut self.redis.clone()).await?;
            let gone = peers(&gone);
            match status.as_str() {
                "full" => Ok(Joined::Full { gone }),
                "ok" => Ok(Joined::Seated {
                    me: Member {
                        peer: peer.unsigned_abs(),
                        rank,
                    },
                    others: people(others),
                    gone,
                }),
                other => Err(StoreError::Unexpected(format!("join answered {other:?}"))),
            }
        })
        .await
    }

    /// Runs a step on one seat that answers 1 or 0.
    async fn seat_step(
        &self,
        script: &Script,
        room: &RoomName,
        peer: PeerId,
        conn: u64,
        extra: Option<String>,
    ) -> Result<bool, StoreError> {
        self.again(|| async {
            let mut invocation = self.invocation(script, room);
            invocation.arg(peer).arg(conn);
            if let Some(extra) = &extra {
                invocation.arg(extra);
            }
            let done: i64 = invocation.invoke_async(&mut self.redis.clone()).await?;
            Ok(done == 1)
        })
        .await
    }

    /// Keeps `peer`'s seat in `room` for another expiry; false if connection `conn` of this
    /// instance no longer holds it (it expired, or a resume moved it).
    pub async fn renew(
        &self,
        room: &RoomName,
        peer: PeerId,
        conn: u64,
    ) -> Result<bool, StoreError> {
        let kept = self.renew_many(&[(room.clone(), peer, conn)]).await?;
        Ok(kept.first() == Some(&true))
    }

    /// [`SharedRooms::renew`] for each of `seats` (room, peer id, connection), in one step:
    /// whether each is still its connection's. Asked once, not again while Redis is away: the
    /// instance's renewals ask for what was not taken at their next part anyway.
    pub async fn renew_many(
        &self,
        seats: &[(RoomName, PeerId, u64)],
    ) -> Result<Vec<bool>, StoreError> {
        let Some((first, _, _)) = seats.first() else {
            return Ok(Vec::new());
        };
        let mut invocation = self.invocation(&self.scripts.renew, first);
        invocation.arg(millis(self.seat_ttl).to_string());
        for (room, peer, conn) in seats {
            invocation.arg(room.as_str()).arg(peer).arg(conn);
        }
        let kept: Vec<i64> = invocation.invoke_async(&mut self.redis.clone()).await?;
        Ok(kept.into_iter().map(|k| k == 1).collect())
    }

    /// `peer`'s seat leaves `room`; false if `conn` did not hold it.
    pub async fn leave(
        &self,
        room: &RoomName,
        peer: PeerId,
        conn: u64,
    ) -> Result<bool, StoreError> {
        self.seat_step(&self.scripts.leave, room, peer, conn, None)
            .await
    }

    /// `peer`'s seat is nobody's for `grace`, for its page to resume anywhere; false if `conn`
    /// did not hold it.
    pub async fn away(
        &self,
        room: &RoomName,
        peer: PeerId,
        conn: u64,
        grace: Duration,
    ) -> Result<bool, StoreError> {
        let grace = millis(grace).to_string();
        self.seat_step(&self.scripts.away, room, peer, conn, Some(grace))
            .await
    }

    /// The person at `peer` is called `name`; false if `conn` does not hold the seat.
    pub async fn rename(
        &self,
        room: &RoomName,
        peer: PeerId,
        conn: u64,
        name: &str,
    ) -> Result<bool, StoreError> {
        self.seat_step(
            &self.scripts.rename,
            room,
            peer,
            conn,
            Some(name.to_owned()),
        )
        .await
    }

    /// Gives `conn` the seat `token` names in `room`, spending the token for `fresh`.
    pub async fn resume(
        &self,
        room: &RoomName,
        token: &str,
        fresh: &str,
        conn: u64,
    ) -> Result<Resumed, StoreError> {
        self.again(|| async {
            let mut invocation = self.invocation(&self.scripts.resume, room);
            invocation
                .arg(token)
                .arg(fresh)
                .arg(conn)
                .arg(millis(self.seat_ttl));
            let answer: redis::Value = invocation.invoke_async(&mut self.redis.clone()).await?;
            let status: Vec<redis::Value> = redis::from_redis_value(answer.clone())?;
            let status: String = match status.first() {
                Some(value) => redis::from_redis_value(value.clone())?,
                None => return Err(StoreError::Unexpected("resume answered nothing".into())),
            };
            match status.as_str() {
                "unknown" => Ok(Resumed::Unknown),
                "expired" => Ok(Resumed::Expired),
                "ok" => {
                    type Row = (
                        String,
                        i64,
                        i64,
                        i64,
                        i64,
                        Vec<RawPerson>,
                        Vec<RawEntry>,
                        i64,
                    );
                    let (_, peer, rank, taken, given, others, inbox, was_away): Row =
                        redis::from_redis_value(answer)?;
                    Ok(Resumed::Seat {
                        me: Member {
                            peer: peer.unsigned_abs(),
                            rank,
                        },
                        taken: taken.unsigned_abs(),
                        given: given.unsigned_abs(),
                        others: people(others),
                        inbox: inbox.into_iter().map(Entry::parse).collect(),
                        was_away: was_away == 1,
                    })
                }
                other => Err(StoreError::Unexpected(format!("resume answered {other:?}"))),
            }
        })
        .await
    }

    /// A signal (`body`, JSON; empty for one that goes nowhere but counts) from `from`, held by
    /// `conn`, to `to`; `seq` is how many the sender will have sent with this one.
    pub async fn relay(
        &self,
        room: &RoomName,
        from: PeerId,
        conn: u64,
        to: PeerId,
        body: &str,
        seq: u64,
    ) -> Result<Relayed, StoreError> {
        self.again(|| async {
            let mut invocation = self.invocation(&self.scripts.relay, room);
            invocation.arg(from).arg(conn).arg(to).arg(body).arg(seq);
            let answer: String = invocation.invoke_async(&mut self.redis.clone()).await?;
            match answer.as_str() {
                "ok" => Ok(Relayed::Delivered),
                "again" => Ok(Relayed::Again),
                "notin" => Ok(Relayed::NotInRoom),
                "unknown" => Ok(Relayed::UnknownPeer),
                "nopeer" => Ok(Relayed::NoPeer),
                other => Err(StoreError::Unexpected(format!("relay answered {other:?}"))),
            }
        })
        .await
    }

    /// The entries of `peer`'s inbox after `after` (from the start if none), at most
    /// [`READ_BATCH`].
    pub async fn read(
        &self,
        room: &RoomName,
        peer: PeerId,
        after: Option<&str>,
    ) -> Result<Vec<Entry>, StoreError> {
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
        let raw: Vec<RawEntry> = redis::cmd("XRANGE")
            .arg(format!("{}:inbox:{peer}", tag(room)))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(READ_BATCH)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(raw.into_iter().map(Entry::parse).collect())
    }

    /// How many people are in `room`.
    pub async fn count(&self, room: &RoomName) -> Result<usize, StoreError> {
        let seats: usize = redis::cmd("HLEN")
            .arg(format!("{}:seats", tag(room)))
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(seats)
    }

    /// Takes the seats whose keys expired out of `room` (those left are told), and says who is
    /// left and who went.
    pub async fn sweep(&self, room: &RoomName) -> Result<Swept, StoreError> {
        self.again(|| async {
            let (live, gone): (Vec<(i64, i64)>, Vec<i64>) = self
                .invocation(&self.scripts.sweep, room)
                .invoke_async(&mut self.redis.clone())
                .await?;
            Ok(Swept {
                live: live
                    .into_iter()
                    .map(|(peer, rank)| Member {
                        peer: peer.unsigned_abs(),
                        rank,
                    })
                    .collect(),
                gone: peers(&gone),
            })
        })
        .await
    }

    /// Whether `address` may join one more room now, `burst` at once then `per_minute`, counted
    /// across every instance (and counts it). Asked once only: a join asked twice would count
    /// twice.
    pub async fn may_join(
        &self,
        address: std::net::IpAddr,
        burst: u32,
        per_minute: u32,
    ) -> Result<bool, StoreError> {
        let allowed: i64 = self
            .scripts
            .joins
            .key(format!("loopback:joins:{address}"))
            .arg(burst)
            .arg(per_minute)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(allowed == 1)
    }

    /// Whether Redis answers now: for `/readyz`.
    pub async fn reachable(&self) -> bool {
        let ping: Result<String, _> = redis::cmd("PING")
            .query_async(&mut self.redis.clone())
            .await;
        ping.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_sends_each_step_at_once() {
        let made = client("redis://127.0.0.1:6379/").expect("a valid URL");
        assert!(made.get_connection_info().tcp_settings().nodelay());
        assert!(matches!(
            client("http://nowhere"),
            Err(StoreError::Unexpected(_))
        ));
    }
}
