//! The hub: every room, every seat in it and every connected page's outbox, behind one lock, so
//! that joining, relaying, losing and resuming a seat see the same rooms.
//!
//! A seat outlives the connection that holds it: when a connection is lost (not closed on
//! purpose), its seat is *away* for a grace period, signals for it go to its replay log, and a
//! new connection showing the seat's token takes it back. The hub decides; the connection tasks
//! carry the words and the timers, so everything here is plain, synchronous and unit-tested.

use loopback_signal::{
    FromServer, JoinError, Problem, ReplayLog, ResumeToken, RoomName, Rooms, Signal,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot, Notify};

/// A connection's identity for as long as it lasts.
pub type PeerId = u64;
/// A seat's identity for as long as it lasts, across the connections that hold it.
pub type SeatId = u64;

/// How many messages may wait for one peer's socket: more than the other page's rate limit lets
/// through at once, whose byte limit bounds their size. A peer that lets more pile up cannot
/// keep up: its connection is ended (as lost: its page resumes and is replayed what it missed,
/// or told it missed some), never a message dropped, so room events and signals reach a page in
/// order or not through that connection at all.
pub const OUTBOX: usize = 256;
/// How many tokens of seats whose grace ran out are remembered, to tell that apart from a token
/// never issued.
const EXPIRED_REMEMBERED: usize = 4096;

/// What the hub asks of a connection's task.
#[derive(Debug)]
pub enum Outgoing {
    /// A message for the page.
    Message(FromServer),
    /// Another connection shows this connection's seat token: is this page still there? The
    /// task pings, answers `true` as soon as any frame arrives, or `false` once the probe time
    /// passes in silence, and then closes as dead.
    Probe(oneshot::Sender<bool>),
}

/// How a connection ended, which decides what becomes of its seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The page left on purpose (`leave`, a Close frame) or was closed for misbehaving: the seat
    /// goes at once.
    Deliberate,
    /// The connection was lost (no Close frame, an error, idleness): the seat is kept, away.
    Lost,
    /// The server is shutting down: seats die with the process, and every page is told so.
    Shutdown,
}

/// A lost seat's deadline: once the grace has passed, [`Hub::expire`] removes the seat unless it
/// was resumed (or lost again, which sets a new deadline) meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    seat: SeatId,
    loss: u64,
}

/// A connection's seat, as the hub gave it: what the page is told, then what follows.
#[derive(Debug)]
pub struct Seated {
    pub seat: SeatId,
    pub polite: bool,
    /// Messages for the page after `joined` or `resumed`, in order.
    pub then: Vec<FromServer>,
}

/// A seat taken back by a new connection.
#[derive(Debug)]
pub struct Resumption {
    pub seated: Seated,
    /// Signals the server took from this seat so far.
    pub received: u64,
    /// Whether `seated.then` holds every signal the page missed.
    pub complete: bool,
    /// Whether another seat is in the room.
    pub peer: bool,
}

