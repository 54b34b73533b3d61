//! The hub: every room, every seat in it and every connected page's outbox, behind one lock, so
//! that joining, relaying, losing and resuming a seat see the same rooms.
//!
//! A seat outlives the connection that holds it: when a connection is lost (not closed on
//! purpose), its seat is *away* for a grace period, signals for it go to its replay log, and a
//! new connection showing the seat's token takes it back. A seat has the peer id its room gave
//! it: a page's signal goes to one other seat by its id, always as from the sender's own, so no
//! page speaks as another. The hub decides; the connection tasks carry the words and the timers,
//! so everything here is plain, synchronous and unit-tested.

use crate::store::{
    until, ConnId, End, Ending, Outbox, OutboxReceiver, Refusal, Resumption, SeatId, Seated, Store,
    GRACE_RAN_OUT, OTHER_ROOM, UNKNOWN_TOKEN,
};
use async_trait::async_trait;
use loopback_signal::room::{Other, DEFAULT_SIZE};
use loopback_signal::seat::REPLAY_CAPACITY;
use loopback_signal::{
    FromServer, JoinError, PeerId, PeerName, Problem, ReplayLog, ResumeToken, RoomName, RoomPeer,
    Rooms, Signal,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// How many messages may wait for one page's socket for each call it may have: more than the
/// page at the other end's rate limit lets through at once (see `Limits::outbox_for`, which
/// scales both alike). A page that lets more pile up cannot keep up: its connection is ended (as
/// lost: its page resumes and is replayed what it missed, or told it missed some), never a
/// message dropped, so room events and signals reach a page in order or not through that
/// connection at all.
pub const OUTBOX: usize = 256;
/// How many signals a seat's replay log keeps for each other seat in a room: a call's setup is a
/// few dozen, an ICE restart as many again. Never fewer than [`REPLAY_CAPACITY`] in all, what a
/// room of two always had.
pub const REPLAY_PER_PEER: usize = 128;
/// How many tokens of seats whose grace ran out are remembered, to tell that apart from a token
/// never issued.
const EXPIRED_REMEMBERED: usize = 4096;

/// How many signals a seat's replay log keeps in rooms of `room_size`: 640 in a room of six, so
/// that a page away during everyone's setup (five calls) is still replayed all of it.
pub fn replay_capacity(room_size: usize) -> usize {
    REPLAY_CAPACITY.max(REPLAY_PER_PEER * room_size.saturating_sub(1))
}

/// A lost seat's deadline: once the grace has passed, [`Hub::expire`] removes the seat unless it
/// was resumed (or lost again, which sets a new deadline) meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    seat: SeatId,
    loss: u64,
}

pub struct Hub {
    /// How many messages may wait for one page (see [`OUTBOX`]).
    outbox: usize,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    /// Woken whenever a connection ends, for [`Hub::all_gone`].
    gone: Notify,
}

struct Inner {
    rooms: Rooms<SeatId>,
    seats: HashMap<SeatId, Seat>,
    tokens: HashMap<ResumeToken, SeatId>,
    /// Tokens of seats whose grace ran out, oldest first, to say so when one is shown.
    expired: VecDeque<ResumeToken>,
    expired_set: HashSet<ResumeToken>,
    outboxes: HashMap<ConnId, Outbox>,
    next_seat: SeatId,
}

#[derive(Debug)]
struct Seat {
    room: RoomName,
    /// Its id in the room: what its signals go out as from.
    peer: PeerId,
    /// What the others see this person as.
    name: PeerName,
    token: ResumeToken,
    holder: Holder,
    /// Counts the losses, so an old deadline does not expire a seat lost again since.
    losses: u64,
    /// The signals relayed to this seat with their senders, numbered, for a resume.
    log: ReplayLog<(PeerId, Signal)>,
    /// How many signals the server took from this seat.
    taken: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    Present(ConnId),
    Away,
}

impl Inner {
    fn new(room_size: usize) -> Self {
        Self {
            rooms: Rooms::with_size(room_size),
            seats: HashMap::new(),
            tokens: HashMap::new(),
            expired: VecDeque::new(),
            expired_set: HashSet::new(),
            outboxes: HashMap::new(),
            next_seat: 0,
        }
    }

    /// Queues `message` about `seat` for `conn`, unless the connection is gone; an outbox found
    /// full goes, which ends its connection (see [`OUTBOX`]).
    fn tell(&mut self, conn: ConnId, seat: SeatId, message: FromServer) {
        let Some(outbox) = self.outboxes.get(&conn) else {
            return;
        };
        if !outbox.give(seat, message) {
            self.outboxes.remove(&conn);
        }
    }

    /// Tells `seat`'s page, if it is connected (an away page, or one that cannot keep up,
    /// learns the room as it is on resuming).
    fn tell_seat(&mut self, seat: SeatId, message: FromServer) {
        if let Some(Holder::Present(conn)) = self.seats.get(&seat).map(|s| s.holder) {
            self.tell(conn, seat, message);
        }
    }

