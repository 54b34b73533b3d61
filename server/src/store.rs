//! The rooms as a connection sees them: one trait, kept in this process's memory ([`crate::hub`])
//! or shared by several instances through Redis ([`crate::shared`]).
//!
//! A connection's task asks the store for a seat, passes its page's signals through it, and reads
//! what the store has for the page from its outbox; it never knows where the rooms live. What
//! must hold whatever the store (a room never overfull, the two ends of a pair in opposite roles,
//! no signal lost or given twice across a resume) is each store's to keep, and each has its tests.

use async_trait::async_trait;
use loopback_signal::{FromServer, PeerId, PeerName, Problem, ResumeToken, RoomName, RoomPeer};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// A connection's identity for as long as it lasts (not the room's [`PeerId`] of its seat).
pub type ConnId = u64;
/// A seat's identity in this process for as long as it lasts, across the connections that hold
/// it here.
pub type SeatId = u64;

/// What the store asks of a connection's task.
#[derive(Debug)]
pub enum Outgoing {
    /// A message for the page about `seat`'s room. A connection that left that seat since (and
    /// joined again) drops it: peer ids start from 1 in every room, so what came from peer 2 of
    /// the old room would read as from peer 2 of the new.
    /// Boxed: an outbox's channel allocates room for 32 of these up front, for every page, and
    /// a `FromServer` is 120 bytes where its box is 8 (3.8 KiB of an idle page's 16 before).
    Message {
        seat: SeatId,
        message: Box<FromServer>,
    },
    /// Another connection shows this connection's seat token: is this page still there? The
    /// task pings, answers `true` as soon as any frame arrives, or `false` once the probe time
    /// passes in silence, and then closes as dead.
    Probe(oneshot::Sender<bool>),
}

/// The way to one connection's task from its store: its messages, and a nudge that ends it at
/// once (it cannot keep up, or its seat moved elsewhere) even while it waits on a write.
///
/// A queue of its own rather than a tokio channel: every page has one, idle or not, and a tokio
/// channel allocates its first block of 32 slots and its cache-padded state up front, 1 KiB a
/// page; this one is a small shared state and a queue that allocates once something waits.
#[derive(Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The connection's end of its [`Outbox`].
#[derive(Debug)]
pub struct OutboxReceiver {
    shared: Arc<Shared>,
}

/// What the connection ends on when told to: see [`Outbox::end`].
#[derive(Clone, Debug)]
pub struct Ending {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: std::sync::Mutex<Queue>,
    /// Woken when something is queued, or the last sender goes.
    ready: Notify,
    ended: Notify,
}

#[derive(Debug)]
struct Queue {
    items: std::collections::VecDeque<Outgoing>,
    capacity: usize,
    /// Outboxes that can still put into it; none left, the connection reads the end of it.
    senders: usize,
    /// The connection's end is gone: nothing more is taken.
    closed: bool,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic elsewhere while holding the lock leaves the queue whole: carry on.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Outbox {
    /// An outbox for `capacity` messages, with what [`Store::connect`] gives the connection: the
    /// receiving end, and what it must end on.
    pub fn open(capacity: usize) -> (Self, OutboxReceiver, Ending) {
        let shared = Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue {
                items: std::collections::VecDeque::new(),
                capacity: capacity.max(1),
                senders: 1,
                closed: false,
            }),
            ready: Notify::new(),
            ended: Notify::new(),
        });
        let receiver = OutboxReceiver {
            shared: Arc::clone(&shared),
        };
        let ending = Ending {
            shared: Arc::clone(&shared),
        };
        (Self { shared }, receiver, ending)
    }

    /// Queues `outgoing`; false if the outbox is full or its connection gone.
    fn put(&self, outgoing: Outgoing) -> bool {
        let mut queue = self.shared.queue();
        if queue.closed || queue.items.len() >= queue.capacity {
            return false;
        }
        queue.items.push_back(outgoing);
        drop(queue);
        self.shared.ready.notify_one();
        true
    }

    /// Queues `message` about `seat`. A full outbox is a page that cannot keep up: its
    /// connection is told to end (as lost: the page resumes and is replayed what it missed),
    /// never a message dropped, and this answers false.
    pub fn give(&self, seat: SeatId, message: FromServer) -> bool {
        let outgoing = Outgoing::Message {
            seat,
            message: Box::new(message),
        };
        if self.put(outgoing) {
            return true;
        }
        tracing::debug!("outbox full: the connection cannot keep up and ends");
        self.end();
        false
    }

    /// Asks the connection whether its page is still there; false if it cannot be asked (its
    /// task is gone, or its outbox full: not reading, so as good as dead).
    pub fn probe(&self, answer: oneshot::Sender<bool>) -> bool {
        self.put(Outgoing::Probe(answer))
    }

    /// Tells the connection to end now.
    pub fn end(&self) {
        self.shared.ended.notify_one();
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.shared.queue().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let mut queue = self.shared.queue();
        queue.senders -= 1;
        let last = queue.senders == 0;
        drop(queue);
        if last {
            self.shared.ready.notify_one();
        }
    }
}

