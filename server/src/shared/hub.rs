//! The store shared through Redis, as one instance runs it: its own connections, a reader per
//! seat it holds (the seat's inbox, read on each wake-up), the wake-ups from pub/sub, and the
//! renewal that keeps its seats alive and sweeps the dead ones out of its rooms.

use super::rooms::{
    stream_order, Entry, Event, Person, Relayed, Resumed, SharedRooms, StoreError, Wake, READ_BATCH,
};
use crate::store::{
    until, ConnId, End, Ending, Outbox, OutboxReceiver, Refusal, Resumption, SeatId, Seated, Store,
    GRACE_RAN_OUT, UNKNOWN_TOKEN,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use loopback_signal::{
    polite, FromServer, PeerId, PeerName, Problem, ResumeToken, RoomName, RoomPeer, Signal,
};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::task::AbortHandle;

/// How long a reader waits before reading again an inbox Redis would not give.
const READ_AGAIN: Duration = Duration::from_millis(500);
/// How long pub/sub waits before subscribing again after losing its connection, at most.
const SUBSCRIBE_AGAIN: Duration = Duration::from_secs(2);
/// Wake-ups that may wait for one seat's reader; past that it reads the inbox itself.
const WAKES_WAITING: usize = 64;
/// How many renewals wait for Redis at once.
const IN_FLIGHT: usize = 4;
/// A seat to renew: its room, its peer id and the connection of this instance holding it.
type ToRenew = (RoomName, PeerId, ConnId);
/// The most seats one renewal step keeps: Redis does nothing else while a script runs, and a
/// seat costs it a few microseconds.
const RENEW_BATCH: usize = 64;
/// The renewals of one round go in parts this far apart at least (fewer parts, farther apart,
/// for a long or a short seat lifetime): each part is the seats whose id falls in it. All at once, the 3,300
/// seats of each of three instances held up the signals behind them every 5 s (the p99 of a
/// relay in those 300 ms was 9–21 ms, against 3 ms between them).
const RENEW_PART: Duration = Duration::from_millis(250);
/// The most parts a round of renewals is cut into.
const RENEW_PARTS: u64 = 20;
/// How long closing waits for the seats being handed back.
const HAND_BACK_WAIT: Duration = Duration::from_secs(5);

/// The rooms shared with other instances through Redis.
pub struct SharedHub {
    rooms: SharedRooms,
    /// Messages that may wait for one page (see `hub::OUTBOX`).
    outbox: usize,
    next_conn: AtomicU64,
    local: Mutex<Local>,
    /// Woken whenever a connection ends, for [`Store::all_gone`].
    gone: Notify,
    /// Seats being left or handed back in the background, and what is woken when one is done.
    settling: AtomicUsize,
    settled: Notify,
}

#[derive(Default)]
struct Local {
    outboxes: HashMap<ConnId, Outbox>,
    seats: HashMap<SeatId, Held>,
    /// The seats by room and peer id, for the wake-ups, which name them so.
    by_peer: HashMap<(String, PeerId), SeatId>,
    next_seat: SeatId,
}

impl Local {
    /// Takes `seat` out, if `conn` holds it (any connection's if `conn` is `None`).
    fn release(&mut self, seat: SeatId, conn: Option<ConnId>) -> Option<Held> {
        let held = self.seats.get(&seat)?;
        if conn.is_some_and(|conn| conn != held.conn) {
            return None;
        }
        let key = (held.room.as_str().to_owned(), held.peer);
        if self.by_peer.get(&key) == Some(&seat) {
            self.by_peer.remove(&key);
        }
        self.seats.remove(&seat)
    }

    /// The seat of `peer` in `room` held here.
    fn find(&self, room: &str, peer: PeerId) -> Option<&Held> {
        // A wake-up for a room this instance holds no seat in is common: no key made for it.
        let seat = self.by_peer.get(&(room.to_owned(), peer))?;
        self.seats.get(seat)
    }
}

/// A seat one of this instance's connections holds.
struct Held {
    room: RoomName,
    peer: PeerId,
    conn: ConnId,
    /// Signals the server took from this seat: the next one is `taken + 1`.
    taken: u64,
    /// Entries for the seat's inbox as the wake-ups carry them, for its reader.
    entries: mpsc::Sender<Wake>,
    /// Woken when the reader must read the inbox itself: a wake-up lost, or too many at once.
    wake: Arc<Notify>,
    reader: AbortHandle,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl SharedHub {
    /// Connects to Redis at `url` as `instance`, for rooms of `size` whose seats live
    /// `seat_ttl` unless renewed, and whose pages may each have `outbox` messages waiting; starts
    /// the wake-ups and the renewal, which end with the hub.
    pub async fn start(
        url: &str,
        instance: String,
        size: usize,
        seat_ttl: Duration,
        outbox: usize,
    ) -> Result<Arc<Self>, StoreError> {
        let rooms = SharedRooms::connect(url, instance, size, seat_ttl).await?;
        let hub = Arc::new(Self {
            rooms,
            outbox: outbox.max(1),
            next_conn: AtomicU64::new(0),
            local: Mutex::default(),
            gone: Notify::new(),
            settling: AtomicUsize::new(0),
            settled: Notify::new(),
        });
        tokio::spawn(wake_ups(Arc::downgrade(&hub)));
        tokio::spawn(renewals(Arc::downgrade(&hub)));
        Ok(hub)
    }

    fn lock(&self) -> MutexGuard<'_, Local> {
        // A panic elsewhere while holding the lock leaves the maps whole: carry on.
        self.local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The seat `conn` holds, if it holds `seat`: its room, its id and its next signal's number.
    fn held(&self, seat: SeatId, conn: ConnId) -> Option<(RoomName, PeerId, u64)> {
        let local = self.lock();
        let held = local.seats.get(&seat).filter(|held| held.conn == conn)?;
        Some((held.room.clone(), held.peer, held.taken + 1))
    }

    /// The seat moved on in Redis as far as `seat` of `conn` goes: count `seq` as taken.
    fn took(&self, seat: SeatId, conn: ConnId, seq: u64) {
        if let Some(held) = self
            .lock()
            .seats
            .get_mut(&seat)
            .filter(|held| held.conn == conn)
        {
            held.taken = held.taken.max(seq);
        }
    }

    /// Gives `conn` the seat `peer` of `room` here, reading its inbox after `after` from now on;
    /// a connection of this instance that held it before is ended.
    fn seat(
        &self,
        room: &RoomName,
        me: PeerId,
        rank: i64,
        conn: ConnId,
        taken: u64,
        after: Option<String>,
    ) -> Option<SeatId> {
        let mut local = self.lock();
        let outbox = local.outboxes.get(&conn)?.clone();
        let before = local.by_peer.get(&(room.as_str().to_owned(), me)).copied();
        if let Some(old) = before.and_then(|before| local.release(before, None)) {
            if let Some(outbox) = local.outboxes.get(&old.conn) {
                outbox.end();
            }
        }
        let seat = local.next_seat;
        local.next_seat += 1;
        let wake = Arc::new(Notify::new());
        // What is in the inbox already is read at once.
        wake.notify_one();
        let (entries, woken) = mpsc::channel(WAKES_WAITING);
        let reader = Reader {
            woken,
            rooms: self.rooms.clone(),
            room: room.clone(),
            peer: me,
            rank,
            seat,
            after,
            wake: Arc::clone(&wake),
            outbox,
        };
        let reader = tokio::spawn(reader.run()).abort_handle();
        local.by_peer.insert((room.as_str().to_owned(), me), seat);
        local.seats.insert(
            seat,
            Held {
                room: room.clone(),
                peer: me,
                conn,
                taken,
                entries,
                wake,
                reader,
            },
        );
        Some(seat)
    }

    /// Gives the reader of the seat a wake-up is for, if this instance holds it, its entry; if
    /// the reader has too many waiting, it reads the inbox itself.
    fn wake(&self, wake: Wake) {
        let local = self.lock();
        if let Some(held) = local.find(&wake.room, wake.peer) {
            if held.entries.try_send(wake).is_err() {
                held.wake.notify_one();
            }
        }
    }

    /// Wakes every reader: wake-ups may have been missed while pub/sub was away.
    fn wake_all(&self) {
        for held in self.lock().seats.values() {
            held.wake.notify_one();
        }
    }

    /// Runs `step` in the background, counted, so that closing waits for it.
    fn settle(self: &Arc<Self>, step: impl std::future::Future<Output = ()> + Send + 'static) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.settling.fetch_add(1, Ordering::SeqCst);
        let hub = Arc::clone(self);
        runtime.spawn(async move {
            step.await;
            hub.settling.fetch_sub(1, Ordering::SeqCst);
            hub.settled.notify_waiters();
        });
    }

    /// Keeps the seats held here whose id is `part` modulo `parts`, and those in `again` (Redis
    /// did not take them at their turn), sweeping their rooms; ends the connections of those
    /// that are not held any more (a resume moved them elsewhere, or they expired while Redis was
    /// away). Returns the seats Redis did not take this time.
    async fn renew(&self, part: u64, parts: u64, again: &HashSet<SeatId>) -> HashSet<SeatId> {
        let held: Vec<(SeatId, ToRenew)> = self
            .lock()
            .seats
            .iter()
            .filter(|(seat, _)| **seat % parts == part || again.contains(*seat))
            .map(|(seat, held)| (*seat, (held.room.clone(), held.peer, held.conn)))
            .collect();
        // In batches, a few at a time: Redis answers one step after another, and a burst of
        // thousands would hold up every signal behind it.
        let batches: Vec<(Vec<SeatId>, Vec<ToRenew>)> = held
            .chunks(RENEW_BATCH)
            .map(|batch| batch.iter().cloned().unzip())
            .collect();
        let renewals = batches.into_iter().map(|(ids, seats)| {
            let store = self.rooms.clone();
            async move {
                let answer = store.renew_many(&seats).await;
                (ids, seats, answer)
            }
        });
        let answers: Vec<_> = futures_util::stream::iter(renewals)
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut missed = HashSet::new();
        for (ids, seats, answer) in answers {
            let kept = match answer {
                Ok(kept) => kept,
                Err(e) => {
                    if missed.is_empty() && again.is_empty() {
                        tracing::warn!(
                            "seats not renewed: {e}; each is tried again at every part until \
                             Redis takes it"
                        );
                    }
                    missed.extend(ids);
                    continue;
                }
            };
            for ((seat, (_, _, conn)), kept) in ids.into_iter().zip(seats).zip(kept) {
                if !kept {
                    tracing::info!(conn, "a seat moved to another connection: this one ends");
                    let mut local = self.lock();
                    local.release(seat, Some(conn));
                    if let Some(outbox) = local.outboxes.get(&conn) {
                        outbox.end();
                    }
                }
            }
        }
        missed
    }
}

/// Reads one seat's inbox into its connection's outbox: each entry a wake-up carries, if it
/// follows the last one given; the inbox itself otherwise, and whenever told to.
struct Reader {
    rooms: SharedRooms,
    room: RoomName,
    peer: PeerId,
    rank: i64,
    seat: SeatId,
    /// The id of the last entry given.
    after: Option<String>,
    woken: mpsc::Receiver<Wake>,
    wake: Arc<Notify>,
    outbox: Outbox,
}

impl Reader {
    async fn run(mut self) {
        loop {
            let carried = tokio::select! {
                wake = self.woken.recv() => match wake {
                    Some(wake) => Some(wake),
                    None => return,
                },
                () = self.wake.notified() => None,
            };
            let given = match carried {
                Some(wake) => match self.after.as_deref() {
                    // Given already (read with the inbox after it was written).
                    Some(after) if stream_order(&wake.entry.id) <= stream_order(after) => true,
                    after if after.unwrap_or_default() == wake.previous => self.give(wake.entry),
                    // One between them was missed: the inbox has it.
                    _ => self.read_inbox().await,
                },
                None => self.read_inbox().await,
            };
            if !given {
                return;
            }
        }
    }

    /// Reads the inbox after the last entry given, and gives what is there; false once the
    /// connection cannot take more.
    async fn read_inbox(&mut self) -> bool {
        loop {
            let entries = match self
                .rooms
                .read(&self.room, self.peer, self.after.as_deref())
                .await
            {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::debug!("an inbox not read: {e}");
                    tokio::time::sleep(READ_AGAIN).await;
                    continue;
                }
            };
            let count = entries.len();
            for entry in entries {
                if !self.give(entry) {
                    return false;
                }
            }
            if count < READ_BATCH {
                return true;
            }
        }
    }

    /// Gives one entry to the connection; false once it cannot take more (the page cannot keep
    /// up, or is gone: its connection ends as lost, and the page resumes from what it got).
    fn give(&mut self, entry: Entry) -> bool {
        self.after = Some(entry.id.clone());
        let Some(message) = message(&entry, self.rank) else {
            return true;
        };
        self.outbox.give(self.seat, message)
    }
}

/// What an inbox entry tells the page of a seat ranked `rank`.
fn message(entry: &Entry, rank: i64) -> Option<FromServer> {
    Some(match &entry.event {
        Event::Signal { from, body, .. } => FromServer::Signal {
            from: *from,
            signal: serde_json::from_str::<Signal>(body).ok()?,
        },
        Event::Joined {
            peer,
            rank: r,
            name,
        } => FromServer::PeerJoined {
            peer: *peer,
            name: name_of(name),
            polite: polite(rank, *r),
            // Each connection adds its page's own, if it has none yet.
            ice_servers: Vec::new(),
            renew_in: None,
        },
        Event::Left { peer } => FromServer::PeerLeft { peer: *peer },
        Event::Away { peer } => FromServer::PeerAway { peer: *peer },
        Event::Back { peer } => FromServer::PeerBack { peer: *peer },
        Event::Named { peer, name } => FromServer::PeerNamed {
            peer: *peer,
            name: name_of(name),
        },
        Event::Unknown => return None,
    })
}

/// A name as stored: one a page gave, so valid; anything else is no name.
fn name_of(name: &str) -> PeerName {
    PeerName::try_from(name.to_owned()).unwrap_or_default()
}

/// Everyone else, as a page of a seat ranked `rank` is told of them.
fn room_peers(others: &[Person], rank: i64) -> Vec<RoomPeer> {
    others
        .iter()
        .map(|other| RoomPeer {
            peer: other.member.peer,
            name: name_of(&other.name),
            polite: polite(rank, other.member.rank),
            away: other.away,
        })
        .collect()
}

/// Subscribes to this instance's wake-ups, again and again while the hub lives: after each
/// (re)subscription every reader reads, since wake-ups sent meanwhile were lost.
async fn wake_ups(hub: Weak<SharedHub>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let Some((client, channel)) = hub.upgrade().map(|hub| {
            let rooms = &hub.rooms;
            (
                rooms.client().clone(),
                super::rooms::wake_channel(rooms.instance()),
            )
        }) else {
            return;
        };
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    pause = Duration::from_millis(100);
                    if let Some(hub) = hub.upgrade() {
                        hub.wake_all();
                    }
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let Some(hub) = hub.upgrade() else {
                            return;
                        };
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        if let Some(wake) = Wake::parse(&payload) {
                            hub.wake(wake);
                        }
                    }
                    tracing::warn!("lost the wake-ups' connection to Redis: subscribing again");
                }
                Err(e) => tracing::warn!("wake-ups not subscribed: {e}"),
            },
            Err(e) => tracing::debug!("no wake-ups' connection to Redis: {e}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(SUBSCRIBE_AGAIN);
    }
}