    /// Tells the page of every seat in `others`.
    fn tell_all(&mut self, others: &[Other<SeatId>], message: &FromServer) {
        for other in others {
            self.tell_seat(other.seat, message.clone());
        }
    }

    /// The seat `conn` holds, if it still holds `seat`.
    fn held(&mut self, seat: SeatId, conn: ConnId) -> Option<&mut Seat> {
        self.seats
            .get_mut(&seat)
            .filter(|s| s.holder == Holder::Present(conn))
    }

    /// `others` as a page is told of them: id, name, its role toward each, and who is away.
    fn room_peers(&self, others: &[Other<SeatId>]) -> Vec<RoomPeer> {
        others
            .iter()
            .filter_map(|other| {
                let seat = self.seats.get(&other.seat)?;
                Some(RoomPeer {
                    peer: other.peer,
                    name: seat.name.clone(),
                    polite: other.polite,
                    away: seat.holder == Holder::Away,
                })
            })
            .collect()
    }

    /// The seat goes: out of its room, its token void, what it said dropped from the others'
    /// logs; their pages are told if `tell`.
    fn remove(&mut self, seat: SeatId, tell: bool) -> Option<Seat> {
        let gone = self.seats.remove(&seat)?;
        self.tokens.remove(&gone.token);
        if let Some((peer, left)) = self.rooms.leave(&gone.room, seat) {
            for other in left {
                if tell {
                    self.tell_seat(other, FromServer::PeerLeft { peer });
                }
                if let Some(other) = self.seats.get_mut(&other) {
                    // What the one who left said is of no use to anyone any more.
                    other.log.discard(|(from, _)| *from == peer);
                }
            }
        }
        Some(gone)
    }

    fn forget_expired(&mut self, token: ResumeToken) {
        if self.expired.len() == EXPIRED_REMEMBERED {
            if let Some(oldest) = self.expired.pop_front() {
                self.expired_set.remove(&oldest);
            }
        }
        self.expired_set.insert(token.clone());
        self.expired.push_back(token);
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(DEFAULT_SIZE, OUTBOX)
    }
}

impl Hub {
    /// A hub of rooms of `room_size` seats (2 to 8; a figure outside is brought inside), whose
    /// pages may each have `outbox` messages waiting, in all.
    pub fn new(room_size: usize, outbox: usize) -> Self {
        Self {
            outbox: outbox.max(1),
            next_id: AtomicU64::new(0),
            inner: Mutex::new(Inner::new(room_size)),
            gone: Notify::new(),
        }
    }

    /// How many seats a room holds.
    pub fn room_size(&self) -> usize {
        self.lock().rooms.size()
    }