/// Why a resume did not (yet) give the seat back.
#[derive(Debug)]
pub enum Refusal {
    /// Refused, for this reason (a detail for the page, never the token).
    Refused(&'static str),
    /// The seat's connection still counts as live: `answer` says whether it is. If it is not,
    /// ask again with it as `dead`.
    Probe {
        holder: PeerId,
        answer: oneshot::Receiver<bool>,
    },
}

/// The refusals' details.
pub const UNKNOWN_TOKEN: &str =
    "this token was never issued by this server process, or it was used already";
pub const OTHER_ROOM: &str = "this token is for a seat in another room";
pub const GRACE_RAN_OUT: &str = "the seat was away longer than the grace period and is gone";
pub const IN_USE: &str = "another live connection holds this seat";

pub struct Hub {
    /// How many messages may wait for one peer (see [`OUTBOX`]).
    outbox: usize,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    /// Woken whenever a peer disconnects, for [`Hub::all_gone`].
    gone: Notify,
}

#[derive(Default)]
struct Inner {
    rooms: Rooms<SeatId>,
    seats: HashMap<SeatId, Seat>,
    tokens: HashMap<ResumeToken, SeatId>,
    /// Tokens of seats whose grace ran out, oldest first, to say so when one is shown.
    expired: VecDeque<ResumeToken>,
    expired_set: HashSet<ResumeToken>,
    outboxes: HashMap<PeerId, Outbox>,
    next_seat: SeatId,
}

/// The way to one connection's task: its messages, and a nudge that ends it at once (its
/// outbox overflowed) even while it waits on a write.
struct Outbox {
    messages: mpsc::Sender<Outgoing>,
    overflowed: Arc<Notify>,
}

#[derive(Debug)]
struct Seat {
    room: RoomName,
    polite: bool,
    token: ResumeToken,
    holder: Holder,
    /// Counts the losses, so an old deadline does not expire a seat lost again since.
    losses: u64,
    /// The signals relayed to this seat, numbered, for a resume.
    log: ReplayLog<Signal>,
    /// How many signals the server took from this seat.
    taken: u64,
    /// The other seat as this seat's page last heard of it: a page that was away learns on
    /// resume who left or came meanwhile.
    known_peer: Option<SeatId>,
    /// Whether this seat's page was told its peer is away (and owes a `peer-back`).
    heard_away: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    Present(PeerId),
    Away,
}

impl Inner {
    /// Queues `message` for `peer`; `false` if it was not: the peer is gone, or its outbox is
    /// full, and then its outbox goes, which ends its connection (see [`OUTBOX`]).
    fn tell(&mut self, peer: PeerId, message: FromServer) -> bool {
        let Some(outbox) = self.outboxes.get(&peer) else {
            return false;
        };
        match outbox.messages.try_send(Outgoing::Message(message)) {
            Ok(()) => true,
            Err(_) => {
                tracing::debug!(peer, "outbox full: the connection cannot keep up and ends");
                outbox.overflowed.notify_one();
                self.outboxes.remove(&peer);
                false
            }
        }
    }

    /// Tells `seat`'s page, if it is connected; `false` if it was not told (an away page, or
    /// one that cannot keep up, learns on resume).
    fn tell_seat(&mut self, seat: SeatId, message: FromServer) -> bool {
        match self.seats.get(&seat).map(|s| s.holder) {
            Some(Holder::Present(peer)) => self.tell(peer, message),
            _ => false,
        }
    }

    fn present(&self, seat: SeatId) -> bool {
        self.seats
            .get(&seat)
            .is_some_and(|s| matches!(s.holder, Holder::Present(_)))
    }

    /// The seat `peer` holds, if it still holds `seat`.
    fn held(&mut self, seat: SeatId, peer: PeerId) -> Option<&mut Seat> {
        self.seats
            .get_mut(&seat)
            .filter(|s| s.holder == Holder::Present(peer))
    }