/// Renews each of this instance's seats three times per seat lifetime, while the hub lives: a
/// round in [`RENEW_PART`]s, a part of the seats at a time.
async fn renewals(hub: Weak<SharedHub>) {
    let Some(every) = hub.upgrade().map(|hub| hub.rooms.seat_ttl() / 3) else {
        return;
    };
    let (every, parts) = renewal_parts(every);
    let mut tick = tokio::time::interval(every / u32::try_from(parts).unwrap_or(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The seats Redis did not take at their turn (it was away, or slow) go again with every
    // part until it does, not a round later: their next turn may come after their expiry.
    let mut again = HashSet::new();
    for part in (0..parts).cycle() {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        again = hub.renew(part, parts, &again).await;
    }
}

/// A round of renewals every `every` (50 ms at least), and how many parts it goes in.
fn renewal_parts(every: Duration) -> (Duration, u64) {
    let every = every.max(Duration::from_millis(50));
    let parts = (every.as_millis() / RENEW_PART.as_millis()).clamp(1, u128::from(RENEW_PARTS));
    (every, u64::try_from(parts).unwrap_or(1))
}

#[async_trait]
impl Store for SharedHub {
    fn room_size(&self) -> usize {
        self.rooms.size()
    }

    fn connect(&self) -> (ConnId, OutboxReceiver, Ending) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (outbox, rx, ended) = Outbox::open(self.outbox);
        self.lock().outboxes.insert(id, outbox);
        (id, rx, ended)
    }

    fn disconnect(self: Arc<Self>, conn: ConnId, seat: Option<SeatId>, end: End, grace: Duration) {
        let held = {
            let mut local = self.lock();
            local.outboxes.remove(&conn);
            seat.and_then(|seat| local.release(seat, Some(conn)))
        };
        self.gone.notify_waiters();
        let Some(held) = held else {
            return;
        };
        let (room, peer) = (held.room.clone(), held.peer);
        drop(held);
        let rooms = self.rooms.clone();
        self.settle(async move {
            let done = match end {
                End::Deliberate => rooms.leave(&room, peer, conn).await,
                // Lost, or handed back on the way down: the page resumes here or elsewhere.
                End::Lost | End::Shutdown => rooms.away(&room, peer, conn, grace).await,
            };
            if let Err(e) = done {
                // The seat's key still names this connection: it expires by itself.
                tracing::warn!("a seat not given back: {e}");
            }
        });
    }

    async fn join(
        &self,
        room: &RoomName,
        conn: ConnId,
        name: PeerName,
        wish: Option<bool>,
        token: ResumeToken,
    ) -> Result<Seated, Problem> {
        let joined = self
            .rooms
            .join(room, conn, name.as_str(), wish, token.as_str())
            .await;
        let (me, others) = match joined {
            Ok(super::rooms::Joined::Seated { me, others, .. }) => (me, others),
            Ok(super::rooms::Joined::Full { .. }) => return Err(Problem::RoomFull),
            Err(e) => {
                tracing::warn!("a join not taken: {e}");
                return Err(Problem::Unavailable);
            }
        };
        let seat = self
            .seat(room, me.peer, me.rank, conn, 0, None)
            .ok_or(Problem::NotInRoom)?;
        Ok(Seated {
            seat,
            peer: me.peer,
            peers: room_peers(&others, me.rank),
        })
    }

    async fn resume(
        &self,
        room: &RoomName,
        token: &ResumeToken,
        received: u64,
        conn: ConnId,
        fresh: ResumeToken,
        _dead: Option<ConnId>,
    ) -> Result<Resumption, Refusal> {
        let resumed = self
            .rooms
            .resume(room, token.as_str(), fresh.as_str(), conn)
            .await;
        let (me, taken, given, others, inbox) = match resumed {
            Ok(Resumed::Seat {
                me,
                taken,
                given,
                others,
                inbox,
                ..
            }) => (me, taken, given, others, inbox),
            Ok(Resumed::Unknown) => return Err(Refusal::Refused(UNKNOWN_TOKEN)),
            Ok(Resumed::Expired) => return Err(Refusal::Refused(GRACE_RAN_OUT)),
            Err(e) => {
                tracing::warn!("a resume not taken: {e}");
                return Err(Refusal::Unavailable);
            }
        };
        let (missed, complete) = missed(&inbox, &others, received, given);
        let after = inbox.last().map(|entry| entry.id.clone());
        let seat = self
            .seat(room, me.peer, me.rank, conn, taken, after)
            .ok_or(Refusal::Refused(UNKNOWN_TOKEN))?;
        Ok(Resumption {
            seated: Seated {
                seat,
                peer: me.peer,
                peers: room_peers(&others, me.rank),
            },
            missed,
            received: taken,
            complete,
        })
    }

    async fn relay(
        &self,
        seat: SeatId,
        conn: ConnId,
        to: PeerId,
        signal: Signal,
    ) -> Result<(), Problem> {
        let (room, from, seq) = self.held(seat, conn).ok_or(Problem::NotInRoom)?;
        let body = serde_json::to_string(&signal).map_err(|_| Problem::BadMessage)?;
        let relayed = self.rooms.relay(&room, from, conn, to, &body, seq).await;
        let relayed = relayed.map_err(|e| {
            tracing::warn!("a signal not relayed: {e}");
            Problem::Unavailable
        })?;
        if relayed != Relayed::NotInRoom {
            self.took(seat, conn, seq);
        }
        match relayed {
            Relayed::Delivered | Relayed::Again => Ok(()),
            Relayed::NotInRoom => Err(Problem::NotInRoom),
            Relayed::UnknownPeer => Err(Problem::UnknownPeer),
            Relayed::NoPeer => Err(Problem::NoPeer),
        }
    }

    async fn rename(&self, seat: SeatId, conn: ConnId, name: PeerName) -> Result<(), Problem> {
        let (room, peer, _) = self.held(seat, conn).ok_or(Problem::NotInRoom)?;
        match self.rooms.rename(&room, peer, conn, name.as_str()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Problem::NotInRoom),
            Err(_) => Err(Problem::Unavailable),
        }
    }

    async fn has_peer(&self, seat: SeatId) -> bool {
        let room = self.lock().seats.get(&seat).map(|held| held.room.clone());
        match room {
            Some(room) => self.rooms.count(&room).await.is_ok_and(|n| n > 1),
            None => false,
        }
    }

    async fn discard(&self, seat: SeatId, conn: ConnId) {
        let Some((room, from, seq)) = self.held(seat, conn) else {
            return;
        };
        // An empty signal counts and goes nowhere.
        match self.rooms.relay(&room, from, conn, 0, "", seq).await {
            Ok(_) => self.took(seat, conn, seq),
            Err(e) => tracing::warn!("a dropped signal not counted: {e}"),
        }
    }

    async fn leave(&self, seat: SeatId, conn: ConnId) {
        let held = {
            let mut local = self.lock();
            local.release(seat, Some(conn))
        };
        if let Some(held) = held {
            if let Err(e) = self.rooms.leave(&held.room, held.peer, conn).await {
                tracing::warn!("a seat not left: {e}; it expires by itself");
            }
        }
    }

    async fn may_join(
        &self,
        address: std::net::IpAddr,
        burst: u32,
        per_minute: u32,
        _local: &crate::guard::Joins,
    ) -> bool {
        // Out of reach, the join itself says so in words.
        self.rooms
            .may_join(address, burst, per_minute)
            .await
            .unwrap_or(true)
    }

    async fn ready(&self) -> bool {
        self.rooms.reachable().await
    }

    async fn all_gone(&self) {
        until(&self.gone, || self.peers() == 0).await;
    }

    async fn close(&self) {
        let settled = until(&self.settled, || self.settling.load(Ordering::SeqCst) == 0);
        let _ = tokio::time::timeout(HAND_BACK_WAIT, settled).await;
    }

    fn rooms(&self) -> usize {
        let local = self.lock();
        let rooms: HashSet<&RoomName> = local.seats.values().map(|held| &held.room).collect();
        rooms.len()
    }

    fn peers(&self) -> usize {
        self.lock().outboxes.len()
    }

    fn away(&self) -> usize {
        // Away seats are nobody's: Redis keeps them, not this instance.
        0
    }
}