    /// A new connection, the receiving end of its outbox, and what is notified when the outbox
    /// overflowed (the connection must end then: see [`OUTBOX`]).
    pub fn connect(&self) -> (ConnId, OutboxReceiver, Ending) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (outbox, rx, overflowed) = Outbox::open(self.outbox);
        self.lock().outboxes.insert(id, outbox);
        (id, rx, overflowed)
    }

    /// The connection is gone and its outbox with it; its seat, if it still holds one, goes too
    /// or is kept away, as `end` says. A seat kept away comes with the deadline to expire it at.
    pub fn disconnect(&self, conn: ConnId, seat: Option<SeatId>, end: End) -> Option<Expiry> {
        let mut inner = self.lock();
        inner.outboxes.remove(&conn);
        let expiry = seat.and_then(|seat| {
            inner.held(seat, conn)?;
            match end {
                End::Deliberate => {
                    inner.remove(seat, true);
                    None
                }
                // Every page hears `shutting-down`: nobody to tell, nothing to keep.
                End::Shutdown => {
                    inner.remove(seat, false);
                    None
                }
                End::Lost => Self::lose(&mut inner, seat),
            }
        });
        drop(inner);
        self.gone.notify_waiters();
        expiry
    }

    fn lose(inner: &mut Inner, seat: SeatId) -> Option<Expiry> {
        let s = inner.seats.get_mut(&seat)?;
        s.holder = Holder::Away;
        s.losses += 1;
        let (room, peer, loss) = (s.room.clone(), s.peer, s.losses);
        let others = inner.rooms.others(&room, seat);
        inner.tell_all(&others, &FromServer::PeerAway { peer });
        Some(Expiry { seat, loss })
    }

    /// The grace of a lost seat has passed: unless it was taken back (or lost again) since, it
    /// goes, the others are told `peer-left`, and its token is remembered as expired.
    pub fn expire(&self, expiry: Expiry) {
        let mut inner = self.lock();
        let due = inner
            .seats
            .get(&expiry.seat)
            .is_some_and(|s| s.holder == Holder::Away && s.losses == expiry.loss);
        if due {
            if let Some(gone) = inner.remove(expiry.seat, true) {
                tracing::info!(room = %crate::logtag::room(&gone.room), "an away seat's grace ran out");
                inner.forget_expired(gone.token);
            }
        }
    }

    /// Returns once no connection is left: after a shutdown, when every one has closed.
    pub async fn all_gone(&self) {
        until(&self.gone, || self.peers() == 0).await;
    }

    /// Gives `conn` a new seat in `room`, as `name`, with `token` to resume it by; in an empty
    /// room with the role it `wish`es toward whoever comes. Every page already there is told
    /// that someone joined, each with its role toward the newcomer.
    pub fn join(
        &self,
        room: &RoomName,
        conn: ConnId,
        name: PeerName,
        wish: Option<bool>,
        token: ResumeToken,
    ) -> Result<Seated, Problem> {
        let mut inner = self.lock();
        let seat = inner.next_seat;
        let joined = inner.rooms.join(room, seat, wish).map_err(|e| match e {
            JoinError::Full => Problem::RoomFull,
            JoinError::AlreadyInside => Problem::AlreadyInRoom,
        })?;
        inner.next_seat += 1;
        inner.tokens.insert(token.clone(), seat);
        let capacity = replay_capacity(inner.rooms.size());
        inner.seats.insert(
            seat,
            Seat {
                room: room.clone(),
                peer: joined.peer,
                name: name.clone(),
                token,
                holder: Holder::Present(conn),
                losses: 0,
                log: ReplayLog::with_capacity(capacity),
                taken: 0,
            },
        );
        for other in &joined.others {
            let message = FromServer::PeerJoined {
                peer: joined.peer,
                name: name.clone(),
                // Its role toward the newcomer: the other end of the newcomer's.
                polite: !other.polite,
                // Each connection adds its page's own, if it has none yet.
                ice_servers: Vec::new(),
                renew_in: None,
            };
            inner.tell_seat(other.seat, message);
        }
        Ok(Seated {
            seat,
            peer: joined.peer,
            peers: inner.room_peers(&joined.others),
        })
    }

    /// Gives the seat `token` names in `room` to `conn`, spending the token for `fresh`, with the
    /// room as it is now and the signals after the page's `received`; the others hear that it is
    /// back if they heard it was away. A seat whose connection still counts as live is probed
    /// first (through that connection's task, so this lock is never held while waiting); `dead`
    /// is a holder found dead by such a probe.
    pub fn resume(
        &self,
        room: &RoomName,
        token: &ResumeToken,
        received: u64,
        conn: ConnId,
        fresh: ResumeToken,
        dead: Option<ConnId>,
    ) -> Result<Resumption, Refusal> {
        let mut inner = self.lock();
        let Some(&seat) = inner.tokens.get(token) else {
            return Err(Refusal::Refused(if inner.expired_set.contains(token) {
                GRACE_RAN_OUT
            } else {
                UNKNOWN_TOKEN
            }));
        };
        let Some(held) = inner.seats.get(&seat) else {
            return Err(Refusal::Refused(UNKNOWN_TOKEN));
        };
        if held.room != *room {
            return Err(Refusal::Refused(OTHER_ROOM));
        }
        let was_away = held.holder == Holder::Away;
        if let Holder::Present(holder) = held.holder {
            if dead != Some(holder) {
                let (tx, answer) = oneshot::channel();
                let asked = inner
                    .outboxes
                    .get(&holder)
                    .is_some_and(|outbox| outbox.probe(tx));
                if asked {
                    return Err(Refusal::Probe { holder, answer });
                }
                // Its task is gone or its outbox full: not reading, so as good as dead.
            }
        }
        inner.tokens.remove(token);
        inner.tokens.insert(fresh.clone(), seat);
        let Some(s) = inner.seats.get_mut(&seat) else {
            return Err(Refusal::Refused(UNKNOWN_TOKEN));
        };
        s.holder = Holder::Present(conn);
        s.token = fresh;
        let (peer, taken) = (s.peer, s.taken);
        let replay = s.log.after(received);
        let others = inner.rooms.others(room, seat);
        // A seat taken from a holder found dead was never away: nobody heard `peer-away`.
        if was_away {
            inner.tell_all(&others, &FromServer::PeerBack { peer });
        }
        let missed = replay
            .signals
            .into_iter()
            .map(|(from, signal)| FromServer::Signal { from, signal })
            .collect();
        Ok(Resumption {
            seated: Seated {
                seat,
                peer,
                peers: inner.room_peers(&others),
            },
            missed,
            received: taken,
            complete: replay.complete,
        })
    }

    /// Passes `signal` from the page holding `seat` to the seat whose id is `to`, as from the
    /// sender's id: to its page if it is connected, and in any case into its replay log. Counted
    /// as taken from the sender whether or not it went anywhere (the page counts what it sent).
    pub fn relay(
        &self,
        seat: SeatId,
        conn: ConnId,
        to: PeerId,
        signal: Signal,
    ) -> Result<(), Problem> {
        let mut inner = self.lock();
        let sender = inner.held(seat, conn).ok_or(Problem::NotInRoom)?;
        sender.taken += 1;
        let (room, from) = (sender.room.clone(), sender.peer);
        if to == from {
            return Err(Problem::UnknownPeer);
        }
        let Some(target) = inner.rooms.seat_of(&room, to) else {
            return Err(if inner.rooms.others(&room, seat).is_empty() {
                Problem::NoPeer
            } else {
                Problem::UnknownPeer
            });
        };
        if let Some(t) = inner.seats.get_mut(&target) {
            t.log.push((from, signal.clone()));
        }
        inner.tell_seat(target, FromServer::Signal { from, signal });
        Ok(())
    }

    /// The person at `seat` is called `name` from now on; the others' pages are told.
    pub fn rename(&self, seat: SeatId, conn: ConnId, name: PeerName) -> Result<(), Problem> {
        let mut inner = self.lock();
        let s = inner.held(seat, conn).ok_or(Problem::NotInRoom)?;
        s.name = name.clone();
        let (room, peer) = (s.room.clone(), s.peer);
        let others = inner.rooms.others(&room, seat);
        inner.tell_all(&others, &FromServer::PeerNamed { peer, name });
        Ok(())
    }

    /// Whether anyone else is in `seat`'s room.
    pub fn has_peer(&self, seat: SeatId) -> bool {
        let inner = self.lock();
        let Some(room) = inner.seats.get(&seat).map(|s| &s.room) else {
            return false;
        };
        !inner.rooms.others(room, seat).is_empty()
    }

    /// A signal from the page holding `seat` that goes nowhere (refused, or dropped): counted as
    /// taken, so that a resume does not ask for it again.
    pub fn discard(&self, seat: SeatId, conn: ConnId) {
        if let Some(s) = self.lock().held(seat, conn) {
            s.taken += 1;
        }
    }

    /// The page holding `seat` left: the seat goes, and the others are told.
    pub fn leave(&self, seat: SeatId, conn: ConnId) {
        let mut inner = self.lock();
        if inner.held(seat, conn).is_some() {
            inner.remove(seat, true);
        }
    }

    /// Every seat goes, silently: the server is stopping and every page was told.
    pub fn clear_seats(&self) {
        let mut inner = self.lock();
        let size = inner.rooms.size();
        inner.rooms = Rooms::with_size(size);
        inner.seats.clear();
        inner.tokens.clear();
    }

    /// Rooms with a seat in them.
    pub fn rooms(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Connections open.
    pub fn peers(&self) -> usize {
        self.lock().outboxes.len()
    }

    /// Seats whose page is away.
    pub fn away(&self) -> usize {
        let inner = self.lock();
        inner
            .seats
            .values()
            .filter(|s| s.holder == Holder::Away)
            .count()
    }

    /// No code panics while holding the lock, but if some day it did, the rooms are still
    /// consistent enough (each change to `Rooms` is one call): keep serving.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The store kept in this process's memory: every method is the hub's own, answered at once.
#[async_trait]
impl Store for Hub {
    fn room_size(&self) -> usize {
        Hub::room_size(self)
    }

    fn connect(&self) -> (ConnId, OutboxReceiver, Ending) {
        Hub::connect(self)
    }

    fn disconnect(self: Arc<Self>, conn: ConnId, seat: Option<SeatId>, end: End, grace: Duration) {
        let Some(expiry) = Hub::disconnect(&self, conn, seat, end) else {
            return;
        };
        // Outside a runtime (a drop at the process's end) nobody waits for the expiry.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(grace).await;
                self.expire(expiry);
            });
        }
    }

    async fn join(
        &self,
        room: &RoomName,
        conn: ConnId,
        name: PeerName,
        wish: Option<bool>,
        token: ResumeToken,
    ) -> Result<Seated, Problem> {
        Hub::join(self, room, conn, name, wish, token)
    }

    async fn resume(
        &self,
        room: &RoomName,
        token: &ResumeToken,
        received: u64,
        conn: ConnId,
        fresh: ResumeToken,
        dead: Option<ConnId>,
    ) -> Result<Resumption, Refusal> {
        Hub::resume(self, room, token, received, conn, fresh, dead)
    }

    async fn relay(
        &self,
        seat: SeatId,
        conn: ConnId,
        to: PeerId,
        signal: Signal,
    ) -> Result<(), Problem> {
        Hub::relay(self, seat, conn, to, signal)
    }

    async fn rename(&self, seat: SeatId, conn: ConnId, name: PeerName) -> Result<(), Problem> {
        Hub::rename(self, seat, conn, name)
    }

    async fn has_peer(&self, seat: SeatId) -> bool {
        Hub::has_peer(self, seat)
    }

    async fn discard(&self, seat: SeatId, conn: ConnId) {
        Hub::discard(self, seat, conn);
    }

    async fn leave(&self, seat: SeatId, conn: ConnId) {
        Hub::leave(self, seat, conn);
    }

    async fn ready(&self) -> bool {
        true
    }

    async fn all_gone(&self) {
        Hub::all_gone(self).await;
    }

    async fn close(&self) {
        // Seats away at the end die with the process; the next one knows none of them.
        self.clear_seats();
    }

    fn rooms(&self) -> usize {
        Hub::rooms(self)
    }

    fn peers(&self) -> usize {
        Hub::peers(self)
    }

    fn away(&self) -> usize {
        Hub::away(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Outgoing;

    fn room(name: &str) -> RoomName {
        RoomName::try_from(name.to_owned()).unwrap()
    }

    fn token(n: u8) -> ResumeToken {
        ResumeToken::from_bytes([n; 16])
    }

    fn name(text: &str) -> PeerName {
        PeerName::try_from(text.to_owned()).unwrap()
    }

    fn signal(n: usize) -> Signal {
        Signal::Candidate {
            candidate: format!("candidate:{n}"),
            sdp_mid: None,
            sdp_m_line_index: None,
            username_fragment: None,
        }
    }

    fn from(from: PeerId, n: usize) -> FromServer {
        FromServer::Signal {
            from,
            signal: signal(n),
        }
    }

    #[test]
    fn an_outbox_message_stays_small() {
        // Each page's channel allocates 32 of these before anything waits (see `Outgoing`).
        assert!(std::mem::size_of::<Outgoing>() <= 24);
    }

    /// A page connected and joined to `r` with no name; its connection, seat and outbox.
    fn page(hub: &Hub, n: u8) -> (ConnId, Seated, OutboxReceiver) {
        let (conn, outbox, _) = hub.connect();
        let seated = hub
            .join(&room("r"), conn, PeerName::default(), None, token(n))
            .unwrap();
        (conn, seated, outbox)
    }

    fn peer_joined(peer: PeerId, polite: bool) -> FromServer {
        FromServer::PeerJoined {
            peer,
            name: PeerName::default(),
            polite,
            ice_servers: vec![],
            renew_in: None,
        }
    }

    fn room_peer(peer: PeerId, polite: bool, away: bool) -> RoomPeer {
        RoomPeer {
            peer,
            name: PeerName::default(),
            polite,
            away,
        }
    }

    /// Everything waiting in `outbox`, as messages.
    fn drain(outbox: &mut OutboxReceiver) -> Vec<FromServer> {
        let mut messages = Vec::new();
        while let Some(outgoing) = outbox.try_recv() {
            match outgoing {
                Outgoing::Message { message, .. } => messages.push(*message),
                Outgoing::Probe(_) => panic!("unexpected probe"),
            }
        }
        messages
    }

    fn resumed(result: Result<Resumption, Refusal>) -> Resumption {
        match result {
            Ok(resumption) => resumption,
            Err(refusal) => panic!("refused: {refusal:?}"),
        }
    }

    fn refused(result: Result<Resumption, Refusal>) -> &'static str {
        match result {
            Err(Refusal::Refused(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn everyone_learns_everyone_with_opposite_roles_per_pair() {
        let hub = Hub::default();
        assert_eq!(hub.room_size(), 6);
        let mut pages = Vec::new();
        for n in 1..=6u8 {
            let (conn, seated, outbox) = page(&hub, n);
            assert_eq!(seated.peer, u64::from(n), "ids in join order");
            let ids: Vec<_> = seated.peers.iter().map(|p| p.peer).collect();
            assert_eq!(ids, (1..u64::from(n)).collect::<Vec<_>>(), "oldest first");
            assert!(seated.peers.iter().all(|p| p.polite && !p.away));
            pages.push((conn, seated, outbox));
        }
        // Each heard of every later one, in the role opposite to the newcomer's.
        for (conn, seated, outbox) in &mut pages {
            let heard = drain(outbox);
            let expected: Vec<_> = (seated.peer + 1..=6)
                .map(|peer| peer_joined(peer, false))
                .collect();
            assert_eq!(heard, expected, "page {conn}");
        }
        let (seventh, _, _) = hub.connect();
        assert_eq!(
            hub.join(&room("r"), seventh, PeerName::default(), None, token(7))
                .unwrap_err(),
            Problem::RoomFull
        );
    }

    #[test]
    fn a_signal_reaches_only_its_target_as_from_its_true_sender() {
        let hub = Hub::default();
        let (a, sa, mut a_box) = page(&hub, 1);
        let (b, sb, mut b_box) = page(&hub, 2);
        let (_c, _sc, mut c_box) = page(&hub, 3);
        drain(&mut a_box);
        drain(&mut b_box);
        hub.relay(sa.seat, a, 3, signal(0)).unwrap();
        hub.relay(sb.seat, b, 1, signal(1)).unwrap();
        assert_eq!(drain(&mut c_box), vec![from(1, 0)]);
        assert_eq!(drain(&mut a_box), vec![from(2, 1)]);
        assert!(drain(&mut b_box).is_empty());
        // Nobody by that id, or oneself: refused, and nobody hears anything.
        assert_eq!(
            hub.relay(sa.seat, a, 9, signal(2)),
            Err(Problem::UnknownPeer)
        );
        assert_eq!(
            hub.relay(sa.seat, a, 1, signal(3)),
            Err(Problem::UnknownPeer)
        );
        assert!(drain(&mut b_box).is_empty() && drain(&mut c_box).is_empty());
        // A connection that does not hold the seat cannot speak from it.
        assert_eq!(hub.relay(sa.seat, b, 2, signal(4)), Err(Problem::NotInRoom));
        assert!(drain(&mut b_box).is_empty());
    }

    #[test]
    fn a_page_alone_has_nobody_to_signal() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        assert_eq!(hub.relay(sa.seat, a, 2, signal(0)), Err(Problem::NoPeer));
        assert!(!hub.has_peer(sa.seat));
        let (_b, _, _b_box) = page(&hub, 2);
        assert!(hub.has_peer(sa.seat));
    }

    #[test]
    fn names_are_given_to_the_others_and_kept_for_newcomers() {
        let hub = Hub::default();
        let (a, mut a_box, _) = hub.connect();
        let sa = hub
            .join(&room("r"), a, name("Ada"), None, token(1))
            .unwrap();
        let (b, sb, mut b_box) = page(&hub, 2);
        assert_eq!(sb.peers[0].name, name("Ada"));
        drain(&mut a_box);
        hub.rename(sb.seat, b, name("<b>Bo</b>")).unwrap();
        assert_eq!(
            drain(&mut a_box),
            vec![FromServer::PeerNamed {
                peer: 2,
                name: name("<b>Bo</b>")
            }]
        );
        assert!(drain(&mut b_box).is_empty(), "not told of itself");
        let (_c, sc, _c_box) = page(&hub, 3);
        let names: Vec<_> = sc.peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Ada", "<b>Bo</b>"]);
        assert_eq!(
            drain(&mut b_box),
            vec![peer_joined(3, false)],
            "a newcomer without a name"
        );
        assert_eq!(hub.rename(sa.seat, b, name("x")), Err(Problem::NotInRoom));
    }

    #[test]
    fn an_away_seat_keeps_its_place_and_its_role() {
        let hub = Hub::new(2, OUTBOX);
        let (a, sa, mut a_box) = page(&hub, 1);
        let (b, sb, mut b_box) = page(&hub, 2);
        assert_eq!(sb.peers, vec![room_peer(1, true, false)]);
        assert_eq!(drain(&mut a_box), vec![peer_joined(2, false)]);
        let expiry = hub.disconnect(b, Some(sb.seat), End::Lost).unwrap();
        assert_eq!(drain(&mut a_box), vec![FromServer::PeerAway { peer: 2 }]);
        assert_eq!(hub.away(), 1);
        let (c, _c_box, _) = hub.connect();
        assert_eq!(
            hub.join(&room("r"), c, PeerName::default(), Some(true), token(3))
                .unwrap_err(),
            Problem::RoomFull,
            "the away seat still counts"
        );
        // Signals for the away seat wait in its log; the sender hears no error.
        hub.relay(sa.seat, a, 2, signal(0)).unwrap();
        hub.relay(sa.seat, a, 2, signal(1)).unwrap();
        let (b2, _b2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(2), 1, b2, token(4), None));
        assert_eq!(back.seated.peer, 2, "the same id");
        assert_eq!(
            back.seated.peers,
            vec![room_peer(1, true, false)],
            "the same role"
        );
        assert!(back.complete);
        assert_eq!(back.received, 0);
        assert_eq!(back.missed, vec![from(1, 1)]);
        assert_eq!(drain(&mut a_box), vec![FromServer::PeerBack { peer: 2 }]);
        assert!(
            drain(&mut b_box).is_empty(),
            "the old connection got nothing"
        );
        // The old deadline no longer applies.
        hub.expire(expiry);
        assert_eq!(hub.rooms(), 1);
        assert_eq!(hub.away(), 0);
    }

    #[test]
    fn a_seat_away_past_its_grace_goes() {
        let hub = Hub::default();
        let (a, sa, mut a_box) = page(&hub, 1);
        let (_b, _, mut b_box) = page(&hub, 2);
        let (_c, _, mut c_box) = page(&hub, 3);
        hub.relay(sa.seat, a, 2, signal(0)).unwrap();
        let expiry = hub.disconnect(a, Some(sa.seat), End::Lost).unwrap();
        hub.expire(expiry);
        assert_eq!(
            drain(&mut a_box),
            vec![peer_joined(2, false), peer_joined(3, false)],
            "a's outbox is closed"
        );
        for outbox in [&mut b_box, &mut c_box] {
            let heard = drain(outbox);
            assert!(
                heard.ends_with(&[
                    FromServer::PeerAway { peer: 1 },
                    FromServer::PeerLeft { peer: 1 }
                ]),
                "{heard:?}"
            );
        }
        let (d, _d_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("r"), &token(1), 0, d, token(4), None)),
            GRACE_RAN_OUT
        );
        // A newcomer gets a new id, never the one that went.
        let sd = hub
            .join(&room("r"), d, PeerName::default(), None, token(5))
            .unwrap();
        assert_eq!(sd.peer, 4);
        assert_eq!(sd.peers.len(), 2);
    }

    #[test]
    fn a_deliberate_end_or_a_leave_frees_the_seat_at_once() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        let (b, sb, mut b_box) = page(&hub, 2);
        let (c, sc, mut c_box) = page(&hub, 3);
        drain(&mut b_box);
        assert!(hub.disconnect(a, Some(sa.seat), End::Deliberate).is_none());
        assert_eq!(drain(&mut b_box), vec![FromServer::PeerLeft { peer: 1 }]);
        assert_eq!(drain(&mut c_box), vec![FromServer::PeerLeft { peer: 1 }]);
        hub.leave(sb.seat, b);
        assert_eq!(drain(&mut c_box), vec![FromServer::PeerLeft { peer: 2 }]);
        hub.leave(sc.seat, c);
        assert_eq!(hub.rooms(), 0);
        let (d, _d_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("r"), &token(1), 0, d, token(4), None)),
            UNKNOWN_TOKEN
        );
    }

    #[test]
    fn a_token_is_spent_by_its_use_and_bound_to_its_room() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        hub.disconnect(a, Some(sa.seat), End::Lost);
        let (b, _b_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("s"), &token(1), 0, b, token(2), None)),
            OTHER_ROOM
        );
        let back = resumed(hub.resume(&room("r"), &token(1), 0, b, token(2), None));
        assert!(back.seated.peers.is_empty());
        hub.disconnect(b, Some(sa.seat), End::Lost);
        let (c, _c_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("r"), &token(1), 0, c, token(3), None)),
            UNKNOWN_TOKEN,
            "spent"
        );
        resumed(hub.resume(&room("r"), &token(2), 0, c, token(3), None));
    }

    #[test]
    fn a_seat_still_held_is_probed_before_it_changes_hands() {
        let hub = Hub::default();
        let (a, sa, mut a_box) = page(&hub, 1);
        let (_b, _, mut b_box) = page(&hub, 2);
        drain(&mut a_box);
        let (c, _c_box, _) = hub.connect();
        let Err(Refusal::Probe { holder, answer: _ }) =
            hub.resume(&room("r"), &token(1), 0, c, token(3), None)
        else {
            panic!("not probed");
        };
        assert_eq!(holder, a);
        assert!(matches!(a_box.try_recv(), Some(Outgoing::Probe(_))));
        // The probe found it dead: the seat changes hands, and the dead connection's end no
        // longer touches it. It was never away: nobody hears it is back.
        resumed(hub.resume(&room("r"), &token(1), 0, c, token(3), Some(a)));
        assert!(hub.disconnect(a, Some(sa.seat), End::Lost).is_none());
        assert!(drain(&mut b_box)
            .iter()
            .all(|m| !matches!(m, FromServer::PeerAway { .. } | FromServer::PeerBack { .. })));
        assert_eq!(hub.away(), 0);
        assert_eq!(hub.rooms(), 1);
        assert_eq!(hub.relay(sa.seat, a, 2, signal(0)), Err(Problem::NotInRoom));
        hub.relay(sa.seat, c, 2, signal(0)).unwrap();
        assert_eq!(drain(&mut b_box), vec![from(1, 0)]);
    }

    #[test]
    fn a_page_back_from_away_sees_the_room_as_it_is_and_what_the_stayers_said() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        let (b, sb, _b_box) = page(&hub, 2);
        let (c, sc, mut c_box) = page(&hub, 3);
        hub.relay(sb.seat, b, 1, signal(0)).unwrap();
        hub.disconnect(a, Some(sa.seat), End::Lost);
        hub.relay(sb.seat, b, 1, signal(1)).unwrap();
        hub.relay(sc.seat, c, 1, signal(2)).unwrap();
        hub.leave(sb.seat, b);
        let (d, _d_box, _) = hub.connect();
        let sd = hub.join(&room("r"), d, name("Di"), None, token(4)).unwrap();
        assert_eq!(
            sd.peers,
            vec![room_peer(1, true, true), room_peer(3, true, false)],
            "a is away"
        );
        hub.relay(sd.seat, d, 1, signal(3)).unwrap();
        hub.relay(sc.seat, c, 1, signal(4)).unwrap();
        drain(&mut c_box);
        let (a2, _a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 1, a2, token(5), None));
        assert!(back.complete);
        assert_eq!(
            back.seated.peers,
            vec![
                room_peer(3, false, false),
                RoomPeer {
                    peer: 4,
                    name: name("Di"),
                    polite: false,
                    away: false
                }
            ],
            "b left, d came"
        );
        assert_eq!(
            back.missed,
            vec![from(3, 2), from(4, 3), from(3, 4)],
            "b's last signal is of no use any more; c's and d's are, in order"
        );
        assert_eq!(drain(&mut c_box), vec![FromServer::PeerBack { peer: 1 }]);
    }

    #[test]
    fn a_page_away_during_a_six_person_setup_is_replayed_all_of_it() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        hub.disconnect(a, Some(sa.seat), End::Lost);
        let mut others = Vec::new();
        for n in 2..=6 {
            others.push(page(&hub, n));
        }
        // Each sends a's page an answer's worth of candidates, twice over (an ICE restart).
        let per_peer = REPLAY_PER_PEER;
        for n in 0..per_peer {
            for (conn, seated, _) in &others {
                hub.relay(seated.seat, *conn, 1, signal(n)).unwrap();
            }
        }
        let (a2, _a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 0, a2, token(9), None));
        assert!(back.complete);
        assert_eq!(back.missed.len(), 5 * per_peer);
        assert_eq!(
            back.missed[..5],
            [from(2, 0), from(3, 0), from(4, 0), from(5, 0), from(6, 0)]
        );
        assert_eq!(
            replay_capacity(2),
            REPLAY_CAPACITY,
            "a pair keeps what it had"
        );
        assert_eq!(replay_capacity(6), 640);
    }

    #[test]
    fn a_page_that_cannot_keep_up_is_ended_and_misses_nothing_unannounced() {
        use futures_util::FutureExt;
        let hub = Hub::default();
        let (a, _a_box, a_overflowed) = hub.connect();
        let sa = hub
            .join(&room("r"), a, PeerName::default(), None, token(1))
            .unwrap();
        let (b, sb, _b_box) = page(&hub, 2);
        // a's outbox holds `peer-joined`; the signals fill it, and the last finds it full.
        for n in 0..OUTBOX {
            hub.relay(sb.seat, b, 1, signal(n)).unwrap();
        }
        assert_eq!(hub.peers(), 1, "a's outbox is gone");
        assert!(
            a_overflowed.notified().now_or_never().is_some(),
            "a's task is told to end"
        );
        // Its task ends as lost; the page resumes and is replayed every signal but none twice.
        hub.disconnect(a, Some(sa.seat), End::Lost);
        let (a2, _a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 0, a2, token(3), None));
        assert!(back.complete);
        let signals: Vec<_> = (0..OUTBOX).map(|n| from(2, n)).collect();
        assert_eq!(back.missed, signals);
    }

    #[test]
    fn pages_away_at_once_see_each_other_away_then_back() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        let (b, sb, _b_box) = page(&hub, 2);
        hub.disconnect(a, Some(sa.seat), End::Lost);
        hub.disconnect(b, Some(sb.seat), End::Lost);
        let (a2, mut a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 0, a2, token(3), None));
        assert_eq!(back.seated.peers, vec![room_peer(2, false, true)]);
        let (b2, _b2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(2), 0, b2, token(4), None));
        assert_eq!(back.seated.peers, vec![room_peer(1, true, false)]);
        assert_eq!(drain(&mut a2_box), vec![FromServer::PeerBack { peer: 2 }]);
    }

    #[test]
    fn shutting_down_and_signals_are_counted_per_seat() {
        let hub = Hub::default();
        let (a, sa, _a_box) = page(&hub, 1);
        let (b, sb, mut b_box) = page(&hub, 2);
        assert_eq!(hub.relay(sb.seat, a, 1, signal(0)), Err(Problem::NotInRoom));
        for n in 0..3 {
            hub.relay(sa.seat, a, 2, signal(n)).unwrap();
        }
        // Refused ones count too: the page counts every signal it sent.
        assert_eq!(
            hub.relay(sa.seat, a, 7, signal(3)),
            Err(Problem::UnknownPeer)
        );
        hub.discard(sa.seat, a);
        drain(&mut b_box);
        hub.disconnect(a, Some(sa.seat), End::Lost);
        let (a2, _a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 0, a2, token(3), None));
        assert_eq!(back.received, 5);
        assert!(hub.disconnect(a2, Some(sa.seat), End::Shutdown).is_none());
        assert!(drain(&mut b_box)
            .iter()
            .all(|m| !matches!(m, FromServer::PeerLeft { .. })));
        hub.disconnect(b, Some(sb.seat), End::Shutdown);
        hub.clear_seats();
        assert_eq!(hub.rooms(), 0);
        assert_eq!(hub.room_size(), 6, "the rooms' size stays");
    }
}