    /// The seat goes: out of its room, its token void; the other seat's page is told if `tell`.
    fn remove(&mut self, seat: SeatId, tell: bool) -> Option<Seat> {
        let gone = self.seats.remove(&seat)?;
        self.tokens.remove(&gone.token);
        if let Some(other) = self.rooms.leave(&gone.room, seat) {
            let told = tell && self.tell_seat(other, FromServer::PeerLeft);
            if let Some(other) = self.seats.get_mut(&other) {
                // What the one who left said is of no use to whoever comes next.
                other.log.discard();
                if told {
                    other.known_peer = None;
                    other.heard_away = false;
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
        Self::with_outbox(OUTBOX)
    }
}

impl Hub {
    /// A hub whose peers may each have `outbox` messages waiting.
    pub fn with_outbox(outbox: usize) -> Self {
        Self {
            outbox: outbox.max(1),
            next_id: AtomicU64::new(0),
            inner: Mutex::default(),
            gone: Notify::new(),
        }
    }
}

impl Hub {
    /// A new peer, the receiving end of its outbox, and what is notified when the outbox
    /// overflowed (the connection must end then: see [`OUTBOX`]).
    pub fn connect(&self) -> (PeerId, mpsc::Receiver<Outgoing>, Arc<Notify>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.outbox);
        let overflowed = Arc::new(Notify::new());
        let outbox = Outbox {
            messages: tx,
            overflowed: Arc::clone(&overflowed),
        };
        self.lock().outboxes.insert(id, outbox);
        (id, rx, overflowed)
    }

    /// The peer is gone and its outbox with it; its seat, if it still holds one, goes too or is
    /// kept away, as `end` says. A seat kept away comes with the deadline to expire it at.
    pub fn disconnect(&self, peer: PeerId, seat: Option<SeatId>, end: End) -> Option<Expiry> {
        let mut inner = self.lock();
        inner.outboxes.remove(&peer);
        let expiry = seat.and_then(|seat| {
            inner.held(seat, peer)?;
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
        let (room, loss) = (s.room.clone(), s.losses);
        if let Some(other) = inner.rooms.other(&room, seat) {
            if inner.tell_seat(other, FromServer::PeerAway) {
                if let Some(other) = inner.seats.get_mut(&other) {
                    other.heard_away = true;
                }
            }
        }
        Some(Expiry { seat, loss })
    }

    /// The grace of a lost seat has passed: unless it was taken back (or lost again) since, it
    /// goes, the other page is told `peer-left`, and its token is remembered as expired.
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

    /// Returns once no peer is connected: after a shutdown, when every connection has closed.
    pub async fn all_gone(&self) {
        loop {
            let notified = self.gone.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a disconnect in between is not missed.
            notified.as_mut().enable();
            if self.peers() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Gives `peer` a new seat in `room`, with the role it `wish`es if the roles still differ, and
    /// `token` to resume it by; the page already there is told that someone joined.
    pub fn join(
        &self,
        room: &RoomName,
        peer: PeerId,
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
        let mut new = Seat {
            room: room.clone(),
            polite: joined.polite,
            token,
            holder: Holder::Present(peer),
            losses: 0,
            log: ReplayLog::default(),
            taken: 0,
            known_peer: joined.other,
            heard_away: false,
        };
        let mut then = Vec::new();
        if let Some(other) = joined.other {
            then.push(FromServer::PEER_JOINED);
            if inner.tell_seat(other, FromServer::PEER_JOINED) {
                if let Some(other) = inner.seats.get_mut(&other) {
                    other.known_peer = Some(seat);
                    other.heard_away = false;
                }
            } else {
                // Someone is there, but away: say so, and `peer-back` follows if it returns.
                then.push(FromServer::PeerAway);
                new.heard_away = true;
            }
        }
        inner.seats.insert(seat, new);
        Ok(Seated {
            seat,
            polite: joined.polite,
            then,
        })
    }

    /// Gives the seat `token` names in `room` to `peer`, spending the token for `fresh`, and
    /// replays the signals after the page's `received`. A seat whose connection still counts as
    /// live is probed first (through that connection's task, so this lock is never held while
    /// waiting); `dead` is a holder found dead by such a probe.
    pub fn resume(
        &self,
        room: &RoomName,
        token: &ResumeToken,
        received: u64,
        peer: PeerId,
        fresh: ResumeToken,
        dead: Option<PeerId>,
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
        if let Holder::Present(holder) = held.holder {
            if dead != Some(holder) {
                let (tx, answer) = oneshot::channel();
                let asked = inner
                    .outboxes
                    .get(&holder)
                    .is_some_and(|outbox| outbox.messages.try_send(Outgoing::Probe(tx)).is_ok());
                if asked {
                    return Err(Refusal::Probe { holder, answer });
                }
                // Its task is gone or its outbox full: not reading, so as good as dead.
            }
        }
        let other = inner.rooms.other(room, seat);
        let other_present = other.is_some_and(|o| inner.present(o));
        if let Some(o) = other.filter(|_| other_present) {
            let owed = inner.seats.get(&o).is_some_and(|o| o.heard_away);
            if owed && inner.tell_seat(o, FromServer::PeerBack) {
                if let Some(o) = inner.seats.get_mut(&o) {
                    o.heard_away = false;
                }
            }
        }
        inner.tokens.remove(token);
        inner.tokens.insert(fresh.clone(), seat);
        let Some(s) = inner.seats.get_mut(&seat) else {
            return Err(Refusal::Refused(UNKNOWN_TOKEN));
        };
        s.holder = Holder::Present(peer);
        s.token = fresh;
        let mut then = Vec::new();
        // Whoever left or came while this page was away, before what they said.
        if s.known_peer != other {
            if s.known_peer.is_some() {
                then.push(FromServer::PeerLeft);
                s.heard_away = false;
            }
            if other.is_some() {
                then.push(FromServer::PEER_JOINED);
            }
            s.known_peer = other;
        }
        let replay = s.log.after(received);
        then.extend(
            replay
                .signals
                .into_iter()
                .map(|signal| FromServer::Signal { signal }),
        );
        if other.is_some() && other_present == s.heard_away {
            then.push(if other_present {
                FromServer::PeerBack
            } else {
                FromServer::PeerAway
            });
            s.heard_away = !other_present;
        }
        Ok(Resumption {
            seated: Seated {
                seat,
                polite: s.polite,
                then,
            },
            received: s.taken,
            complete: replay.complete,
            peer: other.is_some(),
        })
    }

    /// Passes `signal` from the page holding `seat` to the other seat: to its page if it is
    /// connected, and in any case into its replay log.
    pub fn relay(&self, seat: SeatId, from: PeerId, signal: Signal) -> Result<(), Problem> {
        let mut inner = self.lock();
        let room = inner
            .held(seat, from)
            .ok_or(Problem::NotInRoom)?
            .room
            .clone();
        let other = inner.rooms.other(&room, seat).ok_or(Problem::NoPeer)?;
        if let Some(s) = inner.seats.get_mut(&seat) {
            s.taken += 1;
        }
        let holder = inner.seats.get_mut(&other).map(|o| {
            o.log.push(signal.clone());
            o.holder
        });
        if let Some(Holder::Present(peer)) = holder {
            inner.tell(peer, FromServer::Signal { signal });
        }
        Ok(())
    }

    /// Whether another seat is in `seat`'s room.
    pub fn has_peer(&self, seat: SeatId) -> bool {
        let inner = self.lock();
        let Some(room) = inner.seats.get(&seat).map(|s| s.room.clone()) else {
            return false;
        };
        inner.rooms.other(&room, seat).is_some()
    }

    /// A signal from the page holding `seat` that goes nowhere (refused, or dropped): counted as
    /// taken, so that a resume does not ask for it again.
    pub fn discard(&self, seat: SeatId, from: PeerId) {
        if let Some(s) = self.lock().held(seat, from) {
            s.taken += 1;
        }
    }

    /// The page holding `seat` left: the seat goes, and the other page is told.
    pub fn leave(&self, seat: SeatId, peer: PeerId) {
        let mut inner = self.lock();
        if inner.held(seat, peer).is_some() {
            inner.remove(seat, true);
        }
    }

    /// Every seat goes, silently: the server is stopping and every page was told.
    pub fn clear_seats(&self) {
        let mut inner = self.lock();
        inner.rooms = Rooms::default();
        inner.seats.clear();
        inner.tokens.clear();
    }

    /// Rooms with a seat in them.
    pub fn rooms(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Peers connected.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::try_from(name.to_owned()).unwrap()
    }

    fn token(n: u8) -> ResumeToken {
        ResumeToken::from_bytes([n; 16])
    }

    fn signal(n: usize) -> Signal {
        Signal::Candidate {
            candidate: format!("candidate:{n}"),
            sdp_mid: None,
            sdp_m_line_index: None,
            username_fragment: None,
        }
    }

    /// Everything waiting in `outbox`, as messages.
    fn drain(outbox: &mut mpsc::Receiver<Outgoing>) -> Vec<FromServer> {
        let mut messages = Vec::new();
        while let Ok(outgoing) = outbox.try_recv() {
            match outgoing {
                Outgoing::Message(message) => messages.push(message),
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
    fn an_away_seat_keeps_its_place_and_its_role() {
        let hub = Hub::default();
        let (a, mut a_box, _) = hub.connect();
        let (b, mut b_box, _) = hub.connect();
        let (c, _c_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let sb = hub.join(&room("r"), b, None, token(2)).unwrap();
        assert!(!sa.polite && sb.polite);
        assert_eq!(drain(&mut a_box), vec![FromServer::PEER_JOINED]);
        let expiry = hub.disconnect(b, Some(sb.seat), End::Lost).unwrap();
        assert_eq!(drain(&mut a_box), vec![FromServer::PeerAway]);
        assert_eq!(hub.away(), 1);
        assert_eq!(
            hub.join(&room("r"), c, Some(true), token(3)).unwrap_err(),
            Problem::RoomFull,
            "the away seat still counts"
        );
        // Signals for the away seat wait in its log; the sender hears no error.
        hub.relay(sa.seat, a, signal(0)).unwrap();
        hub.relay(sa.seat, a, signal(1)).unwrap();
        let (b2, _b2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(2), 1, b2, token(4), None));
        assert!(back.seated.polite, "the same role");
        assert!(back.complete && back.peer);
        assert_eq!(back.received, 0);
        assert_eq!(
            back.seated.then,
            vec![FromServer::Signal { signal: signal(1) }]
        );
        assert_eq!(drain(&mut a_box), vec![FromServer::PeerBack]);
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
        let (a, mut a_box, _) = hub.connect();
        let (b, _b_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        hub.join(&room("r"), b, None, token(2)).unwrap();
        hub.relay(sa.seat, a, signal(0)).unwrap();
        let expiry = hub.disconnect(a, Some(sa.seat), End::Lost).unwrap();
        hub.expire(expiry);
        assert_eq!(
            drain(&mut a_box),
            vec![FromServer::PEER_JOINED],
            "a's outbox is closed"
        );
        let (c, _c_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("r"), &token(1), 0, c, token(3), None)),
            GRACE_RAN_OUT
        );
        // Its role is free again: the impolite one.
        assert!(
            !hub.join(&room("r"), c, Some(true), token(5))
                .unwrap()
                .polite
        );
    }

    #[test]
    fn a_deliberate_end_or_a_leave_frees_the_seat_at_once() {
        let hub = Hub::default();
        let (a, _a_box, _) = hub.connect();
        let (b, mut b_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let sb = hub.join(&room("r"), b, None, token(2)).unwrap();
        assert!(hub.disconnect(a, Some(sa.seat), End::Deliberate).is_none());
        assert_eq!(drain(&mut b_box), vec![FromServer::PeerLeft]);
        hub.leave(sb.seat, b);
        assert_eq!(hub.rooms(), 0);
        let (c, _c_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("r"), &token(1), 0, c, token(3), None)),
            UNKNOWN_TOKEN
        );
    }

    #[test]
    fn a_token_is_spent_by_its_use_and_bound_to_its_room() {
        let hub = Hub::default();
        let (a, _a_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        hub.disconnect(a, Some(sa.seat), End::Lost);
        let (b, _b_box, _) = hub.connect();
        assert_eq!(
            refused(hub.resume(&room("s"), &token(1), 0, b, token(2), None)),
            OTHER_ROOM
        );
        let back = resumed(hub.resume(&room("r"), &token(1), 0, b, token(2), None));
        assert!(!back.peer);
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
        let (a, mut a_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let (b, _b_box, _) = hub.connect();
        let Err(Refusal::Probe { holder, answer: _ }) =
            hub.resume(&room("r"), &token(1), 0, b, token(2), None)
        else {
            panic!("not probed");
        };
        assert_eq!(holder, a);
        assert!(matches!(a_box.try_recv(), Ok(Outgoing::Probe(_))));
        // The probe found it dead: the seat changes hands, and the dead connection's end no
        // longer touches it.
        resumed(hub.resume(&room("r"), &token(1), 0, b, token(2), Some(a)));
        assert!(hub.disconnect(a, Some(sa.seat), End::Lost).is_none());
        assert_eq!(hub.away(), 0);
        assert_eq!(hub.rooms(), 1);
        assert_eq!(hub.relay(sa.seat, a, signal(0)), Err(Problem::NotInRoom));
    }

    #[test]
    fn a_page_back_from_away_hears_who_left_and_came_meanwhile() {
        let hub = Hub::default();
        let (a, _a_box, _) = hub.connect();
        let (b, _b_box, _) = hub.connect();
        let (c, mut c_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let sb = hub.join(&room("r"), b, None, token(2)).unwrap();
        hub.relay(sb.seat, b, signal(0)).unwrap();
        hub.disconnect(a, Some(sa.seat), End::Lost);
        hub.relay(sb.seat, b, signal(1)).unwrap();
        hub.leave(sb.seat, b);
        let sc = hub.join(&room("r"), c, None, token(3)).unwrap();
        assert!(sc.polite, "b's role was free");
        assert_eq!(sc.then, vec![FromServer::PEER_JOINED, FromServer::PeerAway]);
        hub.relay(sc.seat, c, signal(2)).unwrap();
        let (a2, _a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 1, a2, token(4), None));
        assert!(back.complete && back.peer);
        assert_eq!(
            back.seated.then,
            vec![
                FromServer::PeerLeft,
                FromServer::PEER_JOINED,
                FromServer::Signal { signal: signal(2) }
            ],
            "b's last signal is of no use any more; c's is"
        );
        assert_eq!(drain(&mut c_box), vec![FromServer::PeerBack]);
    }

    #[test]
    fn a_page_that_cannot_keep_up_is_ended_and_misses_nothing_unannounced() {
        use futures_util::FutureExt;
        let hub = Hub::default();
        let (a, _a_box, a_overflowed) = hub.connect();
        let (b, _b_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let sb = hub.join(&room("r"), b, None, token(2)).unwrap();
        // a's outbox holds `peer-joined`; the signals fill it, and the last finds it full.
        for n in 0..OUTBOX {
            hub.relay(sb.seat, b, signal(n)).unwrap();
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
        let signals: Vec<_> = (0..OUTBOX)
            .map(|n| FromServer::Signal { signal: signal(n) })
            .collect();
        assert_eq!(back.seated.then, signals);
    }

    #[test]
    fn both_pages_away_then_back_hear_of_each_other() {
        let hub = Hub::default();
        let (a, _a_box, _) = hub.connect();
        let (b, _b_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let sb = hub.join(&room("r"), b, None, token(2)).unwrap();
        hub.disconnect(a, Some(sa.seat), End::Lost);
        hub.disconnect(b, Some(sb.seat), End::Lost);
        let (a2, mut a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 0, a2, token(3), None));
        assert_eq!(back.seated.then, vec![FromServer::PeerAway]);
        let (b2, _b2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(2), 0, b2, token(4), None));
        // b's page heard `peer-away` about a before it was lost itself; a is back.
        assert_eq!(back.seated.then, vec![FromServer::PeerBack]);
        assert_eq!(drain(&mut a2_box), vec![FromServer::PeerBack]);
    }

    #[test]
    fn shutting_down_and_signals_are_counted_per_seat() {
        let hub = Hub::default();
        let (a, _a_box, _) = hub.connect();
        let (b, mut b_box, _) = hub.connect();
        let sa = hub.join(&room("r"), a, None, token(1)).unwrap();
        let sb = hub.join(&room("r"), b, None, token(2)).unwrap();
        assert_eq!(hub.relay(sb.seat, a, signal(0)), Err(Problem::NotInRoom));
        for n in 0..3 {
            hub.relay(sa.seat, a, signal(n)).unwrap();
        }
        drain(&mut b_box);
        hub.disconnect(a, Some(sa.seat), End::Lost);
        let (a2, _a2_box, _) = hub.connect();
        let back = resumed(hub.resume(&room("r"), &token(1), 0, a2, token(3), None));
        assert_eq!(back.received, 3);
        assert!(hub.disconnect(a2, Some(sa.seat), End::Shutdown).is_none());
        assert!(drain(&mut b_box).iter().all(|m| *m != FromServer::PeerLeft));
        hub.clear_seats();
        assert_eq!(hub.rooms(), 0);
    }
}