impl OutboxReceiver {
    /// The next message, once there is one; `None` once every outbox let go of it (the store
    /// dropped this connection: it did not keep up).
    pub async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            // A wake-up between the look and the wait is kept as a permit: none is lost.
            let ready = self.shared.ready.notified();
            if let Some(next) = self.try_recv() {
                return Some(next);
            }
            if self.shared.queue().senders == 0 {
                return None;
            }
            ready.await;
        }
    }

    /// The next message, if one waits.
    pub fn try_recv(&self) -> Option<Outgoing> {
        let mut queue = self.shared.queue();
        let next = queue.items.pop_front();
        // A burst's room goes with it: an idle page holds none.
        if queue.items.is_empty() && queue.items.capacity() > 16 {
            queue.items = std::collections::VecDeque::new();
        }
        next
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        self.shared.queue().closed = true;
    }
}

impl Ending {
    /// Completes once the connection is told to end (or at once if it was told already).
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.shared.ended.notified()
    }
}

/// Returns once `done` holds, looking again each time `changed` is notified (registered before
/// each look, so that a change in between is not missed).
pub async fn until(changed: &Notify, done: impl Fn() -> bool) {
    loop {
        let notified = changed.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if done() {
            return;
        }
        notified.await;
    }
}

/// How a connection ended, which decides what becomes of its seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The page left on purpose (`leave`, a Close frame) or was closed for misbehaving: the seat
    /// goes at once.
    Deliberate,
    /// The connection was lost (no Close frame, an error, idleness): the seat is kept, away.
    Lost,
    /// The server is shutting down: in memory, seats die with the process and every page is
    /// told so; shared, the seats are handed back, away, for the pages to resume elsewhere.
    Shutdown,
}

/// A connection's seat, as the store gave it: what `joined` or `resumed` tells the page.
#[derive(Debug)]
pub struct Seated {
    pub seat: SeatId,
    /// The seat's id in its room, which the others know it by.
    pub peer: PeerId,
    /// Everyone else in the room now, oldest first, with this seat's role toward each.
    pub peers: Vec<RoomPeer>,
}

/// A seat taken back by a new connection.
#[derive(Debug)]
pub struct Resumption {
    pub seated: Seated,
    /// The signals the page missed, from those still in the room, in order: for after `resumed`.
    pub missed: Vec<FromServer>,
    /// Signals the server took from this seat so far.
    pub received: u64,
    /// Whether `missed` holds every signal the page missed.
    pub complete: bool,
}

/// Why a resume did not (yet) give the seat back.
#[derive(Debug)]
pub enum Refusal {
    /// Refused, for this reason (a detail for the page, never the token).
    Refused(&'static str),
    /// The seat's connection still counts as live: `answer` says whether it is. If it is not,
    /// ask again with it as `dead`.
    Probe {
        holder: ConnId,
        answer: oneshot::Receiver<bool>,
    },
    /// The store cannot be reached now: the seat is neither given nor gone; try again later.
    Unavailable,
}

/// The refusals' details.
pub const UNKNOWN_TOKEN: &str =
    "this token was never issued by this server, or it was used already";
pub const OTHER_ROOM: &str = "this token is for a seat in another room";
pub const GRACE_RAN_OUT: &str = "the seat was away longer than the grace period and is gone";
pub const IN_USE: &str = "another live connection holds this seat";

/// Where the rooms live. Every method that may reach another machine is async; the connection's
/// task awaits each in turn, so one page's signals keep their order.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// How many seats a room holds.
    fn room_size(&self) -> usize;

    /// A new connection, the receiving end of its outbox, and what is notified when the
    /// connection must end at once (its outbox overflowed, or its seat moved elsewhere).
    fn connect(&self) -> (ConnId, OutboxReceiver, Ending);

    /// The connection is gone and its outbox with it; its seat, if it still holds one, goes or
    /// is kept away for `grace`, as `end` says. Not async: a task that ends without saying how
    /// calls it from `Drop`; whatever it must ask another machine, it asks in the background.
    fn disconnect(self: Arc<Self>, conn: ConnId, seat: Option<SeatId>, end: End, grace: Duration);