/// The signals a page that had `received` of them missed, from those still in the room, in order,
/// and whether that is every one (the inbox is bounded: the oldest go first).
fn missed(
    inbox: &[Entry],
    others: &[Person],
    received: u64,
    given: u64,
) -> (Vec<FromServer>, bool) {
    let present: HashSet<PeerId> = others.iter().map(|p| p.member.peer).collect();
    let mut first = None;
    let mut missed = Vec::new();
    for entry in inbox {
        let Event::Signal { from, n, body } = &entry.event else {
            continue;
        };
        first.get_or_insert(*n);
        // What the one who left said is of no use to anyone any more.
        if *n <= received || !present.contains(from) {
            continue;
        }
        if let Ok(signal) = serde_json::from_str::<Signal>(body) {
            missed.push(FromServer::Signal {
                from: *from,
                signal,
            });
        }
    }
    let complete = given <= received || first.is_some_and(|first| first <= received + 1);
    (missed, complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal_entry(id: u64, from: PeerId, n: u64) -> Entry {
        let body = serde_json::to_string(&Signal::EndOfCandidates).unwrap();
        Entry {
            id: format!("{id}-0"),
            event: Event::Signal { from, n, body },
        }
    }

    fn person(peer: PeerId) -> Person {
        Person {
            member: super::super::rooms::Member { peer, rank: 0 },
            away: false,
            name: String::new(),
        }
    }

    #[test]
    fn renewals_go_in_parts_a_quarter_second_apart_at_least() {
        let ms = Duration::from_millis;
        // The default seat lifetime: 15 s, a round every 5 s in 20 parts.
        assert_eq!(renewal_parts(ms(5_000)), (ms(5_000), 20));
        // Longer: still 20 parts, farther apart.
        assert_eq!(renewal_parts(ms(200_000)), (ms(200_000), 20));
        // Short (tests): fewer parts, and one below a quarter second.
        assert_eq!(renewal_parts(ms(1_000)), (ms(1_000), 4));
        assert_eq!(renewal_parts(ms(100)), (ms(100), 1));
        assert_eq!(renewal_parts(ms(10)), (ms(50), 1));
    }

    #[test]
    fn a_resume_replays_the_signals_after_the_pages_count_from_those_still_there() {
        let inbox = vec![
            signal_entry(1, 2, 1),
            Entry {
                id: "2-0".into(),
                event: Event::Away { peer: 3 },
            },
            signal_entry(3, 3, 2),
            signal_entry(4, 2, 3),
            signal_entry(5, 4, 4),
        ];
        let others = [person(2), person(4)];
        let (replayed, complete) = missed(&inbox, &others, 1, 4);
        assert!(complete);
        let from: Vec<_> = replayed
            .iter()
            .map(|m| match m {
                FromServer::Signal { from, .. } => *from,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(from, [2, 4], "3 left; the first was received");
    }

    #[test]
    fn an_inbox_that_lost_its_oldest_says_so() {
        let inbox = vec![signal_entry(9, 2, 7), signal_entry(10, 2, 8)];
        let (replayed, complete) = missed(&inbox, &[person(2)], 5, 8);
        assert_eq!(replayed.len(), 2);
        assert!(!complete, "signal 6 is gone");
        let (_, complete) = missed(&inbox, &[person(2)], 6, 8);
        assert!(complete);
        let (none, complete) = missed(&[], &[person(2)], 8, 8);
        assert!(none.is_empty() && complete);
        let (_, complete) = missed(&[], &[person(2)], 3, 8);
        assert!(!complete, "all trimmed");
    }
}