    /// Gives `conn` a new seat in `room`, as `name`, with `token` to resume it by; in an empty
    /// room with the role it `wish`es toward whoever comes. Everyone there is told.
    async fn join(
        &self,
        room: &RoomName,
        conn: ConnId,
        name: PeerName,
        wish: Option<bool>,
        token: ResumeToken,
    ) -> Result<Seated, Problem>;

    /// Gives the seat `token` names in `room` to `conn`, spending the token for `fresh`, with the
    /// room as it is now and the signals after the page's `received`. `dead` is a holder a
    /// probe found dead.
    async fn resume(
        &self,
        room: &RoomName,
        token: &ResumeToken,
        received: u64,
        conn: ConnId,
        fresh: ResumeToken,
        dead: Option<ConnId>,
    ) -> Result<Resumption, Refusal>;

    /// Passes `signal` from the page holding `seat` to the seat `to`, as from the sender's id.
    async fn relay(
        &self,
        seat: SeatId,
        conn: ConnId,
        to: PeerId,
        signal: loopback_signal::Signal,
    ) -> Result<(), Problem>;

    /// The person at `seat` is called `name` from now on; the others are told.
    async fn rename(&self, seat: SeatId, conn: ConnId, name: PeerName) -> Result<(), Problem>;

    /// Whether anyone else is in `seat`'s room.
    async fn has_peer(&self, seat: SeatId) -> bool;

    /// A signal from the page holding `seat` that goes nowhere: counted as taken.
    async fn discard(&self, seat: SeatId, conn: ConnId);

    /// The page holding `seat` left: the seat goes, and the others are told.
    async fn leave(&self, seat: SeatId, conn: ConnId);

    /// Whether the client at `address` may join one more room now, `burst` at once then
    /// `per_minute` (and counts it). The rooms of one process count in it (`local`); shared
    /// rooms count across every instance, so that a client cannot try room names faster by
    /// spreading its joins over them.
    async fn may_join(
        &self,
        address: IpAddr,
        burst: u32,
        per_minute: u32,
        local: &crate::guard::Joins,
    ) -> bool {
        local.allow(address, burst, per_minute, std::time::Instant::now())
    }

    /// Whether new pages may come: the store can take joins now.
    async fn ready(&self) -> bool;

    /// Returns once no connection is left in this process.
    async fn all_gone(&self);

    /// The process stops, every connection closed: what is left of its seats is settled (in
    /// memory they go; shared, they are handed back for their pages to resume elsewhere).
    async fn close(&self);

    /// Rooms with a seat of this process's in them.
    fn rooms(&self) -> usize;

    /// Connections open in this process.
    fn peers(&self) -> usize;

    /// Seats whose page is away, as far as this process knows.
    fn away(&self) -> usize;
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn said(outgoing: Option<Outgoing>) -> Option<FromServer> {
        match outgoing {
            Some(Outgoing::Message { message, .. }) => Some(*message),
            _ => None,
        }
    }

    #[tokio::test]
    async fn an_outbox_gives_in_order_wakes_its_reader_and_holds_no_more_than_its_room() {
        let (outbox, mut receiver, ending) = Outbox::open(2);
        let waiting = tokio::spawn(async move {
            let first = said(receiver.recv().await);
            (first, receiver)
        });
        tokio::task::yield_now().await;
        assert!(outbox.give(1, FromServer::Pong));
        let (first, receiver) = waiting.await.unwrap();
        assert_eq!(first, Some(FromServer::Pong), "woken");
        assert!(outbox.give(1, FromServer::PeerLeft { peer: 1 }));
        assert!(outbox.give(1, FromServer::PeerLeft { peer: 2 }));
        assert!(ending.notified().now_or_never().is_none());
        assert!(!outbox.give(1, FromServer::Pong), "full");
        assert!(ending.notified().now_or_never().is_some(), "told to end");
        let (tx, _answer) = oneshot::channel();
        assert!(!outbox.probe(tx), "no room for a probe either");
        assert_eq!(
            said(receiver.try_recv()),
            Some(FromServer::PeerLeft { peer: 1 })
        );
        assert_eq!(
            said(receiver.try_recv()),
            Some(FromServer::PeerLeft { peer: 2 })
        );
        assert!(receiver.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_reader_hears_the_end_when_every_outbox_goes_and_a_gone_reader_takes_nothing() {
        let (outbox, mut receiver, _ending) = Outbox::open(4);
        let copy = outbox.clone();
        drop(outbox);
        assert!(copy.give(1, FromServer::Pong));
        drop(copy);
        assert_eq!(
            said(receiver.recv().await),
            Some(FromServer::Pong),
            "what was given stays"
        );
        assert!(receiver.recv().await.is_none(), "then the end");
        let (outbox, receiver, _ending) = Outbox::open(4);
        drop(receiver);
        assert!(!outbox.give(1, FromServer::Pong));
    }
}
